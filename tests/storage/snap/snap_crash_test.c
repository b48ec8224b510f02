/* snap_crash_test.c - the snapshot directory under failures: the fault
 * hooks themselves, failed writes and fsyncs (the snapshot is abandoned,
 * its temporary file removed, the previous one stays the newest), a crash
 * that leaves a .tmp behind, snap_find_latest falling back past damaged
 * snapshots, and snap_gc. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snap_file.h"
#include "snap_test_util.h"
#include "storage_fault.h"
#include "unit_check.h"

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void spath(char *buf, const char *dir, uint64_t term, uint64_t index, bool tmp)
{
    int rc = snap_file_path(buf, PATH_MAX, dir, term, index, tmp, NULL);
    NR_ASSERT(rc == 0);
}

/* Writes a snapshot with data_len bytes (no faults); asserts it worked. */
static void put(const char *dir, uint64_t term, uint64_t index, uint64_t data_len)
{
    struct snap_header h;
    struct nr_err err = {0};

    snap_test_header(&h, index, term, data_len, 0);
    int rc = snap_test_write(dir, &h, index, 4096, NULL, NULL, 0, &err);
    UNIT_CHECK(rc == 0, "write term %" PRIu64 " index %" PRIu64 ": %s", term, index, err.msg);
}

/* snap_find_latest names term/index (and warns when want_warn). */
static void expect_latest(const char *dir, uint64_t term, uint64_t index, bool want_warn,
                          const char *warn_has, const char *why)
{
    char got[PATH_MAX], want[PATH_MAX];
    struct nr_err warn = {0}, err = {0};

    spath(want, dir, term, index, false);
    int rc = snap_find_latest(dir, SNAP_TEST_CLUSTER, SNAP_TEST_MEMBER, got, sizeof(got), &warn,
                              &err);
    UNIT_CHECK(rc == 0 && strcmp(got, want) == 0, "%s: %d %s, expected %s", why, rc,
               rc == 0 ? got : err.msg, want);
    UNIT_CHECK(want_warn == (warn.code != 0), "%s: warning \"%s\"", why, warn.msg);
    UNIT_CHECK(warn_has == NULL || strstr(warn.msg, warn_has) != NULL,
               "%s: \"%s\" not in the warning \"%s\"", why, warn_has, warn.msg);
}

/* ---- the hooks ---------------------------------------------------------- */

static void test_hooks(void)
{
    struct storage_faults f = {0};
    uint32_t len = 100;
    bool torn = true;

    UNIT_CHECK(storage_fault_write(NULL, &len, &torn) == 0 && len == 100 && !torn,
               "no plan: nothing injected");
    UNIT_CHECK(storage_fault_sync(NULL) == 0, "no plan: sync passes");
    /* 0 disables every fault, and the counters still count. */
    for (int i = 0; i < 5; i++) {
        len = 100;
        UNIT_CHECK(storage_fault_write(&f, &len, &torn) == 0 && len == 100 && !torn,
                   "an empty plan: write %d passes", i + 1);
        UNIT_CHECK(storage_fault_sync(&f) == 0, "an empty plan: sync %d passes", i + 1);
    }
    UNIT_CHECK(f.n_writes == 5 && f.n_syncs == 5, "counted %" PRIu64 " writes, %" PRIu64 " syncs",
               f.n_writes, f.n_syncs);

    /* Counts start at 1: the n-th call fails, once. */
    f = (struct storage_faults){.fail_write_nth = 2,
                                .write_errno = ENOSPC,
                                .fail_sync_nth = 1,
                                .sync_errno = EIO,
                                .tear_write_nth = 3,
                                .tear_at_byte = 10};
    len = 100;
    UNIT_CHECK(storage_fault_write(&f, &len, &torn) == 0 && !torn, "write 1 passes");
    UNIT_CHECK(storage_fault_write(&f, &len, &torn) == -ENOSPC, "write 2 fails ENOSPC");
    UNIT_CHECK(storage_fault_write(&f, &len, &torn) == 0 && torn && len == 10,
               "write 3 torn at 10 (len %u)", len);
    len = 100;
    UNIT_CHECK(storage_fault_write(&f, &len, &torn) == 0 && !torn && len == 100,
               "write 4 passes whole");
    UNIT_CHECK(storage_fault_sync(&f) == -EIO, "sync 1 fails EIO");
    UNIT_CHECK(storage_fault_sync(&f) == 0, "sync 2 passes");

    /* A tear beyond the write leaves its length; an errno of 0 means EIO. */
    f = (struct storage_faults){.tear_write_nth = 1, .tear_at_byte = 500, .fail_write_nth = 2};
    len = 100;
    UNIT_CHECK(storage_fault_write(&f, &len, &torn) == 0 && torn && len == 100,
               "tear past the end: len %u", len);
    UNIT_CHECK(storage_fault_write(&f, &len, &torn) == -EIO, "errno 0 reads as EIO");
}

