/* wal_bench.c - wal-bench (issue 4, "Benchmark"): durable appends in the
 * batch shapes a node produces, and in the same run the raw device doing
 * the same I/O with no WAL logic: pwrite + fdatasync, an io_uring write
 * with RWF_DSYNC, an io_uring write linked to fdatasync, each on its own
 * zero-filled, fsynced file, one batch at a time, payload bytes only. The
 * fastest raw method is the baseline: ratio = WAL durable batches/s /
 * fastest raw batches/s, taken inside each round, median over rounds.
 *
 * The disk is shared and noisy: each pattern runs in rounds, and in every
 * round the WAL side and each raw method take one slice in turn (the order
 * rotates); every figure is the median over rounds. Latency is submit to
 * durable completion of one batch, pooled over the rounds. --investigate
 * adds the writer in other configurations and more raw methods (never part
 * of the baseline); --check (the smoke test) fails when a pattern made no
 * batch durable or the recovery scan failed.
 *
 *     wal-bench [--quick] [--seconds S] [--rounds N] [--pattern 64KiBx1]
 *               [--dir /tmp] [--pipeline N] [--sync auto|dsync|linked]
 *               [--direct auto|on|off] [--side wal|writer] [--plain-ring]
 *               [--investigate] [--check]
 *
 * --side wal (default) measures the WAL (storage/wal.h); --side writer the
 * io_uring writer with the WAL's framing and none of its logic.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wal_bench.h"
#include "wal_writer.h"

#define ROUNDS_MAX 64u
#define LAT_MAX (1u << 21) /* latencies kept per pattern */

static const struct wb_pattern patterns[] = {
        {"64Bx1", 64, 1},          {"64Bx64", 64, 64},         {"1KiBx64", 1024, 64},
        {"64KiBx1", 64 * 1024, 1}, {"1MiBx1", 1024 * 1024, 1},
};
#define N_PATTERNS (sizeof(patterns) / sizeof(patterns[0]))

struct opts {
    double slice_s;
    uint32_t rounds;
    const char *pattern; /* NULL: all */
    const char *dir;
    uint32_t pipeline;
    uint32_t sync_mode;
    int direct; /* -1 auto (measured), 0, 1 */
    bool plain_ring;
    bool investigate;
    bool check;
    const struct wb_wal_side *side;
};

uint64_t wb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int wb_probe(const char *dir, struct wal_writer_opts *o, char *probe, size_t len,
             struct nr_err *err)
{
    struct wal_writer_probe_result pr;
    int rc = wal_writer_probe(dir, &pr, err);

    if (rc != 0)
        return rc;
    o->direct = pr.direct;
    if (o->sync_mode == WAL_SYNC_AUTO)
        o->sync_mode = pr.sync_mode;
    snprintf(probe, len, "probe_us: buffered dsync=%.0f linked=%.0f, direct dsync=%.0f linked=%.0f",
             pr.ns_per_write[0][0] / 1e3, pr.ns_per_write[0][1] / 1e3,
             pr.ns_per_write[1][0] / 1e3, pr.ns_per_write[1][1] / 1e3);
    return 0;
}

