/* readindex.c - linearizable reads by ReadIndex (Raft thesis 6.4): a read
 * waits until the leader has committed an entry of its term, takes the
 * commit index, and is answered once a quorum acknowledged a heartbeat sent
 * after it arrived. Requests wait in a bounded FIFO; heartbeats carry the
 * round number (ctx), so periodic heartbeats confirm reads too. */
#include <inttypes.h>

#include "raft_int.h"

static struct raft_read_req *req_at(struct raft_node *node, uint32_t i)
{
    return &node->reads[(node->reads_head + i) % node->cfg.read_queue_max];
}

static bool committed_in_term(const struct raft_node *node)
{
    return raft_log_term(&node->log, node->log.committed) == node->term;
}

static uint64_t read_ack_of(const void *ctx, uint64_t id)
{
    const struct raft_node *node = ctx;

    if (id == node->id)
        return node->read_seq;
    for (uint32_t i = 0; i < node->n_prs; i++)
        if (node->prs[i].id == id)
            return node->prs[i].read_ack;
    return 0;
}

/* Starts a heartbeat round for the requests that have none yet. */
static void start_round(struct raft_node *node)
{
    bool any = false;

    for (uint32_t i = 0; i < node->n_reads; i++) {
        struct raft_read_req *r = req_at(node, i);

        if (r->seq != 0)
            continue;
        r->seq = node->read_seq + 1;
        r->index = node->log.committed;
        any = true;
    }
    if (!any)
        return;
    node->read_seq++;
    raft_bcast_heartbeat(node, node->read_seq);
    raft_reads_on_ack(node); /* a single voter confirms itself */
}

int raft_read_index(struct raft_node *node, uint64_t ctx, struct nr_err *err)
{
    struct raft_read_req *r;

    if (node->role != RAFT_LEADER) {
        node->stats.refused_not_leader++;
        if (node->lead != RAFT_ID_NONE)
            return nr_errf(err, NR_ENOTLEADER,
                           "read refused: not the leader; the leader is %016" PRIx64, node->lead);
        return nr_errf(err, NR_ENOTLEADER, "read refused: not the leader, and no leader is known");
    }
    if (node->n_reads >= node->cfg.read_queue_max) {
        node->stats.refused_busy++;
        return nr_errf(err, NR_EBUSY, "read refused: %u reads already wait for confirmation",
                       node->n_reads);
    }
    r = req_at(node, node->n_reads);
    *r = (struct raft_read_req){.ctx = ctx, .index = 0, .seq = 0};
    node->n_reads++;
    if (committed_in_term(node))
        start_round(node);
    return 0;
}

void raft_reads_on_commit(struct raft_node *node)
{
    if (node->n_reads > 0 && committed_in_term(node))
        start_round(node);
}

void raft_reads_on_ack(struct raft_node *node)
{
    uint64_t acked = raft_quorum_joint_committed(&node->members.conf, read_ack_of, node);

    /* Rounds are numbered in arrival order, so the FIFO releases a prefix. */
    while (node->n_reads > 0) {
        struct raft_read_req *r = req_at(node, 0);

        if (r->seq == 0 || r->seq > acked)
            break;
        NR_ASSERT(node->n_ready < node->cfg.read_queue_max);
        node->ready[node->n_ready++] = (struct raft_read_state){r->ctx, r->index};
        node->reads_head = (node->reads_head + 1) % node->cfg.read_queue_max;
        node->n_reads--;
    }
}

void raft_reads_drop(struct raft_node *node)
{
    node->reads_head = 0;
    node->n_reads = 0;
}
