/* membership.c - the node's configuration: changes take effect when their
 * entry is applied (SPEC section 2 rule 3), one at a time (rule 2); joint
 * configurations are left automatically when asked (rule 5); a leader that
 * is no longer a voter steps down. The change arithmetic is confchange.c. */
#include <inttypes.h>
#include <string.h>

#include "raft_int.h"

bool raft_configured(const struct raft_node *node)
{
    return node->members.conf.n_voters > 0 || node->members.conf.n_voters_outgoing > 0;
}

/* Progress records follow the member records: kept ids keep their
 * replication state and in-flight window, new ids start in probe. */
static void prs_sync(struct raft_node *node)
{
    struct raft_prog old[RAFT_MEMBERS_MAX];
    bool used[RAFT_MEMBERS_MAX] = {false};
    bool is_new[RAFT_MEMBERS_MAX] = {false};
    uint32_t n_old = node->n_prs;
    uint32_t max = node->cfg.inflight_max;

    memcpy(old, node->prs, sizeof(old[0]) * n_old);
    node->n_prs = node->members.n_recs;
    for (uint32_t i = 0; i < node->members.n_recs; i++) {
        const struct raft_member_rec *rec = &node->members.recs[i];
        uint32_t j = 0;

        while (j < n_old && old[j].id != rec->id)
            j++;
        is_new[i] = j == n_old;
        if (is_new[i])
            continue;
        node->prs[i] = old[j];
        node->prs[i].is_learner = rec->is_learner;
        used[(node->prs[i].infl - node->infl_block) / max] = true;
    }
    for (uint32_t i = 0, slot = 0; i < node->members.n_recs; i++) {
        struct raft_prog *pr = &node->prs[i];

        if (!is_new[i])
            continue;
        while (used[slot])
            slot++;
        used[slot] = true;
        memset(pr, 0, sizeof(*pr));
        pr->id = node->members.recs[i].id;
        pr->is_learner = node->members.recs[i].is_learner;
        pr->infl = node->infl_block + (size_t)slot * max;
        raft_prog_reset(pr, node->members.recs[i].next_index);
        pr->recent_active = true; /* give a new member an election timeout */
        if (pr->id == node->id)
            pr->match = node->log.persisted;
    }
}

bool raft_was_removed(const struct raft_node *node, uint64_t id)
{
    for (uint32_t i = 0; i < node->n_removed; i++)
        if (node->removed[i] == id)
            return true;
    return false;
}

/* Remembers the members a change removed (SPEC section 2 rule 10: peers
 * refuse a removed member's messages) and forgets those it added again. A
 * bounded list: the oldest names fall out first. */
static void note_removed(struct raft_node *node, const struct raft_conf *before)
{
    const struct raft_conf *after = &node->members.conf;

    for (uint32_t i = 0; i < node->n_removed;) {
        if (raft_conf_has_member(after, node->removed[i]))
            node->removed[i] = node->removed[--node->n_removed];
        else
            i++;
    }
    const uint64_t *lists[4] = {before->voters, before->voters_outgoing, before->learners,
                                before->learners_next};
    uint32_t counts[4] = {before->n_voters, before->n_voters_outgoing, before->n_learners,
                          before->n_learners_next};
    for (uint32_t l = 0; l < 4; l++) {
        for (uint32_t i = 0; i < counts[l]; i++) {
            uint64_t id = lists[l][i];

            if (raft_conf_has_member(after, id) || raft_was_removed(node, id))
                continue;
            if (node->n_removed == RAFT_REMOVED_MAX) {
                memmove(&node->removed[0], &node->removed[1],
                        sizeof(node->removed[0]) * (RAFT_REMOVED_MAX - 1));
                node->n_removed--;
            }
            node->removed[node->n_removed++] = id;
        }
    }
}

static void hist_push(struct raft_node *node, uint64_t index)
{
    if (node->n_conf_hist == RAFT_CONF_HIST) {
        memmove(&node->conf_hist[0], &node->conf_hist[1],
                sizeof(node->conf_hist[0]) * (RAFT_CONF_HIST - 1));
        node->n_conf_hist--;
    }
    node->conf_hist[node->n_conf_hist].index = index;
    node->conf_hist[node->n_conf_hist].conf = node->members.conf;
    node->n_conf_hist++;
}

void raft_conf_load(struct raft_node *node, const struct raft_conf *conf, uint64_t index)
{
    raft_membership_from_conf(&node->members, conf, node->log.last_index + 1);
    node->n_conf_hist = 0;
    hist_push(node, index);
    prs_sync(node);
}

int raft_conf_at(const struct raft_node *node, uint64_t index, struct raft_conf *out)
{
    for (uint32_t i = node->n_conf_hist; i > 0; i--) {
        if (node->conf_hist[i - 1].index <= index) {
            *out = node->conf_hist[i - 1].conf;
            return 0;
        }
    }
    return NR_ERANGE;
}

