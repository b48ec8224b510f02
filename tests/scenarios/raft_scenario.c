/* raft_scenario.c - runs scenario files against real raft cores.
 *
 *     raft-scenario [--rewrite] FILE_OR_DIR...
 *
 * A file is a list of cases: `#` comment lines (what the case proves), one
 * command line, a line `----`, the expected output, and a blank line. Each
 * file starts with no cluster; commands run in order against one cluster.
 * The output of each command is compared byte for byte with the expected
 * one; a mismatch prints the file, line, command and a diff. --rewrite
 * writes the actual outputs into the files instead (review every line).
 * A directory means every *.txt file in it, sorted. Each file runs in a
 * child process, so a core that aborts fails its file, not the whole run.
 *
 * Commands (a command that prints nothing else prints `ok`; runner
 * mistakes print `error: ...`, safety breaches seen by the runner print
 * `VIOLATION: ...`):
 *   cluster voters=(1,2,3) [learners=(4)] [seed=N] [election=N] [heartbeat=N]
 *           [prevote=B] [checkquorum=B] [inflight=N] [msg-bytes=N]
 *           [log-entries=N] [log-bytes=N] [apply-batch=N] [read-queue=N]
 *           [learner-lag=N] [learner-ready=N] [bootstrap=snapshot|entries]
 *           [leader=ID]          fresh nodes; leader= elects ID quietly;
 *                                the founding configuration is in the
 *                                snapshot metadata at index 0, or (entries)
 *                                entries 1..N at term 1, committed (SPEC
 *                                section 2 rule 8)
 *   tick IDS|all [n=K]           IDS: 1 or 1,2,3
 *   campaign ID                  tick until the election timeout fires
 *   deliver [from=ID] [to=ID]    deliver what is queued now (one round)
 *   stabilize                    deliver rounds until nothing is left
 *   drop [from=ID] [to=ID]       lose what is queued
 *   queue                        show the queue (held: waits for a sync)
 *   propose ID DATA [n=K]        K entries of DATA in one proposal
 *   read-index ID ctx=N          transfer ID to=ID      compact ID index=N
 *   inject ID TYPE from=ID [to= term= index= log_term= commit= hint=
 *          hint_term= ctx= reject= transfer= snap=I@T entries=(I@T,...)
 *          data=STR]             step a hand-made message (TYPE=N: raw)
 *   crash ID                     restart ID [wipe=true]
 *   partition 1 | 2,3            heal
 *   sync-mode ID manual|auto     sync ID
 *   status [ID]    log [ID]    stats [ID]
 * Membership (scen_cmds_conf.c):
 *   add-node ID                  a joining member: empty configuration
 *   conf ID simple|joint|leave [autoleave=B] [vN|lN|rN|uN ...]
 *                                propose a change: add voter (or promote),
 *                                add learner (or demote), remove, update
 *   ready ID LEARNER             raft_check_ready()'s verdict and sentence
 *   progress ID                  the leader's view: lag, in_bound_ticks, ready
 * Once a cluster was made with learners= or bootstrap=entries, or ran a
 * membership command, `status` prints each node's configuration
 * (`conf voters=(1,2,4)&&(1,2,3) learners=(5) learners_next=(3) autoleave`,
 * outgoing half after &&) and a step that applies one prints
 * `N: conf ... index=I`; files written before membership print neither.
 * Messages print as `1->2 APPEND term=.. index=.. ...`, with `[after sync]`
 * when they came out of send_after_sync; what a step caused is indented.
 *
 * The last line printed
 * is `N passed, M failed`; the exit status is 0 only when M is 0 and N > 0.
 */
#include "scen.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILE_BYTES_MAX (4u << 20)
#define FILES_MAX 256

struct run_totals {
    unsigned passed;
    unsigned failed;
    bool is_rewrite;
};

/* The lines of a file, split in place. */
struct lines {
    char *text;
    char **v;
    size_t n;
};

static int read_lines(const char *path, struct lines *l)
{
    FILE *f = fopen(path, "rb");

    memset(l, 0, sizeof(*l));
    if (f == NULL)
        return -1;
    l->text = calloc(FILE_BYTES_MAX + 1, 1);
    size_t len = l->text ? fread(l->text, 1, FILE_BYTES_MAX + 1, f) : 0;
    fclose(f);
    if (l->text == NULL || len > FILE_BYTES_MAX)
        return -1;
    l->v = calloc(len + 2, sizeof(l->v[0]));
    if (l->v == NULL)
        return -1;
    char *p = l->text;
    char *end = l->text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        l->v[l->n++] = p;
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    return 0;
}

static void free_lines(struct lines *l)
{
    free(l->text);
    free(l->v);
}

/* Prints the common prefix as context, then the rest of each side. */
static void print_diff(const char *expected, const char *actual)
{
    const char *e = expected;
    const char *a = actual;

    for (;;) {
        const char *en = strchr(e, '\n');
        const char *an = strchr(a, '\n');
        if (en == NULL || an == NULL || en - e != an - a || memcmp(e, a, (size_t)(en - e)) != 0)
            break;
        printf("    %.*s\n", (int)(en - e), e);
        e = en + 1;
        a = an + 1;
    }
    for (const char *nl; (nl = strchr(e, '\n')) != NULL; e = nl + 1)
        printf("  - %.*s\n", (int)(nl - e), e);
    for (const char *nl; (nl = strchr(a, '\n')) != NULL; a = nl + 1)
        printf("  + %.*s\n", (int)(nl - a), a);
}

