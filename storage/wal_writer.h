/* wal_writer.h - durable writes through io_uring for a poller: queueing,
 * submitting and reaping never block (CONVENTIONS section 1.5). A full
 * ring is a return value (NR_EBUSY); the caller backs off.
 *
 *     wal_writer_write(w, slot, off, buf, len, cookie, &err);  // queue
 *     wal_writer_flush(w, &err);                               // one submit
 *     n = wal_writer_reap(w, done, max);                       // completions
 *
 * A completion reports the whole range durable (result 0) or failed
 * (-errno). Short writes and -EAGAIN are continued inside; a failed write
 * or sync is final: never retried, never reported durable (a failed fsync
 * may have dropped the dirty pages: retrying and succeeding would lie). */
#ifndef NICRAFT_WAL_WRITER_H
#define NICRAFT_WAL_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "nr_err.h"
#include "storage_fault.h"

enum wal_sync_mode {
    WAL_SYNC_AUTO = 0,     /* probe at creation and take the fastest */
    WAL_SYNC_DSYNC_WRITE,  /* one write with RWF_DSYNC */
    WAL_SYNC_LINKED_FSYNC, /* write linked (IOSQE_IO_LINK) to fdatasync */
};

struct wal_writer_opts {
    uint32_t queue_depth;   /* ring entries; writes in flight at most */
    uint32_t sync_mode;     /* enum wal_sync_mode */
    bool direct;            /* files opened O_DIRECT: buffer, offset and
                               length 512-byte aligned */
    bool sqpoll;            /* a kernel thread polls the submission queue */
    const char *probe_dir;  /* WAL_SYNC_AUTO: where to measure */
    struct storage_faults *faults; /* tests only; NULL in production */
    bool plain_ring;        /* no SINGLE_ISSUER/DEFER_TASKRUN/COOP_TASKRUN:
                               the benchmark's comparison; false normally */
};

struct wal_writer;

struct wal_done {
    uint64_t cookie;
    int result; /* 0: the range is durable; else -errno, final */
};

int wal_writer_create(const struct wal_writer_opts *o, struct wal_writer **out,
                      struct nr_err *err);
void wal_writer_destroy(struct wal_writer *w);
/* The mode in use (after an AUTO probe, the one it picked). */
uint32_t wal_writer_mode(const struct wal_writer *w);
const char *wal_sync_mode_name(uint32_t mode);
/* The IORING_SETUP_* flags the ring was made with (the newest the kernel
 * took: SINGLE_ISSUER | DEFER_TASKRUN, else COOP_TASKRUN, else none). */
uint32_t wal_writer_ring_flags(const struct wal_writer *w);

/* Start-up measurement for the WAL's file mode (O_DIRECT or not) and sync
 * mode: durable 4 KiB overwrites of a pre-zeroed scratch file in dir (the
 * WAL's file system), every combination interleaved, each one's fastest
 * round kept; the scratch files are removed. About 10 ms on this disk. */
struct wal_writer_probe_result {
    bool direct;                  /* the faster: files opened O_DIRECT */
    uint32_t sync_mode;           /* with it, the faster sync mode */
    uint64_t ns_per_write[2][2];  /* [direct][sync_mode - 1] */
};
int wal_writer_probe(const char *dir, struct wal_writer_probe_result *out, struct nr_err *err);

/* Registers an open file descriptor for writes; *slot names it after. */
int wal_writer_add_file(struct wal_writer *w, int fd, uint32_t *slot, struct nr_err *err);
void wal_writer_remove_file(struct wal_writer *w, uint32_t slot);

/* Registers n buffers writes will come from (a WAL's batch buffers; the
 * writer holds 16 at most, from every caller together): a write lying
 * inside one goes out as WRITE_FIXED, its pages pinned once here instead
 * of at every write (O_DIRECT). All n or none: NR_EBUSY when fewer than n
 * places are free, NR_EINVAL for n outside 1..16 or an empty buffer,
 * NR_EREFUSED when the kernel refuses (RLIMIT_MEMLOCK, say): writes still
 * work, unregistered. The memory must stay valid until it is unregistered
 * or the writer destroyed. */
int wal_writer_register_buffers(struct wal_writer *w, const struct iovec *iov, uint32_t n,
                                struct nr_err *err);
/* Unregisters buffers registered with exactly these iovecs (others are
 * skipped). A write from one still in flight finishes from the pages the
 * kernel pinned; a part resubmitted later goes out unregistered. */
void wal_writer_unregister_buffers(struct wal_writer *w, const struct iovec *iov, uint32_t n);

/* Queues a durable write; buf stays untouched until its completion is
 * reaped. 0, NR_EBUSY (ring full: back off), NR_EINVAL (misaligned for
 * O_DIRECT, bad slot), NR_EREFUSED (an earlier write to this file failed:
 * the file is stopped). Nothing reaches the kernel before
 * wal_writer_flush() (or wal_writer_wait(), which submits what is queued). */
int wal_writer_write(struct wal_writer *w, uint32_t slot, uint64_t offset, const void *buf,
                     uint32_t len, uint64_t cookie, struct nr_err *err);
/* Submits everything queued: one system call at most. */
int wal_writer_flush(struct wal_writer *w, struct nr_err *err);
/* Completed writes, up to max, without blocking. Writes to one file
 * complete in the order they were queued. */
uint32_t wal_writer_reap(struct wal_writer *w, struct wal_done *done, uint32_t max);
/* Blocks until a completion can be reaped or nothing is in flight (tests,
 * shutdown, an idle poller's last step before sleeping). */
int wal_writer_wait(struct wal_writer *w, struct nr_err *err);
uint32_t wal_writer_in_flight(const struct wal_writer *w);

/* The ring's file descriptor: readable when completions wait (deferred
 * task work included), so an idle poller can block on it beside its
 * sockets instead of spinning while a batch syncs. */
int wal_writer_fd(const struct wal_writer *w);

#endif
