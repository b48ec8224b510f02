/* wal.c - the poller's side of the WAL: encoding a step's output into the
 * current batch, issuing it as one write, turning completions into
 * "durable up to (index, term)", compaction. Nothing here blocks or
 * allocates; wal_open/wal_close (at the end) run before and after the
 * poller. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal_internal.h"

/* ---- the model of the live log (mirrors wal_replay.c) ----------------- */

static uint64_t model_term_at(const struct wal_model *m, uint64_t index)
{
    if (index == m->base)
        return m->has_snap && m->snap.index == index ? m->snap.term : 0;
    if (index < m->base || index > m->last_index)
        return 0;
    for (uint32_t i = m->n_runs; i > 0; i--)
        if (m->runs[i - 1].start <= index)
            return m->runs[i - 1].term;
    return 0; /* older than the runs kept: treated as not held */
}

static void model_entry(struct wal_model *m, uint64_t index, uint64_t term)
{
    while (m->n_runs > 0 && m->runs[m->n_runs - 1].start >= index)
        m->n_runs--;
    if (m->n_runs == 0 || m->runs[m->n_runs - 1].term != term) {
        if (m->n_runs == WAL_TERM_RUNS_MAX) { /* forget the oldest run */
            memmove(m->runs, m->runs + 1, (WAL_TERM_RUNS_MAX - 1) * sizeof(m->runs[0]));
            m->n_runs--;
        }
        m->runs[m->n_runs].start = index;
        m->runs[m->n_runs].term = term;
        m->n_runs++;
    }
    m->last_index = index;
    m->last_term = term;
}

static void model_snap(struct wal_model *m, const struct raft_snap_meta *s)
{
    if (m->has_snap && s->index < m->snap.index)
        return;
    if (s->index > m->base) {
        bool is_kept = s->index <= m->last_index && model_term_at(m, s->index) == s->term;
        if (is_kept) {
            uint32_t drop = 0;
            while (drop + 1 < m->n_runs && m->runs[drop + 1].start <= s->index + 1)
                drop++;
            memmove(m->runs, m->runs + drop, (m->n_runs - drop) * sizeof(m->runs[0]));
            m->n_runs -= drop;
            if (m->n_runs > 0 && m->runs[0].start <= s->index)
                m->runs[0].start = s->index + 1;
            if (m->last_index == s->index)
                m->n_runs = 0;
        } else {
            m->n_runs = 0;
            m->last_index = s->index;
            m->last_term = s->term;
        }
        m->base = s->index;
    }
    m->snap = *s;
    m->has_snap = true;
    if (m->last_index == m->base)
        m->last_term = s->term;
}

/* Checks one output against the model before anything is encoded. */
static int check_output(const struct wal *w, const struct raft_entry *e, uint32_t n,
                        const struct raft_snap_meta *snap, struct nr_err *err)
{
    uint64_t base = w->m.base, last = w->m.last_index;

    if (snap != NULL && snap->index > base) {
        base = snap->index;
        if (snap->index > last || model_term_at(&w->m, snap->index) != snap->term)
            last = snap->index;
    }
    if (snap != NULL && (snap->index > RAFT_INDEX_MAX || snap->term > RAFT_TERM_MAX))
        return nr_errf(err, NR_EINVAL, "wal group %" PRIu32 ": snapshot %" PRIu64 " term %"
                       PRIu64 " beyond the limits", w->o.group_id, snap->index, snap->term);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t want_lo = i == 0 ? base + 1 : e[i - 1].index + 1;
        uint64_t want_hi = i == 0 ? last + 1 : e[i - 1].index + 1;
        if (e[i].index < want_lo || e[i].index > want_hi || e[i].index > RAFT_INDEX_MAX ||
            e[i].term == 0 || e[i].term > RAFT_TERM_MAX ||
            (i > 0 && e[i].term < e[i - 1].term))
            return nr_errf(err, NR_EINVAL, "wal group %" PRIu32 ": entry %" PRIu64 " term %"
                           PRIu64 " does not fit the log (%" PRIu64 "..%" PRIu64 " held)",
                           w->o.group_id, e[i].index, e[i].term, base + 1, last);
    }
    return 0;
}

