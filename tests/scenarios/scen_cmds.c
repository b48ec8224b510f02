/* scen_cmds.c - the scenario commands that shape the cluster and move time
 * and messages: cluster, tick, campaign, deliver, stabilize, drop, queue,
 * partition, heal, crash, restart, sync-mode, sync. The commands that step
 * inputs into one node are in scen_cmds_input.c, the membership commands
 * in scen_cmds_conf.c. */
#include "scen_cmds.h"
#include "scen_args.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STABILIZE_ROUNDS_MAX 64

/* ---- cluster ------------------------------------------------------------- */

struct cluster_opts {
    bool is_boot_entries;
    uint64_t voters[RAFT_VOTERS_MAX];
    uint64_t learners[RAFT_LEARNERS_MAX];
    uint32_t n_voters;
    uint32_t n_learners;
    uint64_t seed;
    uint64_t leader;
    struct raft_config base; /* id and seed filled per node */
};

static int read_ids(struct scen_args *a, const char *key, uint64_t *ids, uint32_t max, uint32_t *n,
                    struct scen_buf *b)
{
    const char *v = scen_arg_value(a, key);

    *n = 0;
    if (v == NULL)
        return 0;
    if (scen_parse_ids(v, ids, max, n) != 0) {
        scen_printf(b, "error: %s=%s is not a list of at most %u IDs\n", key, v, max);
        return -1;
    }
    for (uint32_t i = 0; i < *n; i++) {
        if (ids[i] == 0 || ids[i] > SCEN_NODES_MAX) {
            scen_printf(b, "error: %s: ID %" PRIu64 " not in 1..%d\n", key, ids[i], SCEN_NODES_MAX);
            return -1;
        }
    }
    return 0;
}

static int read_u32(struct scen_args *a, const char *key, uint32_t *out, struct scen_buf *b)
{
    uint64_t v;
    int rc = scen_arg_u64(a, key, &v, b);

    if (rc == 1) {
        if (v > UINT32_MAX) {
            scen_printf(b, "error: %s=%" PRIu64 " too large\n", key, v);
            return -1;
        }
        *out = (uint32_t)v;
    }
    return rc < 0 ? -1 : 0;
}

static int cluster_parse(struct scen_args *a, struct cluster_opts *o, struct scen_buf *b)
{
    struct raft_config *cfg = &o->base;
    uint64_t heartbeat = 1;
    const char *bootstrap = scen_arg_value(a, "bootstrap"); /* marks it used */

    memset(o, 0, sizeof(*o));
    o->seed = 1;
    raft_config_default(cfg, 1, 1);
    /* A window the size of the runner's WAL model, not the 256 MiB default:
     * clusters are made dozens of times per file. */
    cfg->log_entries_max = SCEN_LOG_MAX;
    cfg->log_bytes_max = 1u << 20;
    if (read_ids(a, "voters", o->voters, RAFT_VOTERS_MAX, &o->n_voters, b) != 0 ||
        read_ids(a, "learners", o->learners, RAFT_LEARNERS_MAX, &o->n_learners, b) != 0 ||
        scen_arg_u64(a, "seed", &o->seed, b) < 0 || scen_arg_u64(a, "leader", &o->leader, b) < 0 ||
        read_u32(a, "election", &cfg->election_ticks, b) != 0 ||
        scen_arg_u64(a, "heartbeat", &heartbeat, b) < 0 ||
        scen_arg_bool(a, "prevote", &cfg->pre_vote, b) < 0 ||
        scen_arg_bool(a, "checkquorum", &cfg->check_quorum, b) < 0 ||
        read_u32(a, "inflight", &cfg->inflight_max, b) != 0 ||
        read_u32(a, "msg-bytes", &cfg->msg_bytes_max, b) != 0 ||
        read_u32(a, "log-entries", &cfg->log_entries_max, b) != 0 ||
        scen_arg_u64(a, "log-bytes", &cfg->log_bytes_max, b) < 0 ||
        read_u32(a, "apply-batch", &cfg->apply_batch_max, b) != 0 ||
        read_u32(a, "read-queue", &cfg->read_queue_max, b) != 0 ||
        scen_arg_u64(a, "learner-lag", &cfg->learner_lag_entries_max, b) < 0 ||
        read_u32(a, "learner-ready", &cfg->learner_ready_ticks, b) != 0 ||
        scen_args_check_used(a, 1, b) != 0)
        return -1;
    if (bootstrap != NULL && strcmp(bootstrap, "entries") != 0 &&
        strcmp(bootstrap, "snapshot") != 0) {
        scen_printf(b, "error: bootstrap=%s is not entries or snapshot\n", bootstrap);
        return -1;
    }
    o->is_boot_entries = bootstrap != NULL && strcmp(bootstrap, "entries") == 0;
    cfg->heartbeat_ticks = (uint32_t)heartbeat;
    if (o->n_voters == 0) {
        scen_printf(b, "error: cluster needs voters=(...)\n");
        return -1;
    }
    return 0;
}

