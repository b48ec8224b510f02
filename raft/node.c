/* node.c - creation, the step dispatch, role changes and the output batch. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "raft_int.h"

#define MSGS_CAP_MIN 64u
#define MSG_ENTS_CAP (4u * RAFT_MSG_ENTRIES_MAX)

void raft_config_default(struct raft_config *cfg, uint64_t id, uint64_t seed)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->id = id;
    cfg->election_ticks = 10;
    cfg->heartbeat_ticks = 1;
    cfg->inflight_max = 256;
    cfg->msg_bytes_max = 1u << 20;
    cfg->log_entries_max = 1u << 16;
    cfg->log_bytes_max = 64ull << 20;
    cfg->apply_batch_max = 1024;
    cfg->read_queue_max = 1024;
    cfg->learner_lag_entries_max = 1000;
    cfg->learner_ready_ticks = 20;
    cfg->pre_vote = true;
    cfg->check_quorum = true;
    cfg->seed = seed;
}

bool raft_bugs_compiled_in(void)
{
#ifdef RAFT_BUG_INJECTION
    return true;
#else
    return false;
#endif
}

/* ---- small helpers --------------------------------------------------- */

uint64_t raft_rand(struct raft_node *node)
{
    /* splitmix64: a seeded field, never a global source. */
    uint64_t z = (node->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

bool raft_promotable(const struct raft_node *node)
{
    return raft_conf_has_voter(&node->members.conf, node->id);
}

struct raft_prog *raft_prog_find(struct raft_node *node, uint64_t id)
{
    for (uint32_t i = 0; i < node->n_prs; i++)
        if (node->prs[i].id == id)
            return &node->prs[i];
    return NULL;
}

struct raft_msg *raft_msg_new(struct raft_node *node, uint32_t type, uint64_t to, bool after_sync)
{
    struct raft_msg *m;

    NR_ASSERT(to != node->id);
    if (after_sync) {
        if (node->n_after >= node->msgs_cap)
            goto full;
        m = &node->after[node->n_after++];
    } else {
        if (node->n_now >= node->msgs_cap)
            goto full;
        m = &node->now[node->n_now++];
    }
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->from = node->id;
    m->to = to;
    m->term = node->term;
    return m;
full:
    node->stats.out_full++;
    return NULL;
}

struct raft_msg *raft_reply_new(struct raft_node *node, uint32_t type, uint64_t to)
{
    /* A reply that acknowledges no entries may leave at once, unless this
     * step changed the term or vote it carries: then it waits for them to
     * be durable, like every acknowledgement. */
    bool hs_changed = node->term != node->reported_hs.term || node->vote != node->reported_hs.vote;

    return raft_msg_new(node, type, to, hs_changed);
}

/* ---- role changes ---------------------------------------------------- */

static void reset(struct raft_node *node, uint64_t term)
{
    if (node->term != term) {
        node->term = term;
        node->vote = RAFT_ID_NONE;
    }
    node->lead = RAFT_ID_NONE;
    node->election_elapsed = 0;
    node->heartbeat_elapsed = 0;
    node->randomized_timeout =
        node->cfg.election_ticks + (uint32_t)(raft_rand(node) % node->cfg.election_ticks);
    node->transfer_target = RAFT_ID_NONE;
    raft_reads_drop(node);
    for (uint32_t i = 0; i < node->n_prs; i++) {
        raft_prog_reset(&node->prs[i], node->log.last_index + 1);
        if (node->prs[i].id == node->id)
            node->prs[i].match = node->log.persisted;
    }
}

void raft_become_follower(struct raft_node *node, uint64_t term, uint64_t lead)
{
    reset(node, term);
    node->role = RAFT_FOLLOWER;
    node->lead = lead;
}

void raft_become_pre_candidate(struct raft_node *node)
{
    NR_ASSERT(node->role != RAFT_LEADER);
    /* Pre-vote changes neither term nor vote (Raft thesis 9.6). */
    reset(node, node->term);
    node->role = RAFT_PRE_CANDIDATE;
}

void raft_become_candidate(struct raft_node *node)
{
    NR_ASSERT(node->role != RAFT_LEADER);
    NR_ASSERT(node->term < RAFT_TERM_MAX); /* outside terms are bounded */
    reset(node, node->term + 1);
    node->vote = node->id;
    node->role = RAFT_CANDIDATE;
}

void raft_become_leader(struct raft_node *node)
{
    struct raft_prog *self;

    NR_ASSERT(node->role == RAFT_CANDIDATE);
    reset(node, node->term);
    node->role = RAFT_LEADER;
    node->lead = node->id;
    self = raft_prog_find(node, node->id);
    NR_ASSERT(self != NULL);
    self->recent_active = true;
    raft_prog_become_replicate(self);
    /* Entries of earlier terms may hold a change not yet applied: no new
     * one until everything up to here is (etcd's pendingConfIndex). */
    node->pending_conf_index = node->log.last_index;
    /* A no-op of the new term, so that earlier entries commit with it
     * (Raft paper 5.4.2). The window always has room for it: appends and
     * proposals keep one slot free (raft_log_has_room). */
    NR_ASSERT(node->log.last_index - node->log.snap_index < node->log.cap);
    const struct raft_entry *e = raft_log_append(&node->log, node->term, RAFT_ENTRY_NOOP, NULL, 0);
    node->persist[node->n_persist++] = *e;
}

void raft_commit_to(struct raft_node *node, uint64_t index)
{
    NR_ASSERT(index <= node->log.last_index);
    if (index > node->log.committed)
        node->log.committed = index;
}

/* ---- creation -------------------------------------------------------- */

static int check_config(const struct raft_config *cfg, struct nr_err *err)
{
    if (cfg->id == RAFT_ID_NONE)
        return nr_errf(err, NR_EINVAL, "raft config: id must be non-zero");
    if (cfg->election_ticks < 2 || cfg->heartbeat_ticks == 0 ||
        cfg->heartbeat_ticks >= cfg->election_ticks)
        return nr_errf(err, NR_EINVAL,
                       "raft config: need 0 < heartbeat_ticks (%u) < election_ticks (%u), "
                       "election_ticks >= 2",
                       cfg->heartbeat_ticks, cfg->election_ticks);
    if (cfg->inflight_max == 0 || cfg->inflight_max > 65536)
        return nr_errf(err, NR_EINVAL, "raft config: inflight_max %u not in [1, 65536]",
                       cfg->inflight_max);
    if (cfg->msg_bytes_max == 0)
        return nr_errf(err, NR_EINVAL, "raft config: msg_bytes_max must be non-zero");
    if (cfg->log_entries_max < 16 || cfg->log_bytes_max < 4096)
        return nr_errf(err, NR_EINVAL,
                       "raft config: log window %u entries / %" PRIu64
                       " bytes is below the minimum 16 / 4096",
                       cfg->log_entries_max, cfg->log_bytes_max);
    if (cfg->apply_batch_max == 0 || cfg->read_queue_max == 0)
        return nr_errf(err, NR_EINVAL, "raft config: apply_batch_max and read_queue_max must be non-zero");
    if (cfg->bugs != 0 && !raft_bugs_compiled_in())
        return nr_errf(err, NR_EINVAL,
                       "raft config: bugs=0x%x but this build has no injected defects", cfg->bugs);
    return 0;
}

int raft_conf_check(const struct raft_conf *c, bool may_be_empty, struct nr_err *err)
{
    uint64_t all[RAFT_MEMBERS_MAX];
    uint32_t n = 0;

    if (c->n_voters > RAFT_VOTERS_MAX || c->n_voters_outgoing > RAFT_VOTERS_MAX ||
        c->n_learners > RAFT_LEARNERS_MAX || c->n_learners_next > RAFT_LEARNERS_MAX)
        return nr_errf(err, NR_EINVAL, "configuration: more members than the limits allow");
    if (c->n_voters == 0 && c->n_voters_outgoing == 0 && !may_be_empty)
        return nr_errf(err, NR_EINVAL, "configuration: no voters");
    for (uint32_t i = 0; i < c->n_voters; i++)
        all[n++] = c->voters[i];
    for (uint32_t i = 0; i < c->n_learners; i++)
        all[n++] = c->learners[i];
    /* The outgoing half and learners_next overlap the rest by design
     * (a staged demotion is in both); check only the ids they add. */
    for (uint32_t i = 0; i < n; i++) {
        if (all[i] == RAFT_ID_NONE)
            return nr_errf(err, NR_EINVAL, "configuration: member id 0");
        for (uint32_t j = 0; j < i; j++)
            if (all[i] == all[j])
                return nr_errf(err, NR_EINVAL,
                               "configuration: member %016" PRIx64 " listed twice", all[i]);
    }
    return 0;
}

static int check_boot(const struct raft_boot *b, struct nr_err *err)
{
    uint64_t prev_term = b->snap.term;

    if (b->hard_state.term > RAFT_TERM_MAX || b->snap.index > RAFT_INDEX_MAX - b->n_entries ||
        b->hard_state.commit > RAFT_INDEX_MAX)
        return nr_errf(err, NR_EINVAL,
                       "boot state: term %" PRIu64 " / snapshot index %" PRIu64 " / commit %" PRIu64
                       " beyond the limits 2^62",
                       b->hard_state.term, b->snap.index, b->hard_state.commit);
    if ((b->snap.index == 0) != (b->snap.term == 0))
        return nr_errf(err, NR_EINVAL,
                       "boot state: snapshot at index %" PRIu64 " with term %" PRIu64
                       "; both are 0 or neither is",
                       b->snap.index, b->snap.term);

    for (uint32_t i = 0; i < b->n_entries; i++) {
        const struct raft_entry *e = &b->entries[i];

        if (e->index != b->snap.index + 1 + i)
            return nr_errf(err, NR_EINVAL,
                           "boot log: entry %u has index %" PRIu64 ", expected %" PRIu64, i,
                           e->index, b->snap.index + 1 + i);
        if (e->term < prev_term)
            return nr_errf(err, NR_EINVAL,
                           "boot log: term goes down at index %" PRIu64 " (%" PRIu64 " < %" PRIu64 ")",
                           e->index, e->term, prev_term);
        if (e->len > 0 && e->data == NULL)
            return nr_errf(err, NR_EINVAL, "boot log: entry %" PRIu64 " has no data", e->index);
        prev_term = e->term;
    }
    if (b->applied_index < b->snap.index || b->applied_index > b->snap.index + b->n_entries)
        return nr_errf(err, NR_EINVAL,
                       "boot state: applied index %" PRIu64 " outside [%" PRIu64 ", %" PRIu64 "]",
                       b->applied_index, b->snap.index, b->snap.index + b->n_entries);
    return raft_conf_check(&b->snap.conf, true, err);
}

static int alloc_buffers(struct raft_node *node)
{
    const struct raft_config *cfg = &node->cfg;

    node->msgs_cap = MSGS_CAP_MIN + 4 * RAFT_MEMBERS_MAX;
    node->msg_ents_cap = MSG_ENTS_CAP;
    node->now = calloc(node->msgs_cap, sizeof(node->now[0]));
    node->after = calloc(node->msgs_cap, sizeof(node->after[0]));
    /* A proposal, a new leader's no-op or an append, plus an auto-leave. */
    node->persist = calloc(RAFT_PROPOSE_MAX + 2, sizeof(node->persist[0]));
    node->apply = calloc(cfg->apply_batch_max, sizeof(node->apply[0]));
    node->msg_ents = calloc(node->msg_ents_cap, sizeof(node->msg_ents[0]));
    node->ready = calloc(cfg->read_queue_max, sizeof(node->ready[0]));
    node->reads = calloc(cfg->read_queue_max, sizeof(node->reads[0]));
    node->infl_block = calloc((size_t)RAFT_MEMBERS_MAX * cfg->inflight_max, sizeof(uint64_t));
    if (node->now == NULL || node->after == NULL || node->persist == NULL ||
        node->apply == NULL || node->msg_ents == NULL || node->ready == NULL ||
        node->reads == NULL || node->infl_block == NULL)
        return NR_ENOMEM;
    if (raft_log_init(&node->log, cfg->log_entries_max, cfg->log_bytes_max) != 0)
        return NR_ENOMEM;
    /* Touch the window now: a page fault later would land on the poller. */
    memset(node->log.data, 0, cfg->log_bytes_max);
    memset(node->log.ring, 0, sizeof(node->log.ring[0]) * cfg->log_entries_max);
    return 0;
}

static void load_boot(struct raft_node *node, const struct raft_boot *b)
{
    struct raft_log *log = &node->log;
    uint64_t commit = b->hard_state.commit;

    node->snap = b->snap;
    raft_log_restore(log, b->snap.index, b->snap.term);
    for (uint32_t i = 0; i < b->n_entries; i++) {
        const struct raft_entry *e = &b->entries[i];
        raft_log_append(log, e->term, e->type, e->data, e->len);
    }
    node->term = b->hard_state.term;
    node->vote = RAFT_BUG(node, RAFT_BUG_FORGET_VOTE) ? RAFT_ID_NONE : b->hard_state.vote;
    /* Entries reach the WAL before their batch's hard state, so a torn
     * batch may keep entries of a term the hard state never reached. Take
     * that term with no vote: a vote lost with its batch was never sent. */
    if (raft_log_last_term(log) > node->term) {
        node->term = raft_log_last_term(log);
        node->vote = RAFT_ID_NONE;
    }
    /* A commit index beyond the durable log (a torn tail) is clamped: what
     * a majority holds is not lost, this node merely fetches it again. */
    if (commit > log->last_index) {
        node->stats.clamped_commit++;
        commit = log->last_index;
    }
    if (commit < b->applied_index)
        commit = b->applied_index;
    log->committed = commit > log->snap_index ? commit : log->snap_index;
    log->persisted = log->last_index;
    log->applied = b->applied_index;
    log->applying = b->applied_index;
    /* The configuration as of the applied index; later changes take effect
     * when they are handed out for applying again. */
    raft_conf_load(node, &b->snap.conf, b->snap.index);
    for (uint64_t i = b->snap.index + 1; i <= b->applied_index; i++) {
        const struct raft_entry *e = raft_log_entry(log, i);

        if (e->type == RAFT_ENTRY_CONF)
            raft_conf_apply_entry(node, e);
    }
    node->conf_changed = false;
}

int raft_create(const struct raft_config *cfg, const struct raft_boot *boot,
                struct raft_node **out, struct nr_err *err)
{
    struct raft_node *node;
    int rc;

    *out = NULL;
    if ((rc = check_config(cfg, err)) != 0 || (rc = check_boot(boot, err)) != 0)
        return rc;
    if ((uint64_t)boot->n_entries >= cfg->log_entries_max)
        return nr_errf(err, NR_EINVAL,
                       "boot log: %u entries exceed the window of %u; snapshot first",
                       boot->n_entries, cfg->log_entries_max);
    node = calloc(1, sizeof(*node));
    if (node == NULL)
        return nr_errf(err, NR_ENOMEM, "raft_create: out of memory");
    node->cfg = *cfg;
    node->id = cfg->id;
    node->rng = cfg->seed ^ (cfg->id * 0x2545f4914f6cdd1dull);
    if (alloc_buffers(node) != 0) {
        raft_destroy(node);
        return nr_errf(err, NR_ENOMEM, "raft_create: out of memory for buffers");
    }
    load_boot(node, boot);
    raft_become_follower(node, node->term, RAFT_ID_NONE);
    node->reported_hs = (struct raft_hard_state){node->term, node->vote, node->log.committed};
    *out = node;
    return 0;
}

void raft_destroy(struct raft_node *node)
{
    if (node == NULL)
        return;
    raft_log_free(&node->log);
    free(node->now);
    free(node->after);
    free(node->persist);
    free(node->apply);
    free(node->msg_ents);
    free(node->ready);
    free(node->reads);
    free(node->infl_block);
    free(node);
}

/* ---- the step -------------------------------------------------------- */

static void out_begin(struct raft_node *node)
{
    NR_ASSERT(!node->out_open); /* raft_advance() after every raft_step() */
    node->out_open = true;
    node->n_now = 0;
    node->n_after = 0;
    node->n_persist = 0;
    node->n_apply = 0;
    node->n_msg_ents = 0;
    node->n_ready = 0;
    node->has_install = false;
    node->snap_wanted_for = RAFT_ID_NONE;
    node->propose_index = 0;
    node->propose_term = 0;
    node->conf_changed = false;
}

/* Hands out committed entries that are durable here, in order. */
void raft_apply_committed(struct raft_node *node)
{
    struct raft_log *log = &node->log;
    uint64_t hi = log->committed < log->persisted ? log->committed : log->persisted;
    uint64_t changes = node->stats.conf_applied;

    while (log->applying < hi && node->n_apply < node->cfg.apply_batch_max) {
        const struct raft_entry *e = raft_log_entry(log, ++log->applying);

        node->apply[node->n_apply++] = *e;
        /* A configuration takes effect when its entry is applied (SPEC
         * section 2 rule 3), on every member alike. */
        if (e->type == RAFT_ENTRY_CONF)
            raft_conf_apply_entry(node, e);
    }
    if (node->stats.conf_applied != changes)
        raft_conf_after_apply(node);
}

static void out_end(struct raft_node *node, struct raft_output *out)
{
    struct raft_hard_state hs = {node->term, node->vote, node->log.committed};

    raft_apply_committed(node);
    raft_conf_step_end(node);
    memset(out, 0, sizeof(*out));
    out->send_now = (struct raft_msgs){node->now, node->n_now};
    out->send_after_sync = (struct raft_msgs){node->after, node->n_after};
    out->persist = (struct raft_entries){node->persist, node->n_persist};
    out->apply = (struct raft_entries){node->apply, node->n_apply};
    out->reads = (struct raft_reads){node->ready, node->n_ready};
    out->hard_state = hs;
    out->hard_state_changed = hs.term != node->reported_hs.term ||
                              hs.vote != node->reported_hs.vote ||
                              hs.commit != node->reported_hs.commit;
    node->reported_hs = hs;
    out->install = node->has_install ? &node->install : NULL;
    out->snap_wanted_for = node->snap_wanted_for;
    out->propose_index = node->propose_index;
    out->propose_term = node->propose_term;
    out->conf = node->conf_changed ? &node->members.conf : NULL;
    out->conf_index = node->conf_changed ? node->conf_changed_index : 0;
    out->leader_id = node->lead;
    out->role = node->role;
}

static int step_persisted(struct raft_node *node, uint64_t index, uint64_t term)
{
    struct raft_log *log = &node->log;

    /* A report for entries since replaced (a truncated suffix) does not
     * match the term now at that index and is ignored, as etcd's stableTo. */
    if (index <= log->persisted || index > log->last_index ||
        raft_log_term(log, index) != term)
        return 0;
    log->persisted = index;
    if (node->role == RAFT_LEADER && raft_maybe_commit(node)) {
        raft_bcast_append(node);
        raft_reads_on_commit(node);
    }
    return 0;
}

static int step_applied(struct raft_node *node, uint64_t index, struct nr_err *err)
{
    if (index > node->log.applying)
        return nr_errf(err, NR_ERANGE,
                       "applied index %" PRIu64 " is beyond the %" PRIu64 " entries handed out",
                       index, node->log.applying);
    if (index > node->log.applied)
        node->log.applied = index;
    return 0;
}

static int step_compact(struct raft_node *node, uint64_t index, struct nr_err *err)
{
    struct raft_log *log = &node->log;
    struct raft_conf conf;

    if (index > log->applied)
        return nr_errf(err, NR_ERANGE,
                       "cannot compact to %" PRIu64 ": only %" PRIu64 " is applied", index,
                       log->applied);
    if (index <= log->snap_index)
        return 0;
    if (raft_conf_at(node, index, &conf) != 0)
        return nr_errf(err, NR_ERANGE,
                       "cannot compact to %" PRIu64 ": the configuration there is no longer "
                       "known; compact closer to the applied index %" PRIu64,
                       index, log->applied);
    raft_log_compact(log, index);
    node->snap.index = index;
    node->snap.term = log->snap_term;
    node->snap.conf = conf;
    return 0;
}

static int step_input(struct raft_node *node, const struct raft_input *in, struct nr_err *err)
{
    switch (in->kind) {
    case RAFT_IN_TICK:
        node->ticks++;
        if (node->role == RAFT_LEADER)
            raft_tick_heartbeat(node);
        else
            raft_tick_election(node);
        return 0;
    case RAFT_IN_RECV:
        return raft_step_msg(node, in->msg, err);
    case RAFT_IN_PROPOSE:
        return raft_propose(node, in, err);
    case RAFT_IN_READ_INDEX:
        return raft_read_index(node, in->read_ctx, err);
    case RAFT_IN_TRANSFER:
        return raft_transfer(node, in->target, err);
    case RAFT_IN_PERSISTED:
        return step_persisted(node, in->index, in->term);
    case RAFT_IN_APPLIED:
        return step_applied(node, in->index, err);
    case RAFT_IN_COMPACT:
        return step_compact(node, in->index, err);
    case RAFT_IN_SNAP_STATUS:
        return raft_snap_status(node, in->target, in->snap_failed, err);
    default:
        return nr_errf(err, NR_EINVAL, "unknown input kind %u", in->kind);
    }
}

int raft_step(struct raft_node *node, const struct raft_input *in, struct raft_output *out,
              struct nr_err *err)
{
    int rc;

    out_begin(node);
    if (err != NULL) {
        err->code = 0;
        err->msg[0] = '\0';
    }
    /* Committed entries first: a member that just booted acts on its
     * founding configuration (entries 1..N) from its first input on. */
    raft_apply_committed(node);
    rc = step_input(node, in, err);
    out_end(node, out);
    return rc;
}

void raft_advance(struct raft_node *node, const struct raft_output *out)
{
    NR_ASSERT(node->out_open);
    NR_ASSERT(out->send_now.v == node->now);
    node->out_open = false;
}

/* ---- observation ----------------------------------------------------- */

void raft_status(const struct raft_node *node, struct raft_status *st)
{
    memset(st, 0, sizeof(*st));
    st->id = node->id;
    st->role = node->role;
    st->leader_id = node->lead;
    st->hard_state = (struct raft_hard_state){node->term, node->vote, node->log.committed};
    st->first_index = node->log.snap_index + 1;
    st->last_index = node->log.last_index;
    st->persisted_index = node->log.persisted;
    st->applied_index = node->log.applied;
    st->snap_index = node->log.snap_index;
    st->snap_term = node->log.snap_term;
    st->ticks = node->ticks;
    st->transfer_target = node->transfer_target;
    st->conf = node->members.conf;
    st->pending_conf_index = node->pending_conf_index;
    st->is_member = raft_conf_has_member(&node->members.conf, node->id);
}

void raft_stats(const struct raft_node *node, struct raft_stats *stats)
{
    *stats = node->stats;
}

uint32_t raft_progress(const struct raft_node *node, struct raft_progress_view *v, uint32_t max)
{
    uint32_t n = 0;

    if (node->role != RAFT_LEADER)
        return 0;
    for (uint32_t i = 0; i < node->n_prs && n < max; i++) {
        const struct raft_prog *pr = &node->prs[i];

        v[n++] = (struct raft_progress_view){
            .id = pr->id,
            .match_index = pr->id == node->id ? node->log.persisted : pr->match,
            .next_index = pr->id == node->id ? node->log.last_index + 1 : pr->next,
            .state = pr->state,
            .inflight = pr->infl_n,
            .is_learner = pr->is_learner,
            .recent_active = pr->recent_active,
            .last_active_tick = pr->id == node->id ? node->ticks : pr->last_active_tick,
        };
        raft_learner_view(node, pr, &v[n - 1]);
    }
    return n;
}

uint64_t raft_term_at(const struct raft_node *node, uint64_t index)
{
    return raft_log_term(&node->log, index);
}

const char *raft_msg_type_name(uint32_t type)
{
    static const char *const names[] = {
        [RAFT_MSG_APPEND] = "APPEND",
        [RAFT_MSG_APPEND_RESP] = "APPEND_RESP",
        [RAFT_MSG_VOTE] = "VOTE",
        [RAFT_MSG_VOTE_RESP] = "VOTE_RESP",
        [RAFT_MSG_PREVOTE] = "PREVOTE",
        [RAFT_MSG_PREVOTE_RESP] = "PREVOTE_RESP",
        [RAFT_MSG_HEARTBEAT] = "HEARTBEAT",
        [RAFT_MSG_HEARTBEAT_RESP] = "HEARTBEAT_RESP",
        [RAFT_MSG_SNAPSHOT] = "SNAPSHOT",
        [RAFT_MSG_TIMEOUT_NOW] = "TIMEOUT_NOW",
    };

    if (type == 0 || type > RAFT_MSG_TYPE_MAX)
        return "UNKNOWN";
    return names[type];
}

const char *raft_role_name(uint32_t role)
{
    switch (role) {
    case RAFT_FOLLOWER: return "follower";
    case RAFT_PRE_CANDIDATE: return "pre-candidate";
    case RAFT_CANDIDATE: return "candidate";
    case RAFT_LEADER: return "leader";
    default: return "?";
    }
}
