/* ctl_conn.c - one control connection: reading lines within line_max_bytes,
 * dispatching them to handlers, the pending-request table, and writing
 * responses within out_max_bytes without ever blocking. */
#include "ctl_server_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

void ctl_conn_refuse(int fd, int code, const char *fmt, ...)
{
    struct nr_err err = {.code = code};
    va_list ap;
    size_t len;

    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
    va_end(ap);
    char *line = ctl_proto_format_err(NULL, &err, &len);
    if (line != NULL) {
        /* Best effort: a fresh socket's buffer takes one short line. */
        ssize_t n = send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)n;
    }
    free(line);
}

void ctl_conn_doom(struct ctl_server *s, struct ctl_conn *c, const char *why)
{
    if (!c->is_doomed && why != NULL)
        ctl_logf(s, "control connection from pid %d closed: %s", c->peer_pid, why);
    c->is_doomed = true;
}

void ctl_conn_close(struct ctl_server *s, struct ctl_conn *c)
{
    NR_ASSERT(c->fd >= 0);
    close(c->fd); /* also leaves the epoll set */
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    (void)s;
}

static void set_epollout(struct ctl_server *s, struct ctl_conn *c, bool want)
{
    if (c->is_epollout == want)
        return;
    uint32_t slot = (uint32_t)(c - s->conns);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0),
                             .data.u64 = (c->gen << 32) | slot};
    if (c->is_read_closed)
        ev.events &= ~(uint32_t)(EPOLLIN | EPOLLRDHUP);
    if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        ctl_conn_doom(s, c, "epoll_ctl failed");
        return;
    }
    c->is_epollout = want;
}

void ctl_conn_flush(struct ctl_server *s, struct ctl_conn *c)
{
    uint32_t done = 0;

    while (done < c->out_len) {
        ssize_t n = send(c->fd, c->out + done, c->out_len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            /* The peer went away; what it asked for is lost with it. */
            ctl_conn_doom(s, c, NULL);
            return;
        }
        done += (uint32_t)n;
    }
    memmove(c->out, c->out + done, c->out_len - done);
    c->out_len -= done;
    set_epollout(s, c, c->out_len > 0);
}

/* Appends one response line (taken: freed here), or dooms a client that
 * did not read what it was sent before. */
static bool queue_line(struct ctl_server *s, struct ctl_conn *c, char *line, size_t len)
{
    bool is_queued = false;

    if (line == NULL) {
        ctl_conn_doom(s, c, "out of memory formatting a response");
    } else if (c->is_doomed) {
        /* closing anyway */
    } else if (len > s->out_max_bytes - c->out_len) {
        s->stats.slow_clients_dropped++;
        char why[160];
        snprintf(why, sizeof(why), "it left %u bytes of responses unread; at most %u may wait",
                 c->out_len, s->out_max_bytes);
        ctl_conn_doom(s, c, why);
    } else {
        if (c->out_len + len > c->out_cap) {
            uint32_t cap = c->out_cap != 0 ? c->out_cap : 4096u;
            while (cap < c->out_len + len)
                cap = cap > s->out_max_bytes / 2 ? s->out_max_bytes : cap * 2;
            char *p = realloc(c->out, cap);
            if (p == NULL) {
                ctl_conn_doom(s, c, "out of memory for its responses");
                free(line);
                return false;
            }
            c->out = p;
            c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, line, len);
        c->out_len += (uint32_t)len;
        is_queued = true;
    }
    free(line);
    return is_queued;
}

