/* ctl_scen_proc.c - the scenario runner's processes: the test server,
 * nicraftctl runs, and a client under another uid. */
#include "ctl_scen.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARGV_MAX 48
#define CAPTURE_MAX (1u << 20)
#define WAIT_MS 10000

/* Prints text line by line with prefix, $TMP for the directory, "pid N"
 * for process IDs and "left N" for unsent bytes (the kernel's socket
 * buffer decides how many), so outputs are stable. */
static void print_lines(struct scen *s, const char *prefix, const char *text)
{
    size_t tmp_len = strlen(s->tmp);

    for (const char *p = text; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        scen_outf(&s->out, "%s", prefix);
        if (len == 0 && prefix[0] == '\0')
            scen_outf(&s->out, "(empty line)"); /* a blank line ends a case */
        for (size_t i = 0; i < len; i++) {
            if (len - i >= tmp_len && memcmp(p + i, s->tmp, tmp_len) == 0) {
                scen_outf(&s->out, "$TMP");
                i += tmp_len - 1;
            } else if (i >= 4 && p[i] >= '0' && p[i] <= '9' &&
                       (memcmp(p + i - 4, "pid ", 4) == 0 ||
                        (i >= 5 && memcmp(p + i - 5, "left ", 5) == 0))) {
                scen_outf(&s->out, "N");
                while (i + 1 < len && p[i + 1] >= '0' && p[i + 1] <= '9')
                    i++;
            } else {
                scen_outf(&s->out, "%c", p[i]);
            }
        }
        scen_outf(&s->out, "\n");
        p += len + (nl != NULL);
    }
}

static void print_new_log(struct scen *s)
{
    FILE *f = fopen(s->server_err, "r");
    char buf[8192];

    if (f == NULL)
        return;
    fseek(f, s->server_err_off, SEEK_SET);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    s->server_err_off += (long)n;
    fclose(f);
    print_lines(s, "log: ", buf);
}

static void print_status(struct scen *s, int status)
{
    if (WIFEXITED(status))
        scen_outf(&s->out, "exit %d\n", WEXITSTATUS(status));
    else
        scen_outf(&s->out, "signal %d\n", WTERMSIG(status));
}

