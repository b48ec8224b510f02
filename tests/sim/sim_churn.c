/* sim_churn.c - the membership operator of --churn.
 *
 * At random times (interleaved with the fault planner and the clients, so
 * changes meet partitions, crashes and Figure 8 episodes) it asks the
 * member that believes it leads for one configuration change, as
 * nicraftctl would (SPEC section 2): add a learner or a voter, promote a
 * learner (asking raft_check_ready first, SPEC rule 4), demote or remove a
 * voter - the leader too -, remove a learner, replace several voters at
 * once through a joint configuration (rule 5; auto-leave or not), leave a
 * joint configuration on request, hand leadership over, or propose a change
 * the core must refuse. Now and then it proposes a second change at once,
 * which must be refused while the first is pending (rule 2). It follows the
 * strict reconfiguration checks (rule 7) most of the time and forces past
 * them sometimes, as an operator with --force would. A change that takes
 * the leader out of the voters waits for a leadership transfer (rule 10),
 * unless --churn-self-remove asks the leader itself; leaders still apply
 * their own removal when elections hand leadership to a member a pending
 * change removes.
 *
 * Members: the founders boot from CONF entries 1..N (rule 8). A member the
 * operator adds gets a new ID (never reused) and an empty data directory;
 * its process starts once some member applied its addition (rule 1), mostly
 * soon, sometimes late, sometimes not until the cluster settles (an
 * operator's mistake), rarely already when its addition is proposed. A
 * member that applied its own removal stops within about a second and
 * never runs again (rule 10; sim_member.c notices it).
 *
 * Limits: at most CHURN_VOTERS_MAX voters and CHURN_LEARNERS_MAX learners
 * (below RAFT_VOTERS_MAX / RAFT_LEARNERS_MAX), SIM_NODES_MAX IDs per seed.
 * A configuration with two voters or fewer loses none: with changes taking
 * effect when applied, a removed voter that applied its removal (and
 * stopped) may be the vote the other still needs under the configuration
 * it has not applied yet - the two-member trap etcd's documentation warns
 * about; the simulator's convergence check would report it as a liveness
 * failure that no core can avoid. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define CHURN_VOTERS_MAX 7
#define CHURN_LEARNERS_MAX 4
#define CHURN_SWAP_MAX 3     /* voters removed (and added) by one joint change */
#define CHURN_TRIES 6        /* draws of an operation that fits the configuration */
#define CHURN_LEADER_BP 3000 /* a removal or demotion aims at the leader */

enum churn_op {
    OP_ADD_LEARNER = 1,
    OP_ADD_VOTER,
    OP_PROMOTE,
    OP_DEMOTE,
    OP_REMOVE_VOTER,
    OP_REMOVE_LEARNER,
    OP_REPLACE,
    OP_LEAVE,
    OP_TRANSFER,
    OP_INVALID, /* a change the configuration refuses (NR_EREFUSED) */
    OP_KINDS,
};

/* Weights of the operations drawn outside a joint configuration. */
static const uint32_t op_weight[OP_KINDS] = {
        [OP_ADD_LEARNER] = 16, [OP_ADD_VOTER] = 8,     [OP_PROMOTE] = 16,
        [OP_DEMOTE] = 5,       [OP_REMOVE_VOTER] = 14, [OP_REMOVE_LEARNER] = 6,
        [OP_REPLACE] = 22,     [OP_TRANSFER] = 5,      [OP_INVALID] = 3,
};

/* What the operator sees of the cluster when it decides. */
struct churn_view {
    struct sim_node *lead;
    struct raft_status st;
    struct raft_progress_view pv[RAFT_MEMBERS_MAX];
    uint32_t n_pv;
    uint32_t n_new; /* IDs this request takes: n_nodes + 1 ... */
};

/* ---- slots ---------------------------------------------------------- */

uint32_t sim_n_alive(const struct sim_world *w)
{
    uint32_t k = 0;

    for (uint32_t i = 0; i < w->p.n_nodes; i++)
        k += w->nodes[i].life == SIM_LIFE_RUNNING && !w->nodes[i].is_removed ? 1u : 0u;
    return k;
}

