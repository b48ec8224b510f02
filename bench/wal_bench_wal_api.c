/* wal_bench_wal_api.c - wal-bench's "WAL side" through the WAL itself
 * (storage/wal.h): wal_append of the pattern's entries, wal_submit once per
 * batch, wal_reap for "durable up to index". As a node runs it: a second
 * thread calls wal_prepare_segments (spare segments zero-filled and fsynced
 * off the poller's path), and a snapshot is "taken" whenever more than two
 * segments are live (wal_compact at the durable index) so segments are
 * recycled rather than created. Entries only, no hard state records.
 * Recovery is timed with wal_replay() over the segments left behind. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "crc.h"
#include "wal.h"
#include "wal_bench.h"
#include "wal_writer.h"

#define WA_CLUSTER UINT64_C(0x62656e6368776131) /* "benchwa1" */
#define WA_MEMBER 1u
#define WA_GROUP 1u
/* A snapshot is "taken" (wal_compact at the durable index) as soon as more
 * than this many segments are live, so the WAL retires the full segment
 * right after a cut and the segment thread, running every WA_PREP_NS (a
 * tick), recycles it before it would create a new one. */
#define WA_LIVE_SEGMENTS 1u
#define WA_PREP_NS 5000000
#define WA_BUSY_WAIT_NS (10ull * 1000000000ull) /* no spare segment for this long: stop */

struct wa_ctx {
    struct wal_writer *writer;
    struct wal *wal;
    char dir[256];
    bool direct;
    uint32_t pipeline;
    char probe[160];
    pthread_t prep;
    bool has_prep;
    atomic_bool stop;
    atomic_int prep_rc;
    char prep_msg[256];
    uint8_t *payload;
    struct raft_entry ents[WB_ENTRIES_MAX];
    uint64_t next_index;
    uint64_t durable_index;
    uint64_t compacted_index;
    uint64_t batch_last[WB_PIPELINE_MAX]; /* last index of each batch in flight */
    uint64_t batch_tag[WB_PIPELINE_MAX];
    uint32_t head, n_in_flight;
    uint64_t crc_bytes;     /* bytes the WAL checksummed (payload + headers, estimated) */
    double crc_ns_per_byte; /* in the WAL's entry copy; measured once at open */
    double crc_alone_ns_per_byte; /* a CRC32C pass of its own */
    char crc_how[200];
    char stats[256];
};

