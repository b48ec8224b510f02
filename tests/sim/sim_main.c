/* sim_main.c - nicraft-sim: flags, the seed loop and the summary.
 *
 *   nicraft-sim --seeds N --steps M [--seed S] [--nodes K] [--churn]
 *               [--churn-self-remove] [--inject-bug NAME] [--stop-after V]
 *               [--list-bugs] [-v]
 *
 * Runs seeds S..S+N-1 (S defaults to 1), each for M events, and ends with
 * exactly one summary line:
 *   sim: seeds=N steps=M ops=K violations=V
 * where ops counts client operations with a definite result and V the seeds
 * with at least one violation; with --stop-after, N counts the seeds run. --churn adds membership
 * changes (sim_churn.c) and a "sim: churn:" line before the summary. Exit status 1 when V > 0, 2
 * for bad flags. A violating seed prints one line and (for the first few) the recent events; -v
 * prints every event as it happens. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

#define DUMPS_MAX 3 /* violating seeds whose events are printed */

struct sim_bug {
    const char *name;
    uint32_t bit;
    const char *what;
    const char *needs; /* flags the defect needs to show, "" for none */
};

static const struct sim_bug sim_bugs[] = {
        {"commit-old-term", RAFT_BUG_COMMIT_OLD_TERM, "commit earlier-term entries by count", ""},
        {"double-vote", RAFT_BUG_DOUBLE_VOTE, "grant a second vote in one term", ""},
        {"ack-before-persist", RAFT_BUG_ACK_BEFORE_PERSIST,
         "append ack before the write is durable", ""},
        {"forget-vote", RAFT_BUG_FORGET_VOTE, "drop the vote on restart", ""},
        /* Membership defects: without changes there is nothing to get wrong. */
        {"joint-as-simple", RAFT_BUG_SIMPLE_MULTI, "apply a joint change as a simple one",
         "--churn"},
        {"learner-quorum", RAFT_BUG_LEARNER_QUORUM, "count learners toward commit", "--churn"},
        {"conf-no-pending", RAFT_BUG_CONF_NO_PENDING,
         "accept a configuration change while one is pending", "--churn"},
};
#define N_BUGS (sizeof(sim_bugs) / sizeof(sim_bugs[0]))

/* For the abort handler only: the core's NR_ASSERT aborts the process, and
 * the seed and recent events are what make that reproducible. */
static struct sim_world *sim_current;
static char sim_abort_line[160];

static void on_abort(int sig)
{
    if (sim_current != NULL) {
        ssize_t done = write(STDERR_FILENO, sim_abort_line, strlen(sim_abort_line));

        (void)done;
        sim_log_dump(sim_current, STDERR_FILENO, SIM_LOG_DUMP);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nicraft-sim [--seeds N] [--steps M] [--seed S] [--nodes K] [--churn] "
            "[--churn-self-remove] [--inject-bug NAME] [--stop-after V] [--list-bugs] [-v]\n"
            "  --seeds N        seeds to run (default 100)\n"
            "  --steps M        events per seed (default 2000)\n"
            "  --seed S         first seed (default 1)\n"
            "  --nodes K        founding members, 1..%d (default: 3 or 5, drawn per seed)\n"
            "  --churn          membership changes: add, promote, demote, remove (the leader\n"
            "                   too), replace through joint configurations, leave-joint,\n"
            "                   leadership transfer; members come and go (up to %d IDs)\n"
            "  --churn-self-remove  --churn, but a change that removes or demotes the leader\n"
            "                   goes to the leader itself, without the leadership transfer\n"
            "                   SPEC section 2 rule 10 puts first (the core hands over)\n"
            "  --inject-bug B   switch on a named defect in every member's core\n"
            "  --stop-after V   stop after V seeds with a violation (the summary counts the\n"
            "                   seeds run)\n"
            "  --list-bugs      print the defects: name, what it does, flags it needs\n"
            "  -v               print every event\n",
            SIM_FOUNDERS_MAX, SIM_NODES_MAX);
}

