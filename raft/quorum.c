/* quorum.c - majority and joint quorum arithmetic. Pure functions over a
 * voter set and a lookup; no node state (Raft thesis 4.3 for joint). */
#include "raft_int.h"

static void sort_desc(uint64_t *v, uint32_t n)
{
    /* Insertion sort: at most RAFT_VOTERS_MAX elements. */
    for (uint32_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        uint32_t j = i;

        while (j > 0 && v[j - 1] < x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

uint64_t raft_quorum_committed(const uint64_t *voters, uint32_t n_voters,
                               uint64_t (*ack)(const void *ctx, uint64_t id), const void *ctx)
{
    uint64_t sorted[RAFT_VOTERS_MAX];

    NR_ASSERT(n_voters <= RAFT_VOTERS_MAX);
    if (n_voters == 0)
        return UINT64_MAX; /* an empty half defers to the other one */
    for (uint32_t i = 0; i < n_voters; i++)
        sorted[i] = ack(ctx, voters[i]);
    sort_desc(sorted, n_voters);
    /* sorted[k] is held by at least k + 1 voters; a majority is n / 2 + 1. */
    uint64_t committed = sorted[n_voters / 2];
    NR_ASSERT(committed <= sorted[0]);
    return committed;
}

uint64_t raft_quorum_joint_committed(const struct raft_conf *conf,
                                     uint64_t (*ack)(const void *ctx, uint64_t id),
                                     const void *ctx)
{
    uint64_t in = raft_quorum_committed(conf->voters, conf->n_voters, ack, ctx);
    uint64_t out = raft_quorum_committed(conf->voters_outgoing, conf->n_voters_outgoing, ack, ctx);

    return in < out ? in : out;
}

uint32_t raft_quorum_vote(const uint64_t *voters, uint32_t n_voters,
                          int (*vote)(const void *ctx, uint64_t id), const void *ctx)
{
    uint32_t granted = 0;
    uint32_t missing = 0;
    uint32_t quorum = n_voters / 2 + 1;

    NR_ASSERT(n_voters <= RAFT_VOTERS_MAX);
    if (n_voters == 0)
        return RAFT_VOTE_WON; /* by convention, like the committed index */
    for (uint32_t i = 0; i < n_voters; i++) {
        int v = vote(ctx, voters[i]);

        if (v > 0)
            granted++;
        else if (v == 0)
            missing++;
    }
    if (granted >= quorum)
        return RAFT_VOTE_WON;
    if (granted + missing >= quorum)
        return RAFT_VOTE_PENDING;
    return RAFT_VOTE_LOST;
}

uint32_t raft_quorum_joint_vote(const struct raft_conf *conf,
                                int (*vote)(const void *ctx, uint64_t id), const void *ctx)
{
    uint32_t in = raft_quorum_vote(conf->voters, conf->n_voters, vote, ctx);
    uint32_t out = raft_quorum_vote(conf->voters_outgoing, conf->n_voters_outgoing, vote, ctx);

    if (in == out)
        return in;
    if (in == RAFT_VOTE_LOST || out == RAFT_VOTE_LOST)
        return RAFT_VOTE_LOST;
    return RAFT_VOTE_PENDING;
}