static void answer_err(struct ctl_server *s, struct ctl_conn *c, json_t *id, int code,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void answer_err(struct ctl_server *s, struct ctl_conn *c, json_t *id, int code,
                       const char *fmt, ...)
{
    struct nr_err err = {.code = code};
    va_list ap;
    size_t len = 0;

    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
    va_end(ap);
    char *line = ctl_proto_format_err(id, &err, &len);
    queue_line(s, c, line, len);
}

static struct ctl_req *req_alloc(struct ctl_server *s)
{
    for (uint32_t i = 0; i < s->max_pending; i++) /* linear: a slow path */
        if (s->reqs[i].state == CTL_REQ_FREE)
            return &s->reqs[i];
    return NULL;
}

static const struct ctl_command *find_command(const struct ctl_server *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_cmds; i++)
        if (strcmp(s->cmds[i].name, name) == 0)
            return &s->cmds[i];
    return NULL;
}

static void answer_unknown(struct ctl_server *s, struct ctl_conn *c, json_t *id, const char *cmd)
{
    char names[160] = "";
    size_t used = 0;

    for (uint32_t i = 0; i < s->n_cmds && used < sizeof(names); i++)
        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                                 s->cmds[i].name);
    s->stats.bad_requests++;
    answer_err(s, c, id, NR_EINVAL, "unknown command \"%.48s\"; the commands are: %s", cmd,
               names);
}

/* Hands a parsed request to its handler through a pending-table entry. */
static void dispatch(struct ctl_server *s, struct ctl_conn *c, const struct ctl_parsed *p)
{
    const struct ctl_command *cmd = find_command(s, p->cmd);
    if (cmd == NULL) {
        answer_unknown(s, c, p->id, p->cmd);
        return;
    }
    struct ctl_req *req = c->n_pending < s->max_pending_per_client ? req_alloc(s) : NULL;
    if (req == NULL) {
        s->stats.busy++;
        answer_err(s, c, p->id, NR_EBUSY,
                   "busy: %u requests of this connection and %u in all may wait for a reply; "
                   "retry later",
                   s->max_pending_per_client, s->max_pending);
        return;
    }
    req->s = s;
    req->state = CTL_REQ_OWED;
    req->conn_slot = (uint32_t)(c - s->conns);
    req->conn_gen = c->gen;
    req->peer_uid = c->peer_uid;
    req->peer_pid = c->peer_pid;
    req->deadline_ms = ctl_now_ms() + s->pending_timeout_ms;
    req->id = json_incref(p->id);
    snprintf(req->cmd, sizeof(req->cmd), "%s", cmd->name);
    c->n_pending++;
    s->stats.requests++;

    struct nr_err err = {0};
    int rc = cmd->fn(req, p->args, cmd->ctx, &err);
    if (rc != 0) {
        /* The handler's contract: an error return means it did not reply. */
        NR_ASSERT(req->state == CTL_REQ_OWED);
        NR_ASSERT(rc < 0);
        if (err.code == 0)
            nr_errf(&err, rc, "%s failed (%s) without saying why", req->cmd, nr_code_name(rc));
        ctl_reply_err(req, &err);
    }
}

static void handle_line(struct ctl_server *s, struct ctl_conn *c, char *line, size_t len)
{
    struct ctl_parsed p;
    struct nr_err err = {0};

    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (ctl_proto_parse(line, len, CTL_CMD_NAME_MAX, &p, &err) != 0) {
        s->stats.bad_requests++;
        answer_err(s, c, p.id, err.code, "%s", err.msg);
    } else {
        dispatch(s, c, &p);
    }
    json_decref(p.root);
}

