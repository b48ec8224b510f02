/* node_pub.c - what the poller shows the control thread: a sequence lock
 * over struct node_view. The poller alone writes (every few ms: a copy of
 * a few tens of KiB); readers copy it out and retry while it changes. */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "node_int.h"

static void view_fill(struct node *n, struct node_view *v, uint64_t now_ns)
{
    struct dp_xport_stats xs;

    raft_status(n->raft, &v->st);
    v->n_prog = raft_progress(n->raft, v->prog, RAFT_MEMBERS_MAX);
    v->members = n->members;
    kv_stats(n->kv, &v->kv);
    dp_xport_stats(n->xp, &xs);
    v->other_cluster_drops = xs.codec.drops[DP_DROP_OTHER_CLUSTER];
    v->peer_bad = n->peer_bad;
    v->client_bad = n->client_bad;
    v->entries_unknown = n->entries_unknown;
    v->held_dropped = n->held_dropped;
    v->evts_dropped = n->evts_dropped;
    raft_stats(n->raft, &v->raft);
    v->now_ns = now_ns;
    v->wal_batches = n->durable.batches;
    v->n_errors = 0;
    if (n->fatal[0] != '\0')
        snprintf(v->errors[v->n_errors++], sizeof(v->errors[0]), "%s", n->fatal);
    if (n->removed_at_ns != 0)
        snprintf(v->errors[v->n_errors++], sizeof(v->errors[0]),
                 "this member was removed from the cluster; it stops");
    if (!v->st.is_member && n->removed_at_ns == 0 && n->members.n > 0)
        snprintf(v->errors[v->n_errors++], sizeof(v->errors[0]),
                 "this member is not in the configuration it has applied");
}

void node_publish(struct node *n, uint64_t now_ns)
{
    uint32_t s = atomic_load_explicit(&n->pub.seq, memory_order_relaxed);

    atomic_store_explicit(&n->pub.seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    view_fill(n, &n->pub.view, now_ns);
    atomic_store_explicit(&n->pub.seq, s + 2, memory_order_release);
}

void node_view_read(struct node *n, struct node_view *v)
{
    for (;;) {
        uint32_t s1 = atomic_load_explicit(&n->pub.seq, memory_order_acquire);

        if ((s1 & 1u) != 0) {
            sched_yield();
            continue;
        }
        memcpy(v, &n->pub.view, sizeof(*v));
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&n->pub.seq, memory_order_relaxed) == s1)
            return;
    }
}
