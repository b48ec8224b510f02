/* wal_replay.c - recovery: scan every segment of a group, verify every
 * checksum, rebuild hard state, snapshot marker and the log after it.
 *
 * Torn tail or corruption (CONVENTIONS section 3, SPEC section 3): a batch
 * is all or nothing. A bad batch in the last segment with no proof that it
 * was ever acknowledged (no later valid batch whose durable_off lies past
 * it, see wal_format.h) is a torn tail: cut off, logged with its offset.
 * Anything else that does not add up (a bad batch before a valid one, a
 * missing or out-of-order segment, a gap in indexes, another cluster's or
 * member's segment) refuses start-up with one sentence naming the file, the
 * offset, the indexes and what to do; committed entries are never dropped
 * silently. Nothing here trusts the disk: every count and length is checked
 * before use, and no assertion looks at file contents. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wal_internal.h"

#define FIX "refusing to start: restore this data directory from a copy, or remove this member " \
            "and add it back empty"

struct replay {
    const struct wal_replay_opts *o;
    struct wal_recovery *rec;
    uint64_t base;        /* the index before entries[0]: snapshot or compacted */
    uint64_t first_first; /* the lowest index the first segment starts from */
    bool is_base_soft;    /* base is first_first - 1, not a snapshot's: the
                             entries below it were in compacted segments */
    const char *name;     /* current segment file (basename) */
    const uint8_t *buf;   /* its bytes */
    uint64_t len;
    uint32_t tag;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

static uint64_t log_last(const struct replay *r)
{
    return r->base + r->rec->n_entries;
}

static int grow_entries(struct replay *r)
{
    struct wal_recovery *rec = r->rec;
    uint32_t cap = rec->cap_entries == 0 ? 1024 : rec->cap_entries * 2;
    struct raft_entry *e = realloc(rec->entries, cap * sizeof(*e));

    if (e == NULL)
        return NR_ENOMEM;
    rec->entries = e;
    uint64_t *off = realloc(rec->data_off, cap * sizeof(*off));
    if (off == NULL)
        return NR_ENOMEM;
    rec->data_off = off;
    rec->cap_entries = cap;
    return 0;
}

static int grow_data(struct wal_recovery *rec, uint64_t need)
{
    uint64_t cap = rec->data_cap == 0 ? (1u << 20) : rec->data_cap;

    while (cap < need)
        cap *= 2;
    uint8_t *d = realloc(rec->data, cap);
    if (d == NULL)
        return NR_ENOMEM;
    rec->data = d;
    rec->data_cap = cap;
    return 0;
}

/* One entry record: append, or cut the log at its index first. */
static int log_entry(struct replay *r, const uint8_t *p, uint32_t len, uint64_t off,
                     struct nr_err *err)
{
    struct wal_recovery *rec = r->rec;
    uint64_t term = nr_get_le64(p + WAL_ENTRY_OFF_TERM);
    uint64_t index = nr_get_le64(p + WAL_ENTRY_OFF_INDEX);
    uint32_t group = nr_get_le32(p + WAL_ENTRY_OFF_GROUP);
    uint32_t dlen = len - WAL_ENTRY_HDR;

