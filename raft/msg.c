/* msg.c - a received message: its shape checked, the term rules applied,
 * then the handler of this node's role. Outside data: every refusal is an
 * error value and a counter, never an assertion (SPEC section 3). */
#include <inttypes.h>

#include "raft_int.h"

static int malformed(struct raft_node *node, struct nr_err *err, const char *what,
                     const struct raft_msg *m)
{
    node->stats.refused_malformed++;
    return nr_errf(err, NR_EINVAL, "%s from %016" PRIx64 " refused: %s",
                   raft_msg_type_name(m->type), m->from, what);
}

static int check_entries(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    uint64_t prev_term = m->log_term;

    if (m->n_entries > RAFT_MSG_ENTRIES_MAX)
        return malformed(node, err, "more entries than RAFT_MSG_ENTRIES_MAX", m);
    if (m->n_entries > 0 && m->entries == NULL)
        return malformed(node, err, "entries missing", m);
    if (m->index > RAFT_INDEX_MAX - m->n_entries)
        return malformed(node, err, "entries beyond RAFT_INDEX_MAX", m);
    if (m->log_term > m->term)
        return malformed(node, err, "previous entry's term beyond the message term", m);
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const struct raft_entry *e = &m->entries[i];

        if (e->index != m->index + 1 + i)
            return malformed(node, err, "entries not contiguous with the previous index", m);
        if (e->term < prev_term || e->term > m->term)
            return malformed(node, err, "entry terms not ascending within the message term", m);
        if (e->type > RAFT_ENTRY_CONF || (e->len > 0 && e->data == NULL))
            return malformed(node, err, "entry with a bad type or no data", m);
        prev_term = e->term;
    }
    return 0;
}

static int check_shape(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    if (m->type == 0 || m->type > RAFT_MSG_TYPE_MAX)
        return malformed(node, err, "unknown message type", m);
    if (m->to != node->id)
        return malformed(node, err, "addressed to another member", m);
    if (m->from == RAFT_ID_NONE || m->from == node->id)
        return malformed(node, err, "bad sender id", m);
    if (m->term == 0 || m->term > RAFT_TERM_MAX)
        return malformed(node, err, "term 0 or beyond RAFT_TERM_MAX", m);
    if (m->index > RAFT_INDEX_MAX || m->commit > RAFT_INDEX_MAX ||
        m->reject_hint > RAFT_INDEX_MAX || m->snap.index > RAFT_INDEX_MAX)
        return malformed(node, err, "an index beyond RAFT_INDEX_MAX", m);
    if (m->type != RAFT_MSG_APPEND && m->n_entries != 0)
        return malformed(node, err, "entries on a message that carries none", m);
    if (m->type == RAFT_MSG_APPEND)
        return check_entries(node, m, err);
    if ((m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE) && m->log_term > m->term)
        return malformed(node, err, "candidate's last term beyond its term", m);
    if (m->type == RAFT_MSG_APPEND_RESP && m->reject && m->reject_hint > m->index)
        return malformed(node, err, "rejection hint beyond the rejected index", m);
    if (m->type == RAFT_MSG_SNAPSHOT &&
        (m->snap.index == 0 || m->snap.term == 0 || m->snap.term > m->term ||
         m->snap.conf.n_voters > RAFT_VOTERS_MAX || m->snap.conf.n_voters == 0 ||
         m->snap.conf.n_voters_outgoing > RAFT_VOTERS_MAX ||
         m->snap.conf.n_learners > RAFT_LEARNERS_MAX ||
         m->snap.conf.n_learners_next > RAFT_LEARNERS_MAX))
        return malformed(node, err, "snapshot metadata out of range", m);
    return 0;
}

/* Who may talk to us. A member this node saw removed: never (SPEC section 2
 * rule 10). A member of our configuration: always. Anyone else is refused,
 * except for vote requests and a leader's messages with a newer term (or our
 * term, from the leader we follow or while we know none): a configuration takes effect when applied, so a member that
 * lags follows a leader added by entries it has not applied yet, and only
 * a leader can bring it up to date. A joining member with no configuration
 * yet takes messages from anyone; it cannot campaign, so it risks nothing. */
static int check_sender(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    bool leader_msg = m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
                      m->type == RAFT_MSG_SNAPSHOT;
    bool vote_req = m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE;

    /* The one word a removed leader still has: handing leadership over, in
     * its own term, to us who followed it (raft_handover()). */
    if (m->type == RAFT_MSG_TIMEOUT_NOW && m->from == node->lead && m->term == node->term)
        return 0;
    if (raft_was_removed(node, m->from)) {
        node->stats.refused_unknown_sender++;
        return nr_errf(err, NR_EUNKNOWN,
                       "%s from %016" PRIx64 " refused: that member was removed from the cluster",
                       raft_msg_type_name(m->type), m->from);
    }
    if (!raft_configured(node) || raft_conf_has_member(&node->members.conf, m->from))
        return 0;
    /* Raft thesis 4.1: a vote may go to a candidate outside our applied
     * configuration; it may be needed to keep the cluster available. The
     * lease and the log comparison still decide it. */
    if (vote_req)
        return 0;
    if (leader_msg &&
        (m->term > node->term || (m->term == node->term && (node->lead == RAFT_ID_NONE ||
                                                            node->lead == m->from))))
        return 0;
    node->stats.refused_unknown_sender++;
    return nr_errf(err, NR_EUNKNOWN,
                   "%s from %016" PRIx64 " refused: not a member of the configuration",
                   raft_msg_type_name(m->type), m->from);
}

