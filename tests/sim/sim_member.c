/* sim_member.c - the membership invariants, checked as the cores produce
 * output. They hold trivially without --churn (one configuration all along)
 * and are what --churn exists to exercise:
 *
 * (1) One change pending at most (SPEC section 2 rule 2): a leader's log
 *     never holds a configuration change of its own term beyond its applied
 *     index next to another one beyond it. (A new leader may inherit two
 *     unapplied changes of earlier terms: the leader before it applied the
 *     first before proposing the second, but this one has not yet learnt
 *     that; a correct core proposes nothing until it has applied them.)
 * (2) Quorum on commit: whenever a leader's commit index advances to i, the
 *     voters whose acknowledged index is at least i (raft_progress; the
 *     leader's own entry is its persisted index) are a majority of voters[]
 *     and, while joint, of voters_outgoing[] - of the configuration the
 *     leader had when it decided: before or after the step (a change applied
 *     in the step takes effect in its middle). Learners never count.
 * (3) Quorum on election: a member that becomes leader of term T is a voter,
 *     and the members that granted it their vote in T (VOTE_RESP grants
 *     delivered to it, and itself) are a majority of each half of its
 *     configuration, before or after the step, as for (2).
 * (4) Configuration agreement: every member that applies the change at
 *     index i reaches the same configuration.
 * (5) Quorum overlap across a change: when a member goes from one
 *     configuration to the next by applying one change, every quorum of
 *     the new one intersects every quorum of the old one. Changes take
 *     effect when applied, at different times on different members, so a
 *     member still in the old configuration and one already in the new one
 *     must not be able to decide apart. A simple change of one voter, entering
 *     C(old,new) and leaving it all pass; several voters changed in one
 *     simple step do not.
 * A step that applied more than one change has intermediate configurations
 * the simulator does not see; (2) and (3) skip it and count the skip.
 *
 * Together with election safety, log matching, state machine safety and
 * leader completeness (sim_check.c), these are what keeps two disjoint sets
 * of members from committing or electing independently: a change applied
 * as if it were simpler than it is, or a second change while one is
 * pending, lets an old and a new majority decide apart, which shows up as
 * two different entries committed at one index.
 *
 * Removal (SPEC section 2 rule 10): a member that applies a configuration
 * without itself, having been in the one before, stops within about a
 * second (sim_churn.c does the stopping). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

_Static_assert(SIM_NODES_MAX <= 64, "vote and acknowledgement sets are 64-bit masks");

static uint64_t bit_of(uint64_t id)
{
    return id >= 1 && id <= 64 ? UINT64_C(1) << (id - 1) : 0;
}

uint64_t sim_ids_mask(const uint64_t *ids, uint32_t n)
{
    uint64_t mask = 0;

    for (uint32_t i = 0; i < n; i++)
        mask |= bit_of(ids[i]);
    return mask;
}

void sim_fmt_ids(char *buf, size_t len, uint64_t mask)
{
    size_t off = 0;
    int k = snprintf(buf, len, "{");

    off = k > 0 ? (size_t)k : 0;
    for (uint32_t id = 1; id <= 64 && off < len; id++) {
        if (!(mask & bit_of(id)))
            continue;
        k = snprintf(buf + off, len - off, "%s%u", off > 1 ? "," : "", id);
        off += k > 0 ? (size_t)k : 0;
    }
    if (off < len)
        snprintf(buf + off, len - off, "}");
}

bool sim_conf_equal(const struct raft_conf *a, const struct raft_conf *b)
{
    return sim_ids_mask(a->voters, a->n_voters) == sim_ids_mask(b->voters, b->n_voters) &&
           sim_ids_mask(a->voters_outgoing, a->n_voters_outgoing) ==
                   sim_ids_mask(b->voters_outgoing, b->n_voters_outgoing) &&
           sim_ids_mask(a->learners, a->n_learners) == sim_ids_mask(b->learners, b->n_learners) &&
           sim_ids_mask(a->learners_next, a->n_learners_next) ==
                   sim_ids_mask(b->learners_next, b->n_learners_next) &&
           a->auto_leave == b->auto_leave;
}

uint64_t sim_conf_hash(const struct raft_conf *c)
{
    uint64_t h = sim_mix64(sim_ids_mask(c->voters, c->n_voters) + 1);

    h = sim_mix64(h ^ sim_ids_mask(c->voters_outgoing, c->n_voters_outgoing));
    h = sim_mix64(h ^ sim_ids_mask(c->learners, c->n_learners));
    h = sim_mix64(h ^ sim_ids_mask(c->learners_next, c->n_learners_next));
    h = sim_mix64(h ^ (c->auto_leave ? 1u : 0u));
    return h ? h : 1; /* 0 means "none seen" */
}

