/* scen_net.c - the scenario cluster's network: one FIFO queue of copied
 * messages, delivered on command, dropped across partitions and to nodes
 * that are down. A delivered RAFT_MSG_SNAPSHOT is followed by the
 * RAFT_IN_SNAP_STATUS report the control thread would make. */
#include "scen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deep copy: the output's arrays belong to the node until raft_advance(). */
static struct scen_msg *msg_copy(const struct raft_msg *m)
{
    struct scen_msg *sm = scen_xcalloc(1, sizeof(*sm));
    size_t bytes = 0;

    sm->m = *m;
    for (uint32_t i = 0; i < m->n_entries; i++)
        bytes += m->entries[i].len;
    sm->ents = scen_xcalloc(m->n_entries, sizeof(sm->ents[0]));
    sm->blob = scen_xcalloc(bytes, 1);
    size_t off = 0;
    for (uint32_t i = 0; i < m->n_entries; i++) {
        sm->ents[i] = m->entries[i];
        if (m->entries[i].len > 0)
            memcpy(sm->blob + off, m->entries[i].data, m->entries[i].len);
        sm->ents[i].data = sm->blob + off;
        off += m->entries[i].len;
    }
    sm->m.entries = m->n_entries ? sm->ents : NULL;
    return sm;
}

static void msg_free(struct scen_msg *sm)
{
    free(sm->ents);
    free(sm->blob);
    free(sm);
}

void scen_net_enqueue(struct scen_cluster *c, struct scen_node *n, const struct raft_msg *m,
                      bool is_after_sync)
{
    if (c->n_net == SCEN_NET_MAX) {
        scen_printf(c->out, "error: network queue full (%d messages)\n", SCEN_NET_MAX);
        return;
    }
    struct scen_msg *sm = msg_copy(m);
    sm->is_after_sync = is_after_sync;
    sm->is_held = is_after_sync && n->has_unsynced;
    if (m->type == RAFT_MSG_SNAPSHOT) {
        /* The control thread streams the sender's snapshot file. */
        sm->has_snap_bytes =
                n->durable.snap.index == m->snap.index && n->durable.snap.term == m->snap.term;
        sm->snap_digest = n->durable.snap_digest;
    }
    c->net[c->n_net++] = sm;
}

void scen_net_release_held(struct scen_cluster *c, uint64_t from, bool is_drop)
{
    uint32_t kept = 0;

    for (uint32_t i = 0; i < c->n_net; i++) {
        struct scen_msg *sm = c->net[i];
        bool is_match = sm->is_held && (from == 0 || sm->m.from == from);
        if (is_match && is_drop) {
            msg_free(sm);
            continue;
        }
        if (is_match)
            sm->is_held = false;
        c->net[kept++] = sm;
    }
    c->n_net = kept;
}

bool scen_has_deliverable(const struct scen_cluster *c)
{
    for (uint32_t i = 0; i < c->n_net; i++)
        if (!c->net[i]->is_held)
            return true;
    return false;
}

/* Moves the deliverable messages matching from/to out of the queue, in order. */
static uint32_t take(struct scen_cluster *c, uint64_t from, uint64_t to, struct scen_msg **list)
{
    uint32_t n = 0;
    uint32_t kept = 0;

    for (uint32_t i = 0; i < c->n_net; i++) {
        struct scen_msg *sm = c->net[i];
        if (!sm->is_held && (from == 0 || sm->m.from == from) && (to == 0 || sm->m.to == to))
            list[n++] = sm;
        else
            c->net[kept++] = sm;
    }
    c->n_net = kept;
    return n;
}

/* Why m cannot arrive, or NULL. */
static const char *drop_reason(const struct scen_cluster *c, const struct raft_msg *m)
{
    if (m->to == 0 || m->to > SCEN_NODES_MAX || !c->nodes[m->to].is_member)
        return "no such node";
    if (c->nodes[m->to].raft == NULL)
        return "down";
    if (m->from >= 1 && m->from <= SCEN_NODES_MAX &&
        c->nodes[m->from].group != c->nodes[m->to].group)
        return "partition";
    return NULL;
}

static void finish_snapshot(struct scen_cluster *c, const struct scen_msg *sm, bool is_ok)
{
    struct raft_input in;
    struct nr_err err = {0};
    uint64_t from = sm->m.from;

    if (from == 0 || from > SCEN_NODES_MAX || c->nodes[from].raft == NULL)
        return;
    scen_printf(c->out, "  %" PRIu64 ": snap-status to=%" PRIu64 " %s\n", from, sm->m.to,
                is_ok ? "ok" : "failed");
    memset(&in, 0, sizeof(in));
    in.kind = RAFT_IN_SNAP_STATUS;
    in.target = sm->m.to;
    in.snap_failed = !is_ok;
    c->indent = "  ";
    int rc = scen_node_step(c, &c->nodes[from], &in, NULL, &err);
    if (rc != 0)
        scen_printf(c->out, "  %" PRIu64 ": snap-status refused %s\n", from, nr_code_name(rc));
    c->indent = "";
}

static void deliver_one(struct scen_cluster *c, struct scen_msg *sm)
{
    const char *why = drop_reason(c, &sm->m);
    struct raft_input in;
    struct nr_err err = {0};

    scen_print_msg(c->out, &sm->m);
    scen_printf(c->out, "%s", sm->is_after_sync ? " [after sync]" : "");
    if (why != NULL) {
        scen_printf(c->out, " dropped (%s)\n", why);
        if (sm->m.type == RAFT_MSG_SNAPSHOT)
            finish_snapshot(c, sm, false);
        return;
    }
    scen_printf(c->out, "\n");
    memset(&in, 0, sizeof(in));
    in.kind = RAFT_IN_RECV;
    in.msg = &sm->m;
    c->indent = "  ";
    int rc = scen_node_step(c, &c->nodes[sm->m.to], &in, sm, &err);
    if (rc != 0)
        scen_printf(c->out, "  %" PRIu64 ": refused %s\n", sm->m.to, nr_code_name(rc));
    c->indent = "";
    if (sm->m.type == RAFT_MSG_SNAPSHOT)
        finish_snapshot(c, sm, rc == 0);
}

uint32_t scen_deliver(struct scen_cluster *c, uint64_t from, uint64_t to)
{
    struct scen_msg **list = scen_xcalloc(c->n_net, sizeof(list[0]));
    uint32_t n = take(c, from, to, list);

    for (uint32_t i = 0; i < n; i++) {
        deliver_one(c, list[i]);
        msg_free(list[i]);
    }
    free(list);
    return n;
}

uint32_t scen_drop(struct scen_cluster *c, uint64_t from, uint64_t to)
{
    struct scen_msg **list = scen_xcalloc(c->n_net, sizeof(list[0]));
    uint32_t n = take(c, from, to, list);

    for (uint32_t i = 0; i < n; i++) {
        if (c->out != NULL) {
            scen_print_msg(c->out, &list[i]->m);
            scen_printf(c->out, "%s dropped\n", list[i]->is_after_sync ? " [after sync]" : "");
            if (list[i]->m.type == RAFT_MSG_SNAPSHOT)
                finish_snapshot(c, list[i], false);
        }
        msg_free(list[i]);
    }
    free(list);
    return n;
}