/* A message from an older term. Its sender may be a leader that was cut
 * off and must learn the current term, or a node whose term ran ahead in a
 * partition while pre-vote and check-quorum keep it from advancing ours:
 * answer so that it catches up (as etcd does), then refuse. */
static int stale_term(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    struct raft_msg *r = NULL;

    if ((node->cfg.check_quorum || node->cfg.pre_vote) &&
        (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT))
        r = raft_reply_new(node, RAFT_MSG_APPEND_RESP, m->from);
    else if (m->type == RAFT_MSG_PREVOTE)
        r = raft_reply_new(node, RAFT_MSG_PREVOTE_RESP, m->from);
    if (r != NULL)
        r->reject = r->type == RAFT_MSG_PREVOTE_RESP;
    node->stats.refused_stale_term++;
    return nr_errf(err, NR_ESTALE,
                   "%s from %016" PRIx64 " has term %" PRIu64 ", older than ours (%" PRIu64 ")",
                   raft_msg_type_name(m->type), m->from, m->term, node->term);
}

/* The term rules of Raft paper 5.1 with pre-vote and leases. Returns 1 when
 * the message is to be ignored, 0 to go on, or a refusal. */
static int newer_term(struct raft_node *node, const struct raft_msg *m)
{
    bool is_vote = m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE;

    /* A member that heard from a live leader within an election timeout
     * ignores vote requests (check-quorum's lease), unless leadership is
     * being handed over on purpose. */
    if (is_vote && !m->transfer && raft_in_lease(node))
        return 1;
    if (m->type == RAFT_MSG_PREVOTE)
        return 0; /* a pre-vote changes no term */
    if (m->type == RAFT_MSG_PREVOTE_RESP && !m->reject)
        return 0; /* granted for our future term; counted by the tally */
    if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
        m->type == RAFT_MSG_SNAPSHOT)
        raft_become_follower(node, m->term, m->from);
    else
        raft_become_follower(node, m->term, RAFT_ID_NONE);
    return 0;
}

static int candidate_step(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    switch (m->type) {
    case RAFT_MSG_APPEND:
        raft_become_follower(node, m->term, m->from);
        return raft_handle_append(node, m, err);
    case RAFT_MSG_HEARTBEAT:
        raft_become_follower(node, m->term, m->from);
        return raft_handle_heartbeat(node, m, err);
    case RAFT_MSG_SNAPSHOT:
        raft_become_follower(node, m->term, m->from);
        return raft_handle_snapshot(node, m, err);
    case RAFT_MSG_VOTE_RESP:
    case RAFT_MSG_PREVOTE_RESP:
        return raft_handle_vote_resp(node, m, err);
    default:
        return 0; /* late answers to an earlier role */
    }
}

static int follower_step(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    switch (m->type) {
    case RAFT_MSG_APPEND:
        node->election_elapsed = 0;
        node->lead = m->from;
        return raft_handle_append(node, m, err);
    case RAFT_MSG_HEARTBEAT:
        node->election_elapsed = 0;
        node->lead = m->from;
        return raft_handle_heartbeat(node, m, err);
    case RAFT_MSG_SNAPSHOT:
        node->election_elapsed = 0;
        node->lead = m->from;
        return raft_handle_snapshot(node, m, err);
    case RAFT_MSG_TIMEOUT_NOW:
        /* Leadership transfer: take what the leader says we may commit and
         * apply it first, so that a change it committed decides which
         * configuration we campaign in; then campaign at once, past the
         * lease. */
        raft_commit_to(node, m->commit < node->log.last_index ? m->commit : node->log.last_index);
        raft_apply_committed(node);
        if (raft_promotable(node))
            raft_campaign(node, false, true);
        return 0;
    default:
        return 0;
    }
}

int raft_step_msg(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    int rc;

    if (m == NULL) {
        node->stats.refused_malformed++;
        return nr_errf(err, NR_EINVAL, "receive input without a message");
    }
    if ((rc = check_shape(node, m, err)) != 0)
        return rc;
    if ((rc = check_sender(node, m, err)) != 0)
        return rc;
    node->stats.msgs_stepped++;
    if (m->term < node->term)
        return stale_term(node, m, err);
    if (m->term > node->term && newer_term(node, m) == 1)
        return 0;
    if (m->type == RAFT_MSG_VOTE || m->type == RAFT_MSG_PREVOTE)
        return raft_handle_vote_req(node, m, err);
    switch (node->role) {
    case RAFT_LEADER:
        return raft_leader_step(node, m, err);
    case RAFT_FOLLOWER:
        return follower_step(node, m, err);
    default:
        return candidate_step(node, m, err);
    }
}
