/* scen_cluster.c - nodes of the scenario cluster: boot and restart from the
 * simulated WAL, crash, and the poller-like handling of each step's output
 * (CONVENTIONS section 2): write the WAL, queue send_now, hold
 * send_after_sync until durable, apply committed entries, print reads. */
#include "scen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scen_cluster_init(struct scen_cluster *c, struct scen_buf *out)
{
    memset(c, 0, sizeof(*c));
    c->out = out;
    c->indent = "";
    c->applied = scen_xcalloc(SCEN_LOG_MAX + 1, sizeof(c->applied[0]));
}

void scen_cluster_free(struct scen_cluster *c)
{
    for (uint64_t id = 1; id <= SCEN_NODES_MAX; id++) {
        struct scen_node *n = &c->nodes[id];
        if (!n->is_member)
            continue;
        if (n->raft != NULL)
            raft_destroy(n->raft);
        scen_store_free(&n->wal);
        scen_store_free(&n->durable);
        free(n->digest_at);
    }
    c->out = NULL; /* drop quietly */
    scen_drop(c, 0, 0);
    scen_net_release_held(c, 0, true);
    free(c->applied);
    c->applied = NULL;
}

struct scen_node *scen_node_get(struct scen_cluster *c, uint64_t id)
{
    if (id == 0 || id > SCEN_NODES_MAX || !c->nodes[id].is_member) {
        scen_printf(c->out, "error: no node %" PRIu64 "\n", id);
        return NULL;
    }
    return &c->nodes[id];
}

struct scen_node *scen_node_up(struct scen_cluster *c, uint64_t id)
{
    struct scen_node *n = scen_node_get(c, id);

    if (n != NULL && n->raft == NULL) {
        scen_printf(c->out, "error: node %" PRIu64 " is down\n", id);
        return NULL;
    }
    return n;
}

static void remember_shown(struct scen_node *n)
{
    struct raft_status st;

    raft_status(n->raft, &st);
    n->shown_role = st.role;
    n->shown_term = st.hard_state.term;
    n->shown_vote = st.hard_state.vote;
    n->shown_leader = st.leader_id;
    n->shown_conf = st.conf;
}

void scen_show_state(struct scen_cluster *c, struct scen_node *n)
{
    struct raft_status st;

    raft_status(n->raft, &st);
    if (st.role == n->shown_role && st.hard_state.term == n->shown_term &&
        st.hard_state.vote == n->shown_vote && st.leader_id == n->shown_leader)
        return;
    scen_printf(c->out, "%s%" PRIu64 ": %s term=%" PRIu64 " vote=%" PRIu64 " leader=%" PRIu64 "\n",
                c->indent, n->id, scen_role_name(st.role), st.hard_state.term, st.hard_state.vote,
                st.leader_id);
    remember_shown(n);
}

int scen_node_boot(struct scen_cluster *c, struct scen_node *n)
{
    struct raft_boot boot;
    struct nr_err err = {0};
    const struct scen_store *d = &n->durable;
    struct raft_entry *ents = scen_xcalloc(d->n_log + 1, sizeof(ents[0]));

    memset(&boot, 0, sizeof(boot));
    boot.hard_state = d->hs;
    boot.snap = d->snap;
    for (uint32_t i = 0; i < d->n_log; i++) {
        ents[i].term = d->log[i].term;
        ents[i].index = d->log[i].index;
        ents[i].type = d->log[i].type;
        ents[i].len = d->log[i].len;
        ents[i].data = d->log[i].data;
    }
    boot.entries = ents;
    boot.n_entries = d->n_log;
    /* The state machine restarts from the snapshot and re-applies the rest. */
    boot.applied_index = d->snap.index;
    int rc = raft_create(&n->cfg, &boot, &n->raft, &err);
    free(ents);
    if (rc != 0) {
        n->raft = NULL;
        scen_printf(c->out, "error: node %" PRIu64 ": raft_create: %s: %s\n", n->id,
                    nr_code_name(rc), err.msg);
        return rc;
    }
    scen_store_copy(&n->wal, &n->durable);
    n->has_unsynced = false;
    n->has_unsynced_entries = false;
    n->is_persist_due = false;
    n->is_apply_due = false;
    n->sm_applied = d->snap.index;
    if (d->snap.index <= SCEN_LOG_MAX)
        n->digest_at[d->snap.index] = d->snap_digest;
    remember_shown(n);
    return 0;
}

