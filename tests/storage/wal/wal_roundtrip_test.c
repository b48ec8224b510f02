/* wal_roundtrip_test.c - the durable path end to end on the real writer:
 * append, submit, reap, reopen and compare; truncation, snapshot markers,
 * segment cuts, compaction and recycling; a failed write or sync makes the
 * WAL fatal and nothing after it is reported durable. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>

#include "unit_check.h"
#include "wal_test_util.h"

static uint8_t g_data[WTU_DATA_MAX];

/* Appends entries first..last at term, each len(index) bytes, n per step. */
static int put_range(struct wtu *t, uint64_t first, uint64_t last, uint64_t term, uint32_t len,
                     uint32_t per, struct nr_err *err)
{
    static uint8_t bufs[64][WTU_DATA_MAX];
    struct raft_entry e[64];

    for (uint64_t i = first; i <= last;) {
        uint32_t n = 0;
        for (; n < per && n < 64 && i <= last; n++, i++) {
            uint32_t l = len == 0 ? (uint32_t)(i * 37 % 300) : len;
            wtu_fill(bufs[n], l, i, term);
            e[n] = (struct raft_entry){term, i, RAFT_ENTRY_NORMAL, l, bufs[n]};
        }
        struct raft_hard_state hs = {term, 1, i - 1 > 3 ? i - 4 : 0};
        int rc = wtu_append(t, e, n, &hs, NULL, err);
        if (rc == 0)
            rc = wal_submit(t->wal, err);
        if (rc != 0 && rc != NR_EBUSY)
            return rc;
    }
    return wtu_drain(t, err);
}

static bool log_ok(const struct wal_recovery *r, uint64_t first, uint64_t last)
{
    if (r->n_entries != last - first + 1 || r->last_index != last)
        return false;
    for (uint32_t i = 0; i < r->n_entries; i++)
        if (r->entries[i].index != first + i || !wtu_data_ok(&r->entries[i]))
            return false;
    return true;
}

static void test_empty_and_simple(bool direct)
{
    const char *dir = strdup(wtu_tmpdir());
    struct wal_opts o;
    struct wtu t;
    struct nr_err err = {0};
    struct wal_stats st;

    wtu_opts(&o, dir);
    o.direct = direct;
    int rc = wtu_open(&t, &o, NULL, &err);
    UNIT_CHECK(rc == 0, "open empty (direct %d): %s", direct, err.msg);
    if (rc != 0)
        return;
    UNIT_CHECK(wal_recovered(t.wal)->n_entries == 0, "empty dir replays to no entries");
    wal_stats_get(t.wal, &st);
    UNIT_CHECK(st.spares_ready == 2, "2 spares ready, got %u", st.spares_ready);
    rc = put_range(&t, 1, 100, 1, 0, 7, &err);
    UNIT_CHECK(rc == 0, "append 1..100: %s", err.msg);
    UNIT_CHECK(t.durable.index == 100 && t.durable.term == 1,
               "durable up to 100/1, got %" PRIu64 "/%" PRIu64, t.durable.index, t.durable.term);
    wtu_close(&t);
    rc = wtu_open(&t, &o, NULL, &err);
    UNIT_CHECK(rc == 0, "reopen: %s", err.msg);
    if (rc == 0) {
        const struct wal_recovery *r = wal_recovered(t.wal);
        UNIT_CHECK(log_ok(r, 1, 100), "entries 1..100 back with their data (n=%u)",
                   r->n_entries);
        UNIT_CHECK(r->hard_state.term == 1 && r->hard_state.vote == 1 &&
                   r->hard_state.commit == 97, "hard state back (commit %" PRIu64 ")",
                   r->hard_state.commit);
        UNIT_CHECK(!r->is_torn, "no torn tail after a clean close");
        /* Appending goes on after a reopen. */
        rc = put_range(&t, 101, 120, 2, 100, 3, &err);
        UNIT_CHECK(rc == 0 && t.durable.index == 120, "append after reopen: %s", err.msg);
        wtu_close(&t);
        rc = wtu_open(&t, &o, NULL, &err);
        UNIT_CHECK(rc == 0 && log_ok(wal_recovered(t.wal), 1, 120), "1..120 after two opens");
        if (rc == 0)
            wtu_close(&t);
    }
    wtu_rmdir(dir);
    free((void *)dir);
}