static int bad_flag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_flag(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "nicraft-sim: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    usage(stderr);
    return 2;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;

    if (s == NULL || *s == '\0' || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);

    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int find_bug(const char *name, uint32_t *bit)
{
    for (size_t i = 0; i < N_BUGS; i++) {
        if (strcmp(name, sim_bugs[i].name) == 0) {
            *bit = sim_bugs[i].bit;
            return 0;
        }
    }
    return -1;
}

/* One flag with a value: "--name V" or "--name=V". Returns how many argv
 * slots it used, 0 when the flag is not this one, -1 when V is missing. */
static int flag_value(int argc, char **argv, int i, const char *name, const char **val)
{
    size_t len = strlen(name);

    if (strncmp(argv[i], name, len) != 0)
        return 0;
    if (argv[i][len] == '=') {
        *val = argv[i] + len + 1;
        return 1;
    }
    if (argv[i][len] != '\0')
        return 0;
    if (i + 1 >= argc)
        return -1;
    *val = argv[i + 1];
    return 2;
}

struct sim_num_flag {
    const char *name;
    uint64_t lo, hi;
};

static const struct sim_num_flag sim_num_flags[] = {
        {"--seeds", 1, 100000000},      {"--steps", 1, 100000000},
        {"--seed", 0, UINT64_MAX / 2},  {"--nodes", 1, SIM_FOUNDERS_MAX},
        {"--stop-after", 1, 100000000},
};

static void set_num(struct sim_opts *o, size_t k, uint64_t v)
{
    switch (k) {
    case 0: o->n_seeds = v; break;
    case 1: o->steps = v; break;
    case 2: o->first_seed = v; break;
    case 3: o->n_nodes = (uint32_t)v; break;
    default: o->stop_after = v; break;
    }
}

static int parse_valued(int argc, char **argv, int *i, struct sim_opts *o)
{
    const char *val = NULL;
    int used = flag_value(argc, argv, *i, "--inject-bug", &val);
    uint32_t bit = 0;

    if (used < 0)
        return bad_flag("--inject-bug needs a name (see --list-bugs)");
    if (used > 0) {
        *i += used;
        if (find_bug(val, &bit) != 0)
            return bad_flag("--inject-bug: unknown bug '%s' (see --list-bugs)", val);
        o->bugs |= bit;
        return 0;
    }
    for (size_t k = 0; k < sizeof(sim_num_flags) / sizeof(sim_num_flags[0]); k++) {
        const struct sim_num_flag *f = &sim_num_flags[k];
        uint64_t v = 0;

        used = flag_value(argc, argv, *i, f->name, &val);
        if (used == 0)
            continue;
        if (used < 0)
            return bad_flag("%s needs a value", f->name);
        if (parse_u64(val, f->lo, f->hi, &v) != 0)
            return bad_flag("%s: '%s' is not a number in %llu..%llu", f->name, val,
                            (unsigned long long)f->lo, (unsigned long long)f->hi);
        *i += used;
        set_num(o, k, v);
        return 0;
    }
    return bad_flag("unknown flag '%s'", argv[*i]);
}

/* 0: run; 1: done (--list-bugs, --help); 2: bad flags. */
static int parse_flags(int argc, char **argv, struct sim_opts *o)
{
    *o = (struct sim_opts){.n_seeds = 100, .first_seed = 1, .steps = 2000};
    for (int i = 1; i < argc;) {
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            o->verbose = true;
            i++;
        } else if (strcmp(argv[i], "--churn") == 0) {
            o->churn = true;
            i++;
        } else if (strcmp(argv[i], "--churn-self-remove") == 0) {
            o->churn = true;
            o->churn_self_remove = true;
            i++;
        } else if (strcmp(argv[i], "--list-bugs") == 0) {
            for (size_t k = 0; k < N_BUGS; k++)
                printf("%s\t%s\t%s\n", sim_bugs[k].name, sim_bugs[k].what, sim_bugs[k].needs);
            return 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 1;
        } else {
            int rc = parse_valued(argc, argv, &i, o);

            if (rc != 0)
                return rc;
        }
    }
    if (o->bugs != 0 && !raft_bugs_compiled_in())
        return bad_flag("%s", "--inject-bug: this build of the core has no defect switches");
    return 0;
}

