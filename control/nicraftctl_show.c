/* nicraftctl_show.c - `endpoint status`, `endpoint health` and `member
 * list` (SPEC section 2 rule 15), as etcdctl prints them: a table by
 * default, or with -w json the node's result on one line (status and
 * health with an "endpoint" field first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_table.h"
#include "nicraftctl.h"

#define URLS_BYTES 400

/* Prints obj on one line, "endpoint" first when given. */
static void print_json(json_t *obj, const char *endpoint)
{
    json_t *out = json_object();

    if (endpoint != NULL)
        json_object_set_new(out, "endpoint", json_string(endpoint));
    json_object_update(out, obj);
    char *s = json_dumps(out, JSON_COMPACT);
    if (s != NULL)
        printf("%s\n", s);
    free(s);
    json_decref(out);
}

static int fetch(const struct nctl *o, const char *cmd, json_t **result)
{
    struct nr_err err = {0};

    if (nctl_call(o, cmd, NULL, result, &err) != 0)
        return nctl_fail(&err);
    if (!json_is_object(*result)) {
        json_decref(*result);
        nr_errf(&err, NR_EINVAL, "%s: the node's result is not a JSON object", cmd);
        return nctl_fail(&err);
    }
    return NCTL_EXIT_OK;
}

int nctl_endpoint_status(const struct nctl *o)
{
    static struct ctl_table t;
    static const char *const heads[] = {
        "ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER", "RAFT TERM",
        "RAFT INDEX", "RAFT APPLIED INDEX", "ERRORS",
    };
    struct nr_err err = {0};
    json_t *r;
    char urls[URLS_BYTES], errors[CTL_TABLE_CELL_MAX], size[32];

    if (fetch(o, "endpoint status", &r) != NCTL_EXIT_OK)
        return NCTL_EXIT_ERROR;
    /* The endpoint: this member's first client URL, else the socket. */
    nctl_strs(r, "client_urls", ",", urls, sizeof(urls), &err);
    char *comma = strchr(urls, ',');
    if (comma != NULL)
        *comma = '\0';
    const char *endpoint = urls[0] != '\0' ? urls : o->socket_path;
    ctl_table_init(&t, heads, 10);
    for (uint32_t c = 3; c <= 8; c++)
        t.is_number[c] = c == 3 || c >= 6;
    int row = ctl_table_add_row(&t);
    ctl_table_set(&t, row, 0, "%s", endpoint);
    ctl_table_set(&t, row, 1, "%s", nctl_str(r, "id", &err));
    ctl_table_set(&t, row, 2, "%s", nctl_str(r, "version", &err));
    ctl_human_bytes(nctl_u64(r, "data_size", &err), size, sizeof(size));
    ctl_table_set(&t, row, 3, "%s", size);
    ctl_table_set(&t, row, 4, "%s", nctl_bool(r, "is_leader", &err) ? "true" : "false");
    ctl_table_set(&t, row, 5, "%s", nctl_bool(r, "is_learner", &err) ? "true" : "false");
    ctl_table_set(&t, row, 6, "%llu", (unsigned long long)nctl_u64(r, "raft_term", &err));
    ctl_table_set(&t, row, 7, "%llu", (unsigned long long)nctl_u64(r, "raft_index", &err));
    ctl_table_set(&t, row, 8, "%llu", (unsigned long long)nctl_u64(r, "applied_index", &err));
    nctl_strs(r, "errors", ", ", errors, sizeof(errors), &err);
    ctl_table_set(&t, row, 9, "%s", errors);
    if (err.code != 0) {
        json_decref(r);
        return nctl_fail(&err);
    }
    if (o->format == NCTL_JSON)
        print_json(r, endpoint);
    else
        ctl_table_print(&t, stdout);
    json_decref(r);
    return NCTL_EXIT_OK;
}

/* took_ms as Go prints a duration in milliseconds: "1.2ms". */
static void format_took(double ms, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.6gms", ms);
}

