/* ctl_test_server.c - the real control server (control/ctl_server.h) over a
 * real socket, with test handlers, for ctl-scenario and nicraftctl's tests.
 *
 *     ctl-test-server --socket PATH [--canned DIR] [--delay-polls N]
 *                     [--max-clients N] [--line-max N] [--out-max N]
 *                     [--pending-max N] [--pending-per-client N]
 *                     [--pending-timeout-ms N] [--umask OCTAL]
 *
 * Prints "ready" on stdout once listening; a create error is printed on
 * stderr (exit 1). Polls every 10 ms until SIGTERM, then destroys the
 * server (which unlinks the socket) and exits 0.
 *
 * Commands:
 *   echo                 replies its args at once
 *   later {"polls": N}   replies {"after_polls": N} after N more polls (a
 *                        deferred reply); N up to 100000
 *   fail                 the handler errs: NR_EREFUSED and a sentence
 *   big {"bytes": N}     replies {"data": "xxx..."} of N bytes (<= 8 MiB)
 *   stats                the server's counters (n_clients and n_pending
 *                        without the stats request itself)
 *   endpoint status, member list, endpoint health
 *                        the JSON in DIR/endpoint_status.json (and so on),
 *                        after --delay-polls polls when given; a file with
 *                        {"__error": "...", "__code": "NR_E..."} errs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_int.h"
#include "ctl_server.h"

#define LATER_MAX 256u
#define POLL_MS 10
#define BIG_MAX (8u << 20)

struct later {
    struct ctl_req *req;
    uint64_t polls_left;
    json_t *result;
};

struct test_srv {
    struct ctl_server *s;
    struct later later[LATER_MAX];
    const char *canned_dir;
    uint64_t delay_polls;
};

static volatile sig_atomic_t g_stop;

static void on_term(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int defer(struct test_srv *t, struct ctl_req *req, uint64_t polls, json_t *result,
                 struct nr_err *err)
{
    for (uint32_t i = 0; i < LATER_MAX; i++) {
        if (t->later[i].req == NULL) {
            t->later[i] = (struct later){.req = req, .polls_left = polls, .result = result};
            return 0;
        }
    }
    json_decref(result);
    return nr_errf(err, NR_EBUSY, "the test server holds %u deferred replies already",
                   LATER_MAX);
}

static void tick_later(struct test_srv *t)
{
    for (uint32_t i = 0; i < LATER_MAX; i++) {
        struct later *l = &t->later[i];
        if (l->req == NULL || l->polls_left-- > 0)
            continue;
        ctl_reply_ok(l->req, l->result);
        *l = (struct later){0};
    }
}

static int h_echo(struct ctl_req *req, json_t *args, void *ctx, struct nr_err *err)
{
    ctl_reply_ok(req, json_incref(args));
    return 0;
}

static int h_later(struct ctl_req *req, json_t *args, void *ctx, struct nr_err *err)
{
    json_t *polls = json_object_get(args, "polls");
    if (!json_is_integer(polls) || json_integer_value(polls) < 0 ||
        json_integer_value(polls) > 100000)
        return nr_errf(err, NR_EINVAL, "later: \"polls\" must be an integer 0 .. 100000");
    return defer(ctx, req, (uint64_t)json_integer_value(polls),
                 json_pack("{s:O}", "after_polls", polls), err);
}

static int h_fail(struct ctl_req *req, json_t *args, void *ctx, struct nr_err *err)
{
    return nr_errf(err, NR_EREFUSED, "refused: the test handler always refuses (%zu args)",
                   json_object_size(args));
}

static int h_big(struct ctl_req *req, json_t *args, void *ctx, struct nr_err *err)
{
    json_int_t n = json_integer_value(json_object_get(args, "bytes"));
    if (n < 0 || n > (json_int_t)BIG_MAX)
        return nr_errf(err, NR_EINVAL, "big: \"bytes\" must be 0 .. %u", BIG_MAX);
    char *data = malloc((size_t)n + 1);
    if (data == NULL)
        return nr_errf(err, NR_ENOMEM, "big: out of memory");
    memset(data, 'x', (size_t)n);
    data[n] = '\0';
    ctl_reply_ok(req, json_pack("{s:s}", "data", data));
    free(data);
    return 0;
}

static int h_stats(struct ctl_req *req, json_t *args, void *ctx, struct nr_err *err)
{
    struct test_srv *t = ctx;
    struct ctl_server_stats st;

    ctl_server_get_stats(t->s, &st);
    /* Not counting this request and its connection. */
    st.n_clients--;
    st.n_pending--;
    ctl_reply_ok(req, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                                " s:I}",
                                "accepted", (json_int_t)st.accepted,
                                "refused_peer", (json_int_t)st.refused_peer,
                                "refused_full", (json_int_t)st.refused_full,
                                "requests", (json_int_t)st.requests,
                                "bad_requests", (json_int_t)st.bad_requests,
                                "lines_too_long", (json_int_t)st.lines_too_long,
                                "busy", (json_int_t)st.busy,
                                "replies_sent", (json_int_t)st.replies_sent,
                                "replies_dropped", (json_int_t)st.replies_dropped,
                                "timed_out", (json_int_t)st.timed_out,
                                "slow_clients_dropped", (json_int_t)st.slow_clients_dropped,
                                "n_clients", (json_int_t)st.n_clients,
                                "n_pending", (json_int_t)st.n_pending));
    return 0;
}

