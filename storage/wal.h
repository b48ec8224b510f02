/* wal.h - one raft group's write-ahead log: fixed-size, pre-zeroed
 * segments, one write per batch through struct wal_writer, replay that
 * tells a torn tail from corruption. Layout: wal_format.h.
 *
 * Threads. A struct wal belongs to one poller, which calls wal_append(),
 * wal_submit(), wal_reap()/wal_complete() and wal_compact(); none of them
 * blocks or allocates. The blocking work (creating and zero-filling spare
 * segments, fsyncing them and the directory, recycling compacted ones) is
 * done by wal_prepare_segments(), which exactly one other thread calls (the
 * control thread, every few ticks, or a small thread of its own); the two
 * sides meet in single-producer, single-consumer rings of fixed size.
 * wal_open() and wal_close() run before and after the poller uses the WAL.
 * At a segment cut the poller takes a ready spare (NR_EBUSY when none is:
 * wal_prepare_segments has fallen behind), registers it with the writer
 * and closes the previous one; that is all the file work it ever does.
 *
 * Files. Segments live in opts.dir, one group's beside another's:
 * g<group>-spare-<n>.wal while spare, g<group>-<first index>-<seq>.wal once
 * used (renamed by wal_prepare_segments; wal_open fixes names a crash left
 * behind). Names are for people: replay orders and checks segments by the
 * header inside (wal_format.h), so a lost rename is harmless.
 *
 *     wal_open(&opts, &wal, &err);                 // replays; recovery below
 *     wal_boot_from(wal_recovered(wal), &boot);
 *     raft_create(cfg, &boot, &node, &err);        // copies the entries
 *     loop:                                        // the poller
 *         wal_append(wal, out.persist.v, out.persist.n,
 *                    out.hard_state_changed ? &out.hard_state : NULL,
 *                    out.install, &err);          // NR_EBUSY: submit, reap, retry
 *         wal_submit(wal, &err);                   // once per poll iteration
 *         while (wal_reap(wal, &d, &err) == 1)     // RAFT_IN_PERSISTED d.index/d.term
 *     control thread: wal_prepare_segments(wal, &err) now and then.
 *
 * Batches. Everything appended between two wal_submit() calls is one batch,
 * one write (the batch padded to 512 bytes for O_DIRECT). Up to
 * in_flight_max batches may be in flight (the next is filled and issued
 * while the previous one syncs); durability is reported in order. A
 * segment cut waits until nothing is in flight (NR_EBUSY meanwhile).
 *
 * Failure. A failed write or sync makes the WAL fatal: the failing call and
 * every later one return the same error (its code and sentence), nothing
 * after the failure is ever reported durable, and nothing is retried (a
 * failed fsync may have dropped the dirty pages). */
#ifndef NICRAFT_WAL_H
#define NICRAFT_WAL_H

#include <stdbool.h>
#include <stdint.h>

#include "nr_err.h"
#include "raft.h"
#include "wal_writer.h"

#define WAL_IN_FLIGHT_MAX 8     /* batches written but not yet durable */
#define WAL_SPARES_MAX 8        /* ready segments kept by wal_prepare_segments */
#define WAL_SEGMENTS_MAX 65536  /* live segments of one group */
#define WAL_PATH_MAX 256

struct wal_opts {
    const char *dir;          /* existing folder of this group's segments */
    uint64_t cluster_id;      /* segments of another cluster or member are */
    uint64_t member_id;       /* refused at replay */
    uint32_t group_id;
    uint64_t segment_bytes;   /* every segment's size; a multiple of 512,
                                 at least 64 KiB; 0: 64 MiB */
    uint32_t batch_bytes_max; /* one batch (buffer); a multiple of 512, at
                                 most segment_bytes - 512; 0: 4 MiB */
    uint32_t in_flight_max;   /* 1..WAL_IN_FLIGHT_MAX; 0: 2 */
    uint32_t spares;          /* segments kept ready, 1..WAL_SPARES_MAX; 0: 2 */
    bool direct;              /* open segments O_DIRECT; must match the
                                 writer's opts.direct */
    struct wal_writer *writer; /* not owned; may be shared by the groups of
                                  a poller (see wal_complete) */
};