uint32_t sim_random_slot(struct sim_world *w)
{
    uint32_t up = 0;

    if (!w->opts->churn)
        return (uint32_t)sim_rng_below(&w->rng, w->p.n_nodes);
    up = sim_n_up(w);
    if (up == 0)
        return (uint32_t)sim_rng_below(&w->rng, w->p.n_nodes);
    uint32_t k = (uint32_t)sim_rng_below(&w->rng, up);

    for (uint32_t i = 0; i < w->p.n_nodes; i++) {
        if (w->nodes[i].raft != NULL && k-- == 0)
            return i;
    }
    return 0;
}

void sim_churn_found(struct sim_world *w, struct sim_node *n)
{
    struct sim_disk *d = &n->disk;
    uint32_t nf = w->p.n_founders;

    NR_ASSERT(d->n_log == 0 && nf >= 1 && nf <= SIM_FOUNDERS_MAX);
    d->cap_log = 256;
    d->log = calloc(d->cap_log, sizeof(d->log[0]));
    NR_ASSERT(d->log != NULL);
    for (uint32_t i = 0; i < nf; i++) {
        struct raft_conf_change cc = {.kind = RAFT_CC_SIMPLE, .n_items = 1};
        uint8_t buf[RAFT_CC_WIRE_MAX];

        cc.items[0] = (struct raft_cc_item){.op = RAFT_CC_ADD_VOTER, .id = i + 1};
        struct raft_entry e = {.term = 1,
                               .index = i + 1,
                               .type = RAFT_ENTRY_CONF,
                               .len = raft_cc_encode(&cc, buf),
                               .data = buf};

        sim_entry_copy(&d->log[i], &e);
        d->log[i].prev_term = i == 0 ? 0 : 1;
        sim_check_durable(w, n, &d->log[i]);
    }
    d->n_log = nf;
    d->hs = (struct raft_hard_state){.term = 1, .vote = RAFT_ID_NONE, .commit = nf};
}

/* A new slot for the next ID; false when the seed has used them all. */
static bool new_slot(struct sim_world *w)
{
    if (w->p.n_nodes >= SIM_NODES_MAX)
        return false;
    struct sim_node *n = &w->nodes[w->p.n_nodes];

    NR_ASSERT(n->raft == NULL && n->disk.n_log == 0);
    memset(n, 0, sizeof(*n));
    n->idx = w->p.n_nodes;
    n->id = n->idx + 1;
    n->life = SIM_LIFE_UNSTARTED;
    w->p.n_nodes++;
    w->st.members_added++;
    return true;
}

void sim_churn_start_member(struct sim_world *w, struct sim_node *n)
{
    NR_ASSERT(n->life == SIM_LIFE_UNSTARTED && n->raft == NULL);
    n->life = SIM_LIFE_RUNNING;
    n->is_start_planned = true;
    w->st.members_started++;
    sim_log(w, SIM_REC_START, n->idx, 0, 0, 0, 0, 0, 0);
    sim_node_start(w, n, true);
}

void sim_churn_stop_member(struct sim_world *w, struct sim_node *n)
{
    sim_log(w, SIM_REC_STOP, n->idx, n->raft != NULL ? 1u : 0u, 0, 0, 0, 0, 0);
    if (n->raft != NULL) {
        sim_clients_on_crash(w, n);
        raft_destroy(n->raft);
        n->raft = NULL;
        n->gen++;
        n->role = RAFT_FOLLOWER;
        n->leader_hint = RAFT_ID_NONE;
    }
    sim_disk_free(&n->disk); /* its data stays unused: it never runs again */
    n->life = SIM_LIFE_STOPPED;
    w->st.members_stopped++;
}

static void plan_start(struct sim_world *w, struct sim_node *n)
{
    const struct sim_params *p = &w->p;

    n->is_start_planned = true;
    if (sim_rng_bp(&w->rng, p->start_never_bp))
        return; /* forgotten until the cluster settles */
    uint64_t d = sim_rng_bp(&w->rng, p->start_late_bp) ? sim_rng_range(&w->rng, 300000, 1500000)
                                                       : sim_rng_range(&w->rng, 1000, 30000);

    sim_schedule(w, d, SIM_EV_START, n->idx, 0, 0, NULL);
}

