/* scen_cmds_conf.c - membership commands (SPEC section 2 rules 2 to 5 and
 * 10): a joining member process, configuration changes proposed as one
 * RAFT_ENTRY_CONF entry, the leader's readiness verdict and its view of
 * every member.
 *
 *   add-node ID        a new member process with an empty configuration
 *                      (joining: it takes messages from any sender until a
 *                      configuration names it, and never campaigns before)
 *   conf ID simple|joint|leave [autoleave=B] [vN|lN|rN|uN ...]
 *                      propose a change on ID: add voter (or promote), add
 *                      learner (or demote), remove, update; prints `ok
 *                      index=I term=T` or `refused CODE leader=L: SENTENCE`
 *   ready ID LEARNER   raft_check_ready() on ID: `ok: LEARNER is ready` or
 *                      `refused CODE: SENTENCE`
 *   progress ID        the leader's view of each member, by ID
 *
 * Any of them makes the cluster show configurations from then on (status
 * prints them, a step that applies one prints `N: conf ...`). */
#include "scen_cmds.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct scen_node *node_word(struct scen_cluster *c, struct scen_args *a, uint32_t i)
{
    uint64_t id;

    if (a->n <= i || !scen_parse_u64(a->v[i], &id)) {
        scen_printf(c->out, "error: %s needs a node ID\n", a->v[0]);
        return NULL;
    }
    return scen_node_up(c, id);
}

/* ---- add-node ----------------------------------------------------------- */

static void cmd_add_node(struct scen_cluster *c, struct scen_args *a)
{
    uint64_t id;

    if (a->n != 2 || !scen_parse_u64(a->v[1], &id) || id == 0 || id > SCEN_NODES_MAX) {
        scen_printf(c->out, "error: usage: add-node ID (ID in 1..%d)\n", SCEN_NODES_MAX);
        return;
    }
    struct scen_node *n = &c->nodes[id];
    if (n->is_member) {
        scen_printf(c->out, "error: node %" PRIu64 " exists\n", id);
        return;
    }
    c->is_conf_shown = true;
    memset(n, 0, sizeof(*n));
    n->is_member = true;
    n->id = id;
    n->cfg = c->base_cfg;
    n->cfg.id = id;
    n->cfg.seed = c->seed * 1000 + id; /* as `cluster` seeds its nodes */
    scen_store_init(&n->wal);
    scen_store_init(&n->durable);
    n->digest_at = scen_xcalloc(SCEN_LOG_MAX + 1, sizeof(n->digest_at[0]));
    /* A cluster founded with entries 1..N: the joiner boots empty and
     * learns every configuration from the log or a snapshot. A cluster
     * founded by a configuration at index 0: that founding configuration is
     * an agreement, like etcd's --initial-cluster, and the joiner boots with
     * it too (raft.h, struct raft_boot), then applies what followed. */
    for (uint64_t j = 1; j <= SCEN_NODES_MAX; j++) {
        const struct scen_node *f = &c->nodes[j];

        if (j != id && f->is_member && !f->is_boot_entries && f->boot_conf.n_voters > 0) {
            n->boot_conf = f->boot_conf;
            n->durable.snap.conf = f->boot_conf;
            break;
        }
    }
    scen_node_boot(c, n);
}

/* ---- conf ----------------------------------------------------------------- */

/* v4, l4, r4, u4 (etcd's conf-change shorthand). */
static bool parse_item(const char *w, struct raft_cc_item *it)
{
    switch (w[0]) {
    case 'v': it->op = RAFT_CC_ADD_VOTER; break;
    case 'l': it->op = RAFT_CC_ADD_LEARNER; break;
    case 'r': it->op = RAFT_CC_REMOVE; break;
    case 'u': it->op = RAFT_CC_UPDATE; break;
    default: return false;
    }
    return scen_parse_u64(w + 1, &it->id);
}

static int conf_parse(struct scen_cluster *c, struct scen_args *a, struct raft_conf_change *cc)
{
    const char *kind = a->n > 2 ? a->v[2] : "";
    bool is_auto_leave = false;

    memset(cc, 0, sizeof(*cc));
    if (strcmp(kind, "simple") == 0)
        cc->kind = RAFT_CC_SIMPLE;
    else if (strcmp(kind, "joint") == 0)
        cc->kind = RAFT_CC_ENTER_JOINT;
    else if (strcmp(kind, "leave") == 0)
        cc->kind = RAFT_CC_LEAVE_JOINT;
    else
        goto usage;
    if (scen_arg_bool(a, "autoleave", &is_auto_leave, c->out) < 0)
        return -1;
    cc->auto_leave = is_auto_leave;
    for (uint32_t i = 3; i < a->n; i++) {
        if (a->used & (1u << i))
            continue;
        if (cc->n_items == RAFT_CC_ITEMS_MAX) {
            scen_printf(c->out, "error: at most %d items\n", RAFT_CC_ITEMS_MAX);
            return -1;
        }
        if (!parse_item(a->v[i], &cc->items[cc->n_items]))
            goto usage;
        cc->n_items++;
    }
    return 0;
usage:
    scen_printf(c->out,
                "error: usage: conf ID simple|joint|leave [autoleave=B] [vN|lN|rN|uN ...]\n");
    return -1;
}

