/* cf_main.c - etcd-raft-conformance: runs etcd-io/raft's quorum and
 * confchange vectors against our raft core.
 *
 *     etcd-raft-conformance [--skip-if-missing] DIR [-v]
 *
 * DIR holds the folders quorum/ and confchange/ of .txt vector files
 * (shared/conformance/etcd-raft; its README.md specifies the format and the
 * output). Every file runs, in
 * name order, from a fresh state; every case runs and is compared byte for
 * byte. A mismatch prints file, line, directive, expected and actual output;
 * malformed test data prints file, line and what is wrong, and counts as a
 * failure. -v also lists the cases that pass. The last line is
 * `N passed, M failed`; the exit status is 0 only when M is 0 and N > 0.
 *
 * --skip-if-missing: when DIR does not exist, exit 77 (meson's "skipped")
 * unless CI is set, as deploy/test.sh reads it (anything but empty, `false`
 * or `0`): a CI run that skips fails (CONVENTIONS section 7).
 * Exit status 2: usage error. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cf.h"
#include "nr_ci.h"

#define CF_FILES_MAX 256 /* vector files in one suite folder */
#define CF_NAME_MAX 256  /* bytes of one file name, NUL included */

/* The suites, in the order they run; files in a folder run in name order. */
static const char *const suite_names[] = {"quorum", "confchange"};

struct file_list {
    char names[CF_FILES_MAX][CF_NAME_MAX];
    uint32_t n;
};

/* A run: the totals and the buffers the cases use, allocated once. */
struct run {
    unsigned passed;
    unsigned failed;
    bool is_verbose;
    struct cf_case *c;
    struct cf_buf *actual;
    struct file_list *files;
    struct cf_cc_state cc;
};

static int usage(const char *why)
{
    fprintf(stderr,
            "etcd-raft-conformance: %s\n"
            "usage: etcd-raft-conformance [--skip-if-missing] DIR [-v]\n"
            "  DIR holds quorum/*.txt and confchange/*.txt "
            "(shared/conformance/etcd-raft)\n",
            why);
    return 2;
}

static bool is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The *.txt files of dir (hidden ones left out), sorted by name. */
static int list_txt(const char *dir, struct file_list *fl, struct nr_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL)
        return nr_errf(err, NR_EINVAL, "%s: cannot open the folder: %s", dir, strerror(errno));
    fl->n = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (e->d_name[0] == '.' || len < 4 || strcmp(e->d_name + len - 4, ".txt") != 0)
            continue;
        if (len >= CF_NAME_MAX || fl->n >= CF_FILES_MAX) {
            closedir(d);
            return nr_errf(err, NR_ERANGE, "%s: more than %u files, or a name over %u bytes", dir,
                           CF_FILES_MAX, CF_NAME_MAX - 1);
        }
        memcpy(fl->names[fl->n++], e->d_name, len + 1);
    }
    closedir(d);
    qsort(fl->names, fl->n, sizeof(fl->names[0]), name_cmp);
    return 0;
}

/* ---- cases and files ------------------------------------------------------ */

static void run_case(struct run *run, bool is_quorum)
{
    struct cf_case *c = run->c;
    struct cf_buf *out = run->actual;
    struct nr_err err;
    int rc;

    memset(&err, 0, sizeof(err));
    cf_buf_reset(out);
    rc = is_quorum ? cf_quorum_run(c, out, &err) : cf_confchange_run(&run->cc, c, out, &err);
    if (rc == 0 && out->is_overflow)
        rc = nr_errf(&err, NR_ERANGE, "the actual output is longer than %u bytes", CF_OUT_MAX - 1);
    if (rc != 0) {
        cf_report_not_run(c, &err);
        run->failed++;
        return;
    }
    /* README 4.4: a non-empty output gets a final LF if it lacks one. */
    if (out->len > 0 && out->data[out->len - 1] != '\n')
        cf_buf_puts(out, "\n");
    if (out->len == c->expected.len && memcmp(out->data, c->expected.data, out->len) == 0) {
        run->passed++;
        if (run->is_verbose)
            cf_report_pass(c);
        return;
    }
    cf_report_mismatch(c, out);
    run->failed++;
}

