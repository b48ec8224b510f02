/* replicate.c - the leader's side: proposals, appends with pipelining and
 * back-off, heartbeats and check-quorum, commitment, snapshots for lagging
 * followers, leadership transfer. */
#include <inttypes.h>

#include "raft_int.h"

uint64_t raft_self_ack(const struct raft_node *node)
{
    /* The leader counts itself only for what its own WAL holds durably:
     * appends leave before that, acknowledgements never do. */
    return node->log.persisted;
}

static uint64_t match_of(const void *ctx, uint64_t id)
{
    const struct raft_node *node = ctx;

    if (id == node->id)
        return raft_self_ack(node);
    for (uint32_t i = 0; i < node->n_prs; i++)
        if (node->prs[i].id == id)
            return node->prs[i].match;
    return 0;
}

/* The defect the simulator must catch: learners counted as voters. */
static uint64_t committed_with_learners(const struct raft_node *node)
{
    struct raft_conf c = node->members.conf;

    for (uint32_t i = 0; i < c.n_learners && c.n_voters < RAFT_VOTERS_MAX; i++)
        c.voters[c.n_voters++] = c.learners[i];
    return raft_quorum_joint_committed(&c, match_of, node);
}

bool raft_maybe_commit(struct raft_node *node)
{
    uint64_t mci = RAFT_BUG(node, RAFT_BUG_LEARNER_QUORUM)
                       ? committed_with_learners(node)
                       : raft_quorum_joint_committed(&node->members.conf, match_of, node);

    if (mci == UINT64_MAX || mci <= node->log.committed)
        return false;
    NR_ASSERT(mci <= node->log.last_index);
    /* Raft paper 5.4.2: replicas are counted only for an entry of the
     * current term; earlier entries commit with it (Figure 8). */
    if (raft_log_term(&node->log, mci) != node->term &&
        !RAFT_BUG(node, RAFT_BUG_COMMIT_OLD_TERM))
        return false;
    raft_commit_to(node, mci);
    return true;
}

static bool send_snapshot(struct raft_node *node, struct raft_prog *pr)
{
    struct raft_msg *m;

    /* A follower we have not heard from would not take it now. */
    if (!pr->recent_active)
        return false;
    m = raft_msg_new(node, RAFT_MSG_SNAPSHOT, pr->id, false);
    if (m == NULL)
        return false;
    m->snap = node->snap;
    NR_ASSERT(m->snap.index == node->log.snap_index);
    raft_prog_become_snapshot(pr, node->snap.index, node->ticks);
    node->snap_wanted_for = pr->id;
    return true;
}

/* How many entries from index fit one message and the scratch space. */
static uint32_t entries_for_msg(const struct raft_node *node, uint64_t index)
{
    const struct raft_log *log = &node->log;
    uint64_t bytes = 0;
    uint32_t n = 0;
    uint32_t room = node->msg_ents_cap - node->n_msg_ents;

    while (index + n <= log->last_index && n < RAFT_MSG_ENTRIES_MAX && n < room) {
        uint32_t len = raft_log_entry(log, index + n)->len;

        if (n > 0 && bytes + len > node->cfg.msg_bytes_max)
            break;
        bytes += len;
        n++;
    }
    return n;
}

bool raft_maybe_send_append(struct raft_node *node, struct raft_prog *pr, bool send_if_empty)
{
    const struct raft_log *log = &node->log;
    uint64_t prev = pr->next - 1;
    struct raft_msg *m;
    uint32_t n;

    if (raft_prog_is_paused(pr, node->cfg.inflight_max))
        return false;
    if (prev < log->snap_index)
        return send_snapshot(node, pr);
    n = entries_for_msg(node, pr->next);
    if (n == 0 && (!send_if_empty || pr->next <= log->last_index))
        return false; /* nothing to send, or no scratch room left this step */
    m = raft_msg_new(node, RAFT_MSG_APPEND, pr->id, false);
    if (m == NULL)
        return false;
    m->index = prev;
    m->log_term = raft_log_term(log, prev);
    m->commit = log->committed;
    m->entries = &node->msg_ents[node->n_msg_ents];
    m->n_entries = n;
    for (uint32_t i = 0; i < n; i++)
        node->msg_ents[node->n_msg_ents++] = *raft_log_entry(log, pr->next + i);
    if (pr->state == RAFT_PROGRESS_REPLICATE && n > 0) {
        pr->next += n;
        raft_prog_infl_add(pr, node->cfg.inflight_max, pr->next - 1);
    } else if (pr->state == RAFT_PROGRESS_PROBE) {
        pr->probe_sent = true;
    }
    return true;
}