void scen_node_crash(struct scen_cluster *c, struct scen_node *n)
{
    raft_destroy(n->raft);
    n->raft = NULL;
    /* Unsynced writes are lost with the page cache, and so are the
     * messages that waited for them. */
    scen_store_copy(&n->wal, &n->durable);
    n->has_unsynced = false;
    n->has_unsynced_entries = false;
    n->is_persist_due = false;
    n->is_apply_due = false;
    scen_net_release_held(c, n->id, true);
}

static void make_durable(struct scen_cluster *c, struct scen_node *n)
{
    scen_store_copy(&n->durable, &n->wal);
    if (n->has_unsynced_entries)
        n->is_persist_due = true;
    n->has_unsynced = false;
    n->has_unsynced_entries = false;
    scen_net_release_held(c, n->id, false);
}

/* ---- applying ------------------------------------------------------------ */

static uint64_t entry_hash(const struct raft_entry *e)
{
    uint64_t h = 1469598103934665603ull;

    h = (h ^ e->term) * 1099511628211ull;
    h = (h ^ e->type) * 1099511628211ull;
    for (uint32_t i = 0; i < e->len; i++)
        h = (h ^ e->data[i]) * 1099511628211ull;
    return h;
}

static void print_entry_brief(struct scen_buf *b, const struct raft_entry *e)
{
    scen_printf(b, "%" PRIu64 "@%" PRIu64, e->index, e->term);
    if (e->type == RAFT_ENTRY_NOOP) {
        scen_printf(b, " noop");
        return;
    }
    if (e->type == RAFT_ENTRY_CONF) {
        scen_printf(b, " conf ");
        scen_print_cc(b, e->data, e->len);
        return;
    }
    if (e->type != RAFT_ENTRY_NORMAL) {
        scen_printf(b, " type=%u", e->type);
        return;
    }
    scen_printf(b, " \"");
    for (uint32_t i = 0; i < e->len && i < SCEN_DATA_MAX; i++) {
        char ch = (char)e->data[i];
        scen_printf(b, "%c", (ch >= 0x21 && ch <= 0x7e && ch != '"') ? ch : '?');
    }
    scen_printf(b, "\"");
}

/* Checks State Machine Safety across the cluster and updates the digest. */
static void apply_one(struct scen_cluster *c, struct scen_node *n, const struct raft_entry *e)
{
    uint64_t durable_last, durable_term;

    if (e->index != n->sm_applied + 1)
        scen_printf(c->out, "%sVIOLATION: %" PRIu64 " applies %" PRIu64 " after %" PRIu64 "\n",
                    c->indent, n->id, e->index, n->sm_applied);
    scen_store_last(&n->durable, &durable_last, &durable_term);
    if (e->index > durable_last)
        scen_printf(c->out,
                    "%sVIOLATION: %" PRIu64 " applies %" PRIu64 " before it is durable"
                    " (durable to %" PRIu64 ")\n",
                    c->indent, n->id, e->index, durable_last);
    if (e->index > SCEN_LOG_MAX) {
        scen_printf(c->out, "error: index %" PRIu64 " past the scenario limit\n", e->index);
        return;
    }
    uint64_t h = entry_hash(e);
    struct scen_applied *a = &c->applied[e->index];
    if (a->first_node == 0) {
        a->term = e->term;
        a->hash = h;
        a->first_node = n->id;
    } else if (a->term != e->term || a->hash != h) {
        scen_printf(c->out,
                    "%sVIOLATION: %" PRIu64 " applies %" PRIu64 "@%" PRIu64 " but %" PRIu64
                    " applied %" PRIu64 "@%" PRIu64 "\n",
                    c->indent, n->id, e->index, e->term, a->first_node, e->index, a->term);
    }
    n->digest_at[e->index] = (n->digest_at[e->index - 1] ^ h) * 1099511628211ull;
    n->sm_applied = e->index;
}

