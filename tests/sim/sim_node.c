/* sim_node.c - driving one member's real raft core.
 *
 * Every raft_step's output is handled in full, then raft_advance()d, before
 * the node is stepped again (raft.h): the batch for storage (with the
 * messages held until it is durable), the messages that may leave at once,
 * an installed snapshot, the entries to apply and the confirmed reads. The
 * follow-up inputs that handling produces (RAFT_IN_APPLIED, RAFT_IN_COMPACT)
 * are stepped afterwards, in a bounded loop. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define FOLLOW_UPS_MAX 64 /* applied/compact steps after one input */

static void node_config(const struct sim_world *w, const struct sim_node *n,
                        struct raft_config *cfg)
{
    raft_config_default(cfg, n->id, sim_mix64(w->seed ^ (n->id << 40) ^ ((uint64_t)n->gen << 20)));
    cfg->election_ticks = 10;
    cfg->heartbeat_ticks = 1;
    cfg->inflight_max = 16;
    cfg->msg_bytes_max = w->p.msg_bytes_max;
    cfg->log_entries_max = 4096;
    cfg->log_bytes_max = 1u << 20;
    cfg->apply_batch_max = 64;
    cfg->read_queue_max = 64;
    cfg->pre_vote = true;
    cfg->check_quorum = true;
    cfg->bugs = w->opts->bugs;
    if (w->opts->churn) {
        /* Small bounds, so that the operator's readiness question
         * (raft_check_ready) is answered "not yet" now and then. */
        cfg->learner_lag_entries_max = w->p.learner_lag_max;
        cfg->learner_ready_ticks = w->p.learner_ready_ticks;
    }
}

int sim_node_start(struct sim_world *w, struct sim_node *n, bool is_fresh)
{
    struct raft_config cfg;
    struct raft_boot boot;
    struct nr_err err = {0};
    struct raft_entry *ents = calloc((size_t)n->disk.n_log + 1, sizeof(*ents));

    NR_ASSERT(ents != NULL);
    node_config(w, n, &cfg);
    sim_disk_boot(n, &boot, ents);
    int rc = raft_create(&cfg, &boot, &n->raft, &err);
    uint64_t last = boot.n_entries ? boot.entries[boot.n_entries - 1].index : boot.snap.index;

    free(ents);
    if (rc != 0) {
        n->raft = NULL;
        sim_violation(w, "n%u: %s from durable state refused (%s): %s", n->idx + 1,
                      is_fresh ? "start" : "restart", nr_code_name(rc), err.msg);
        return rc;
    }
    n->snap = n->disk.snap;
    n->kv = n->disk.snap.kv;
    n->role = RAFT_FOLLOWER;
    n->term = boot.hard_state.term;
    n->commit = boot.hard_state.commit;
    n->leader_hint = RAFT_ID_NONE;
    n->want_applied = 0;
    n->want_compact = false;
    sim_member_on_start(w, n);
    if (!is_fresh) {
        w->st.restarts++;
        sim_log(w, SIM_REC_RESTART, n->idx, n->gen, boot.hard_state.term, boot.hard_state.vote,
                last, boot.snap.index, 0);
    }
    sim_schedule(w, sim_rng_range(&w->rng, 1, w->p.tick_us), SIM_EV_TICK, n->idx, 0, 0, NULL);
    return 0;
}

void sim_node_crash(struct sim_world *w, struct sim_node *n)
{
    if (n->raft == NULL)
        return;
    sim_log(w, SIM_REC_CRASH, n->idx, n->gen, n->disk.hs.term, n->disk.hs.vote,
            n->disk.n_log ? n->disk.log[n->disk.n_log - 1].index : n->disk.snap.meta.index,
            n->disk.snap.meta.index, 0);
    sim_clients_on_crash(w, n);
    sim_disk_crash(w, n);
    raft_destroy(n->raft);
    n->raft = NULL;
    n->gen++;
    n->role = RAFT_FOLLOWER;
    n->leader_hint = RAFT_ID_NONE;
    memset(&n->kv, 0, sizeof(n->kv));
    w->st.crashes++;
}

void sim_node_free(struct sim_node *n)
{
    if (n->raft != NULL)
        raft_destroy(n->raft);
    n->raft = NULL;
    sim_disk_free(&n->disk);
}

static uint64_t disk_delay(struct sim_world *w)
{
    if (!w->is_settling && sim_rng_bp(&w->rng, w->p.disk_slow_bp))
        return sim_rng_range(&w->rng, 30000, 100000);
    return sim_rng_range(&w->rng, 200, w->p.disk_max_us);
}

