/* election.c - election timeouts, pre-vote and vote (Raft paper 5.2, thesis
 * 9.6), the vote tally over majority or joint configurations. */
#include "raft_int.h"

bool raft_in_lease(const struct raft_node *node)
{
    return node->cfg.check_quorum && node->lead != RAFT_ID_NONE &&
           node->election_elapsed < node->cfg.election_ticks;
}

void raft_tick_election(struct raft_node *node)
{
    node->election_elapsed++;
    if (raft_promotable(node) && node->election_elapsed >= node->randomized_timeout) {
        node->election_elapsed = 0;
        raft_campaign(node, node->cfg.pre_vote, false);
    }
}

static int vote_of(const void *ctx, uint64_t id)
{
    const struct raft_node *node = ctx;

    for (uint32_t i = 0; i < node->n_prs; i++)
        if (node->prs[i].id == id)
            return node->prs[i].vote;
    return 0;
}

static void won(struct raft_node *node, bool transfer)
{
    if (node->role == RAFT_PRE_CANDIDATE) {
        raft_campaign(node, false, transfer);
        return;
    }
    raft_become_leader(node);
    raft_bcast_append(node);
}

void raft_campaign(struct raft_node *node, bool pre_vote, bool transfer)
{
    uint32_t type = pre_vote ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE;
    uint64_t vote_term;
    struct raft_prog *self;

    if (!raft_promotable(node))
        return;
    if (pre_vote) {
        raft_become_pre_candidate(node);
        vote_term = node->term + 1;
    } else {
        raft_become_candidate(node);
        vote_term = node->term;
    }
    self = raft_prog_find(node, node->id);
    NR_ASSERT(self != NULL);
    self->vote = 1;
    if (raft_quorum_joint_vote(&node->members.conf, vote_of, node) == RAFT_VOTE_WON) {
        won(node, transfer);
        return;
    }
    for (uint32_t i = 0; i < node->n_prs; i++) {
        const struct raft_prog *pr = &node->prs[i];
        struct raft_msg *m;

        if (pr->id == node->id || !raft_conf_has_voter(&node->members.conf, pr->id))
            continue;
        /* A vote request after sync: the term and the vote for ourselves
         * come first. A pre-vote changes neither and leaves at once. */
        m = raft_msg_new(node, type, pr->id, !pre_vote);
        if (m == NULL)
            continue;
        m->term = vote_term;
        m->index = node->log.last_index;
        m->log_term = raft_log_last_term(&node->log);
        m->transfer = transfer;
    }
}

int raft_handle_vote_req(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    bool pre = m->type == RAFT_MSG_PREVOTE;
    uint64_t last_term = raft_log_last_term(&node->log);
    bool can_vote = node->vote == m->from ||
                    (node->vote == RAFT_ID_NONE && node->lead == RAFT_ID_NONE) ||
                    (pre && m->term > node->term);
    bool up_to_date = m->log_term > last_term ||
                      (m->log_term == last_term && m->index >= node->log.last_index);
    struct raft_msg *r;

    (void)err;
    if (RAFT_BUG(node, RAFT_BUG_DOUBLE_VOTE) && !pre)
        can_vote = true;
    r = pre ? raft_reply_new(node, RAFT_MSG_PREVOTE_RESP, m->from)
            : raft_msg_new(node, RAFT_MSG_VOTE_RESP, m->from, true);
    if (can_vote && up_to_date) {
        /* A grant carries the candidate's term (for a pre-vote, the term it
         * would campaign in); a denial carries ours. */
        if (r != NULL)
            r->term = m->term;
        if (!pre) {
            node->election_elapsed = 0;
            node->vote = m->from;
        }
    } else if (r != NULL) {
        r->reject = true;
    }
    return 0;
}

int raft_handle_vote_resp(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    struct raft_prog *pr;
    uint32_t result;

    (void)err;
    if ((node->role == RAFT_PRE_CANDIDATE) != (m->type == RAFT_MSG_PREVOTE_RESP))
        return 0; /* an answer to the other kind of election */
    pr = raft_prog_find(node, m->from);
    if (pr == NULL || !raft_conf_has_voter(&node->members.conf, m->from))
        return 0;
    if (pr->vote == 0)
        pr->vote = m->reject ? -1 : 1;
    result = raft_quorum_joint_vote(&node->members.conf, vote_of, node);
    if (result == RAFT_VOTE_WON)
        won(node, false);
    else if (result == RAFT_VOTE_LOST)
        raft_become_follower(node, node->term, RAFT_ID_NONE);
    return 0;
}