static void test_flip_bit(const char *dir)
{
    char p[PATH_MAX + 16];
    uint8_t b = 0;

    snprintf(p, sizeof(p), "%s/flip", dir);
    FILE *fp = fopen(p, "wb");
    NR_ASSERT(fp != NULL);
    fputc(0x5a, fp);
    fclose(fp);
    UNIT_CHECK(storage_fault_flip_bit(p, 0, 0) == 0, "flip bit 0");
    UNIT_CHECK(storage_fault_flip_bit(p, 0, 7) == 0, "flip bit 7");
    fp = fopen(p, "rb");
    NR_ASSERT(fp != NULL);
    b = (uint8_t)fgetc(fp);
    fclose(fp);
    UNIT_CHECK(b == (0x5a ^ 0x81), "byte %02x after two flips", b);
    UNIT_CHECK(storage_fault_flip_bit(p, 0, 8) == -EINVAL, "bit 8 refused");
    UNIT_CHECK(storage_fault_flip_bit(p, 1, 0) == -ERANGE, "past the end refused");
    unlink(p);
    UNIT_CHECK(storage_fault_flip_bit(p, 0, 0) == -ENOENT, "missing file");
}

/* ---- failed writes and fsyncs ---------------------------------------- */

/* A snapshot at term 9 index 500 with faults f must fail with code and a
 * sentence holding what, leave nothing behind, and the older snapshot at
 * term 1 index 100 must stay the newest. */
static void expect_abandoned(const char *dir, struct storage_faults *f, uint64_t data_len,
                             const char *what, const char *why)
{
    struct snap_header h;
    struct nr_err err = {0};
    char tmp[PATH_MAX], fin[PATH_MAX];

    snap_test_header(&h, 500, 9, data_len, 1);
    int rc = snap_test_write(dir, &h, 3, 256 * 1024, f, NULL, 0, &err);
    UNIT_CHECK(rc == NR_EIO, "%s: %s (%s)", why, nr_code_name(rc), err.msg);
    UNIT_CHECK(strstr(err.msg, what) != NULL, "%s: \"%s\" not in \"%s\"", why, what, err.msg);
    spath(tmp, dir, 9, 500, true);
    spath(fin, dir, 9, 500, false);
    UNIT_CHECK(!exists(tmp), "%s: the temporary file is removed", why);
    UNIT_CHECK(!exists(fin), "%s: no final file", why);
    expect_latest(dir, 1, 100, false, NULL, why);
}

