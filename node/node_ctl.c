/* node_ctl.c - the control thread: the control socket (control/ctl_server.h)
 * and its commands, spare WAL segments, snapshot files. It reads what the
 * poller publishes (node_view_read) and asks the poller the rest through
 * the command ring; answers come back on the event ring.
 *
 * Commands (JSON results as nicraftctl prints them):
 *   endpoint status  this member: IDs, version, sizes, leader, term, indexes, errors
 *   endpoint health  the leader confirms its quorum with a ReadIndex round;
 *                    a follower is healthy when it has heard from a leader
 *                    within an election timeout
 *   member list      every member; the leader adds match index, lag, health */
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "ctl_server.h"
#include "node_int.h"

#define CTL_POLL_MS 5
#define CTL_PREPARE_NS (10ull * 1000000u)
#define CTL_HEALTH_MAX 64u
#define CTL_HEALTH_TIMEOUT_NS (3ull * 1000000000u)

struct ctl_health {
    uint64_t token;
    struct ctl_req *req;
    uint64_t deadline_ns;
};

struct ctl_state {
    struct node *n;
    struct node_view view; /* the last copy read */
    struct ctl_health health[CTL_HEALTH_MAX];
    uint64_t next_token;
    uint64_t prepare_next_ns;
};

static void id_hex(char out[17], uint64_t id)
{
    snprintf(out, 17, "%016" PRIx64, id);
}

static json_t *urls_json(const char (*urls)[NR_URL_LEN_MAX], uint32_t n)
{
    json_t *a = json_array();

    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(urls[i]));
    return a;
}

static int cmd_status(struct ctl_req *req, json_t *args, void *ctx, struct nr_err *err)
{
    struct ctl_state *cs = ctx;
    struct node *n = cs->n;
    struct node_view *v = &cs->view;
    char id[17], cid[17], lid[17];

    node_view_read(n, v);
    id_hex(id, n->self_id);
    id_hex(cid, n->cluster_id);
    id_hex(lid, v->st.leader_id);
    json_t *errors = json_array();
    for (uint32_t i = 0; i < v->n_errors; i++)
        json_array_append_new(errors, json_string(v->errors[i]));
    bool is_learner = raft_conf_has_member(&v->st.conf, n->self_id) &&
                      !raft_conf_has_voter(&v->st.conf, n->self_id);
    json_t *r = json_pack(
            "{s:s, s:s, s:s, s:s, s:I, s:b, s:s, s:I, s:I, s:I, s:I, s:b, s:[s], s:[s], s:o}", "id",
            id, "name", n->f.name, "version", NODE_VERSION, "cluster_id", cid, "data_size",
            (json_int_t)v->kv.kv_bytes, "is_leader", v->st.role == RAFT_LEADER, "leader", lid,
            "raft_term", (json_int_t)v->st.hard_state.term, "raft_index",
            (json_int_t)v->st.last_index, "commit_index", (json_int_t)v->st.hard_state.commit,
            "applied_index", (json_int_t)v->st.applied_index, "is_learner", is_learner,
            "client_urls", n->f.advertise_client_url, "peer_urls", n->f.advertise_peer_url,
            "errors", errors);
    if (r == NULL)
        return nr_errf(err, NR_ENOMEM, "endpoint status: cannot build the answer");
    json_object_set_new(r, "wal_batches_durable", json_integer((json_int_t)v->wal_batches));
    json_object_set_new(r, "other_cluster_drops", json_integer((json_int_t)v->other_cluster_drops));
    json_object_set_new(r, "keys", json_integer((json_int_t)v->kv.n_keys));
    json_object_set_new(
            r, "refused",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "peer_messages",
                      (json_int_t)v->peer_bad, "client_requests", (json_int_t)v->client_bad,
                      "unknown_entries", (json_int_t)v->entries_unknown, "held_dropped",
                      (json_int_t)v->held_dropped, "events_dropped", (json_int_t)v->evts_dropped,
                      "raft_stale_term", (json_int_t)v->raft.refused_stale_term,
                      "raft_unknown_sender", (json_int_t)v->raft.refused_unknown_sender,
                      "raft_malformed", (json_int_t)v->raft.refused_malformed,
                      "raft_clamped_commit", (json_int_t)v->raft.clamped_commit));
    json_object_set_new(r, "revision", json_integer((json_int_t)kv_revision(n->kv)));
    ctl_reply_ok(req, r);
    return 0;
}

/* Healthy, as SPEC section 2 rule 7 counts it: heard from within an
 * election timeout, and without a gap for at least --health-interval-ms. */
static bool member_healthy(const struct ctl_state *cs, const struct node_member *nm)
{
    const struct node_view *v = &cs->view;
    const struct nr_flags *f = &cs->n->f;

    if (nm->m.id == cs->n->self_id)
        return true;
    return nm->last_heard_ns != 0 &&
           v->now_ns - nm->last_heard_ns <= (uint64_t)f->election_ms * 1000000u &&
           v->now_ns - nm->connected_since_ns >= (uint64_t)f->health_interval_ms * 1000000u;
}

