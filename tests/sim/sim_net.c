/* sim_net.c - the simulated network: delay, loss, duplication, reordering,
 * symmetric and one-way partitions.
 *
 * Every message is deep-copied when it leaves a node (its entries and their
 * bytes, and for RAFT_MSG_SNAPSHOT the sender's snapshot bytes), because the
 * node owns its output only until raft_advance(). Loss and duplication are
 * drawn at send time, partitions and crashes are judged at delivery time. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define LONG_DELAY_MIN_US 50000u
#define LONG_DELAY_MAX_US 300000u

void sim_msg_free(struct sim_msg *sm)
{
    if (sm == NULL)
        return;
    free(sm->ents);
    free(sm->data);
    free(sm);
}

static void copy_entries(struct sim_msg *sm, const struct raft_msg *m)
{
    size_t total = 0, off = 0;

    for (uint32_t i = 0; i < m->n_entries; i++)
        total += m->entries[i].len;
    sm->ents = calloc(m->n_entries, sizeof(sm->ents[0]));
    NR_ASSERT(sm->ents != NULL);
    if (total > 0) {
        sm->data = malloc(total);
        NR_ASSERT(sm->data != NULL);
    }
    for (uint32_t i = 0; i < m->n_entries; i++) {
        sm->ents[i] = m->entries[i];
        sm->ents[i].data = NULL;
        if (m->entries[i].len > 0) {
            memcpy(sm->data + off, m->entries[i].data, m->entries[i].len);
            sm->ents[i].data = sm->data + off;
            off += m->entries[i].len;
        }
    }
    sm->m.entries = sm->ents;
}

static void check_addresses(struct sim_world *w, const struct sim_node *from,
                            const struct raft_msg *m)
{
    if (m->from != from->id || m->to == 0 || m->to > w->p.n_nodes || m->to == from->id)
        sim_violation(w, "n%u sent %s from %llu to %llu: not a peer of this cluster", from->idx + 1,
                      raft_msg_type_name(m->type), (unsigned long long)m->from,
                      (unsigned long long)m->to);
}

struct sim_msg *sim_msg_copy(struct sim_world *w, const struct sim_node *from,
                             const struct raft_msg *m)
{
    struct sim_msg *sm = calloc(1, sizeof(*sm));

    NR_ASSERT(sm != NULL);
    check_addresses(w, from, m);
    sm->m = *m;
    sm->m.entries = NULL;
    if (m->n_entries > 0)
        copy_entries(sm, m);
    sm->from_gen = from->gen;
    if (m->type == RAFT_MSG_SNAPSHOT) {
        if (from->snap.meta.index != m->snap.index || from->snap.meta.term != m->snap.term)
            sim_violation(w,
                          "n%u sends a snapshot at %llu/%llu but its latest snapshot is "
                          "%llu/%llu",
                          from->idx + 1, (unsigned long long)m->snap.index,
                          (unsigned long long)m->snap.term,
                          (unsigned long long)from->snap.meta.index,
                          (unsigned long long)from->snap.meta.term);
        sm->snap_kv = from->snap.kv;
        w->st.snaps_sent++;
    }
    return sm;
}

static void log_msg(struct sim_world *w, uint32_t kind, uint32_t node, const struct raft_msg *m)
{
    /* An append response has no log_term: its slot carries the reject hint;
     * a snapshot's index and term stand in for index and log_term. */
    bool is_resp = m->type == RAFT_MSG_APPEND_RESP;
    bool is_snap = m->type == RAFT_MSG_SNAPSHOT;

    sim_log(w, kind, node, m->type | (m->reject ? 0x100u : 0u), m->from << 32 | m->to, m->term,
            is_snap ? m->snap.index : m->index,
            is_resp   ? m->reject_hint
            : is_snap ? m->snap.term
                      : m->log_term,
            m->commit << 16 | (m->n_entries & 0xffff));
}

