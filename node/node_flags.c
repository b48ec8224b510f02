/* node_flags.c - nicraftd's flag table, defaults, environment and argv
 * (node_flags.h). */
#include "node_flags.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dp_udp.h"
#include "members_wire.h"

enum flag_kind {
    FK_STR, /* any text up to the field's size */
    FK_URL, /* udp://IP:PORT */
    FK_U32, /* decimal within [min, max] */
    FK_U64,
    FK_BOOL, /* true/false; the bare flag means true */
    FK_ENUM, /* one of choices, stored as its position */
};

struct flag {
    const char *name; /* without the leading dashes */
    enum flag_kind kind;
    size_t off, size;
    uint64_t min, max;
    const char *choices[3];
    const char *def; /* NULL: empty, or filled in after parsing */
    const char *help;
};

#define F(field) offsetof(struct nr_flags, field), sizeof(((struct nr_flags *)0)->field)

static const struct flag flags[] = {
        {"name",
         FK_STR,
         F(name),
         0,
         0,
         {0},
         "default",
         "This member's name, unique in the cluster; it must appear in --initial-cluster."},
        {"data-dir",
         FK_STR,
         F(data_dir),
         0,
         0,
         {0},
         NULL,
         "Folder of the WAL, snapshots and identity (default: <name>.nicraft)."},
        {"initial-cluster",
         FK_STR,
         F(initial_cluster),
         0,
         0,
         {0},
         "default=udp://127.0.0.1:2380",
         "Founding members, name=udp://IP:PORT,... (identical on every founding member)."},
        {"initial-cluster-state",
         FK_ENUM,
         F(initial_cluster_state),
         0,
         0,
         {"new", "existing"},
         "new",
         "new: found the cluster; existing: join a running cluster after `member add`."},
        {"initial-cluster-token",
         FK_STR,
         F(initial_cluster_token),
         0,
         0,
         {0},
         "nicraft-cluster",
         "Mixed into every ID, so two clusters from the same member list differ."},
        {"initial-cluster-id",
         FK_STR,
         F(initial_cluster_id),
         0,
         0,
         {0},
         "",
         "Joining (existing): the cluster's ID in hex, as `member add` and `endpoint status` "
         "print it."},
        {"listen-peer-urls",
         FK_URL,
         F(listen_peer_url),
         0,
         0,
         {0},
         "udp://127.0.0.1:2380",
         "Where peer traffic arrives (one udp://IP:PORT)."},
        {"initial-advertise-peer-urls",
         FK_URL,
         F(advertise_peer_url),
         0,
         0,
         {0},
         NULL,
         "This member's peer URL as the others reach it (default: --listen-peer-urls)."},
        {"listen-client-urls",
         FK_URL,
         F(listen_client_url),
         0,
         0,
         {0},
         "udp://127.0.0.1:2379",
         "Where client requests arrive (one udp://IP:PORT)."},
        {"advertise-client-urls",
         FK_URL,
         F(advertise_client_url),
         0,
         0,
         {0},
         NULL,
         "Client URL published to the cluster (default: --listen-client-urls)."},
        {"control-socket",
         FK_STR,
         F(control_socket),
         0,
         0,
         {0},
         "/run/nicraft/nicraft.sock",
         "Unix socket for nicraftctl (mode 0600)."},
        {"transport",
         FK_ENUM,
         F(transport),
         0,
         0,
         {"udp", "dpdk"},
         "udp",
         "udp: kernel sockets; dpdk: kernel bypass through --dpdk-args."},
        {"dpdk-args",
         FK_STR,
         F(dpdk_args),
         0,
         0,
         {0},
         "",
         "EAL arguments, e.g. \"--no-huge --no-pci --vdev=net_af_packet0,iface=veth1\"."},
        {"lcores",
         FK_STR,
         F(lcores),
         0,
         0,
         {0},
         "0",
         "CPU the poller is pinned to (DPDK -l), or 0@(0-1) to let it float over CPUs 0-1 "
         "(hosts with fewer CPUs than pollers)."},
        {"idle",
         FK_ENUM,
         F(idle),
         0,
         0,
         {"busy", "adaptive"},
         "busy",
         "busy: poll without pause (NIC hosts); adaptive: yield, then block (shared hosts)."},
        {"heartbeat-ms",
         FK_U32,
         F(heartbeat_ms),
         1,
         10000,
         {0},
         "100",
         "Heartbeat interval, one raft tick."},
        {"election-ms",
         FK_U32,
         F(election_ms),
         5,
         50000,
         {0},
         "1000",
         "Election timeout; at least 5 heartbeats."},
        {"snapshot-count",
         FK_U64,
         F(snapshot_count),
         1,
         UINT64_C(1) << 23,
         {0},
         "100000",
         "Applied entries between snapshots (log compaction)."},
        {"strict-reconfig-check",
         FK_BOOL,
         F(strict_reconfig_check),
         0,
         0,
         {0},
         "true",
         "Refuse membership changes that could cost the cluster its quorum."},
        {"health-interval-ms",
         FK_U32,
         F(health_interval_ms),
         100,
         600000,
         {0},
         "5000",
         "A peer counts as healthy after this long connected."},
        {"quota-backend-bytes",
         FK_U64,
         F(quota_backend_bytes),
         UINT64_C(1) << 20,
         UINT64_C(1) << 36,
         {0},
         "134217728",
         "Key and value bytes the store holds at most (allocated at start); the same on every "
         "member."},
};