/* ---- encoding ------------------------------------------------------- */

static struct wal_batch *filling(struct wal *w)
{
    return &w->batches[(w->head + w->n_in_flight) % w->n_batches];
}

static void put_snap(uint8_t *q, const struct raft_snap_meta *s)
{
    const struct raft_conf *c = &s->conf;
    uint8_t *id = q + WAL_SNAP_OFF_IDS;

    memset(q, 0, WAL_SNAP_PAYLOAD);
    nr_put_le64(q + WAL_SNAP_OFF_INDEX, s->index);
    nr_put_le64(q + WAL_SNAP_OFF_TERM, s->term);
    nr_put_le32(q + WAL_SNAP_OFF_COUNTS, c->n_voters);
    nr_put_le32(q + WAL_SNAP_OFF_COUNTS + 4, c->n_voters_outgoing);
    nr_put_le32(q + WAL_SNAP_OFF_COUNTS + 8, c->n_learners);
    nr_put_le32(q + WAL_SNAP_OFF_COUNTS + 12, c->n_learners_next);
    nr_put_le32(q + WAL_SNAP_OFF_COUNTS + 16, c->auto_leave ? 1 : 0);
    for (uint32_t i = 0; i < RAFT_VOTERS_MAX; i++, id += 8)
        nr_put_le64(id, c->voters[i]);
    for (uint32_t i = 0; i < RAFT_VOTERS_MAX; i++, id += 8)
        nr_put_le64(id, c->voters_outgoing[i]);
    for (uint32_t i = 0; i < RAFT_LEARNERS_MAX; i++, id += 8)
        nr_put_le64(id, c->learners[i]);
    for (uint32_t i = 0; i < RAFT_LEARNERS_MAX; i++, id += 8)
        nr_put_le64(id, c->learners_next[i]);
}

static uint32_t seg_tag(const struct wal *w)
{
    return (uint32_t)w->live[w->n_live - 1].seq;
}

static void enc_snap(struct wal *w, struct wal_batch *b, const struct raft_snap_meta *s)
{
    put_snap(b->buf + b->len + WAL_REC_HDR, s);
    b->len += wal_rec_seal(b->buf + b->len, WAL_REC_SNAP, WAL_SNAP_PAYLOAD, seg_tag(w));
    b->n_rec++;
    model_snap(&w->m, s);
}

static void enc_hard(struct wal *w, struct wal_batch *b, const struct raft_hard_state *hs)
{
    uint8_t *q = b->buf + b->len + WAL_REC_HDR;

    nr_put_le64(q + WAL_HARD_OFF_TERM, hs->term);
    nr_put_le64(q + WAL_HARD_OFF_VOTE, hs->vote);
    nr_put_le64(q + WAL_HARD_OFF_COMMIT, hs->commit);
    b->len += wal_rec_seal(b->buf + b->len, WAL_REC_HARD, WAL_HARD_PAYLOAD, seg_tag(w));
    b->n_rec++;
    w->m.hs = *hs;
    w->m.has_hs = true;
}

static void enc_entry(struct wal *w, struct wal_batch *b, const struct raft_entry *e)
{
    uint8_t *q = b->buf + b->len + WAL_REC_HDR;

    nr_put_le64(q + WAL_ENTRY_OFF_TERM, e->term);
    nr_put_le64(q + WAL_ENTRY_OFF_INDEX, e->index);
    nr_put_le32(q + WAL_ENTRY_OFF_GROUP, w->o.group_id);
    nr_put_le32(q + WAL_ENTRY_OFF_TYPE, e->type);
    b->len += wal_rec_seal_copy(b->buf + b->len, WAL_REC_ENTRY, WAL_ENTRY_HDR, e->data, e->len,
                                seg_tag(w));
    b->n_rec++;
    model_entry(&w->m, e->index, e->term);
}

/* Starts the next segment with a spare: header block, then the batch
 * record, then the current snapshot marker and hard state so that the
 * segment stands alone once earlier ones are compacted away. */
