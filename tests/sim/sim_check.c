/* sim_check.c - the invariants, checked as the cores produce output.
 *
 * - Election safety: at most one member declares itself leader per term.
 * - Log matching: every entry that becomes durable anywhere is recorded by
 *   (index, term); another durable copy of the pair must carry the same
 *   bytes and follow the same predecessor term. By induction this is log
 *   matching for every durable log. (A single member elects itself before
 *   its new term is durable; what it wrote then and lost in a crash was
 *   never seen, and may differ from what it writes in that term again.)
 * - State machine safety: every applied entry is compared with the first
 *   entry applied anywhere at that index (term and bytes), and the state
 *   digest after it with the first applier's digest.
 * - Leader completeness: a member that becomes leader of term U holds every
 *   entry applied somewhere by a member whose term was below U (the commit
 *   happened in a term no later than the applier's).
 * - At the end of a seed, after the cluster settled: every acknowledged put
 *   is in the committed log and every member of the final configuration
 *   converged on one state and one configuration.
 * The membership invariants (--churn) are in sim_member.c. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void *sim_grow(void *v, uint64_t *n, uint64_t need, size_t size)
{
    if (need <= *n)
        return v;
    uint64_t cap = *n ? *n : 256;

    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(v, (size_t)cap * size);

    NR_ASSERT(p != NULL);
    memset(p + (size_t)*n * size, 0, (size_t)(cap - *n) * size);
    *n = cap;
    return p;
}

void sim_check_free(struct sim_check *c)
{
    for (uint64_t i = 0; i < c->n_wr; i++)
        free(c->wr[i].v);
    free(c->wr);
    free(c->com);
    free(c->conf_at);
    free(c->leader_of_term);
    memset(c, 0, sizeof(*c));
}

/* ---- leaders -------------------------------------------------------- */

static void check_leader_completeness(struct sim_world *w, struct sim_node *n,
                                      const struct raft_status *st)
{
    struct sim_check *c = &w->chk;
    uint64_t u = st->hard_state.term, lo = st->snap_index + 1;
    uint64_t hi = st->last_index < c->com_max ? st->last_index : c->com_max;

    if (st->first_index > lo)
        lo = st->first_index;
    for (uint64_t j = lo; j <= hi && !w->failed; j++) {
        const struct sim_committed *e = &c->com[j];
        uint64_t t = e->is_set && e->bound_term < u ? raft_term_at(n->raft, j) : e->term;

        if (t != e->term)
            sim_violation(w,
                          "leader completeness: n%u became leader of term %llu with term "
                          "%llu at index %llu, where %llu/%llu was committed (applied at "
                          "term %llu)",
                          n->idx + 1, (unsigned long long)u, (unsigned long long)t,
                          (unsigned long long)j, (unsigned long long)j, (unsigned long long)e->term,
                          (unsigned long long)e->bound_term);
    }
    for (uint64_t j = c->com_max; j > st->last_index && !w->failed; j--) {
        if (c->com[j].is_set && c->com[j].bound_term < u)
            sim_violation(w,
                          "leader completeness: n%u became leader of term %llu with last "
                          "index %llu, but %llu was committed (applied at term %llu)",
                          n->idx + 1, (unsigned long long)u, (unsigned long long)st->last_index,
                          (unsigned long long)j, (unsigned long long)c->com[j].bound_term);
    }
    uint64_t s = st->snap_index;

    if (s > 0 && s < c->n_com && c->com[s].is_set && c->com[s].bound_term < u &&
        n->snap.meta.index == s && n->snap.kv.digest != c->com[s].digest)
        sim_violation(w,
                      "leader completeness: n%u became leader of term %llu from a "
                      "snapshot at %llu that differs from the committed state there",
                      n->idx + 1, (unsigned long long)u, (unsigned long long)s);
}

static void check_one_leader(struct sim_world *w, struct sim_node *n, uint64_t term)
{
    struct sim_check *c = &w->chk;

    c->leader_of_term =
            sim_grow(c->leader_of_term, &c->n_terms, term + 1, sizeof(c->leader_of_term[0]));
    if (c->leader_of_term[term] == RAFT_ID_NONE)
        c->leader_of_term[term] = n->id;
    else if (c->leader_of_term[term] != n->id)
        sim_violation(w, "election safety: n%u and n%llu are both leaders of term %llu", n->idx + 1,
                      (unsigned long long)c->leader_of_term[term], (unsigned long long)term);
}

