/* node_poll.c - the poller: one loop that receives a burst, steps the raft
 * group, appends what it must persist to the WAL's current batch, submits
 * that batch once per iteration (group commit: every write that arrives
 * while a flush is in flight joins the next one), reaps completions,
 * applies, answers and transmits. It runs until the node stops.
 *
 * Durability order (raft.h): messages in send_after_sync wait, copied,
 * until the WAL batch they followed is durable. Batches are counted as
 * they are submitted; struct wal_durable counts the durable ones. */
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "members_wire.h"
#include "node_int.h"
#include "peer_wire.h"

#define NODE_SNAP_STEP_BYTES (256u << 10) /* store pages copied per iteration */
#define NODE_PUB_NS (5u * 1000000u)       /* status published every 5 ms */
#define NODE_IDLE_WAIT_US 1000u           /* adaptive: longest block */

uint64_t node_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void node_log(const struct node *n, const char *fmt, ...)
{
    char line[768];
    struct timespec ts;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%lld.%03ld nicraftd %s: %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
            n->f.name, line);
}

/* A failed write or sync: nothing after it is durable, ever (wal.h). The
 * node stops rather than acknowledge anything. */
void node_fatal(struct node *n, const struct nr_err *err)
{
    if (n->fatal[0] != '\0')
        return;
    snprintf(n->fatal, sizeof(n->fatal), "%s", err->msg);
    node_log(n, "fatal storage error, stopping: %s", err->msg);
}

void node_send(struct node *n, uint32_t local, const struct dp_endpoint *dst, uint64_t receiver,
               uint16_t kind, const void *data, uint32_t len)
{
    struct nr_err err;

    if (dp_xport_send(n->xp, local, dst, receiver, NR_GROUP_MAIN, kind, data, len, &err) ==
        NR_EBUSY) {
        dp_xport_flush(n->xp, &err);
        dp_xport_send(n->xp, local, dst, receiver, NR_GROUP_MAIN, kind, data, len, &err);
    }
}

void node_send_raft(struct node *n, const struct raft_msg *m)
{
    struct node_member *to = node_member_find(n, m->to);
    struct nr_err err;
    int len;

    if (to == NULL || to->peer.port == 0)
        return; /* no address yet: raft sends again */
    if (m->type == RAFT_MSG_SNAPSHOT) {
        node_snap_send(n, m);
        return;
    }
    len = peer_msg_encode(m, n->enc, n->enc_cap, &err);
    if (len < 0) {
        node_log(n, "cannot encode a %s to %016" PRIx64 ": %s", raft_msg_type_name(m->type), m->to,
                 err.msg);
        return;
    }
    node_send(n, NODE_LOCAL_PEER, &to->peer, m->to, NR_KIND_RAFT, n->enc, (uint32_t)len);
}

/* Submits the filled batch and reaps completions; n->durable_new says the
 * durable position moved (the loop tells the raft node: never while an
 * output is being handled). */
static void wal_pump(struct node *n)
{
    struct wal_durable d;
    struct nr_err err;
    int rc;

    if (n->wal_dirty) {
        rc = wal_submit(n->wal, &err);
        if (rc == 0) {
            n->batches_submitted++;
            n->wal_dirty = false;
        } else if (rc != NR_EBUSY) {
            node_fatal(n, &err);
        }
    }
    rc = wal_reap(n->wal, &d, &err);
    if (rc < 0)
        node_fatal(n, &err);
    if (rc == 1) {
        n->durable = d;
        n->durable_new = true;
    }
}

static void persist(struct node *n, const struct raft_output *out)
{
    struct nr_err err;
    uint64_t start = 0;

    if (out->persist.n == 0 && !out->hard_state_changed && out->install == NULL)
        return;
    for (;;) {
        int rc = wal_append(n->wal, out->persist.v, out->persist.n,
                            out->hard_state_changed ? &out->hard_state : NULL, out->install, &err);
        if (rc == 0) {
            n->wal_dirty = true;
            return;
        }
        if (rc != NR_EBUSY || n->fatal[0] != '\0') {
            node_fatal(n, &err);
            return;
        }
        /* The batch or the segment is full: let the WAL drain (bounded by
         * the disk) and the control thread prepare a segment. */
        if (start == 0)
            start = node_now_ns();
        if (node_now_ns() - start > 10ull * 1000000000u) {
            nr_errf(&err, NR_EBUSY, "the WAL has refused a batch for 10 s: %s", err.msg);
            node_fatal(n, &err);
            return;
        }
        wal_pump(n);
        sched_yield();
    }
}

/* The batch a message from this step must wait for: the one being filled,
 * the last one in flight, or none (0: send now). */
