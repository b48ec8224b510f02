/* sim_disk.c - the storage model: durable state plus a FIFO of pending writes.
 *
 * Each raft_step's output is one batch (snapshot, entries, hard state, in
 * that record order, and the messages held until it is durable). Batches
 * complete in order after a delay in virtual time; only then is their
 * content durable. A crash loses every pending batch, except that a prefix
 * of the oldest one's records may survive (a torn write) - and nothing of it
 * was acknowledged. A restart reads only the durable part. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void sim_entry_copy(struct sim_entry *dst, const struct raft_entry *src)
{
    dst->term = src->term;
    dst->index = src->index;
    dst->type = src->type;
    dst->len = src->len;
    dst->data = NULL;
    dst->prev_term = UINT64_MAX;
    if (src->len > 0) {
        dst->data = malloc(src->len);
        NR_ASSERT(dst->data != NULL);
        memcpy(dst->data, src->data, src->len);
    }
}

void sim_entry_free(struct sim_entry *e)
{
    free(e->data);
    e->data = NULL;
}

void sim_batch_free(struct sim_batch *b)
{
    if (b == NULL)
        return;
    for (uint32_t i = 0; i < b->n_entries; i++)
        sim_entry_free(&b->entries[i]);
    free(b->entries);
    for (uint32_t i = 0; i < b->n_held; i++)
        sim_msg_free(b->held[i]);
    free(b->held);
    free(b);
}

static struct sim_batch *batch_new(struct sim_world *w, struct sim_node *n,
                                   const struct raft_output *out, const struct sim_kv *snap_kv)
{
    struct sim_batch *b = calloc(1, sizeof(*b));

    NR_ASSERT(b != NULL);
    b->has_hs = out->hard_state_changed;
    b->hs = out->hard_state;
    if (out->install != NULL) {
        b->has_snap = true;
        b->snap.meta = *out->install;
        b->snap.kv = *snap_kv;
    }
    if (out->persist.n > 0) {
        b->entries = calloc(out->persist.n, sizeof(b->entries[0]));
        NR_ASSERT(b->entries != NULL);
        for (uint32_t i = 0; i < out->persist.n; i++) {
            const struct raft_entry *e = &out->persist.v[i];

            sim_entry_copy(&b->entries[i], e);
            if (i > 0)
                b->entries[i].prev_term = out->persist.v[i - 1].term;
            else if (e->index == 1)
                b->entries[i].prev_term = 0;
            else if (raft_term_at(n->raft, e->index - 1) != 0)
                b->entries[i].prev_term = raft_term_at(n->raft, e->index - 1);
        }
        b->n_entries = out->persist.n;
    }
    if (out->send_after_sync.n > 0) {
        b->held = calloc(out->send_after_sync.n, sizeof(b->held[0]));
        NR_ASSERT(b->held != NULL);
        for (uint32_t i = 0; i < out->send_after_sync.n; i++)
            b->held[i] = sim_msg_copy(w, n, &out->send_after_sync.v[i]);
        b->n_held = out->send_after_sync.n;
    }
    return b;
}

struct sim_batch *sim_disk_add(struct sim_world *w, struct sim_node *n,
                               const struct raft_output *out, const struct sim_kv *snap_kv)
{
    struct sim_disk *d = &n->disk;
    struct sim_batch *b = batch_new(w, n, out, snap_kv);

    if (d->tail != NULL)
        d->tail->next = b;
    else
        d->head = b;
    d->tail = b;
    d->n_pending++;
    return b;
}

static uint64_t disk_last_index(const struct sim_disk *d)
{
    return d->n_log > 0 ? d->log[d->n_log - 1].index : d->snap.meta.index;
}

static void log_truncate_from(struct sim_disk *d, uint32_t keep)
{
    for (uint32_t i = keep; i < d->n_log; i++)
        sim_entry_free(&d->log[i]);
    if (keep < d->n_log)
        d->n_log = keep;
}

static void log_drop_prefix(struct sim_disk *d, uint32_t n_drop)
{
    for (uint32_t i = 0; i < n_drop; i++)
        sim_entry_free(&d->log[i]);
    memmove(d->log, d->log + n_drop, (size_t)(d->n_log - n_drop) * sizeof(d->log[0]));
    d->n_log -= n_drop;
}

/* An entry at index i replaces the durable log from i on. */
static void durable_entry(struct sim_world *w, struct sim_node *n, const struct sim_entry *e)
{
    struct sim_disk *d = &n->disk;
    uint64_t first = d->snap.meta.index + 1;

    if (e->index < first)
        return; /* already covered by the durable snapshot */
    if (e->index > disk_last_index(d) + 1) {
        sim_violation(w,
                      "n%u persisted entry %llu but its durable log ends at %llu "
                      "(a gap in the write-ahead log)",
                      n->idx + 1, (unsigned long long)e->index,
                      (unsigned long long)disk_last_index(d));
        return;
    }
    log_truncate_from(d, (uint32_t)(e->index - first));
    if (d->n_log == d->cap_log) {
        uint32_t cap = d->cap_log ? d->cap_log * 2 : 256;
        struct sim_entry *v = realloc(d->log, (size_t)cap * sizeof(*v));

        NR_ASSERT(v != NULL);
        d->log = v;
        d->cap_log = cap;
    }
    sim_check_durable(w, n, e);
    struct sim_entry *dst = &d->log[d->n_log++];

    *dst = *e;
    dst->data = NULL;
    if (e->len > 0) {
        dst->data = malloc(e->len);
        NR_ASSERT(dst->data != NULL);
        memcpy(dst->data, e->data, e->len);
    }
}