/* A fresh data directory with the founding configuration: in the
 * snapshot's metadata at index 0, or (bootstrap=entries, SPEC section 2
 * rule 8) as RAFT_ENTRY_CONF entries 1..N at term 1, committed, one
 * `simple vN` per voter then one `simple lN` per learner. */
static void boot_store(struct scen_node *n)
{
    const struct raft_conf *conf = &n->boot_conf;
    struct scen_store *d = &n->durable;

    memset(&d->hs, 0, sizeof(d->hs));
    memset(&d->snap, 0, sizeof(d->snap));
    d->snap_digest = 0;
    d->n_log = 0;
    if (!n->is_boot_entries) {
        d->snap.conf = *conf;
        return;
    }
    for (uint32_t i = 0; i < conf->n_voters + conf->n_learners; i++) {
        struct raft_conf_change cc = {.kind = RAFT_CC_SIMPLE, .n_items = 1};
        struct scen_entry *e = &d->log[d->n_log];
        uint8_t buf[RAFT_CC_WIRE_MAX];

        cc.items[0].op = i < conf->n_voters ? RAFT_CC_ADD_VOTER : RAFT_CC_ADD_LEARNER;
        cc.items[0].id = i < conf->n_voters ? conf->voters[i] : conf->learners[i - conf->n_voters];
        e->len = raft_cc_encode(&cc, buf);
        memcpy(e->data, buf, e->len); /* within SCEN_ENTRY_BYTES_MAX */
        e->term = 1;
        e->index = ++d->n_log;
        e->type = RAFT_ENTRY_CONF;
    }
    d->hs.term = 1;
    d->hs.commit = d->n_log;
}

/* Campaigns then stabilizes without printing; the leader must win. */
static void cluster_elect(struct scen_cluster *c, uint64_t leader)
{
    struct scen_buf quiet;
    struct scen_buf *out = c->out;
    struct raft_status st;

    scen_buf_init(&quiet);
    c->out = &quiet;
    char line[64];
    snprintf(line, sizeof(line), "campaign %" PRIu64, leader);
    scen_run_command(c, line);
    scen_run_command(c, "stabilize");
    c->out = out;
    raft_status(c->nodes[leader].raft, &st);
    if (st.role != RAFT_LEADER || strstr(quiet.p ? quiet.p : "", "error") != NULL)
        scen_printf(out, "error: %" PRIu64 " did not become leader:\n%s", leader,
                    quiet.p ? quiet.p : "");
    else
        scen_printf(out, "ok: leader=%" PRIu64 " term=%" PRIu64 " commit=%" PRIu64 "\n", leader,
                    st.hard_state.term, st.hard_state.commit);
    scen_buf_free(&quiet);
}