static void report_violation(const struct sim_world *w, uint64_t n_bad)
{
    printf("sim: seed %" PRIu64 ": VIOLATION at step %" PRIu64 " (t=%" PRIu64 " ms, "
           "nodes=%u): %s\n",
           w->seed, w->steps, w->now_us / 1000, w->p.n_nodes, w->why);
    if (n_bad <= DUMPS_MAX && !w->opts->verbose) {
        printf("sim: seed %" PRIu64 ": last events (replay with --seed %" PRIu64
               " --seeds 1 -v):\n",
               w->seed, w->seed);
        fflush(stdout);
        sim_log_dump(w, STDOUT_FILENO, SIM_LOG_DUMP);
    }
    fflush(stdout);
}

static void add_stats(struct sim_stats *sum, const struct sim_stats *s)
{
    const uint64_t *src = (const uint64_t *)s;
    uint64_t *dst = (uint64_t *)sum;

    for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
        dst[i] += src[i];
}

static void print_totals(const struct sim_opts *o, uint64_t n_run, const struct sim_stats *t,
                         uint64_t n_bad)
{
    printf("sim: faults: crashes=%" PRIu64 " torn=%" PRIu64 " partitions=%" PRIu64
           " elections=%" PRIu64 " snapshots_sent=%" PRIu64 " installs=%" PRIu64 " msgs=%" PRIu64
           " dropped=%" PRIu64 " unknown_puts=%" PRIu64 "\n",
           t->crashes, t->torn, t->partitions, t->elections, t->snaps_sent, t->installs, t->msgs,
           t->drops, t->ops_unknown);
    printf("sim: linearizability: keys_checked=%" PRIu64 " unknown=%" PRIu64 "\n", t->linz_keys,
           t->linz_unknown_keys);
    if (o->churn)
        printf("sim: churn: proposed=%" PRIu64 " accepted=%" PRIu64 " busy=%" PRIu64
               " refused=%" PRIu64 " not_leader=%" PRIu64 " joint=%" PRIu64 " leave=%" PRIu64
               " leader_removed=%" PRIu64 " handovers=%" PRIu64 " leader_stepdowns=%" PRIu64
               " forced=%" PRIu64 " transfers=%" PRIu64 " applied=%" PRIu64 " added=%" PRIu64
               " started=%" PRIu64 " stopped=%" PRIu64 "\n",
               t->cc_proposed, t->cc_accepted, t->cc_busy, t->cc_refused, t->cc_not_leader,
               t->cc_joint, t->cc_leave, t->cc_leader_removed, t->cc_handovers, t->leader_stepdowns,
               t->cc_forced, t->cc_transfers, t->conf_applied, t->members_added, t->members_started,
               t->members_stopped);
    printf("sim: membership checks: commits=%" PRIu64 " elections=%" PRIu64 " skipped=%" PRIu64
           "\n",
           t->chk_commits, t->chk_elections, t->chk_skipped);
    printf("sim: seeds=%" PRIu64 " steps=%" PRIu64 " ops=%" PRIu64 " violations=%" PRIu64 "\n",
           n_run, o->steps, t->ops_ok, n_bad);
}

int main(int argc, char **argv)
{
    struct sim_opts o;
    int rc = parse_flags(argc, argv, &o);

    if (rc != 0)
        return rc == 1 ? 0 : 2;
    struct sim_world *w = calloc(1, sizeof(*w));
    struct sim_stats total = {0};
    uint64_t n_bad = 0, n_run = 0;

    if (w == NULL) {
        fprintf(stderr, "nicraft-sim: out of memory for the world (%zu bytes)\n", sizeof(*w));
        return 2;
    }
    signal(SIGABRT, on_abort);
    for (uint64_t k = 0; k < o.n_seeds && (o.stop_after == 0 || n_bad < o.stop_after); k++) {
        uint64_t seed = o.first_seed + k;

        snprintf(sim_abort_line, sizeof(sim_abort_line),
                 "sim: seed %" PRIu64 ": the core "
                 "aborted (an assertion); last events:\n",
                 seed);
        sim_current = w;
        sim_world_run(w, &o, seed);
        n_run++;
        if (w->failed)
            report_violation(w, ++n_bad);
        else if (o.verbose)
            printf("sim: seed %" PRIu64 ": ok, %" PRIu64 " ops\n", seed, w->st.ops_ok);
        add_stats(&total, &w->st);
        sim_current = NULL;
        sim_world_free(w);
    }
    free(w);
    print_totals(&o, n_run, &total, n_bad);
    return n_bad > 0 ? 1 : 0;
}