static void test_truncate_and_install(void)
{
    const char *dir = strdup(wtu_tmpdir());
    struct wal_opts o;
    struct wtu t;
    struct nr_err err = {0};

    wtu_opts(&o, dir);
    if (!UNIT_CHECK(wtu_open(&t, &o, NULL, &err) == 0, "open: %s", err.msg))
        return;
    int rc = put_range(&t, 1, 50, 1, 64, 10, &err);
    rc = rc == 0 ? put_range(&t, 40, 45, 2, 64, 6, &err) : rc;
    UNIT_CHECK(rc == 0 && t.durable.index == 45 && t.durable.term == 2,
               "cut at 40 and rewritten at term 2: durable %" PRIu64 "/%" PRIu64 " %s",
               t.durable.index, t.durable.term, err.msg);
    wtu_close(&t);
    rc = wtu_open(&t, &o, NULL, &err);
    if (UNIT_CHECK(rc == 0, "reopen after cut: %s", err.msg)) {
        const struct wal_recovery *r = wal_recovered(t.wal);
        UNIT_CHECK(log_ok(r, 1, 45) && r->entries[38].term == 1 && r->entries[39].term == 2,
                   "replay honours the cut: 1..39 term 1, 40..45 term 2 (n=%u)", r->n_entries);
        struct raft_snap_meta s = {.index = 100, .term = 3};
        s.conf.n_voters = 3;
        s.conf.voters[0] = 1, s.conf.voters[1] = 2, s.conf.voters[2] = 3;
        struct raft_hard_state hs = {3, 0, 100};
        rc = wtu_append(&t, NULL, 0, &hs, &s, &err);
        rc = rc == 0 ? wtu_drain(&t, &err) : rc;
        UNIT_CHECK(rc == 0 && t.durable.index == 100 && t.durable.term == 3,
                   "an installed snapshot is durable at 100/3: %s", err.msg);
        rc = rc == 0 ? put_range(&t, 101, 110, 3, 10, 5, &err) : rc;
        wtu_close(&t);
        rc = wtu_open(&t, &o, NULL, &err);
        if (UNIT_CHECK(rc == 0, "reopen after install: %s", err.msg)) {
            r = wal_recovered(t.wal);
            UNIT_CHECK(r->snap.index == 100 && r->snap.term == 3 && r->snap.conf.n_voters == 3 &&
                       r->snap.conf.voters[2] == 3, "snapshot marker with its configuration");
            UNIT_CHECK(log_ok(r, 101, 110), "the log restarts after the snapshot (n=%u)",
                       r->n_entries);
            struct raft_boot boot;
            wal_boot_from(r, &boot);
            UNIT_CHECK(boot.applied_index == 100 && boot.n_entries == 10 &&
                       boot.hard_state.commit >= 100, "boot state filled");
            wtu_close(&t);
        }
    }
    wtu_rmdir(dir);
    free((void *)dir);
}

static uint32_t count_files(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.wal$'", dir);
    FILE *p = popen(cmd, "r");
    unsigned n = 0;
    if (p != NULL) {
        if (fscanf(p, "%u", &n) != 1)
            n = 0;
        pclose(p);
    }
    return n;
}

static void test_segments_and_compaction(void)
{
    const char *dir = strdup(wtu_tmpdir());
    struct wal_opts o;
    struct wtu t;
    struct nr_err err = {0};
    struct wal_stats st;

    wtu_opts(&o, dir);
    if (!UNIT_CHECK(wtu_open(&t, &o, NULL, &err) == 0, "open: %s", err.msg))
        return;
    int rc = put_range(&t, 1, 2000, 1, 200, 16, &err);
    wal_stats_get(t.wal, &st);
    UNIT_CHECK(rc == 0 && st.live_segments >= 6, "2000 x 200 B span %u segments: %s",
               st.live_segments, err.msg);
    uint32_t live_before = st.live_segments;
    struct raft_snap_meta s = {.index = 1500, .term = 1};
    rc = wal_compact(t.wal, &s, &err);
    rc = rc == 0 ? wtu_drain(&t, &err) : rc;
    rc = rc == 0 ? wal_prepare_segments(t.wal, &err) : rc;
    wal_stats_get(t.wal, &st);
    UNIT_CHECK(rc == 0 && st.live_segments < live_before && st.segments_recycled > 0,
               "compaction at 1500: %u -> %u live, %" PRIu64 " recycled: %s", live_before,
               st.live_segments, st.segments_recycled, err.msg);
    /* Recycled segments are kept up to twice the spare target (their reuse
     * spares a zero-fill), the rest removed. */
    UNIT_CHECK(count_files(dir) <= st.live_segments + 2 * o.spares,
               "dropped segments reused or removed (%u files)", count_files(dir));
    rc = put_range(&t, 2001, 2600, 1, 200, 16, &err); /* reuses recycled files */
    UNIT_CHECK(rc == 0, "appending onto recycled segments: %s", err.msg);
    wtu_close(&t);
    rc = wtu_open(&t, &o, NULL, &err);
    if (UNIT_CHECK(rc == 0, "reopen after compaction: %s", err.msg)) {
        const struct wal_recovery *r = wal_recovered(t.wal);
        UNIT_CHECK(r->snap.index == 1500, "snapshot 1500 found, got %" PRIu64, r->snap.index);
        UNIT_CHECK(log_ok(r, 1501, 2600), "entries 1501..2600 (n=%u, last %" PRIu64 ")",
                   r->n_entries, r->last_index);
        wtu_close(&t);
    }
    wtu_rmdir(dir);
    free((void *)dir);
}