static bool is_valid_peer(const struct sim_world *w, const struct sim_msg *sm)
{
    return sm->m.from >= 1 && sm->m.from <= w->p.n_nodes && sm->m.to >= 1 &&
           sm->m.to <= w->p.n_nodes;
}

/* A snapshot send ended: the sender's control thread would report it. */
static void report_snap(struct sim_world *w, const struct sim_msg *sm, bool is_failed)
{
    if (sm->m.type != RAFT_MSG_SNAPSHOT || sm->is_dup || !is_valid_peer(w, sm))
        return;
    sim_schedule(w, 0, SIM_EV_SNAP_STATUS, (uint32_t)(sm->m.from - 1), sm->m.to,
                 (is_failed ? 1u : 0u) | (uint64_t)sm->from_gen << 1, NULL);
}

static void drop(struct sim_world *w, struct sim_msg *sm)
{
    w->st.drops++;
    log_msg(w, SIM_REC_DROP, is_valid_peer(w, sm) ? (uint32_t)(sm->m.from - 1) : 0, &sm->m);
    report_snap(w, sm, true);
    sim_msg_free(sm);
}

static uint64_t draw_delay(struct sim_world *w)
{
    if (!w->is_settling && sim_rng_bp(&w->rng, w->p.long_delay_bp))
        return sim_rng_range(&w->rng, LONG_DELAY_MIN_US, LONG_DELAY_MAX_US);
    return sim_rng_range(&w->rng, w->p.delay_min_us, w->p.delay_max_us);
}

static void dispatch(struct sim_world *w, struct sim_msg *sm)
{
    w->st.msgs++;
    if (!is_valid_peer(w, sm) || (!w->is_settling && sim_rng_bp(&w->rng, w->p.loss_bp))) {
        drop(w, sm);
        return;
    }
    if (!w->is_settling && sim_rng_bp(&w->rng, w->p.dup_bp)) {
        struct sim_msg *dup = malloc(sizeof(*dup));

        NR_ASSERT(dup != NULL);
        *dup = *sm;
        dup->ents = NULL;
        dup->data = NULL;
        dup->m.entries = NULL;
        if (sm->m.n_entries > 0)
            copy_entries(dup, &sm->m);
        dup->is_dup = true;
        sim_schedule(w, draw_delay(w), SIM_EV_DELIVER, (uint32_t)(sm->m.to - 1), 0, 0, dup);
    }
    sim_schedule(w, draw_delay(w), SIM_EV_DELIVER, (uint32_t)(sm->m.to - 1), 0, 0, sm);
}

void sim_net_send(struct sim_world *w, struct sim_node *from, const struct raft_msg *m)
{
    struct sim_msg *sm = sim_msg_copy(w, from, m);

    log_msg(w, SIM_REC_SEND, from->idx, m);
    dispatch(w, sm);
}

void sim_net_send_held(struct sim_world *w, struct sim_msg *sm)
{
    log_msg(w, SIM_REC_SEND, is_valid_peer(w, sm) ? (uint32_t)(sm->m.from - 1) : 0, &sm->m);
    dispatch(w, sm);
}

void sim_net_deliver(struct sim_world *w, struct sim_msg *sm)
{
    uint32_t from = (uint32_t)(sm->m.from - 1), to = (uint32_t)(sm->m.to - 1);
    struct sim_node *n = &w->nodes[to];

    if (n->raft == NULL || w->blocked[from][to] || sim_fig8_drops(w, sm)) {
        drop(w, sm);
        return;
    }
    log_msg(w, SIM_REC_RECV, to, &sm->m);
    sim_member_on_deliver(w, n, &sm->m);
    struct raft_input in = {.kind = RAFT_IN_RECV, .msg = &sm->m};

    sim_node_step(w, n, &in, sm->m.type == RAFT_MSG_SNAPSHOT ? &sm->snap_kv : NULL, NULL);
    report_snap(w, sm, false);
    sim_msg_free(sm);
}

