/* ctl_scen_conn.c - the scenario runner's raw clients: named connections,
 * many at once, a flood that never reads, and the server's counters. */
#include "ctl_scen.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (1u << 20)
#define READ_MS 3000

int scen_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int scen_send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int scen_read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;

    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return -1;
        char ch;
        ssize_t n = recv(fd, &ch, 1, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return len > 0 ? -1 : 0;
        if (n < 0)
            return -1;
        if (ch == '\n') {
            buf[len] = '\0';
            return 1;
        }
        if (len + 1 < cap)
            buf[len++] = ch;
    }
}

static struct scen_conn *find_conn(struct scen *s, const char *name, bool is_new)
{
    for (int i = 0; i < SCEN_CONNS_MAX; i++)
        if (s->conns[i].fd >= 0 && strcmp(s->conns[i].name, name) == 0)
            return &s->conns[i];
    if (!is_new)
        return NULL;
    for (int i = 0; i < SCEN_CONNS_MAX; i++) {
        if (s->conns[i].fd < 0) {
            snprintf(s->conns[i].name, sizeof(s->conns[i].name), "%s", name);
            return &s->conns[i];
        }
    }
    return NULL;
}

static void print_read(struct scen *s, int fd)
{
    static char line[LINE_MAX_BYTES];
    int rc = scen_read_line(fd, line, sizeof(line), READ_MS);

    if (rc == 1 && strlen(line) > 300)
        scen_outf(&s->out, "%.200s... (%zu bytes)\n", line, strlen(line));
    else
        scen_outf(&s->out, "%s\n", rc == 1 ? line : rc == 0 ? "closed" : "timeout");
}

/* N requests for big results, never read: the server must drop us. */
static void flood(struct scen *s, int fd, long count, long bytes)
{
    char req[128];
    int len = snprintf(req, sizeof(req), "{\"cmd\":\"big\",\"args\":{\"bytes\":%ld}}\n", bytes);
    long sent = 0;

    for (; sent < count; sent++) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, 500) <= 0 || scen_send_all(fd, req, (size_t)len) != 0)
            break;
    }
    /* Not reading while the server answers is the point; then drain: a
     * dropped client reads what was queued, then the end. */
    struct timespec ts = {.tv_nsec = 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    char buf[65536];
    for (int waited = 0; waited < 50;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0) {
            waited++;
            continue;
        }
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            scen_outf(&s->out, "closed by the server\n");
            return;
        }
    }
    scen_outf(&s->out, "still open after %ld requests\n", sent);
}

static void many(struct scen *s, long n)
{
    char line[1024], seen[4][1024];
    int n_seen[4] = {0}, n_kinds = 0, answered = 0;

    for (long i = 0; i < n && s->n_many < SCEN_MANY_MAX; i++) {
        int fd = scen_connect(s->sock);
        s->many[s->n_many++] = fd;
    }
    for (int i = 0; i < s->n_many; i++) {
        char req[96];
        int len = snprintf(req, sizeof(req), "{\"cmd\":\"echo\",\"args\":{\"i\":%d},\"id\":%d}\n",
                           i, i);
        if (s->many[i] >= 0)
            scen_send_all(s->many[i], req, (size_t)len);
        int rc = s->many[i] >= 0 ? scen_read_line(s->many[i], line, sizeof(line), READ_MS) : -1;
        char expect[96];
        snprintf(expect, sizeof(expect), "{\"ok\":true,\"id\":%d,\"result\":{\"i\":%d}}", i, i);
        if (rc == 1 && strcmp(line, expect) == 0) {
            answered++;
            continue;
        }
        if (rc != 1)
            snprintf(line, sizeof(line), "%s", rc == 0 ? "closed" : "timeout or error");
        int k = 0;
        while (k < n_kinds && strcmp(seen[k], line) != 0)
            k++;
        if (k == n_kinds && n_kinds < 4)
            snprintf(seen[n_kinds++], sizeof(seen[0]), "%s", line);
        if (k < 4)
            n_seen[k]++;
    }
    scen_outf(&s->out, "%d answered\n", answered);
    for (int k = 0; k < n_kinds; k++)
        scen_outf(&s->out, "%d got: %s\n", n_seen[k], seen[k]);
}