static void cmd_cluster(struct scen_cluster *c, struct scen_args *a)
{
    struct cluster_opts o;
    struct scen_buf *out = c->out;

    if (cluster_parse(a, &o, out) != 0)
        return;
    scen_cluster_free(c);
    scen_cluster_init(c, out);
    c->base_cfg = o.base;
    c->seed = o.seed;
    c->is_conf_shown = o.n_learners > 0 || o.is_boot_entries;
    struct raft_conf conf;
    memset(&conf, 0, sizeof(conf));
    memcpy(conf.voters, o.voters, o.n_voters * sizeof(o.voters[0]));
    conf.n_voters = o.n_voters;
    memcpy(conf.learners, o.learners, o.n_learners * sizeof(o.learners[0]));
    conf.n_learners = o.n_learners;
    for (uint32_t i = 0; i < o.n_voters + o.n_learners; i++) {
        uint64_t id = i < o.n_voters ? o.voters[i] : o.learners[i - o.n_voters];
        struct scen_node *n = &c->nodes[id];
        if (n->is_member) {
            scen_printf(out, "error: ID %" PRIu64 " listed twice\n", id);
            return;
        }
        n->is_member = true;
        n->id = id;
        n->cfg = o.base;
        n->cfg.id = id;
        /* one seed per node, all from the scenario's seed */
        n->cfg.seed = o.seed * 1000 + id;
        scen_store_init(&n->wal);
        scen_store_init(&n->durable);
        n->digest_at = scen_xcalloc(SCEN_LOG_MAX + 1, sizeof(n->digest_at[0]));
        n->boot_conf = conf;
        n->is_boot_entries = o.is_boot_entries;
        boot_store(n);
    }
    for (uint64_t id = 1; id <= SCEN_NODES_MAX; id++)
        if (c->nodes[id].is_member && scen_node_boot(c, &c->nodes[id]) != 0)
            return;
    if (o.leader != 0 && scen_node_up(c, o.leader) != NULL)
        cluster_elect(c, o.leader);
}

/* ---- time and messages ---------------------------------------------------- */

/* "1", "1,2,3" or "all" (every running node, by ID). */
static int read_targets(struct scen_cluster *c, const char *s, uint64_t *ids, uint32_t *n)
{
    *n = 0;
    if (s != NULL && strcmp(s, "all") == 0) {
        for (uint64_t id = 1; id <= SCEN_NODES_MAX; id++)
            if (c->nodes[id].is_member && c->nodes[id].raft != NULL)
                ids[(*n)++] = id;
        return 0;
    }
    if (s == NULL || scen_parse_ids(s, ids, SCEN_NODES_MAX, n) != 0) {
        scen_printf(c->out, "error: expected node IDs or all, got %s\n", s ? s : "nothing");
        return -1;
    }
    for (uint32_t i = 0; i < *n; i++)
        if (scen_node_up(c, ids[i]) == NULL)
            return -1;
    return 0;
}

static void step_tick(struct scen_cluster *c, struct scen_node *n)
{
    struct raft_input in;
    struct nr_err err = {0};

    memset(&in, 0, sizeof(in));
    in.kind = RAFT_IN_TICK;
    int rc = scen_node_step(c, n, &in, NULL, &err);
    if (rc != 0)
        scen_printf(c->out, "%" PRIu64 ": tick refused %s\n", n->id, nr_code_name(rc));
}

static void cmd_tick(struct scen_cluster *c, struct scen_args *a)
{
    uint64_t ids[SCEN_NODES_MAX];
    uint32_t n_ids;
    uint64_t rounds = 1;

    if (read_targets(c, a->n > 1 ? a->v[1] : NULL, ids, &n_ids) != 0 ||
        scen_arg_u64(a, "n", &rounds, c->out) < 0 || scen_args_check_used(a, 2, c->out) != 0)
        return;
    if (rounds > 10000) {
        scen_printf(c->out, "error: n=%" PRIu64 " ticks, at most 10000\n", rounds);
        return;
    }
    for (uint64_t r = 0; r < rounds; r++)
        for (uint32_t i = 0; i < n_ids; i++)
            if (c->nodes[ids[i]].raft != NULL)
                step_tick(c, &c->nodes[ids[i]]);
}

/* Ticks a follower until its election timeout fires, or a candidate until
 * its next election starts (a higher term): within [e, 2e) ticks (Raft
 * paper 5.2), so at most 2e; 3e bounds the loop with room. */
static void cmd_campaign(struct scen_cluster *c, struct scen_args *a)
{
    uint64_t id = 0;
    struct raft_status st;

    if (a->n != 2 || !scen_parse_u64(a->v[1], &id)) {
        scen_printf(c->out, "error: usage: campaign ID\n");
        return;
    }
    struct scen_node *n = scen_node_up(c, id);
    if (n == NULL)
        return;
    raft_status(n->raft, &st);
    uint32_t role = st.role;
    uint64_t term = st.hard_state.term;
    if (role != RAFT_FOLLOWER && role != RAFT_CANDIDATE) {
        scen_printf(c->out, "error: %" PRIu64 " is %s, not a follower or candidate\n", id,
                    scen_role_name(role));
        return;
    }
    uint32_t bound = 3 * n->cfg.election_ticks + 1;
    for (uint32_t t = 1; t <= bound; t++) {
        step_tick(c, n);
        raft_status(n->raft, &st);
        if (st.role != role || st.hard_state.term != term) {
            scen_printf(c->out, "%" PRIu64 ": election timeout after %u ticks\n", id, t);
            return;
        }
    }
    scen_printf(c->out, "error: %" PRIu64 " still %s after %u ticks\n", id, scen_role_name(role),
                bound);
}

