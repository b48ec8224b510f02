/* follow.c - the follower's side: appends, heartbeats and snapshots from
 * the leader. Acknowledgements leave only after what they acknowledge is
 * durable (send_after_sync). */
#include <inttypes.h>

#include "raft_int.h"

static struct raft_msg *ack_new(struct raft_node *node, uint64_t to)
{
    /* The defect the simulator must catch: an acknowledgement that may
     * leave before the entries it acknowledges are durable. */
    bool after_sync = !RAFT_BUG(node, RAFT_BUG_ACK_BEFORE_PERSIST);

    return raft_msg_new(node, RAFT_MSG_APPEND_RESP, to, after_sync);
}

static void reject_append(struct raft_node *node, const struct raft_msg *m)
{
    const struct raft_log *log = &node->log;
    uint64_t hint = m->index < log->last_index ? m->index : log->last_index;
    uint64_t hint_term;
    struct raft_msg *r;

    /* Tell the leader where our log might stop matching: the last index
     * whose term is at most the term it probed with (etcd's fast back-off,
     * Raft paper 5.3's optimisation). */
    hint = raft_log_find_conflict_by_term(log, hint, m->log_term, &hint_term);
    r = raft_reply_new(node, RAFT_MSG_APPEND_RESP, m->from);
    if (r == NULL)
        return;
    r->reject = true;
    r->index = m->index;
    r->reject_hint = hint;
    r->reject_hint_term = hint_term;
}

/* Appends m's entries from the first one our log lacks or contradicts, as
 * far as the window has room. Returns the last index that now matches. */
static uint64_t append_new(struct raft_node *node, const struct raft_msg *m)
{
    struct raft_log *log = &node->log;
    uint32_t i = 0;

    while (i < m->n_entries && m->entries[i].index <= log->last_index &&
           raft_log_term(log, m->entries[i].index) == m->entries[i].term)
        i++;
    if (i == m->n_entries)
        return m->index + m->n_entries;
    uint64_t from = m->entries[i].index;
    NR_ASSERT(from > log->committed); /* m->index >= committed was checked */
    if (from <= log->last_index)
        raft_log_truncate(log, from);
    for (; i < m->n_entries; i++) {
        const struct raft_entry *e = &m->entries[i];

        if (!raft_log_has_room(log, e->len))
            break; /* the rest comes again once we compact */
        node->persist[node->n_persist++] = *raft_log_append(log, e->term, e->type, e->data, e->len);
    }
    return log->last_index;
}

int raft_handle_append(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    struct raft_log *log = &node->log;
    struct raft_msg *r;
    uint64_t last_new;

    (void)err;
    if (m->index < log->committed) {
        /* Already committed here: say how far we are. */
        r = ack_new(node, m->from);
        if (r != NULL)
            r->index = log->committed;
        return 0;
    }
    if (!raft_log_match_term(log, m->index, m->log_term)) {
        reject_append(node, m);
        return 0;
    }
    last_new = append_new(node, m);
    raft_commit_to(node, m->commit < last_new ? m->commit : last_new);
    r = ack_new(node, m->from);
    if (r != NULL)
        r->index = last_new;
    return 0;
}

int raft_handle_heartbeat(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    uint64_t commit = m->commit;
    struct raft_msg *r;
    int rc = 0;

    /* etcd panics here (SPEC section 3: "tocommit(N) is out of range"); the
     * leader only ever sends min(match, commit), so a larger value means
     * this member lost state or the sender is broken: clamp and count. */
    if (commit > node->log.last_index) {
        node->stats.clamped_commit++;
        rc = nr_errf(err, NR_ERANGE,
                     "heartbeat from %016" PRIx64 ": commit index %" PRIu64
                     " is beyond our last index %" PRIu64
                     "; clamped (has this member lost its log?)",
                     m->from, commit, node->log.last_index);
        commit = node->log.last_index;
    }
    raft_commit_to(node, commit);
    r = raft_reply_new(node, RAFT_MSG_HEARTBEAT_RESP, m->from);
    if (r != NULL)
        r->ctx = m->ctx;
    return rc;
}

int raft_handle_snapshot(struct raft_node *node, const struct raft_msg *m, struct nr_err *err)
{
    const struct raft_snap_meta *s = &m->snap;
    struct raft_log *log = &node->log;
    struct raft_msg *r;
    int rc;

    if ((rc = raft_conf_check(&s->conf, false, err)) != 0) {
        node->stats.refused_malformed++;
        return rc;
    }
    if (s->index <= log->committed || raft_log_match_term(log, s->index, s->term)) {
        /* Nothing to install: we hold it already, or hold its last entry. */
        if (s->index > log->committed)
            raft_commit_to(node, s->index);
        r = ack_new(node, m->from);
        if (r != NULL)
            r->index = log->committed;
        return 0;
    }
    raft_log_restore(log, s->index, s->term);
    /* Entries handed out earlier in this step are inside the snapshot,
     * which replaces the state machine: they are not to be applied. */
    node->n_apply = 0;
    node->snap = *s;
    raft_conf_load(node, &s->conf, s->index);
    node->conf_changed = true;
    node->conf_changed_index = s->index;
    node->install = *s;
    node->has_install = true;
    r = ack_new(node, m->from);
    if (r != NULL)
        r->index = log->last_index;
    return 0;
}