int wb_zero_file(const char *path, uint64_t len, int extra_flags)
{
    void *zero = NULL;
    int fd;

    if (posix_memalign(&zero, 4096, 1u << 20) != 0)
        return -1;
    memset(zero, 0, 1u << 20);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    for (uint64_t off = 0; fd >= 0 && off < len; off += 1u << 20) {
        if (pwrite(fd, zero, 1u << 20, (off_t)off) != 1 << 20) {
            close(fd);
            fd = -1;
        }
    }
    free(zero);
    if (fd < 0)
        return -1;
    if (fdatasync(fd) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return open(path, O_RDWR | O_CLOEXEC | extra_flags);
}

static uint64_t cpu_ns(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru); /* every thread: io_uring's workers too */
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* ---- the raw device: the same bytes per batch, no WAL logic ---- */

enum raw_kind {
    RAW_PWRITE_FDATASYNC,
    RAW_URING_DSYNC,
    RAW_URING_LINKED,
    RAW_URING_DSYNC_DEPTH, /* --pipeline N > 1: N O_DIRECT RWF_DSYNC writes in
                              flight, as the WAL then keeps N batches in
                              flight (the fastest raw way to do that) */
    RAW_N, /* the baseline: the fastest of the above */
    /* --investigate only; never part of the baseline */
    RAW_URING_DSYNC_PLAIN = RAW_N, /* a ring with no task-run flags */
    RAW_URING_LINKED_PLAIN,
    RAW_DIRECT_PWRITE_FDATASYNC, /* O_DIRECT file, pwrite + fdatasync */
    RAW_DIRECT_URING_DSYNC,      /* O_DIRECT file, io_uring RWF_DSYNC */
    RAW_KINDS,
};

static const char *const raw_names[RAW_KINDS] = {
        "pwrite+fdatasync",
        "uring-dsync",
        "uring-linked-fsync",
        "direct-uring-dsync-pipelined",
        "uring-dsync-plain-ring",
        "uring-linked-fsync-plain-ring",
        "direct-pwrite+fdatasync",
        "direct-uring-dsync",
};

struct raw {
    enum raw_kind kind;
    int fd;
    bool direct;
    char path[512];
    struct io_uring ring;
    bool has_ring;
    uint8_t *buf; /* one batch of payload (shared by writes in flight: the
                     bytes are the same, only the offsets differ) */
    uint64_t off;
    uint32_t depth; /* writes in flight (RAW_URING_DSYNC_DEPTH), else 1 */
};

static bool raw_is_uring(enum raw_kind k)
{
    return k != RAW_PWRITE_FDATASYNC && k != RAW_DIRECT_PWRITE_FDATASYNC;
}

static int raw_open(struct raw *r, enum raw_kind kind, const char *dir, uint32_t depth)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->depth = kind == RAW_URING_DSYNC_DEPTH ? depth : 1;
    r->direct = kind == RAW_DIRECT_PWRITE_FDATASYNC || kind == RAW_DIRECT_URING_DSYNC ||
                kind == RAW_URING_DSYNC_DEPTH;
    snprintf(r->path, sizeof(r->path), "%s/raw-%d", dir, (int)kind);
    r->fd = wb_zero_file(r->path, WB_SEGMENT_BYTES, r->direct ? O_DIRECT : 0);
    if (r->fd < 0 || posix_memalign((void **)&r->buf, 4096, WB_ENTRY_BYTES_MAX) != 0) {
        fprintf(stderr, "wal-bench: raw file %s: %s\n", r->path, strerror(errno));
        return -1;
    }
    for (uint32_t i = 0; i < WB_ENTRY_BYTES_MAX; i++)
        r->buf[i] = (uint8_t)(i * 2654435761u >> 24);
    if (raw_is_uring(kind)) {
        /* The strongest ring the kernel gives, as the writer's (plain for
         * the *_PLAIN comparisons); the file registered. */
        struct io_uring_params p;
        bool plain = kind == RAW_URING_DSYNC_PLAIN || kind == RAW_URING_LINKED_PLAIN;
        int ret;

        memset(&p, 0, sizeof(p));
        p.flags = plain ? 0 : IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        ret = io_uring_queue_init_params(2 * WB_PIPELINE_MAX, &r->ring, &p);
        if (ret != 0 && !plain) {
            memset(&p, 0, sizeof(p));
            ret = io_uring_queue_init_params(2 * WB_PIPELINE_MAX, &r->ring, &p);
        }
        if (ret != 0 || io_uring_register_files(&r->ring, &r->fd, 1) != 0) {
            fprintf(stderr, "wal-bench: raw io_uring: %s\n", strerror(-ret));
            return -1;
        }
        r->has_ring = true;
    }
    return 0;
}