static void apply_entries(struct scen_cluster *c, struct scen_node *n,
                          const struct raft_entries *apply)
{
    uint32_t k = apply->n;

    if (k == 0)
        return;
    scen_printf(c->out, "%s%" PRIu64 ": apply ", c->indent, n->id);
    for (uint32_t i = 0; i < k; i++) {
        if (k <= 4 || i < 2 || i == k - 1) {
            if (i > 0)
                scen_printf(c->out, ", ");
            print_entry_brief(c->out, &apply->v[i]);
        } else if (i == 2) {
            scen_printf(c->out, ", ...");
        }
    }
    if (k > 4)
        scen_printf(c->out, " (n=%u)", k);
    scen_printf(c->out, "\n");
    for (uint32_t i = 0; i < k; i++)
        apply_one(c, n, &apply->v[i]);
    n->is_apply_due = true;
}

/* ---- output handling ------------------------------------------------------ */

static void install_snapshot(struct scen_cluster *c, struct scen_node *n,
                             const struct raft_snap_meta *meta, const struct scen_msg *via)
{
    scen_printf(c->out, "%s%" PRIu64 ": install snapshot %" PRIu64 "@%" PRIu64 "\n", c->indent,
                n->id, meta->index, meta->term);
    if (via == NULL || !via->has_snap_bytes || via->m.snap.index != meta->index) {
        scen_printf(c->out, "%serror: %" PRIu64 ": no snapshot bytes for %" PRIu64 "\n", c->indent,
                    n->id, meta->index);
        return;
    }
    if (meta->index > SCEN_LOG_MAX) {
        scen_printf(c->out, "error: snapshot past the scenario limit\n");
        return;
    }
    scen_store_install(&n->wal, meta, via->snap_digest);
    n->has_unsynced = true;
    n->has_unsynced_entries = true;
    n->sm_applied = meta->index;
    n->digest_at[meta->index] = via->snap_digest;
}

/* A configuration applied in this step (SPEC section 2 rule 3), or installed
 * with a snapshot. Printed once the cluster shows configurations, and
 * always when it differs from the one this node last showed. */
static void show_conf(struct scen_cluster *c, struct scen_node *n, const struct raft_output *out)
{
    if (out->conf == NULL)
        return;
    if (c->is_conf_shown || !scen_conf_equal(out->conf, &n->shown_conf)) {
        scen_printf(c->out, "%s%" PRIu64 ": conf ", c->indent, n->id);
        scen_print_conf(c->out, out->conf);
        scen_printf(c->out, " index=%" PRIu64 "\n", out->conf_index);
    }
    n->shown_conf = *out->conf;
}

static void handle_output(struct scen_cluster *c, struct scen_node *n,
                          const struct raft_output *out, const struct scen_msg *via)
{
    struct nr_err err = {0};

    if (out->install != NULL)
        install_snapshot(c, n, out->install, via);
    if (out->persist.n > 0) {
        if (scen_store_append(&n->wal, out->persist.v, out->persist.n, &err) != 0)
            scen_printf(c->out, "%sVIOLATION: %" PRIu64 ": %s\n", c->indent, n->id, err.msg);
        n->has_unsynced = true;
        n->has_unsynced_entries = true;
    }
    if (out->hard_state_changed) {
        n->wal.hs = out->hard_state;
        n->has_unsynced = true;
    }
    if (!n->is_sync_manual && n->has_unsynced)
        make_durable(c, n);
    for (uint32_t i = 0; i < out->send_now.n; i++)
        scen_net_enqueue(c, n, &out->send_now.v[i], false);
    for (uint32_t i = 0; i < out->send_after_sync.n; i++)
        scen_net_enqueue(c, n, &out->send_after_sync.v[i], true);
    apply_entries(c, n, &out->apply);
    show_conf(c, n, out);
    for (uint32_t i = 0; i < out->reads.n; i++)
        scen_printf(c->out, "%s%" PRIu64 ": read ctx=%" PRIu64 " index=%" PRIu64 "\n", c->indent,
                    n->id, out->reads.v[i].ctx, out->reads.v[i].index);
}

