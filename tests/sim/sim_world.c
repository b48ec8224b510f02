/* sim_world.c - one seed: draw the knobs, start the members, run the event
 * loop for --steps events, then settle (faults off, everyone back) and run
 * the end-of-seed checks. Everything belongs to struct sim_world and is
 * freed by sim_world_free(), so seeds run one after another cleanly. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define SETTLE_MAX_US 20000000u /* virtual time allowed to converge */
#define SETTLE_EVENTS_MAX 400000u
#define SETTLE_CHECK_EVERY 16u
#define LINZ_EFFORT_MAX 2000000u /* search steps per key */

void sim_schedule(struct sim_world *w, uint64_t delay_us, uint32_t kind, uint32_t node, uint64_t a,
                  uint64_t b, void *ptr)
{
    struct sim_ev ev = {
            .at_us = w->now_us + delay_us, .kind = kind, .node = node, .a = a, .b = b, .ptr = ptr};

    if (node < w->p.n_nodes)
        ev.gen = w->nodes[node].gen;
    int rc = sim_heap_push(&w->heap, &ev);

    NR_ASSERT(rc == 0); /* out of memory: nothing sensible to simulate */
}

static void draw_params(struct sim_world *w)
{
    struct sim_params *p = &w->p;
    struct sim_rng *r = &w->rng;
    /* Small limits split appends (an entry above the limit travels alone). */
    static const uint32_t msg_bytes[] = {64, 64, 64, 128, 256, 1u << 20};

    p->n_nodes = w->opts->n_nodes ? w->opts->n_nodes : (sim_rng_bp(r, 6000) ? 3u : 5u);
    p->n_clients = (uint32_t)sim_rng_range(r, 3, 5);
    p->n_keys = (uint32_t)sim_rng_range(r, 4, SIM_KEYS_MAX);
    p->tick_us = sim_rng_bp(r, 5000) ? 10000 : sim_rng_range(r, 4000, 10000);
    p->delay_min_us = 1000;
    p->delay_max_us = sim_rng_range(r, 5000, sim_rng_bp(r, 3000) ? 60000 : 30000);
    p->long_delay_bp = (uint32_t)sim_rng_range(r, 0, 500);
    p->loss_bp = (uint32_t)(sim_rng_bp(r, 2000) ? sim_rng_range(r, 500, 1500)
                                                : sim_rng_range(r, 100, 500));
    p->dup_bp = (uint32_t)sim_rng_range(r, 100, 500);
    p->disk_max_us = sim_rng_range(r, 1000, 20000);
    p->disk_slow_bp = (uint32_t)sim_rng_range(r, 0, 200);
    p->fault_mean_us = sim_rng_range(r, 100000, 400000);
    p->torn_bp = 5000;
    p->risky_crash_bp = (uint32_t)sim_rng_range(r, 0, 100);
    p->vote_crash_bp = (uint32_t)sim_rng_range(r, 2000, 6000);
    p->flap_bp = (uint32_t)sim_rng_range(r, 0, 5000);
    p->fig8_bp = sim_rng_bp(r, 5000) ? (uint32_t)sim_rng_range(r, 1000, 5000) : 0;
    p->pad_min = sim_rng_bp(r, 5000) ? 48 : 0;
    p->snap_every =
            (uint32_t)(sim_rng_bp(r, 5000) ? sim_rng_range(r, 4, 16) : sim_rng_range(r, 16, 128));
    p->msg_bytes_max = msg_bytes[sim_rng_below(r, sizeof(msg_bytes) / sizeof(msg_bytes[0]))];
    p->client_timeout_us = sim_rng_range(r, 300000, 1000000);
    p->put_bp = (uint32_t)sim_rng_range(r, 4000, 8000);
    p->n_founders = p->n_nodes;
    if (!w->opts->churn)
        return; /* runs without --churn draw exactly what they always drew */
    p->churn_mean_us = sim_rng_range(r, 30000, 150000);
    p->churn_busy_bp = (uint32_t)sim_rng_range(r, 1000, 4000);
    p->churn_force_bp = (uint32_t)sim_rng_range(r, 500, 2500);
    p->start_early_bp = (uint32_t)sim_rng_range(r, 0, 1000);
    p->start_late_bp = (uint32_t)sim_rng_range(r, 500, 2500);
    p->start_never_bp = (uint32_t)sim_rng_range(r, 0, 800);
    p->learner_lag_max = sim_rng_range(r, 2, 64);
    p->learner_ready_ticks = (uint32_t)sim_rng_range(r, 2, 20);
}

