/* quorum_test.c - the quorum arithmetic of raft.h against naive references
 * (CONVENTIONS section 7, property checks): hand-picked cases, then many
 * random majority and joint configurations from a fixed seed, empty halves
 * included. The references are written differently on purpose: the
 * committed index by trying every candidate value, the vote by trying every
 * way the missing votes could still go. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "raft.h"
#include "unit_check.h"

#define ROUNDS 20000
#define POOL 14 /* member IDs drawn from 1..POOL, so halves overlap */

struct table {
    uint64_t ack[POOL + 1];
    int vote[POOL + 1];
};

static uint64_t ack_of(const void *ctx, uint64_t id)
{
    const struct table *t = ctx;

    return id <= POOL ? t->ack[id] : 0;
}

static int vote_of(const void *ctx, uint64_t id)
{
    const struct table *t = ctx;

    return id <= POOL ? t->vote[id] : 0;
}

/* ---- references ------------------------------------------------------- */

static bool has_majority_at(const uint64_t *v, uint32_t n, const struct table *t, uint64_t x)
{
    uint32_t at_least = 0;

    if (n == 0)
        return true;
    for (uint32_t i = 0; i < n; i++)
        at_least += ack_of(t, v[i]) >= x;
    return at_least >= n / 2 + 1;
}

/* The largest acknowledged value held by a majority of both halves. */
static uint64_t naive_committed(const struct raft_conf *c, const struct table *t)
{
    uint64_t best = 0;

    if (c->n_voters == 0 && c->n_voters_outgoing == 0)
        return UINT64_MAX;
    for (uint64_t id = 0; id <= POOL; id++) {
        uint64_t x = id == 0 ? 0 : t->ack[id];
        if (x > best && has_majority_at(c->voters, c->n_voters, t, x) &&
            has_majority_at(c->voters_outgoing, c->n_voters_outgoing, t, x))
            best = x;
    }
    return best;
}

static bool wins(const uint64_t *v, uint32_t n, const int *votes)
{
    uint32_t granted = 0;

    if (n == 0)
        return true;
    for (uint32_t i = 0; i < n; i++)
        granted += votes[v[i]] > 0;
    return granted >= n / 2 + 1;
}

/* Tries every completion of the unanswered votes: won if all of them win
 * both halves, lost if none does, pending otherwise. */
static uint32_t naive_vote(const struct raft_conf *c, const struct table *t)
{
    uint64_t missing[POOL];
    uint32_t n_missing = 0;
    uint32_t n_win = 0;

    for (uint64_t id = 1; id <= POOL; id++)
        if (t->vote[id] == 0)
            missing[n_missing++] = id;
    for (uint32_t mask = 0; mask < (1u << n_missing); mask++) {
        int votes[POOL + 1];
        memcpy(votes, t->vote, sizeof(votes));
        for (uint32_t i = 0; i < n_missing; i++)
            votes[missing[i]] = (mask >> i) & 1 ? 1 : -1;
        n_win += wins(c->voters, c->n_voters, votes) &&
                 wins(c->voters_outgoing, c->n_voters_outgoing, votes);
    }
    if (n_win == (1u << n_missing))
        return RAFT_VOTE_WON;
    return n_win == 0 ? RAFT_VOTE_LOST : RAFT_VOTE_PENDING;
}

/* ---- random configurations ------------------------------------------- */

static uint32_t pick_ids(uint64_t *rng, uint64_t *ids, uint32_t max)
{
    uint32_t n = (uint32_t)unit_below(rng, max + 1);
    bool used[POOL + 1] = {false};

    for (uint32_t i = 0; i < n; i++) {
        uint64_t id;
        do
            id = 1 + unit_below(rng, POOL);
        while (used[id]);
        used[id] = true;
        ids[i] = id;
    }
    return n;
}

static void random_case(uint64_t *rng, struct raft_conf *c, struct table *t)
{
    static const uint64_t edges[] = {0, 1, UINT64_MAX - 1, UINT64_MAX};

    memset(c, 0, sizeof(*c));
    c->n_voters = pick_ids(rng, c->voters, RAFT_VOTERS_MAX);
    if (unit_below(rng, 2))
        c->n_voters_outgoing = pick_ids(rng, c->voters_outgoing, RAFT_VOTERS_MAX);
    for (uint64_t id = 0; id <= POOL; id++) {
        uint64_t r = unit_below(rng, 10);
        t->ack[id] = r < 2 ? edges[unit_below(rng, 4)] : unit_below(rng, 12);
        t->vote[id] = (int)unit_below(rng, 3) - 1;
    }
}

