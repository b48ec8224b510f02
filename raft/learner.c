/* learner.c - learner readiness (SPEC section 2 rule 4): a member is ready
 * when its lag behind the leader's last index has stayed within a bound in
 * entries for a number of ticks. etcd's rule (match at least 90% of the
 * leader's index) admits a learner millions of entries behind once indexes
 * are large; an absolute bound in entries and time does not. The core
 * measures; the control layer decides and quotes the figures. */
#include "raft_int.h"

static uint64_t lag_of(const struct raft_node *node, const struct raft_prog *pr)
{
    uint64_t match = pr->id == node->id ? node->log.persisted : pr->match;

    return node->log.last_index > match ? node->log.last_index - match : 0;
}

void raft_learners_tick(struct raft_node *node)
{
    for (uint32_t i = 0; i < node->n_prs; i++) {
        struct raft_prog *pr = &node->prs[i];
        bool within = lag_of(node, pr) <= node->cfg.learner_lag_entries_max;

        if (within && !pr->in_bound) {
            pr->in_bound = true;
            pr->bound_since_tick = node->ticks;
        } else if (!within) {
            pr->in_bound = false;
        }
    }
}

void raft_learner_view(const struct raft_node *node, const struct raft_prog *pr,
                       struct raft_progress_view *v)
{
    v->lag_entries = lag_of(node, pr);
    v->in_bound_ticks = pr->in_bound ? node->ticks - pr->bound_since_tick : 0;
    v->is_ready = pr->in_bound && v->lag_entries <= node->cfg.learner_lag_entries_max &&
                  v->in_bound_ticks >= node->cfg.learner_ready_ticks;
}