void sim_churn_on_conf(struct sim_world *w, const struct raft_conf *conf)
{
    for (uint32_t i = 0; i < w->p.n_nodes; i++) {
        struct sim_node *n = &w->nodes[i];

        if (n->life == SIM_LIFE_UNSTARTED && !n->is_start_planned &&
            raft_conf_has_member(conf, n->id))
            plan_start(w, n);
    }
}

void sim_churn_settle_starts(struct sim_world *w)
{
    struct raft_status st;

    for (uint32_t i = 0; i < w->p.n_nodes && !w->failed; i++) {
        struct sim_node *x = &w->nodes[i];

        if (x->life != SIM_LIFE_UNSTARTED)
            continue;
        for (uint32_t j = 0; j < w->p.n_nodes; j++) {
            if (w->nodes[j].raft == NULL)
                continue;
            raft_status(w->nodes[j].raft, &st);
            if (raft_conf_has_member(&st.conf, x->id)) {
                sim_churn_start_member(w, x);
                break;
            }
        }
    }
}

/* ---- the view ------------------------------------------------------- */

static struct sim_node *find_leader(struct sim_world *w)
{
    struct sim_node *best = NULL;

    for (uint32_t i = 0; i < w->p.n_nodes; i++) {
        struct sim_node *n = &w->nodes[i];

        if (n->raft != NULL && n->role == RAFT_LEADER && (best == NULL || n->term > best->term))
            best = n;
    }
    return best;
}

static void view_load(struct churn_view *v, struct sim_node *lead)
{
    memset(v, 0, sizeof(*v));
    v->lead = lead;
    raft_status(lead->raft, &v->st);
    v->n_pv = raft_progress(lead->raft, v->pv, RAFT_MEMBERS_MAX);
}

/* Connected, as the operator's health probe sees it: up, and heard from
 * by the leader lately. */
static bool is_healthy(const struct sim_world *w, const struct churn_view *v, uint64_t id)
{
    if (id == 0 || id > w->p.n_nodes || w->nodes[id - 1].raft == NULL)
        return false;
    if (id == v->lead->id)
        return true;
    for (uint32_t i = 0; i < v->n_pv; i++) {
        if (v->pv[i].id == id)
            return v->pv[i].recent_active;
    }
    return false;
}

static uint32_t healthy_of(const struct sim_world *w, const struct churn_view *v,
                           const uint64_t *ids, uint32_t n, uint64_t except)
{
    uint32_t k = 0;

    for (uint32_t i = 0; i < n; i++)
        k += ids[i] != except && is_healthy(w, v, ids[i]) ? 1u : 0u;
    return k;
}

static uint64_t pick(struct sim_world *w, const uint64_t *ids, uint32_t n)
{
    return n == 0 ? 0 : ids[sim_rng_below(&w->rng, n)];
}

/* A voter to remove or demote: the leader now and then. */
static uint64_t pick_voter(struct sim_world *w, const struct churn_view *v)
{
    if (sim_rng_bp(&w->rng, CHURN_LEADER_BP) && raft_conf_has_voter(&v->st.conf, v->lead->id))
        return v->lead->id;
    return pick(w, v->st.conf.voters, v->st.conf.n_voters);
}

static uint64_t take_id(struct sim_world *w, struct churn_view *v)
{
    uint64_t id = (uint64_t)w->p.n_nodes + ++v->n_new;

    return id <= SIM_NODES_MAX ? id : 0;
}

static void add_item(struct raft_conf_change *cc, uint32_t op, uint64_t id)
{
    NR_ASSERT(cc->n_items < RAFT_CC_ITEMS_MAX);
    cc->items[cc->n_items++] = (struct raft_cc_item){.op = op, .id = id};
}

static uint32_t quorum(uint32_t n)
{
    return n / 2 + 1;
}

static uint32_t n_learners(const struct raft_conf *c)
{
    return c->n_learners + c->n_learners_next;
}

/* ---- building a request --------------------------------------------- */

/* A joint change: swap up to CHURN_SWAP_MAX voters for new ones, and
 * maybe promote, demote, add or drop learners alongside. The strict check
 * asks only that every current voter is connected: the new members start
 * once the change is applied. */