static void check_random(void)
{
    uint64_t rng = 42;

    for (uint32_t round = 0; round < ROUNDS; round++) {
        struct raft_conf c;
        struct table t;
        random_case(&rng, &c, &t);
        uint64_t want = naive_committed(&c, &t);
        uint64_t got = raft_quorum_joint_committed(&c, ack_of, &t);
        UNIT_CHECK(got == want,
                   "round %u: joint committed %" PRIu64 ", reference %" PRIu64 " (%u in, %u out)",
                   round, got, want, c.n_voters, c.n_voters_outgoing);
        struct raft_conf simple = c;
        simple.n_voters_outgoing = 0;
        want = naive_committed(&simple, &t);
        got = raft_quorum_committed(c.voters, c.n_voters, ack_of, &t);
        UNIT_CHECK(got == want,
                   "round %u: committed %" PRIu64 ", reference %" PRIu64 " (%u voters)", round, got,
                   want, c.n_voters);
        uint32_t vote = raft_quorum_joint_vote(&c, vote_of, &t);
        uint32_t want_vote = naive_vote(&c, &t);
        UNIT_CHECK(vote == want_vote, "round %u: joint vote %u, reference %u", round, vote,
                   want_vote);
        vote = raft_quorum_vote(c.voters, c.n_voters, vote_of, &t);
        want_vote = naive_vote(&simple, &t);
        UNIT_CHECK(vote == want_vote, "round %u: vote %u, reference %u (%u voters)", round, vote,
                   want_vote, c.n_voters);
    }
}

/* ---- hand-picked cases -------------------------------------------------- */

static void check_examples(void)
{
    struct table t;
    uint64_t three[] = {1, 2, 3};
    uint64_t four[] = {1, 2, 3, 4};

    memset(&t, 0, sizeof(t));
    t.ack[1] = 5;
    t.ack[2] = 3;
    t.ack[3] = 1;
    UNIT_CHECK(raft_quorum_committed(three, 3, ack_of, &t) == 3, "3 voters at 5,3,1 commit 3");
    UNIT_CHECK(raft_quorum_committed(four, 4, ack_of, &t) == 1, "4 voters at 5,3,1,0 commit 1");
    UNIT_CHECK(raft_quorum_committed(three, 1, ack_of, &t) == 5, "a single voter commits its own");
    UNIT_CHECK(raft_quorum_committed(three, 0, ack_of, &t) == UINT64_MAX,
               "an empty set defers: UINT64_MAX");
    struct raft_conf c;
    memset(&c, 0, sizeof(c));
    UNIT_CHECK(raft_quorum_joint_committed(&c, ack_of, &t) == UINT64_MAX,
               "two empty halves: UINT64_MAX");
    UNIT_CHECK(raft_quorum_joint_vote(&c, vote_of, &t) == RAFT_VOTE_WON, "two empty halves win");
    UNIT_CHECK(raft_quorum_vote(three, 0, vote_of, &t) == RAFT_VOTE_WON, "an empty set wins");
    memcpy(c.voters, three, sizeof(three));
    c.n_voters = 3;
    c.voters_outgoing[0] = 4;
    c.n_voters_outgoing = 1;
    t.ack[4] = 2;
    UNIT_CHECK(raft_quorum_joint_committed(&c, ack_of, &t) == 2,
               "joint (1,2,3)&&(4): min(3, 2) = 2");
    t.vote[1] = 1;
    t.vote[2] = -1;
    UNIT_CHECK(raft_quorum_vote(three, 3, vote_of, &t) == RAFT_VOTE_PENDING,
               "1 yes, 1 no, 1 missing of 3: pending");
    t.vote[3] = -1;
    UNIT_CHECK(raft_quorum_vote(three, 3, vote_of, &t) == RAFT_VOTE_LOST, "1 yes of 3: lost");
    t.vote[3] = 1;
    UNIT_CHECK(raft_quorum_vote(three, 3, vote_of, &t) == RAFT_VOTE_WON, "2 yes of 3: won");
    t.vote[4] = 0;
    UNIT_CHECK(raft_quorum_joint_vote(&c, vote_of, &t) == RAFT_VOTE_PENDING,
               "won in, missing out: pending");
    t.vote[4] = -1;
    UNIT_CHECK(raft_quorum_joint_vote(&c, vote_of, &t) == RAFT_VOTE_LOST, "won in, lost out: lost");
}

int main(void)
{
    check_examples();
    check_random();
    return unit_finish();
}