static int segment_cut(struct wal *w, struct wal_batch *b, struct nr_err *err)
{
    struct wal_ring_item it;
    uint32_t slot;

    if (w->n_in_flight > 0 || w->n_live == w->cap_live)
        return nr_errf(err, NR_EBUSY, "wal group %" PRIu32 ": segment full and %s; retry after "
                       "reaping", w->o.group_id,
                       w->n_live == w->cap_live ? "too many live segments (compact)"
                                                : "writes in flight");
    if (wal_ring_count(&w->spares) == 0)
        return nr_errf(err, NR_EBUSY, "wal group %" PRIu32 ": no spare segment ready "
                       "(wal_prepare_segments has not run)", w->o.group_id);
    int rc = wal_writer_add_file(w->o.writer, w->spares.items[atomic_load_explicit(
                                     &w->spares.head, memory_order_relaxed) % WAL_RING_CAP].fd,
                                 &slot, err);
    if (rc != 0)
        return rc;
    wal_ring_pop(&w->spares, &it);
    if (w->active_fd >= 0) {
        wal_writer_remove_file(w->o.writer, w->active_slot);
        close(w->active_fd);
    }
    uint64_t seq = w->n_live > 0 ? w->live[w->n_live - 1].seq + 1 : 1;
    w->live[w->n_live++] = (struct wal_live){seq, w->m.last_index + 1, it.file_no};
    struct wal_ring_item named = {it.file_no, seq, w->m.last_index + 1, -1};
    wal_ring_push(&w->named, &named); /* full: it keeps its spare name */
    w->active_fd = it.fd;
    w->active_slot = slot;
    w->write_off = 0;
    w->durable_off = 0;
    w->next_batch = 1;
    w->stats.segments_cut++;
    struct wal_seg_hdr h = {WAL_FORMAT_VERSION, w->o.group_id, w->o.cluster_id,
                            w->o.member_id, seq, w->m.last_index + 1, w->o.segment_bytes};
    wal_seg_hdr_encode(b->buf, &h);
    b->seg_off = 0;
    b->hdr_off = WAL_BLOCK;
    b->len = WAL_BLOCK + (uint32_t)wal_rec_size(WAL_BATCH_PAYLOAD);
    if (w->m.has_snap)
        enc_snap(w, b, &w->m.snap);
    if (w->m.has_hs)
        enc_hard(w, b, &w->m.hs);
    return 0;
}

/* Makes room for need more record bytes in the current batch: a fresh
 * batch in the active segment, or in the next segment. */
static int batch_room(struct wal *w, uint64_t need, struct nr_err *err)
{
    struct wal_batch *b = filling(w);
    uint64_t head = wal_rec_size(WAL_BATCH_PAYLOAD);
    uint64_t head_new = WAL_BLOCK + head + wal_rec_size(WAL_SNAP_PAYLOAD) +
                        wal_rec_size(WAL_HARD_PAYLOAD);

    if (head_new + need > w->buf_cap)
        return nr_errf(err, NR_EINVAL, "wal group %" PRIu32 ": one output of %" PRIu64 " bytes "
                       "exceeds a batch (batch_bytes_max %" PRIu32 ")", w->o.group_id, need,
                       w->o.batch_bytes_max);
    if (b->len > 0) {
        if (b->len + need > w->buf_cap ||
            b->seg_off + wal_round_block(b->len + need) > w->o.segment_bytes)
            return nr_errf(err, NR_EBUSY, "wal group %" PRIu32 ": batch full at %" PRIu32
                           " bytes; submit it first", w->o.group_id, b->len);
        return 0;
    }
    b->n_rec = 0;
    b->compact_index = 0;
    if (w->active_fd >= 0 && w->write_off + wal_round_block(head + need) <= w->o.segment_bytes) {
        b->seg_off = w->write_off;
        b->hdr_off = 0;
        b->len = (uint32_t)head;
        return 0;
    }
    return segment_cut(w, b, err);
}

