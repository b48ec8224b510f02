/* bench_baseline.c - what moving the entries costs without raft: the leader
 * copies each entry into its log, sends it to both followers through the
 * same queues as the raft bench (one copy in, one copy out), each follower
 * copies it into its log and acknowledges, and one acknowledgement commits
 * (a majority with the leader). No terms, checks, progress or windows. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#define LOG_SLOTS (1u << 16) /* ring of entry slots per member */
#define ROUNDS_MAX 16

struct bench_baseline {
    struct bench_queue queues[2];
    uint32_t cur;
    uint8_t *log[BENCH_MEMBERS + 1]; /* LOG_SLOTS * BENCH_ENTRY_BYTES each */
    uint64_t last_index[BENCH_MEMBERS + 1];
    uint64_t commit_index;
    struct raft_entry out[BENCH_BATCH]; /* the leader's outgoing entries */
};

int bench_baseline_create(struct bench_baseline **out)
{
    struct bench_baseline *b = calloc(1, sizeof(*b));

    *out = NULL;
    if (b == NULL)
        return -1;
    if (bench_queue_init(&b->queues[0]) != 0 || bench_queue_init(&b->queues[1]) != 0)
        goto fail_free;
    for (uint32_t id = 1; id <= BENCH_MEMBERS; id++) {
        b->log[id] = calloc(LOG_SLOTS, BENCH_ENTRY_BYTES);
        if (b->log[id] == NULL)
            goto fail_free;
    }
    *out = b;
    return 0;
fail_free:
    bench_baseline_destroy(b);
    return -1;
}

void bench_baseline_destroy(struct bench_baseline *b)
{
    if (b == NULL)
        return;
    bench_queue_free(&b->queues[0]);
    bench_queue_free(&b->queues[1]);
    for (uint32_t id = 1; id <= BENCH_MEMBERS; id++)
        free(b->log[id]);
    free(b);
}

static uint8_t *slot(struct bench_baseline *b, uint64_t id, uint64_t index)
{
    return b->log[id] + (index % LOG_SLOTS) * BENCH_ENTRY_BYTES;
}

static void follower_append(struct bench_baseline *b, struct bench_queue *next,
                            const struct raft_msg *m)
{
    for (uint32_t i = 0; i < m->n_entries; i++)
        memcpy(slot(b, m->to, m->entries[i].index), m->entries[i].data, BENCH_ENTRY_BYTES);
    b->last_index[m->to] = m->index + m->n_entries;
    struct raft_msg ack = {
            .type = RAFT_MSG_APPEND_RESP,
            .from = m->to,
            .to = m->from,
            .term = m->term,
            .index = b->last_index[m->to],
    };
    bench_queue_push(next, &ack);
}

uint64_t bench_baseline_round(struct bench_baseline *b, const uint8_t *payload, uint32_t n)
{
    uint64_t committed_before = b->commit_index;
    uint64_t prev = b->last_index[1];

    for (uint32_t i = 0; i < n && i < BENCH_BATCH; i++) {
        uint64_t index = prev + 1 + i;
        memcpy(slot(b, 1, index), payload, BENCH_ENTRY_BYTES);
        b->out[i] = (struct raft_entry){
                .term = 1,
                .index = index,
                .type = RAFT_ENTRY_NORMAL,
                .len = BENCH_ENTRY_BYTES,
                .data = slot(b, 1, index),
        };
    }
    b->last_index[1] = prev + n;
    for (uint64_t id = 2; id <= BENCH_MEMBERS; id++) {
        struct raft_msg m = {
                .type = RAFT_MSG_APPEND,
                .from = 1,
                .to = id,
                .term = 1,
                .index = prev,
                .log_term = 1,
                .commit = b->commit_index,
                .n_entries = n,
                .entries = b->out,
        };
        bench_queue_push(&b->queues[b->cur ^ 1], &m);
    }
    for (uint32_t r = 0; r < ROUNDS_MAX; r++) {
        b->cur ^= 1;
        struct bench_queue *q = &b->queues[b->cur];
        if (q->n_msgs == 0)
            break;
        struct bench_queue *next = &b->queues[b->cur ^ 1];
        bench_queue_reset(next);
        for (uint32_t i = 0; i < q->n_msgs; i++) {
            const struct raft_msg *m = &q->msgs[i];
            if (m->type == RAFT_MSG_APPEND)
                follower_append(b, next, m);
            else if (m->index > b->commit_index)
                b->commit_index = m->index;
        }
        bench_queue_reset(q);
    }
    return b->commit_index - committed_before;
}