void sim_check_step(struct sim_world *w, struct sim_node *n, const struct raft_output *out)
{
    struct raft_status st;

    raft_status(n->raft, &st);
    uint64_t term = st.hard_state.term;

    if (term < n->term)
        sim_violation(w, "n%u's term went down from %llu to %llu", n->idx + 1,
                      (unsigned long long)n->term, (unsigned long long)term);
    bool is_new = st.role != n->role || term != n->term;

    if (is_new)
        sim_log(w, SIM_REC_ROLE, n->idx, st.role, term, st.leader_id, st.last_index,
                st.hard_state.commit, 0);
    if (st.role == RAFT_LEADER) {
        check_one_leader(w, n, term);
        if (is_new) {
            w->st.elections++;
            check_leader_completeness(w, n, &st);
        }
    }
    n->role = st.role;
    n->term = term;
    n->leader_hint = out->leader_id;
}

/* ---- log matching --------------------------------------------------- */

static void record_written(struct sim_world *w, struct sim_node *n, const struct raft_entry *e,
                           uint64_t prev_term)
{
    struct sim_check *c = &w->chk;
    uint64_t h = sim_entry_hash(e->type, e->data, e->len);

    c->wr = sim_grow(c->wr, &c->n_wr, e->index + 1, sizeof(c->wr[0]));
    struct sim_wslot *s = &c->wr[e->index];

    for (uint32_t i = 0; i < s->n; i++) {
        struct sim_written *x = &s->v[i];

        if (x->term != e->term)
            continue;
        if (x->hash != h)
            sim_violation(w,
                          "log matching: n%u wrote entry %llu/%llu with other bytes than "
                          "an earlier entry %llu/%llu",
                          n->idx + 1, (unsigned long long)e->index, (unsigned long long)e->term,
                          (unsigned long long)e->index, (unsigned long long)x->term);
        else if (prev_term != UINT64_MAX && x->prev_term != UINT64_MAX && prev_term != x->prev_term)
            sim_violation(w,
                          "log matching: n%u wrote %llu/%llu after term %llu, another log "
                          "has it after term %llu",
                          n->idx + 1, (unsigned long long)e->index, (unsigned long long)e->term,
                          (unsigned long long)prev_term, (unsigned long long)x->prev_term);
        if (x->prev_term == UINT64_MAX)
            x->prev_term = prev_term;
        return;
    }
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 2;
        struct sim_written *v = realloc(s->v, (size_t)cap * sizeof(*v));

        NR_ASSERT(v != NULL);
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (struct sim_written){.term = e->term, .hash = h, .prev_term = prev_term};
}

void sim_check_durable(struct sim_world *w, struct sim_node *n, const struct sim_entry *e)
{
    struct raft_entry re = {
            .term = e->term, .index = e->index, .type = e->type, .len = e->len, .data = e->data};

    record_written(w, n, &re, e->prev_term);
}

/* What a step hands to storage: contiguous, terms never going down, none
 * beyond the node's own term. */
void sim_check_written(struct sim_world *w, struct sim_node *n, const struct raft_entries *es)
{
    for (uint32_t i = 0; i < es->n && !w->failed; i++) {
        const struct raft_entry *e = &es->v[i];
        uint64_t prev = UINT64_MAX;

        if (i > 0 && e->index != es->v[i - 1].index + 1) {
            sim_violation(w, "n%u persists entry %llu right after %llu", n->idx + 1,
                          (unsigned long long)e->index, (unsigned long long)es->v[i - 1].index);
            return;
        }
        if (i > 0)
            prev = es->v[i - 1].term;
        else if (e->index > 1 && raft_term_at(n->raft, e->index - 1) != 0)
            prev = raft_term_at(n->raft, e->index - 1);
        if (prev != UINT64_MAX && prev > e->term)
            sim_violation(w, "log matching: n%u writes %llu/%llu after an entry of term %llu",
                          n->idx + 1, (unsigned long long)e->index, (unsigned long long)e->term,
                          (unsigned long long)prev);
        if (e->term > n->term)
            sim_violation(w, "n%u writes entry %llu of term %llu in term %llu", n->idx + 1,
                          (unsigned long long)e->index, (unsigned long long)e->term,
                          (unsigned long long)n->term);
    }
}

/* ---- state machine safety ------------------------------------------- */