static void test_fatal(bool on_sync)
{
    const char *dir = strdup(wtu_tmpdir());
    struct storage_faults f = {0};
    struct wal_opts o;
    struct wtu t;
    struct nr_err err = {0}, err2 = {0};

    wtu_opts(&o, dir);
    if (!UNIT_CHECK(wtu_open(&t, &o, &f, &err) == 0, "open: %s", err.msg))
        return;
    int rc = put_range(&t, 1, 10, 1, 32, 5, &err);
    UNIT_CHECK(rc == 0 && t.durable.index == 10, "before the fault: %s", err.msg);
    if (on_sync) {
        f.fail_sync_nth = f.n_syncs + 1;
        f.sync_errno = EIO;
    } else {
        f.fail_write_nth = f.n_writes + 1;
        f.write_errno = ENOSPC;
    }
    rc = put_range(&t, 11, 20, 1, 32, 5, &err);
    UNIT_CHECK(rc < 0, "a failed %s fails the WAL (rc %d: %s)", on_sync ? "sync" : "write", rc,
               err.msg);
    UNIT_CHECK(t.durable.index == 10, "nothing past 10 reported durable, got %" PRIu64,
               t.durable.index);
    struct raft_entry e = {1, 21, 0, 0, NULL};
    int rc2 = wal_append(t.wal, &e, 1, NULL, NULL, &err2);
    UNIT_CHECK(rc2 == rc && strcmp(err.msg, err2.msg) == 0,
               "every later call returns the same error: %s", err2.msg);
    rc2 = wal_submit(t.wal, &err2);
    UNIT_CHECK(rc2 == rc, "submit too");
    wtu_close(&t);
    rc = wtu_open(&t, &o, NULL, &err);
    if (UNIT_CHECK(rc == 0, "reopen after the fault: %s", err.msg)) {
        const struct wal_recovery *r = wal_recovered(t.wal);
        UNIT_CHECK(r->last_index >= 10, "what was durable stays (last %" PRIu64 ")",
                   r->last_index);
        wtu_close(&t);
    }
    wtu_rmdir(dir);
    free((void *)dir);
}

static void test_torn_by_writer(void)
{
    const char *dir = strdup(wtu_tmpdir());
    struct storage_faults f = {0};
    struct wal_opts o;
    struct wtu t;
    struct nr_err err = {0};

    wtu_opts(&o, dir);
    if (!UNIT_CHECK(wtu_open(&t, &o, &f, &err) == 0, "open: %s", err.msg))
        return;
    int rc = put_range(&t, 1, 30, 1, 100, 5, &err);
    f.tear_write_nth = f.n_writes + 1;
    f.tear_at_byte = 700;
    rc = put_range(&t, 31, 40, 1, 100, 10, &err);
    UNIT_CHECK(rc < 0 && t.durable.index == 30, "a torn write is never durable (%s)", err.msg);
    wtu_close(&t);
    rc = wtu_open(&t, &o, NULL, &err);
    if (UNIT_CHECK(rc == 0, "reopen after a torn write: %s", err.msg)) {
        const struct wal_recovery *r = wal_recovered(t.wal);
        UNIT_CHECK(log_ok(r, 1, 30), "1..30 back, torn batch cut (n=%u)", r->n_entries);
        UNIT_CHECK(r->is_torn && strstr(r->note, "torn") != NULL && strstr(r->note, "offset"),
                   "torn tail logged with its offset: %s", r->note);
        rc = put_range(&t, 31, 35, 1, 100, 5, &err);
        wtu_close(&t);
        rc = rc == 0 ? wtu_open(&t, &o, NULL, &err) : rc;
        UNIT_CHECK(rc == 0 && log_ok(wal_recovered(t.wal), 1, 35) &&
                   !wal_recovered(t.wal)->is_torn, "writing over the cut tail: %s", err.msg);
        if (rc == 0)
            wtu_close(&t);
    }
    wtu_rmdir(dir);
    free((void *)dir);
}

/* Reopening with another segment size: old segments are replayed as they
 * are, appending starts a new segment, old spares are dropped. */