/* (1) One storage batch per step; its held messages wait for it. */
static void node_write(struct sim_world *w, struct sim_node *n, const struct raft_output *out,
                       const struct sim_kv *snap_kv)
{
    bool has_records = out->persist.n > 0 || out->hard_state_changed || out->install != NULL;

    if (!has_records && out->send_after_sync.n == 0)
        return;
    if (!has_records && n->disk.head == NULL) {
        /* Nothing to wait for: every earlier batch is already durable. */
        for (uint32_t i = 0; i < out->send_after_sync.n; i++)
            sim_net_send(w, n, &out->send_after_sync.v[i]);
        return;
    }
    struct sim_batch *b = sim_disk_add(w, n, out, snap_kv);
    uint64_t done = w->now_us + (has_records ? disk_delay(w) : 0);

    if (done < n->disk.last_done_us)
        done = n->disk.last_done_us; /* FIFO: never before an earlier write */
    b->done_at_us = done;
    n->disk.last_done_us = done;
    if (out->persist.n > 0 || out->hard_state_changed)
        sim_log(w, SIM_REC_WRITE, n->idx, out->persist.n ? out->persist.v[0].index : 0,
                out->persist.n ? out->persist.v[out->persist.n - 1].index : 0,
                out->persist.n ? out->persist.v[out->persist.n - 1].term : 0,
                out->hard_state.term << 32 | (out->hard_state.vote & 0xffffffffu),
                out->install ? out->install->index : 0, 0);
    sim_schedule(w, done - w->now_us, SIM_EV_DISK, n->idx, 0, 0, NULL);
}

/* (3) The snapshot bytes came with the RAFT_MSG_SNAPSHOT being stepped. */
static void node_install(struct sim_world *w, struct sim_node *n, const struct raft_output *out,
                         const struct sim_kv *snap_kv)
{
    if (snap_kv == NULL) {
        sim_violation(w, "n%u was told to install snapshot %llu without a snapshot message",
                      n->idx + 1, (unsigned long long)out->install->index);
        return;
    }
    if (snap_kv->applied_index != out->install->index) {
        sim_violation(w, "n%u installs snapshot meta %llu but the bytes are at %llu", n->idx + 1,
                      (unsigned long long)out->install->index,
                      (unsigned long long)snap_kv->applied_index);
        return;
    }
    n->kv = *snap_kv;
    n->snap.meta = *out->install;
    n->snap.kv = *snap_kv;
    w->st.installs++;
    sim_log(w, SIM_REC_INSTALL, n->idx, out->install->index, out->install->term, 0, 0, 0, 0);
    sim_check_install(w, n);
    sim_clients_on_install(w, n);
}

/* (4) Entries in order; the applied index must move by one each time. */
static void node_apply(struct sim_world *w, struct sim_node *n, const struct raft_entries *es)
{
    for (uint32_t i = 0; i < es->n && !w->failed; i++) {
        const struct raft_entry *e = &es->v[i];

        if (e->index != n->kv.applied_index + 1) {
            sim_violation(w, "n%u was handed entry %llu to apply after applying %llu", n->idx + 1,
                          (unsigned long long)e->index, (unsigned long long)n->kv.applied_index);
            return;
        }
        if (sim_kv_apply(&n->kv, e) != 0) {
            sim_violation(w,
                          "n%u applies entry %llu/%llu whose payload no client wrote "
                          "(type %u, %u bytes)",
                          n->idx + 1, (unsigned long long)e->index, (unsigned long long)e->term,
                          e->type, e->len);
            return;
        }
        sim_log(w, SIM_REC_APPLY, n->idx, e->index, e->term,
                sim_entry_hash(e->type, e->data, e->len), 0, 0, 0);
        sim_check_apply(w, n, e);
        sim_clients_on_apply(w, n, e);
    }
    if (es->n > 0)
        n->want_applied = n->kv.applied_index;
    if (n->kv.applied_index >= n->snap.meta.index + w->p.snap_every)
        n->want_compact = true;
}

static void handle_output(struct sim_world *w, struct sim_node *n, const struct raft_output *out,
                          const struct sim_kv *snap_kv)
{
    uint32_t old_role = n->role;
    uint64_t old_term = n->term;
    uint64_t old_commit = n->commit;
    struct raft_conf old_conf = n->conf;

    sim_check_step(w, n, out);
    if (n->role == RAFT_LEADER && (old_role != RAFT_LEADER || old_term != n->term)) {
        sim_member_on_leader(w, n, &old_conf, out);
        sim_fault_on_leader(w, n);
    }
    if (out->hard_state_changed && out->hard_state.commit > n->commit) {
        n->commit = out->hard_state.commit;
        if (n->role == RAFT_LEADER)
            sim_fig8_on_commit(w, n);
    }
    sim_check_written(w, n, &out->persist);
    node_write(w, n, out, snap_kv);
    for (uint32_t i = 0; i < out->send_now.n; i++)
        sim_net_send(w, n, &out->send_now.v[i]);
    if (out->install != NULL)
        node_install(w, n, out, snap_kv);
    node_apply(w, n, &out->apply);
    if (out->reads.n > 0)
        sim_clients_on_reads(w, n, &out->reads);
    if (out->install != NULL || out->apply.n > 0 || out->reads.n > 0)
        sim_clients_on_applied(w, n);
    sim_member_after_step(w, n, out, &old_conf, old_commit, old_role);
    sim_fault_after_step(w, n, out, n->disk.head != NULL);
}

