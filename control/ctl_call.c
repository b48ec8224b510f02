/* ctl_call.c - one request and its response over the control socket, each
 * step within a deadline (poll), for nicraftctl. */
#include "ctl_call.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_int.h"

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline; 0, or NR_EIO on a timeout. */
static int wait_fd(int fd, short events, int64_t deadline, const char *what, const char *path,
                   uint32_t timeout_ms, struct nr_err *err)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return nr_errf(err, NR_EIO, "control socket %s: no %s within %u ms", path, what,
                           timeout_ms);
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return nr_errf(err, NR_EIO, "control socket %s: poll: %s", path, strerror(errno));
    }
}

static int connect_failed(const char *path, int e, struct nr_err *err)
{
    return nr_errf(err, NR_EIO,
                   "cannot connect to the control socket %s: %s; is nicraftd running? (--socket "
                   "or NICRAFT_CONTROL_SOCKET)",
                   path, strerror(e));
}

int ctl_call_open(struct ctl_call *cc, const char *path, uint32_t timeout_ms, struct nr_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);

    memset(cc, 0, sizeof(*cc));
    cc->fd = -1;
    if (len == 0 || len >= sizeof(sa.sun_path) || len >= sizeof(cc->path))
        return nr_errf(err, NR_EINVAL,
                       "control socket path is %zu bytes; a Unix socket path has 1 to %zu", len,
                       sizeof(sa.sun_path) - 1);
    memcpy(sa.sun_path, path, len);
    memcpy(cc->path, path, len + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nr_errf(err, NR_EIO, "control socket %s: socket: %s", path, strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        /* A full backlog: a non-blocking Unix connect says EAGAIN; retry
         * until the deadline rather than fail a busy but live server. */
        int64_t deadline = now_ms() + timeout_ms;
        while (e == EAGAIN && now_ms() < deadline) {
            struct timespec ts = {.tv_nsec = 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
            e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
        }
        if (e != 0) {
            close(fd);
            return connect_failed(path, e, err);
        }
    }
    cc->fd = fd;
    cc->next_id = 1;
    return 0;
}

void ctl_call_close(struct ctl_call *cc)
{
    if (cc->fd >= 0)
        close(cc->fd);
    cc->fd = -1;
}

static int send_all(struct ctl_call *cc, const char *p, size_t len, int64_t deadline,
                    uint32_t timeout_ms, struct nr_err *err)
{
    while (len > 0) {
        ssize_t n = send(cc->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return nr_errf(err, NR_EIO, "control socket %s: send: %s", cc->path,
                           strerror(errno));
        int rc = wait_fd(cc->fd, POLLOUT, deadline, "room to send", cc->path, timeout_ms, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Reads one line into *line (malloc'd, NUL-terminated, without '\n'). */
static int recv_line(struct ctl_call *cc, char **line, int64_t deadline, uint32_t timeout_ms,
                     struct nr_err *err)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);

    if (buf == NULL)
        return nr_errf(err, NR_ENOMEM, "out of memory reading a control response");
    for (;;) {
        if (len + 1 == cap) {
            if (cap >= CTL_CALL_RESPONSE_MAX) {
                free(buf);
                return nr_errf(err, NR_EINVAL, "control response longer than %u bytes",
                               CTL_CALL_RESPONSE_MAX);
            }
            char *p = realloc(buf, cap * 2);
            if (p == NULL) {
                free(buf);
                return nr_errf(err, NR_ENOMEM, "out of memory reading a control response");
            }
            buf = p;
            cap *= 2;
        }
        /* One byte at a time would be slow; peek and take up to the newline. */
        ssize_t n = recv(cc->fd, buf + len, cap - 1 - len, MSG_PEEK);
        if (n > 0) {
            char *nl = memchr(buf + len, '\n', (size_t)n);
            size_t take = nl != NULL ? (size_t)(nl - (buf + len)) + 1 : (size_t)n;
            ssize_t got = recv(cc->fd, buf + len, take, 0);
            if (got != (ssize_t)take) {
                free(buf);
                return nr_errf(err, NR_EIO, "control socket %s: recv: short read", cc->path);
            }
            len += take;
            if (nl != NULL) {
                buf[len - 1] = '\0';
                *line = buf;
                return 0;
            }
            continue;
        }
        int e = errno;
        if (n == 0 || (e != EAGAIN && e != EINTR)) {
            free(buf);
            return nr_errf(err, NR_EIO, "control socket %s: the connection closed before the "
                           "response (%s)", cc->path, n == 0 ? "end of stream" : strerror(e));
        }
        int rc = wait_fd(cc->fd, POLLIN, deadline, "response", cc->path, timeout_ms, err);
        if (rc != 0) {
            free(buf);
            return rc;
        }
    }
}

/* Checks one response object; 0 and *result, or the error it carries. */
static int take_response(json_t *resp, json_t **result, struct nr_err *err)
{
    json_t *ok = json_object_get(resp, "ok");
    if (!json_is_boolean(ok))
        return nr_errf(err, NR_EINVAL, "control response without a boolean \"ok\"");
    if (json_is_true(ok)) {
        json_t *r = json_object_get(resp, "result");
        *result = json_incref(r != NULL ? r : json_null());
        return 0;
    }
    const char *msg = json_string_value(json_object_get(resp, "error"));
    const char *code = json_string_value(json_object_get(resp, "code"));
    int rc = ctl_proto_code_from_name(code != NULL ? code : "");
    return nr_errf(err, rc, "%s", msg != NULL ? msg : "the node refused without a sentence");
}

static int await_response(struct ctl_call *cc, uint64_t id, int64_t deadline,
                          uint32_t timeout_ms, json_t **result, struct nr_err *err)
{
    for (;;) {
        char *line = NULL;
        int rc = recv_line(cc, &line, deadline, timeout_ms, err);
        if (rc != 0)
            return rc;
        json_error_t je;
        json_t *resp = json_loads(line, 0, &je);
        free(line);
        if (!json_is_object(resp)) {
            json_decref(resp);
            return nr_errf(err, NR_EINVAL, "control response is not a JSON object");
        }
        json_t *rid = json_object_get(resp, "id");
        /* A refusal at connect time carries id null and answers us too. */
        if (json_is_null(rid) || (json_is_integer(rid) && (uint64_t)json_integer_value(rid) == id)) {
            rc = take_response(resp, result, err);
            json_decref(resp);
            return rc;
        }
        json_decref(resp); /* an answer to an earlier, timed-out request */
    }
}

int ctl_call_run(struct ctl_call *cc, const char *cmd, json_t *args, uint32_t timeout_ms,
                 json_t **result, struct nr_err *err)
{
    int64_t deadline = now_ms() + timeout_ms;
    uint64_t id = cc->next_id++;
    json_t *req = json_pack("{s:s, s:I}", "cmd", cmd, "id", (json_int_t)id);

    if (req == NULL || (args != NULL && json_object_set(req, "args", args) != 0)) {
        json_decref(req);
        return nr_errf(err, NR_ENOMEM, "out of memory building a control request");
    }
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (text == NULL)
        return nr_errf(err, NR_ENOMEM, "out of memory building a control request");
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps' NUL becomes the newline; len + 1 bytes sent */
    int rc = send_all(cc, text, len + 1, deadline, timeout_ms, err);
    free(text);
    /* A refused connection may have closed already: its one error line
     * still waits to be read, and says more than EPIPE would. */
    if (rc != 0 && rc != NR_EIO)
        return rc;
    if (rc == 0)
        return await_response(cc, id, deadline, timeout_ms, result, err);
    struct nr_err send_err = *err;
    int rc2 = await_response(cc, id, deadline, timeout_ms, result, err);
    if (rc2 != 0)
        *err = send_err; /* nothing came back: the send's own error says more */
    return rc2 != 0 ? rc : 0;
}
