/* wal_internal.h - struct wal, shared by wal.c (the poller's side) and
 * wal_segment.c (spares and recycling, off the poller). Not for callers. */
#ifndef NICRAFT_WAL_INTERNAL_H
#define NICRAFT_WAL_INTERNAL_H

#include <stdatomic.h>

#include "wal.h"
#include "wal_format.h"

#define WAL_RING_CAP 16u      /* a power of two, > WAL_SPARES_MAX */
#define WAL_TERM_RUNS_MAX 4096 /* runs of one term kept for the live log */

/* A segment file travelling between the two threads. */
struct wal_ring_item {
    uint64_t file_no;     /* while named g<group>-spare-<file_no>.wal */
    uint64_t seq;         /* used: chain position and first index, the */
    uint64_t first_index; /* name it takes (or has) once used */
    int fd;               /* spares: open for writing; otherwise -1 */
};

/* Single producer, single consumer; indexes only grow. */
struct wal_ring {
    _Atomic uint32_t head; /* consumer */
    _Atomic uint32_t tail; /* producer */
    struct wal_ring_item items[WAL_RING_CAP];
};

bool wal_ring_push(struct wal_ring *r, const struct wal_ring_item *it);
bool wal_ring_pop(struct wal_ring *r, struct wal_ring_item *it);
uint32_t wal_ring_count(struct wal_ring *r);

/* A used segment of the chain, oldest first. */
struct wal_live {
    uint64_t seq;
    uint64_t first_index;
    uint64_t file_no; /* its spare name's number, until renamed */
};

/* One batch buffer: filling, or written and waiting for its completion. */
struct wal_batch {
    uint8_t *buf;         /* WAL_BUF_ALIGN aligned, buf_cap bytes */
    uint32_t len;         /* bytes encoded, header block included */
    uint32_t hdr_off;     /* where the batch record sits: 0, or WAL_BLOCK
                             after a new segment's header block */
    uint32_t n_rec;       /* records after the batch record */
    uint32_t write_len;   /* bytes written (len rounded to WAL_BLOCK) */
    uint64_t seg_off;     /* file offset of buf[0] */
    uint64_t last_index;  /* the log after this batch */
    uint64_t last_term;
    uint64_t compact_index; /* a wal_compact marker in it; 0: none */
    uint64_t cookie;
};

/* The live log as replay would rebuild it (wal_replay.c); kept in step so
 * that a new segment's first index is what replay will expect. */
struct wal_model {
    uint64_t base;       /* index before the first entry held */
    uint64_t last_index;
    uint64_t last_term;
    struct raft_snap_meta snap;
    bool has_snap;
    struct raft_hard_state hs;
    bool has_hs;
    struct { uint64_t start, term; } runs[WAL_TERM_RUNS_MAX];
    uint32_t n_runs;
};

struct wal {
    struct wal_opts o;
    char dir[WAL_PATH_MAX];
    struct wal_recovery rec;
    struct wal_model m;
    /* Segments. */
    struct wal_live *live;
    uint32_t n_live, cap_live;
    int active_fd;         /* the last live segment, -1 when none */
    uint32_t active_slot;
    uint64_t write_off;    /* where the next batch goes in it */
    uint64_t durable_off;  /* end of what was reported durable in it */
    uint64_t next_batch;   /* number of the next batch in it */
    uint64_t compact_to;   /* segments wholly at or below it may go */
    /* Batches: a ring of in_flight_max + 1 buffers. */
    struct wal_batch batches[WAL_IN_FLIGHT_MAX + 1];
    uint32_t n_batches, head, n_in_flight;
    uint32_t buf_cap;
    bool is_bufs_registered; /* with the writer, as fixed buffers */
    uint64_t n_cookies;
    /* Durability. */
    struct wal_durable durable;
    bool is_durable_new;
    bool is_fatal;
    struct nr_err fatal;
    /* The preparing thread's side. */
    struct wal_ring spares;   /* prepare -> poller */
    struct wal_ring retired;  /* poller -> prepare: recycle these */
    struct wal_ring named;    /* poller -> prepare: rename these used spares */
    uint64_t next_file_no;    /* prepare only, after wal_open */
    struct wal_stats stats;
    _Atomic uint64_t n_recycled;
};

/* Replay's file side (wal_segment.c): lists group's files in o->dir into
 * rec->segs (used ones in chain order, then spares), refusing a file of
 * another format; maps a file read-only (MAP_POPULATE) and unmaps it. */
int wal_seg_list(const struct wal_replay_opts *o, struct wal_recovery *rec, struct nr_err *err);
int wal_seg_add(struct wal_recovery *rec, uint32_t *cap);
int wal_seg_map(const char *path, uint8_t **buf, uint64_t *len, struct nr_err *err);
void wal_seg_unmap(uint8_t *buf, uint64_t len);

/* At wal_open (wal_segment.c): gives used segments and spares their
 * names; hands the spares replay found to the ring (a torn header zeroed
 * first). */
int wal_seg_normalize(struct wal *w, struct nr_err *err);
int wal_seg_adopt_spares(struct wal *w, struct nr_err *err);

/* Makes the WAL fatal with err (kept) and returns its code. */
int wal_fail(struct wal *w, const struct nr_err *err);

#endif
