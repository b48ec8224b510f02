/* bench_main.c - raft-core-bench: how fast one thread moves entries through
 * a 3-member group of real raft cores, next to the raw copy baseline.
 *
 *     raft-core-bench [--seconds S] [--runs N] [--check]
 *
 * Each run builds a fresh cluster, warms it up (past a compaction), then
 * times each figure for S seconds; the median of N runs is printed, one
 * `name=value` line per figure. Allocator calls are counted during the
 * timed phases only and must be 0 per committed entry. --check (the smoke
 * test) exits 1 unless entries were committed and nothing was allocated.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS_MAX 99
#define PROPOSALS_PER_CLOCK_READ 16
#define TARGET_BATCHED 3000000.0
#define TARGET_UNBATCHED 500000.0

struct opts {
    double seconds;
    unsigned runs;
    bool is_check;
};

/* One run's figures. */
struct figures {
    double unbatched_per_s;
    double batched_per_s;
    double msgs_unbatched_per_s;
    double msgs_batched_per_s;
    double base_unbatched_per_s;
    double base_batched_per_s;
};

struct totals {
    uint64_t entries; /* committed during timed raft phases */
    uint64_t mallocs; /* allocator calls during the same phases */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint8_t payload[BENCH_ENTRY_BYTES];
static struct raft_proposal props[BENCH_BATCH];

/* Proposes batch entries at a time for about seconds; rates per second. */
static int raft_phase(struct bench_cluster *c, uint32_t batch, double seconds,
                      double *entries_per_s, double *msgs_per_s, struct totals *t)
{
    uint64_t entries0 = c->committed_entries;
    uint64_t msgs0 = c->msgs_stepped;
    uint64_t mallocs0 = bench_malloc_calls();
    double t0 = now_s();
    double elapsed;

    do {
        for (uint32_t i = 0; i < PROPOSALS_PER_CLOCK_READ; i++)
            if (bench_cluster_propose(c, props, batch) != 0)
                return -1;
        elapsed = now_s() - t0;
    } while (elapsed < seconds);
    uint64_t mallocs = bench_malloc_calls() - mallocs0;
    uint64_t entries = c->committed_entries - entries0;
    *entries_per_s = (double)entries / elapsed;
    *msgs_per_s = (double)(c->msgs_stepped - msgs0) / elapsed;
    if (t != NULL) {
        t->entries += entries;
        t->mallocs += mallocs;
    }
    return 0;
}

static double baseline_phase(struct bench_baseline *b, uint32_t batch, double seconds)
{
    uint64_t entries = 0;
    double t0 = now_s();
    double elapsed;

    do {
        for (uint32_t i = 0; i < PROPOSALS_PER_CLOCK_READ; i++)
            entries += bench_baseline_round(b, payload, batch);
        elapsed = now_s() - t0;
    } while (elapsed < seconds);
    return (double)entries / elapsed;
}

static int run_once(const struct opts *o, unsigned run, struct figures *f, struct totals *t)
{
    struct bench_cluster c;
    struct bench_baseline *b;
    double ignored, ignored_msgs;
    double warm = o->seconds / 4;

    if (bench_cluster_init(&c, 1000 * (uint64_t)run) != 0)
        return -1;
    /* Warm-up: laps of the log's rings (every page touched) and past
     * compactions, so the timed phases see the steady state. */
    int rc = 0;
    for (uint64_t i = 0; rc == 0 && i < c.warmup_entries / BENCH_BATCH; i++)
        rc = bench_cluster_propose(&c, props, BENCH_BATCH);
    if (rc == 0)
        rc = raft_phase(&c, 1, warm, &ignored, &ignored_msgs, NULL);
    if (rc == 0)
        rc = raft_phase(&c, 1, o->seconds, &f->unbatched_per_s, &f->msgs_unbatched_per_s, t);
    if (rc == 0)
        rc = raft_phase(&c, BENCH_BATCH, o->seconds, &f->batched_per_s, &f->msgs_batched_per_s, t);
    bench_cluster_free(&c);
    if (rc != 0)
        return -1;
    if (bench_baseline_create(&b) != 0) {
        fprintf(stderr, "raft-core-bench: cannot allocate the baseline\n");
        return -1;
    }
    baseline_phase(b, BENCH_BATCH, warm);
    f->base_unbatched_per_s = baseline_phase(b, 1, o->seconds);
    f->base_batched_per_s = baseline_phase(b, BENCH_BATCH, o->seconds);
    bench_baseline_destroy(b);
    return 0;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median of the field at offset in each run's figures. */
static double median(const struct figures *f, unsigned n, size_t offset)
{
    double v[RUNS_MAX];

    for (unsigned i = 0; i < n; i++)
        memcpy(&v[i], (const char *)&f[i] + offset, sizeof(double));
    qsort(v, n, sizeof(v[0]), compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    o->seconds = 1.0;
    o->runs = 3;
    o->is_check = false;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--check") == 0) {
            o->is_check = true;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            o->seconds = strtod(argv[++i], &end);
            if (*end != '\0' || !(o->seconds >= 0.001 && o->seconds <= 60))
                goto fail_usage;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > RUNS_MAX)
                goto fail_usage;
            o->runs = (unsigned)v;
        } else {
            goto fail_usage;
        }
    }
    return 0;
fail_usage:
    fprintf(stderr,
            "usage: raft-core-bench [--seconds S (0.001..60)] [--runs N (1..%d)] "
            "[--check]\n",
            RUNS_MAX);
    return -1;
}