static uint64_t output_bytes(const struct raft_entry *e, uint32_t n,
                             const struct raft_hard_state *hs, const struct raft_snap_meta *snap)
{
    uint64_t need = 0;

    for (uint32_t i = 0; i < n; i++)
        need += wal_rec_size((uint64_t)WAL_ENTRY_HDR + e[i].len);
    if (hs != NULL)
        need += wal_rec_size(WAL_HARD_PAYLOAD);
    if (snap != NULL)
        need += wal_rec_size(WAL_SNAP_PAYLOAD);
    return need;
}

int wal_fail(struct wal *w, const struct nr_err *err)
{
    if (!w->is_fatal) {
        w->is_fatal = true;
        w->fatal = *err;
        if (w->fatal.code == 0)
            w->fatal.code = NR_EREFUSED;
    }
    return w->fatal.code;
}

static int fatal_copy(const struct wal *w, struct nr_err *err)
{
    if (err != NULL)
        *err = w->fatal;
    return w->fatal.code;
}

int wal_append(struct wal *w, const struct raft_entry *entries, uint32_t n,
               const struct raft_hard_state *hs, const struct raft_snap_meta *snap,
               struct nr_err *err)
{
    if (w->is_fatal)
        return fatal_copy(w, err);
    if (n == 0 && hs == NULL && snap == NULL)
        return 0;
    int rc = check_output(w, entries, n, snap, err);
    if (rc == 0)
        rc = batch_room(w, output_bytes(entries, n, hs, snap), err);
    if (rc != 0) {
        w->stats.busy_refusals += rc == NR_EBUSY;
        return rc;
    }
    struct wal_batch *b = filling(w);
    if (snap != NULL)
        enc_snap(w, b, snap);
    for (uint32_t i = 0; i < n; i++)
        enc_entry(w, b, &entries[i]);
    if (hs != NULL)
        enc_hard(w, b, hs);
    NR_ASSERT(b->len <= w->buf_cap);
    b->last_index = w->m.last_index;
    b->last_term = w->m.last_term;
    return 0;
}

int wal_compact(struct wal *w, const struct raft_snap_meta *snap, struct nr_err *err)
{
    int rc = wal_append(w, NULL, 0, NULL, snap, err);

    if (rc == 0 && snap->index > filling(w)->compact_index)
        filling(w)->compact_index = snap->index;
    return rc;
}

/* Seals the batch record: number, durable offset, length, record count. */
static void batch_seal(struct wal *w, struct wal_batch *b)
{
    uint32_t blen = (uint32_t)wal_round_block(b->len - b->hdr_off);
    uint8_t *p = b->buf + b->hdr_off;
    uint8_t *q = p + WAL_REC_HDR;

    memset(b->buf + b->len, 0, b->hdr_off + blen - b->len);
    nr_put_le64(q + WAL_BATCH_OFF_SEQ, w->next_batch);
    nr_put_le64(q + WAL_BATCH_OFF_DURABLE, w->durable_off);
    nr_put_le32(q + WAL_BATCH_OFF_LEN, blen);
    nr_put_le32(q + WAL_BATCH_OFF_NREC, b->n_rec);
    wal_rec_seal(p, WAL_REC_BATCH, WAL_BATCH_PAYLOAD, seg_tag(w));
    b->write_len = b->hdr_off + blen;
}

int wal_submit(struct wal *w, struct nr_err *err)
{
    struct wal_batch *b = filling(w);

    if (w->is_fatal)
        return fatal_copy(w, err);
    if (b->len == 0)
        return 0;
    if (w->n_in_flight == w->o.in_flight_max)
        return nr_errf(err, NR_EBUSY, "wal group %" PRIu32 ": %" PRIu32 " batches in flight; "
                       "reap first", w->o.group_id, w->n_in_flight);
    batch_seal(w, b);
    b->cookie = ((uint64_t)w->o.group_id << 32) | (uint32_t)w->n_cookies;
    int rc = wal_writer_write(w->o.writer, w->active_slot, b->seg_off, b->buf, b->write_len,
                              b->cookie, err);
    if (rc == NR_EBUSY)
        return rc;
    if (rc == 0)
        rc = wal_writer_flush(w->o.writer, err);
    if (rc != 0)
        return wal_fail(w, err);
    w->n_cookies++;
    w->next_batch++;
    w->write_off = b->seg_off + b->write_len;
    w->n_in_flight++;
    w->stats.batches_written++;
    w->stats.bytes_written += b->write_len;
    struct wal_batch *next = filling(w);
    next->len = 0;
    next->n_rec = 0;
    next->compact_index = 0;
    return 0;
}

