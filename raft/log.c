/* log.c - the in-memory log window: entries after the last snapshot, with
 * their data in a byte ring sized at creation. Nothing here allocates after
 * raft_log_init(). */
#include <stdlib.h>
#include <string.h>

#include "raft_int.h"

int raft_log_init(struct raft_log *log, uint32_t entries_max, uint64_t bytes_max)
{
    memset(log, 0, sizeof(*log));
    log->ring = calloc(entries_max, sizeof(log->ring[0]));
    log->data_pos = calloc(entries_max, sizeof(log->data_pos[0]));
    log->data = malloc(bytes_max);
    if (log->ring == NULL || log->data_pos == NULL || log->data == NULL) {
        raft_log_free(log);
        return NR_ENOMEM;
    }
    log->cap = entries_max;
    log->data_cap = bytes_max;
    return 0;
}

void raft_log_free(struct raft_log *log)
{
    free(log->ring);
    free(log->data_pos);
    free(log->data);
    log->ring = NULL;
    log->data_pos = NULL;
    log->data = NULL;
}

static uint32_t slot(const struct raft_log *log, uint64_t index)
{
    return (uint32_t)(index % log->cap);
}

uint64_t raft_log_term(const struct raft_log *log, uint64_t index)
{
    if (index == log->snap_index)
        return log->snap_term;
    if (index < log->snap_index || index > log->last_index)
        return 0;
    return log->ring[slot(log, index)].term;
}

uint64_t raft_log_last_term(const struct raft_log *log)
{
    return raft_log_term(log, log->last_index);
}

const struct raft_entry *raft_log_entry(const struct raft_log *log, uint64_t index)
{
    NR_ASSERT(index > log->snap_index);
    NR_ASSERT(index <= log->last_index);
    return &log->ring[slot(log, index)];
}

bool raft_log_match_term(const struct raft_log *log, uint64_t index, uint64_t term)
{
    if (index < log->snap_index || index > log->last_index)
        return false;
    return raft_log_term(log, index) == term;
}

/* Where data of len bytes would start if placed at position pos: data stays
 * contiguous, so a piece that would cross the ring's end starts at the next
 * lap instead. */
static uint64_t place(const struct raft_log *log, uint64_t pos, uint32_t len)
{
    uint64_t off = pos % log->data_cap;

    if (off + len > log->data_cap)
        return pos + (log->data_cap - off);
    return pos;
}

bool raft_log_fits(const struct raft_log *log, uint64_t from, uint32_t n, uint64_t bytes)
{
    uint64_t keep = from - 1; /* entries kept: (snap_index, keep] */
    uint64_t tail;

    NR_ASSERT(from > log->snap_index);
    if (keep > log->last_index)
        keep = log->last_index;
    if (keep - log->snap_index + n >= log->cap) /* one slot stays free */
        return false;
    tail = keep < log->last_index ? log->data_pos[slot(log, keep + 1)] : log->data_tail;
    /* A batch smaller than the ring crosses its end at most once and wastes
     * less than its own size there: twice the bytes is a safe bound. */
    return bytes <= log->data_cap && (tail - log->data_head) + 2 * bytes <= log->data_cap;
}

bool raft_log_has_room(const struct raft_log *log, uint32_t len)
{
    uint64_t pos = place(log, log->data_tail, len);

    /* One slot stays free for a new leader's no-op (node.c). */
    return log->last_index - log->snap_index + 1 < log->cap &&
           pos + len - log->data_head <= log->data_cap;
}

const struct raft_entry *raft_log_append(struct raft_log *log, uint64_t term, uint32_t type,
                                         const uint8_t *data, uint32_t len)
{
    uint64_t index = log->last_index + 1;
    uint64_t pos = place(log, log->data_tail, len);
    struct raft_entry *e = &log->ring[slot(log, index)];

    NR_ASSERT(index - log->snap_index <= log->cap);
    NR_ASSERT(pos + len - log->data_head <= log->data_cap);
    NR_ASSERT(term >= raft_log_last_term(log));
    if (len > 0)
        memcpy(log->data + pos % log->data_cap, data, len);
    e->term = term;
    e->index = index;
    e->type = type;
    e->len = len;
    e->data = log->data + pos % log->data_cap;
    log->data_pos[slot(log, index)] = pos;
    log->data_tail = pos + len;
    log->last_index = index;
    return e;
}

void raft_log_truncate(struct raft_log *log, uint64_t index)
{
    NR_ASSERT(index > log->committed);
    NR_ASSERT(index > log->snap_index);
    if (index > log->last_index)
        return;
    log->data_tail = log->data_pos[slot(log, index)];
    log->last_index = index - 1;
    if (log->persisted > log->last_index)
        log->persisted = log->last_index;
}

void raft_log_compact(struct raft_log *log, uint64_t index)
{
    NR_ASSERT(index <= log->applied);
    NR_ASSERT(index <= log->last_index);
    if (index <= log->snap_index)
        return;
    log->snap_term = raft_log_term(log, index);
    log->snap_index = index;
    log->data_head = index < log->last_index ? log->data_pos[slot(log, index + 1)]
                                             : log->data_tail;
}

void raft_log_restore(struct raft_log *log, uint64_t index, uint64_t term)
{
    log->snap_index = index;
    log->snap_term = term;
    log->last_index = index;
    log->committed = index;
    log->persisted = index;
    log->applying = index;
    log->applied = index;
    log->data_head = log->data_tail;
}

uint64_t raft_log_find_conflict_by_term(const struct raft_log *log, uint64_t index,
                                        uint64_t term, uint64_t *term_out)
{
    uint64_t t;

    if (index > log->last_index) {
        *term_out = 0;
        return index;
    }
    /* Bounded by the window: below snap_index the term is unknown. */
    for (;;) {
        t = raft_log_term(log, index);
        if (t <= term || index <= log->snap_index)
            break;
        index--;
    }
    *term_out = t;
    return index;
}