static bool build_replace(struct sim_world *w, struct churn_view *v, struct raft_conf_change *cc,
                          bool *strict)
{
    const struct raft_conf *c = &v->st.conf;
    uint64_t gone = 0;
    uint32_t voters = c->n_voters, learners = n_learners(c);
    uint32_t k_rm = 0, k_add;

    cc->kind = RAFT_CC_ENTER_JOINT;
    cc->auto_leave = sim_rng_bp(&w->rng, 5000);
    if (c->n_voters >= 3) {
        uint32_t most = c->n_voters - 1 < CHURN_SWAP_MAX ? c->n_voters - 1 : CHURN_SWAP_MAX;

        k_rm = (uint32_t)sim_rng_range(&w->rng, sim_rng_bp(&w->rng, 8500) ? 1 : 0, most);
    }
    for (uint32_t i = 0; i < k_rm; i++) {
        uint64_t id = i == 0 ? pick_voter(w, v) : pick(w, c->voters, c->n_voters);
        bool demote = learners < CHURN_LEARNERS_MAX && sim_rng_bp(&w->rng, 1500);

        if (gone & (UINT64_C(1) << (id - 1)))
            continue;
        gone |= UINT64_C(1) << (id - 1);
        add_item(cc, demote ? RAFT_CC_ADD_LEARNER : RAFT_CC_REMOVE, id);
        learners += demote ? 1u : 0u;
        voters--;
    }
    k_add = sim_rng_bp(&w->rng, 7000) ? k_rm : (uint32_t)sim_rng_range(&w->rng, 0, CHURN_SWAP_MAX);
    for (uint32_t i = 0; i < k_add && voters < CHURN_VOTERS_MAX; i++) {
        uint64_t id = take_id(w, v);

        if (id == 0)
            break;
        add_item(cc, RAFT_CC_ADD_VOTER, id);
        voters++;
    }
    if (c->n_learners > 0 && voters < CHURN_VOTERS_MAX && sim_rng_bp(&w->rng, 3000)) {
        add_item(cc, RAFT_CC_ADD_VOTER, pick(w, c->learners, c->n_learners));
        voters++;
        learners--;
    } else if (c->n_learners > 0 && sim_rng_bp(&w->rng, 1500)) {
        add_item(cc, RAFT_CC_REMOVE, pick(w, c->learners, c->n_learners));
        learners--;
    }
    if (learners < CHURN_LEARNERS_MAX && sim_rng_bp(&w->rng, 2000)) {
        uint64_t id = take_id(w, v);

        if (id != 0)
            add_item(cc, RAFT_CC_ADD_LEARNER, id);
    }
    *strict = healthy_of(w, v, c->voters, c->n_voters, 0) == c->n_voters;
    return cc->n_items > 0 && voters >= 1;
}

/* Fills cc (or *transfer_to) for op; false when op does not fit. *strict:
 * whether the strict checks of SPEC section 2 rule 7 let it through. */
static bool build(struct sim_world *w, struct churn_view *v, uint32_t op,
                  struct raft_conf_change *cc, uint64_t *transfer_to, bool *strict)
{
    const struct raft_conf *c = &v->st.conf;
    bool is_joint = raft_conf_is_joint(c);
    struct nr_err err;
    uint64_t id;

