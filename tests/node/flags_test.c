/* flags_test.c - nicraftd's flags (node_flags.h) and the founding cluster's
 * IDs (node_ids.h): a table of command lines and environments, each with
 * what must come out of it, or the words its refusal must contain. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "node_flags.h"
#include "node_ids.h"
#include "unit_check.h"

struct env_pair {
    const char *name, *value;
};

static const struct env_pair *g_env;
static char g_warn[512];

static const char *env_get(const char *name)
{
    for (const struct env_pair *e = g_env; e != NULL && e->name != NULL; e++)
        if (strcmp(e->name, name) == 0)
            return e->value;
    return NULL;
}

static void on_warn(void *ctx, const char *line)
{
    (void)ctx;
    snprintf(g_warn, sizeof(g_warn), "%s", line);
}

struct flags_case {
    const char *what;
    const char *argv[8];
    struct env_pair env[3];
    const char *refusal; /* NULL: accepted */
    const char *warning; /* a word the warning contains, or NULL for none */
};

static const struct flags_case cases[] = {
        {"defaults", {NULL}, {{NULL, NULL}}, NULL, NULL},
        {"unknown flag", {"--nmae", "x"}, {{NULL, NULL}}, "unknown flag --nmae", NULL},
        {"missing value", {"--name"}, {{NULL, NULL}}, "--name needs a value", NULL},
        {"bad number", {"--heartbeat-ms", "10x"}, {{NULL, NULL}}, "--heartbeat-ms=10x", NULL},
        {"number out of range", {"--heartbeat-ms=0"}, {{NULL, NULL}}, "from 1 to 10000", NULL},
        {"election too short",
         {"--heartbeat-ms=100", "--election-ms=400"},
         {{NULL, NULL}},
         "at least 5 times",
         NULL},
        {"bad enum", {"--transport=rdma"}, {{NULL, NULL}}, "expected udp or dpdk", NULL},
        {"dpdk without EAL args",
         {"--transport", "dpdk"},
         {{NULL, NULL}},
         "needs --dpdk-args",
         NULL},
        {"bad URL",
         {"--listen-peer-urls", "http://1.2.3.4:5"},
         {{NULL, NULL}},
         "--listen-peer-urls",
         NULL},
        {"bad bool", {"--strict-reconfig-check=maybe"}, {{NULL, NULL}}, "true or false", NULL},
        {"bare bool", {"--strict-reconfig-check"}, {{NULL, NULL}}, NULL, NULL},
        {"bad name", {"--name", "a=b"}, {{NULL, NULL}}, "--name", NULL},
        {"same peer and client port",
         {"--listen-peer-urls", "udp://127.0.0.1:5", "--listen-client-urls", "udp://127.0.0.1:5"},
         {{NULL, NULL}},
         "port of their own",
         NULL},
        {"joining needs the cluster ID",
         {"--initial-cluster-state", "existing"},
         {{NULL, NULL}},
         "needs --initial-cluster-id",
         NULL},
        {"cluster ID not hex",
         {"--initial-cluster-state=existing", "--initial-cluster-id=xyz"},
         {{NULL, NULL}},
         "hex digits",
         NULL},
        {"environment",
         {NULL},
         {{"NICRAFT_NAME", "n7"}, {"NICRAFT_HEARTBEAT_MS", "50"}},
         NULL,
         NULL},
        {"bad environment",
         {NULL},
         {{"NICRAFT_HEARTBEAT_MS", "-1"}},
         "(from NICRAFT_HEARTBEAT_MS)",
         NULL},
        {"flag shadows variable", {"--name", "n8"}, {{"NICRAFT_NAME", "n7"}}, NULL, "shadowed"},
        {"stray argument", {"n1"}, {{NULL, NULL}}, "unexpected argument", NULL},
};

static void check_flags_case(const struct flags_case *c)
{
    char *argv[9] = {"nicraftd"};
    int argc = 1;
    static struct nr_flags f;
    struct nr_err err = {0};

    for (int i = 0; c->argv[i] != NULL; i++)
        argv[argc++] = (char *)c->argv[i];
    g_env = c->env;
    g_warn[0] = '\0';
    int rc = nr_flags_parse(argc, argv, env_get, on_warn, NULL, &f, &err);
    if (c->refusal == NULL) {
        UNIT_CHECK(rc == 0, "%s: accepted (got %d: %s)", c->what, rc, err.msg);
    } else {
        UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, c->refusal) != NULL,
                   "%s: refused with \"%s\" (got %d: %s)", c->what, c->refusal, rc, err.msg);
    }
    if (c->warning != NULL)
        UNIT_CHECK(strstr(g_warn, c->warning) != NULL, "%s: warns \"%s\" (got \"%s\")", c->what,
                   c->warning, g_warn);
    else
        UNIT_CHECK(g_warn[0] == '\0', "%s: no warning (got \"%s\")", c->what, g_warn);
}