static int node_step_one(struct sim_world *w, struct sim_node *n, const struct raft_input *in,
                         const struct sim_kv *snap_kv, struct raft_output *first_out)
{
    struct raft_output out;
    struct nr_err err = {0};
    int rc = raft_step(n->raft, in, &out, &err);

    if (rc != 0) {
        w->st.refusals++;
        if (in->kind != RAFT_IN_RECV)
            sim_log(w, SIM_REC_REFUSED, n->idx, in->kind, (uint64_t)(int64_t)rc, 0, 0, 0, 0);
    }
    if (first_out != NULL)
        *first_out = out;
    handle_output(w, n, &out, snap_kv);
    raft_advance(n->raft, &out);
    return rc;
}

/* (6) A snapshot of the applied state, durable at once, then compaction. */
static void take_snapshot(struct sim_world *w, struct sim_node *n)
{
    uint64_t index = n->kv.applied_index;
    uint64_t term = raft_term_at(n->raft, index);
    struct raft_status st;

    if (index <= n->snap.meta.index || term == 0)
        return;
    raft_status(n->raft, &st);
    n->snap.meta = (struct raft_snap_meta){.index = index, .term = term, .conf = st.conf};
    n->snap.kv = n->kv;
    sim_disk_put_snap(n, &n->snap);
    sim_log(w, SIM_REC_COMPACT, n->idx, index, term, 0, 0, 0, 0);
    struct raft_input in = {.kind = RAFT_IN_COMPACT, .index = index};

    node_step_one(w, n, &in, NULL, NULL);
}

static void follow_ups(struct sim_world *w, struct sim_node *n)
{
    for (uint32_t i = 0; i < FOLLOW_UPS_MAX && n->raft != NULL && !w->failed; i++) {
        if (n->want_applied != 0) {
            struct raft_input in = {.kind = RAFT_IN_APPLIED, .index = n->want_applied};

            n->want_applied = 0;
            node_step_one(w, n, &in, NULL, NULL);
        } else if (n->want_compact) {
            n->want_compact = false;
            take_snapshot(w, n);
        } else {
            return;
        }
    }
}

int sim_node_step(struct sim_world *w, struct sim_node *n, const struct raft_input *in,
                  const struct sim_kv *snap_kv, struct raft_output *first_out)
{
    NR_ASSERT(n->raft != NULL);
    int rc = node_step_one(w, n, in, snap_kv, first_out);

    follow_ups(w, n);
    return rc;
}

void sim_node_tick(struct sim_world *w, struct sim_node *n)
{
    struct raft_input in = {.kind = RAFT_IN_TICK};
    uint64_t jitter = w->p.tick_us / 10;

    sim_node_step(w, n, &in, NULL, NULL);
    if (n->raft != NULL)
        sim_schedule(w, sim_rng_range(&w->rng, w->p.tick_us - jitter, w->p.tick_us + jitter),
                     SIM_EV_TICK, n->idx, 0, 0, NULL);
}

void sim_node_disk_done(struct sim_world *w, struct sim_node *n)
{
    struct raft_hard_state old = n->disk.hs;
    struct sim_batch *b = sim_disk_complete(w, n);

    if (b == NULL)
        return;
    sim_log(w, SIM_REC_DURABLE, n->idx, b->n_entries ? b->entries[0].index : 0,
            b->n_entries ? b->entries[b->n_entries - 1].index : 0,
            b->n_entries ? b->entries[b->n_entries - 1].term : 0,
            b->has_hs ? b->hs.term << 32 | (b->hs.vote & 0xffffffffu) : 0,
            b->has_snap ? b->snap.meta.index : 0, 0);
    for (uint32_t i = 0; i < b->n_held; i++) {
        sim_net_send_held(w, b->held[i]);
        b->held[i] = NULL;
    }
    b->n_held = 0;
    struct raft_input in = {.kind = RAFT_IN_PERSISTED};

    if (b->n_entries > 0) {
        in.index = b->entries[b->n_entries - 1].index;
        in.term = b->entries[b->n_entries - 1].term;
    } else if (b->has_snap) {
        in.index = b->snap.meta.index;
        in.term = b->snap.meta.term;
    }
    if (in.index != 0)
        sim_node_step(w, n, &in, NULL, NULL);
    /* A vote for another member just became durable (and its grant left). */
    if (b->has_hs && b->hs.vote != RAFT_ID_NONE && b->hs.vote != n->id &&
        (b->hs.vote != old.vote || b->hs.term != old.term))
        sim_fault_after_vote(w, n);
    sim_batch_free(b);
}