static int h_canned(struct ctl_req *req, json_t *args, void *ctx, struct nr_err *err)
{
    struct test_srv *t = ctx;
    char path[512];
    json_error_t je;

    snprintf(path, sizeof(path), "%s/%s.json", t->canned_dir, ctl_req_cmd(req));
    for (char *p = strrchr(path, '/'); *p; p++)
        if (*p == ' ')
            *p = '_';
    json_t *result = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (result == NULL)
        return nr_errf(err, NR_EUNKNOWN, "no canned result: %s: %s", path, je.text);
    const char *e = json_string_value(json_object_get(result, "__error"));
    if (e != NULL) {
        const char *code = json_string_value(json_object_get(result, "__code"));
        nr_errf(err, ctl_proto_code_from_name(code ? code : ""), "%s", e);
        json_decref(result);
        return err->code;
    }
    if (t->delay_polls > 0)
        return defer(t, req, t->delay_polls, result, err);
    ctl_reply_ok(req, result);
    return 0;
}

static uint32_t arg_u32(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v > UINT32_MAX) {
        fprintf(stderr, "ctl-test-server: bad number %s\n", s);
        exit(2);
    }
    return (uint32_t)v;
}

static void parse_args(int argc, char **argv, struct ctl_server_config *cfg, struct test_srv *t)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            fprintf(stderr, "ctl-test-server: %s needs a value\n", a);
            exit(2);
        }
        i++;
        if (strcmp(a, "--socket") == 0)
            cfg->path = v;
        else if (strcmp(a, "--canned") == 0)
            t->canned_dir = v;
        else if (strcmp(a, "--delay-polls") == 0)
            t->delay_polls = arg_u32(v);
        else if (strcmp(a, "--max-clients") == 0)
            cfg->max_clients = arg_u32(v);
        else if (strcmp(a, "--line-max") == 0)
            cfg->line_max_bytes = arg_u32(v);
        else if (strcmp(a, "--out-max") == 0)
            cfg->out_max_bytes = arg_u32(v);
        else if (strcmp(a, "--pending-max") == 0)
            cfg->max_pending = arg_u32(v);
        else if (strcmp(a, "--pending-per-client") == 0)
            cfg->max_pending_per_client = arg_u32(v);
        else if (strcmp(a, "--umask") == 0)
            umask((mode_t)strtoul(v, NULL, 8));
        else if (strcmp(a, "--pending-timeout-ms") == 0)
            cfg->pending_timeout_ms = arg_u32(v);
        else {
            fprintf(stderr, "ctl-test-server: unknown option %s\n", a);
            exit(2);
        }
    }
}

static int register_all(struct test_srv *t, struct nr_err *err)
{
    static const struct {
        const char *name;
        ctl_handler_fn *fn;
    } cmds[] = {
        {"echo", h_echo}, {"later", h_later}, {"fail", h_fail}, {"big", h_big},
        {"stats", h_stats}, {"endpoint status", h_canned}, {"member list", h_canned},
        {"endpoint health", h_canned},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int rc = ctl_server_register(t->s, cmds[i].name, cmds[i].fn, t, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct test_srv t;
    struct ctl_server_config cfg = {0};
    struct nr_err err = {0};
    struct sigaction sa = {.sa_handler = on_term};

    t.canned_dir = ".";
    parse_args(argc, argv, &cfg, &t);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (ctl_server_create(&cfg, &t.s, &err) != 0) {
        fprintf(stderr, "%s (%s)\n", err.msg, nr_code_name(err.code));
        return 1;
    }
    if (register_all(&t, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        ctl_server_destroy(t.s);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    while (!g_stop) { /* runs until SIGTERM, by design */
        if (ctl_server_poll(t.s, POLL_MS, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            break;
        }
        tick_later(&t);
    }
    /* Deferred replies still owed are answered before the server goes. */
    for (uint32_t i = 0; i < LATER_MAX; i++)
        if (t.later[i].req != NULL)
            ctl_reply_ok(t.later[i].req, t.later[i].result);
    ctl_server_destroy(t.s);
    return 0;
}
