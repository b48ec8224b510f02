/* nicraftctl.c - the operator's tool: options, the command table, and the
 * helpers every command shares. Commands talk to nicraftd's control socket
 * (ctl_call.h); put, get and del go to the cluster through the client
 * library with what the socket tells about the cluster.
 *
 *     nicraftctl [--socket PATH] [-w table|json] [--command-timeout D] COMMAND
 *
 * Options may come before or after the command's words, as with etcdctl;
 * after `--` everything is an argument (for keys that start with '-').
 * Exit status: 0 done, 1 refused / unreachable / unhealthy, 2 bad usage. */
#include "nicraftctl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which options a command takes beyond the global ones. */
#define NCTL_OPT_SERIALIZABLE 0x1u

struct nctl_cmd {
    const char *words;     /* "member list": matched against the first words */
    int min_args, max_args; /* positional arguments after the words (the usage
                               message assumes min == max: true of all today) */
    unsigned opts;         /* NCTL_OPT_* */
    int (*run)(const struct nctl *o);
    const char *synopsis;
    const char *help;
};

/* The next issues add member add|remove|update|promote|replace,
 * move-leader and snapshot save here: one line each. */
static const struct nctl_cmd g_cmds[] = {
    {"endpoint status", 0, 0, 0, nctl_endpoint_status, "endpoint status",
     "this member's ID, version, data size, leadership, raft term and indexes, errors"},
    {"endpoint health", 0, 0, 0, nctl_endpoint_health, "endpoint health",
     "whether this member can commit a proposal, and how long it took"},
    {"member list", 0, 0, 0, nctl_member_list, "member list",
     "the members; on the leader also each one's match index, lag and health"},
    {"put", 2, 2, 0, nctl_put, "put KEY VALUE", "writes KEY = VALUE through the cluster"},
    {"get", 1, 1, NCTL_OPT_SERIALIZABLE, nctl_get, "get KEY [--serializable]",
     "reads KEY (linearizable; --serializable: from any member, may be stale)"},
    {"del", 1, 1, 0, nctl_del, "del KEY", "deletes KEY; prints how many keys were deleted"},
};
#define N_CMDS (sizeof(g_cmds) / sizeof(g_cmds[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: nicraftctl [--socket PATH] [-w table|json] [--command-timeout D] "
               "COMMAND\n\ncommands:\n");
    for (size_t i = 0; i < N_CMDS; i++)
        fprintf(f, "  %-26s %s\n", g_cmds[i].synopsis, g_cmds[i].help);
    fprintf(f, "\noptions:\n"
               "  --socket PATH            the control socket (default $%s, else %s)\n"
               "  -w, --write-out FORMAT   table (default) or json\n"
               "  --command-timeout D      the whole command's deadline: 500ms, 5s, 1m "
               "(default 5s)\n"
               "  -h, --help               this text\n",
            NCTL_SOCKET_ENV, NCTL_SOCKET_DEFAULT);
}

static int bad_usage(const char *fmt, const char *what)
{
    fprintf(stderr, "Error: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\nusage: nicraftctl [--socket PATH] [-w table|json] [--command-timeout D] "
                    "COMMAND\n(nicraftctl --help lists the commands)\n");
    return NCTL_EXIT_USAGE;
}

/* "500ms", "5s", "1m", or a bare number of seconds; 1 ms .. 1 hour. */
static int parse_duration_ms(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double scale = 1000.0;

    if (end == s || errno != 0)
        return -1;
    if (strcmp(end, "ms") == 0)
        scale = 1.0;
    else if (strcmp(end, "m") == 0)
        scale = 60000.0;
    else if (strcmp(end, "s") != 0 && *end != '\0')
        return -1;
    double ms = v * scale;
    if (!(ms >= 1.0 && ms <= 3600000.0))
        return -1;
    *out = (uint32_t)ms;
    return 0;
}

/* The value of an option: "--opt=V" or the next argument. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t len = strlen(name);
    if (argv[*i][len] == '=')
        return argv[*i] + len + 1;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static bool is_opt(const char *arg, const char *name)
{
    size_t len = strlen(name);
    return strncmp(arg, name, len) == 0 && (arg[len] == '\0' || arg[len] == '=');
}

/* Splits options from words; words go to words[] (at most max). Returns
 * -1 after printing usage for a bad option, 1 for --help, else 0. */
static int parse_opts(int argc, char **argv, struct nctl *o, const char **words, int *n_words,
                      int max)
{
    bool is_literal = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v;
        if (is_literal || a[0] != '-' || a[1] == '\0') {
            if (*n_words == max)
                return bad_usage("too many arguments (%s)", a), -1;
            words[(*n_words)++] = a;
        } else if (strcmp(a, "--") == 0) {
            is_literal = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            return 1;
        } else if (is_opt(a, "--socket")) {
            if ((v = opt_value(argc, argv, &i, "--socket")) == NULL || *v == '\0')
                return bad_usage("%s needs a path", "--socket"), -1;
            o->socket_path = v;
        } else if (is_opt(a, "-w") || is_opt(a, "--write-out")) {
            if ((v = opt_value(argc, argv, &i, a[1] == 'w' ? "-w" : "--write-out")) == NULL)
                return bad_usage("%s needs table or json", a), -1;
            if (strcmp(v, "table") == 0 || strcmp(v, "simple") == 0)
                o->format = NCTL_TABLE;
            else if (strcmp(v, "json") == 0)
                o->format = NCTL_JSON;
            else
                return bad_usage("unknown output format %s; use table or json", v), -1;
        } else if (is_opt(a, "--command-timeout")) {
            if ((v = opt_value(argc, argv, &i, "--command-timeout")) == NULL ||
                parse_duration_ms(v, &o->timeout_ms) != 0)
                return bad_usage("--command-timeout needs a duration from 1ms to 1h, such as "
                                 "5s (got %s)", v != NULL ? v : "nothing"), -1;
        } else if (strcmp(a, "--serializable") == 0) {
            o->is_serializable = true;
        } else {
            return bad_usage("unknown option %s", a), -1;
        }
    }
    return 0;
}

