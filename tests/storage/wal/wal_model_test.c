/* wal_model_test.c - the model check: random sequences of appends,
 * hard-state updates, truncations, snapshot installs and compactions on the
 * real WAL and writer, checked against an in-memory model. Each round ends
 * in a crash that tears the last write, either through the fault plan (the
 * writer writes part of it and fails) or on the file after a clean close
 * (a suffix of the last batch zeroed, or a bit flipped in it). Recovery
 * must give the state after some batch at or after the last one reported
 * durable: nothing acknowledged lost, nothing torn half-applied.
 * Failures print the seed: storage-wal-model SEED replays one. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_check.h"
#include "wal_format.h"
#include "wal_test_util.h"

#define MAX_LOG 6000
#define MAX_STATES 2048

struct state {
    uint64_t base, last;          /* entries base+1..last */
    uint64_t snap_index, snap_term;
    struct raft_hard_state hs;
    uint32_t terms_at;            /* offset into g_terms of base+1's term */
};

static uint64_t g_terms[MAX_STATES * 64 + MAX_LOG];
static uint32_t g_n_terms;
static struct state g_states[MAX_STATES]; /* after each submitted batch */
static uint32_t g_n_states;

static struct {
    uint64_t base, last, snap_index, snap_term;
    struct raft_hard_state hs;
    uint64_t term[MAX_LOG + 1]; /* by index - base */
} m;

static uint64_t term_at(uint64_t index)
{
    return index == m.base ? m.snap_term : m.term[index - m.base];
}

/* Records the model as it stands after the batch just submitted. */
static bool save_state(void)
{
    uint64_t n = m.last - m.base;
    if (g_n_states == MAX_STATES || g_n_terms + n > sizeof(g_terms) / sizeof(g_terms[0]))
        return false;
    struct state *s = &g_states[g_n_states++];
    *s = (struct state){m.base, m.last, m.snap_index, m.snap_term, m.hs, g_n_terms};
    for (uint64_t i = 1; i <= n; i++)
        g_terms[g_n_terms++] = m.term[i];
    return true;
}

static bool state_equal(const struct state *s, const struct wal_recovery *r)
{
    if (r->last_index != s->last || r->n_entries != s->last - s->base ||
        r->snap.index != s->snap_index || r->snap.term != s->snap_term ||
        memcmp(&r->hard_state, &s->hs, sizeof(s->hs)) != 0)
        return false;
    for (uint32_t i = 0; i < r->n_entries; i++) {
        const struct raft_entry *e = &r->entries[i];
        if (e->index != s->base + 1 + i || e->term != g_terms[s->terms_at + i] ||
            !wtu_data_ok(e))
            return false;
    }
    return true;
}

static uint64_t g_rng;

static uint64_t below(uint64_t n)
{
    return n == 0 ? 0 : unit_below(&g_rng, n);
}

/* One random step's output, applied to the model and appended. */
static int random_step(struct wtu *t, struct nr_err *err)
{
    static uint8_t bufs[8][600];
    struct raft_entry e[8];
    struct raft_snap_meta snap = {0};
    bool has_snap = false, has_hs = below(3) != 0;
    uint32_t n = 0, kind = (uint32_t)below(20);
    uint64_t lo = (m.hs.commit > m.base ? m.hs.commit : m.base) + 1;

    if (kind == 0 && m.last + 50 < MAX_LOG) { /* install a snapshot beyond the log */
        snap.index = m.last + 1 + below(20);
        snap.term = m.hs.term + 1;
        snap.conf.n_voters = 1;
        snap.conf.voters[0] = 1;
        has_snap = has_hs = true;
    } else if (kind == 1 && m.hs.commit > m.base) { /* compaction */
        snap.index = m.base + 1 + below(m.hs.commit - m.base);
        snap.term = term_at(snap.index);
        int rc = wal_compact(t->wal, &snap, err);
        if (rc == 0) {
            m.snap_index = snap.index, m.snap_term = snap.term;
            memmove(&m.term[1], &m.term[1 + snap.index - m.base],
                    (m.last - snap.index) * sizeof(m.term[0]));
            m.base = snap.index;
        }
        return rc == NR_EBUSY ? 0 : rc;
    }
    uint64_t term = has_snap ? snap.term : m.hs.term;
    uint64_t first = has_snap ? snap.index + 1 : m.last + 1;
    if (!has_snap && kind == 2 && m.last >= lo) { /* cut a conflicting suffix */
        first = lo + below(m.last - lo + 1);
        term = m.hs.term + 1;
        has_hs = true;
    }
    if (term == 0)
        term = 1, has_hs = true;
    n = first + 8 < MAX_LOG ? (uint32_t)below(9) : 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t)(below(4) == 0 ? below(600) : below(40));
        wtu_fill(bufs[i], len, first + i, term);
        e[i] = (struct raft_entry){term, first + i, 0, len, bufs[i]};
    }
    uint64_t new_last = n > 0 ? first + n - 1 : (has_snap ? snap.index : m.last);
    struct raft_hard_state hs = {term, below(2), m.hs.commit};
    if (has_snap)
        hs.commit = snap.index;
    if (below(2) == 0 && new_last > hs.commit)
        hs.commit += below(new_last - hs.commit + 1);
    int rc = wal_append(t->wal, e, n, has_hs ? &hs : NULL, has_snap ? &snap : NULL, err);
    if (rc != 0)
        return rc;
    if (has_snap) {
        m.base = m.last = snap.index;
        m.snap_index = snap.index, m.snap_term = snap.term;
    }
    for (uint32_t i = 0; i < n; i++)
        m.term[first + i - m.base] = term;
    if (n > 0)
        m.last = first + n - 1;
    if (has_hs)
        m.hs = hs;
    return 0;
}