/* Serves every complete line in the buffer; keeps the partial tail. */
static void consume_lines(struct ctl_server *s, struct ctl_conn *c, uint32_t scan_from)
{
    uint32_t start = 0;
    uint32_t pos = scan_from;

    while (pos < c->in_len && !c->is_doomed) {
        char *nl = memchr(c->in + pos, '\n', c->in_len - pos);
        if (nl == NULL)
            break;
        uint32_t end = (uint32_t)(nl - c->in);
        if (c->is_discarding)
            c->is_discarding = false; /* the over-long line ends here */
        else
            handle_line(s, c, c->in + start, end - start);
        start = pos = end + 1;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    if (c->in_len < s->line_max_bytes + 1u || c->is_doomed)
        return;
    /* A full buffer and no newline: more than line_max_bytes. */
    if (!c->is_discarding) {
        s->stats.lines_too_long++;
        answer_err(s, c, NULL, NR_EINVAL,
                   "request line longer than %u bytes; it is discarded up to its newline",
                   s->line_max_bytes);
    }
    c->is_discarding = true;
    c->in_len = 0;
}

void ctl_conn_on_readable(struct ctl_server *s, struct ctl_conn *c)
{
    uint32_t room = s->line_max_bytes + 1u - c->in_len;

    NR_ASSERT(room > 0);
    ssize_t n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            ctl_conn_doom(s, c, strerror(errno));
        return;
    }
    if (n == 0) {
        /* Half-closed: still owed its responses (see ctl_server.h). */
        c->is_read_closed = true;
        bool want_out = c->is_epollout;
        c->is_epollout = !want_out; /* force the interest set update */
        set_epollout(s, c, want_out);
        return;
    }
    uint32_t old_len = c->in_len;
    c->in_len += (uint32_t)n;
    consume_lines(s, c, old_len);
}

/* The connection a request came from, if it is still there. */
static struct ctl_conn *req_conn(struct ctl_req *req)
{
    struct ctl_server *s = req->s;
    struct ctl_conn *c = &s->conns[req->conn_slot];

    if (c->fd < 0 || c->gen != req->conn_gen)
        return NULL;
    return c;
}

static void req_finish(struct ctl_req *req, char *line, size_t len)
{
    struct ctl_server *s = req->s;
    struct ctl_conn *c = req_conn(req);

    NR_ASSERT(req->state != CTL_REQ_FREE);
    if (c != NULL && req->state == CTL_REQ_OWED) {
        NR_ASSERT(c->n_pending > 0);
        c->n_pending--;
        if (queue_line(s, c, line, len)) {
            s->stats.replies_sent++;
            ctl_conn_flush(s, c);
        }
    } else {
        s->stats.replies_dropped++;
        free(line);
    }
    json_decref(req->id);
    memset(req, 0, sizeof(*req));
    req->state = CTL_REQ_FREE;
}

void ctl_reply_ok(struct ctl_req *req, json_t *result)
{
    size_t len = 0;

    NR_ASSERT(req->state != CTL_REQ_FREE);
    char *line = ctl_proto_format_ok(req->id, result, &len);
    req_finish(req, line, len);
}

void ctl_reply_err(struct ctl_req *req, const struct nr_err *err)
{
    size_t len = 0;

    NR_ASSERT(req->state != CTL_REQ_FREE);
    NR_ASSERT(err->code < 0);
    char *line = ctl_proto_format_err(req->id, err, &len);
    req_finish(req, line, len);
}

void ctl_conn_expire(struct ctl_server *s, uint64_t now_ms)
{
    for (uint32_t i = 0; i < s->max_pending; i++) {
        struct ctl_req *req = &s->reqs[i];
        if (req->state != CTL_REQ_OWED || now_ms < req->deadline_ms)
            continue;
        req->state = CTL_REQ_EXPIRED;
        s->stats.timed_out++;
        struct ctl_conn *c = req_conn(req);
        if (c == NULL)
            continue;
        NR_ASSERT(c->n_pending > 0);
        c->n_pending--;
        answer_err(s, c, req->id, NR_EBUSY, "no reply to \"%s\" within %u ms; it may still "
                   "take effect", req->cmd, s->pending_timeout_ms);
    }
}

const char *ctl_req_cmd(const struct ctl_req *req)
{
    return req->cmd;
}

uint32_t ctl_req_peer_uid(const struct ctl_req *req)
{
    return req->peer_uid;
}

int32_t ctl_req_peer_pid(const struct ctl_req *req)
{
    return req->peer_pid;
}
