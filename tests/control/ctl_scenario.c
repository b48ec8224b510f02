/* ctl_scenario.c - runs control scenario files: the real control server
 * (ctl-test-server) on a real socket, raw clients and nicraftctl.
 *
 *     ctl-scenario --server BIN --ctl BIN --canned DIR [--rewrite] FILE_OR_DIR...
 *
 * A file is a list of cases (CONVENTIONS section 7): `#` comments, one
 * command line, `----`, the expected output, a blank line. Each file gets
 * a fresh directory ($TMP) and socket path ($SOCK = $TMP/ctl.sock); what it
 * leaves running is stopped at its end. --rewrite writes the actual
 * outputs into the files (review every line).
 *
 * Commands:
 *   server start [opt=V ...]  ctl-test-server --opt V (canned=NAME: the
 *                             canned set DIR/NAME); prints its log and
 *                             `ready`, or how it exited
 *   server try [opt=V ...]    a second server on the same path; prints how
 *                             it exited (or `running` and kills it)
 *   server stop | kill        SIGTERM (prints the exit and whether the
 *                             socket file is gone) | SIGKILL
 *   server log                the server's new log lines (pids as N)
 *   path stat | file | rm | chmod MODE | chmod-dir MODE
 *   conn open|close|read|shut NAME    conn send|write NAME JSON (a
 *                             trailing backslash-r sends a CR before the newline)
 *   conn long NAME BYTES      one line of BYTES 'x', then read the answer
 *   conn flood NAME N BYTES   N requests for BYTES-byte results, unread
 *   conn many N | close-many  conn as UID JSON
 *   stats [KEY...]            wait KEY=VALUE (up to 5 s)
 *   ctl [NAME=VALUE...] ARGS  nicraftctl; $SOCK and $TMP substituted
 *   sleep MS
 * The last line is `N passed, M failed`; exit 0 only when M is 0, N > 0. */
#include "ctl_scen.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_BYTES_MAX (1u << 20)
#define FILES_MAX 64

void scen_out_reset(struct scen_out *o)
{
    o->len = 0;
    if (o->p != NULL)
        o->p[0] = '\0';
}