void raft_bcast_append(struct raft_node *node)
{
    for (uint32_t i = 0; i < node->n_prs; i++)
        if (node->prs[i].id != node->id)
            raft_maybe_send_append(node, &node->prs[i], true);
}

void raft_bcast_heartbeat(struct raft_node *node, uint64_t ctx)
{
    for (uint32_t i = 0; i < node->n_prs; i++) {
        const struct raft_prog *pr = &node->prs[i];
        struct raft_msg *m;

        if (pr->id == node->id)
            continue;
        m = raft_msg_new(node, RAFT_MSG_HEARTBEAT, pr->id, false);
        if (m == NULL)
            continue;
        /* Never more than the follower is known to hold (SPEC section 3). */
        m->commit = pr->match < node->log.committed ? pr->match : node->log.committed;
        m->ctx = ctx;
    }
}

static int active_of(const void *ctx, uint64_t id)
{
    const struct raft_node *node = ctx;

    for (uint32_t i = 0; i < node->n_prs; i++)
        if (node->prs[i].id == id)
            return (id == node->id || node->prs[i].recent_active) ? 1 : -1;
    return -1;
}

/* Check-quorum: whether a quorum was heard from in the last election
 * timeout; starts the next period. */
static bool quorum_active(struct raft_node *node)
{
    bool active = raft_quorum_joint_vote(&node->members.conf, active_of, node) == RAFT_VOTE_WON;

    for (uint32_t i = 0; i < node->n_prs; i++)
        if (node->prs[i].id != node->id)
            node->prs[i].recent_active = false;
    return active;
}

void raft_tick_heartbeat(struct raft_node *node)
{
    raft_learners_tick(node);
    node->heartbeat_elapsed++;
    node->election_elapsed++;
    if (node->election_elapsed >= node->cfg.election_ticks) {
        node->election_elapsed = 0;
        if (node->cfg.check_quorum && !quorum_active(node)) {
            raft_become_follower(node, node->term, RAFT_ID_NONE);
            return;
        }
        /* A transfer that did not finish within an election timeout is
         * abandoned, and proposals are taken again; a leader that is no
         * longer a voter tries again, with the best voter then. */
        node->transfer_target = RAFT_ID_NONE;
        if (!raft_conf_has_voter(&node->members.conf, node->id)) {
            raft_handover(node);
            return;
        }
    }
    if (node->heartbeat_elapsed >= node->cfg.heartbeat_ticks) {
        node->heartbeat_elapsed = 0;
        raft_bcast_heartbeat(node, node->read_seq);
    }
}

static int not_leader(struct raft_node *node, const char *what, struct nr_err *err)
{
    node->stats.refused_not_leader++;
    if (node->lead != RAFT_ID_NONE)
        return nr_errf(err, NR_ENOTLEADER, "%s refused: not the leader; the leader is %016" PRIx64,
                       what, node->lead);
    return nr_errf(err, NR_ENOTLEADER, "%s refused: not the leader, and no leader is known", what);
}

static int check_proposal(struct raft_node *node, const struct raft_input *in, uint64_t *bytes,
                          struct nr_err *err)
{
    *bytes = 0;
    if (in->propose == NULL || in->n_propose == 0 || in->n_propose > RAFT_PROPOSE_MAX)
        return nr_errf(err, NR_EINVAL, "proposal of %u entries: need 1 to %u", in->n_propose,
                       RAFT_PROPOSE_MAX);
    for (uint32_t i = 0; i < in->n_propose; i++) {
        const struct raft_proposal *p = &in->propose[i];
        int rc;

        if (p->type != RAFT_ENTRY_NORMAL && p->type != RAFT_ENTRY_CONF)
            return nr_errf(err, NR_EINVAL,
                           "proposal entry %u: type %u refused: client data (0) or a "
                           "configuration change (2) only",
                           i, p->type);
        if (p->type == RAFT_ENTRY_CONF && (rc = raft_conf_check_proposal(node, in, err)) != 0)
            return rc;
        if (p->len > 0 && p->data == NULL)
            return nr_errf(err, NR_EINVAL, "proposal entry %u: %u bytes but no data", i, p->len);
        *bytes += p->len;
    }
    return 0;
}

