/* wal_bench.h - wal-bench: durable appends in the batch shapes a node
 * produces, against the raw device doing the same I/O with no WAL logic
 * (issue 4, "Benchmark").
 *
 * The "WAL side" is a table of functions (struct wb_wal_side) so the
 * measuring loop in wal_bench.c does not care what is behind it:
 * - "wal" (wal_bench_wal_api.c, the default): the WAL itself, storage/wal.h;
 * - "writer+framing" (wal_bench_wal.c, --side writer): the io_uring writer
 *   (storage/wal_writer.c) driven with the WAL's batch shape - records
 *   framed with a 32-byte header and CRC32C, batches padded to 512 bytes,
 *   one write per batch into a pre-zeroed, fsynced segment - written while
 *   the WAL did not exist yet, kept to tell writer costs from WAL costs.
 * The output says which side ran (`wal_side=`). */
#ifndef NICRAFT_WAL_BENCH_H
#define NICRAFT_WAL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nr_err.h"
#include "wal_writer.h"

#define WB_SEGMENT_BYTES (64u << 20) /* each file: pre-zeroed, fsynced, reused */
#define WB_PIPELINE_MAX 8u           /* batches in flight at most */
#define WB_ENTRIES_MAX 64u           /* entries per batch at most (the patterns) */
#define WB_ENTRY_BYTES_MAX (1u << 20)

struct wb_pattern {
    const char *name;   /* "64Bx1" */
    uint32_t entry_len; /* payload bytes of one entry */
    uint32_t n_entries; /* entries per durable batch */
};

struct wb_wal_cfg {
    const char *dir;    /* where the segment goes (made and removed by the side) */
    const char *name;   /* names the segment file: several sides share dir */
    uint32_t pipeline;  /* batches in flight at most (1: one at a time) */
    uint32_t sync_mode; /* enum wal_sync_mode (AUTO probes) */
    int direct;         /* 0 off, 1 on, -1 probe (wal_writer_probe) and pick */
    bool plain_ring;    /* no single-issuer / deferred task run ring */
    bool fixed_bufs;    /* writer+framing: batch buffers registered */
};

/* What one WAL side did, for the report. */
struct wb_wal_info {
    const char *side; /* "writer+framing" or "wal" */
    const char *sync; /* the sync mode in use */
    bool direct;
    uint32_t ring_flags;
    uint64_t crc_ns; /* time CRC32C took, advanced by submit */
    uint64_t crc_bytes;
    uint64_t crc_alone_ns; /* crc_ns had the CRC been a pass of its own
                              over the bytes (0: it was) */
    const char *crc_how;   /* how crc_ns was had, for the report */
    const char *probe;     /* what a start-up probe measured, for the report */
    const char *stats;    /* the side's own counters, one line, or NULL */
};

struct wb_wal_side {
    /* Opens the side: 0, or a negative NR_E* code with *err filled. */
    int (*open)(const struct wb_wal_cfg *cfg, void **ctx, struct nr_err *err);
    /* Encodes and sends one batch of p's shape: 0, NR_EBUSY (pipeline
     * full), or a failure. tag comes back from reap when it is durable. */
    int (*submit)(void *ctx, const struct wb_pattern *p, uint64_t tag, struct nr_err *err);
    /* Durable batches (their tags, in order), up to max; blocks for one at
     * least when wait and something is in flight. Negative: a batch failed. */
    int (*reap)(void *ctx, uint64_t *tags, uint32_t max, bool wait, struct nr_err *err);
    /* Reads back and verifies every record written so far (framing and
     * CRC): bytes scanned, or a negative code. NULL: not measurable. */
    int64_t (*scan)(void *ctx, struct nr_err *err);
    void (*info)(void *ctx, struct wb_wal_info *out);
    void (*close)(void *ctx);
};

/* The writer+framing side (wal_bench_wal.c). */
extern const struct wb_wal_side wb_side_writer_framing;
/* The WAL itself, storage/wal.h (wal_bench_wal_api.c). */
extern const struct wb_wal_side wb_side_wal;

uint64_t wb_now_ns(void);
/* Writes len zero bytes to a new file at path and fdatasyncs it; the fd
 * (opened again with extra_flags), or -1 with errno set. */
int wb_zero_file(const char *path, uint64_t len, int extra_flags);
/* The writer's start-up probe in dir, as the node runs it: sets o->direct
 * and, if AUTO, o->sync_mode; describes the figures in probe (len bytes). */
int wb_probe(const char *dir, struct wal_writer_opts *o, char *probe, size_t len,
             struct nr_err *err);

#endif