    if (group != r->o->group_id)
        return nr_errf(err, NR_ECORRUPT, "wal %s offset %" PRIu64 ": entry %" PRIu64
                       " belongs to group %" PRIu32 ", not %" PRIu32 "; " FIX,
                       r->name, off, index, group, r->o->group_id);
    /* The first segment may cut below its first index: the entries it
     * replaces sat in segments compacted since (replay_finish checks that
     * the snapshot covers everything below first_first). */
    if (index <= r->base && r->is_base_soft && index > rec->snap.index && index > 0) {
        rec->n_entries = 0;
        rec->data_len = 0;
        r->base = index - 1;
        r->first_first = index;
    }
    if (index <= r->base || index > log_last(r) + 1 || index > RAFT_INDEX_MAX)
        return nr_errf(err, NR_ECORRUPT, "wal %s offset %" PRIu64 ": entry %" PRIu64
                       " outside the log held (%" PRIu64 "..%" PRIu64 "): a gap or a cut "
                       "below the snapshot; " FIX, r->name, off, index, r->base + 1,
                       log_last(r));
    if (index <= log_last(r)) { /* a conflicting suffix replaced (raft.h) */
        rec->n_entries = (uint32_t)(index - r->base - 1);
        rec->data_len = rec->data_off[rec->n_entries];
    }
    uint64_t prev_term = rec->n_entries > 0 ? rec->entries[rec->n_entries - 1].term
                                            : rec->snap.term;
    if (term < prev_term || term == 0 || term > RAFT_TERM_MAX)
        return nr_errf(err, NR_ECORRUPT, "wal %s offset %" PRIu64 ": entry %" PRIu64
                       " has term %" PRIu64 " after term %" PRIu64 "; " FIX,
                       r->name, off, index, term, prev_term);
    if (rec->n_entries == rec->cap_entries && grow_entries(r) != 0)
        return nr_errf(err, NR_ENOMEM, "wal replay: no memory for entry %" PRIu64, index);
    if (rec->data_len + dlen > rec->data_cap && grow_data(rec, rec->data_len + dlen) != 0)
        return nr_errf(err, NR_ENOMEM, "wal replay: no memory for entry %" PRIu64, index);
    struct raft_entry *e = &rec->entries[rec->n_entries];
    e->term = term;
    e->index = index;
    e->type = nr_get_le32(p + WAL_ENTRY_OFF_TYPE);
    e->len = dlen;
    e->data = NULL;
    rec->data_off[rec->n_entries] = rec->data_len;
    if (dlen > 0)
        memcpy(rec->data + rec->data_len, p + WAL_ENTRY_HDR, dlen);
    rec->data_len += dlen;
    rec->n_entries++;
    return 0;
}

static int snap_decode(const uint8_t *p, struct raft_snap_meta *m)
{
    const uint8_t *c = p + WAL_SNAP_OFF_COUNTS;
    const uint8_t *id = p + WAL_SNAP_OFF_IDS;
    struct raft_conf *conf = &m->conf;

    memset(m, 0, sizeof(*m));
    m->index = nr_get_le64(p + WAL_SNAP_OFF_INDEX);
    m->term = nr_get_le64(p + WAL_SNAP_OFF_TERM);
    conf->n_voters = nr_get_le32(c);
    conf->n_voters_outgoing = nr_get_le32(c + 4);
    conf->n_learners = nr_get_le32(c + 8);
    conf->n_learners_next = nr_get_le32(c + 12);
    conf->auto_leave = nr_get_le32(c + 16) != 0;
    if (conf->n_voters > RAFT_VOTERS_MAX || conf->n_voters_outgoing > RAFT_VOTERS_MAX ||
        conf->n_learners > RAFT_LEARNERS_MAX || conf->n_learners_next > RAFT_LEARNERS_MAX ||
        m->index > RAFT_INDEX_MAX || m->term > RAFT_TERM_MAX)
        return -1;
    for (uint32_t i = 0; i < RAFT_VOTERS_MAX; i++, id += 8)
        conf->voters[i] = nr_get_le64(id);
    for (uint32_t i = 0; i < RAFT_VOTERS_MAX; i++, id += 8)
        conf->voters_outgoing[i] = nr_get_le64(id);
    for (uint32_t i = 0; i < RAFT_LEARNERS_MAX; i++, id += 8)
        conf->learners[i] = nr_get_le64(id);
    for (uint32_t i = 0; i < RAFT_LEARNERS_MAX; i++, id += 8)
        conf->learners_next[i] = nr_get_le64(id);
    return 0;
}

/* A snapshot marker: as the simulator's disk does (tests/sim/sim_disk.c),
 * the entries after it stay only when the log holds its own last entry;
 * an older marker (a segment head repeating it) changes nothing. */