int raft_propose(struct raft_node *node, const struct raft_input *in, struct nr_err *err)
{
    struct raft_log *log = &node->log;
    uint64_t bytes;
    int rc;

    if (node->role != RAFT_LEADER)
        return not_leader(node, "proposal", err);
    if (node->transfer_target != RAFT_ID_NONE) {
        node->stats.refused_busy++;
        return nr_errf(err, NR_EBUSY,
                       "proposal refused: leadership is moving to %016" PRIx64 "; retry there",
                       node->transfer_target);
    }
    if ((rc = check_proposal(node, in, &bytes, err)) != 0)
        return rc;
    if (!raft_log_fits(log, log->last_index + 1, in->n_propose, bytes)) {
        node->stats.refused_busy++;
        return nr_errf(err, NR_EBUSY,
                       "proposal refused: the in-memory log holds %" PRIu64
                       " entries, its limit is %u; retry after the next snapshot",
                       log->last_index - log->snap_index, log->cap);
    }
    node->propose_index = log->last_index + 1;
    node->propose_term = node->term;
    for (uint32_t i = 0; i < in->n_propose; i++) {
        const struct raft_proposal *p = &in->propose[i];

        node->persist[node->n_persist++] =
            *raft_log_append(log, node->term, p->type, p->data, p->len);
        if (p->type == RAFT_ENTRY_CONF)
            node->pending_conf_index = log->last_index;
    }
    for (uint32_t i = 0; i < node->n_prs; i++)
        if (node->prs[i].id != node->id)
            raft_maybe_send_append(node, &node->prs[i], false);
    return 0;
}

/* Tells pr's member to campaign at once. It carries what the member may
 * commit (as a heartbeat would), so that a change we committed has taken
 * effect there before it campaigns. A lost one is not retried: the
 * transfer times out (or, for a leader handing over, is tried again). */
static void send_timeout_now(struct raft_node *node, const struct raft_prog *pr)
{
    struct raft_msg *m = raft_msg_new(node, RAFT_MSG_TIMEOUT_NOW, pr->id, false);

    if (m != NULL)
        m->commit = pr->match < node->log.committed ? pr->match : node->log.committed;
}

void raft_handover(struct raft_node *node)
{
    const struct raft_prog *best = NULL;

    for (uint32_t i = 0; i < node->n_prs; i++) {
        const struct raft_prog *pr = &node->prs[i];

        if (pr->id != node->id && raft_conf_has_voter(&node->members.conf, pr->id) &&
            (best == NULL || pr->match > best->match))
            best = pr;
    }
    if (best == NULL) {
        raft_become_follower(node, node->term, RAFT_ID_NONE);
        return;
    }
    raft_bcast_append(node); /* the commit index, to every member */
    node->transfer_target = best->id;
    node->election_elapsed = 0;
    send_timeout_now(node, best);
}

int raft_transfer(struct raft_node *node, uint64_t target, struct nr_err *err)
{
    struct raft_prog *pr;

    if (node->role != RAFT_LEADER)
        return not_leader(node, "leadership transfer", err);
    if (target == node->id)
        return nr_errf(err, NR_EINVAL, "leadership transfer refused: %016" PRIx64
                       " is already the leader", target);
    pr = raft_prog_find(node, target);
    if (pr == NULL || !raft_conf_has_voter(&node->members.conf, target))
        return nr_errf(err, NR_EUNKNOWN,
                       "leadership transfer refused: %016" PRIx64 " is not a voter", target);
    if (node->transfer_target == target)
        return 0;
    node->transfer_target = target;
    node->election_elapsed = 0; /* the transfer's deadline */
    if (pr->match == node->log.last_index)
        send_timeout_now(node, pr);
    else
        raft_maybe_send_append(node, pr, true);
    return 0;
}