void sim_disk_put_snap(struct sim_node *n, const struct sim_snap *snap)
{
    struct sim_disk *d = &n->disk;
    uint64_t first = d->snap.meta.index + 1;
    bool is_match = false;

    if (snap->meta.index < d->snap.meta.index)
        return; /* the newer snapshot stays, as a snapshot file would */
    /* Keep the entries after the snapshot only when the log holds the
     * snapshot's own last entry (same index, same term); otherwise the
     * suffix may contradict it and goes too. */
    if (snap->meta.index >= first && snap->meta.index <= disk_last_index(d)) {
        const struct sim_entry *e = &d->log[snap->meta.index - first];

        is_match = e->term == snap->meta.term;
    }
    if (is_match)
        log_drop_prefix(d, (uint32_t)(snap->meta.index - first + 1));
    else
        log_truncate_from(d, 0);
    d->snap = *snap;
}

/* Applies the first n_records records of b, in record order: snapshot,
 * entries, then the hard state (raft.h, struct raft_output), so a torn
 * batch never keeps a commit index whose entries it lost. */
static void durable_records(struct sim_world *w, struct sim_node *n, const struct sim_batch *b,
                            uint32_t n_records)
{
    uint32_t done = 0;

    if (b->has_snap && done < n_records) {
        sim_disk_put_snap(n, &b->snap);
        done++;
    }
    for (uint32_t i = 0; i < b->n_entries && done < n_records; i++, done++)
        durable_entry(w, n, &b->entries[i]);
    if (b->has_hs && done < n_records)
        n->disk.hs = b->hs;
}

static uint32_t batch_records(const struct sim_batch *b)
{
    return (b->has_hs ? 1u : 0u) + (b->has_snap ? 1u : 0u) + b->n_entries;
}

struct sim_batch *sim_disk_complete(struct sim_world *w, struct sim_node *n)
{
    struct sim_disk *d = &n->disk;
    struct sim_batch *b = d->head;

    if (b == NULL)
        return NULL;
    d->head = b->next;
    if (d->head == NULL) {
        d->tail = NULL;
        d->last_done_us = 0;
    }
    d->n_pending--;
    b->next = NULL;
    durable_records(w, n, b, batch_records(b));
    return b;
}

void sim_disk_crash(struct sim_world *w, struct sim_node *n)
{
    struct sim_disk *d = &n->disk;
    struct sim_batch *b = d->head;

    if (b != NULL && sim_rng_bp(&w->rng, w->p.torn_bp)) {
        uint32_t total = batch_records(b);
        uint32_t keep = (uint32_t)sim_rng_range(&w->rng, 0, total);

        durable_records(w, n, b, keep);
        w->st.torn++;
        sim_log(w, SIM_REC_TORN, n->idx, keep, total, 0, 0, 0, 0);
    }
    while (d->head != NULL) {
        b = d->head;
        d->head = b->next;
        sim_batch_free(b);
    }
    d->tail = NULL;
    d->n_pending = 0;
    d->last_done_us = 0;
}

void sim_disk_boot(const struct sim_node *n, struct raft_boot *boot, struct raft_entry *ents)
{
    const struct sim_disk *d = &n->disk;
    uint64_t last = disk_last_index(d);

    memset(boot, 0, sizeof(*boot));
    boot->hard_state = d->hs;
    /* The durable state as it is: with entries written before the hard
     * state, a commit index never runs ahead of the log, and the core takes
     * care of a term that the log ran ahead of (raft.h). */
    (void)last;
    /* Entries reach the disk before the hard state of their batch, so a
     * torn batch may keep entries of a term the durable hard state has not
     * reached: raft_create() takes that term itself (raft.h). */
    boot->snap = d->snap.meta;
    for (uint32_t i = 0; i < d->n_log; i++) {
        ents[i] = (struct raft_entry){.term = d->log[i].term,
                                      .index = d->log[i].index,
                                      .type = d->log[i].type,
                                      .len = d->log[i].len,
                                      .data = d->log[i].data};
    }
    boot->entries = d->n_log > 0 ? ents : NULL;
    boot->n_entries = d->n_log;
    boot->applied_index = d->snap.meta.index;
}

void sim_disk_free(struct sim_disk *d)
{
    while (d->head != NULL) {
        struct sim_batch *b = d->head;

        d->head = b->next;
        sim_batch_free(b);
    }
    log_truncate_from(d, 0);
    free(d->log);
    memset(d, 0, sizeof(*d));
}