static int log_snap(struct replay *r, const uint8_t *p, uint64_t off, struct nr_err *err)
{
    struct wal_recovery *rec = r->rec;
    struct raft_snap_meta m;

    if (snap_decode(p, &m) != 0)
        return nr_errf(err, NR_ECORRUPT, "wal %s offset %" PRIu64 ": snapshot marker with "
                       "counts or numbers out of range; " FIX, r->name, off);
    if (m.index < rec->snap.index)
        return 0;
    if (m.index > r->base) {
        uint64_t keep_from = 0;
        if (m.index <= log_last(r) && rec->entries[m.index - r->base - 1].term == m.term)
            keep_from = m.index - r->base;
        uint32_t n_keep = keep_from > 0 ? rec->n_entries - (uint32_t)keep_from : 0;
        if (n_keep > 0) {
            memmove(rec->entries, rec->entries + keep_from, n_keep * sizeof(rec->entries[0]));
            memmove(rec->data_off, rec->data_off + keep_from, n_keep * sizeof(uint64_t));
        }
        if (n_keep == 0)
            rec->data_len = 0;
        rec->n_entries = n_keep;
        r->base = m.index;
        r->is_base_soft = false;
    }
    rec->snap = m;
    return 0;
}

static int log_hard(struct replay *r, const uint8_t *p, uint64_t off, struct nr_err *err)
{
    struct raft_hard_state hs = {
        .term = nr_get_le64(p + WAL_HARD_OFF_TERM),
        .vote = nr_get_le64(p + WAL_HARD_OFF_VOTE),
        .commit = nr_get_le64(p + WAL_HARD_OFF_COMMIT),
    };

    if (hs.term < r->rec->hard_state.term || hs.term > RAFT_TERM_MAX)
        return nr_errf(err, NR_ECORRUPT, "wal %s offset %" PRIu64 ": hard state term %" PRIu64
                       " after term %" PRIu64 "; " FIX, r->name, off, hs.term,
                       r->rec->hard_state.term);
    r->rec->hard_state = hs;
    return 0;
}

static uint32_t min_payload(uint16_t type)
{
    switch (type) {
    case WAL_REC_ENTRY: return WAL_ENTRY_HDR;
    case WAL_REC_HARD: return WAL_HARD_PAYLOAD;
    case WAL_REC_SNAP: return WAL_SNAP_PAYLOAD;
    default: return UINT32_MAX;
    }
}

/* Checks the batch header at off without a CRC unless it looks like one:
 * the tail scan probes every block and must stay cheap on garbage. */
static bool batch_header_at(const struct replay *r, uint64_t off, uint32_t tag, uint64_t *seq,
                            uint64_t *durable, uint32_t *blen, uint32_t *nrec)
{
    const uint8_t *p = r->buf + off;
    uint16_t type = 0;
    uint32_t len = 0, t = 0, cs, cc;

    if (r->len - off < WAL_BLOCK || nr_get_le16(p + 4) != WAL_REC_BATCH ||
        nr_get_le32(p + 8) != WAL_BATCH_PAYLOAD || nr_get_le32(p + 12) != tag)
        return false;
    if (wal_rec_check(p, r->len - off, &type, &len, &t, &cs, &cc) != WAL_REC_OK)
        return false;
    const uint8_t *q = p + WAL_REC_HDR;
    *seq = nr_get_le64(q + WAL_BATCH_OFF_SEQ);
    *durable = nr_get_le64(q + WAL_BATCH_OFF_DURABLE);
    *blen = nr_get_le32(q + WAL_BATCH_OFF_LEN);
    *nrec = nr_get_le32(q + WAL_BATCH_OFF_NREC);
    return *blen >= WAL_BLOCK && *blen % WAL_BLOCK == 0 && *blen <= r->len - off &&
           *durable <= off && *nrec <= *blen / WAL_REC_HDR;
}

/* Verifies every record of the batch at off (all or nothing); true when
 * the whole batch is sound. */
static bool batch_verify(const struct replay *r, uint64_t off, uint32_t blen, uint32_t nrec)
{
    uint64_t pos = off + wal_rec_size(WAL_BATCH_PAYLOAD);
    uint64_t end = off + blen;

    for (uint32_t i = 0; i < nrec; i++) {
        uint16_t type = 0;
        uint32_t len = 0, tag = 0, cs, cc;
        if (wal_rec_check(r->buf + pos, end - pos, &type, &len, &tag, &cs, &cc) != WAL_REC_OK)
            return false;
        if (tag != r->tag || len < min_payload(type) ||
            (type != WAL_REC_ENTRY && len != min_payload(type)))
            return false;
        pos += wal_rec_size(len);
    }
    return true;
}