static int cmd_members(struct ctl_req *req, json_t *args, void *ctx, struct nr_err *err)
{
    struct ctl_state *cs = ctx;
    struct node_view *v = &cs->view;
    char cid[17];
    bool leader_view;

    node_view_read(cs->n, v);
    leader_view = v->st.role == RAFT_LEADER;
    json_t *list = json_array();
    for (uint32_t i = 0; i < v->members.n; i++) {
        const struct node_member *nm = &v->members.v[i];
        char id[17];

        id_hex(id, nm->m.id);
        json_t *o = json_pack(
                "{s:s, s:s, s:s, s:o, s:o, s:b}", "id", id, "status",
                nm->started ? "started" : "unstarted", "name", nm->started ? nm->m.name : "",
                "peer_urls",
                urls_json((const char(*)[NR_URL_LEN_MAX])nm->m.peer_urls, nm->m.n_peer_urls),
                "client_urls",
                urls_json((const char(*)[NR_URL_LEN_MAX])nm->m.client_urls, nm->m.n_client_urls),
                "is_learner", nm->m.is_learner);
        for (uint32_t p = 0; leader_view && p < v->n_prog; p++) {
            if (v->prog[p].id != nm->m.id)
                continue;
            json_object_set_new(o, "match_index", json_integer((json_int_t)v->prog[p].match_index));
            json_object_set_new(o, "lag", json_integer((json_int_t)v->prog[p].lag_entries));
            json_object_set_new(o, "healthy", json_boolean(member_healthy(cs, nm)));
        }
        json_array_append_new(list, o);
    }
    id_hex(cid, cs->n->cluster_id);
    json_t *r = json_pack("{s:s, s:b, s:o}", "cluster_id", cid, "leader_view", leader_view,
                          "members", list);
    if (r == NULL)
        return nr_errf(err, NR_ENOMEM, "member list: cannot build the answer");
    ctl_reply_ok(req, r);
    return 0;
}

static void health_reply(struct ctl_req *req, bool ok, uint64_t took_ns, const char *msg)
{
    ctl_reply_ok(req, json_pack("{s:b, s:f, s:s}", "health", ok, "took_ms", (double)took_ns / 1e6,
                                "error", ok ? "" : msg));
}

static int cmd_health(struct ctl_req *req, json_t *args, void *ctx, struct nr_err *err)
{
    struct ctl_state *cs = ctx;
    struct node_view *v = &cs->view;
    uint32_t slot;

    node_view_read(cs->n, v);
    if (v->st.role != RAFT_LEADER) {
        const struct node_member *l = NULL;

        for (uint32_t i = 0; i < v->members.n; i++)
            if (v->members.v[i].m.id == v->st.leader_id)
                l = &v->members.v[i];
        if (v->st.leader_id == RAFT_ID_NONE || l == NULL)
            health_reply(req, false, 0, "no leader: this member has not heard from one");
        else if (v->n_errors > 0)
            health_reply(req, false, 0, v->errors[0]);
        else
            health_reply(req, true, 0, "");
        return 0;
    }
    for (slot = 0; slot < CTL_HEALTH_MAX && cs->health[slot].req != NULL; slot++)
        ;
    if (slot == CTL_HEALTH_MAX)
        return nr_errf(err, NR_EBUSY, "endpoint health: %u checks already running", CTL_HEALTH_MAX);
    struct node_cmd c = {.kind = NODE_CMD_HEALTH, .token = ++cs->next_token};
    if (!nr_spsc_push(&cs->n->cmds, &c))
        return nr_errf(err, NR_EBUSY, "endpoint health: the poller's queue is full; retry");
    cs->health[slot] = (struct ctl_health){c.token, req, node_now_ns() + CTL_HEALTH_TIMEOUT_NS};
    return 0;
}

static void health_done(struct ctl_state *cs, const struct node_evt *e)
{
    for (uint32_t i = 0; i < CTL_HEALTH_MAX; i++)
        if (cs->health[i].req != NULL && cs->health[i].token == e->token) {
            health_reply(cs->health[i].req, e->ok, e->took_ns, e->text);
            cs->health[i].req = NULL;
        }
}

static void health_expire(struct ctl_state *cs, uint64_t now)
{
    for (uint32_t i = 0; i < CTL_HEALTH_MAX; i++)
        if (cs->health[i].req != NULL && now > cs->health[i].deadline_ns) {
            health_reply(cs->health[i].req, false, CTL_HEALTH_TIMEOUT_NS,
                         "the leader could not confirm a quorum within 3 s");
            cs->health[i].req = NULL;
        }
}