/* A majority of ids holds set. An empty half leaves the decision to the
 * other (raft_quorum_committed returns UINT64_MAX for it). */
static bool majority_in(const uint64_t *ids, uint32_t n, uint64_t set)
{
    uint32_t k = 0;

    if (n == 0)
        return true;
    for (uint32_t i = 0; i < n; i++)
        k += (set & bit_of(ids[i])) ? 1u : 0u;
    return k > n / 2;
}

static bool is_quorum(const struct raft_conf *c, uint64_t set)
{
    if (c->n_voters == 0 && c->n_voters_outgoing == 0)
        return false;
    return majority_in(c->voters, c->n_voters, set) &&
           majority_in(c->voters_outgoing, c->n_voters_outgoing, set);
}

static void fmt_conf(char *buf, size_t len, const struct raft_conf *c)
{
    char v[128], o[128], l[128];

    sim_fmt_ids(v, sizeof(v), sim_ids_mask(c->voters, c->n_voters));
    sim_fmt_ids(o, sizeof(o), sim_ids_mask(c->voters_outgoing, c->n_voters_outgoing));
    sim_fmt_ids(l, sizeof(l),
                sim_ids_mask(c->learners, c->n_learners) |
                        sim_ids_mask(c->learners_next, c->n_learners_next));
    snprintf(buf, len, "voters=%s outgoing=%s learners=%s", v, o, l);
}

/* Configurations taken in one step: the changes handed out for applying,
 * and an installed snapshot's. */
static uint32_t n_confs_taken(const struct raft_output *out)
{
    uint32_t k = out->install != NULL ? 1u : 0u;

    for (uint32_t i = 0; i < out->apply.n; i++)
        k += out->apply.v[i].type == RAFT_ENTRY_CONF ? 1u : 0u;
    return k;
}

/* ---- (3) elections -------------------------------------------------- */

void sim_member_on_deliver(struct sim_world *w, struct sim_node *n, const struct raft_msg *m)
{
    (void)w;
    /* An acknowledgement to the leader of its term: the sender's match, even
     * if the step that takes it also applies the sender's removal (and so
     * drops it from raft_progress before check_commit looks). */
    if (m->type == RAFT_MSG_APPEND_RESP && !m->reject && n->role == RAFT_LEADER &&
        m->term == n->term && n->lead_term == n->term && m->from >= 1 && m->from <= SIM_NODES_MAX &&
        m->index > n->lead_match[m->from])
        n->lead_match[m->from] = m->index;
    if (m->type != RAFT_MSG_VOTE_RESP || m->reject)
        return;
    if (m->term < n->vote_term)
        return; /* a late answer from an earlier election */
    if (m->term > n->vote_term) {
        n->vote_term = m->term;
        n->votes = 0;
    }
    n->votes |= bit_of(m->from);
}