static uint64_t hold_tag(const struct node *n)
{
    if (n->wal_dirty)
        return n->batches_submitted + 1;
    if (n->batches_submitted > n->durable.batches)
        return n->batches_submitted;
    return 0;
}

static void hold(struct node *n, const struct raft_msg *m)
{
    uint64_t tag = hold_tag(n);

    if (tag == 0) {
        node_send_raft(n, m);
        return;
    }
    NR_ASSERT(m->n_entries == 0); /* the core holds only responses and votes */
    if (n->held_n == NODE_HELD_MAX) {
        n->held_dropped++; /* like a lost packet: raft asks again */
        return;
    }
    struct node_held *h = &n->held[(n->held_head + n->held_n++) % NODE_HELD_MAX];
    h->batch = tag;
    h->msg = *m;
    h->msg.entries = NULL;
}

static void release_held(struct node *n)
{
    while (n->held_n > 0 && n->held[n->held_head].batch <= n->durable.batches) {
        node_send_raft(n, &n->held[n->held_head].msg);
        n->held_head = (n->held_head + 1) % NODE_HELD_MAX;
        n->held_n--;
    }
}

void node_handle_output(struct node *n, const struct raft_input *in, const struct raft_output *out)
{
    persist(n, out);
    for (uint32_t i = 0; i < out->send_now.n; i++)
        node_send_raft(n, &out->send_now.v[i]);
    for (uint32_t i = 0; i < out->send_after_sync.n; i++)
        hold(n, &out->send_after_sync.v[i]);
    if (out->install != NULL)
        node_snap_installed(n, out->install);
    if (out->apply.n > 0)
        node_apply(n, &out->apply);
    if (out->reads.n > 0)
        node_reads_confirmed(n, &out->reads);
    if (out->conf != NULL)
        node_conf_applied(n, out->conf);
    if (in->kind == RAFT_IN_PROPOSE)
        n->propose_index = out->propose_index;
    if (out->role != n->role && n->role == RAFT_LEADER)
        node_leadership_lost(n);
    n->role = out->role;
    n->leader_id = out->leader_id;
}

void node_step(struct node *n, const struct raft_input *in)
{
    struct raft_output out;
    struct nr_err err;

    raft_step(n->raft, in, &out, &err); /* a refusal is counted in raft_stats */
    node_handle_output(n, in, &out);
    raft_advance(n->raft, &out);
}

static void on_raft_msg(struct node *n, const struct dp_msg *m)
{
    struct nr_err err;
    struct raft_input in = {.kind = RAFT_IN_RECV, .msg = &n->rx_msg};

    if (peer_msg_decode(m->data, m->len, &n->rx_msg, n->rx_entries, RAFT_MSG_ENTRIES_MAX, &err) !=
                0 ||
        n->rx_msg.from != m->sender_id) {
        n->peer_bad++;
        return;
    }
    struct node_member *from = node_member_find(n, m->sender_id);
    if (from != NULL) {
        if (from->last_heard_ns == 0 ||
            n->now_ns - from->last_heard_ns > (uint64_t)n->f.election_ms * 1000000u)
            from->connected_since_ns = n->now_ns;
        from->last_heard_ns = n->now_ns;
    }
    node_step(n, &in);
}

static void on_msg(void *ctx, const struct dp_msg *m)
{
    struct node *n = ctx;

    switch (m->kind) {
    case NR_KIND_RAFT: on_raft_msg(n, m); break;
    case NR_KIND_CLIENT_REQ: node_client_request(n, m); break;
    case NR_KIND_MEMBERS_REQ: node_members_request(n, m); break;
    case NR_KIND_MEMBER_ATTR: node_member_attr_msg(n, m); break;
    case NR_KIND_SNAP_CHUNK:
    case NR_KIND_SNAP_ACK: node_snap_msg(n, m); break;
    default: n->peer_bad++; break;
    }
}

static void tell_applied(struct node *n)
{
    if (n->applied <= n->applied_told)
        return;
    struct raft_input in = {.kind = RAFT_IN_APPLIED, .index = n->applied};
    n->applied_told = n->applied;
    node_step(n, &in);
}