static void raw_close(struct raw *r)
{
    if (r->has_ring)
        io_uring_queue_exit(&r->ring);
    if (r->fd >= 0) {
        close(r->fd);
        unlink(r->path);
    }
    free(r->buf);
}

/* One durable batch of len bytes: 0 or -errno. */
static int raw_batch(struct raw *r, uint32_t len)
{
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    bool linked = r->kind == RAW_URING_LINKED || r->kind == RAW_URING_LINKED_PLAIN;
    int res = 0;

    if (r->direct)
        len = (len + 511) & ~511u;
    if (r->off + len > WB_SEGMENT_BYTES)
        r->off = 0;
    if (!raw_is_uring(r->kind)) {
        if (pwrite(r->fd, r->buf, len, (off_t)r->off) != (ssize_t)len || fdatasync(r->fd) != 0)
            return -errno;
        r->off += len;
        return 0;
    }
    sqe = io_uring_get_sqe(&r->ring);
    io_uring_prep_write(sqe, 0, r->buf, len, r->off);
    sqe->flags |= IOSQE_FIXED_FILE;
    if (linked) {
        sqe->flags |= IOSQE_IO_LINK;
        sqe = io_uring_get_sqe(&r->ring);
        io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
        sqe->flags |= IOSQE_FIXED_FILE;
    } else {
        sqe->rw_flags = RWF_DSYNC;
    }
    if (io_uring_submit_and_wait(&r->ring, linked ? 2 : 1) < 0)
        return -EIO;
    for (int i = 0; i < (linked ? 2 : 1); i++) {
        if (io_uring_wait_cqe(&r->ring, &cqe) != 0)
            return -EIO;
        if (cqe->res < 0 && res == 0)
            res = cqe->res;
        else if (i == 0 && cqe->res != (int)len && res == 0)
            res = -EIO;
        io_uring_cqe_seen(&r->ring, cqe);
    }
    r->off += len;
    return res;
}

/* Queues one RWF_DSYNC write of len bytes at the next offset. */
static void raw_queue_dsync(struct raw *r, uint32_t len)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

    if (r->off + len > WB_SEGMENT_BYTES)
        r->off = 0;
    io_uring_prep_write(sqe, 0, r->buf, len, r->off);
    sqe->flags |= IOSQE_FIXED_FILE;
    sqe->rw_flags = RWF_DSYNC;
    r->off += len;
}

/* depth RWF_DSYNC writes kept in flight; a batch is durable at its
 * completion. Batches per second, or a negative value on an I/O error. */
static double raw_slice_pipelined(struct raw *r, uint32_t len, double slice_s)
{
    uint64_t t0 = wb_now_ns(), end = t0 + (uint64_t)(slice_s * 1e9), t = t0;
    uint64_t n = 0;
    uint32_t in_flight = 0;
    struct io_uring_cqe *cqe;
    int bad = 0;

    if (r->direct)
        len = (len + 511) & ~511u;
    do {
        while (in_flight < r->depth) {
            raw_queue_dsync(r, len);
            in_flight++;
        }
        if (io_uring_submit_and_wait(&r->ring, 1) < 0 || io_uring_wait_cqe(&r->ring, &cqe) != 0)
            return -1;
        bad |= cqe->res != (int)len;
        io_uring_cqe_seen(&r->ring, cqe);
        in_flight--;
        n++;
        t = wb_now_ns();
    } while (t < end && !bad);
    for (; in_flight > 0; in_flight--) { /* drain: the next slice starts empty */
        if (io_uring_wait_cqe(&r->ring, &cqe) != 0)
            return -1;
        bad |= cqe->res != (int)len;
        io_uring_cqe_seen(&r->ring, cqe);
    }
    if (bad) {
        fprintf(stderr, "wal-bench: raw %s: a write failed or was short\n", raw_names[r->kind]);
        return -1;
    }
    return (double)n * 1e9 / (double)(t - t0);
}