void sim_member_on_leader(struct sim_world *w, struct sim_node *n, const struct raft_conf *conf0,
                          const struct raft_output *out)
{
    struct raft_status st;
    char got[160], c0[512], c1[512];

    raft_status(n->raft, &st);
    n->lead_term = st.hard_state.term;
    memset(n->lead_match, 0, sizeof(n->lead_match));
    if (n_confs_taken(out) > 1) {
        w->st.chk_skipped++;
        return;
    }
    w->st.chk_elections++;
    uint64_t votes = (n->vote_term == st.hard_state.term ? n->votes : 0) | bit_of(n->id);

    if (!raft_conf_has_voter(conf0, n->id) && !raft_conf_has_voter(&st.conf, n->id)) {
        fmt_conf(c1, sizeof(c1), &st.conf);
        sim_violation(w,
                      "election: n%u became leader of term %llu but is no voter of its "
                      "configuration (%s): a learner never campaigns",
                      n->idx + 1, (unsigned long long)st.hard_state.term, c1);
        return;
    }
    if (is_quorum(conf0, votes) || is_quorum(&st.conf, votes))
        return;
    sim_fmt_ids(got, sizeof(got), votes);
    fmt_conf(c0, sizeof(c0), conf0);
    fmt_conf(c1, sizeof(c1), &st.conf);
    sim_violation(w,
                  "election quorum: n%u became leader of term %llu with the votes of %s, "
                  "not a majority of each half of its configuration (before the step: %s; "
                  "after: %s)",
                  n->idx + 1, (unsigned long long)st.hard_state.term, got, c0, c1);
}

/* ---- (2) commits ---------------------------------------------------- */

static void check_commit(struct sim_world *w, struct sim_node *n, const struct raft_status *st,
                         const struct raft_output *out, const struct raft_conf *conf0,
                         uint64_t commit0)
{
    struct raft_progress_view pv[RAFT_MEMBERS_MAX];
    uint32_t k = raft_progress(n->raft, pv, RAFT_MEMBERS_MAX);
    uint64_t i = st->hard_state.commit, acked = 0;
    char got[160], c0[512], c1[512];

    if (n->lead_term != st->hard_state.term) {
        n->lead_term = st->hard_state.term;
        memset(n->lead_match, 0, sizeof(n->lead_match));
    }
    /* A leader's view of a match only grows within its term (the core
     * raises it on APPEND_RESP alone); a member removed in this step has
     * left raft_progress, but what it acknowledged still counts for the
     * configuration before the step (sim_member_on_deliver noted it). */
    for (uint32_t j = 0; j < k; j++) {
        if (pv[j].id >= 1 && pv[j].id <= SIM_NODES_MAX &&
            pv[j].match_index > n->lead_match[pv[j].id])
            n->lead_match[pv[j].id] = pv[j].match_index;
    }
    /* The leader's own acknowledgement is its durable index; a leader that
     * applied its own removal in this step (it leads on to hand over) has
     * left raft_progress, but it still counted for the configuration
     * before the step. */
    if (st->id >= 1 && st->id <= SIM_NODES_MAX && st->persisted_index > n->lead_match[st->id])
        n->lead_match[st->id] = st->persisted_index;
    if (i <= commit0)
        return;
    if (n_confs_taken(out) > 1) {
        w->st.chk_skipped++;
        return;
    }
    w->st.chk_commits++;
    for (uint64_t id = 1; id <= SIM_NODES_MAX; id++) {
        if (n->lead_match[id] >= i)
            acked |= bit_of(id);
    }
    if (is_quorum(conf0, acked) || is_quorum(&st->conf, acked))
        return;
    sim_fmt_ids(got, sizeof(got), acked);
    fmt_conf(c0, sizeof(c0), conf0);
    fmt_conf(c1, sizeof(c1), &st->conf);
    sim_violation(w,
                  "commit quorum: n%u, leader of term %llu, committed up to %llu, which only "
                  "%s acknowledged: not a majority of each half of its configuration (before "
                  "the step: %s; after: %s); learners never count",
                  n->idx + 1, (unsigned long long)st->hard_state.term, (unsigned long long)i, got,
                  c0, c1);
}

/* ---- (1) pending changes -------------------------------------------- */

static void cpend_add(struct sim_node *n, uint64_t index, uint64_t term)
{
    if (n->n_cpend == SIM_CPEND_MAX) {
        n->is_cpend_lost = true;
        return;
    }
    n->cpend[n->n_cpend++] = (struct sim_cpend){.index = index, .term = term};
}