    memset(cc, 0, sizeof(*cc));
    cc->kind = RAFT_CC_SIMPLE;
    *strict = true;
    switch (op) {
    case OP_ADD_LEARNER:
        if (is_joint || n_learners(c) >= CHURN_LEARNERS_MAX || (id = take_id(w, v)) == 0)
            return false;
        add_item(cc, RAFT_CC_ADD_LEARNER, id);
        return true;
    case OP_ADD_VOTER:
        if (is_joint || c->n_voters >= CHURN_VOTERS_MAX || (id = take_id(w, v)) == 0)
            return false;
        add_item(cc, RAFT_CC_ADD_VOTER, id);
        *strict = healthy_of(w, v, c->voters, c->n_voters, 0) == c->n_voters &&
                  c->n_voters >= quorum(c->n_voters + 1);
        return true;
    case OP_PROMOTE:
        if (is_joint || c->n_learners == 0 || c->n_voters >= CHURN_VOTERS_MAX)
            return false;
        id = pick(w, c->learners, c->n_learners);
        add_item(cc, RAFT_CC_ADD_VOTER, id);
        *strict = raft_check_ready(v->lead->raft, id, &err) == 0 &&
                  healthy_of(w, v, c->voters, c->n_voters, 0) + 1 >= quorum(c->n_voters + 1);
        return true;
    case OP_DEMOTE:
    case OP_REMOVE_VOTER:
        if (is_joint || c->n_voters < 3 || (op == OP_DEMOTE && n_learners(c) >= CHURN_LEARNERS_MAX))
            return false;
        id = pick_voter(w, v);
        add_item(cc, op == OP_DEMOTE ? RAFT_CC_ADD_LEARNER : RAFT_CC_REMOVE, id);
        /* The member that goes never counts among those that stay (SPEC
         * section 2 rule 7, unlike etcd). */
        *strict = healthy_of(w, v, c->voters, c->n_voters, id) >= quorum(c->n_voters - 1);
        return true;
    case OP_REMOVE_LEARNER:
        if (is_joint || c->n_learners == 0)
            return false;
        add_item(cc, RAFT_CC_REMOVE, pick(w, c->learners, c->n_learners));
        return true;
    case OP_REPLACE: return !is_joint && build_replace(w, v, cc, strict);
    case OP_LEAVE: cc->kind = RAFT_CC_LEAVE_JOINT; return is_joint;
    case OP_TRANSFER:
        *transfer_to = pick(w, c->voters, c->n_voters);
        return *transfer_to != v->lead->id && *transfer_to != 0;
    case OP_INVALID:
        /* What the core must refuse: a simple change in a joint
         * configuration, one of two voters, leaving a simple one. */
        if (is_joint) {
            if ((id = take_id(w, v)) == 0)
                return false;
            add_item(cc, RAFT_CC_ADD_LEARNER, id);
        } else if (c->n_voters >= 3) {
            add_item(cc, RAFT_CC_REMOVE, c->voters[0]);
            add_item(cc, RAFT_CC_REMOVE, c->voters[1]);
        } else {
            cc->kind = RAFT_CC_LEAVE_JOINT;
        }
        return true;
    default: return false;
    }
}

static uint32_t draw_op(struct sim_world *w, const struct raft_conf *c)
{
    uint32_t total = 0;

    if (raft_conf_is_joint(c)) {
        /* Leave on request when nobody else will; a simple change here is
         * refused (NR_EREFUSED, or NR_EBUSY while the leave is pending). */
        if (!c->auto_leave && sim_rng_bp(&w->rng, 6000))
            return OP_LEAVE;
        return sim_rng_bp(&w->rng, 5000) ? OP_TRANSFER : OP_INVALID;
    }
    for (uint32_t k = 1; k < OP_KINDS; k++)
        total += op_weight[k];
    uint32_t x = (uint32_t)sim_rng_below(&w->rng, total);

    for (uint32_t k = 1; k < OP_KINDS; k++) {
        if (x < op_weight[k])
            return k;
        x -= op_weight[k];
    }
    return OP_ADD_LEARNER;
}

/* ---- proposing ------------------------------------------------------ */

/* Items packed 8 bits each for the event log: op - 1 (2 bits), id (6). */
static uint64_t pack_items(const struct raft_conf_change *cc, uint32_t from)
{
    uint64_t x = 0;

    for (uint32_t i = from; i < cc->n_items && i < from + 8; i++)
        x |= (uint64_t)(((cc->items[i].op - 1) & 3u) << 6 | (cc->items[i].id & 63u))
             << (8 * (i - from));
    return x;
}