/* One iteration; the number of things it did (0: idle). */
static uint32_t poll_once(struct node *n)
{
    struct nr_err err;
    uint32_t work = 0;
    int rc;

    n->now_ns = node_now_ns();
    rc = dp_xport_poll(n->xp, n->now_ns, on_msg, n, &err);
    if (rc > 0)
        work += (uint32_t)rc;
    if (n->staged.n > 0) {
        node_propose_staged(n);
        work++;
    }
    if (n->read_round_open) {
        struct raft_input in = {.kind = RAFT_IN_READ_INDEX, .read_ctx = n->read_ctx_next};

        n->read_round_open = false;
        n->read_ctx_next++;
        node_step(n, &in);
        work++;
    }
    while (n->now_ns >= n->next_tick_ns) {
        struct raft_input in = {.kind = RAFT_IN_TICK};

        n->next_tick_ns += n->tick_ns;
        node_step(n, &in);
        node_tick_duties(n);
        work++;
    }
    work += node_cmds_handle(n);
    wal_pump(n);
    if (n->durable_new) {
        struct raft_input in = {
                .kind = RAFT_IN_PERSISTED, .index = n->durable.index, .term = n->durable.term};

        n->durable_new = false;
        node_step(n, &in);
        release_held(n);
        work++;
    }
    tell_applied(n);
    node_answer_reads(n);
    work += node_snap_poll(n);
    dp_xport_flush(n->xp, &err);
    if (n->now_ns >= n->pub_next_ns) {
        node_publish(n, n->now_ns);
        n->pub_next_ns = n->now_ns + NODE_PUB_NS;
    }
    return work;
}

/* Adaptive idle: the transport yields, then blocks on its sockets and on
 * the WAL's ring (node_boot adds it), so a batch that becomes durable
 * wakes the poller; never past the next tick. Without a ring to wait on
 * (a DPDK PMD with no wake-up descriptor) a syncing batch is waited for by
 * yielding. */
static void idle(struct node *n)
{
    struct nr_err err;

    if (n->f.idle == NR_IDLE_BUSY)
        return;
    if (!n->wal_wakes && (n->wal_dirty || n->batches_submitted > n->durable.batches)) {
        sched_yield();
        return;
    }
    uint64_t now = node_now_ns();
    uint64_t until_tick = n->next_tick_ns > now ? (n->next_tick_ns - now) / 1000u : 0;
    dp_xport_wait(n->xp, until_tick < NODE_IDLE_WAIT_US ? (uint32_t)until_tick : NODE_IDLE_WAIT_US,
                  &err);
}

/* A leader that stops hands leadership to the voter furthest along, and
 * waits up to two election timeouts for it (SPEC section 2 rule 10's
 * spirit: no leaderless gap). */
static void hand_over(struct node *n)
{
    struct raft_progress_view v[RAFT_MEMBERS_MAX];
    uint32_t nv = raft_progress(n->raft, v, RAFT_MEMBERS_MAX);
    uint64_t best = 0, best_match = 0;

    for (uint32_t i = 0; i < nv; i++)
        if (v[i].id != n->self_id && !v[i].is_learner && v[i].match_index >= best_match) {
            best = v[i].id;
            best_match = v[i].match_index;
        }
    if (best == 0)
        return;
    node_log(n, "stopping: handing leadership to %016" PRIx64, best);
    struct raft_input in = {.kind = RAFT_IN_TRANSFER, .target = best};
    node_step(n, &in);
    uint64_t until = node_now_ns() + 2ull * n->f.election_ms * 1000000u;
    while (n->role == RAFT_LEADER && node_now_ns() < until && n->fatal[0] == '\0')
        if (poll_once(n) == 0)
            sched_yield();
}

int node_run(struct node *n, struct nr_err *err)
{
    int rc = node_ctl_start(n, err);

    if (rc != 0)
        return rc;
    n->next_tick_ns = node_now_ns() + n->tick_ns;
    node_log(n,
             "serving: member %016" PRIx64 " of cluster %016" PRIx64 ", peers at %s, clients "
             "at %s, idle %s (%s)",
             n->self_id, n->cluster_id, n->f.listen_peer_url, n->f.listen_client_url,
             n->f.idle == NR_IDLE_BUSY ? "busy" : "adaptive",
             !dp_xport_has_wake_fd(n->xp) ? "no wake-up descriptor: short sleeps"
             : n->wal_wakes               ? "blocks on the transport and the WAL"
                                          : "blocks on the transport");
    /* The poll loop: runs until the node stops, by design. */
    while (!n->stop && n->fatal[0] == '\0' && !node_removed_done(n))
        if (poll_once(n) == 0)
            idle(n);
    if (n->fatal[0] == '\0' && n->role == RAFT_LEADER && !node_removed_done(n))
        hand_over(n);
    /* Finish what was appended: the WAL waits for writes in flight. */
    if (n->fatal[0] == '\0' && n->wal_dirty)
        wal_pump(n);
    node_publish(n, node_now_ns());
    node_ctl_join(n);
    if (n->fatal[0] != '\0')
        return nr_errf(err, NR_EIO, "%s", n->fatal);
    return 0;
}