static int batch_apply(struct replay *r, uint64_t off, uint32_t nrec, struct nr_err *err)
{
    uint64_t pos = off + wal_rec_size(WAL_BATCH_PAYLOAD);
    int rc = 0;

    for (uint32_t i = 0; i < nrec && rc == 0; i++) {
        const uint8_t *p = r->buf + pos;
        uint16_t type = nr_get_le16(p + 4);
        uint32_t len = nr_get_le32(p + 8);
        if (type == WAL_REC_ENTRY)
            rc = log_entry(r, p + WAL_REC_HDR, len, pos, err);
        else if (type == WAL_REC_HARD)
            rc = log_hard(r, p + WAL_REC_HDR, pos, err);
        else
            rc = log_snap(r, p + WAL_REC_HDR, pos, err);
        pos += wal_rec_size(len);
    }
    return rc;
}

/* Data ended at end_off (zeros, an older use's records, or a bad batch).
 * A valid batch of ours further on that was issued after end_off was
 * durable proves the bytes at end_off were acknowledged: refuse. */
static int tail_scan(struct replay *r, uint64_t end_off, bool is_bad, bool is_final,
                     struct nr_err *err)
{
    const char *what = is_bad ? "bad batch (checksum or length)" : "end of data";

    for (uint64_t o = end_off + WAL_BLOCK; o + WAL_BLOCK <= r->len; o += WAL_BLOCK) {
        uint64_t seq, durable;
        uint32_t blen, nrec;
        if (!batch_header_at(r, o, r->tag, &seq, &durable, &blen, &nrec))
            continue;
        r->rec->is_tail_dirty = true; /* it must not be read as ours later */
        if (durable > end_off)
            return nr_errf(err, NR_ECORRUPT, "wal %s offset %" PRIu64 ": %s before a valid "
                           "batch at offset %" PRIu64 " (log up to index %" PRIu64
                           " read); acknowledged entries are damaged; " FIX,
                           r->name, end_off, what, o, log_last(r));
    }
    /* A recycled file holds bytes of its earlier use after our data, so
     * a bad record that ends a segment is not proof of damage by itself:
     * in a segment that others follow, what counts is that the next one
     * starts right after it (header_check names this offset if not). */
    (void)is_final;
    return 0;
}

/* Replays the batches of one segment whose header was checked. */
static int segment_scan(struct replay *r, struct wal_seg_info *si, bool is_final,
                        struct nr_err *err)
{
    uint64_t off = WAL_BLOCK;
    uint64_t expect = 1;

    for (;;) {
        uint64_t seq = 0, durable = 0;
        uint32_t blen = 0, nrec = 0;
        bool is_zero = off + WAL_REC_HDR > r->len ||
                       memcmp(r->buf + off, (const uint8_t[WAL_REC_HDR]){0}, WAL_REC_HDR) == 0;
        bool is_ok = !is_zero && batch_header_at(r, off, r->tag, &seq, &durable, &blen, &nrec);
        if (is_ok && seq != expect)
            return nr_errf(err, NR_ECORRUPT, "wal %s offset %" PRIu64 ": batch %" PRIu64
                           " where batch %" PRIu64 " belongs (log up to index %" PRIu64
                           "); " FIX, r->name, off, seq, expect, log_last(r));
        if (!is_ok || !batch_verify(r, off, blen, nrec)) {
            bool is_stale = !is_zero && !is_ok && nr_get_le32(r->buf + off + 12) != r->tag &&
                            nr_get_le16(r->buf + off + 4) == WAL_REC_BATCH;
            bool is_bad = !is_zero && !is_stale;
            int rc = tail_scan(r, off, is_bad, is_final, err);
            if (rc != 0)
                return rc;
            si->bad_off = is_bad ? off : 0;
            if (is_bad && is_final) {
                r->rec->is_torn = true;
                r->rec->is_tail_dirty = true;
                r->rec->torn_offset = off;
                snprintf(r->rec->note, sizeof(r->rec->note),
                         "wal %.120s: torn final batch (or bytes of the file's earlier use) at "
                         "offset %" PRIu64 " cut off, never reported durable; log ends at "
                         "index %" PRIu64, r->name, off, log_last(r));
            }
            break;
        }
        int rc = batch_apply(r, off, nrec, err);
        if (rc != 0)
            return rc;
        off += blen;
        expect++;
    }
    si->end_off = off;
    si->next_batch = expect;
    si->last_index = log_last(r);
    return 0;
}