/* Batches per second over one slice, or a negative value on an I/O error. */
static double raw_slice(struct raw *r, uint32_t len, double slice_s)
{
    if (r->kind == RAW_URING_DSYNC_DEPTH)
        return r->depth > 1 ? raw_slice_pipelined(r, len, slice_s) : 0.0;

    uint64_t t0 = wb_now_ns(), end = t0 + (uint64_t)(slice_s * 1e9), t = t0;
    uint64_t n = 0;

    do {
        int ret = raw_batch(r, len);

        if (ret != 0) {
            fprintf(stderr, "wal-bench: raw %s: %s\n", raw_names[r->kind], strerror(-ret));
            return -1;
        }
        n++;
        t = wb_now_ns();
    } while (t < end);
    return (double)n * 1e9 / (double)(t - t0);
}

/* ---- the WAL side ---- */

#define WAL_RUNS_MAX 8u

struct wal_run {
    const struct wb_wal_side *side;
    void *ctx;
    char label[64]; /* the variant, for --investigate lines */
    uint32_t pipeline;
    uint64_t *lat_ns; /* LAT_MAX */
    uint32_t n_lat;
    uint64_t cpu_ns; /* process CPU time inside WAL slices */
};

/* Durable batches per second over one slice (pipeline batches in flight at
 * most), or a negative value on an error. */
static double wal_slice(struct wal_run *wr, const struct wb_pattern *p, double slice_s)
{
    uint64_t submitted_at[WB_PIPELINE_MAX];
    uint64_t t0 = wb_now_ns(), end = t0 + (uint64_t)(slice_s * 1e9), t = t0;
    uint64_t next_tag = 0, n_done = 0, cpu0 = cpu_ns();
    uint32_t n_in_flight = 0;
    struct nr_err err;

    for (;;) {
        uint64_t tags[WB_PIPELINE_MAX];
        int n;

        while (t < end && n_in_flight < wr->pipeline) {
            submitted_at[next_tag % WB_PIPELINE_MAX] = wb_now_ns();
            if (wr->side->submit(wr->ctx, p, next_tag, &err) != 0) {
                fprintf(stderr, "wal-bench: %s\n", err.msg);
                return -1;
            }
            next_tag++;
            n_in_flight++;
        }
        if (n_in_flight == 0)
            break;
        n = wr->side->reap(wr->ctx, tags, WB_PIPELINE_MAX, true, &err);
        if (n < 0) {
            fprintf(stderr, "wal-bench: %s\n", err.msg);
            return -1;
        }
        t = wb_now_ns();
        for (int i = 0; i < n; i++) {
            if (wr->n_lat < LAT_MAX)
                wr->lat_ns[wr->n_lat++] = t - submitted_at[tags[i] % WB_PIPELINE_MAX];
        }
        n_in_flight -= (uint32_t)n;
        n_done += (uint64_t)n;
    }
    wr->cpu_ns += cpu_ns() - cpu0;
    return (double)n_done * 1e9 / (double)(t - t0);
}

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static double median(const double *v, uint32_t n)
{
    double s[ROUNDS_MAX];

    memcpy(s, v, n * sizeof(s[0]));
    qsort(s, n, sizeof(s[0]), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double pct_us(uint64_t *v, uint32_t n, double q)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(v[0]), cmp_u64);
    return (double)v[(uint32_t)(q * (n - 1) + 0.5)] / 1e3;
}

/* ---- one pattern ---- */

struct pattern_result {
    double wal_bps[WAL_RUNS_MAX]; /* medians over rounds */
    double ratio[WAL_RUNS_MAX];   /* median over rounds of WAL / that round's best raw */
    double raw_bps[RAW_KINDS];    /* each method's median */
    double raw_best_bps;          /* median over rounds of the round's best raw */
    uint32_t best_raw;            /* the method with the highest median */
};

/* Every WAL run and raw method takes one slice per round, in an order that
 * rotates each round. The host's disk has phases (seconds long) where every
 * durable write takes ~4 ms; slices are short so a round mostly sits in one
 * phase, and the ratio is taken inside each round (WAL / the fastest raw
 * method of that round: a max of three noisy figures, which only favours
 * the baseline), then the median over rounds. */