void scen_cmd_conn(struct scen *s, char **tok, int n, const char *rest)
{
    const char *what = n >= 2 ? tok[1] : "";
    struct scen_conn *c = n >= 3 ? find_conn(s, tok[2], strcmp(what, "open") == 0) : NULL;

    if (strcmp(what, "many") == 0 && n == 3) {
        many(s, strtol(tok[2], NULL, 10));
    } else if (strcmp(what, "close-many") == 0) {
        for (int i = 0; i < s->n_many; i++)
            if (s->many[i] >= 0)
                close(s->many[i]);
        s->n_many = 0;
        scen_outf(&s->out, "ok\n");
    } else if (c == NULL) {
        scen_outf(&s->out, "error: conn open|close|read|send|write|long|flood NAME ...\n");
    } else if (strcmp(what, "open") == 0) {
        c->fd = scen_connect(s->sock);
        if (c->fd >= 0)
            scen_outf(&s->out, "ok\n");
        else
            scen_outf(&s->out, "connect: %s\n", strerror(errno));
    } else if (strcmp(what, "close") == 0) {
        close(c->fd);
        c->fd = -1;
        scen_outf(&s->out, "ok\n");
    } else if (strcmp(what, "shut") == 0) {
        scen_outf(&s->out, shutdown(c->fd, SHUT_WR) == 0 ? "ok\n" : "error: shutdown\n");
    } else if (strcmp(what, "read") == 0) {
        print_read(s, c->fd);
    } else if (strcmp(what, "send") == 0 || strcmp(what, "write") == 0) {
        /* A trailing \r (two characters) in the file sends a CR. */
        size_t len = strlen(rest);
        bool is_crlf = len >= 2 && strcmp(rest + len - 2, "\\r") == 0;
        char *line = malloc(len + 2);
        if (line == NULL)
            abort(); /* the runner's own memory */
        sprintf(line, "%.*s%s\n", (int)(is_crlf ? len - 2 : len), rest, is_crlf ? "\r" : "");
        int rc = scen_send_all(c->fd, line, strlen(line));
        free(line);
        if (rc != 0)
            scen_outf(&s->out, "send: %s\n", strerror(errno));
        else if (strcmp(what, "send") == 0)
            print_read(s, c->fd);
        else
            scen_outf(&s->out, "ok\n");
    } else if (strcmp(what, "long") == 0 && n == 4) {
        long bytes = strtol(tok[3], NULL, 10);
        char *line = bytes >= 0 ? malloc((size_t)bytes + 1) : NULL;
        if (line == NULL)
            abort(); /* the runner's own memory */
        memset(line, 'x', (size_t)bytes);
        line[bytes] = '\n';
        int rc = scen_send_all(c->fd, line, (size_t)bytes + 1);
        free(line);
        if (rc != 0)
            scen_outf(&s->out, "send: %s\n", strerror(errno));
        print_read(s, c->fd);
    } else if (strcmp(what, "flood") == 0 && n == 5) {
        flood(s, c->fd, strtol(tok[3], NULL, 10), strtol(tok[4], NULL, 10));
    } else {
        scen_outf(&s->out, "error: bad conn command\n");
    }
}

/* The server's counters through a fresh connection: 0, or -1. */
static int fetch_stats(struct scen *s, char *line, size_t cap)
{
    const char *req = "{\"cmd\":\"stats\"}\n";
    int fd = scen_connect(s->sock);

    if (fd < 0)
        return -1;
    int rc = scen_send_all(fd, req, strlen(req)) == 0
                 ? scen_read_line(fd, line, cap, READ_MS) : -1;
    close(fd);
    return rc == 1 ? 0 : -1;
}

/* The value of "key": in a flat stats line; -1 when absent. */
static long stat_value(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(line, pat);
    return p != NULL ? strtol(p + strlen(pat), NULL, 10) : -1;
}

void scen_cmd_stats(struct scen *s, char **tok, int n, bool is_wait)
{
    char line[4096];

    if (is_wait) {
        char key[64];
        char *eq = n == 2 ? strchr(tok[1], '=') : NULL;
        if (eq == NULL) {
            scen_outf(&s->out, "error: wait KEY=VALUE\n");
            return;
        }
        snprintf(key, sizeof(key), "%.*s", (int)(eq - tok[1]), tok[1]);
        long want = strtol(eq + 1, NULL, 10), got = -1;
        for (int i = 0; i < 100; i++) {
            if (fetch_stats(s, line, sizeof(line)) == 0 &&
                (got = stat_value(line, key)) == want)
                break;
            struct timespec ts = {.tv_nsec = 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        scen_outf(&s->out, got == want ? "%s=%ld\n" : "timeout: %s=%ld\n", key, got);
        return;
    }
    if (fetch_stats(s, line, sizeof(line)) != 0) {
        scen_outf(&s->out, "error: no stats\n");
        return;
    }
    for (int i = 1; i < n; i++)
        scen_outf(&s->out, "%s=%ld\n", tok[i], stat_value(line, tok[i]));
    if (n == 1)
        scen_outf(&s->out, "%s\n", line);
}

void scen_cleanup(struct scen *s)
{
    for (int i = 0; i < SCEN_CONNS_MAX; i++) {
        if (s->conns[i].fd >= 0)
            close(s->conns[i].fd);
        s->conns[i].fd = -1;
    }
    for (int i = 0; i < s->n_many; i++)
        if (s->many[i] >= 0)
            close(s->many[i]);
    s->n_many = 0;
    if (s->server != 0) {
        kill(s->server, SIGKILL);
        int status;
        waitpid(s->server, &status, 0);
        s->server = 0;
    }
    s->server_err_off = 0;
}