static void check_values(void)
{
    static struct nr_flags f;
    struct nr_err err;
    char *argv[] = {"nicraftd", "--name", "n8", "--election-ms", "2000"};
    static const struct env_pair env[] = {
            {"NICRAFT_NAME", "n7"}, {"NICRAFT_SNAPSHOT_COUNT", "7"}, {NULL, NULL}};

    g_env = env;
    UNIT_CHECK(nr_flags_parse(5, argv, env_get, on_warn, NULL, &f, &err) == 0, "parses: %s",
               err.msg);
    UNIT_CHECK(strcmp(f.name, "n8") == 0, "the flag wins over NICRAFT_NAME (%s)", f.name);
    UNIT_CHECK(f.snapshot_count == 7, "NICRAFT_SNAPSHOT_COUNT applies (%" PRIu64 ")",
               f.snapshot_count);
    UNIT_CHECK(f.election_ms == 2000 && f.heartbeat_ms == 100, "election %u heartbeat %u",
               f.election_ms, f.heartbeat_ms);
    UNIT_CHECK(strcmp(f.data_dir, "n8.nicraft") == 0, "default data dir follows the name (%s)",
               f.data_dir);
    UNIT_CHECK(strcmp(f.advertise_peer_url, f.listen_peer_url) == 0,
               "advertised peer URL defaults to the listened one");
    UNIT_CHECK(nr_flags_given(&f, "name") && nr_flags_given(&f, "snapshot-count") &&
                       !nr_flags_given(&f, "initial-cluster"),
               "given flags are remembered");
}

struct ic_case {
    const char *what, *spec, *token, *refusal;
    uint32_t n_members;
};

static const struct ic_case ic_cases[] = {
        {"three members", "a=udp://10.0.0.1:1,b=udp://10.0.0.2:1,c=udp://10.0.0.3:1", "t", NULL, 3},
        {"a name twice is two URLs", "a=udp://10.0.0.1:1,a=udp://10.0.0.1:2", "t", NULL, 1},
        {"empty", "", "t", "is empty", 0},
        {"empty token", "a=udp://10.0.0.1:1", "", "token is empty", 0},
        {"no equals", "a", "t", "is not name=udp://IP:PORT", 0},
        {"bad URL", "a=udp://10.0.0.1", "t", "member a", 0},
        {"URL twice", "a=udp://10.0.0.1:1,b=udp://10.0.0.1:1", "t", "named twice", 0},
        {"bad name", "a b=udp://10.0.0.1:1", "t", "--initial-cluster", 0},
        {"too many",
         "a=udp://10.0.0.1:1,b=udp://10.0.0.1:2,c=udp://10.0.0.1:3,d=udp://10.0.0.1:4,"
         "e=udp://10.0.0.1:5,f=udp://10.0.0.1:6,g=udp://10.0.0.1:7,h=udp://10.0.0.1:8,"
         "i=udp://10.0.0.1:9,j=udp://10.0.0.1:10",
         "t", "more than 9 members", 0},
};

static void check_initial_cluster(void)
{
    static struct nr_initial_cluster a, b;
    struct nr_err err;

    for (size_t i = 0; i < sizeof(ic_cases) / sizeof(ic_cases[0]); i++) {
        const struct ic_case *c = &ic_cases[i];
        int rc = nr_initial_cluster_parse(c->spec, c->token, &a, &err);

        if (c->refusal == NULL)
            UNIT_CHECK(rc == 0 && a.n_members == c->n_members, "%s: %u members (got %d: %s)",
                       c->what, c->n_members, rc, err.msg);
        else
            UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, c->refusal) != NULL,
                       "%s: refused with \"%s\" (got %d: %s)", c->what, c->refusal, rc, err.msg);
    }
    /* The IDs depend on the members and the token, not on the order. */
    nr_initial_cluster_parse("a=udp://10.0.0.1:1,b=udp://10.0.0.2:1", "t", &a, &err);
    nr_initial_cluster_parse("b=udp://10.0.0.2:1,a=udp://10.0.0.1:1", "t", &b, &err);
    UNIT_CHECK(a.cluster_id == b.cluster_id && a.cluster_id != 0,
               "the cluster ID ignores the order (%016" PRIx64 ", %016" PRIx64 ")", a.cluster_id,
               b.cluster_id);
    UNIT_CHECK(nr_initial_cluster_find(&a, "a")->id == nr_initial_cluster_find(&b, "a")->id,
               "a member's ID ignores the order");
    nr_initial_cluster_parse("a=udp://10.0.0.1:1,b=udp://10.0.0.2:1", "u", &b, &err);
    UNIT_CHECK(a.cluster_id != b.cluster_id, "another token, another cluster");
    nr_initial_cluster_parse("a=udp://10.0.0.1:1,b=udp://10.0.0.2:1,c=udp://10.0.0.3:1", "t", &b,
                             &err);
    UNIT_CHECK(a.cluster_id != b.cluster_id, "another member list, another cluster");
    UNIT_CHECK(a.members[0].id != a.members[1].id, "members differ");
}

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_flags_case(&cases[i]);
    check_values();
    check_initial_cluster();
    return unit_finish();
}