static void test_faults(const char *dir)
{
    struct storage_faults f;
    const uint64_t len = 3 * SNAP_IO_CHUNK + 5; /* in 256 KiB appends: 13 data writes */

    put(dir, 1, 100, 1000);
    f = (struct storage_faults){.fail_write_nth = 1, .write_errno = ENOSPC};
    expect_abandoned(dir, &f, len,
                     "offset 0: write of 360 bytes failed: No space left on "
                     "device (errno 28); snapshot abandoned",
                     "header write ENOSPC");
    f = (struct storage_faults){.fail_write_nth = 3, .write_errno = EIO};
    expect_abandoned(dir, &f, len, "write of 262144 bytes failed: Input/output error (errno 5)",
                     "second data write EIO");
    UNIT_CHECK(f.n_writes == 3, "no write after the failed one (%" PRIu64 ")", f.n_writes);
    f = (struct storage_faults){.fail_write_nth = 1 + 13 + 1, .write_errno = EIO};
    expect_abandoned(dir, &f, len, "offset 3146093: write of 4 bytes failed", "trailer EIO");
    f = (struct storage_faults){.tear_write_nth = 2, .tear_at_byte = 1000};
    expect_abandoned(dir, &f, len, "offset 360: write of 262144 bytes failed: Input/output",
                     "torn data write");
    f = (struct storage_faults){.fail_sync_nth = 1, .sync_errno = EIO};
    expect_abandoned(dir, &f, len,
                     "fsync failed: Input/output error (errno 5); snapshot "
                     "abandoned",
                     "file fsync EIO");
    UNIT_CHECK(f.n_syncs == 1, "one sync tried (%" PRIu64 ")", f.n_syncs);
    f = (struct storage_faults){.fail_sync_nth = 1, .sync_errno = ENOSPC};
    expect_abandoned(dir, &f, 0, "fsync failed: No space left on device", "empty, fsync ENOSPC");
    f = (struct storage_faults){.fail_sync_nth = 2, .sync_errno = EIO};
    expect_abandoned(dir, &f, len, "fsync of directory", "directory fsync EIO");

    /* The same plan, no faults due: the writes and syncs it counted. */
    struct snap_header h;
    struct nr_err err = {0};
    f = (struct storage_faults){0};
    snap_test_header(&h, 500, 9, len, 1);
    int rc = snap_test_write(dir, &h, 3, SNAP_IO_CHUNK * 2, &f, NULL, 0, &err);
    UNIT_CHECK(rc == 0, "no faults due: %s", err.msg);
    UNIT_CHECK(f.n_writes == 1 + 4 + 1 && f.n_syncs == 2,
               "header + 4 data writes + trailer, 2 syncs: %" PRIu64 " writes, %" PRIu64 " syncs",
               f.n_writes, f.n_syncs);
    expect_latest(dir, 9, 500, false, NULL, "the new snapshot is the newest");
    /* A failed write is final: later appends and the commit say so. */
    struct snap_writer *w;
    uint8_t buf[8] = {0};
    f = (struct storage_faults){.fail_write_nth = 2, .write_errno = EIO};
    snap_test_header(&h, 600, 9, 16, 0);
    NR_ASSERT(snap_writer_open(dir, &h, &f, &w, &err) == 0);
    rc = snap_writer_append(w, buf, 8, &err);
    UNIT_CHECK(rc == NR_EIO, "the failed append: %s", err.msg);
    memset(&err, 0, sizeof(err));
    rc = snap_writer_append(w, buf, 8, &err);
    UNIT_CHECK(rc == NR_EIO && strstr(err.msg, "write of 8 bytes failed"),
               "an append after the failure: %s", err.msg);
    rc = snap_writer_commit(w, NULL, 0, &err);
    UNIT_CHECK(rc == NR_EIO && strstr(err.msg, "snapshot abandoned"),
               "a commit after the failure: %s", err.msg);
    UNIT_CHECK(f.n_writes == 2, "nothing written after the failure (%" PRIu64 ")", f.n_writes);
}

/* ---- crashes, fallback, gc --------------------------------------------- */