/* The founders boot one of the two ways raft.h allows. Without --churn:
 * the founding configuration in snap.conf at index 0 (an agreement, as
 * etcd's --initial-cluster). With --churn: as CONF entries 1..N at term 1,
 * committed (SPEC section 2 rule 8), so that a member added later boots
 * empty and learns every configuration from the log or a snapshot. */
static int start_members(struct sim_world *w)
{
    w->conf.n_voters = w->p.n_nodes;
    for (uint32_t i = 0; i < w->p.n_nodes; i++)
        w->conf.voters[i] = i + 1;
    for (uint32_t i = 0; i < w->p.n_nodes; i++) {
        struct sim_node *n = &w->nodes[i];

        n->idx = i;
        n->id = i + 1;
        n->life = SIM_LIFE_RUNNING;
        if (w->opts->churn)
            sim_churn_found(w, n);
        else
            n->disk.snap.meta.conf = w->conf;
        if (sim_node_start(w, n, true) != 0)
            return -1;
    }
    return 0;
}

static void on_crash_event(struct sim_world *w, const struct sim_ev *ev)
{
    struct sim_node *n = &w->nodes[ev->node];

    if (w->is_settling || n->raft == NULL || n->gen != ev->gen)
        return;
    sim_node_crash(w, n);
    if (ev->a != 0)
        sim_schedule(w, ev->a, SIM_EV_RESTART, n->idx, 0, 0, NULL);
    else
        sim_fault_restart(w, n);
}

static void dispatch(struct sim_world *w, const struct sim_ev *ev)
{
    struct sim_node *n = ev->node < w->p.n_nodes ? &w->nodes[ev->node] : NULL;
    bool is_live = n != NULL && n->raft != NULL && n->gen == ev->gen;

    switch (ev->kind) {
    case SIM_EV_TICK:
        if (is_live)
            sim_node_tick(w, n);
        break;
    case SIM_EV_DELIVER: sim_net_deliver(w, ev->ptr); break;
    case SIM_EV_DISK:
        if (is_live)
            sim_node_disk_done(w, n);
        break;
    case SIM_EV_SNAP_STATUS: sim_net_snap_status(w, ev); break;
    case SIM_EV_CRASH: on_crash_event(w, ev); break;
    case SIM_EV_RESTART:
        if (n != NULL && n->raft == NULL && n->life == SIM_LIFE_RUNNING) {
            if (n->is_removed)
                sim_churn_stop_member(w, n); /* refuses to run (SPEC 2 rule 10) */
            else
                sim_node_start(w, n, false);
        }
        break;
    case SIM_EV_FAULT: sim_fault_plan(w); break;
    case SIM_EV_HEAL:
        if (ev->a == w->part_epoch)
            sim_net_heal(w);
        break;
    case SIM_EV_ISOLATE: sim_fault_isolate(w, ev->node, ev->a); break;
    case SIM_EV_CLIENT: sim_client_wake(w, (uint32_t)ev->a, ev->b); break;
    case SIM_EV_CHURN: sim_churn_plan(w); break;
    case SIM_EV_START:
        if (n != NULL && n->life == SIM_LIFE_UNSTARTED)
            sim_churn_start_member(w, n);
        break;
    case SIM_EV_STOP:
        if (n != NULL && n->life == SIM_LIFE_RUNNING && n->gen == ev->gen)
            sim_churn_stop_member(w, n);
        break;
    default: NR_ASSERT(!"unknown simulator event");
    }
}

static bool step_once(struct sim_world *w)
{
    struct sim_ev ev;

    if (!sim_heap_pop(&w->heap, &ev))
        return false;
    w->now_us = ev.at_us;
    dispatch(w, &ev);
    return true;
}

/* Every slot's state into the event log, for the dump of a liveness failure:
 * a: state (0 up, 1 unstarted, 2 stopped, 3 down) | role << 4 | messages
 * refused from unknown senders << 8 (24 bits) | learners << 32, b: term,
 * c: last, d: commit, e: applied, f: voters | outgoing << 32. */