/* The command whose words start the list; *used gets how many words. */
static const struct nctl_cmd *find_cmd(const char *const *words, int n, int *used)
{
    for (size_t i = 0; i < N_CMDS; i++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", g_cmds[i].words);
        int k = 0;
        bool is_match = true;
        for (char *save = NULL, *w = strtok_r(buf, " ", &save); w != NULL;
             w = strtok_r(NULL, " ", &save), k++)
            if (k >= n || strcmp(words[k], w) != 0)
                is_match = false;
        if (is_match) {
            *used = k;
            return &g_cmds[i];
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct nctl o = {.timeout_ms = NCTL_TIMEOUT_MS_DEFAULT};
    const char *words[NCTL_ARGS_MAX + 4];
    int n_words = 0, used = 0;

    signal(SIGPIPE, SIG_IGN);
    int rc = parse_opts(argc, argv, &o, words, &n_words, NCTL_ARGS_MAX + 4);
    if (rc != 0) {
        if (rc > 0)
            usage(stdout);
        return rc > 0 ? NCTL_EXIT_OK : NCTL_EXIT_USAGE;
    }
    if (n_words == 0) {
        fprintf(stderr, "Error: no command\n\n");
        usage(stderr);
        return NCTL_EXIT_USAGE;
    }
    const struct nctl_cmd *cmd = find_cmd(words, n_words, &used);
    if (cmd == NULL) {
        char given[128];
        snprintf(given, sizeof(given), "%s%s%s", words[0], n_words > 1 ? " " : "",
                 n_words > 1 ? words[1] : "");
        return bad_usage("unknown command \"%s\"", given);
    }
    int n_args = n_words - used;
    if (n_args < cmd->min_args || n_args > cmd->max_args) {
        fprintf(stderr, "Error: %s takes %d argument%s, got %d\nusage: nicraftctl %s\n",
                cmd->words, cmd->max_args, cmd->max_args == 1 ? "" : "s", n_args,
                cmd->synopsis);
        return NCTL_EXIT_USAGE;
    }
    if (o.is_serializable && !(cmd->opts & NCTL_OPT_SERIALIZABLE))
        return bad_usage("--serializable is only for get%s", "");
    for (int i = 0; i < n_args; i++)
        o.args[i] = words[used + i];
    o.n_args = n_args;
    if (o.socket_path == NULL)
        o.socket_path = getenv(NCTL_SOCKET_ENV);
    if (o.socket_path == NULL || *o.socket_path == '\0')
        o.socket_path = NCTL_SOCKET_DEFAULT;
    return cmd->run(&o);
}

int nctl_call(const struct nctl *o, const char *cmd, json_t *args, json_t **result,
              struct nr_err *err)
{
    struct ctl_call cc;

    int rc = ctl_call_open(&cc, o->socket_path, o->timeout_ms, err);
    if (rc != 0)
        return rc;
    rc = ctl_call_run(&cc, cmd, args, o->timeout_ms, result, err);
    ctl_call_close(&cc);
    return rc;
}

int nctl_fail(const struct nr_err *err)
{
    fprintf(stderr, "Error: %s\n", err->msg);
    return NCTL_EXIT_ERROR;
}

static json_t *field(json_t *obj, const char *key, bool (*is_kind)(const json_t *),
                     const char *kind, struct nr_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (v != NULL && is_kind(v))
        return v;
    if (err->code == 0)
        nr_errf(err, NR_EINVAL, "the node's result has no %s \"%s\"%s", kind, key,
                json_is_object(obj) ? "" : " (the result is not an object)");
    return NULL;
}

static bool is_str(const json_t *v) { return json_is_string(v); }
static bool is_int(const json_t *v) { return json_is_integer(v) && json_integer_value(v) >= 0; }
static bool is_bool(const json_t *v) { return json_is_boolean(v); }
static bool is_arr(const json_t *v) { return json_is_array(v); }

const char *nctl_str(json_t *obj, const char *key, struct nr_err *err)
{
    json_t *v = field(obj, key, is_str, "string", err);
    return v != NULL ? json_string_value(v) : "";
}

uint64_t nctl_u64(json_t *obj, const char *key, struct nr_err *err)
{
    json_t *v = field(obj, key, is_int, "non-negative integer", err);
    return v != NULL ? (uint64_t)json_integer_value(v) : 0;
}

bool nctl_bool(json_t *obj, const char *key, struct nr_err *err)
{
    json_t *v = field(obj, key, is_bool, "boolean", err);
    return v != NULL && json_is_true(v);
}

void nctl_strs(json_t *obj, const char *key, const char *sep, char *buf, size_t cap,
               struct nr_err *err)
{
    json_t *arr = field(obj, key, is_arr, "array", err);
    size_t used = 0;
    size_t i;
    json_t *v;

    buf[0] = '\0';
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v)) {
            if (err->code == 0)
                nr_errf(err, NR_EINVAL, "the node's result has a non-string in \"%s\"", key);
            return;
        }
        if (used < cap)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", i > 0 ? sep : "",
                                     json_string_value(v));
    }
}