/* One segment as replay found it. */
struct wal_seg_info {
    char path[WAL_PATH_MAX];
    uint64_t seq;          /* 0: an unused (spare) file */
    uint64_t first_index;
    uint64_t end_off;      /* end of the last valid batch */
    uint64_t next_batch;   /* the number the next batch takes */
    uint64_t last_index;   /* logical last index after this segment */
    uint64_t bad_off;      /* a bad record ended its data here; 0: none */
    bool needs_reset;      /* spare whose header block is torn: wal_open
                              zeroes it before the file is used again */
};

/* What replay found: what struct raft_boot needs, and where writing goes
 * on. The arrays are owned by the recovery (wal_recovery_free). */
struct wal_recovery {
    struct raft_hard_state hard_state;
    struct raft_snap_meta snap;   /* index 0: none */
    struct raft_entry *entries;   /* the log after snap.index, in order */
    uint32_t n_entries;
    uint64_t last_index, last_term; /* of the log (snap's when no entries) */
    struct wal_seg_info *segs;    /* used segments in chain order, then spares */
    uint32_t n_segs, n_used;
    bool is_torn;                 /* a torn tail was cut off ... */
    bool is_tail_dirty;           /* bytes of ours lie past the end of valid
                                     data (torn, or written while a torn
                                     batch was in flight): wal_open zeroes
                                     them before appending there */
    uint64_t torn_offset;         /* ... at this offset of segs[n_used - 1] */
    char note[256];               /* the log line for the torn tail, or "" */
    uint64_t scanned_bytes;       /* bytes read and checked */
    uint64_t scan_ns;             /* wall time of the scan */
    /* Internal: entry data lives in one buffer. */
    uint8_t *data;
    uint64_t *data_off;
    uint64_t data_len, data_cap;
    uint32_t cap_entries;
};

struct wal_replay_opts {
    const char *dir;
    uint64_t cluster_id;
    uint64_t member_id;
    uint32_t group_id;
};

/* Scans every segment of the group in o->dir, reading only. 0 and *rec
 * filled (free it with wal_recovery_free), or NR_ECORRUPT / NR_EREFUSED
 * with one sentence naming the file, the offset, the index range and what
 * to do: a bad record before the last valid one, a missing or out-of-order
 * segment, a gap in indexes, a segment of another cluster, member or
 * group. A torn final batch is not an error: rec->is_torn and rec->note.
 * Also what the benchmark times: rec->scanned_bytes / rec->scan_ns. */
int wal_replay(const struct wal_replay_opts *o, struct wal_recovery *rec, struct nr_err *err);
/* Replays one segment image in memory (fuzzing, tests): as wal_replay for
 * a directory holding only that file, named path in the sentences. */
int wal_replay_buf(const struct wal_replay_opts *o, const uint8_t *buf, uint64_t len,
                   struct wal_recovery *rec, struct nr_err *err);
void wal_recovery_free(struct wal_recovery *rec);
/* Fills *boot from a recovery (pointers into rec; applied_index is the
 * snapshot's index). */
void wal_boot_from(const struct wal_recovery *rec, struct raft_boot *boot);

struct wal;

/* Replays, cuts a torn tail off (zeroing it on disk, fsynced), prepares
 * the spare segments and opens the last segment for appending. Blocks:
 * call before the poller runs. Errors: those of wal_replay, NR_EINVAL for
 * bad options, NR_ENOMEM, NR_EREFUSED when the disk refuses (the sentence
 * names the file and errno). */
