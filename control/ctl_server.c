/* ctl_server.c - the control server's life cycle and poll step: create,
 * register, accept (peer credentials, the client limit), the epoll loop.
 * What happens on one connection is in ctl_conn.c. */
#include "ctl_server_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EVENTS_MAX 64u
#define ACCEPTS_PER_POLL 16u
#define LISTEN_TAG UINT64_MAX

static void log_stderr(void *log_ctx, const char *line)
{
    (void)log_ctx;
    fprintf(stderr, "nicraft control: %s\n", line);
}

void ctl_logf(struct ctl_server *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    s->log(s->log_ctx, line);
}

uint64_t ctl_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v != 0 ? v : def;
}

static int check_limit(const char *name, uint32_t v, uint32_t lo, uint32_t hi,
                       struct nr_err *err)
{
    if (v < lo || v > hi)
        return nr_errf(err, NR_EINVAL, "control server: %s is %u; it must be %u .. %u", name, v,
                       lo, hi);
    return 0;
}

static int apply_config(struct ctl_server *s, const struct ctl_server_config *cfg,
                        struct nr_err *err)
{
    int rc;

    if (cfg->path == NULL)
        return nr_errf(err, NR_EINVAL, "control server: no socket path");
    if (strlen(cfg->path) >= sizeof(s->path))
        return nr_errf(err, NR_EINVAL, "control socket path is %zu bytes; at most %zu: %s",
                       strlen(cfg->path), sizeof(s->path) - 1, cfg->path);
    snprintf(s->path, sizeof(s->path), "%s", cfg->path);
    s->max_clients = or_default(cfg->max_clients, CTL_CLIENTS_DEFAULT);
    s->line_max_bytes = or_default(cfg->line_max_bytes, CTL_LINE_MAX_DEFAULT);
    s->out_max_bytes = or_default(cfg->out_max_bytes, CTL_OUT_MAX_DEFAULT);
    s->max_pending = or_default(cfg->max_pending, CTL_PENDING_DEFAULT);
    s->max_pending_per_client =
        or_default(cfg->max_pending_per_client, CTL_PENDING_PER_CLIENT_DEFAULT);
    s->pending_timeout_ms = or_default(cfg->pending_timeout_ms, CTL_PENDING_TIMEOUT_MS_DEFAULT);
    s->log = cfg->log != NULL ? cfg->log : log_stderr;
    s->log_ctx = cfg->log_ctx;
    if ((rc = check_limit("max_clients", s->max_clients, 1, CTL_CLIENTS_MAX, err)) != 0 ||
        (rc = check_limit("line_max_bytes", s->line_max_bytes, CTL_LINE_MAX_MIN,
                          CTL_LINE_MAX_MAX, err)) != 0 ||
        (rc = check_limit("out_max_bytes", s->out_max_bytes, CTL_OUT_MAX_MIN, CTL_OUT_MAX_MAX,
                          err)) != 0 ||
        (rc = check_limit("max_pending", s->max_pending, 1, CTL_PENDING_MAX, err)) != 0 ||
        (rc = check_limit("max_pending_per_client", s->max_pending_per_client, 1,
                          s->max_pending, err)) != 0)
        return rc;
    return 0;
}

int ctl_server_create(const struct ctl_server_config *cfg, struct ctl_server **out,
                      struct nr_err *err)
{
    struct ctl_server *s = calloc(1, sizeof(*s));
    int rc;