struct round {
    struct wtu t;
    uint32_t n_done;     /* batches completed (reported durable) */
    uint64_t n_issued;   /* batches written */
    bool is_fatal;
};

/* Reaps completions through wal_complete (the shared-writer path). */
static int reap(struct round *rd, bool wait, struct nr_err *err)
{
    struct wal_done done[16];
    struct wal_durable d;

    if (wait && wal_writer_in_flight(rd->t.writer) > 0) {
        int rc = wal_writer_wait(rd->t.writer, err);
        if (rc != 0)
            return rc;
    }
    uint32_t n = wal_writer_reap(rd->t.writer, done, 16);
    for (uint32_t i = 0; i < n; i++) {
        NR_ASSERT(wal_cookie_group(done[i].cookie) == WTU_GROUP);
        int rc = wal_complete(rd->t.wal, &done[i], err);
        if (rc != 0)
            return rc;
        rd->n_done++;
    }
    wal_durable_take(rd->t.wal, &d);
    return 0;
}

static int submit(struct round *rd, struct nr_err *err)
{
    struct wal_stats st;
    int rc = wal_submit(rd->t.wal, err);

    wal_stats_get(rd->t.wal, &st);
    if (st.batches_written > rd->n_issued) {
        rd->n_issued = st.batches_written;
        if (!save_state())
            return nr_errf(err, NR_ENOMEM, "model: out of state slots");
    }
    return rc;
}

static int drain(struct round *rd, struct nr_err *err)
{
    for (int i = 0; i < 64; i++) {
        int rc = submit(rd, err);
        if (rc != 0 && rc != NR_EBUSY)
            return rc;
        if (rc == 0 && wal_writer_in_flight(rd->t.writer) == 0)
            return wal_prepare_segments(rd->t.wal, err);
        rc = reap(rd, true, err);
        if (rc != 0)
            return rc;
    }
    return NR_EBUSY;
}