int wal_open(const struct wal_opts *o, struct wal **out, struct nr_err *err);
/* What wal_open replayed; owned by the WAL until wal_close. */
const struct wal_recovery *wal_recovered(const struct wal *w);
/* Closes files, frees buffers. Writes still in flight are waited for. */
void wal_close(struct wal *w);

/* Encodes one step's output into the current batch, in the order snapshot
 * marker, entries, hard state (raft.h, struct raft_output). entries[0] may
 * lie at or below the last index appended: the log is then cut from there
 * (replay honours it: a later entry record replaces the suffix). Errors
 * (nothing appended): NR_EBUSY (the batch or segment is full, no spare
 * segment is ready, or writes are in flight on a full segment: submit,
 * reap, let wal_prepare_segments run, retry), NR_EINVAL (entries not
 * contiguous, a gap after the last index, an entry at or below the
 * snapshot, or one output larger than a batch can ever hold), or the fatal
 * error. Pointers are read during the call only. */
int wal_append(struct wal *w, const struct raft_entry *entries, uint32_t n,
               const struct raft_hard_state *hs, const struct raft_snap_meta *snap,
               struct nr_err *err);
/* Issues the current batch as one write (wal_writer_write, then
 * wal_writer_flush). 0 also when there was nothing to write; NR_EBUSY
 * when in_flight_max batches are in flight or the ring is full (the batch
 * stays and goes with the next call); the fatal error. */
int wal_submit(struct wal *w, struct nr_err *err);

struct wal_durable {
    uint64_t index; /* every record up to the batch that ended with this */
    uint64_t term;  /* log position is durable */
    uint64_t batches; /* batches durable since wal_open: a driver that counts
                         the batches it submitted (a wal_submit with something
                         appended) knows which of them are durable, those
                         holding only a hard state included */
};

/* Reaps the writer's completions (a writer used by this WAL alone) and
 * reports how far the log is durable: 1 with *d set when it advanced, 0
 * when not, or the fatal error. */
int wal_reap(struct wal *w, struct wal_durable *d, struct nr_err *err);
/* For a writer shared by several WALs: the poller reaps the writer itself
 * and hands each completion to the WAL of wal_cookie_group(done->cookie).
 * 0 or the fatal error (this completion failed, or an earlier one did). */
int wal_complete(struct wal *w, const struct wal_done *done, struct nr_err *err);
uint32_t wal_cookie_group(uint64_t cookie);
/* 1 with *d set when the durable position advanced since the last call
 * (wal_complete users), else 0. */
int wal_durable_take(struct wal *w, struct wal_durable *d);

/* A snapshot at snap->index is durable (its file written): records a
 * marker in the current batch and, once that batch is durable, hands every
 * segment holding nothing above snap->index to wal_prepare_segments for
 * recycling. NR_EBUSY as wal_append; the fatal error. */
int wal_compact(struct wal *w, const struct raft_snap_meta *snap, struct nr_err *err);

/* Off the poller only (one thread, stopped before wal_close): creates, zero-fills and fsyncs spare
 * segments up to opts.spares, recycles compacted ones, keeping up to twice
 * opts.spares of them for reuse before removing any (their header block
 * zeroed and fsynced first, so a crash never leaves a half-dropped
 * segment in the chain). 0, or NR_EREFUSED naming the file and errno. */
int wal_prepare_segments(struct wal *w, struct nr_err *err);

/* Counters, for logs and tests. */
struct wal_stats {
    uint64_t batches_written;
    uint64_t bytes_written;
    uint64_t segments_cut;
    uint64_t segments_recycled;
    uint64_t busy_refusals;
    uint32_t spares_ready;
    uint32_t live_segments;
    bool bufs_registered; /* batch buffers are the writer's fixed buffers
                             (false: its places were taken, or the kernel
                             refused; writes pin pages each time) */
};
/* The poller's thread (segments_recycled and spares_ready are read
 * atomically; the rest is the poller's). */
void wal_stats_get(const struct wal *w, struct wal_stats *s);

#endif