/* Checks a used segment's header against the options and the chain. */
static int header_check(struct replay *r, const struct wal_seg_hdr *h, uint64_t file_len,
                        const struct wal_seg_info *prev, struct nr_err *err)
{
    const struct wal_replay_opts *o = r->o;

    if (h->cluster_id != o->cluster_id || h->member_id != o->member_id)
        return nr_errf(err, NR_EREFUSED, "wal %s belongs to cluster %016" PRIx64 " member %016"
                       PRIx64 ", this node is cluster %016" PRIx64 " member %016" PRIx64
                       "; refusing to start: point the node at its own data directory",
                       r->name, h->cluster_id, h->member_id, o->cluster_id, o->member_id);
    if (h->group_id != o->group_id)
        return nr_errf(err, NR_EREFUSED, "wal %s offset 0: header names group %" PRIu32
                       ", the file name group %" PRIu32 "; " FIX, r->name, h->group_id,
                       o->group_id);
    if (h->size != file_len || h->size < 2 * WAL_BLOCK || h->first_index == 0 ||
        h->first_index > RAFT_INDEX_MAX)
        return nr_errf(err, NR_ECORRUPT, "wal %s offset 0: header says %" PRIu64 " bytes from "
                       "index %" PRIu64 ", the file has %" PRIu64 " bytes; " FIX, r->name,
                       h->size, h->first_index, file_len);
    if (prev != NULL && h->first_index != prev->last_index + 1 && prev->bad_off != 0)
        return nr_errf(err, NR_ECORRUPT, "wal %s offset %" PRIu64 ": bad batch (checksum or "
                       "length) after index %" PRIu64 ", and the next segment %s starts at "
                       "index %" PRIu64 ": entries between are damaged; " FIX,
                       base_name(prev->path), prev->bad_off, prev->last_index, r->name,
                       h->first_index);
    if (prev != NULL && h->first_index != prev->last_index + 1)
        return nr_errf(err, NR_ECORRUPT, "wal %s offset 0: starts at index %" PRIu64 " but "
                       "%s ends at index %" PRIu64 ": entries %" PRIu64 "..%" PRIu64
                       " missing or segments out of order; " FIX, r->name, h->first_index,
                       base_name(prev->path), prev->last_index,
                       h->first_index < prev->last_index + 1 ? h->first_index
                                                             : prev->last_index + 1,
                       h->first_index > prev->last_index + 1 ? h->first_index - 1
                                                             : prev->last_index);
    return 0;
}

/* Replays one used segment whose bytes are buf[0..len). */
static int segment_replay(struct replay *r, struct wal_seg_info *si, const uint8_t *buf,
                          uint64_t len, const struct wal_seg_info *prev, bool is_final,
                          struct nr_err *err)
{
    struct wal_seg_hdr h;

    r->name = base_name(si->path);
    if (wal_seg_hdr_decode(buf, len, &h) != WAL_SEG_HDR_OK)
        return nr_errf(err, NR_ECORRUPT, "wal %s offset 0: header changed while read; " FIX,
                       r->name);
    int rc = header_check(r, &h, len, prev, err);
    if (rc != 0)
        return rc;
    if (prev == NULL) {
        r->base = h.first_index - 1;
        r->first_first = h.first_index;
        r->is_base_soft = true;
    }
    r->buf = buf;
    r->len = len;
    r->tag = (uint32_t)h.seq;
    r->rec->scanned_bytes += len;
    return segment_scan(r, si, is_final, err);
}

/* After the last segment: the log must start where the snapshot ends, and
 * the hard state must not commit beyond it. Fills the entries' pointers. */