static int propose(struct sim_world *w, struct churn_view *v, uint32_t op,
                   const struct raft_conf_change *cc, bool forced)
{
    uint8_t buf[RAFT_CC_WIRE_MAX];
    struct raft_proposal prop = {.type = RAFT_ENTRY_CONF, .data = buf};
    struct raft_input in = {.kind = RAFT_IN_PROPOSE, .propose = &prop, .n_propose = 1};
    struct raft_output out;
    struct sim_node *l = v->lead;

    /* The operator's own rule: an ID is new or a member now, never one
     * that left (IDs are never reused). */
    for (uint32_t i = 0; i < cc->n_items; i++)
        NR_ASSERT(cc->items[i].id > w->p.n_nodes ||
                  raft_conf_has_member(&v->st.conf, cc->items[i].id));
    prop.len = raft_cc_encode(cc, buf);
    w->st.cc_proposed++;
    int rc = sim_node_step(w, l, &in, NULL, &out);

    sim_log(w, SIM_REC_CHANGE, l->idx,
            op | cc->kind << 8 | (cc->auto_leave ? 1u : 0u) << 12 | (forced ? 1u : 0u) << 13,
            (uint64_t)(int64_t)rc, rc == 0 ? out.propose_index : 0, pack_items(cc, 0),
            pack_items(cc, 8), cc->n_items);
    switch (rc) {
    case 0: break;
    case NR_EBUSY: w->st.cc_busy++; return rc;
    case NR_EREFUSED: w->st.cc_refused++; return rc;
    case NR_ENOTLEADER: w->st.cc_not_leader++; return rc;
    default:
        sim_violation(w,
                      "n%u answered a configuration change with %s (want 0, NR_EBUSY, "
                      "NR_EREFUSED or NR_ENOTLEADER)",
                      l->idx + 1, nr_code_name(rc));
        return rc;
    }
    if (op == OP_INVALID) {
        sim_violation(w,
                      "n%u accepted (at %llu) a configuration change it must refuse: %s "
                      "(SPEC section 2 rules 2 and 5)",
                      l->idx + 1, (unsigned long long)out.propose_index,
                      cc->kind == RAFT_CC_LEAVE_JOINT ? "leaving a configuration that is not joint"
                      : raft_conf_is_joint(&v->st.conf) ? "a simple change in a joint configuration"
                                                        : "a simple change of two voters");
        return rc;
    }
    w->st.cc_accepted++;
    w->st.cc_forced += forced ? 1u : 0u;
    w->st.cc_joint += cc->kind == RAFT_CC_ENTER_JOINT ? 1u : 0u;
    w->st.cc_leave += cc->kind == RAFT_CC_LEAVE_JOINT ? 1u : 0u;
    for (uint32_t i = 0; i < cc->n_items; i++) {
        if (cc->items[i].id == l->id && cc->items[i].op != RAFT_CC_ADD_VOTER)
            w->st.cc_leader_removed++;
    }
    /* The new IDs are members-to-be now: give them their slots. */
    for (uint32_t i = 0; i < v->n_new; i++) {
        bool ok = new_slot(w);

        NR_ASSERT(ok); /* take_id() stayed within SIM_NODES_MAX */
        struct sim_node *x = &w->nodes[w->p.n_nodes - 1];

        if (sim_rng_bp(&w->rng, w->p.start_early_bp)) {
            x->is_start_planned = true;
            sim_schedule(w, sim_rng_range(&w->rng, 0, 20000), SIM_EV_START, x->idx, 0, 0, NULL);
        }
    }
    v->n_new = 0;
    return rc;
}

static void transfer(struct sim_world *w, struct churn_view *v, uint64_t to)
{
    struct raft_input in = {.kind = RAFT_IN_TRANSFER, .target = to};
    int rc = sim_node_step(w, v->lead, &in, NULL, NULL);

    w->st.cc_transfers++;
    sim_log(w, SIM_REC_CHANGE, v->lead->idx, OP_TRANSFER, (uint64_t)(int64_t)rc, 0, to, 0, 0);
}

/* Whether cc takes the leader out of the voters: a removal or demotion, or
 * leaving a joint configuration whose incoming half lacks it. */
static bool drops_leader(const struct churn_view *v, const struct raft_conf_change *cc)
{
    const struct raft_conf *c = &v->st.conf;

    if (cc->kind == RAFT_CC_LEAVE_JOINT && raft_conf_is_joint(c)) {
        for (uint32_t i = 0; i < c->n_voters; i++) {
            if (c->voters[i] == v->lead->id)
                return false;
        }
        return true;
    }
    for (uint32_t i = 0; i < cc->n_items; i++) {
        if (cc->items[i].id == v->lead->id && cc->items[i].op != RAFT_CC_ADD_VOTER &&
            cc->items[i].op != RAFT_CC_UPDATE)
            return true;
    }
    return false;
}

/* SPEC section 2 rule 10: removing the leader first hands leadership to a
 * healthy voter that stays; the change follows at the next decision, at the
 * new leader. (Without it the core hands over by itself once it applies its
 * own removal; --churn-self-remove exercises that path.) */