/* Hands segments wholly at or below compact_to to wal_prepare_segments. */
static void retire_ready(struct wal *w)
{
    while (w->n_live >= 2 && w->live[1].first_index - 1 <= w->compact_to) {
        const struct wal_live *l = &w->live[0];
        struct wal_ring_item it = {l->file_no, l->seq, l->first_index, -1};
        if (!wal_ring_push(&w->retired, &it))
            return; /* full: the rest goes on the next completion */
        memmove(w->live, w->live + 1, (w->n_live - 1) * sizeof(w->live[0]));
        w->n_live--;
    }
}

int wal_complete(struct wal *w, const struct wal_done *done, struct nr_err *err)
{
    if (w->is_fatal)
        return fatal_copy(w, err);
    NR_ASSERT(w->n_in_flight > 0);
    struct wal_batch *b = &w->batches[w->head];
    NR_ASSERT(done->cookie == b->cookie);
    if (done->result < 0) {
        struct nr_err e;
        char path[WAL_PATH_MAX];
        const struct wal_live *l = &w->live[w->n_live - 1];
        wal_seg_used_path(path, sizeof(path), w->dir, w->o.group_id, l->first_index, l->seq);
        nr_errf(&e, NR_EREFUSED, "wal %s offset %" PRIu64 ": write of %" PRIu32 " bytes failed "
                "(errno %d); group %" PRIu32 " stops, durable only up to index %" PRIu64,
                strrchr(path, '/') + 1, b->seg_off, b->write_len, -done->result,
                w->o.group_id, w->durable.index);
        wal_fail(w, &e);
        return fatal_copy(w, err);
    }
    w->head = (w->head + 1) % w->n_batches;
    w->n_in_flight--;
    w->durable_off = b->seg_off + b->write_len;
    w->durable.index = b->last_index;
    w->durable.term = b->last_term;
    w->durable.batches++;
    w->is_durable_new = true;
    if (b->compact_index > w->compact_to)
        w->compact_to = b->compact_index;
    retire_ready(w);
    return 0;
}

uint32_t wal_cookie_group(uint64_t cookie)
{
    return (uint32_t)(cookie >> 32);
}

int wal_durable_take(struct wal *w, struct wal_durable *d)
{
    if (!w->is_durable_new)
        return 0;
    *d = w->durable;
    w->is_durable_new = false;
    return 1;
}

int wal_reap(struct wal *w, struct wal_durable *d, struct nr_err *err)
{
    struct wal_done done[16];
    uint32_t n;

    if (w->is_fatal)
        return fatal_copy(w, err);
    do {
        n = wal_writer_reap(w->o.writer, done, 16);
        for (uint32_t i = 0; i < n; i++) {
            int rc = wal_complete(w, &done[i], err);
            if (rc != 0)
                return rc;
        }
    } while (n == 16);
    return wal_durable_take(w, d);
}

const struct wal_recovery *wal_recovered(const struct wal *w)
{
    return &w->rec;
}

void wal_stats_get(const struct wal *w, struct wal_stats *s)
{
    *s = w->stats;
    s->segments_recycled = atomic_load(&((struct wal *)w)->n_recycled);
    s->spares_ready = wal_ring_count((struct wal_ring *)&w->spares);
    s->live_segments = w->n_live;
    s->bufs_registered = w->is_bufs_registered;
}

/* ---- opening and closing (before and after the poller) ------------- */

