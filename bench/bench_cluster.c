/* bench_cluster.c - three real raft cores driven like a poller drives them
 * (CONVENTIONS section 2), with storage that is durable at once: after each
 * step the driver reports RAFT_IN_PERSISTED for the last entry it was told
 * to persist, releases send_after_sync behind it, applies what is committed
 * (RAFT_IN_APPLIED) and compacts every compact_every applied entries so the
 * in-memory window never fills. */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define FOLLOWUPS_MAX 16 /* persisted/applied/compact steps after one input */
#define ROUNDS_MAX 1024  /* delivery rounds until quiet */
#define COMPACT_EVERY 10000
/* The default window's 256 MiB data ring would still be faulting in pages
 * (first touch) seconds into the run; 8 MiB holds the 64 Ki-entry window of
 * 64-byte entries twice over and is laps deep after the warm-up. */
#define LOG_BYTES_MAX (8u << 20)

static void handle_output(struct bench_cluster *c, struct bench_node *n, uint64_t id,
                          const struct raft_output *out)
{
    struct bench_queue *next = &c->queues[c->cur ^ 1];

    if (out->persist.n > 0) {
        const struct raft_entry *last = &out->persist.v[out->persist.n - 1];
        n->is_persist_due = true;
        n->persist_index = last->index;
        n->persist_term = last->term;
    }
    for (uint32_t i = 0; i < out->send_now.n; i++)
        bench_queue_push(next, &out->send_now.v[i]);
    /* Durable already: after-sync messages leave in the same round. */
    for (uint32_t i = 0; i < out->send_after_sync.n; i++)
        bench_queue_push(next, &out->send_after_sync.v[i]);
    if (out->apply.n > 0) {
        if (id == c->leader_id)
            for (uint32_t i = 0; i < out->apply.n; i++)
                c->committed_entries += out->apply.v[i].type == RAFT_ENTRY_NORMAL;
        n->applied_index = out->apply.v[out->apply.n - 1].index;
        n->is_apply_due = true;
    }
}

static int step_once(struct bench_cluster *c, uint64_t id, const struct raft_input *in)
{
    struct bench_node *n = &c->nodes[id];
    struct raft_output out;
    struct nr_err err;

    int rc = raft_step(n->raft, in, &out, &err);
    c->steps++;
    handle_output(c, n, id, &out);
    raft_advance(n->raft, &out);
    if (rc != 0 && in->kind != RAFT_IN_RECV) {
        fprintf(stderr, "raft-core-bench: member %" PRIu64 ": input %u refused: %s: %s\n", id,
                in->kind, nr_code_name(rc), err.msg);
        return -1;
    }
    return 0;
}

/* Storage and the state machine answer at once. */
static int step(struct bench_cluster *c, uint64_t id, const struct raft_input *in)
{
    struct bench_node *n = &c->nodes[id];

    if (step_once(c, id, in) != 0)
        return -1;
    for (uint32_t i = 0; i < FOLLOWUPS_MAX; i++) {
        struct raft_input f = {0};
        if (n->is_persist_due) {
            n->is_persist_due = false;
            f.kind = RAFT_IN_PERSISTED;
            f.index = n->persist_index;
            f.term = n->persist_term;
        } else if (n->is_apply_due) {
            n->is_apply_due = false;
            f.kind = RAFT_IN_APPLIED;
            f.index = n->applied_index;
        } else if (n->applied_index - n->compacted_index >= c->compact_every) {
            f.kind = RAFT_IN_COMPACT;
            f.index = n->applied_index;
            n->compacted_index = n->applied_index;
        } else {
            return 0;
        }
        if (step_once(c, id, &f) != 0)
            return -1;
    }
    fprintf(stderr, "raft-core-bench: member %" PRIu64 ": follow-up steps did not settle\n", id);
    return -1;
}