/* A child writes half a snapshot and dies: its .tmp stays behind. */
static void crash_mid_write(const char *dir, uint64_t term, uint64_t index, bool append_all)
{
    pid_t pid = fork();

    NR_ASSERT(pid >= 0);
    if (pid == 0) {
        struct snap_header h;
        struct snap_writer *w;
        uint8_t buf[4096];

        snap_test_header(&h, index, term, 8192, 0);
        if (snap_writer_open(dir, &h, NULL, &w, NULL) != 0)
            _exit(2);
        snap_test_fill(buf, sizeof(buf), 1, 0);
        snap_writer_append(w, buf, sizeof(buf), NULL);
        if (append_all)
            snap_writer_append(w, buf, sizeof(buf), NULL);
        _exit(0); /* no commit, no abort: a crash */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    UNIT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the crashing child ran");
}

static void test_crash_and_fallback(const char *dir)
{
    char p[PATH_MAX + 16], q[PATH_MAX];
    struct nr_err warn = {0}, err = {0};

    int rc = snap_find_latest(dir, 0, 0, p, sizeof(p), &warn, &err);
    UNIT_CHECK(rc == NR_ERANGE && strstr(err.msg, ": no snapshot"), "empty: %s", err.msg);
    put(dir, 1, 10, 100);
    put(dir, 2, 20, 5000);
    put(dir, 2, 30, 0);
    expect_latest(dir, 2, 30, false, NULL, "three good ones");

    /* A crash mid-write, and one after the last data byte, before the
     * commit: neither counts (the rename is the commit point). */
    crash_mid_write(dir, 3, 40, false);
    crash_mid_write(dir, 3, 50, true);
    spath(p, dir, 3, 40, true);
    UNIT_CHECK(exists(p), "the crash left %s", p);
    expect_latest(dir, 2, 30, false, NULL, "temporary files are never candidates");

    /* Noise in the directory is ignored. */
    snprintf(p, sizeof(p), "%s/snap-zz.snap", dir);
    FILE *fp = fopen(p, "w");
    NR_ASSERT(fp != NULL);
    fclose(fp);
    expect_latest(dir, 2, 30, false, NULL, "unrelated names");

    /* The newest damaged: the one before it, with a warning naming it. */
    spath(p, dir, 2, 30, false);
    NR_ASSERT(storage_fault_flip_bit(p, SNAP_HEADER_LEN + 1, 0) == 0);
    expect_latest(dir, 2, 20, true,
                  "snap-0000000000000002-000000000000001e.snap: offset 360: "
                  "file crc mismatch",
                  "newest damaged");
    spath(p, dir, 2, 20, false);
    NR_ASSERT(storage_fault_flip_bit(p, SNAP_OFF_INDEX, 3) == 0);
    expect_latest(dir, 1, 10, true, "2 newer failed verification", "two damaged");
    /* A file whose name disagrees with its header is damaged too. */
    spath(p, dir, 1, 10, false);
    spath(q, dir, 1, 60, false);
    NR_ASSERT(snap_test_copy(p, q) == 0);
    expect_latest(dir, 1, 10, true, "the name disagrees", "renamed by hand");
    unlink(q);
    /* Another cluster's snapshot is no candidate either. */
    struct snap_header h;
    snap_test_header(&h, 70, 4, 10, 0);
    h.cluster_id = 7;
    rc = snap_test_write(dir, &h, 1, 10, NULL, NULL, 0, &err);
    NR_ASSERT(rc == 0);
    expect_latest(dir, 1, 10, true, "belongs to cluster 0000000000000007", "another cluster");
    spath(q, dir, 4, 70, false);
    unlink(q);

    /* All damaged: NR_ERANGE with the newest one's reason. */
    spath(p, dir, 1, 10, false);
    NR_ASSERT(truncate(p, 100) == 0);
    rc = snap_find_latest(dir, 0, 0, q, sizeof(q), &warn, &err);
    UNIT_CHECK(rc == NR_ERANGE && strstr(err.msg, "none of 3 snapshots verifies"), "%s", err.msg);
    /* The path buffer too small for the answer. */
    put(dir, 5, 80, 1);
    rc = snap_find_latest(dir, 0, 0, q, 8, &warn, &err);
    UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, "path longer than 8 bytes"), "%s", err.msg);
}

/* Index wins over term: a snapshot's index is what recovery needs. */
static void test_order(const char *dir)
{
    put(dir, 3, 40, 10);
    put(dir, 1, 50, 10);
    put(dir, 2, 50, 10);
    expect_latest(dir, 2, 50, false, NULL, "index, then term");
}