static int run_pattern(const struct opts *o, struct wal_run *wrs, uint32_t n_wal, struct raw *raws,
                       uint32_t n_raw, const struct wb_pattern *p, struct pattern_result *res)
{
    static double bps[WAL_RUNS_MAX + RAW_KINDS][ROUNDS_MAX];
    double best[ROUNDS_MAX], ratio[ROUNDS_MAX];
    uint32_t len = p->entry_len * p->n_entries; /* raw: the payload, no framing */
    uint32_t n_who = n_wal + n_raw;

    for (uint32_t v = 0; v < n_wal; v++)
        wrs[v].n_lat = 0;
    for (uint32_t r = 0; r < o->rounds; r++) {
        for (uint32_t k = 0; k < n_who; k++) {
            uint32_t who = (k + r) % n_who;

            bps[who][r] = who < n_wal ? wal_slice(&wrs[who], p, o->slice_s)
                                      : raw_slice(&raws[who - n_wal], len, o->slice_s);
            if (bps[who][r] < 0)
                return -1;
        }
        best[r] = 0;
        for (uint32_t m = 0; m < n_raw && m < RAW_N; m++)
            best[r] = bps[n_wal + m][r] > best[r] ? bps[n_wal + m][r] : best[r];
    }
    memset(res, 0, sizeof(*res));
    for (uint32_t v = 0; v < n_wal; v++) {
        res->wal_bps[v] = median(bps[v], o->rounds);
        for (uint32_t r = 0; r < o->rounds; r++)
            ratio[r] = bps[v][r] / best[r];
        res->ratio[v] = median(ratio, o->rounds);
    }
    res->raw_best_bps = median(best, o->rounds);
    for (uint32_t m = 0; m < n_raw; m++) {
        res->raw_bps[m] = median(bps[n_wal + m], o->rounds);
        if (m < RAW_N && res->raw_bps[m] > res->raw_bps[res->best_raw])
            res->best_raw = m;
    }
    return 0;
}

/* ---- options ---- */

static int parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.slice_s = 0.1,
                       .rounds = 25,
                       .dir = "/tmp",
                       .pipeline = 1,
                       .sync_mode = WAL_SYNC_AUTO,
                       .direct = -1,
                       .side = &wb_side_wal};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--quick") == 0) {
            o->slice_s = 0.05; /* 11 rounds x 4 slices: about 2.2 s a pattern */
            o->rounds = 11;
        } else if (strcmp(a, "--check") == 0) {
            o->check = true;
        } else if (strcmp(a, "--plain-ring") == 0) {
            o->plain_ring = true;
        } else if (strcmp(a, "--investigate") == 0) {
            o->investigate = true;
        } else if (v != NULL && strcmp(a, "--seconds") == 0) {
            o->slice_s = atof(v), i++;
        } else if (v != NULL && strcmp(a, "--rounds") == 0) {
            o->rounds = (uint32_t)atoi(v), i++;
        } else if (v != NULL && strcmp(a, "--pattern") == 0) {
            o->pattern = v, i++;
        } else if (v != NULL && strcmp(a, "--side") == 0) {
            o->side = strcmp(v, "writer") == 0 ? &wb_side_writer_framing : &wb_side_wal;
            i++;
        } else if (v != NULL && strcmp(a, "--dir") == 0) {
            o->dir = v, i++;
        } else if (v != NULL && strcmp(a, "--pipeline") == 0) {
            o->pipeline = (uint32_t)atoi(v), i++;
        } else if (v != NULL && strcmp(a, "--sync") == 0) {
            o->sync_mode = strcmp(v, "dsync") == 0    ? WAL_SYNC_DSYNC_WRITE
                           : strcmp(v, "linked") == 0 ? WAL_SYNC_LINKED_FSYNC
                                                      : WAL_SYNC_AUTO;
            i++;
        } else if (v != NULL && strcmp(a, "--direct") == 0) {
            o->direct = strcmp(v, "on") == 0 ? 1 : strcmp(v, "off") == 0 ? 0 : -1;
            i++;
        } else {
            fprintf(stderr, "usage: wal-bench [--quick] [--seconds S] [--rounds N] "
                            "[--pattern NAME] [--dir DIR] [--pipeline N] "
                            "[--sync auto|dsync|linked] [--direct auto|on|off] "
                            "[--side wal|writer] [--plain-ring] [--investigate] [--check]\n");
            return -1;
        }
    }
    if (o->rounds < 1 || o->rounds > ROUNDS_MAX || !(o->slice_s > 0 && o->slice_s <= 60) ||
        o->pipeline < 1 || o->pipeline > WB_PIPELINE_MAX) {
        fprintf(stderr, "wal-bench: --rounds 1..%u, --seconds (0, 60], --pipeline 1..%u\n",
                ROUNDS_MAX, WB_PIPELINE_MAX);
        return -1;
    }
    return 0;
}