    if (s == NULL)
        return nr_errf(err, NR_ENOMEM, "control server: out of memory");
    s->listen_fd = -1;
    s->epoll_fd = -1;
    if ((rc = apply_config(s, cfg, err)) != 0)
        goto fail_free;
    s->conns = calloc(s->max_clients, sizeof(s->conns[0]));
    s->reqs = calloc(s->max_pending, sizeof(s->reqs[0]));
    if (s->conns == NULL || s->reqs == NULL) {
        rc = nr_errf(err, NR_ENOMEM, "control server: out of memory for %u clients and %u "
                     "pending requests", s->max_clients, s->max_pending);
        goto fail_free;
    }
    for (uint32_t i = 0; i < s->max_clients; i++)
        s->conns[i].fd = -1;
    s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epoll_fd < 0) {
        rc = nr_errf(err, NR_EIO, "control server: epoll_create1: %s", strerror(errno));
        goto fail_free;
    }
    if ((rc = ctl_socket_listen(s->path, s->log, s->log_ctx, &s->listen_fd, &s->node, err)) != 0)
        goto fail_free;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LISTEN_TAG};
    if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev) != 0) {
        rc = nr_errf(err, NR_EIO, "control server: epoll_ctl: %s", strerror(errno));
        goto fail_unlink;
    }
    *out = s;
    return 0;

fail_unlink:
    ctl_socket_unlink_if_ours(s->path, &s->node);
fail_free:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->epoll_fd >= 0)
        close(s->epoll_fd);
    free(s->conns);
    free(s->reqs);
    free(s);
    return rc;
}

void ctl_server_destroy(struct ctl_server *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; i < s->max_clients; i++)
        if (s->conns[i].fd >= 0)
            ctl_conn_close(s, &s->conns[i]);
    for (uint32_t i = 0; i < s->max_pending; i++)
        json_decref(s->reqs[i].id);
    ctl_socket_unlink_if_ours(s->path, &s->node);
    close(s->listen_fd);
    close(s->epoll_fd);
    free(s->conns);
    free(s->reqs);
    free(s);
}

int ctl_server_register(struct ctl_server *s, const char *cmd, ctl_handler_fn *fn, void *ctx,
                        struct nr_err *err)
{
    size_t len = cmd != NULL ? strlen(cmd) : 0;

    if (len == 0 || len > CTL_CMD_NAME_MAX || fn == NULL)
        return nr_errf(err, NR_EINVAL,
                       "control command name must have 1 to %u bytes and a handler",
                       CTL_CMD_NAME_MAX);
    for (uint32_t i = 0; i < s->n_cmds; i++)
        if (strcmp(s->cmds[i].name, cmd) == 0)
            return nr_errf(err, NR_EINVAL, "control command \"%s\" is already registered", cmd);
    if (s->n_cmds == CTL_COMMANDS_MAX)
        return nr_errf(err, NR_EBUSY, "control server: %u commands are registered already",
                       CTL_COMMANDS_MAX);
    struct ctl_command *c = &s->cmds[s->n_cmds++];
    memcpy(c->name, cmd, len + 1);
    c->fn = fn;
    c->ctx = ctx;
    return 0;
}

int ctl_server_fd(const struct ctl_server *s)
{
    return s->epoll_fd;
}

void ctl_server_get_stats(const struct ctl_server *s, struct ctl_server_stats *out)
{
    *out = s->stats;
    out->n_clients = 0;
    out->n_pending = 0;
    for (uint32_t i = 0; i < s->max_clients; i++)
        out->n_clients += s->conns[i].fd >= 0;
    for (uint32_t i = 0; i < s->max_pending; i++)
        out->n_pending += s->reqs[i].state != CTL_REQ_FREE;
}

static struct ctl_conn *free_slot(struct ctl_server *s)
{
    for (uint32_t i = 0; i < s->max_clients; i++) /* linear: a slow path, a few clients */
        if (s->conns[i].fd < 0)
            return &s->conns[i];
    return NULL;
}