static uint32_t count_files(const char *dir, const uint64_t (*tis)[2], uint32_t n, bool tmp)
{
    char p[PATH_MAX];
    uint32_t k = 0;

    for (uint32_t i = 0; i < n; i++) {
        spath(p, dir, tis[i][0], tis[i][1], tmp);
        k += exists(p);
    }
    return k;
}

static void test_gc(const char *dir)
{
    const uint64_t snaps[][2] = {{1, 10}, {1, 20}, {2, 30}, {2, 40}, {3, 50}};
    struct nr_err err = {0};
    char p[PATH_MAX];

    for (uint32_t i = 0; i < 5; i++)
        put(dir, snaps[i][0], snaps[i][1], 100 * i);
    crash_mid_write(dir, 4, 60, false);
    crash_mid_write(dir, 1, 5, true);
    UNIT_CHECK(snap_gc(dir, 0, &err) == NR_EINVAL && strstr(err.msg, "keep=0"), "%s", err.msg);
    UNIT_CHECK(count_files(dir, snaps, 5, false) == 5, "keep=0 removed nothing");
    int rc = snap_gc(dir, 2, &err);
    UNIT_CHECK(rc == 0, "gc keep 2: %s", err.msg);
    UNIT_CHECK(count_files(dir, snaps, 3, false) == 0, "the three oldest are gone");
    UNIT_CHECK(count_files(dir, snaps + 3, 2, false) == 2, "the two newest stay");
    spath(p, dir, 4, 60, true);
    UNIT_CHECK(!exists(p), "the crashed .tmp is collected");
    spath(p, dir, 1, 5, true);
    UNIT_CHECK(!exists(p), "the complete but unrenamed .tmp is collected");
    expect_latest(dir, 3, 50, false, NULL, "after gc");

    /* The newest damaged: it is no keeper; the good one behind it stays. */
    spath(p, dir, 3, 50, false);
    NR_ASSERT(storage_fault_flip_bit(p, SNAP_HEADER_LEN + 3, 2) == 0);
    put(dir, 1, 35, 10);
    rc = snap_gc(dir, 1, &err);
    UNIT_CHECK(rc == 0, "gc keep 1: %s", err.msg);
    UNIT_CHECK(exists(p), "the damaged newest is left for the operator");
    spath(p, dir, 2, 40, false);
    UNIT_CHECK(exists(p), "the newest good one stays");
    spath(p, dir, 1, 35, false);
    UNIT_CHECK(!exists(p), "an older good one goes");
    expect_latest(dir, 2, 40, true, "offset 760: file crc mismatch", "after gc, damaged newest");
    UNIT_CHECK(snap_gc(dir, 1, &err) == 0, "gc again is a no-op: %s", err.msg);
    expect_latest(dir, 2, 40, true, NULL, "still there");
}

int main(void)
{
    char dir[PATH_MAX];
    struct storage_faults probe = {.fail_write_nth = 1, .write_errno = EIO};
    uint32_t len = 1;
    bool torn;

    bool have_faults = storage_fault_write(&probe, &len, &torn) != 0;
    if (!have_faults)
        printf("note: storage/ built without NICRAFT_FAULT_INJECTION (-Dfault_injection=false): "
               "fault tests skipped\n");
    else
        test_hooks();
    const char *names[] = {"flip", "faults", "crash", "order", "gc"};
    for (int i = 0; i < 5; i++) {
        if (snap_test_mkdtemp(dir, sizeof(dir), names[i]) != 0) {
            printf("cannot create a temporary directory\n0 passed, 1 failed\n");
            return 1;
        }
        switch (i) {
        case 0: test_flip_bit(dir); break;
        case 1:
            if (have_faults)
                test_faults(dir);
            break;
        case 2: test_crash_and_fallback(dir); break;
        case 3: test_order(dir); break;
        default: test_gc(dir); break;
        }
        snap_test_rmdir(dir);
    }
    return unit_finish();
}