void raft_conf_apply_entry(struct raft_node *node, const struct raft_entry *e)
{
    struct raft_conf_change cc;
    struct raft_conf before = node->members.conf;
    struct nr_err err;
    bool check_one_voter = true;

    /* The entry is committed: every member applies it to the same
     * configuration and reaches the same verdict, so one that decodes badly
     * or that the configuration refuses is skipped everywhere alike. */
    if (raft_cc_decode(e->data, e->len, &cc, &err) != 0) {
        node->stats.refused_conf++;
        return;
    }
    if (RAFT_BUG(node, RAFT_BUG_SIMPLE_MULTI) && cc.kind == RAFT_CC_ENTER_JOINT) {
        cc.kind = RAFT_CC_SIMPLE;
        check_one_voter = false;
    }
    if (raft_membership_apply_ex(&node->members, &cc, node->log.last_index, check_one_voter,
                                 &err) != 0) {
        node->stats.refused_conf++;
        return;
    }
    hist_push(node, e->index);
    prs_sync(node);
    note_removed(node, &before);
    node->stats.conf_applied++;
    node->conf_changed = true;
    node->conf_changed_index = e->index;
}

/* Proposes the empty change that leaves a joint configuration, once the
 * joint one is applied and asked for it (etcd's auto-leave). */
static void maybe_auto_leave(struct raft_node *node)
{
    const struct raft_conf *c = &node->members.conf;
    struct raft_conf_change cc = {.kind = RAFT_CC_LEAVE_JOINT};
    uint8_t buf[RAFT_CC_WIRE_MAX];
    uint32_t len;

    if (node->role != RAFT_LEADER || !raft_conf_is_joint(c) || !c->auto_leave ||
        node->pending_conf_index > node->log.applying ||
        node->transfer_target != RAFT_ID_NONE || !raft_log_has_room(&node->log, 8))
        return; /* not now; checked again after every step */
    len = raft_cc_encode(&cc, buf);
    node->persist[node->n_persist++] =
        *raft_log_append(&node->log, node->term, RAFT_ENTRY_CONF, buf, len);
    node->pending_conf_index = node->log.last_index;
    for (uint32_t i = 0; i < node->n_prs; i++)
        if (node->prs[i].id != node->id)
            raft_maybe_send_append(node, &node->prs[i], false);
}

void raft_conf_after_apply(struct raft_node *node)
{
    const struct raft_conf *c = &node->members.conf;

    if (node->role != RAFT_LEADER)
        return;
    if (!raft_conf_has_voter(c, node->id)) {
        /* Removed or demoted. Stepping down at once could strand members
         * that have not learnt that the change committed in the old
         * configuration, whose removed members stop (SPEC section 2 rule
         * 10). Lead on, taking no proposals, and hand leadership to the
         * best voter of the new configuration with the commit index (Raft
         * thesis 4.2.2; etcd keeps leading here too); a newer term ends it. */
        raft_handover(node);
        return;
    }
    if (node->transfer_target != RAFT_ID_NONE && !raft_conf_has_voter(c, node->transfer_target))
        node->transfer_target = RAFT_ID_NONE;
    /* The quorum changed: what is committed may have too. */
    if (raft_maybe_commit(node)) {
        raft_bcast_append(node);
        raft_reads_on_commit(node);
    } else {
        for (uint32_t i = 0; i < node->n_prs; i++)
            if (node->prs[i].id != node->id)
                raft_maybe_send_append(node, &node->prs[i], false);
    }
}

void raft_conf_step_end(struct raft_node *node)
{
    maybe_auto_leave(node);
}

int raft_conf_check_proposal(struct raft_node *node, const struct raft_input *in,
                             struct nr_err *err)
{
    struct raft_membership trial = node->members;
    struct raft_conf_change cc;
    struct nr_err why;
    int rc;

    if (in->n_propose != 1)
        return nr_errf(err, NR_EINVAL, "a configuration change must be proposed alone, "
                       "not with %u other entries", in->n_propose - 1);
    if (node->pending_conf_index > node->log.applying &&
        !RAFT_BUG(node, RAFT_BUG_CONF_NO_PENDING)) {
        node->stats.refused_busy++;
        return nr_errf(err, NR_EBUSY,
                       "refused: the configuration change at index %" PRIu64
                       " is not applied yet (applied %" PRIu64 "); one change at a time",
                       node->pending_conf_index, node->log.applying);
    }
    if ((rc = raft_cc_decode(in->propose[0].data, in->propose[0].len, &cc, err)) != 0)
        return rc;
    if ((rc = raft_membership_apply(&trial, &cc, node->log.last_index, &why)) != 0)
        return nr_errf(err, NR_EREFUSED, "configuration change refused: %s", why.msg);
    return 0;
}