/* Takes one accepted connection into a slot, or refuses it. */
static void admit(struct ctl_server *s, int fd)
{
    struct nr_err err = {0};
    uint32_t uid;
    int32_t pid;

    if (ctl_socket_peer(fd, &uid, &pid, &err) != 0) {
        ctl_logf(s, "%s; connection closed", err.msg);
        close(fd);
        return;
    }
    if (uid != 0 && uid != (uint32_t)geteuid()) {
        s->stats.refused_peer++;
        ctl_logf(s, "refused a control connection from uid %u pid %d: only uid %u and root "
                 "may use %s", uid, pid, (uint32_t)geteuid(), s->path);
        if (geteuid() == 0)
            ctl_conn_refuse(fd, NR_EREFUSED, "refused: uid %u may not use the control socket; "
                            "only root may", uid);
        else
            ctl_conn_refuse(fd, NR_EREFUSED, "refused: uid %u may not use the control socket; "
                            "only uid %u and root may", uid, (uint32_t)geteuid());
        close(fd);
        return;
    }
    struct ctl_conn *c = free_slot(s);
    char *in = c != NULL ? malloc((size_t)s->line_max_bytes + 1) : NULL;
    if (c != NULL && in == NULL) {
        ctl_logf(s, "refused a control connection from pid %d: out of memory for its %u-byte "
                 "line buffer", pid, s->line_max_bytes + 1);
        ctl_conn_refuse(fd, NR_ENOMEM, "refused: the node is out of memory; retry later");
        close(fd);
        return;
    }
    if (c == NULL) {
        s->stats.refused_full++;
        ctl_logf(s, "refused a control connection from pid %d: %u clients are connected, the "
                 "most allowed", pid, s->max_clients);
        ctl_conn_refuse(fd, NR_EBUSY, "refused: the control socket serves at most %u clients "
                        "at once; retry later", s->max_clients);
        close(fd);
        return;
    }
    uint32_t slot = (uint32_t)(c - s->conns);
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->gen = ++s->next_gen;
    c->peer_uid = uid;
    c->peer_pid = pid;
    c->in = in;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
                             .data.u64 = (c->gen << 32) | slot};
    if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        ctl_logf(s, "control connection: epoll_ctl: %s; closed", strerror(errno));
        ctl_conn_close(s, c);
        return;
    }
    s->stats.accepted++;
}

static void accept_some(struct ctl_server *s)
{
    for (uint32_t i = 0; i < ACCEPTS_PER_POLL; i++) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                ctl_logf(s, "control socket %s: accept: %s", s->path, strerror(errno));
            return;
        }
        admit(s, fd);
    }
}

/* Writes what every connection owes and closes the doomed and the
 * finished half-closed ones. A safe point: no handler is running. */
static void flush_all(struct ctl_server *s)
{
    for (uint32_t i = 0; i < s->max_clients; i++) {
        struct ctl_conn *c = &s->conns[i];
        if (c->fd < 0)
            continue;
        if (!c->is_doomed && c->out_len > 0)
            ctl_conn_flush(s, c);
        if (c->is_doomed || (c->is_read_closed && c->out_len == 0 && c->n_pending == 0))
            ctl_conn_close(s, c);
    }
}

static void handle_event(struct ctl_server *s, const struct epoll_event *ev)
{
    uint32_t slot = (uint32_t)(ev->data.u64 & 0xffffffffu);
    struct ctl_conn *c = &s->conns[slot];
    /* An event of a connection closed earlier in this batch. */
    if (c->fd < 0 || (c->gen & 0xffffffffu) != (ev->data.u64 >> 32) || c->is_doomed)
        return;
    if (ev->events & EPOLLHUP) {
        /* Both directions gone: nobody will read what it asked for. */
        c->is_doomed = true;
        return;
    }
    if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLERR))
        ctl_conn_on_readable(s, c);
    if ((ev->events & EPOLLOUT) && !c->is_doomed)
        ctl_conn_flush(s, c);
}

int ctl_server_poll(struct ctl_server *s, int timeout_ms, struct nr_err *err)
{
    struct epoll_event evs[EVENTS_MAX];

    flush_all(s);
    ctl_conn_expire(s, ctl_now_ms());
    flush_all(s);
    int n = epoll_wait(s->epoll_fd, evs, (int)EVENTS_MAX, timeout_ms > 0 ? timeout_ms : 0);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return nr_errf(err, NR_EIO, "control server: epoll_wait: %s", strerror(errno));
    }
    /* Connections first, new ones last: a client that closed before
     * another connected frees its slot for it. */
    bool is_listen_ready = false;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 == LISTEN_TAG)
            is_listen_ready = true;
        else
            handle_event(s, &evs[i]);
    }
    flush_all(s);
    if (is_listen_ready)
        accept_some(s);
    return n;
}