static int read_from_to(struct scen_cluster *c, struct scen_args *a, uint64_t *from, uint64_t *to)
{
    *from = 0;
    *to = 0;
    if (scen_arg_u64(a, "from", from, c->out) < 0 || scen_arg_u64(a, "to", to, c->out) < 0 ||
        scen_args_check_used(a, 1, c->out) != 0)
        return -1;
    return 0;
}

static void cmd_deliver(struct scen_cluster *c, struct scen_args *a)
{
    uint64_t from, to;

    if (read_from_to(c, a, &from, &to) == 0 && scen_deliver(c, from, to) == 0)
        scen_printf(c->out, "no messages\n");
}

static void cmd_stabilize(struct scen_cluster *c, struct scen_args *a)
{
    if (scen_args_check_used(a, 1, c->out) != 0)
        return;
    for (uint32_t r = 0; r < STABILIZE_ROUNDS_MAX; r++) {
        if (!scen_has_deliverable(c))
            return;
        scen_deliver(c, 0, 0);
    }
    scen_printf(c->out, "error: messages still flowing after %d rounds\n", STABILIZE_ROUNDS_MAX);
}

static void cmd_drop(struct scen_cluster *c, struct scen_args *a)
{
    uint64_t from, to;

    if (read_from_to(c, a, &from, &to) == 0 && scen_drop(c, from, to) == 0)
        scen_printf(c->out, "no messages\n");
}

static void cmd_queue(struct scen_cluster *c, struct scen_args *a)
{
    if (scen_args_check_used(a, 1, c->out) != 0)
        return;
    for (uint32_t i = 0; i < c->n_net; i++) {
        scen_print_msg(c->out, &c->net[i]->m);
        scen_printf(c->out, "%s%s\n", c->net[i]->is_after_sync ? " [after sync]" : "",
                    c->net[i]->is_held ? " held" : "");
    }
    if (c->n_net == 0)
        scen_printf(c->out, "no messages\n");
}

/* ---- faults ----------------------------------------------------------------- */

/* partition 1 | 2,3: each group talks only inside itself; unlisted nodes
 * form one more group. */
static void cmd_partition(struct scen_cluster *c, const char *line)
{
    char buf[256];
    int group = 1;

    snprintf(buf, sizeof(buf), "%s", line + strlen("partition"));
    for (uint64_t id = 1; id <= SCEN_NODES_MAX; id++)
        c->nodes[id].group = 0;
    char *save = NULL;
    for (char *g = strtok_r(buf, "|", &save); g != NULL; g = strtok_r(NULL, "|", &save), group++) {
        uint64_t ids[SCEN_NODES_MAX];
        uint32_t n = 0;
        char word[128];
        if (sscanf(g, " %127s", word) != 1 || scen_parse_ids(word, ids, SCEN_NODES_MAX, &n) != 0) {
            scen_printf(c->out, "error: partition: bad group \"%s\"\n", g);
            return;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (scen_node_get(c, ids[i]) == NULL)
                return;
            c->nodes[ids[i]].group = group;
        }
    }
}

static void cmd_heal(struct scen_cluster *c)
{
    for (uint64_t id = 1; id <= SCEN_NODES_MAX; id++)
        c->nodes[id].group = 0;
}

static struct scen_node *one_node(struct scen_cluster *c, struct scen_args *a, uint32_t n_words)
{
    uint64_t id;

    if (a->n < 2 || !scen_parse_u64(a->v[1], &id)) {
        scen_printf(c->out, "error: %s needs a node ID\n", a->v[0]);
        return NULL;
    }
    if (scen_args_check_used(a, n_words, c->out) != 0)
        return NULL;
    return scen_node_get(c, id);
}

static void cmd_crash(struct scen_cluster *c, struct scen_args *a)
{
    struct scen_node *n = one_node(c, a, 2);

    if (n == NULL)
        return;
    if (n->raft == NULL) {
        scen_printf(c->out, "error: %" PRIu64 " is already down\n", n->id);
        return;
    }
    scen_node_crash(c, n);
}