/* ---- CRC share, recovery scan ---- */

static int report_scan(const struct opts *o, struct wal_run *wr, const struct wb_wal_info *info)
{
    bool is_wal = strcmp(info->side, "wal") == 0;
    struct nr_err err;
    uint64_t bytes = 0, t0, t;
    int64_t got;

    if (!is_wal)
        printf("replay_gb_per_s=not-measured (wal_side=%s: no replay on this side)\n", info->side);
    got = wr->side->scan(wr->ctx, &err); /* and warms the page cache */
    if (got <= 0) {
        printf("%s: %s\n", is_wal ? "replay" : "framing_scan",
               got < 0 ? err.msg : "nothing to scan");
        return -1;
    }
    t0 = wb_now_ns();
    do {
        got = wr->side->scan(wr->ctx, &err);
        if (got <= 0) {
            printf("%s: %s\n", is_wal ? "replay" : "framing_scan",
                   got < 0 ? err.msg : "nothing to scan");
            return -1;
        }
        bytes += (uint64_t)got;
        t = wb_now_ns();
    } while (t - t0 < (uint64_t)(o->check ? 0.01e9 : 0.5e9));
    if (is_wal)
        printf("replay_gb_per_s=%.2f (wal_replay of the bench's segments from the page cache, "
               "%.1f MB a pass, wall time of the whole call)\n",
               (double)bytes / (double)(t - t0), (double)got / 1e6);
    else
        printf("framing_scan_gb_per_s=%.2f (writer+framing records read from the page cache, "
               "headers and CRC32C checked, %.1f MB a pass; an indication, not wal_replay)\n",
               (double)bytes / (double)(t - t0), (double)got / 1e6);
    return 0;
}

/* ---- set-up ---- */

/* The headline WAL run (variant 0), and with --investigate the writer with
 * the WAL's framing in each configuration, all in the same rounds. */
