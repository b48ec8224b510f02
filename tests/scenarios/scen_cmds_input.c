/* scen_cmds_input.c - scenario commands that step one input into one node
 * (propose, read-index, transfer, inject, compact) or look at one node
 * (status, log, stats). A command's result line comes first, then what the
 * step caused (state changes, applies, reads), indented. */
#include "scen_cmds.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROPOSE_N_MAX 2048 /* above RAFT_PROPOSE_MAX, to see the refusal */

static struct scen_node *node_arg(struct scen_cluster *c, struct scen_args *a)
{
    uint64_t id;

    if (a->n < 2 || !scen_parse_u64(a->v[1], &id)) {
        scen_printf(c->out, "error: %s needs a node ID\n", a->v[0]);
        return NULL;
    }
    return scen_node_up(c, id);
}

/* Steps in, printing `ok ...` or `refused CODE leader=L` before the
 * step's own lines. Returns the step's code. */
static int step_reported(struct scen_cluster *c, struct scen_node *n, const struct raft_input *in)
{
    struct scen_buf events;
    struct scen_buf *out = c->out;
    struct nr_err err = {0};

    scen_buf_init(&events);
    c->out = &events;
    c->indent = "  ";
    int rc = scen_node_step(c, n, in, NULL, &err);
    c->indent = "";
    c->out = out;
    if (rc == 0 && in->kind == RAFT_IN_PROPOSE) {
        scen_printf(out, "ok index=%" PRIu64, c->last_propose_index);
        if (in->n_propose > 1)
            scen_printf(out, "..%" PRIu64, c->last_propose_index + in->n_propose - 1);
        scen_printf(out, " term=%" PRIu64 "\n", c->last_propose_term);
    } else if (rc == 0) {
        scen_printf(out, "ok\n");
    } else {
        scen_printf(out, "refused %s leader=%" PRIu64 "%s\n", nr_code_name(rc), c->last_leader_id,
                    err.msg[0] == '\0' ? " (no message)" : "");
    }
    if (events.len > 0)
        scen_printf(out, "%s", events.p);
    scen_buf_free(&events);
    return rc;
}

static void cmd_propose(struct scen_cluster *c, struct scen_args *a)
{
    struct scen_node *n = node_arg(c, a);
    uint64_t count = 1;
    struct raft_input in;

    if (n == NULL)
        return;
    if (a->n < 3 || strchr(a->v[2], '=') != NULL) {
        scen_printf(c->out, "error: usage: propose ID DATA [n=K]\n");
        return;
    }
    const char *data = a->v[2];
    size_t len = strlen(data);
    if (scen_arg_u64(a, "n", &count, c->out) < 0 || scen_args_check_used(a, 3, c->out) != 0)
        return;
    if (len > SCEN_DATA_MAX || count == 0 || count > PROPOSE_N_MAX) {
        scen_printf(c->out, "error: data at most %d bytes, n in 1..%d\n", SCEN_DATA_MAX,
                    PROPOSE_N_MAX);
        return;
    }
    struct raft_proposal *props = scen_xcalloc(count, sizeof(props[0]));
    for (uint64_t i = 0; i < count; i++) {
        props[i].type = RAFT_ENTRY_NORMAL;
        props[i].len = (uint32_t)len;
        props[i].data = (const uint8_t *)data;
    }
    memset(&in, 0, sizeof(in));
    in.kind = RAFT_IN_PROPOSE;
    in.propose = props;
    in.n_propose = (uint32_t)count;
    step_reported(c, n, &in);
    free(props);
}

static void cmd_read_index(struct scen_cluster *c, struct scen_args *a)
{
    struct scen_node *n = node_arg(c, a);
    struct raft_input in;

    memset(&in, 0, sizeof(in));
    in.kind = RAFT_IN_READ_INDEX;
    if (n == NULL || scen_arg_u64(a, "ctx", &in.read_ctx, c->out) != 1 ||
        scen_args_check_used(a, 2, c->out) != 0) {
        scen_printf(c->out, "error: usage: read-index ID ctx=N\n");
        return;
    }
    step_reported(c, n, &in);
}