static bool is_blank(const char *s)
{
    return s[strspn(s, " \t\r")] == '\0';
}

/* Runs one file; with is_rewrite, writes the actual outputs into rewritten. */
static int run_file(const char *path, struct run_totals *t)
{
    struct lines l;
    struct scen_buf out, expected, rewritten;
    struct scen_cluster c;
    size_t i = 0;
    int rc = 0;

    if (read_lines(path, &l) != 0) {
        printf("%s: cannot read: %s\n", path, strerror(errno));
        free_lines(&l);
        t->failed++;
        return -1;
    }
    scen_buf_init(&out);
    scen_buf_init(&expected);
    scen_buf_init(&rewritten);
    scen_cluster_init(&c, &out);
    while (i < l.n) {
        if (l.v[i][0] == '#' || is_blank(l.v[i])) {
            scen_printf(&rewritten, "%s\n", l.v[i++]);
            continue;
        }
        size_t cmd_line = i;
        const char *cmd = l.v[i++];
        if (i >= l.n || strcmp(l.v[i], "----") != 0) {
            printf("%s:%zu: command without a ---- line: %s\n", path, cmd_line + 1, cmd);
            t->failed++;
            rc = -1;
            break;
        }
        i++;
        scen_buf_reset(&expected);
        while (i < l.n && l.v[i][0] != '\0')
            scen_printf(&expected, "%s\n", l.v[i++]);
        scen_buf_reset(&out);
        scen_run_command(&c, cmd);
        const char *got = out.p ? out.p : "";
        const char *want = expected.p ? expected.p : "";
        scen_printf(&rewritten, "%s\n----\n%s", cmd, got);
        if (strcmp(got, want) == 0) {
            t->passed++;
        } else if (t->is_rewrite) {
            t->passed++;
            printf("%s:%zu: rewrote: %s\n", path, cmd_line + 1, cmd);
        } else {
            t->failed++;
            printf("%s:%zu: FAILED: %s\n", path, cmd_line + 1, cmd);
            print_diff(want, got);
        }
    }
    scen_cluster_free(&c);
    if (t->is_rewrite && rc == 0) {
        FILE *f = fopen(path, "wb");
        if (f == NULL || fwrite(rewritten.p, 1, rewritten.len, f) != rewritten.len) {
            printf("%s: cannot write: %s\n", path, strerror(errno));
            rc = -1;
        }
        if (f != NULL)
            fclose(f);
    }
    scen_buf_free(&out);
    scen_buf_free(&expected);
    scen_buf_free(&rewritten);
    free_lines(&l);
    return rc;
}

/* Runs run_file in a child; its counts come back through a pipe. An abort
 * or a signal counts as one failed case and says where. */
static void run_file_isolated(const char *path, struct run_totals *t)
{
    int fds[2];
    unsigned counts[2] = {0, 0};
    int status = 0;

    fflush(stdout);
    if (pipe(fds) != 0) {
        run_file(path, t);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        struct run_totals mine = {0, 0, t->is_rewrite};
        close(fds[0]);
        run_file(path, &mine);
        fflush(stdout);
        counts[0] = mine.passed;
        counts[1] = mine.failed;
        ssize_t w = write(fds[1], counts, sizeof(counts));
        _exit(w == (ssize_t)sizeof(counts) ? 0 : 3);
    }
    close(fds[1]);
    ssize_t got = pid > 0 ? read(fds[0], counts, sizeof(counts)) : -1;
    close(fds[0]);
    if (pid > 0)
        waitpid(pid, &status, 0);
    if (pid < 0 || got != (ssize_t)sizeof(counts) || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        printf("%s: CRASHED (%s %d) after the cases above; the file's remaining cases did not "
               "run\n",
               path, WIFSIGNALED(status) ? "signal" : "status",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        counts[1]++;
    }
    t->passed += counts[0];
    t->failed += counts[1];
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir, struct run_totals *t)
{
    DIR *d = opendir(dir);
    char *names[FILES_MAX];
    size_t n = 0;

    if (d == NULL) {
        printf("%s: cannot open: %s\n", dir, strerror(errno));
        t->failed++;
        return;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".txt") != 0)
            continue;
        if (n == FILES_MAX) {
            printf("%s: more than %d scenario files\n", dir, FILES_MAX);
            t->failed++;
            break;
        }
        names[n] = malloc(strlen(dir) + len + 2);
        if (names[n] == NULL)
            break;
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), compare_names);
    for (size_t i = 0; i < n; i++) {
        run_file_isolated(names[i], t);
        free(names[i]);
    }
}

int main(int argc, char **argv)
{
    struct run_totals t = {0, 0, false};
    int n_paths = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (strcmp(argv[i], "--rewrite") == 0) {
            t.is_rewrite = true;
            continue;
        }
        n_paths++;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            run_dir(argv[i], &t);
        else
            run_file_isolated(argv[i], &t);
    }
    if (n_paths == 0) {
        fprintf(stderr, "usage: raft-scenario [--rewrite] FILE_OR_DIR...\n");
        return 2;
    }
    printf("%u passed, %u failed\n", t.passed, t.failed);
    return t.failed == 0 && t.passed > 0 ? 0 : 1;
}