#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))
_Static_assert(N_FLAGS <= 64, "struct nr_flags.given is a 64-bit mask");

static const struct flag *flag_find(const char *name, size_t len)
{
    for (size_t i = 0; i < N_FLAGS; i++)
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
            return &flags[i];
    return NULL;
}

static int parse_uint(const struct flag *fl, const char *v, uint64_t *out, struct nr_err *err)
{
    char *end;

    errno = 0;
    if (!isdigit((unsigned char)v[0]))
        goto bad;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || x < fl->min || x > fl->max)
        goto bad;
    *out = x;
    return 0;
bad:
    return nr_errf(err, NR_EINVAL, "--%s=%s: expected a whole number from %" PRIu64 " to %" PRIu64,
                   fl->name, v, fl->min, fl->max);
}

static int flag_set(struct nr_flags *f, const struct flag *fl, const char *v, struct nr_err *err)
{
    char *field = (char *)f + fl->off;
    uint64_t x;
    struct dp_endpoint ep;
    struct nr_err uerr;

    switch (fl->kind) {
    case FK_URL:
        if (dp_url_parse(v, false, &ep, &uerr) != 0)
            return nr_errf(err, NR_EINVAL, "--%s: %s", fl->name, uerr.msg);
        __attribute__((fallthrough)); /* stored as written */
    case FK_STR:
        if (strlen(v) >= fl->size)
            return nr_errf(err, NR_EINVAL, "--%s: the value is %zu bytes long; at most %zu",
                           fl->name, strlen(v), fl->size - 1);
        memcpy(field, v, strlen(v) + 1);
        return 0;
    case FK_U32:
        if (parse_uint(fl, v, &x, err) != 0)
            return err->code;
        *(uint32_t *)(void *)field = (uint32_t)x;
        return 0;
    case FK_U64:
        if (parse_uint(fl, v, &x, err) != 0)
            return err->code;
        *(uint64_t *)(void *)field = x;
        return 0;
    case FK_BOOL:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            return nr_errf(err, NR_EINVAL, "--%s=%s: expected true or false", fl->name, v);
        *(bool *)(void *)field = strcmp(v, "true") == 0;
        return 0;
    case FK_ENUM:
        for (uint32_t i = 0; i < 3 && fl->choices[i] != NULL; i++)
            if (strcmp(v, fl->choices[i]) == 0) {
                *(uint32_t *)(void *)field = i;
                return 0;
            }
        return nr_errf(err, NR_EINVAL, "--%s=%s: expected %s or %s", fl->name, v, fl->choices[0],
                       fl->choices[1]);
    }
    return nr_errf(err, NR_EINVAL, "--%s: unknown kind", fl->name);
}

/* NICRAFT_ + the flag's name upper-cased, '-' as '_'. */
static void env_name(const struct flag *fl, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "NICRAFT_%s", fl->name);

    for (size_t i = 8; i < n && i < len; i++)
        buf[i] = buf[i] == '-' ? '_' : (char)toupper((unsigned char)buf[i]);
}

static void warnf(nr_warn_fn *warn, void *ctx, const char *fmt, const char *a, const char *b)
{
    char line[512];

    snprintf(line, sizeof(line), fmt, a, b);
    if (warn != NULL)
        warn(ctx, line);
}