int nctl_endpoint_health(const struct nctl *o)
{
    struct nr_err err = {0};
    json_t *r;
    char took[32];

    if (fetch(o, "endpoint health", &r) != NCTL_EXIT_OK)
        return NCTL_EXIT_ERROR;
    bool is_healthy = nctl_bool(r, "health", &err);
    json_t *t = json_object_get(r, "took_ms");
    if (!json_is_number(t) && err.code == 0)
        nr_errf(&err, NR_EINVAL, "the node's result has no number \"took_ms\"");
    const char *why = nctl_str(r, "error", &err);
    if (err.code != 0) {
        json_decref(r);
        return nctl_fail(&err);
    }
    format_took(json_number_value(t), took, sizeof(took));
    if (o->format == NCTL_JSON)
        print_json(r, o->socket_path);
    else if (is_healthy)
        printf("%s is healthy: successfully committed proposal: took = %s\n", o->socket_path,
               took);
    else /* as etcdctl: the unhealthy line on stderr, and a failure status */
        fprintf(stderr, "%s is unhealthy: %s\nError: unhealthy cluster\n", o->socket_path,
                why[0] != '\0' ? why : "no reason given");
    json_decref(r);
    return is_healthy ? NCTL_EXIT_OK : NCTL_EXIT_ERROR;
}

static void member_row(struct ctl_table *t, json_t *m, bool is_leader_view, struct nr_err *err)
{
    char urls[URLS_BYTES];
    int row = ctl_table_add_row(t);

    if (row < 0) {
        if (err->code == 0)
            nr_errf(err, NR_ERANGE, "more than %u members; this nicraftctl shows at most that",
                    CTL_TABLE_ROWS_MAX);
        return;
    }
    ctl_table_set(t, row, 0, "%s", nctl_str(m, "id", err));
    ctl_table_set(t, row, 1, "%s", nctl_str(m, "status", err));
    ctl_table_set(t, row, 2, "%s", nctl_str(m, "name", err));
    nctl_strs(m, "peer_urls", ",", urls, sizeof(urls), err);
    ctl_table_set(t, row, 3, "%s", urls);
    nctl_strs(m, "client_urls", ",", urls, sizeof(urls), err);
    ctl_table_set(t, row, 4, "%s", urls);
    ctl_table_set(t, row, 5, "%s", nctl_bool(m, "is_learner", err) ? "true" : "false");
    if (!is_leader_view)
        return;
    ctl_table_set(t, row, 6, "%llu", (unsigned long long)nctl_u64(m, "match_index", err));
    ctl_table_set(t, row, 7, "%llu", (unsigned long long)nctl_u64(m, "lag", err));
    ctl_table_set(t, row, 8, "%s", nctl_bool(m, "healthy", err) ? "true" : "false");
}

int nctl_member_list(const struct nctl *o)
{
    static struct ctl_table t;
    static const char *const heads[] = {
        "ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER", "MATCH", "LAG",
        "HEALTHY",
    };
    struct nr_err err = {0};
    json_t *r, *m;
    size_t i;

    if (fetch(o, "member list", &r) != NCTL_EXIT_OK)
        return NCTL_EXIT_ERROR;
    bool is_leader_view = nctl_bool(r, "leader_view", &err);
    json_t *members = json_object_get(r, "members");
    if (!json_is_array(members) && err.code == 0)
        nr_errf(&err, NR_EINVAL, "the node's result has no array \"members\"");
    ctl_table_init(&t, heads, is_leader_view ? 9 : 6);
    if (is_leader_view)
        t.is_number[6] = t.is_number[7] = true;
    json_array_foreach(members, i, m) {
        if (!json_is_object(m) && err.code == 0)
            nr_errf(&err, NR_EINVAL, "the node's member list has a non-object at %zu", i);
        member_row(&t, m, is_leader_view, &err);
    }
    if (err.code != 0) {
        json_decref(r);
        return nctl_fail(&err);
    }
    if (o->format == NCTL_JSON)
        print_json(r, NULL);
    else
        ctl_table_print(&t, stdout);
    json_decref(r);
    return NCTL_EXIT_OK;
}