static void ctl_events(struct ctl_state *cs)
{
    struct node_evt e;

    while (nr_spsc_pop(&cs->n->evts, &e)) {
        switch (e.kind) {
        case NODE_EVT_HEALTH: health_done(cs, &e); break;
        case NODE_EVT_SNAP_IMAGE: node_snap_write(cs->n, &e); break;
        case NODE_EVT_SNAP_SEND: node_stream_start(cs->n, &e); break;
        default: break;
        }
    }
}

static void ctl_log(void *ctx, const char *line)
{
    node_log(ctx, "control socket: %s", line);
}

static void *ctl_main(void *arg)
{
    struct ctl_state *cs = arg;
    struct node *n = cs->n;
    struct nr_err err;

    while (!atomic_load(&n->poller_done)) {
        uint64_t now = node_now_ns();

        if (ctl_server_poll(n->ctl, CTL_POLL_MS, &err) < 0)
            node_log(n, "control socket: %s", err.msg);
        ctl_events(cs);
        node_stream_duties(n);
        health_expire(cs, now);
        if (now >= cs->prepare_next_ns) {
            if (wal_prepare_segments(n->wal, &err) != 0)
                node_log(n, "preparing WAL segments: %s", err.msg);
            cs->prepare_next_ns = now + CTL_PREPARE_NS;
        }
    }
    ctl_events(cs);
    for (uint32_t i = 0; i < CTL_HEALTH_MAX; i++)
        if (cs->health[i].req != NULL)
            health_reply(cs->health[i].req, false, 0, "the member is stopping");
    ctl_server_poll(n->ctl, 0, &err); /* writes the last answers */
    return NULL;
}

int node_ctl_start(struct node *n, struct nr_err *err)
{
    struct ctl_server_config cfg = {.path = n->f.control_socket, .log = ctl_log, .log_ctx = n};
    static struct ctl_state cs; /* one node per process */
    int rc;

    memset(&cs, 0, sizeof(cs));
    cs.n = n;
    if ((rc = ctl_server_create(&cfg, &n->ctl, err)) != 0)
        return rc;
    if ((rc = ctl_server_register(n->ctl, "endpoint status", cmd_status, &cs, err)) != 0 ||
        (rc = ctl_server_register(n->ctl, "endpoint health", cmd_health, &cs, err)) != 0 ||
        (rc = ctl_server_register(n->ctl, "member list", cmd_members, &cs, err)) != 0)
        return rc;
    /* DPDK pinned this thread to the poller's CPU, and a new thread
     * inherits that: the control thread may run on any CPU instead. */
    pthread_attr_t attr;
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int cpu = 0; cpu < get_nprocs_conf() && cpu < CPU_SETSIZE; cpu++)
        CPU_SET(cpu, &all);
    pthread_attr_init(&attr);
    pthread_attr_setaffinity_np(&attr, sizeof(all), &all);
    rc = pthread_create(&n->ctl_thread, &attr, ctl_main, &cs);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return nr_errf(err, NR_EIO, "cannot start the control thread");
    n->ctl_started = true;
    return 0;
}

void node_ctl_join(struct node *n)
{
    atomic_store(&n->poller_done, true);
    if (n->ctl_started)
        pthread_join(n->ctl_thread, NULL);
    n->ctl_started = false;
    ctl_server_destroy(n->ctl);
    n->ctl = NULL;
}

bool node_ctl_push(struct node *n, struct nr_spsc *ring, const void *elem)
{
    while (!nr_spsc_push(ring, elem))
        if (atomic_load(&n->poller_done))
            return false;
    return true;
}

void node_evt_post(struct node *n, const struct node_evt *e)
{
    if (!nr_spsc_push(&n->evts, e))
        n->evts_dropped++;
}

/* The poller's side of the command ring. */
uint32_t node_cmds_handle(struct node *n)
{
    struct node_cmd c;
    uint32_t done = 0;

    while (nr_spsc_pop(&n->cmds, &c)) {
        done++;
        switch (c.kind) {
        case NODE_CMD_HEALTH:
            if (n->role != RAFT_LEADER || n->health_token != 0) {
                struct node_evt e = {.kind = NODE_EVT_HEALTH, .token = c.token};

                snprintf(e.text, sizeof(e.text), "%s",
                         n->role != RAFT_LEADER ? "not the leader any more"
                                                : "a health check is already running");
                node_evt_post(n, &e);
                break;
            }
            n->health_token = c.token;
            n->health_ctx = n->read_ctx_next;
            n->health_started_ns = node_now_ns();
            n->read_round_open = true;
            break;
        case NODE_CMD_SNAP_DONE:
        case NODE_CMD_SNAP_FAILED: node_snap_done(n, &c); break;
        case NODE_CMD_SNAP_RECEIVED: node_snap_received(n, &c); break;
        default: break;
        }
    }
    return done;
}