static int step_once(struct scen_cluster *c, struct scen_node *n, const struct raft_input *in,
                     const struct scen_msg *via, struct nr_err *err)
{
    struct raft_output out;

    int rc = raft_step(n->raft, in, &out, err);
    if (in->kind != RAFT_IN_PERSISTED && in->kind != RAFT_IN_APPLIED) {
        c->last_propose_index = out.propose_index;
        c->last_propose_term = out.propose_term;
        c->last_leader_id = out.leader_id;
    }
    handle_output(c, n, &out, via);
    raft_advance(n->raft, &out);
    scen_show_state(c, n);
    return rc;
}

/* Storage and the state machine answer at once (or at `sync`): the core
 * learns what is durable and what is applied. Bounded: each round either
 * settles or moves the applied index forward. */
static void run_followups(struct scen_cluster *c, struct scen_node *n)
{
    for (uint32_t i = 0; i < SCEN_FOLLOWUPS_MAX; i++) {
        struct raft_input in;
        struct nr_err err = {0};

        memset(&in, 0, sizeof(in));
        if (n->is_persist_due) {
            n->is_persist_due = false;
            in.kind = RAFT_IN_PERSISTED;
            scen_store_last(&n->durable, &in.index, &in.term);
        } else if (n->is_apply_due) {
            n->is_apply_due = false;
            in.kind = RAFT_IN_APPLIED;
            in.index = n->sm_applied;
        } else {
            return;
        }
        int rc = step_once(c, n, &in, NULL, &err);
        if (rc != 0)
            scen_printf(c->out, "%serror: %" PRIu64 ": %s %" PRIu64 " refused: %s: %s\n", c->indent,
                        n->id, in.kind == RAFT_IN_PERSISTED ? "PERSISTED" : "APPLIED", in.index,
                        nr_code_name(rc), err.msg);
    }
    scen_printf(c->out, "error: %" PRIu64 ": follow-up steps did not settle\n", n->id);
}

int scen_node_step(struct scen_cluster *c, struct scen_node *n, const struct raft_input *in,
                   const struct scen_msg *via, struct nr_err *err)
{
    int rc = step_once(c, n, in, via, err);

    run_followups(c, n);
    return rc;
}

void scen_node_sync(struct scen_cluster *c, struct scen_node *n)
{
    make_durable(c, n);
    run_followups(c, n);
}

int scen_node_compact(struct scen_cluster *c, struct scen_node *n, uint64_t index,
                      struct nr_err *err)
{
    struct raft_status st;
    struct raft_snap_meta meta;
    struct raft_input in;

    if (index > n->sm_applied)
        return nr_errf(err, NR_ERANGE, "compact at %" PRIu64 " beyond applied %" PRIu64, index,
                       n->sm_applied);
    if (index <= n->durable.snap.index)
        return nr_errf(err, NR_ERANGE, "compact at %" PRIu64 " at or below the snapshot %" PRIu64,
                       index, n->durable.snap.index);
    raft_status(n->raft, &st);
    memset(&meta, 0, sizeof(meta));
    meta.index = index;
    meta.term = raft_term_at(n->raft, index);
    meta.conf = st.conf;
    /* The snapshot file is written and synced on its own, then the WAL
     * before it is dropped; both copies see it. */
    scen_store_install(&n->durable, &meta, n->digest_at[index]);
    scen_store_install(&n->wal, &meta, n->digest_at[index]);
    memset(&in, 0, sizeof(in));
    in.kind = RAFT_IN_COMPACT;
    in.index = index;
    return scen_node_step(c, n, &in, NULL, err);
}