void sim_net_snap_status(struct sim_world *w, const struct sim_ev *ev)
{
    struct sim_node *n = &w->nodes[ev->node];

    if (n->raft == NULL || n->gen != (uint32_t)(ev->b >> 1))
        return; /* the sender restarted: its core forgot the send */
    struct raft_input in = {
            .kind = RAFT_IN_SNAP_STATUS, .target = ev->a, .snap_failed = (ev->b & 1) != 0};

    sim_node_step(w, n, &in, NULL, NULL);
}

static uint64_t random_split(struct sim_world *w)
{
    uint32_t n = w->p.n_nodes;
    uint64_t all = n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;

    for (int tries = 0; tries < 16; tries++) {
        uint64_t mask =
                all == UINT64_MAX ? sim_rng_next(&w->rng) : sim_rng_below(&w->rng, all + 1u);

        if (mask != 0 && mask != all)
            return mask;
    }
    return 1u; /* node 1 alone */
}

/* The member that believes it leads in the highest term, or a random one:
 * cutting off or crashing the leader is what makes elections race. */
uint32_t sim_pick_victim(struct sim_world *w)
{
    uint32_t best = sim_random_slot(w);
    uint64_t best_term = 0;

    if (sim_rng_bp(&w->rng, 5000))
        return best;
    for (uint32_t i = 0; i < w->p.n_nodes; i++) {
        const struct sim_node *n = &w->nodes[i];

        if (n->raft != NULL && n->role == RAFT_LEADER && n->term >= best_term) {
            best = i;
            best_term = n->term;
        }
    }
    return best;
}

static bool link_cut(struct sim_world *w, uint32_t kind, uint64_t mask, uint32_t x, bool is_out,
                     uint32_t a, uint32_t b)
{
    bool in_a = (mask >> a) & 1, in_b = (mask >> b) & 1;

    switch (kind) {
    case SIM_PART_SPLIT:
    case SIM_PART_ISOLATE: return in_a != in_b;
    case SIM_PART_ONE_WAY: /* x cannot send, or cannot hear */
        return is_out ? (a == x && b != x) : (b == x && a != x);
    default: /* random directed links */ return a != b && sim_rng_bp(&w->rng, 3000);
    }
}

void sim_net_partition(struct sim_world *w)
{
    uint32_t n = w->p.n_nodes, kind = (uint32_t)sim_rng_below(&w->rng, SIM_PART_KINDS);
    uint32_t x = sim_pick_victim(w);
    uint64_t mask = kind == SIM_PART_SPLIT ? random_split(w) : UINT64_C(1) << x;
    bool is_out = sim_rng_bp(&w->rng, 5000);

    for (uint32_t a = 0; a < n; a++) {
        for (uint32_t b = 0; b < n; b++)
            w->blocked[a][b] = link_cut(w, kind, mask, x, is_out, a, b);
    }
    w->is_partitioned = true;
    w->part_epoch++;
    w->st.partitions++;
    sim_log(w, SIM_REC_PART, x, kind, is_out ? 1u : 0u, mask, 0, 0, 0);
}

uint64_t sim_net_isolate(struct sim_world *w, uint32_t x)
{
    for (uint32_t a = 0; a < w->p.n_nodes; a++) {
        for (uint32_t b = 0; b < w->p.n_nodes; b++)
            w->blocked[a][b] = a != b && (a == x || b == x);
    }
    w->is_partitioned = true;
    w->part_epoch++;
    w->st.partitions++;
    sim_log(w, SIM_REC_PART, x, SIM_PART_ISOLATE, 0, UINT64_C(1) << x, 0, 0, 0);
    return w->part_epoch;
}

void sim_net_heal(struct sim_world *w)
{
    memset(w->blocked, 0, sizeof(w->blocked));
    if (w->is_partitioned)
        sim_log(w, SIM_REC_HEAL, 0, 0, 0, 0, 0, 0, 0);
    w->is_partitioned = false;
}