static void cmd_transfer(struct scen_cluster *c, struct scen_args *a)
{
    struct scen_node *n = node_arg(c, a);
    struct raft_input in;

    memset(&in, 0, sizeof(in));
    in.kind = RAFT_IN_TRANSFER;
    if (n == NULL || scen_arg_u64(a, "to", &in.target, c->out) != 1 ||
        scen_args_check_used(a, 2, c->out) != 0) {
        scen_printf(c->out, "error: usage: transfer ID to=TARGET\n");
        return;
    }
    step_reported(c, n, &in);
}

static void cmd_compact(struct scen_cluster *c, struct scen_args *a)
{
    struct scen_node *n = node_arg(c, a);
    uint64_t index;
    struct nr_err err = {0};

    if (n == NULL || scen_arg_u64(a, "index", &index, c->out) != 1 ||
        scen_args_check_used(a, 2, c->out) != 0) {
        scen_printf(c->out, "error: usage: compact ID index=N\n");
        return;
    }
    int rc = scen_node_compact(c, n, index, &err);
    if (rc != 0)
        scen_printf(c->out, "refused %s\n", nr_code_name(rc));
}

/* ---- inject: a hand-made message, as a broken or hostile peer sends it ---- */

static bool parse_at(const char *s, uint64_t *index, uint64_t *term)
{
    char buf[64];
    const char *at = strchr(s, '@');

    if (at == NULL || (size_t)(at - s) >= sizeof(buf))
        return false;
    memcpy(buf, s, (size_t)(at - s));
    buf[at - s] = '\0';
    return scen_parse_u64(buf, index) && scen_parse_u64(at + 1, term);
}