/* Delivers round after round until no message is left. */
static int pump(struct bench_cluster *c)
{
    for (uint32_t r = 0; r < ROUNDS_MAX; r++) {
        c->cur ^= 1;
        struct bench_queue *q = &c->queues[c->cur];
        if (q->n_msgs == 0)
            return 0;
        bench_queue_reset(&c->queues[c->cur ^ 1]);
        for (uint32_t i = 0; i < q->n_msgs; i++) {
            const struct raft_msg *m = &q->msgs[i];
            struct raft_input in = {.kind = RAFT_IN_RECV, .msg = m};
            if (m->to == 0 || m->to > BENCH_MEMBERS) {
                fprintf(stderr, "raft-core-bench: message to unknown member %" PRIu64 "\n", m->to);
                return -1;
            }
            c->msgs_stepped++;
            if (step(c, m->to, &in) != 0)
                return -1;
        }
        bench_queue_reset(q);
    }
    fprintf(stderr, "raft-core-bench: messages still flowing after %d rounds\n", ROUNDS_MAX);
    return -1;
}

static int elect(struct bench_cluster *c, uint64_t id, uint32_t election_ticks)
{
    struct raft_status st;

    /* The timeout fires within [e, 2e) ticks; 3e bounds the wait. */
    for (uint32_t t = 0; t < 3 * election_ticks; t++) {
        struct raft_input in = {.kind = RAFT_IN_TICK};
        if (step(c, id, &in) != 0 || pump(c) != 0)
            return -1;
        raft_status(c->nodes[id].raft, &st);
        if (st.role == RAFT_LEADER) {
            c->leader_id = id;
            return 0;
        }
    }
    fprintf(stderr, "raft-core-bench: member %" PRIu64 " did not become leader (role %s)\n", id,
            raft_role_name(st.role));
    return -1;
}

int bench_cluster_init(struct bench_cluster *c, uint64_t seed)
{
    struct raft_config cfg;
    struct raft_boot boot;
    struct nr_err err;

    memset(c, 0, sizeof(*c));
    c->compact_every = COMPACT_EVERY;
    c->warmup_entries = 3 * (LOG_BYTES_MAX / BENCH_ENTRY_BYTES);
    if (bench_queue_init(&c->queues[0]) != 0 || bench_queue_init(&c->queues[1]) != 0) {
        fprintf(stderr, "raft-core-bench: cannot allocate queues\n");
        bench_cluster_free(c);
        return -1;
    }
    memset(&boot, 0, sizeof(boot));
    for (uint64_t id = 1; id <= BENCH_MEMBERS; id++)
        boot.snap.conf.voters[id - 1] = id;
    boot.snap.conf.n_voters = BENCH_MEMBERS;
    for (uint64_t id = 1; id <= BENCH_MEMBERS; id++) {
        raft_config_default(&cfg, id, seed + id);
        cfg.log_bytes_max = LOG_BYTES_MAX;
        int rc = raft_create(&cfg, &boot, &c->nodes[id].raft, &err);
        if (rc != 0) {
            fprintf(stderr, "raft-core-bench: raft_create %" PRIu64 ": %s: %s\n", id,
                    nr_code_name(rc), err.msg);
            bench_cluster_free(c);
            return -1;
        }
    }
    if (elect(c, 1, cfg.election_ticks) != 0) {
        bench_cluster_free(c);
        return -1;
    }
    return 0;
}

void bench_cluster_free(struct bench_cluster *c)
{
    for (uint64_t id = 1; id <= BENCH_MEMBERS; id++)
        if (c->nodes[id].raft != NULL)
            raft_destroy(c->nodes[id].raft);
    bench_queue_free(&c->queues[0]);
    bench_queue_free(&c->queues[1]);
    memset(c, 0, sizeof(*c));
}

int bench_cluster_propose(struct bench_cluster *c, const struct raft_proposal *props, uint32_t n)
{
    struct raft_input in = {.kind = RAFT_IN_PROPOSE, .propose = props, .n_propose = n};

    if (step(c, c->leader_id, &in) != 0)
        return -1;
    return pump(c);
}