#define MEDIAN(field) median(figs, o.runs, offsetof(struct figures, field))

int main(int argc, char **argv)
{
    struct opts o;
    struct figures figs[RUNS_MAX];
    struct totals t = {0, 0};

    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    memset(payload, 0xab, sizeof(payload));
    for (uint32_t i = 0; i < BENCH_BATCH; i++)
        props[i] = (struct raft_proposal){RAFT_ENTRY_NORMAL, BENCH_ENTRY_BYTES, payload};
    for (unsigned r = 0; r < o.runs; r++)
        if (run_once(&o, r + 1, &figs[r], &t) != 0)
            return 1;
    double unbatched = MEDIAN(unbatched_per_s);
    double batched = MEDIAN(batched_per_s);
    double base_unbatched = MEDIAN(base_unbatched_per_s);
    double base_batched = MEDIAN(base_batched_per_s);
    printf("# raft-core-bench: 3 members in one thread, %d-byte entries, %.3f s per figure, "
           "median of %u runs\n",
           BENCH_ENTRY_BYTES, o.seconds, o.runs);
    printf("committed_entries_per_s_unbatched=%.0f\n", unbatched);
    printf("committed_entries_per_s_batched=%.0f\n", batched);
    printf("msgs_stepped_per_s=%.0f\n", MEDIAN(msgs_unbatched_per_s));
    printf("msgs_stepped_per_s_batched=%.0f\n", MEDIAN(msgs_batched_per_s));
    if (bench_malloc_is_counted())
        printf("mallocs_per_entry=%.6g\n", t.entries ? (double)t.mallocs / (double)t.entries : 0.0);
    else
        printf("# mallocs_per_entry not measured: sanitizer build (its runtime owns malloc)\n"
               "mallocs_per_entry=skipped\n");
    printf("baseline_copy_entries_per_s_unbatched=%.0f\n", base_unbatched);
    printf("baseline_copy_entries_per_s_batched=%.0f\n", base_batched);
    printf("raft_vs_baseline_unbatched=%.3f\n",
           base_unbatched > 0 ? unbatched / base_unbatched : 0);
    printf("raft_vs_baseline_batched=%.3f\n", base_batched > 0 ? batched / base_batched : 0);
    printf("# targets: batched >= %.0f %s, unbatched >= %.0f %s\n", TARGET_BATCHED,
           batched >= TARGET_BATCHED ? "met" : "NOT met", TARGET_UNBATCHED,
           unbatched >= TARGET_UNBATCHED ? "met" : "NOT met");
    if (!o.is_check)
        return 0;
    if (unbatched <= 0 || batched <= 0 || t.entries == 0) {
        printf("check FAILED: no entries committed\n");
        return 1;
    }
    if (bench_malloc_is_counted() && t.mallocs != 0) {
        printf("check FAILED: %llu allocator calls for %llu committed entries in steady state\n",
               (unsigned long long)t.mallocs, (unsigned long long)t.entries);
        return 1;
    }
    printf("check ok\n");
    return 0;
}