static uint32_t wal_variants(const struct opts *o, struct wb_wal_cfg *v,
                             const struct wb_wal_side **sides, const char *dir)
{
    static const struct {
        const char *name;
        uint32_t sync_mode;
        int direct;
        uint32_t pipeline;
        bool plain_ring;
        bool fixed_bufs;
    } inv[] = {
            {"writer-buffered-dsync", WAL_SYNC_DSYNC_WRITE, 0, 1, false, false},
            {"writer-buffered-linked", WAL_SYNC_LINKED_FSYNC, 0, 1, false, false},
            {"writer-direct-dsync", WAL_SYNC_DSYNC_WRITE, 1, 1, false, false},
            {"writer-direct-dsync-fixed-bufs", WAL_SYNC_DSYNC_WRITE, 1, 1, false, true},
            {"writer-direct-dsync-plain-ring", WAL_SYNC_DSYNC_WRITE, 1, 1, true, false},
            {"writer-direct-dsync-pipeline2", WAL_SYNC_DSYNC_WRITE, 1, 2, false, false},
    };
    uint32_t n = 0;

    sides[n] = o->side;
    v[n++] = (struct wb_wal_cfg){.dir = dir,
                                 .name = "main",
                                 .pipeline = o->pipeline,
                                 .sync_mode = o->sync_mode,
                                 .direct = o->direct,
                                 .plain_ring = o->plain_ring,
                                 .fixed_bufs = true};
    for (uint32_t i = 0; o->investigate && i < sizeof(inv) / sizeof(inv[0]); i++) {
        sides[n] = &wb_side_writer_framing;
        v[n++] = (struct wb_wal_cfg){.dir = dir,
                                     .name = inv[i].name,
                                     .pipeline = inv[i].pipeline,
                                     .sync_mode = inv[i].sync_mode,
                                     .direct = inv[i].direct,
                                     .plain_ring = inv[i].plain_ring,
                                     .fixed_bufs = inv[i].fixed_bufs};
    }
    return n;
}

static void print_pattern(const struct wb_pattern *p, const struct wal_run *wrs, uint32_t n_wal,
                          uint32_t n_raw, struct pattern_result *res)
{
    double eps = res->wal_bps[0] * p->n_entries;
    /* Pooled over the rounds: the headline run's batches only. */
    double p50 = pct_us(wrs[0].lat_ns, wrs[0].n_lat, 0.50);
    double p99 = pct_us(wrs[0].lat_ns, wrs[0].n_lat, 0.99);

    printf("pattern=%s entries_per_s=%.0f mb_per_s=%.2f p50_us=%.0f p99_us=%.0f "
           "raw_batches_per_s=%.0f ratio=%.3f\n",
           p->name, eps, eps * p->entry_len / 1e6, p50, p99, res->raw_best_bps, res->ratio[0]);
    printf("  detail pattern=%s batches_per_s=%.0f raw_fastest_median=%s", p->name, res->wal_bps[0],
           raw_names[res->best_raw]);
    for (uint32_t m = 0; m < n_raw; m++)
        printf(" %s=%.0f", raw_names[m], res->raw_bps[m]);
    printf("\n");
    for (uint32_t v = 1; v < n_wal; v++)
        printf("  investigate pattern=%s wal=%s batches_per_s=%.0f ratio=%.3f p50_us=%.0f\n",
               p->name, wrs[v].label, res->wal_bps[v], res->ratio[v],
               pct_us(wrs[v].lat_ns, wrs[v].n_lat, 0.50));
}