/* Keeps the entries with lo <= index < hi. */
static void cpend_keep(struct sim_node *n, uint64_t lo, uint64_t hi)
{
    uint32_t k = 0;

    for (uint32_t i = 0; i < n->n_cpend; i++) {
        if (n->cpend[i].index >= lo && n->cpend[i].index < hi)
            n->cpend[k++] = n->cpend[i];
    }
    n->n_cpend = k;
    if (k == 0)
        n->is_cpend_lost = false; /* nothing unknown left beyond applied */
}

void sim_member_on_start(struct sim_world *w, struct sim_node *n)
{
    struct raft_status st;
    const struct sim_disk *d = &n->disk;

    (void)w;
    raft_status(n->raft, &st);
    n->conf = st.conf;
    n->was_member = st.is_member;
    n->lead_term = 0;
    n->n_cpend = 0;
    n->is_cpend_lost = false;
    for (uint32_t i = 0; i < d->n_log; i++) {
        if (d->log[i].type == RAFT_ENTRY_CONF && d->log[i].index > st.applied_index)
            cpend_add(n, d->log[i].index, d->log[i].term);
    }
}

static void track_pending(struct sim_world *w, struct sim_node *n, const struct raft_status *st,
                          const struct raft_output *out)
{
    if (out->install != NULL)
        cpend_keep(n, 1, 0); /* the log is now the snapshot alone */
    if (out->persist.n > 0) {
        cpend_keep(n, 0, out->persist.v[0].index);
        for (uint32_t i = 0; i < out->persist.n; i++) {
            const struct raft_entry *e = &out->persist.v[i];

            if (e->type == RAFT_ENTRY_CONF)
                cpend_add(n, e->index, e->term);
        }
    }
    cpend_keep(n, n->kv.applied_index + 1, UINT64_MAX);
    if (st->role != RAFT_LEADER || n->is_cpend_lost || n->n_cpend < 2)
        return;
    for (uint32_t i = 0; i < n->n_cpend; i++) {
        if (n->cpend[i].term != st->hard_state.term)
            continue;
        uint32_t j = i == 0 ? 1 : 0;

        sim_violation(w,
                      "one change pending at most: n%u, leader of term %llu, holds the "
                      "configuration change %llu/%llu while the change at %llu/%llu is not "
                      "applied either (applied %llu)",
                      n->idx + 1, (unsigned long long)st->hard_state.term,
                      (unsigned long long)n->cpend[i].index, (unsigned long long)n->cpend[i].term,
                      (unsigned long long)n->cpend[j].index, (unsigned long long)n->cpend[j].term,
                      (unsigned long long)n->kv.applied_index);
        return;
    }
}

/* ---- (5) quorum overlap --------------------------------------------- */

#define OVERLAP_IDS_MAX 20 /* members of both configurations: 2^20 subsets */

/* Two disjoint quorums, one of a and one of b: the members in S (a subset
 * of u) form a quorum of a and the rest a quorum of b. Quorums only grow
 * with their members, so trying every S finds one if there is one. */
static bool has_disjoint_quorums(const struct raft_conf *a, const struct raft_conf *b, uint64_t *qa,
                                 uint64_t *qb)
{
    uint64_t u = sim_ids_mask(a->voters, a->n_voters) |
                 sim_ids_mask(a->voters_outgoing, a->n_voters_outgoing) |
                 sim_ids_mask(b->voters, b->n_voters) |
                 sim_ids_mask(b->voters_outgoing, b->n_voters_outgoing);
    uint64_t ids[64];
    uint32_t n = 0;

    for (uint32_t id = 1; id <= 64; id++) {
        if (u & bit_of(id))
            ids[n++] = id;
    }
    NR_ASSERT(n <= OVERLAP_IDS_MAX); /* the operator's limits keep it small */
    for (uint64_t k = 0; k < (UINT64_C(1) << n); k++) {
        uint64_t set = 0;

        for (uint32_t j = 0; j < n; j++) {
            if ((k >> j) & 1)
                set |= bit_of(ids[j]);
        }
        if (is_quorum(a, set) && is_quorum(b, u & ~set)) {
            *qa = set & (sim_ids_mask(a->voters, a->n_voters) |
                         sim_ids_mask(a->voters_outgoing, a->n_voters_outgoing));
            *qb = u & ~set &
                  (sim_ids_mask(b->voters, b->n_voters) |
                   sim_ids_mask(b->voters_outgoing, b->n_voters_outgoing));
            return true;
        }
    }
    return false;
}