static int opts_check(struct wal_opts *o, struct nr_err *err)
{
    if (o->segment_bytes == 0)
        o->segment_bytes = UINT64_C(64) << 20;
    if (o->batch_bytes_max == 0)
        o->batch_bytes_max = 4u << 20;
    if (o->batch_bytes_max + (uint64_t)WAL_BLOCK > o->segment_bytes)
        o->batch_bytes_max = (uint32_t)(o->segment_bytes - WAL_BLOCK);
    if (o->in_flight_max == 0)
        o->in_flight_max = 2;
    if (o->spares == 0)
        o->spares = 2;
    if (o->dir == NULL || o->writer == NULL || strlen(o->dir) + 32 > WAL_PATH_MAX)
        return nr_errf(err, NR_EINVAL, "wal: dir and writer are required, dir under %d bytes",
                       WAL_PATH_MAX - 32);
    if (o->segment_bytes % WAL_BLOCK != 0 || o->segment_bytes < (64u << 10) ||
        o->batch_bytes_max % WAL_BLOCK != 0 || o->batch_bytes_max < 4 * WAL_BLOCK ||
        o->in_flight_max > WAL_IN_FLIGHT_MAX || o->spares > WAL_SPARES_MAX)
        return nr_errf(err, NR_EINVAL, "wal: segment_bytes %" PRIu64 " and batch_bytes_max %"
                       PRIu32 " must be multiples of 512 (segments >= 64 KiB, batches >= 2 "
                       "KiB); in_flight_max %" PRIu32 " <= %d; spares %" PRIu32 " <= %d",
                       o->segment_bytes, o->batch_bytes_max, o->in_flight_max,
                       WAL_IN_FLIGHT_MAX, o->spares, WAL_SPARES_MAX);
    return 0;
}

static void model_from(struct wal_model *m, const struct wal_recovery *rec)
{
    memset(m, 0, sizeof(*m));
    m->base = rec->last_index - rec->n_entries;
    m->last_index = rec->last_index;
    m->last_term = rec->last_term;
    m->snap = rec->snap;
    m->has_snap = rec->snap.index > 0 || rec->snap.conf.n_voters > 0;
    m->hs = rec->hard_state;
    m->has_hs = rec->hard_state.term > 0;
    for (uint32_t i = 0; i < rec->n_entries; i++)
        model_entry(m, rec->entries[i].index, rec->entries[i].term);
    m->last_index = rec->last_index;
    m->last_term = rec->last_term;
}

/* Opens the last used segment for appending; cuts a torn tail off first
 * (zeros from the end of valid data, fsynced) so no later scan sees it. */
