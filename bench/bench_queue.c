/* bench_queue.c - a delivery round's messages, copied into fixed arenas. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_queue_init(struct bench_queue *q)
{
    memset(q, 0, sizeof(*q));
    q->msgs = calloc(BQ_MSGS_MAX, sizeof(q->msgs[0]));
    q->ents = calloc(BQ_ENTRIES_MAX, sizeof(q->ents[0]));
    q->data = calloc(BQ_DATA_MAX, 1);
    if (q->msgs == NULL || q->ents == NULL || q->data == NULL) {
        bench_queue_free(q);
        return -1;
    }
    return 0;
}

void bench_queue_free(struct bench_queue *q)
{
    free(q->msgs);
    free(q->ents);
    free(q->data);
    memset(q, 0, sizeof(*q));
}

void bench_queue_reset(struct bench_queue *q)
{
    q->n_msgs = 0;
    q->n_ents = 0;
    q->n_data = 0;
}

static void queue_full(const char *what)
{
    fprintf(stderr, "raft-core-bench: queue %s arena full: the bench's sizing is wrong\n", what);
    exit(1);
}

void bench_queue_push(struct bench_queue *q, const struct raft_msg *m)
{
    if (q->n_msgs == BQ_MSGS_MAX)
        queue_full("message");
    if (m->n_entries > BQ_ENTRIES_MAX - q->n_ents)
        queue_full("entry");
    struct raft_msg *d = &q->msgs[q->n_msgs++];
    /* The fields before snap are all a non-snapshot message uses. */
    if (m->type == RAFT_MSG_SNAPSHOT)
        *d = *m;
    else
        memcpy(d, m, offsetof(struct raft_msg, snap));
    if (m->n_entries == 0) {
        d->entries = NULL;
        return;
    }
    struct raft_entry *e = &q->ents[q->n_ents];
    for (uint32_t i = 0; i < m->n_entries; i++) {
        e[i] = m->entries[i];
        if (e[i].len > BQ_DATA_MAX - q->n_data)
            queue_full("data");
        if (e[i].len > 0)
            memcpy(q->data + q->n_data, m->entries[i].data, e[i].len);
        e[i].data = q->data + q->n_data;
        q->n_data += e[i].len;
    }
    q->n_ents += m->n_entries;
    d->entries = e;
}
