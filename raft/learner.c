/* learner.c - learner readiness (SPEC section 2 rule 4): a member is ready
 * when its lag behind the leader's last index has stayed within a bound in
 * entries for a number of ticks. etcd's rule (match at least 90% of the
 * leader's index) admits a learner millions of entries behind once indexes
 * are large; an absolute bound in entries and time does not. The core
 * measures; the control layer decides and quotes the figures. */
#include <inttypes.h>

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
        /* A member not heard from in this leadership (match 0) has shown
         * nothing: its lag is unknown, not small. */
        bool within = (pr->id == node->id || pr->match > 0) &&
                      lag_of(node, pr) <= node->cfg.learner_lag_entries_max;

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

int raft_check_ready(const struct raft_node *node, uint64_t id, struct nr_err *err)
{
    struct raft_progress_view v;
    const struct raft_prog *pr = NULL;

    if (node->role != RAFT_LEADER)
        return nr_errf(err, NR_ENOTLEADER,
                       "readiness of %016" PRIx64 " is known only to the leader", id);
    for (uint32_t i = 0; i < node->n_prs; i++)
        if (node->prs[i].id == id)
            pr = &node->prs[i];
    if (pr == NULL || !pr->is_learner)
        return nr_errf(err, NR_EUNKNOWN, "%016" PRIx64 " is not a learner", id);
    raft_learner_view(node, pr, &v);
    if (v.lag_entries > node->cfg.learner_lag_entries_max)
        return nr_errf(err, NR_EREFUSED,
                       "refused: learner %016" PRIx64 " is %" PRIu64
                       " entries behind the leader (match %" PRIu64 ", last %" PRIu64
                       "); promotion needs at most %" PRIu64,
                       id, v.lag_entries, pr->match, node->log.last_index,
                       node->cfg.learner_lag_entries_max);
    if (!v.is_ready)
        return nr_errf(err, NR_EREFUSED,
                       "refused: learner %016" PRIx64 " has been within %" PRIu64
                       " entries for %" PRIu64 " ticks; promotion needs %u",
                       id, node->cfg.learner_lag_entries_max, v.in_bound_ticks,
                       node->cfg.learner_ready_ticks);
    return 0;
}
