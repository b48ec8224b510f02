/* sim_fig8.c - the Figure 8 nemesis (Raft paper 5.4.2).
 *
 * A leader may count replicas only for an entry of its own term; the bug
 * this guards against shows only when leaders change in a particular order,
 * which random faults rarely produce. An episode makes it likely:
 *
 *   1. cut off the leader A while clients still write to it: A holds
 *      entries of its term T1 that nobody else has;
 *   2. the next leader S is cut off the moment it wins, so its first entry
 *      (of term T2 > T1) stays with S alone; any later leader other than A
 *      is treated the same;
 *   3. A wins again (term U > T2): its log is the longest. While it leads,
 *      the network loses every append of A that a follower would take and
 *      that carries an entry of A's own term (its no-op and what follows),
 *      so followers receive only A's old entries (those that travel alone:
 *      small message limits split appends); cut A off once its commit index
 *      reaches the index of S's first entry, in flight messages included,
 *      and for long enough that S and the rest elect a leader without it
 *      (no other fault meddles).
 *
 * A correct core first commits its own no-op, which then is on a majority,
 * so nothing is lost. A core that commits A's old entries by counting lets
 * S (whose last term T2 beats T1) win and overwrite what A applied. The
 * invariants, not this file, decide whether anything went wrong. */
#include "sim.h"

#define LAST_CUT_MIN_US 400000u
#define LAST_CUT_MAX_US 900000u

static uint64_t last_index(const struct sim_node *n)
{
    struct raft_status st;

    raft_status(n->raft, &st);
    return st.last_index;
}

bool sim_fig8_is_active(const struct sim_world *w)
{
    return w->fig8.state != SIM_FIG8_IDLE;
}

static void set_state(struct sim_world *w, uint32_t state, uint32_t node)
{
    w->fig8.state = state;
    w->fig8.since_us = w->now_us;
    sim_log(w, SIM_REC_FIG8, node, state, 0, 0, 0, 0, 0);
}

bool sim_fig8_plan(struct sim_world *w)
{
    struct sim_fig8 *f = &w->fig8;

    if (f->state == SIM_FIG8_LAST_CUT && w->now_us >= f->until_us)
        set_state(w, SIM_FIG8_IDLE, f->first);
    if (f->state != SIM_FIG8_IDLE && w->now_us - f->since_us > SIM_FIG8_TIMEOUT_US)
        set_state(w, SIM_FIG8_IDLE, f->first); /* the cluster went elsewhere */
    if (f->state != SIM_FIG8_IDLE)
        return true;
    if (!sim_rng_bp(&w->rng, w->p.fig8_bp))
        return false;
    uint32_t a = sim_pick_victim(w);

    if (w->nodes[a].raft == NULL || w->nodes[a].role != RAFT_LEADER)
        return false;
    f->first = a;
    f->episodes++;
    set_state(w, SIM_FIG8_OLD_CUT, a);
    sim_net_isolate(w, a);
    sim_fault_heal_later(w);
    return true;
}

bool sim_fig8_on_leader(struct sim_world *w, struct sim_node *n)
{
    struct sim_fig8 *f = &w->fig8;
    bool is_a = n->idx == f->first;

    switch (f->state) {
    case SIM_FIG8_OLD_CUT:
    case SIM_FIG8_NEW_CUT:
        if (f->state == SIM_FIG8_OLD_CUT && is_a)
            return true; /* A's isolation healed too early: wait on */
        if (is_a) {
            set_state(w, SIM_FIG8_WAIT_COMMIT, n->idx);
            return true;
        }
        set_state(w, SIM_FIG8_NEW_CUT, n->idx);
        f->s_index = last_index(n); /* where S's first entry (its no-op) sits */
        sim_schedule(w, 0, SIM_EV_ISOLATE, n->idx, SIM_FIG8_TIMEOUT_US, 0, NULL);
        return true;
    case SIM_FIG8_WAIT_COMMIT:
        set_state(w, SIM_FIG8_IDLE, n->idx); /* someone else leads: over */
        return true;
    case SIM_FIG8_LAST_CUT: return true; /* S (or another) leads while A is away: leave it be */
    default: return false;
    }
}

void sim_fig8_on_commit(struct sim_world *w, struct sim_node *n)
{
    struct sim_fig8 *f = &w->fig8;

    if (f->state != SIM_FIG8_WAIT_COMMIT || n->idx != f->first || n->commit < f->s_index)
        return; /* not yet over the index where S's entry differs */
    uint64_t d = sim_rng_range(&w->rng, LAST_CUT_MIN_US, LAST_CUT_MAX_US);

    set_state(w, SIM_FIG8_LAST_CUT, n->idx);
    f->until_us = w->now_us + d; /* other faults wait until A is back */
    sim_schedule(w, 0, SIM_EV_ISOLATE, n->idx, d, 0, NULL);
}

bool sim_fig8_drops(const struct sim_world *w, const struct sim_msg *sm)
{
    const struct sim_fig8 *f = &w->fig8;
    const struct raft_msg *m = &sm->m;
    const struct sim_node *to = &w->nodes[m->to - 1];
    bool has_own = false;

    if (f->state != SIM_FIG8_WAIT_COMMIT || m->from != f->first + 1 || m->type != RAFT_MSG_APPEND ||
        to->raft == NULL)
        return false;
    for (uint32_t i = 0; i < m->n_entries; i++)
        has_own = has_own || m->entries[i].term == m->term;
    /* Only what the follower would take: a probe it rejects still passes,
     * so A backs off and sends its old entries. */
    return has_own && (m->index == 0 || raft_term_at(to->raft, m->index) == m->log_term);
}