/* Checks between flags, and the defaults that follow other flags. */
static int flags_finish(struct nr_flags *f, struct nr_err *err)
{
    if (f->data_dir[0] == '\0' && snprintf(f->data_dir, sizeof(f->data_dir), "%s.nicraft",
                                           f->name) >= (int)sizeof(f->data_dir))
        return nr_errf(err, NR_EINVAL, "--name %s: the default data directory name is too long",
                       f->name);
    if (f->advertise_peer_url[0] == '\0')
        memcpy(f->advertise_peer_url, f->listen_peer_url, sizeof(f->advertise_peer_url));
    if (f->advertise_client_url[0] == '\0')
        memcpy(f->advertise_client_url, f->listen_client_url, sizeof(f->advertise_client_url));
    struct nr_err nerr;
    if (nr_name_check(f->name, false, &nerr) != 0)
        return nr_errf(err, NR_EINVAL, "--name: %s", nerr.msg);
    if (f->election_ms < 5 * f->heartbeat_ms)
        return nr_errf(err, NR_EINVAL,
                       "--election-ms=%u: must be at least 5 times --heartbeat-ms=%u (a "
                       "follower must miss several heartbeats before it campaigns)",
                       f->election_ms, f->heartbeat_ms);
    if (f->initial_cluster_id[0] != '\0') {
        char *end;
        errno = 0;
        f->initial_cluster_id_val = strtoull(f->initial_cluster_id, &end, 16);
        if (errno != 0 || *end != '\0' || f->initial_cluster_id_val == 0 ||
            strlen(f->initial_cluster_id) > 16)
            return nr_errf(err, NR_EINVAL,
                           "--initial-cluster-id=%s: expected 1 to 16 hex digits, not zero",
                           f->initial_cluster_id);
    }
    if (f->initial_cluster_state == NR_CLUSTER_EXISTING && f->initial_cluster_id_val == 0)
        return nr_errf(err, NR_EINVAL,
                       "--initial-cluster-state=existing needs --initial-cluster-id (printed by "
                       "`nicraftctl member add` and `nicraftctl endpoint status`): a joining "
                       "member's frames must carry the cluster's ID");
    if (f->transport == NR_TRANSPORT_DPDK && f->dpdk_args[0] == '\0')
        return nr_errf(err, NR_EINVAL,
                       "--transport=dpdk needs --dpdk-args (EAL arguments, e.g. \"--no-huge "
                       "--no-pci --vdev=net_af_packet0,iface=veth1\"), or use --transport=udp");
    if (strcmp(f->listen_peer_url, f->listen_client_url) == 0)
        return nr_errf(err, NR_EINVAL,
                       "--listen-client-urls=%s is also --listen-peer-urls; give clients a port "
                       "of their own",
                       f->listen_client_url);
    return 0;
}

int nr_flags_parse(int argc, char **argv, nr_getenv_fn *getenv_fn, nr_warn_fn *warn, void *warn_ctx,
                   struct nr_flags *f, struct nr_err *err)
{
    bool from_argv[N_FLAGS] = {false};
    int rc;

    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < N_FLAGS; i++)
        if (flags[i].def != NULL && (rc = flag_set(f, &flags[i], flags[i].def, err)) != 0)
            return rc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            f->help = true;
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            f->version = true;
            return 0;
        }
        if (strncmp(a, "--", 2) != 0)
            return nr_errf(err, NR_EINVAL, "unexpected argument \"%s\"; flags start with --", a);
        const char *name = a + 2, *eq = strchr(name, '=');
        const struct flag *fl = flag_find(name, eq != NULL ? (size_t)(eq - name) : strlen(name));
        if (fl == NULL)
            return nr_errf(err, NR_EINVAL, "unknown flag %.*s (see --help)",
                           (int)(eq != NULL ? eq - a : (long)strlen(a)), a);
        const char *v = eq != NULL ? eq + 1 : NULL;
        if (v == NULL && fl->kind == FK_BOOL)
            v = "true";
        if (v == NULL) {
            if (i + 1 == argc)
                return nr_errf(err, NR_EINVAL, "--%s needs a value", fl->name);
            v = argv[++i];
        }
        if ((rc = flag_set(f, fl, v, err)) != 0)
            return rc;
        from_argv[fl - flags] = true;
        f->given |= UINT64_C(1) << (fl - flags);
    }
    /* The environment fills what the command line left; a variable the
     * command line overrides is named in a warning. */
    for (size_t i = 0; i < N_FLAGS; i++) {
        char var[64];
        const char *v;

        env_name(&flags[i], var, sizeof(var));
        if (getenv_fn == NULL || (v = getenv_fn(var)) == NULL)
            continue;
        if (from_argv[i]) {
            warnf(warn, warn_ctx, "%s is shadowed by the command-line flag --%s", var,
                  flags[i].name);
            continue;
        }
        if ((rc = flag_set(f, &flags[i], v, err)) != 0) {
            char msg[sizeof(err->msg)];

            memcpy(msg, err->msg, sizeof(msg));
            return nr_errf(err, NR_EINVAL, "%s (from %s)", msg, var);
        }
        f->given |= UINT64_C(1) << i;
    }
    return flags_finish(f, err);
}

bool nr_flags_given(const struct nr_flags *f, const char *flag)
{
    const struct flag *fl = flag_find(flag, strlen(flag));

    return fl != NULL && (f->given & (UINT64_C(1) << (fl - flags))) != 0;
}

void nr_flags_usage(FILE *out)
{
    fprintf(out, "Usage: nicraftd [flags]\n\n"
                 "A nicraft member: a raft group serving a replicated key-value store.\n"
                 "Every flag can also be set through its environment variable; the\n"
                 "command line wins.\n\n");
    for (size_t i = 0; i < N_FLAGS; i++) {
        char var[64];

        env_name(&flags[i], var, sizeof(var));
        fprintf(out, "  --%s", flags[i].name);
        if (flags[i].kind == FK_ENUM)
            fprintf(out, " %s|%s", flags[i].choices[0], flags[i].choices[1]);
        fprintf(out, "  (%s", var);
        if (flags[i].def != NULL && flags[i].def[0] != '\0')
            fprintf(out, ", default %s", flags[i].def);
        fprintf(out, ")\n      %s\n", flags[i].help);
    }
    fprintf(out, "  --help, --version\n");
}
