/* sim_fault.c - the fault planner: crashes, restarts, power failures and
 * partitions at random times, plus crashes at the moments that make
 * durability bugs visible (a member that spoke while its writes were still
 * pending; a member that has just made a vote durable).
 *
 * Nothing here runs while the cluster settles at the end of a seed. */
#include "sim.h"

#define QUICK_RESTART_MIN_US 1000u
#define QUICK_RESTART_MAX_US 20000u
#define SLOW_RESTART_MIN_US 50000u
#define SLOW_RESTART_MAX_US 600000u
#define PART_MIN_US 50000u
#define PART_MAX_US 600000u

uint32_t sim_n_up(const struct sim_world *w)
{
    uint32_t up = 0;

    for (uint32_t i = 0; i < w->p.n_nodes; i++)
        up += w->nodes[i].raft != NULL ? 1u : 0u;
    return up;
}

/* restart: 0 for the usual draw, else this many microseconds from now. */
static void crash_now(struct sim_world *w, struct sim_node *n, uint64_t restart_us)
{
    sim_schedule(w, 0, SIM_EV_CRASH, n->idx, restart_us, 0, NULL);
}

void sim_fault_restart(struct sim_world *w, struct sim_node *n)
{
    uint64_t delay = sim_rng_bp(&w->rng, 5000)
                             ? sim_rng_range(&w->rng, QUICK_RESTART_MIN_US, QUICK_RESTART_MAX_US)
                             : sim_rng_range(&w->rng, SLOW_RESTART_MIN_US, SLOW_RESTART_MAX_US);

    sim_schedule(w, delay, SIM_EV_RESTART, n->idx, 0, 0, NULL);
}

static struct sim_node *random_up(struct sim_world *w)
{
    uint32_t up = sim_n_up(w);

    if (up == 0)
        return NULL;
    uint32_t k = (uint32_t)sim_rng_below(&w->rng, up);

    for (uint32_t i = 0; i < w->p.n_nodes; i++) {
        if (w->nodes[i].raft != NULL && k-- == 0)
            return &w->nodes[i];
    }
    return NULL;
}

/* Most members lose power at once. Power comes back for all at about the
 * same time (their elections race, as at the start of a seed), or one by
 * one (the first ones back may elect a leader among themselves). */
static void power_failure(struct sim_world *w)
{
    bool is_together = sim_rng_bp(&w->rng, 5000);
    uint64_t base = sim_rng_range(&w->rng, 1000, 200000);

    for (uint32_t i = 0; i < w->p.n_nodes; i++) {
        if (w->nodes[i].raft == NULL || !sim_rng_bp(&w->rng, 8000))
            continue;
        crash_now(w, &w->nodes[i],
                  is_together ? base + sim_rng_range(&w->rng, 0, 20000)
                              : sim_rng_range(&w->rng, 1000, 400000));
    }
}

void sim_fault_heal_later(struct sim_world *w)
{
    /* Within a Figure 8 episode a cut lasts until the next one replaces it. */
    uint64_t d = sim_fig8_is_active(w) ? SIM_FIG8_TIMEOUT_US
                                       : sim_rng_range(&w->rng, PART_MIN_US, PART_MAX_US);

    sim_schedule(w, d, SIM_EV_HEAL, 0, w->part_epoch, 0, NULL);
}

void sim_fault_plan(struct sim_world *w)
{
    if (w->is_settling)
        return;
    if (sim_fig8_plan(w)) {
        sim_schedule(w, w->p.fault_mean_us, SIM_EV_FAULT, 0, 0, 0, NULL);
        return;
    }
    uint32_t roll = (uint32_t)sim_rng_below(&w->rng, 100);
    uint32_t majority = sim_n_alive(w) / 2 + 1;

    if (roll < 35) {
        struct sim_node *n = &w->nodes[sim_pick_victim(w)];

        if (n->raft == NULL)
            n = random_up(w);
        if (n != NULL && (sim_n_up(w) > majority || sim_rng_bp(&w->rng, 3000)))
            crash_now(w, n, 0);
    } else if (roll < 45) {
        power_failure(w);
    } else if (roll < 80) {
        if (!w->is_partitioned) {
            sim_net_partition(w);
            sim_fault_heal_later(w);
        }
    } else {
        sim_net_heal(w);
    }
    uint64_t mean = w->p.fault_mean_us;

    sim_schedule(w, sim_rng_range(&w->rng, mean / 4, mean * 7 / 4), SIM_EV_FAULT, 0, 0, 0, NULL);
}

void sim_fault_after_step(struct sim_world *w, struct sim_node *n, const struct raft_output *out,
                          bool has_pending)
{
    if (w->is_settling || !has_pending || out->send_now.n == 0 || sim_fig8_is_active(w))
        return;
    if (sim_rng_bp(&w->rng, w->p.risky_crash_bp))
        crash_now(w, n, sim_rng_bp(&w->rng, 5000) ? sim_rng_range(&w->rng, 500, 10000) : 0);
}

void sim_fault_after_vote(struct sim_world *w, struct sim_node *n)
{
    if (!w->is_settling && !sim_fig8_is_active(w) && sim_rng_bp(&w->rng, w->p.vote_crash_bp))
        crash_now(w, n, sim_rng_range(&w->rng, 500, 10000));
}

/* Leaders that reign briefly: cut a new leader off at once (its first
 * appends are lost in flight) or a little later (a follower holds part of
 * what it sent). */
void sim_fault_on_leader(struct sim_world *w, struct sim_node *n)
{
    if (w->is_settling || sim_fig8_on_leader(w, n) || !sim_rng_bp(&w->rng, w->p.flap_bp))
        return;
    uint64_t delay = sim_rng_bp(&w->rng, 5000) ? 0 : sim_rng_range(&w->rng, 1000, 60000);

    sim_schedule(w, delay, SIM_EV_ISOLATE, n->idx, 0, 0, NULL);
}

void sim_fault_isolate(struct sim_world *w, uint32_t node, uint64_t for_us)
{
    if (w->is_settling)
        return;
    sim_net_isolate(w, node);
    if (for_us != 0)
        sim_schedule(w, for_us, SIM_EV_HEAL, 0, w->part_epoch, 0, NULL);
    else
        sim_fault_heal_later(w);
}