/* entries=(4@2,5@2): index@term each, empty data unless data= is given. */
static int parse_entries(const char *s, struct raft_entry *ents, uint32_t max, uint32_t *n)
{
    char buf[512];
    size_t len = strlen(s);

    *n = 0;
    if (len < 2 || len >= sizeof(buf) || s[0] != '(' || s[len - 1] != ')')
        return -1;
    memcpy(buf, s + 1, len - 2);
    buf[len - 2] = '\0';
    char *save = NULL;
    for (char *w = strtok_r(buf, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
        if (*n == max || !parse_at(w, &ents[*n].index, &ents[*n].term))
            return -1;
        ents[*n].type = RAFT_ENTRY_NORMAL;
        (*n)++;
    }
    return 0;
}

static int inject_fields(struct scen_cluster *c, struct scen_args *a, struct raft_msg *m)
{
    bool reject = false;
    bool transfer = false;
    const char *snap = scen_arg_value(a, "snap");

    if (scen_arg_u64(a, "from", &m->from, c->out) != 1) {
        scen_printf(c->out, "error: inject needs from=ID\n");
        return -1;
    }
    if (scen_arg_u64(a, "to", &m->to, c->out) < 0 ||
        scen_arg_u64(a, "term", &m->term, c->out) < 0 ||
        scen_arg_u64(a, "index", &m->index, c->out) < 0 ||
        scen_arg_u64(a, "log_term", &m->log_term, c->out) < 0 ||
        scen_arg_u64(a, "commit", &m->commit, c->out) < 0 ||
        scen_arg_u64(a, "hint", &m->reject_hint, c->out) < 0 ||
        scen_arg_u64(a, "hint_term", &m->reject_hint_term, c->out) < 0 ||
        scen_arg_u64(a, "ctx", &m->ctx, c->out) < 0 ||
        scen_arg_bool(a, "reject", &reject, c->out) < 0 ||
        scen_arg_bool(a, "transfer", &transfer, c->out) < 0)
        return -1;
    m->reject = reject;
    m->transfer = transfer;
    if (snap != NULL && !parse_at(snap, &m->snap.index, &m->snap.term)) {
        scen_printf(c->out, "error: snap=%s is not INDEX@TERM\n", snap);
        return -1;
    }
    return 0;
}

static void cmd_inject(struct scen_cluster *c, struct scen_args *a)
{
    static const uint8_t empty[1];
    struct raft_entry ents[16];
    struct raft_msg m;
    struct raft_status st;
    struct nr_err err = {0};
    struct scen_node *n = node_arg(c, a);

    memset(&m, 0, sizeof(m));
    memset(ents, 0, sizeof(ents));
    if (n == NULL || a->n < 3 || !scen_msg_type_parse(a->v[2], &m.type)) {
        scen_printf(c->out, "error: usage: inject ID TYPE from=ID [field=value...]\n");
        return;
    }
    m.to = n->id;
    const char *es = scen_arg_value(a, "entries");
    const char *data = scen_arg_value(a, "data");
    if (inject_fields(c, a, &m) != 0 || scen_args_check_used(a, 3, c->out) != 0)
        return;
    if (es != NULL && parse_entries(es, ents, 16, &m.n_entries) != 0) {
        scen_printf(c->out, "error: entries=%s is not (INDEX@TERM,...) of at most 16\n", es);
        return;
    }
    for (uint32_t i = 0; i < m.n_entries; i++) {
        ents[i].data = data != NULL ? (const uint8_t *)data : empty;
        ents[i].len = data != NULL ? (uint32_t)strlen(data) : 0;
    }
    m.entries = m.n_entries ? ents : NULL;
    raft_status(n->raft, &st);
    m.snap.conf = st.conf;

    struct raft_input in;
    struct scen_buf events;
    struct scen_buf *out = c->out;
    memset(&in, 0, sizeof(in));
    in.kind = RAFT_IN_RECV;
    in.msg = &m;
    scen_buf_init(&events);
    c->out = &events;
    c->indent = "  ";
    int rc = scen_node_step(c, n, &in, NULL, &err);
    c->indent = "";
    c->out = out;
    scen_printf(out, "%s%s\n", nr_code_name(rc),
                rc != 0 && err.msg[0] == '\0' ? " (no message)" : "");
    if (events.len > 0)
        scen_printf(out, "%s", events.p);
    scen_buf_free(&events);
    scen_print_status(out, n->raft);
}

/* ---- observation -------------------------------------------------------------- */

/* status, with the configuration once the cluster shows it. */
static void print_status(struct scen_cluster *c, const struct raft_node *raft)
{
    scen_print_status_ex(c->out, raft, c->is_conf_shown);
}

static void print_log(struct scen_cluster *c, const struct raft_node *raft)
{
    scen_print_log(c->out, raft);
}

static void print_stats(struct scen_cluster *c, const struct raft_node *raft)
{
    scen_print_stats(c->out, raft);
}

static void cmd_observe(struct scen_cluster *c, struct scen_args *a,
                        void (*print)(struct scen_cluster *, const struct raft_node *))
{
    uint64_t id;

    if (a->n == 1) {
        for (id = 1; id <= SCEN_NODES_MAX; id++) {
            if (!c->nodes[id].is_member)
                continue;
            if (c->nodes[id].raft == NULL)
                scen_printf(c->out, "%" PRIu64 ": down\n", id);
            else
                print(c, c->nodes[id].raft);
        }
        return;
    }
    struct scen_node *n = node_arg(c, a);
    if (n != NULL && scen_args_check_used(a, 2, c->out) == 0)
        print(c, n->raft);
}

bool scen_run_input_command(struct scen_cluster *c, struct scen_args *a)
{
    const char *cmd = a->v[0];

    if (strcmp(cmd, "propose") == 0)
        cmd_propose(c, a);
    else if (strcmp(cmd, "read-index") == 0)
        cmd_read_index(c, a);
    else if (strcmp(cmd, "transfer") == 0)
        cmd_transfer(c, a);
    else if (strcmp(cmd, "compact") == 0)
        cmd_compact(c, a);
    else if (strcmp(cmd, "inject") == 0)
        cmd_inject(c, a);
    else if (strcmp(cmd, "status") == 0)
        cmd_observe(c, a, print_status);
    else if (strcmp(cmd, "log") == 0)
        cmd_observe(c, a, print_log);
    else if (strcmp(cmd, "stats") == 0)
        cmd_observe(c, a, print_stats);
    else
        return false;
    return true;
}