static void test_resize(void)
{
    const char *dir = strdup(wtu_tmpdir());
    struct wal_opts o;
    struct wtu t;
    struct nr_err err = {0};

    wtu_opts(&o, dir);
    if (!UNIT_CHECK(wtu_open(&t, &o, NULL, &err) == 0, "open: %s", err.msg))
        return;
    int rc = put_range(&t, 1, 300, 1, 200, 16, &err);
    wtu_close(&t);
    o.segment_bytes = 128u << 10;
    rc = rc == 0 ? wtu_open(&t, &o, NULL, &err) : rc;
    if (UNIT_CHECK(rc == 0, "reopen with 128 KiB segments: %s", err.msg)) {
        rc = put_range(&t, 301, 900, 1, 200, 16, &err);
        UNIT_CHECK(rc == 0, "append in 128 KiB segments: %s", err.msg);
        wtu_close(&t);
        rc = wtu_open(&t, &o, NULL, &err);
        UNIT_CHECK(rc == 0 && log_ok(wal_recovered(t.wal), 1, 900),
                   "1..900 across both sizes: %s", err.msg);
        if (rc == 0)
            wtu_close(&t);
    }
    wtu_rmdir(dir);
    free((void *)dir);
}

struct prep_thread {
    struct wal *wal;
    atomic_bool stop;
    int rc;
    struct nr_err err;
};

static void *prep_loop(void *arg)
{
    struct prep_thread *p = arg;

    while (!atomic_load(&p->stop) && p->rc == 0) {
        p->rc = wal_prepare_segments(p->wal, &p->err);
        sched_yield();
    }
    return NULL;
}

/* The node's shape: the poller appends and compacts while another thread
 * keeps spares ready and recycles; the rings are the only shared state. */
static void test_prepare_thread(void)
{
    const char *dir = strdup(wtu_tmpdir());
    struct wal_opts o;
    struct wtu t;
    struct nr_err err = {0};
    struct prep_thread p = {0};
    pthread_t th;
    static uint8_t buf[16][300];
    struct raft_entry e[16];
    struct wal_stats st;

    wtu_opts(&o, dir);
    if (!UNIT_CHECK(wtu_open(&t, &o, NULL, &err) == 0, "open: %s", err.msg))
        return;
    p.wal = t.wal;
    pthread_create(&th, NULL, prep_loop, &p);
    int rc = 0;
    uint64_t busy = 0;
    for (uint64_t i = 1; i <= 6000 && rc == 0;) {
        uint32_t k = 0;
        for (; k < 16; k++) {
            wtu_fill(buf[k], 300, i + k, 1);
            e[k] = (struct raft_entry){1, i + k, 0, 300, buf[k]};
        }
        struct raft_hard_state hs = {1, 1, i + k - 1};
        rc = wal_append(t.wal, e, k, &hs, NULL, &err);
        if (rc == NR_EBUSY) { /* the preparing thread owns the spares now */
            busy++;
            rc = wtu_drain(&t, &err);
            continue;
        }
        i += k;
        if (rc == 0 && i % 1024 < 16) {
            struct raft_snap_meta s = {.index = i - 600, .term = 1};
            rc = wal_compact(t.wal, &s, &err);
            rc = rc == NR_EBUSY ? 0 : rc;
        }
        if (rc == 0)
            rc = wal_submit(t.wal, &err);
        rc = rc == NR_EBUSY ? 0 : rc;
        struct wal_durable d;
        if (rc == 0 && wal_reap(t.wal, &d, &err) < 0)
            rc = -1;
    }
    rc = rc == 0 ? wtu_drain(&t, &err) : rc;
    atomic_store(&p.stop, true);
    pthread_join(th, NULL);
    wal_stats_get(t.wal, &st);
    UNIT_CHECK(rc == 0 && p.rc == 0, "6000 entries with a preparing thread: %s %s", err.msg,
               p.err.msg);
    UNIT_CHECK(st.segments_recycled > 0 && st.live_segments < 14,
               "segments recycled meanwhile (%" PRIu64 ", %u live, %" PRIu64 " busy)",
               st.segments_recycled, st.live_segments, busy);
    wtu_close(&t);
    rc = wtu_open(&t, &o, NULL, &err);
    if (UNIT_CHECK(rc == 0, "reopen: %s", err.msg)) {
        const struct wal_recovery *r = wal_recovered(t.wal);
        UNIT_CHECK(r->last_index == 6000 && r->snap.index > 0 &&
                   log_ok(r, r->snap.index + 1, 6000), "log after the last snapshot intact "
                   "(snap %" PRIu64 ", %u entries)", r->snap.index, r->n_entries);
        wtu_close(&t);
    }
    if (rc != 0 && getenv("WAL_TEST_KEEP") != NULL)
        fprintf(stderr, "kept %s\n", dir);
    else
        wtu_rmdir(dir);
    free((void *)dir);
}

int main(void)
{
    (void)g_data;
    test_empty_and_simple(false);
    test_empty_and_simple(true); /* O_DIRECT: 512-byte aligned batches */
    test_truncate_and_install();
    test_segments_and_compaction();
    test_fatal(true);
    test_fatal(false);
    test_torn_by_writer();
    test_resize();
    test_prepare_thread();
    return unit_finish();
}