/* restart ID [wipe=true]: from the durable store, or (wipe) from a fresh
 * data directory with the bootstrap configuration (SPEC section 3). */
static void cmd_restart(struct scen_cluster *c, struct scen_args *a)
{
    bool is_wipe = false;
    uint64_t last, last_term;

    if (scen_arg_bool(a, "wipe", &is_wipe, c->out) < 0)
        return;
    struct scen_node *n = one_node(c, a, 2);
    if (n == NULL)
        return;
    if (n->raft != NULL) {
        scen_printf(c->out, "error: %" PRIu64 " is running; crash it first\n", n->id);
        return;
    }
    if (is_wipe)
        boot_store(n);
    if (scen_node_boot(c, n) != 0)
        return;
    scen_store_last(&n->durable, &last, &last_term);
    scen_printf(c->out,
                "%" PRIu64 ": restarted term=%" PRIu64 " vote=%" PRIu64 " commit=%" PRIu64
                " snap=%" PRIu64 "@%" PRIu64 " last=%" PRIu64 "@%" PRIu64 "\n",
                n->id, n->durable.hs.term, n->durable.hs.vote, n->durable.hs.commit,
                n->durable.snap.index, n->durable.snap.term, last, last_term);
}

static void cmd_sync_mode(struct scen_cluster *c, struct scen_args *a)
{
    struct scen_node *n = one_node(c, a, 3);

    if (n == NULL)
        return;
    if (a->n != 3 || (strcmp(a->v[2], "manual") != 0 && strcmp(a->v[2], "auto") != 0)) {
        scen_printf(c->out, "error: usage: sync-mode ID manual|auto\n");
        return;
    }
    n->is_sync_manual = strcmp(a->v[2], "manual") == 0;
    if (!n->is_sync_manual && n->raft != NULL)
        scen_node_sync(c, n);
}

static void cmd_sync(struct scen_cluster *c, struct scen_args *a)
{
    struct scen_node *n = one_node(c, a, 2);

    if (n != NULL && scen_node_up(c, n->id) != NULL)
        scen_node_sync(c, n);
}

/* ---- dispatch ---------------------------------------------------------------- */

void scen_run_command(struct scen_cluster *c, const char *line)
{
    struct scen_args a;
    size_t before = c->out->len;

    if (scen_args_split(&a, line) != 0 || a.n == 0) {
        scen_printf(c->out, "error: command too long or empty\n");
        return;
    }
    const char *cmd = a.v[0];
    bool needs_cluster = strcmp(cmd, "cluster") != 0;
    bool has_cluster = false;
    for (uint64_t id = 1; id <= SCEN_NODES_MAX; id++)
        has_cluster = has_cluster || c->nodes[id].is_member;
    if (needs_cluster && !has_cluster) {
        scen_printf(c->out, "error: no cluster yet\n");
        return;
    }
    if (strcmp(cmd, "cluster") == 0)
        cmd_cluster(c, &a);
    else if (strcmp(cmd, "tick") == 0)
        cmd_tick(c, &a);
    else if (strcmp(cmd, "campaign") == 0)
        cmd_campaign(c, &a);
    else if (strcmp(cmd, "deliver") == 0)
        cmd_deliver(c, &a);
    else if (strcmp(cmd, "stabilize") == 0)
        cmd_stabilize(c, &a);
    else if (strcmp(cmd, "drop") == 0)
        cmd_drop(c, &a);
    else if (strcmp(cmd, "queue") == 0)
        cmd_queue(c, &a);
    else if (strcmp(cmd, "partition") == 0)
        cmd_partition(c, line);
    else if (strcmp(cmd, "heal") == 0)
        cmd_heal(c);
    else if (strcmp(cmd, "crash") == 0)
        cmd_crash(c, &a);
    else if (strcmp(cmd, "restart") == 0)
        cmd_restart(c, &a);
    else if (strcmp(cmd, "sync-mode") == 0)
        cmd_sync_mode(c, &a);
    else if (strcmp(cmd, "sync") == 0)
        cmd_sync(c, &a);
    else if (!scen_run_input_command(c, &a) && !scen_run_conf_command(c, &a))
        scen_printf(c->out, "error: unknown command %s\n", cmd);
    if (c->out->len == before)
        scen_printf(c->out, "ok\n");
}
