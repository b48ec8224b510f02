/* bench.h - raft-core-bench: one thread, three real raft cores exchanging
 * messages through in-memory queues, no I/O, persistence "instant".
 *
 * Every buffer is allocated before the timed phases; the queues copy each
 * message and its entries (the output belongs to the node until
 * raft_advance()) into fixed arenas that are reset once per delivery round.
 */
#ifndef NICRAFT_BENCH_H
#define NICRAFT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define BENCH_MEMBERS 3
#define BENCH_ENTRY_BYTES 64
#define BENCH_BATCH 64

/* ---- queues (bench_queue.c) -------------------------------------------- */

#define BQ_MSGS_MAX 4096
#define BQ_ENTRIES_MAX (1u << 16)
#define BQ_DATA_MAX (BQ_ENTRIES_MAX * BENCH_ENTRY_BYTES)

/* One delivery round's messages; entries and their bytes copied alongside. */
struct bench_queue {
    struct raft_msg *msgs;   /* BQ_MSGS_MAX */
    struct raft_entry *ents; /* BQ_ENTRIES_MAX */
    uint8_t *data;           /* BQ_DATA_MAX */
    uint32_t n_msgs;
    uint32_t n_ents;
    size_t n_data;
};

/* 0, or -1 when allocation fails (at start-up only). */
int bench_queue_init(struct bench_queue *q);
void bench_queue_free(struct bench_queue *q);
void bench_queue_reset(struct bench_queue *q);
/* Copies m with its entries. Full arenas are a bench sizing bug: it stops. */
void bench_queue_push(struct bench_queue *q, const struct raft_msg *m);

/* ---- the raft cluster (bench_cluster.c) --------------------------------- */

struct bench_node {
    struct raft_node *raft;
    uint64_t applied_index;
    uint64_t compacted_index;
    bool is_persist_due;
    bool is_apply_due;
    uint64_t persist_index;
    uint64_t persist_term;
};

struct bench_cluster {
    struct bench_node nodes[BENCH_MEMBERS + 1]; /* by member ID 1..3 */
    struct bench_queue queues[2];
    uint32_t cur; /* queues[cur] is being delivered */
    uint64_t leader_id;
    uint64_t compact_every;     /* entries applied between compactions */
    uint64_t warmup_entries;    /* enough to lap the log's data ring */
    uint64_t committed_entries; /* NORMAL entries applied at the leader */
    uint64_t msgs_stepped;      /* RAFT_IN_RECV inputs */
    uint64_t steps;             /* all inputs */
};

/* Creates three members and elects member 1. 0, or -1 with a line on stderr. */
int bench_cluster_init(struct bench_cluster *c, uint64_t seed);
void bench_cluster_free(struct bench_cluster *c);
/* Proposes n entries of BENCH_ENTRY_BYTES in one input to the leader, then
 * delivers messages until the cluster is quiet. 0, or -1 with a line on
 * stderr (a refusal: the bench stops rather than report nonsense). */
int bench_cluster_propose(struct bench_cluster *c, const struct raft_proposal *props, uint32_t n);

/* ---- the baseline (bench_baseline.c) ------------------------------------- */

/* The same entries moved leader -> two followers -> acks through the same
 * queues, without raft: what copying alone costs. */
struct bench_baseline;
int bench_baseline_create(struct bench_baseline **out);
void bench_baseline_destroy(struct bench_baseline *b);
/* Sends n entries and delivers until quiet; returns entries committed
 * (acknowledged by one follower, a majority with the leader). */
uint64_t bench_baseline_round(struct bench_baseline *b, const uint8_t *payload, uint32_t n);

/* ---- allocation counting (bench_malloc.c) ---------------------------------- */

/* Whether malloc/calloc/realloc/free are interposed in this build (not
 * under a sanitizer, whose runtime owns malloc). */
bool bench_malloc_is_counted(void);
/* Calls to malloc, calloc, realloc, free and the aligned allocators so far. */
uint64_t bench_malloc_calls(void);

#endif