static void handle_ack(struct raft_node *node, struct raft_prog *pr, const struct raft_msg *m)
{
    bool was_paused = raft_prog_is_paused(pr, node->cfg.inflight_max);

    if (!raft_prog_maybe_update(pr, m->index))
        return;
    if (pr->state == RAFT_PROGRESS_PROBE) {
        raft_prog_become_replicate(pr);
    } else if (pr->state == RAFT_PROGRESS_SNAPSHOT && pr->match >= node->log.snap_index) {
        raft_prog_become_probe(pr);
        raft_prog_become_replicate(pr);
    } else if (pr->state == RAFT_PROGRESS_REPLICATE) {
        raft_prog_infl_free_le(pr, node->cfg.inflight_max, m->index);
    }
    if (raft_maybe_commit(node)) {
        raft_bcast_append(node);
        raft_reads_on_commit(node);
    } else if (was_paused) {
        raft_maybe_send_append(node, pr, false);
    }
    /* Fill the window; bounded by it and by the output arrays. */
    for (uint32_t i = 0; i < node->cfg.inflight_max; i++)
        if (!raft_maybe_send_append(node, pr, false))
            break;
    if (m->from == node->transfer_target && pr->match == node->log.last_index)
        send_timeout_now(node, pr);
}

static void handle_reject(struct raft_node *node, struct raft_prog *pr, const struct raft_msg *m)
{
    uint64_t next_probe = m->reject_hint;
    uint64_t hint_term;

    if (m->reject_hint_term > 0)
        next_probe = raft_log_find_conflict_by_term(&node->log, m->reject_hint,
                                                    m->reject_hint_term, &hint_term);
    if (raft_prog_maybe_decr_to(pr, m->index, next_probe)) {
        if (pr->state == RAFT_PROGRESS_REPLICATE)
            raft_prog_become_probe(pr);
        raft_maybe_send_append(node, pr, true);
    }
}

static void handle_heartbeat_resp(struct raft_node *node, struct raft_prog *pr,
                                  const struct raft_msg *m)
{
    pr->probe_sent = false;
    if (pr->state == RAFT_PROGRESS_REPLICATE && pr->infl_n >= node->cfg.inflight_max)
        raft_prog_infl_free_first(pr, node->cfg.inflight_max);
    if (pr->match < node->log.last_index || pr->state == RAFT_PROGRESS_PROBE)
        raft_maybe_send_append(node, pr, true);
    if (m->ctx > pr->read_ack && m->ctx <= node->read_seq) {
        pr->read_ack = m->ctx;
        raft_reads_on_ack(node);
    }
}

int raft_leader_step(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    struct raft_prog *pr = raft_prog_find(node, m->from);

    if (pr == NULL)
        return 0;
    switch (m->type) {
    case RAFT_MSG_APPEND_RESP:
        if (m->index > node->log.last_index) {
            node->stats.refused_malformed++;
            return nr_errf(err, NR_EINVAL,
                           "APPEND_RESP from %016" PRIx64 " refused: acknowledges index %" PRIu64
                           " beyond our last index %" PRIu64,
                           m->from, m->index, node->log.last_index);
        }
        pr->recent_active = true;
        pr->last_active_tick = node->ticks;
        if (m->reject)
            handle_reject(node, pr, m);
        else
            handle_ack(node, pr, m);
        return 0;
    case RAFT_MSG_HEARTBEAT_RESP:
        pr->recent_active = true;
        pr->last_active_tick = node->ticks;
        handle_heartbeat_resp(node, pr, m);
        return 0;
    case RAFT_MSG_APPEND:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_SNAPSHOT:
        node->stats.refused_malformed++;
        return nr_errf(err, NR_EINVAL,
                       "%s from %016" PRIx64 " refused: it claims leadership of our term %" PRIu64,
                       raft_msg_type_name(m->type), m->from, m->term);
    default:
        return 0;
    }
}

int raft_snap_status(struct raft_node *node, uint64_t target, bool failed, struct nr_err *err)
{
    struct raft_prog *pr;

    (void)err;
    if (node->role != RAFT_LEADER)
        return 0; /* a report that outlived our leadership */
    pr = raft_prog_find(node, target);
    if (pr == NULL || pr->state != RAFT_PROGRESS_SNAPSHOT)
        return 0;
    if (failed)
        pr->pending_snapshot = 0;
    /* Wait for the follower's answer (or a heartbeat) before probing. */
    raft_prog_become_probe(pr);
    pr->probe_sent = true;
    return 0;
}