static int open_active(struct wal *w, struct nr_err *err)
{
    const struct wal_seg_info *si = &w->rec.segs[w->rec.n_used - 1];
    struct stat st;

    /* Made with another segment_bytes: appending starts a new segment. */
    if (stat(si->path, &st) == 0 && (uint64_t)st.st_size != w->o.segment_bytes)
        return 0;
    int fd = open(si->path, O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return nr_errf(err, NR_EREFUSED, "wal %s: open failed (errno %d)", si->path, errno);
    int rc = 0;
    if (w->rec.is_tail_dirty)
        rc = wal_seg_zero(fd, si->path, si->end_off, w->o.segment_bytes - si->end_off, err);
    close(fd);
    if (rc != 0)
        return rc;
    fd = open(si->path, O_RDWR | O_CLOEXEC | (w->o.direct ? O_DIRECT : 0));
    if (fd < 0)
        return nr_errf(err, NR_EREFUSED, "wal %s: open failed (errno %d)", si->path, errno);
    rc = wal_writer_add_file(w->o.writer, fd, &w->active_slot, err);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    w->active_fd = fd;
    w->write_off = si->end_off;
    w->durable_off = si->end_off;
    w->next_batch = si->next_batch;
    return 0;
}

/* The batch buffers as the writer registers them. */
static void batch_iovecs(const struct wal *w, struct iovec *iov)
{
    for (uint32_t i = 0; i < w->n_batches; i++)
        iov[i] = (struct iovec){w->batches[i].buf,
                                (w->buf_cap + WAL_BUF_ALIGN - 1) / WAL_BUF_ALIGN * WAL_BUF_ALIGN};
}

static int alloc_buffers(struct wal *w, struct nr_err *err)
{
    struct iovec iov[WAL_IN_FLIGHT_MAX + 1];
    struct nr_err e;

    w->cap_live = w->rec.n_used * 2 > 1024 ? w->rec.n_used * 2 : 1024;
    w->live = calloc(w->cap_live, sizeof(w->live[0]));
    w->n_batches = w->o.in_flight_max + 1;
    w->buf_cap = w->o.batch_bytes_max + WAL_BLOCK;
    batch_iovecs(w, iov);
    for (uint32_t i = 0; i < w->n_batches; i++) {
        w->batches[i].buf = aligned_alloc(WAL_BUF_ALIGN, iov[i].iov_len);
        if (w->batches[i].buf == NULL)
            return nr_errf(err, NR_ENOMEM, "wal: no memory for batch buffers");
        memset(w->batches[i].buf, 0, iov[i].iov_len); /* touched now, not on the poller */
        iov[i].iov_base = w->batches[i].buf;
    }
    if (w->live == NULL)
        return nr_errf(err, NR_ENOMEM, "wal: no memory for the segment list");
    /* Registered, O_DIRECT writes skip pinning the batch's pages every time
     * (a 1 MiB batch is 256 pages: wal-bench --investigate, pattern 1MiBx1,
     * writer-direct-dsync against -fixed-bufs). A writer whose places are
     * taken by other WALs, or a kernel that refuses, leaves them unregistered:
     * slower, as correct. */
    w->is_bufs_registered = wal_writer_register_buffers(w->o.writer, iov, w->n_batches, &e) == 0;
    return 0;
}

int wal_open(const struct wal_opts *o, struct wal **out, struct nr_err *err)
{
    struct wal *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return nr_errf(err, NR_ENOMEM, "wal: no memory");
    w->o = *o;
    w->active_fd = -1;
    int rc = opts_check(&w->o, err);
    if (rc != 0)
        goto fail;
    snprintf(w->dir, sizeof(w->dir), "%s", o->dir);
    w->o.dir = w->dir;
    struct wal_replay_opts ro = {w->dir, o->cluster_id, o->member_id, o->group_id};
    rc = wal_replay(&ro, &w->rec, err);
    if (rc != 0)
        goto fail;
    model_from(&w->m, &w->rec);
    w->durable = (struct wal_durable){w->m.last_index, w->m.last_term, 0};
    rc = alloc_buffers(w, err);
    if (rc == 0)
        rc = wal_seg_normalize(w, err);
    for (uint32_t i = 0; rc == 0 && i < w->rec.n_used; i++)
        w->live[w->n_live++] = (struct wal_live){w->rec.segs[i].seq, w->rec.segs[i].first_index,
                                                 UINT64_MAX};
    if (rc == 0 && w->rec.n_used > 0)
        rc = open_active(w, err);
    if (rc == 0)
        rc = wal_seg_adopt_spares(w, err);
    if (rc == 0)
        rc = wal_prepare_segments(w, err);
    if (rc != 0)
        goto fail;
    *out = w;
    return 0;

fail:
    wal_close(w);
    return rc;
}

void wal_close(struct wal *w)
{
    struct wal_ring_item it;
    struct wal_durable d;
    struct nr_err e;

    if (w == NULL)
        return;
    while (w->n_in_flight > 0 && !w->is_fatal) {
        if (wal_writer_wait(w->o.writer, &e) != 0 || wal_reap(w, &d, &e) < 0)
            break;
    }
    /* After a failure: the kernel may still hold our buffers; drain. */
    while (w->n_in_flight > 0 && wal_writer_in_flight(w->o.writer) > 0) {
        struct wal_done done[16];
        if (wal_writer_wait(w->o.writer, &e) != 0)
            break;
        wal_writer_reap(w->o.writer, done, 16);
    }
    if (w->active_fd >= 0) {
        wal_writer_remove_file(w->o.writer, w->active_slot);
        close(w->active_fd);
    }
    while (wal_ring_pop(&w->spares, &it))
        close(it.fd);
    if (w->is_bufs_registered) {
        struct iovec iov[WAL_IN_FLIGHT_MAX + 1];

        batch_iovecs(w, iov);
        wal_writer_unregister_buffers(w->o.writer, iov, w->n_batches);
    }
    for (uint32_t i = 0; i < w->n_batches; i++)
        free(w->batches[i].buf);
    free(w->live);
    wal_recovery_free(&w->rec);
    free(w);
}