static int run_steps(struct round *rd, uint32_t n_steps, struct nr_err *err)
{
    for (uint32_t s = 0; s < n_steps; s++) {
        int rc = random_step(&rd->t, err);
        if (rc == NR_EBUSY)
            rc = drain(rd, err);
        if (rc == 0 && below(3) == 0)
            rc = submit(rd, err);
        if (rc == NR_EBUSY)
            rc = 0;
        if (rc == 0 && below(2) == 0)
            rc = reap(rd, false, err);
        if (rc == 0 && below(10) == 0)
            rc = wal_prepare_segments(rd->t.wal, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The offset of the last batch in the file holding data up to end_off. */
static uint64_t last_batch(const char *path, uint64_t end_off)
{
    uint8_t hdr[WAL_REC_HDR + WAL_BATCH_PAYLOAD];
    FILE *f = fopen(path, "rb");
    uint64_t off = WAL_BLOCK, last = 0;

    while (f != NULL && off < end_off) {
        if (fseek(f, (long)off, SEEK_SET) != 0 || fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr))
            break;
        last = off;
        off += nr_get_le32(hdr + WAL_REC_HDR + WAL_BATCH_OFF_LEN);
    }
    if (f != NULL)
        fclose(f);
    return last;
}

/* Damages the last batch on disk: a zeroed suffix or a flipped bit. */
static void tear_file(const struct wal_recovery *r)
{
    const struct wal_seg_info *si = &r->segs[r->n_used - 1];
    uint64_t b = last_batch(si->path, si->end_off);
    uint64_t len = si->end_off - b;

    if (b == 0 || len == 0)
        return;
    uint64_t at = b + below(len);
    if (below(2) == 0)
        wtu_poke(si->path, at, 0, si->end_off - at);
    else
        wtu_poke(si->path, at, -1, 1);
}

static void model_from(const struct wal_recovery *r)
{
    m.base = r->last_index - r->n_entries;
    m.last = r->last_index;
    m.snap_index = r->snap.index;
    m.snap_term = r->snap.term;
    m.hs = r->hard_state;
    for (uint32_t i = 0; i < r->n_entries; i++)
        m.term[i + 1] = r->entries[i].term;
    g_n_states = 0;
    g_n_terms = 0;
    save_state();
}

static bool run_seed(uint64_t seed)
{
    struct round rd;
    struct storage_faults f = {0};
    struct wal_opts o;
    struct nr_err err = {0};
    char dir[128];
    bool ok = true;

    g_rng = seed;
    memset(&m, 0, sizeof(m));
    snprintf(dir, sizeof(dir), "%s", wtu_tmpdir());
    wtu_opts(&o, dir);
    o.batch_bytes_max = 4096 * (1 + (uint32_t)below(3));
    o.in_flight_max = 1 + (uint32_t)below(3);
    g_n_states = g_n_terms = 0;
    save_state();
    for (int round = 0; round < 4 && ok; round++) {
        memset(&rd, 0, sizeof(rd));
        memset(&f, 0, sizeof(f));
        int rc = wtu_open(&rd.t, &o, &f, &err);
        if (!UNIT_CHECK(rc == 0, "seed %" PRIu64 " round %d: open: %s", seed, round, err.msg))
            break;
        struct wal_stats st;
        wal_stats_get(rd.t.wal, &st);
        rd.n_issued = st.batches_written;
        uint32_t mode = (uint32_t)below(3); /* 0: writer tear, 1: file tear, 2: none */
        rc = run_steps(&rd, 20 + (uint32_t)below(60), &err);
        if (rc == 0 && mode == 0) {
            f.tear_write_nth = f.n_writes + 1 + below(2);
            f.tear_at_byte = (uint32_t)below(3000);
            rc = run_steps(&rd, 10 + (uint32_t)below(20), &err);
            rc = rc == 0 ? drain(&rd, &err) : rc;
        } else if (rc == 0) {
            rc = drain(&rd, &err);
            /* A file tear stands for a last batch that was never reported
             * durable: that batch must not be one whose completion already
             * acted (compaction recycles segments), so it holds only a
             * hard state. */
            if (rc == 0 && mode == 1)
                rc = wal_append(rd.t.wal, NULL, 0, &m.hs, NULL, &err);
            rc = rc == 0 ? drain(&rd, &err) : rc;
        }
        if (mode != 0 && !UNIT_CHECK(rc == 0, "seed %" PRIu64 ": run: %s", seed, err.msg))
            ok = false;
        uint32_t j_min = mode == 0 ? rd.n_done : g_n_states - 1;
        uint32_t n_issued_round = g_n_states - 1;
        wtu_close(&rd.t);
        struct wal_replay_opts ro = {dir, WTU_CLUSTER, WTU_MEMBER, WTU_GROUP};
        struct wal_recovery r;
        if (mode == 1 && n_issued_round > 0 && wal_replay(&ro, &r, &err) == 0) {
            tear_file(&r);
            wal_recovery_free(&r);
            j_min = g_n_states - 2;
        }
        rc = wal_replay(&ro, &r, &err);
        if (!UNIT_CHECK(rc == 0, "seed %" PRIu64 " round %d mode %u: replay: %s", seed, round,
                        mode, err.msg)) {
            ok = false;
            break;
        }
        uint32_t j = j_min;
        while (j < g_n_states && !state_equal(&g_states[j], &r))
            j++;
        ok = UNIT_CHECK(j < g_n_states, "seed %" PRIu64 " round %d mode %u: recovered (last %"
                        PRIu64 ", snap %" PRIu64 ", commit %" PRIu64 ") is no state from batch "
                        "%u of %u", seed, round, mode, r.last_index, r.snap.index,
                        r.hard_state.commit, j_min, g_n_states - 1);
        model_from(&r);
        wal_recovery_free(&r);
    }
    if (ok || getenv("WAL_MODEL_KEEP") == NULL)
        wtu_rmdir(dir);
    else
        fprintf(stderr, "kept %s\n", dir);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        run_seed(strtoull(argv[1], NULL, 10));
        return unit_finish();
    }
    uint32_t n_seeds = getenv("WAL_MODEL_SEEDS") ? (uint32_t)atoi(getenv("WAL_MODEL_SEEDS")) : 40;
    for (uint64_t seed = 1; seed <= n_seeds; seed++)
        if (!run_seed(seed))
            fprintf(stderr, "wal-model: seed %" PRIu64 " failed; replay with: "
                    "storage-wal-model %" PRIu64 "\n", seed, seed);
    return unit_finish();
}