/* Every case of one file, from a fresh state (README 4.5). */
static void run_file(struct run *run, const char *path, bool is_quorum)
{
    struct cf_reader r;
    struct nr_err err;
    int rc;

    memset(&err, 0, sizeof(err));
    if (cf_reader_open(&r, path, &err) != 0) {
        printf("FAIL %s\n  cannot read the file: %s\n", path, err.msg);
        run->failed++;
        return;
    }
    cf_confchange_reset(&run->cc);
    while ((rc = cf_reader_next(&r, run->c, &err)) != CF_READ_END) {
        if (rc == CF_READ_CASE) {
            run_case(run, is_quorum);
            continue;
        }
        cf_report_not_run(run->c, &err);
        run->failed++;
        if (!is_quorum)
            cf_confchange_skip(&run->cc);
    }
    cf_reader_close(&r);
}

static void run_suite(struct run *run, const char *dir, const char *suite)
{
    char sub[PATH_MAX];
    char path[PATH_MAX];
    struct nr_err err;
    bool is_quorum = strcmp(suite, "quorum") == 0;

    memset(&err, 0, sizeof(err));
    if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, suite) >= sizeof(sub) || !is_dir(sub)) {
        printf("FAIL %s/%s: no such folder\n", dir, suite);
        run->failed++;
        return;
    }
    if (list_txt(sub, run->files, &err) != 0) {
        printf("FAIL %s\n  %s\n", sub, err.msg);
        run->failed++;
        return;
    }
    for (uint32_t i = 0; i < run->files->n; i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", sub, run->files->names[i]) >=
            sizeof(path)) {
            printf("FAIL %s/%s: path longer than %d bytes\n", sub, run->files->names[i],
                   PATH_MAX - 1);
            run->failed++;
            continue;
        }
        run_file(run, path, is_quorum);
    }
}

/* DIR is missing: a skip (77) or a failure, per --skip-if-missing and CI. */
static int missing_dir(const char *dir, bool is_skip_if_missing)
{
    if (is_skip_if_missing && !nr_ci_is_set()) {
        printf("skip: the conformance vectors folder %s does not exist (set the meson option "
               "conformance_dir, or put shared/ beside the source tree)\n",
               dir);
        printf("0 passed, 0 failed\n");
        return 77;
    }
    printf("FAIL %s: the conformance vectors folder does not exist%s\n", dir,
           is_skip_if_missing ? " (CI is set, and a CI run may not skip)" : "");
    printf("0 passed, 1 failed\n");
    return 1;
}

int main(int argc, char **argv)
{
    struct run run = {0};
    const char *dir = NULL;
    bool is_skip_if_missing = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            run.is_verbose = true;
        else if (strcmp(argv[i], "--skip-if-missing") == 0)
            is_skip_if_missing = true;
        else if (argv[i][0] == '-')
            return usage("unknown option");
        else if (dir != NULL)
            return usage("more than one DIR");
        else
            dir = argv[i];
    }
    if (dir == NULL)
        return usage("no DIR given");
    if (!is_dir(dir))
        return missing_dir(dir, is_skip_if_missing);
    run.c = calloc(1, sizeof(*run.c));
    run.actual = calloc(1, sizeof(*run.actual));
    run.files = calloc(1, sizeof(*run.files));
    if (run.c == NULL || run.actual == NULL || run.files == NULL) {
        fprintf(stderr, "etcd-raft-conformance: out of memory\n");
        return 1;
    }
    for (size_t s = 0; s < sizeof(suite_names) / sizeof(suite_names[0]); s++)
        run_suite(&run, dir, suite_names[s]);
    printf("%u passed, %u failed\n", run.passed, run.failed);
    free(run.files);
    free(run.actual);
    free(run.c);
    return run.failed == 0 && run.passed > 0 ? 0 : 1;
}