/* Starts the server; 0 when it said ready, else its pid is reaped. */
static pid_t spawn_server(struct scen *s, char **tok, int n, int *status)
{
    char *argv[ARGV_MAX];
    char canned[512];
    char opts[SCEN_TOKENS_MAX][64];
    int a = 0, fds[2];

    argv[a++] = (char *)s->server_bin;
    argv[a++] = "--socket";
    argv[a++] = s->sock;
    for (int i = 2; i < n && a + 2 < ARGV_MAX; i++) {
        char *eq = strchr(tok[i], '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        snprintf(opts[i], sizeof(opts[i]), "--%s", tok[i]);
        argv[a++] = opts[i];
        if (strcmp(tok[i], "canned") == 0) {
            snprintf(canned, sizeof(canned), "%s/%s", s->canned_root, eq + 1);
            argv[a++] = canned;
        } else {
            argv[a++] = eq + 1;
        }
    }
    argv[a] = NULL;
    snprintf(s->server_err, sizeof(s->server_err), "%s/server.err", s->tmp);
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int err_fd = open(s->server_err, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fds[1], 1);
        dup2(err_fd, 2);
        close(fds[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[16] = "";
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    ssize_t got = poll(&pfd, 1, WAIT_MS) > 0 ? read(fds[0], buf, sizeof(buf) - 1) : -1;
    close(fds[0]);
    if (got > 0 && strncmp(buf, "ready", 5) == 0)
        return pid;
    waitpid(pid, status, 0);
    return 0;
}

void scen_server_stop(struct scen *s, int sig)
{
    int status = 0;

    if (s->server == 0)
        return;
    kill(s->server, sig);
    waitpid(s->server, &status, 0);
    s->server = 0;
    if (sig == SIGTERM) {
        print_status(s, status);
        struct stat st;
        scen_outf(&s->out, lstat(s->sock, &st) == 0 ? "socket left\n" : "socket removed\n");
    } else {
        scen_outf(&s->out, "killed\n");
    }
}

void scen_cmd_server(struct scen *s, char **tok, int n)
{
    int status = 0;
    const char *what = n >= 2 ? tok[1] : "";

    if (strcmp(what, "start") == 0 || strcmp(what, "try") == 0) {
        if (strcmp(what, "start") == 0 && s->server != 0) {
            scen_outf(&s->out, "error: a server runs already\n");
            return;
        }
        pid_t pid = spawn_server(s, tok, n, &status);
        print_new_log(s);
        if (pid < 0) {
            scen_outf(&s->out, "error: pipe: %s\n", strerror(errno));
        } else if (pid == 0) {
            print_status(s, status);
        } else if (strcmp(what, "start") == 0) {
            s->server = pid;
            scen_outf(&s->out, "ready\n");
        } else {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            scen_outf(&s->out, "running (killed)\n");
        }
    } else if (strcmp(what, "stop") == 0 || strcmp(what, "kill") == 0) {
        if (s->server == 0)
            scen_outf(&s->out, "error: no server runs\n");
        scen_server_stop(s, strcmp(what, "stop") == 0 ? SIGTERM : SIGKILL);
        print_new_log(s);
    } else if (strcmp(what, "log") == 0) {
        print_new_log(s);
        if (s->out.len == 0)
            scen_outf(&s->out, "(nothing)\n");
    } else {
        scen_outf(&s->out, "error: server start|try|stop|kill|log\n");
    }
}

/* Replaces $SOCK and $TMP in a token. */
static void subst(const struct scen *s, const char *in, char *out, size_t cap)
{
    size_t o = 0;

    for (const char *p = in; *p != '\0' && o + 1 < cap;) {
        const char *rep = NULL;
        if (strncmp(p, "$SOCK", 5) == 0)
            rep = s->sock, p += 5;
        else if (strncmp(p, "$TMP", 4) == 0)
            rep = s->tmp, p += 4;
        if (rep != NULL)
            o += (size_t)snprintf(out + o, cap - o, "%s", rep);
        else
            out[o++] = *p++;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

/* Reads both pipes to their ends (bounded), into out and err. */
static void capture(int fd_out, int fd_err, struct scen_out *out, struct scen_out *err)
{
    struct pollfd pfd[2] = {{.fd = fd_out, .events = POLLIN}, {.fd = fd_err, .events = POLLIN}};
    struct scen_out *dst[2] = {out, err};
    char buf[4096];

    while ((pfd[0].fd >= 0 || pfd[1].fd >= 0) && poll(pfd, 2, WAIT_MS) > 0) {
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || pfd[i].revents == 0)
                continue;
            ssize_t n = read(pfd[i].fd, buf, sizeof(buf));
            if (n <= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
            } else if (dst[i]->len < CAPTURE_MAX) {
                scen_outf(dst[i], "%.*s", (int)n, buf);
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pfd[i].fd >= 0)
            close(pfd[i].fd);
}

void scen_cmd_ctl(struct scen *s, char **tok, int n)
{
    static char words[SCEN_TOKENS_MAX][1024];
    char *argv[ARGV_MAX];
    int a = 0, i = 1, po[2], pe[2], status = 0;

    argv[a++] = (char *)s->ctl_bin;
    for (; i < n && strchr(tok[i], '=') != NULL && tok[i][0] >= 'A' && tok[i][0] <= 'Z'; i++)
        subst(s, tok[i], words[i], sizeof(words[i]));
    int first_arg = i;
    for (; i < n && a + 1 < ARGV_MAX; i++) {
        subst(s, tok[i], words[i], sizeof(words[i]));
        argv[a++] = words[i];
    }
    argv[a] = NULL;
    if (pipe(po) != 0 || pipe(pe) != 0) {
        scen_outf(&s->out, "error: pipe\n");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        unsetenv("NICRAFT_CONTROL_SOCKET");
        for (int k = 1; k < first_arg; k++)
            putenv(words[k]);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    struct scen_out out = {0}, err = {0};
    capture(po[0], pe[0], &out, &err);
    waitpid(pid, &status, 0);
    print_status(s, status);
    print_lines(s, "", out.p != NULL ? out.p : "");
    print_lines(s, "stderr: ", err.p != NULL ? err.p : "");
    free(out.p);
    free(err.p);
}

/* A client as another user: drops to uid (and gid) in a child, connects,
 * sends json and prints the line it gets back. */
void scen_cmd_as(struct scen *s, char **tok, int n, const char *json)
{
    int fds[2], status = 0;
    char line[4096];

    if (n < 4) {
        scen_outf(&s->out, "error: conn as UID JSON\n");
        return;
    }
    uid_t uid = (uid_t)strtoul(tok[2], NULL, 10);
    if (pipe(fds) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        FILE *w = fdopen(fds[1], "w");
        if (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 ||
            setresuid(uid, uid, uid) != 0) {
            fprintf(w, "error: cannot become uid %u: %s\n", (unsigned)uid, strerror(errno));
            _exit(1);
        }
        int fd = scen_connect(s->sock);
        if (fd < 0) {
            fprintf(w, "connect: %s\n", strerror(errno));
            fclose(w);
            _exit(0);
        }
        char req[4096];
        int len = snprintf(req, sizeof(req), "%s\n", json);
        scen_send_all(fd, req, (size_t)len);
        int rc = scen_read_line(fd, line, sizeof(line), 3000);
        fprintf(w, "%s\n", rc == 1 ? line : rc == 0 ? "closed" : "timeout");
        if (rc == 1)
            fprintf(w, "%s\n", scen_read_line(fd, line, sizeof(line), 500) == 0
                                   ? "then closed" : "then still open");
        fclose(w);
        _exit(0);
    }
    close(fds[1]);
    struct scen_out out = {0}, err = {0};
    int devnull[2];
    if (pipe(devnull) == 0) {
        close(devnull[1]);
        capture(fds[0], devnull[0], &out, &err);
    }
    waitpid(pid, &status, 0);
    print_lines(s, "", out.p != NULL ? out.p : "");
    free(out.p);
    free(err.p);
}