void sim_check_apply(struct sim_world *w, struct sim_node *n, const struct raft_entry *e)
{
    struct sim_check *c = &w->chk;
    uint64_t h = sim_entry_hash(e->type, e->data, e->len);

    c->com = sim_grow(c->com, &c->n_com, e->index + 1, sizeof(c->com[0]));
    struct sim_committed *x = &c->com[e->index];

    if (!x->is_set) {
        *x = (struct sim_committed){.term = e->term,
                                    .hash = h,
                                    .digest = n->kv.digest,
                                    .bound_term = n->term,
                                    .is_set = true};
        if (e->index > c->com_max)
            c->com_max = e->index;
        return;
    }
    if (x->term != e->term || x->hash != h)
        sim_violation(w,
                      "state machine safety: n%u applied %llu/%llu (hash %016llx) where "
                      "%llu/%llu (hash %016llx) was applied before",
                      n->idx + 1, (unsigned long long)e->index, (unsigned long long)e->term,
                      (unsigned long long)h, (unsigned long long)e->index,
                      (unsigned long long)x->term, (unsigned long long)x->hash);
    else if (x->digest != n->kv.digest)
        sim_violation(w,
                      "state machine safety: n%u's state after %llu differs from the "
                      "first applier's (applied sequences diverge)",
                      n->idx + 1, (unsigned long long)e->index);
    if (n->term < x->bound_term)
        x->bound_term = n->term;
}

void sim_check_install(struct sim_world *w, struct sim_node *n)
{
    struct sim_check *c = &w->chk;
    uint64_t s = n->snap.meta.index;

    if (s < c->n_com && c->com[s].is_set && c->com[s].digest != n->snap.kv.digest)
        sim_violation(w,
                      "state machine safety: n%u installed a snapshot at %llu whose state "
                      "differs from the state applied there",
                      n->idx + 1, (unsigned long long)s);
}

/* ---- end of seed ---------------------------------------------------- */

/* A slot's member ID is in the configuration (any role). */
static bool is_final_member(const struct sim_world *w, const struct sim_node *n)
{
    return raft_conf_has_member(&w->final_conf, n->id);
}

/* Converged: a leader whose whole log is committed in its own term, and
 * every member of its configuration up, applied to its last index and in
 * the same configuration. Without --churn the configuration is every slot;
 * with it, members removed on the way (stopped, or still running because
 * they never learnt of their removal) do not count. */
bool sim_check_converged(struct sim_world *w)
{
    struct raft_status st;
    const struct sim_node *lead = NULL;

    for (uint32_t i = 0; i < w->p.n_nodes; i++) {
        struct sim_node *n = &w->nodes[i];

        if (n->raft == NULL) {
            if (!w->opts->churn)
                return false;
            continue;
        }
        raft_status(n->raft, &st);
        if (st.role == RAFT_LEADER && st.hard_state.commit == st.last_index &&
            raft_term_at(n->raft, st.last_index) == st.hard_state.term) {
            lead = n;
            w->final_index = st.last_index;
            w->final_conf = st.conf;
        }
    }
    if (lead == NULL || w->final_index == 0)
        return false;
    for (uint32_t i = 0; i < w->p.n_nodes; i++) {
        const struct sim_node *n = &w->nodes[i];

        if (!is_final_member(w, n))
            continue;
        if (n->raft == NULL || n->kv.applied_index != w->final_index)
            return false;
        raft_status(n->raft, &st);
        if (!sim_conf_equal(&st.conf, &w->final_conf))
            return false;
    }
    return true;
}

static void check_acked_puts(struct sim_world *w, uint64_t applied)
{
    const struct sim_check *c = &w->chk;

    for (uint32_t i = 0; i < w->hist.n && !w->failed; i++) {
        const struct sim_op *op = &w->hist.v[i];

        if (op->kind != SIM_OP_PUT || op->ret == SIM_TIME_NEVER)
            continue;
        if (op->index > applied || op->index >= c->n_com || !c->com[op->index].is_set ||
            c->com[op->index].term != op->term)
            sim_violation(w,
                          "acknowledged put k%u=%llu at %llu/%llu is not in the committed "
                          "log (members applied up to %llu)",
                          op->key, (unsigned long long)op->value, (unsigned long long)op->index,
                          (unsigned long long)op->term, (unsigned long long)applied);
    }
}

void sim_check_final(struct sim_world *w)
{
    const struct sim_check *c = &w->chk;
    uint64_t applied = w->final_index;

    for (uint32_t i = 0; i < w->p.n_nodes && !w->failed; i++) {
        const struct sim_node *n = &w->nodes[i];

        if (!is_final_member(w, n))
            continue;
        if (n->kv.applied_index >= c->n_com || !c->com[n->kv.applied_index].is_set ||
            c->com[n->kv.applied_index].digest != n->kv.digest)
            sim_violation(w, "convergence: n%u's state at %llu is not the committed state",
                          n->idx + 1, (unsigned long long)n->kv.applied_index);
    }
    check_acked_puts(w, applied);
}