static void log_states(struct sim_world *w)
{
    struct raft_status st;
    struct raft_stats rs;

    for (uint32_t i = 0; i < w->p.n_nodes; i++) {
        const struct sim_node *n = &w->nodes[i];
        const struct raft_conf *c = &st.conf;
        uint32_t state = n->life == SIM_LIFE_RUNNING && n->raft == NULL ? 3u : n->life;

        memset(&st, 0, sizeof(st));
        memset(&rs, 0, sizeof(rs));
        if (n->raft != NULL) {
            raft_status(n->raft, &st);
            raft_stats(n->raft, &rs);
        }
        uint64_t learners = sim_ids_mask(c->learners, c->n_learners) |
                            sim_ids_mask(c->learners_next, c->n_learners_next);
        uint64_t unknown =
                rs.refused_unknown_sender < 0xffffff ? rs.refused_unknown_sender : 0xffffff;

        sim_log(w, SIM_REC_STATE, i, state | st.role << 4 | unknown << 8 | learners << 32,
                st.hard_state.term, st.last_index, st.hard_state.commit, n->kv.applied_index,
                sim_ids_mask(c->voters, c->n_voters) |
                        sim_ids_mask(c->voters_outgoing, c->n_voters_outgoing) << 32);
    }
}

static void settle(struct sim_world *w)
{
    uint64_t deadline = w->now_us + SETTLE_MAX_US;
    bool is_done = false;

    w->is_settling = true;
    w->fig8.state = SIM_FIG8_IDLE;
    sim_log(w, SIM_REC_SETTLE, 0, 0, 0, 0, 0, 0, 0);
    sim_net_heal(w);
    for (uint32_t i = 0; i < w->p.n_nodes && !w->failed; i++) {
        struct sim_node *n = &w->nodes[i];

        if (n->raft != NULL || n->life != SIM_LIFE_RUNNING)
            continue;
        if (n->is_removed)
            sim_churn_stop_member(w, n);
        else
            sim_node_start(w, n, false);
    }
    for (uint32_t i = 0; i < SETTLE_EVENTS_MAX && !w->failed && w->now_us < deadline; i++) {
        if (i % SETTLE_CHECK_EVERY == 0 && w->opts->churn)
            sim_churn_settle_starts(w);
        if (i % SETTLE_CHECK_EVERY == 0 && !w->failed && sim_check_converged(w)) {
            is_done = true;
            break;
        }
        if (!step_once(w))
            break;
    }
    if (!w->failed && !is_done) {
        log_states(w);
        sim_violation(w,
                      "liveness: no convergence within %u ms of settling with every "
                      "member up and no faults",
                      SETTLE_MAX_US / 1000);
    }
}

static void check_history(struct sim_world *w)
{
    uint32_t n_unknown = 0, bad_key = 0;
    uint32_t rc = sim_linz_check(&w->hist, w->p.n_keys, LINZ_EFFORT_MAX, &n_unknown, &bad_key);

    w->st.linz_keys += w->p.n_keys;
    w->st.linz_unknown_keys += n_unknown;
    if (rc == SIM_LINZ_FAIL)
        sim_violation(w,
                      "linearizability: the history of key k%u has no linearization "
                      "(%u operations in all)",
                      bad_key, w->hist.n);
}

void sim_world_run(struct sim_world *w, const struct sim_opts *opts, uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    w->opts = opts;
    w->seed = seed;
    sim_rng_seed(&w->rng, seed);
    draw_params(w);
    w->next_value = 1;
    if (start_members(w) != 0)
        return; /* recorded as a violation */
    sim_clients_start(w);
    sim_schedule(w, sim_rng_range(&w->rng, w->p.fault_mean_us / 4, w->p.fault_mean_us),
                 SIM_EV_FAULT, 0, 0, 0, NULL);
    if (opts->churn)
        sim_churn_start(w);
    while (w->steps < opts->steps && !w->failed && step_once(w))
        w->steps++;
    if (!w->failed)
        settle(w);
    if (!w->failed) {
        sim_clients_settle(w);
        sim_check_final(w);
    }
    if (!w->failed)
        check_history(w);
}

void sim_world_free(struct sim_world *w)
{
    struct sim_ev ev;

    while (sim_heap_pop(&w->heap, &ev)) {
        if (ev.kind == SIM_EV_DELIVER)
            sim_msg_free(ev.ptr);
    }
    sim_heap_free(&w->heap);
    for (uint32_t i = 0; i < SIM_NODES_MAX; i++)
        sim_node_free(&w->nodes[i]);
    sim_hist_free(&w->hist);
    sim_check_free(&w->chk);
}
