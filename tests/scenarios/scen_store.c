/* scen_store.c - the scenario runner's simulated WAL: hard state, the last
 * snapshot's metadata and digest, and the entries after it. */
#include "scen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scen_store_init(struct scen_store *s)
{
    memset(s, 0, sizeof(*s));
    s->log = scen_xcalloc(SCEN_LOG_MAX, sizeof(s->log[0]));
}

void scen_store_free(struct scen_store *s)
{
    free(s->log);
    s->log = NULL;
    s->n_log = 0;
}

void scen_store_copy(struct scen_store *dst, const struct scen_store *src)
{
    dst->hs = src->hs;
    dst->snap = src->snap;
    dst->snap_digest = src->snap_digest;
    dst->n_log = src->n_log;
    memcpy(dst->log, src->log, src->n_log * sizeof(src->log[0]));
}

void scen_store_last(const struct scen_store *s, uint64_t *index, uint64_t *term)
{
    if (s->n_log == 0) {
        *index = s->snap.index;
        *term = s->snap.term;
        return;
    }
    *index = s->log[s->n_log - 1].index;
    *term = s->log[s->n_log - 1].term;
}

static int store_put(struct scen_store *s, const struct raft_entry *e, struct nr_err *err)
{
    if (e->index <= s->snap.index)
        return nr_errf(err, NR_ERANGE,
                       "persist of entry %" PRIu64 " at or below the snapshot at %" PRIu64,
                       e->index, s->snap.index);
    uint64_t pos = e->index - s->snap.index - 1;
    if (pos > s->n_log)
        return nr_errf(err, NR_ERANGE, "persist of entry %" PRIu64 " leaves a gap after %" PRIu64,
                       e->index, s->snap.index + s->n_log);
    if (pos >= SCEN_LOG_MAX || e->index > SCEN_LOG_MAX)
        return nr_errf(err, NR_ERANGE, "entry %" PRIu64 " is past the scenario limit %d", e->index,
                       SCEN_LOG_MAX);
    if (e->len > SCEN_ENTRY_BYTES_MAX)
        return nr_errf(err, NR_ERANGE, "entry %" PRIu64 " has %u bytes, scenario limit %u",
                       e->index, e->len, SCEN_ENTRY_BYTES_MAX);
    struct scen_entry *d = &s->log[pos];
    d->term = e->term;
    d->index = e->index;
    d->type = e->type;
    d->len = e->len;
    if (e->len > 0)
        memcpy(d->data, e->data, e->len);
    /* Storage drops the suffix from the first entry it is given. */
    s->n_log = (uint32_t)pos + 1;
    return 0;
}

int scen_store_append(struct scen_store *s, const struct raft_entry *e, uint32_t n,
                      struct nr_err *err)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && e[i].index != e[i - 1].index + 1)
            return nr_errf(err, NR_ERANGE,
                           "persist entries not contiguous: %" PRIu64 " after %" PRIu64, e[i].index,
                           e[i - 1].index);
        int rc = store_put(s, &e[i], err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void scen_store_install(struct scen_store *s, const struct raft_snap_meta *meta, uint64_t digest)
{
    uint32_t keep_from = s->n_log; /* nothing kept */

    /* Raft paper Figure 13 step 6: an existing entry with the snapshot's
     * index and term keeps the entries after it; otherwise drop the log. */
    for (uint32_t i = 0; i < s->n_log; i++) {
        if (s->log[i].index == meta->index && s->log[i].term == meta->term) {
            keep_from = i + 1;
            break;
        }
    }
    uint32_t n_keep = s->n_log - keep_from;
    memmove(s->log, s->log + keep_from, n_keep * sizeof(s->log[0]));
    s->n_log = n_keep;
    s->snap = *meta;
    s->snap_digest = digest;
}