/* The result line with the refusal's sentence, then what the step caused. */
static void cmd_conf(struct scen_cluster *c, struct scen_args *a)
{
    struct scen_node *n = node_word(c, a, 1);
    struct raft_conf_change cc;
    uint8_t buf[RAFT_CC_WIRE_MAX];
    struct raft_proposal prop;
    struct raft_input in;
    struct scen_buf events;
    struct scen_buf *out = c->out;
    struct nr_err err = {0};

    if (n == NULL || conf_parse(c, a, &cc) != 0)
        return;
    c->is_conf_shown = true;
    memset(&prop, 0, sizeof(prop));
    prop.type = RAFT_ENTRY_CONF;
    prop.len = raft_cc_encode(&cc, buf);
    prop.data = buf;
    memset(&in, 0, sizeof(in));
    in.kind = RAFT_IN_PROPOSE;
    in.propose = &prop;
    in.n_propose = 1;
    scen_buf_init(&events);
    c->out = &events;
    c->indent = "  ";
    int rc = scen_node_step(c, n, &in, NULL, &err);
    c->indent = "";
    c->out = out;
    if (rc == 0)
        scen_printf(out, "ok index=%" PRIu64 " term=%" PRIu64 "\n", c->last_propose_index,
                    c->last_propose_term);
    else
        scen_printf(out, "refused %s leader=%" PRIu64 ": %s\n", nr_code_name(rc), c->last_leader_id,
                    err.msg[0] != '\0' ? err.msg : "(no message)");
    if (events.len > 0)
        scen_printf(out, "%s", events.p);
    scen_buf_free(&events);
}

/* ---- ready and progress ----------------------------------------------------- */

static void cmd_ready(struct scen_cluster *c, struct scen_args *a)
{
    struct scen_node *n = node_word(c, a, 1);
    uint64_t learner;
    struct nr_err err = {0};

    if (n == NULL)
        return;
    if (a->n != 3 || !scen_parse_u64(a->v[2], &learner)) {
        scen_printf(c->out, "error: usage: ready ID LEARNER\n");
        return;
    }
    c->is_conf_shown = true;
    int rc = raft_check_ready(n->raft, learner, &err);
    if (rc == 0)
        scen_printf(c->out, "ok: %" PRIu64 " is ready\n", learner);
    else
        scen_printf(c->out, "refused %s: %s\n", nr_code_name(rc),
                    err.msg[0] != '\0' ? err.msg : "(no message)");
}

static const char *state_name(uint32_t state)
{
    switch (state) {
    case RAFT_PROGRESS_PROBE: return "PROBE";
    case RAFT_PROGRESS_REPLICATE: return "REPLICATE";
    case RAFT_PROGRESS_SNAPSHOT: return "SNAPSHOT";
    default: return "STATE?";
    }
}

static int compare_views(const void *x, const void *y)
{
    uint64_t p = ((const struct raft_progress_view *)x)->id;
    uint64_t q = ((const struct raft_progress_view *)y)->id;

    return p < q ? -1 : p > q;
}

/* 4: learner match=3 next=4 REPLICATE lag=0 in_bound_ticks=12 ready=false active */
static void cmd_progress(struct scen_cluster *c, struct scen_args *a)
{
    struct raft_progress_view v[RAFT_MEMBERS_MAX];
    struct scen_node *n = node_word(c, a, 1);

    if (n == NULL || scen_args_check_used(a, 2, c->out) != 0)
        return;
    c->is_conf_shown = true;
    uint32_t k = raft_progress(n->raft, v, RAFT_MEMBERS_MAX);
    if (k == 0) {
        scen_printf(c->out, "%" PRIu64 ": no progress: not the leader\n", n->id);
        return;
    }
    if (k > RAFT_MEMBERS_MAX)
        k = RAFT_MEMBERS_MAX;
    qsort(v, k, sizeof(v[0]), compare_views);
    for (uint32_t i = 0; i < k; i++) {
        scen_printf(c->out,
                    "%" PRIu64 ": %s match=%" PRIu64 " next=%" PRIu64 " %s lag=%" PRIu64
                    " in_bound_ticks=%" PRIu64,
                    v[i].id, v[i].is_learner ? "learner" : "voter", v[i].match_index,
                    v[i].next_index, state_name(v[i].state), v[i].lag_entries, v[i].in_bound_ticks);
        if (v[i].is_learner)
            scen_printf(c->out, " ready=%s", v[i].is_ready ? "true" : "false");
        scen_printf(c->out, "%s\n", v[i].recent_active ? " active" : "");
    }
}

bool scen_run_conf_command(struct scen_cluster *c, struct scen_args *a)
{
    const char *cmd = a->v[0];

    if (strcmp(cmd, "add-node") == 0)
        cmd_add_node(c, a);
    else if (strcmp(cmd, "conf") == 0)
        cmd_conf(c, a);
    else if (strcmp(cmd, "ready") == 0)
        cmd_ready(c, a);
    else if (strcmp(cmd, "progress") == 0)
        cmd_progress(c, a);
    else
        return false;
    return true;
}