static void hand_over(struct sim_world *w, struct churn_view *v, uint32_t op,
                      const struct raft_conf_change *cc, bool forced)
{
    const struct raft_conf *c = &v->st.conf;
    uint64_t stay[RAFT_VOTERS_MAX];
    uint32_t n_stay = 0;

    for (uint32_t i = 0; i < c->n_voters; i++) {
        bool goes = false;

        for (uint32_t k = 0; k < cc->n_items; k++)
            goes = goes ||
                   (cc->items[k].id == c->voters[i] && cc->items[k].op != RAFT_CC_ADD_VOTER);
        if (!goes && c->voters[i] != v->lead->id && is_healthy(w, v, c->voters[i]))
            stay[n_stay++] = c->voters[i];
    }
    if (n_stay == 0 || v->st.pending_conf_index > v->st.applied_index)
        return; /* nobody to hand over to, or busy: the operator gives up */
    uint64_t to = pick(w, stay, n_stay);

    transfer(w, v, to);
    w->intent = (struct sim_intent){.is_active = true,
                                    .op = op,
                                    .forced = forced,
                                    .old_leader = v->lead->id,
                                    .n_new = v->n_new,
                                    .conf_hash = sim_conf_hash(c),
                                    .cc = *cc};
    v->n_new = 0;
}

/* The change that waited for a handover, at the new leader. */
static void follow_intent(struct sim_world *w, struct churn_view *v)
{
    struct sim_intent in = w->intent;

    w->intent.is_active = false;
    if (v->lead->id == in.old_leader)
        return; /* the transfer did not happen: the operator gives up */
    if (sim_conf_hash(&v->st.conf) != in.conf_hash)
        return; /* the configuration moved on: the request no longer fits
                   (it might name a member removed since, whose ID must
                   never come back) */
    v->n_new = in.n_new;
    if (drops_leader(v, &in.cc)) {
        hand_over(w, v, in.op, &in.cc, in.forced); /* it went to another member it removes */
        return;
    }
    w->st.cc_handovers++;
    propose(w, v, in.op, &in.cc, in.forced);
}

/* One request; true when it was proposed and accepted. */
static bool operate(struct sim_world *w, struct churn_view *v, bool force_all)
{
    struct raft_conf_change cc;
    uint64_t to = 0;
    bool strict = true;
    uint32_t op = 0;

    for (uint32_t t = 0; t < CHURN_TRIES; t++) {
        v->n_new = 0;
        op = draw_op(w, &v->st.conf);
        if (build(w, v, op, &cc, &to, &strict))
            break;
        op = 0;
    }
    if (op == 0)
        return false;
    bool forced = !strict && (force_all || sim_rng_bp(&w->rng, w->p.churn_force_bp));

    if (!strict && !forced)
        return false; /* the strict checks refused it: nothing proposed */
    if (op == OP_TRANSFER) {
        transfer(w, v, to);
        return false;
    }
    if (!w->opts->churn_self_remove && !force_all && op != OP_INVALID && drops_leader(v, &cc)) {
        hand_over(w, v, op, &cc, forced);
        return false;
    }
    return propose(w, v, op, &cc, forced) == 0;
}

void sim_churn_start(struct sim_world *w)
{
    uint64_t m = w->p.churn_mean_us;

    sim_schedule(w, sim_rng_range(&w->rng, m / 2, m * 2), SIM_EV_CHURN, 0, 0, 0, NULL);
}

void sim_churn_plan(struct sim_world *w)
{
    struct churn_view v;
    uint64_t m = w->p.churn_mean_us;

    if (w->is_settling)
        return;
    sim_schedule(w, sim_rng_range(&w->rng, m / 4, m * 7 / 4), SIM_EV_CHURN, 0, 0, 0, NULL);
    struct sim_node *lead = find_leader(w);

    if (lead == NULL)
        return;
    view_load(&v, lead);
    if (w->intent.is_active) {
        follow_intent(w, &v);
        return;
    }
    if (!operate(w, &v, false) || w->failed || lead->raft == NULL ||
        !sim_rng_bp(&w->rng, w->p.churn_busy_bp))
        return;
    /* A second request at once, from the same view: one change at a time
     * (SPEC section 2 rule 2) must refuse it with NR_EBUSY. */
    if (lead->role == RAFT_LEADER)
        operate(w, &v, true);
}