void scen_outf(struct scen_out *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (o->len + (size_t)n + 1 > o->cap) {
        size_t cap = (o->len + (size_t)n + 1) * 2;
        char *p = realloc(o->p, cap);
        if (p == NULL)
            abort(); /* the runner's own memory: nothing sensible to do */
        o->p = p;
        o->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(o->p + o->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    o->len += (size_t)n;
}

/* Splits on spaces; "double quoted" tokens keep their spaces. */
static int tokenize(char *line, char **tok, int max)
{
    int n = 0;
    char *p = line;

    while (*p != '\0' && n < max) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if (*p == '"') {
            tok[n++] = ++p;
            while (*p != '\0' && *p != '"')
                p++;
        } else {
            tok[n++] = p;
            while (*p != '\0' && *p != ' ')
                p++;
        }
        if (*p != '\0')
            *p++ = '\0';
    }
    return n;
}

/* The text after the first `skip` words of line (for JSON arguments). */
static const char *rest_after(const char *line, int skip)
{
    const char *p = line;

    for (int i = 0; i < skip; i++) {
        while (*p == ' ')
            p++;
        while (*p != '\0' && *p != ' ')
            p++;
    }
    while (*p == ' ')
        p++;
    return p;
}

static void cmd_path(struct scen *s, char **tok, int n)
{
    struct stat st;

    if (n >= 2 && strcmp(tok[1], "stat") == 0) {
        if (lstat(s->sock, &st) != 0)
            scen_outf(&s->out, "absent\n");
        else
            scen_outf(&s->out, "%s mode %04o uid %u\n",
                      S_ISSOCK(st.st_mode) ? "socket" : S_ISREG(st.st_mode) ? "file" : "other",
                      (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
    } else if (n >= 2 && strcmp(tok[1], "file") == 0) {
        FILE *f = fopen(s->sock, "w");
        if (f != NULL)
            fclose(f);
        scen_outf(&s->out, f != NULL ? "ok\n" : "error: cannot create the file\n");
    } else if (n >= 2 && strcmp(tok[1], "rm") == 0) {
        scen_outf(&s->out, unlink(s->sock) == 0 ? "ok\n" : "error: unlink failed\n");
    } else if (n >= 3 && (strcmp(tok[1], "chmod") == 0 || strcmp(tok[1], "chmod-dir") == 0)) {
        const char *target = strcmp(tok[1], "chmod") == 0 ? s->sock : s->tmp;
        mode_t mode = (mode_t)strtoul(tok[2], NULL, 8);
        scen_outf(&s->out, chmod(target, mode) == 0 ? "ok\n" : "error: chmod failed\n");
    } else {
        scen_outf(&s->out, "error: path stat|file|rm|chmod MODE|chmod-dir MODE\n");
    }
}

void scen_run(struct scen *s, const char *line)
{
    char copy[4096];
    char *tok[SCEN_TOKENS_MAX];

    snprintf(copy, sizeof(copy), "%s", line);
    int n = tokenize(copy, tok, SCEN_TOKENS_MAX);
    if (n == 0) {
        scen_outf(&s->out, "error: empty command\n");
    } else if (strcmp(tok[0], "server") == 0) {
        scen_cmd_server(s, tok, n);
    } else if (strcmp(tok[0], "path") == 0) {
        cmd_path(s, tok, n);
    } else if (strcmp(tok[0], "conn") == 0 && n >= 3 && strcmp(tok[1], "as") == 0) {
        scen_cmd_as(s, tok, n, rest_after(line, 3));
    } else if (strcmp(tok[0], "conn") == 0) {
        scen_cmd_conn(s, tok, n, rest_after(line, 3));
    } else if (strcmp(tok[0], "stats") == 0 || strcmp(tok[0], "wait") == 0) {
        scen_cmd_stats(s, tok, n, strcmp(tok[0], "wait") == 0);
    } else if (strcmp(tok[0], "ctl") == 0) {
        scen_cmd_ctl(s, tok, n);
    } else if (strcmp(tok[0], "sleep") == 0 && n == 2) {
        long ms = strtol(tok[1], NULL, 10);
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        scen_outf(&s->out, "ok\n");
    } else {
        scen_outf(&s->out, "error: unknown command %s\n", tok[0]);
    }
}

/* ---- files ---- */

struct totals {
    unsigned passed;
    unsigned failed;
    bool is_rewrite;
};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *text = calloc(FILE_BYTES_MAX + 1, 1);
    size_t len = text != NULL ? fread(text, 1, FILE_BYTES_MAX, f) : 0;
    fclose(f);
    if (text != NULL)
        text[len] = '\0';
    return text;
}

static void print_diff(const char *want, const char *got)
{
    for (const char *p = want, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
        printf("  - %.*s\n", (int)(nl - p), p);
    for (const char *p = got, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
        printf("  + %.*s\n", (int)(nl - p), p);
}

static void run_file(struct scen *s, const char *path, struct totals *t)
{
    char *text = read_file(path);
    struct scen_out rewritten = {0}, want = {0};

    if (text == NULL) {
        printf("%s: cannot read: %s\n", path, strerror(errno));
        t->failed++;
        return;
    }
    snprintf(s->tmp, sizeof(s->tmp), "/tmp/ctl-scen.XXXXXX");
    if (mkdtemp(s->tmp) == NULL) {
        printf("%s: mkdtemp: %s\n", path, strerror(errno));
        t->failed++;
        free(text);
        return;
    }
    snprintf(s->sock, sizeof(s->sock), "%s/ctl.sock", s->tmp);
    char *p = text;
    unsigned lineno = 0;
    bool is_broken = false;
    while (*p != '\0' && !is_broken) {
        char *nl = strchr(p, '\n');
        char *next = nl != NULL ? nl + 1 : p + strlen(p);
        if (nl != NULL)
            *nl = '\0';
        lineno++;
        if (p[0] == '#' || p[strspn(p, " \t")] == '\0') {
            scen_outf(&rewritten, "%s\n", p);
            p = next;
            continue;
        }
        const char *cmd = p;
        unsigned cmd_line = lineno;
        p = next;
        nl = strchr(p, '\n');
        if (nl == NULL || strncmp(p, "----", 4) != 0 || nl != p + 4) {
            printf("%s:%u: command without a ---- line: %s\n", path, cmd_line, cmd);
            t->failed++;
            is_broken = true;
            break;
        }
        p = nl + 1;
        lineno++;
        scen_out_reset(&want);
        while (*p != '\0' && *p != '\n') {
            nl = strchr(p, '\n');
            next = nl != NULL ? nl + 1 : p + strlen(p);
            scen_outf(&want, "%.*s\n", (int)(nl != NULL ? nl - p : (long)strlen(p)), p);
            p = next;
            lineno++;
        }
        scen_out_reset(&s->out);
        scen_run(s, cmd);
        const char *got = s->out.p != NULL ? s->out.p : "";
        const char *exp = want.p != NULL ? want.p : "";
        scen_outf(&rewritten, "%s\n----\n%s", cmd, got);
        if (strcmp(got, exp) == 0) {
            t->passed++;
        } else if (t->is_rewrite) {
            t->passed++;
            printf("%s:%u: rewrote: %s\n", path, cmd_line, cmd);
        } else {
            t->failed++;
            printf("%s:%u: FAILED: %s\n", path, cmd_line, cmd);
            print_diff(exp, got);
        }
    }
    scen_cleanup(s);
    if (t->is_rewrite && !is_broken) {
        FILE *f = fopen(path, "wb");
        if (f != NULL) {
            fputs(rewritten.p != NULL ? rewritten.p : "", f);
            fclose(f);
        }
    }
    char rm[300];
    snprintf(rm, sizeof(rm), "%s/ctl.sock", s->tmp);
    unlink(rm);
    snprintf(rm, sizeof(rm), "%s/server.err", s->tmp);
    unlink(rm);
    rmdir(s->tmp);
    free(text);
    free(rewritten.p);
    free(want.p);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(struct scen *s, const char *path, struct totals *t)
{
    struct stat st;
    char *names[FILES_MAX];
    int n = 0;

    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        run_file(s, path, t);
        return;
    }
    DIR *d = opendir(path);
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL && n < FILES_MAX;) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".txt") == 0)
            names[n++] = strdup(e->d_name);
    }
    if (d != NULL)
        closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
    for (int i = 0; i < n; i++) {
        char full[1024];
        snprintf(full, sizeof(full), "%s/%s", path, names[i]);
        run_file(s, full, t);
        free(names[i]);
    }
}

int main(int argc, char **argv)
{
    static struct scen s;
    struct totals t = {0};
    int i = 1;

    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--rewrite") == 0)
            t.is_rewrite = true;
        else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
            s.server_bin = argv[++i];
        else if (strcmp(argv[i], "--ctl") == 0 && i + 1 < argc)
            s.ctl_bin = argv[++i];
        else if (strcmp(argv[i], "--canned") == 0 && i + 1 < argc)
            s.canned_root = argv[++i];
        else
            break;
    }
    if (i >= argc || s.server_bin == NULL || s.ctl_bin == NULL || s.canned_root == NULL) {
        fprintf(stderr, "usage: ctl-scenario --server BIN --ctl BIN --canned DIR [--rewrite] "
                        "FILE_OR_DIR...\n");
        return 2;
    }
    for (int k = 0; k < SCEN_CONNS_MAX; k++)
        s.conns[k].fd = -1;
    for (; i < argc; i++)
        run_path(&s, argv[i], &t);
    printf("%u passed, %u failed\n", t.passed, t.failed);
    free(s.out.p);
    return t.failed == 0 && t.passed > 0 ? 0 : 1;
}