static int replay_finish(struct replay *r, struct nr_err *err)
{
    struct wal_recovery *rec = r->rec;

    if (rec->n_used > 0 && rec->snap.index + 1 < r->first_first)
        return nr_errf(err, NR_ECORRUPT, "wal %s offset 0: the log starts at index %" PRIu64
                       " but the snapshot marker covers only up to %" PRIu64 ": entries %"
                       PRIu64 "..%" PRIu64 " are missing (a segment was removed); " FIX,
                       base_name(rec->segs[0].path), r->first_first, rec->snap.index,
                       rec->snap.index + 1, r->first_first - 1);
    rec->last_index = log_last(r);
    rec->last_term = rec->n_entries > 0 ? rec->entries[rec->n_entries - 1].term
                                        : rec->snap.term;
    if (rec->hard_state.commit > rec->last_index)
        return nr_errf(err, NR_ECORRUPT, "wal %s: hard state commits index %" PRIu64
                       " but the log ends at %" PRIu64 "; committed entries are lost; " FIX,
                       rec->n_used > 0 ? base_name(rec->segs[rec->n_used - 1].path) : "(none)",
                       rec->hard_state.commit, rec->last_index);
    /* Empty entries may leave the data area unallocated (NULL): no pointer
     * arithmetic on it then, and an empty entry's data stays NULL. */
    for (uint32_t i = 0; i < rec->n_entries; i++)
        rec->entries[i].data = rec->data != NULL ? rec->data + rec->data_off[i] : NULL;
    return 0;
}

/* Sizes the entry arrays once from the segments' total size (an upper
 * bound; untouched pages cost nothing), so replay never copies them. */