/* The control thread's part: keep spare segments ready, recycle. */
static void *wa_prepare_loop(void *arg)
{
    struct wa_ctx *c = arg;
    struct nr_err err;
    const struct timespec pause = {.tv_nsec = WA_PREP_NS};

    while (!atomic_load(&c->stop)) { /* until close: a thread's whole job */
        int rc = wal_prepare_segments(c->wal, &err);

        if (rc != 0) {
            memcpy(c->prep_msg, err.msg, sizeof(c->prep_msg));
            atomic_store(&c->prep_rc, rc);
            break;
        }
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void wa_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[600];

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void wa_close(void *vctx)
{
    struct wa_ctx *c = vctx;

    if (c == NULL)
        return;
    atomic_store(&c->stop, true);
    if (c->has_prep)
        pthread_join(c->prep, NULL);
    if (c->wal != NULL)
        wal_close(c->wal);
    wal_writer_destroy(c->writer);
    wa_rmdir(c->dir);
    free(c->payload);
    free(c);
}

#define CRC_COST_LEN (64u * 1024u)

/* ns per byte of CRC32C as a pass of its own over 64 KiB blocks, to
 * estimate the WAL's CRC time (the CRC runs inside wal_append, where the
 * bench cannot time it). */
static double crc_alone_cost(const uint8_t *buf)
{
    uint64_t t0 = wb_now_ns();
    uint32_t crc = 0;

    for (int i = 0; i < 2000; i++)
        crc = nr_crc32c(crc, buf, CRC_COST_LEN);
    __asm__ volatile("" : : "r"(crc));
    return (double)(wb_now_ns() - t0) / (2000.0 * CRC_COST_LEN);
}

#if defined(__x86_64__)
/* nr_crc32c_copy's copy without its CRC: the same 64-byte unaligned loads
 * and aligned stores (16-byte ones copy 64 KiB evicted ~25% slower, which
 * would hide the CRC's cost). Only called where the fold runs: AVX-512. */
__attribute__((target("avx512f"))) static void copy_plain(uint8_t *d, const uint8_t *s, size_t n)
{
    size_t i = (64 - ((uintptr_t)d & 63)) & 63;

    memcpy(d, s, i);
    for (; i + 64 <= n; i += 64)
        _mm512_store_si512((void *)(d + i), _mm512_loadu_si512(s + i));
    memcpy(d + i, s + i, n - i);
}

/* As the device's read (O_DIRECT) leaves a batch buffer: none of it cached. */
static void evict(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 64)
        _mm_clflush(p + i);
    _mm_mfence();
}

/* ns per byte the CRC adds to the WAL's entry copy where nr_crc32c_copy
 * folds it in: that copy against the same one without the CRC, 64 KiB
 * from an unaligned source into an evicted buffer, interleaved; the least
 * of five rounds of each (noise only ever adds). Can be 0: the CRC then
 * hides entirely behind the stores. */
static double crc_folded_cost(const uint8_t *src, uint8_t *dst)
{
    uint64_t best[2] = {UINT64_MAX, UINT64_MAX};
    uint32_t crc = 0;

    for (int round = 0; round < 5; round++) {
        uint64_t t[2] = {0, 0};

        for (int i = 0; i < 200; i++) {
            for (int with_crc = 0; with_crc < 2; with_crc++) {
                uint64_t t0;

                evict(dst, CRC_COST_LEN + 128);
                t0 = wb_now_ns();
                if (with_crc)
                    crc = nr_crc32c_copy(crc, dst + 40, src + 1, CRC_COST_LEN);
                else
                    copy_plain(dst + 40, src + 1, CRC_COST_LEN);
                t[with_crc] += wb_now_ns() - t0;
            }
        }
        for (int k = 0; k < 2; k++)
            best[k] = t[k] < best[k] ? t[k] : best[k];
    }
    __asm__ volatile("" : : "r"(crc));
    return best[1] > best[0] ? (double)(best[1] - best[0]) / (200.0 * CRC_COST_LEN) : 0.0;
}
#endif

/* The WAL's CRC cost per byte, and how it was had. */
static int crc_cost(struct wa_ctx *c, struct nr_err *err)
{
    c->crc_alone_ns_per_byte = crc_alone_cost(c->payload);
    c->crc_ns_per_byte = c->crc_alone_ns_per_byte;
    snprintf(c->crc_how, sizeof(c->crc_how),
             "estimated: bytes checksummed x %.4f ns/B, a CRC32C pass of its own "
             "(nr_crc32c_copy does not fold on this CPU)",
             c->crc_ns_per_byte);
#if defined(__x86_64__)
    if (nr_crc32c_copy_is_folded()) {
        uint8_t *dst = aligned_alloc(4096, CRC_COST_LEN + 4096);

        if (dst == NULL)
            return nr_errf(err, NR_ENOMEM, "wal side: no memory to measure CRC32C");
        memset(dst, 0, CRC_COST_LEN + 4096);
        c->crc_ns_per_byte = crc_folded_cost(c->payload, dst);
        free(dst);
        snprintf(c->crc_how, sizeof(c->crc_how),
                 "estimated: bytes checksummed x %.4f ns/B, what the CRC adds to the WAL's "
                 "entry copy (nr_crc32c_copy against the same copy without it, 64 KiB into "
                 "an evicted buffer)",
                 c->crc_ns_per_byte);
    }
#endif
    return 0;
}

static int wa_open(const struct wb_wal_cfg *cfg, void **out, struct nr_err *err)
{
    struct wal_writer_opts wo = {.queue_depth = 16,
                                 .sync_mode = cfg->sync_mode,
                                 .direct = cfg->direct == 1,
                                 .probe_dir = cfg->dir,
                                 .plain_ring = cfg->plain_ring};
    struct wal_opts o;
    struct wa_ctx *c = calloc(1, sizeof(*c));
    int rc;

    if (c == NULL)
        return nr_errf(err, NR_ENOMEM, "wal side: no memory");
    c->pipeline = cfg->pipeline;
    if (c->pipeline < 1 || c->pipeline > WAL_IN_FLIGHT_MAX || c->pipeline > WB_PIPELINE_MAX) {
        free(c);
        return nr_errf(err, NR_EINVAL, "wal side: pipeline %u is outside 1..%d", cfg->pipeline,
                       WAL_IN_FLIGHT_MAX);
    }
    snprintf(c->dir, sizeof(c->dir), "%s/wal-%s", cfg->dir, cfg->name);
    if (mkdir(c->dir, 0700) != 0) {
        rc = nr_errf(err, NR_EREFUSED, "wal side: mkdir %s: %s", c->dir, strerror(errno));
        free(c);
        return rc;
    }
    if (posix_memalign((void **)&c->payload, 4096, WB_ENTRY_BYTES_MAX + 4096) != 0) {
        c->payload = NULL;
        rc = nr_errf(err, NR_ENOMEM, "wal side: no memory for entries");
        goto fail;
    }
    for (uint32_t i = 0; i < WB_ENTRY_BYTES_MAX + 4096; i++)
        c->payload[i] = (uint8_t)(i * 2654435761u >> 24);
    rc = crc_cost(c, err);
    if (rc != 0)
        goto fail;
    if (cfg->direct < 0) { /* measure, as the node does at start-up */
        rc = wb_probe(cfg->dir, &wo, c->probe, sizeof(c->probe), err);
        if (rc != 0)
            goto fail;
    }
    c->direct = wo.direct;
    rc = wal_writer_create(&wo, &c->writer, err);
    if (rc != 0)
        goto fail;
    memset(&o, 0, sizeof(o));
    o.dir = c->dir;
    o.cluster_id = WA_CLUSTER;
    o.member_id = WA_MEMBER;
    o.group_id = WA_GROUP;
    o.segment_bytes = WB_SEGMENT_BYTES;
    o.batch_bytes_max = 2u << 20; /* 1 MiB entry and its framing */
    o.in_flight_max = c->pipeline;
    o.spares = 2;
    o.direct = c->direct;
    o.writer = c->writer;
    rc = wal_open(&o, &c->wal, err);
    if (rc != 0)
        goto fail;
    c->next_index = wal_recovered(c->wal)->last_index + 1;
    c->durable_index = c->next_index - 1;
    if (pthread_create(&c->prep, NULL, wa_prepare_loop, c) != 0) {
        rc = nr_errf(err, NR_ENOMEM, "wal side: cannot start the segment thread");
        goto fail;
    }
    c->has_prep = true;
    *out = c;
    return 0;
fail:
    wa_close(c);
    return rc;
}

/* Takes durable completions without blocking: how many batches ended. */
static int wa_take(struct wa_ctx *c, uint64_t *tags, uint32_t max, struct nr_err *err)
{
    struct wal_durable d;
    uint32_t n = 0;
    int rc = wal_reap(c->wal, &d, err);

    if (rc < 0)
        return rc;
    if (rc == 1)
        c->durable_index = d.index;
    while (n < max && c->n_in_flight > 0 && c->batch_last[c->head] <= c->durable_index) {
        tags[n++] = c->batch_tag[c->head];
        c->head = (c->head + 1) % WB_PIPELINE_MAX;
        c->n_in_flight--;
    }
    return (int)n;
}

/* A snapshot "taken" at the durable index once more than two segments are
 * live: the WAL recycles what lies below it, as a node's would. */
static int wa_maybe_compact(struct wa_ctx *c, struct nr_err *err)
{
    struct wal_stats s;
    struct raft_snap_meta snap;

    wal_stats_get(c->wal, &s);
    if (s.live_segments <= WA_LIVE_SEGMENTS || c->durable_index <= c->compacted_index)
        return 0;
    memset(&snap, 0, sizeof(snap));
    snap.index = c->durable_index;
    snap.term = 1;
    snap.conf.voters[0] = WA_MEMBER;
    snap.conf.n_voters = 1;
    c->compacted_index = c->durable_index;
    return wal_compact(c->wal, &snap, err);
}

static int wa_submit(void *vctx, const struct wb_pattern *p, uint64_t tag, struct nr_err *err)
{
    struct wa_ctx *c = vctx;
    uint64_t t0 = 0;
    int rc;

    if (c->n_in_flight >= c->pipeline)
        return nr_errf(err, NR_EBUSY, "wal side: %u batches in flight", c->pipeline);
    if (atomic_load(&c->prep_rc) != 0)
        return nr_errf(err, atomic_load(&c->prep_rc), "wal side: segment thread: %s", c->prep_msg);
    for (uint32_t i = 0; i < p->n_entries; i++)
        c->ents[i] = (struct raft_entry){.term = 1,
                                         .index = c->next_index + i,
                                         .type = 0,
                                         .len = p->entry_len,
                                         .data = c->payload + ((c->next_index + i) & 4095)};
    rc = wa_maybe_compact(c, err);
    for (uint32_t round = 0; rc == 0; round++) {
        rc = wal_append(c->wal, c->ents, p->n_entries, NULL, NULL, err);
        if (rc != NR_EBUSY)
            break;
        /* No room: the batch or segment is full and no spare is ready yet.
         * Durable completions and the segment thread make room; the wait
         * counts against the WAL. */
        if (t0 == 0)
            t0 = wb_now_ns();
        else if (wb_now_ns() - t0 > WA_BUSY_WAIT_NS)
            return nr_errf(err, NR_EBUSY, "wal side: no room for a batch for 10 s: %s", err->msg);
        rc = wal_submit(c->wal, err);
        if (rc == NR_EBUSY)
            rc = 0;
        if (rc == 0)
            rc = wa_take(c, NULL, 0, err); /* moves the durable index; tags later */
        if (rc >= 0 && wal_writer_in_flight(c->writer) > 0)
            rc = wal_writer_wait(c->writer, err);
        else if (rc >= 0)
            rc = sched_yield();
    }
    if (rc != 0)
        return rc;
    rc = wal_submit(c->wal, err);
    if (rc != 0)
        return rc;
    c->next_index += p->n_entries;
    c->batch_last[(c->head + c->n_in_flight) % WB_PIPELINE_MAX] = c->next_index - 1;
    c->batch_tag[(c->head + c->n_in_flight) % WB_PIPELINE_MAX] = tag;
    c->n_in_flight++;
    c->crc_bytes += (uint64_t)p->n_entries * (p->entry_len + 64);
    return 0;
}

static int wa_reap(void *vctx, uint64_t *tags, uint32_t max, bool wait, struct nr_err *err)
{
    struct wa_ctx *c = vctx;

    if (max > WB_PIPELINE_MAX)
        max = WB_PIPELINE_MAX;
    /* Bounded: each wait takes a completion of the writer. */
    for (uint32_t i = 0; i < 1000000; i++) {
        int n = wa_take(c, tags, max, err);

        if (n != 0 || !wait || c->n_in_flight == 0)
            return n;
        if (wal_writer_in_flight(c->writer) == 0)
            return nr_errf(err, NR_EREFUSED,
                           "wal side: %u batches in flight but the writer "
                           "has nothing (durable index %" PRIu64 ")",
                           c->n_in_flight, c->durable_index);
        n = wal_writer_wait(c->writer, err);
        if (n != 0)
            return n;
    }
    return nr_errf(err, NR_EREFUSED, "wal side: no durable progress");
}

/* Recovery: wal_replay over the group's segments (read only, page cache). */
static int64_t wa_scan(void *vctx, struct nr_err *err)
{
    struct wa_ctx *c = vctx;
    struct wal_replay_opts ro = {c->dir, WA_CLUSTER, WA_MEMBER, WA_GROUP};
    struct wal_recovery rec;
    int64_t bytes;
    int rc = wal_replay(&ro, &rec, err);

    if (rc != 0)
        return rc;
    bytes = (int64_t)rec.scanned_bytes;
    wal_recovery_free(&rec);
    return bytes;
}

static void wa_info(void *vctx, struct wb_wal_info *out)
{
    struct wa_ctx *c = vctx;
    struct wal_stats st;

    wal_stats_get(c->wal, &st);
    snprintf(c->stats, sizeof(c->stats),
             "wal_stats: batches=%" PRIu64 " bytes=%" PRIu64 " segments_cut=%" PRIu64
             " segments_recycled=%" PRIu64 " busy_refusals=%" PRIu64
             " live_segments=%u spares_ready=%u bufs_registered=%d",
             st.batches_written, st.bytes_written, st.segments_cut, st.segments_recycled,
             st.busy_refusals, st.live_segments, st.spares_ready, st.bufs_registered);
    *out = (struct wb_wal_info){
            .side = "wal",
            .sync = wal_sync_mode_name(wal_writer_mode(c->writer)),
            .direct = c->direct,
            .ring_flags = wal_writer_ring_flags(c->writer),
            .crc_ns = (uint64_t)((double)c->crc_bytes * c->crc_ns_per_byte),
            .crc_bytes = c->crc_bytes,
            .crc_alone_ns = (uint64_t)((double)c->crc_bytes * c->crc_alone_ns_per_byte),
            .crc_how = c->crc_how,
            .probe = c->probe[0] != '\0' ? c->probe : "probe: not run (modes given)",
            .stats = c->stats,
    };
}

const struct wb_wal_side wb_side_wal = {
        .open = wa_open,
        .submit = wa_submit,
        .reap = wa_reap,
        .scan = wa_scan,
        .info = wa_info,
        .close = wa_close,
};