int main(int argc, char **argv)
{
    struct opts o;
    struct wb_wal_cfg cfgs[WAL_RUNS_MAX];
    const struct wb_wal_side *sides[WAL_RUNS_MAX];
    struct wal_run wrs[WAL_RUNS_MAX];
    struct wb_wal_info info;
    struct raw raws[RAW_KINDS];
    struct nr_err err;
    char dir[256];
    uint32_t n_raw, n_wal, n_open = 0, n_run = 0, n_failed = 0;
    int rc = 1;

    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    if (snprintf(dir, sizeof(dir), "%s/nicraft-wal-bench-XXXXXX", o.dir) >= (int)sizeof(dir)) {
        fprintf(stderr, "wal-bench: --dir %s is too long\n", o.dir);
        return 2;
    }
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "wal-bench: mkdtemp %s: %s\n", dir, strerror(errno));
        return 2;
    }
    n_raw = o.investigate ? RAW_KINDS : RAW_N;
    for (uint32_t m = 0; m < RAW_KINDS; m++)
        raws[m] = (struct raw){.fd = -1};
    n_wal = wal_variants(&o, cfgs, sides, dir);
    memset(wrs, 0, sizeof(wrs));
    for (; n_open < n_wal; n_open++) {
        struct wal_run *wr = &wrs[n_open];

        wr->side = sides[n_open];
        wr->pipeline = cfgs[n_open].pipeline;
        wr->lat_ns = malloc(LAT_MAX * sizeof(wr->lat_ns[0]));
        if (wr->lat_ns == NULL || wr->side->open(&cfgs[n_open], &wr->ctx, &err) != 0) {
            fprintf(stderr, "wal-bench: %s\n", wr->lat_ns == NULL ? "no memory" : err.msg);
            free(wr->lat_ns);
            goto out;
        }
        wr->side->info(wr->ctx, &info);
        snprintf(wr->label, sizeof(wr->label), "%s(%s)", cfgs[n_open].name, info.sync);
    }
    /* After the WAL sides: their start-up probe runs before the raw files'
     * zero-fill floods the disk's cache. */
    for (uint32_t m = 0; m < n_raw; m++)
        if (raw_open(&raws[m], (enum raw_kind)m, dir, o.pipeline) != 0)
            goto out;
    wrs[0].side->info(wrs[0].ctx, &info);
    printf("wal-bench: wal_side=%s sync=%s direct=%s ring_flags=0x%x pipeline=%u rounds=%u "
           "slice_s=%.3f dir=%s\n",
           info.side, info.sync, info.direct ? "on" : "off", info.ring_flags, o.pipeline, o.rounds,
           o.slice_s, o.dir);
    printf("wal-bench: %s\n", info.probe);
    printf("wal-bench: raw = the fastest of pwrite+fdatasync, uring-dsync, uring-linked-fsync "
           "(and, with --pipeline N > 1, direct-uring-dsync-pipelined: N writes in flight) "
           "(payload bytes only, no framing; one batch at a time; one file each, zero-filled "
           "and fsynced); %u interleaved rounds; ratio = median over rounds of WAL / the "
           "round's fastest raw\n",
           o.rounds);
    fflush(stdout);
    for (uint32_t i = 0; i < N_PATTERNS; i++) {
        const struct wb_pattern *p = &patterns[i];
        struct pattern_result res;
        uint64_t crc0 = info.crc_ns, alone0 = info.crc_alone_ns, cpu0 = wrs[0].cpu_ns;

        if (o.pattern != NULL && strcmp(o.pattern, p->name) != 0)
            continue;
        if (run_pattern(&o, wrs, n_wal, raws, n_raw, p, &res) != 0)
            goto out;
        n_run++;
        n_failed += !(res.wal_bps[0] > 0);
        print_pattern(p, wrs, n_wal, n_raw, &res);
        wrs[0].side->info(wrs[0].ctx, &info);
        if (p->entry_len == 64 * 1024 && wrs[0].cpu_ns > cpu0) {
            double cpu = (double)(wrs[0].cpu_ns - cpu0);

            printf("crc32c_cpu_share_64KiBx1=%.2f%% (CRC32C time / process CPU time, all "
                   "threads, in the WAL slices; CRC32C time %s",
                   100.0 * (double)(info.crc_ns - crc0) / cpu, info.crc_how);
            if (info.crc_alone_ns > 0)
                printf("; a CRC32C pass of its own would be %.2f%%",
                       100.0 * (double)(info.crc_alone_ns - alone0) / cpu);
            printf(")\n");
        }
        fflush(stdout);
    }
    if (n_run == 0) {
        fprintf(stderr, "wal-bench: no pattern named %s\n", o.pattern);
        goto out;
    }
    wrs[0].side->info(wrs[0].ctx, &info);
    if (info.stats != NULL)
        printf("%s\n", info.stats);
    n_failed += report_scan(&o, &wrs[0], &info) != 0;
    rc = n_failed == 0 ? 0 : 1;
out:
    for (uint32_t v = 0; v < n_open; v++) {
        wrs[v].side->close(wrs[v].ctx);
        free(wrs[v].lat_ns);
    }
    for (uint32_t m = 0; m < RAW_KINDS; m++)
        if (raws[m].fd >= 0 || raws[m].buf != NULL)
            raw_close(&raws[m]);
    rmdir(dir);
    return rc;
}