static void check_overlap(struct sim_world *w, struct sim_node *n, const struct raft_conf *conf0,
                          const struct raft_output *out)
{
    uint64_t qa = 0, qb = 0;
    char c0[512], c1[512], a[160], b[160];

    /* The founding configuration comes from none; an installed snapshot
     * may jump several changes; two changes in one step hide the one in
     * between. */
    if (conf0->n_voters == 0 || out->install != NULL || n_confs_taken(out) != 1)
        return;
    if (!has_disjoint_quorums(conf0, out->conf, &qa, &qb))
        return;
    fmt_conf(c0, sizeof(c0), conf0);
    fmt_conf(c1, sizeof(c1), out->conf);
    sim_fmt_ids(a, sizeof(a), qa);
    sim_fmt_ids(b, sizeof(b), qb);
    sim_violation(w,
                  "quorum overlap: n%u applied the change at %llu and went from %s to %s; "
                  "%s is a quorum of the old configuration and %s of the new one, so "
                  "members on either side of the change could decide apart",
                  n->idx + 1, (unsigned long long)out->conf_index, c0, c1, a, b);
}

/* ---- (4) agreement, and removal ------------------------------------- */

static void on_conf(struct sim_world *w, struct sim_node *n, const struct raft_status *st,
                    const struct raft_output *out, const struct raft_conf *conf0)
{
    struct sim_check *c = &w->chk;
    uint64_t i = out->conf_index, h = sim_conf_hash(out->conf);
    const struct raft_conf *cf = out->conf;

    sim_log(w, SIM_REC_CONF, n->idx, i, sim_ids_mask(cf->voters, cf->n_voters),
            sim_ids_mask(cf->voters_outgoing, cf->n_voters_outgoing),
            sim_ids_mask(cf->learners, cf->n_learners) |
                    sim_ids_mask(cf->learners_next, cf->n_learners_next),
            out->install != NULL ? 1u : 0u, 0);
    if (out->install == NULL) {
        c->conf_at = sim_grow(c->conf_at, &c->n_conf_at, i + 1, sizeof(c->conf_at[0]));
        if (c->conf_at[i] == 0) {
            c->conf_at[i] = h;
            w->st.conf_applied++;
        } else if (c->conf_at[i] != h) {
            char now[512];

            fmt_conf(now, sizeof(now), cf);
            sim_violation(w,
                          "configuration agreement: n%u reached %s by applying the change at "
                          "%llu; another member reached a different one there",
                          n->idx + 1, now, (unsigned long long)i);
        }
        check_overlap(w, n, conf0, out);
    }
    if (!w->opts->churn)
        return;
    sim_churn_on_conf(w, cf);
    if (n->was_member && !st->is_member && !n->is_removed) {
        /* SPEC section 2 rule 10: it stops within about a second, and
         * refuses to run again. */
        uint64_t d = sim_rng_bp(&w->rng, 7000) ? sim_rng_range(&w->rng, 1000, 100000)
                                               : sim_rng_range(&w->rng, 100000, 1000000);

        n->is_removed = true;
        sim_schedule(w, d, SIM_EV_STOP, n->idx, 0, 0, NULL);
    }
}

void sim_member_after_step(struct sim_world *w, struct sim_node *n, const struct raft_output *out,
                           const struct raft_conf *conf0, uint64_t commit0, uint32_t role0)
{
    struct raft_status st;

    if (n->raft == NULL || w->failed)
        return;
    raft_status(n->raft, &st);
    track_pending(w, n, &st, out);
    if (st.role == RAFT_LEADER && !w->failed)
        check_commit(w, n, &st, out, conf0, commit0);
    if (out->conf != NULL && !w->failed) {
        on_conf(w, n, &st, out, conf0);
        if (role0 == RAFT_LEADER && !raft_conf_has_voter(out->conf, n->id))
            w->st.leader_stepdowns++;
    }
    n->conf = st.conf;
    n->was_member = st.is_member;
}