static int presize(struct replay *r, struct nr_err *err)
{
    struct wal_recovery *rec = r->rec;
    uint64_t total = 0;

    for (uint32_t i = 0; i < rec->n_used; i++) {
        struct stat st;
        if (stat(rec->segs[i].path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    uint64_t n = total / (WAL_REC_HDR + WAL_ENTRY_HDR) + 16;
    rec->cap_entries = n > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)n;
    rec->entries = malloc(rec->cap_entries * sizeof(rec->entries[0]));
    rec->data_off = malloc(rec->cap_entries * sizeof(rec->data_off[0]));
    if (total > 0 && grow_data(rec, total) != 0)
        rec->data_cap = 0;
    if (rec->entries == NULL || rec->data_off == NULL || (total > 0 && rec->data_cap == 0))
        return nr_errf(err, NR_ENOMEM, "wal replay: no memory for %" PRIu64 " bytes of log",
                       total);
    return 0;
}

/* A file whose header block is damaged can only be the next segment of the
 * chain, torn while it was being started; refuse if it holds a batch that
 * was written after one of its own had been reported durable. */
static int torn_header_check(struct replay *r, const struct wal_seg_info *si, uint8_t *buf,
                             uint64_t len, uint64_t next_seq, struct nr_err *err)
{
    r->name = base_name(si->path);
    r->buf = buf;
    r->len = len;
    for (uint64_t o = WAL_BLOCK; o + WAL_BLOCK <= len; o += WAL_BLOCK) {
        uint64_t seq, durable;
        uint32_t blen, nrec;
        if (batch_header_at(r, o, (uint32_t)next_seq, &seq, &durable, &blen, &nrec) &&
            durable > 0)
            return nr_errf(err, NR_ECORRUPT, "wal %s offset 0: damaged segment header, but "
                           "the batch at offset %" PRIu64 " shows this segment held durable "
                           "entries after index %" PRIu64 "; " FIX, r->name, o,
                           r->rec->last_index);
    }
    r->rec->is_torn = true;
    r->rec->torn_offset = 0;
    snprintf(r->rec->note, sizeof(r->rec->note), "wal %.120s: torn segment header at offset 0 "
             "(a segment being started); the file is reused as a spare", r->name);
    return 0;
}

static int chain_check(const struct replay *r, struct nr_err *err)
{
    const struct wal_recovery *rec = r->rec;

    for (uint32_t i = 1; i < rec->n_used; i++) {
        const struct wal_seg_info *a = &rec->segs[i - 1], *b = &rec->segs[i];
        if (b->seq != a->seq + 1)
            return nr_errf(err, NR_ECORRUPT, "wal %s offset 0: segment %" PRIu64 " (from index "
                           "%" PRIu64 ") follows segment %" PRIu64 " (%s, from index %" PRIu64
                           "): a segment is missing or duplicated; " FIX, base_name(b->path),
                           b->seq, b->first_index, a->seq, base_name(a->path),
                           a->first_index);
    }
    return 0;
}

int wal_replay(const struct wal_replay_opts *o, struct wal_recovery *rec, struct nr_err *err)
{
    struct replay r = {.o = o, .rec = rec};
    uint8_t *buf = NULL;
    uint64_t len = 0;
    uint64_t t0 = now_ns();

    memset(rec, 0, sizeof(*rec));
    int rc = wal_seg_list(o, rec, err);
    if (rc == 0)
        rc = chain_check(&r, err);
    if (rc == 0)
        rc = presize(&r, err);
    for (uint32_t i = 0; rc == 0 && i < rec->n_used; i++) {
        rc = wal_seg_map(rec->segs[i].path, &buf, &len, err);
        if (rc == 0)
            rc = segment_replay(&r, &rec->segs[i], buf, len, i > 0 ? &rec->segs[i - 1] : NULL,
                                i + 1 == rec->n_used, err);
        wal_seg_unmap(buf, len);
    }
    rec->last_index = log_last(&r);
    uint64_t next_seq = rec->n_used > 0 ? rec->segs[rec->n_used - 1].seq + 1 : 1;
    for (uint32_t i = rec->n_used; rc == 0 && i < rec->n_segs; i++) {
        if (!rec->segs[i].needs_reset)
            continue;
        rc = wal_seg_map(rec->segs[i].path, &buf, &len, err);
        if (rc == 0)
            rc = torn_header_check(&r, &rec->segs[i], buf, len, next_seq, err);
        wal_seg_unmap(buf, len);
    }
    if (rc == 0)
        rc = replay_finish(&r, err);
    rec->scan_ns = now_ns() - t0;
    if (rc != 0)
        wal_recovery_free(rec);
    return rc;
}

int wal_replay_buf(const struct wal_replay_opts *o, const uint8_t *buf, uint64_t len,
                   struct wal_recovery *rec, struct nr_err *err)
{
    struct replay r = {.o = o, .rec = rec};
    struct wal_seg_hdr h;
    uint32_t cap = 0;
    int rc = 0;

    memset(rec, 0, sizeof(*rec));
    if (wal_seg_add(rec, &cap) != 0)
        return nr_errf(err, NR_ENOMEM, "wal replay: no memory");
    memset(&rec->segs[0], 0, sizeof(rec->segs[0]));
    snprintf(rec->segs[0].path, sizeof(rec->segs[0].path), "(image)");
    rec->n_segs = 1;
    enum wal_seg_hdr_check c = wal_seg_hdr_decode(buf, len, &h);
    if (c == WAL_SEG_HDR_FOREIGN)
        rc = nr_errf(err, NR_EREFUSED, "wal (image) offset 0: not a version %u nicraft segment",
                     WAL_FORMAT_VERSION);
    else if (c == WAL_SEG_HDR_OK) {
        rec->n_used = 1;
        rec->segs[0].seq = h.seq;
        rec->segs[0].first_index = h.first_index;
        rc = segment_replay(&r, &rec->segs[0], buf, len, NULL, true, err);
    }
    if (rc == 0)
        rc = replay_finish(&r, err);
    if (rc != 0)
        wal_recovery_free(rec);
    return rc;
}

void wal_recovery_free(struct wal_recovery *rec)
{
    free(rec->entries);
    free(rec->data_off);
    free(rec->data);
    free(rec->segs);
    rec->entries = NULL;
    rec->data_off = NULL;
    rec->data = NULL;
    rec->segs = NULL;
    rec->n_entries = 0;
    rec->n_segs = 0;
    rec->n_used = 0;
}

void wal_boot_from(const struct wal_recovery *rec, struct raft_boot *boot)
{
    memset(boot, 0, sizeof(*boot));
    boot->hard_state = rec->hard_state;
    boot->snap = rec->snap;
    boot->entries = rec->entries;
    boot->n_entries = rec->n_entries;
    boot->applied_index = rec->snap.index;
}
