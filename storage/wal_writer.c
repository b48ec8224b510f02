/* wal_writer.c - durable writes through io_uring for a poller (issue 4).
 *
 * One ring per writer, made at creation with the newest task-run flags the
 * kernel takes (single issuer + deferred task run, else cooperative task
 * run, else none): the poller is the only submitter, and completions then
 * run when it asks for them instead of interrupting it. Files sit in a
 * registered (sparse) table, and buffers registered by the caller (the
 * WAL's batch buffers) turn writes into WRITE_FIXED; a fixed pool of
 * queue_depth records carries every write from wal_writer_write() to the
 * completion handed out by wal_writer_reap(); nothing is allocated after
 * creation.
 *
 * Two ways to make a write durable (WAL_SYNC_AUTO measures both once in
 * opts->probe_dir and keeps the faster; wal_writer_probe() also measures
 * O_DIRECT against buffered): one write with RWF_DSYNC, or a write linked
 * (IOSQE_IO_LINK) to an fdatasync. Measured here (issue 4, wal-bench
 * --investigate): buffered, either kind trails pwrite + fdatasync by 5-20%
 * (our reading: ext4 takes no non-blocking buffered write, so each goes to
 * an io-wq worker); O_DIRECT with RWF_DSYNC keeps up with it. A short write is continued
 * from where it stopped, -EAGAIN is resubmitted up to WRITER_EAGAIN_MAX
 * times, anything else is final. CQEs may arrive out of order; each file
 * keeps its records in queue order and a finished record waits there until
 * those queued before it on the same file are finished too. */
#include "wal_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* liburing 2.3 knows these; older headers may not, and the kernel (6.x)
 * does: the values are the kernel ABI. */
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef RWF_DSYNC
#define RWF_DSYNC 0x00000002
#endif

#define WRITER_DEPTH_MAX 4096u   /* records in flight at most */
#define WRITER_FILES_MAX 64u     /* registered file slots */
#define WRITER_EAGAIN_MAX 16u    /* resubmissions of one record on -EAGAIN */
#define WRITER_DIRECT_ALIGN 512u /* O_DIRECT: address, offset and length */
#define WRITER_BUFS_MAX 16u      /* registered buffers */
#define WRITER_NIL UINT32_MAX

enum rec_state {
    REC_FREE = 0,
    REC_IN_FLIGHT, /* SQEs queued or submitted; CQEs expected */
    REC_DONE,      /* result known; waits for earlier records of its file */
};

/* One queued write, from wal_writer_write() until its completion is reaped. */
struct wal_rec {
    uint64_t cookie;
    uint64_t offset;    /* of the part not yet written */
    const uint8_t *buf; /* the part not yet written */
    uint32_t len;       /* bytes not yet written */
    uint32_t slot;
    uint32_t next;     /* next record of the same file, or the free list */
    int result;        /* REC_DONE: 0 or -errno */
    int res_write;     /* the write's CQE result (linked: held for the fsync's) */
    int res_sync;      /* linked mode: the fsync's CQE result */
    int fault_errno;   /* injected: the write goes out, then this is reported */
    uint8_t state;     /* enum rec_state */
    uint8_t n_cqes;    /* CQEs still expected for the current submission */
    uint8_t is_linked; /* the current submission is write + fsync */
    uint8_t is_torn;   /* injected tear: report -EIO once the part is written */
    uint16_t n_eagain;
};

struct wal_file {
    int fd;        /* -1: the slot is free */
    uint32_t head; /* oldest unreaped record, WRITER_NIL if none */
    uint32_t tail;
    uint32_t n_recs; /* records queued and not yet reaped */
    int failed;      /* first final error on this file (-errno), 0 if none */
};

struct wal_writer {
    struct io_uring ring;
    uint32_t mode;        /* enum wal_sync_mode, never AUTO after create */
    uint32_t depth;       /* records at most */
    uint32_t setup_flags; /* the ring flags the kernel accepted */
    bool direct;
    bool fixed_files; /* the sparse file table is registered */
    bool fixed_bufs;  /* the sparse buffer table is registered */
    struct storage_faults *faults;
    struct wal_rec *recs; /* [depth] */
    uint32_t free_head;
    uint32_t n_used;      /* records not free */
    uint32_t n_in_flight; /* records in REC_IN_FLIGHT */
    uint32_t *ready;      /* [depth] records done in file order, to hand out */
    uint32_t ready_head;
    uint32_t n_ready;
    struct wal_file files[WRITER_FILES_MAX];
    struct iovec bufs[WRITER_BUFS_MAX]; /* registered (iov_base NULL: a free
                                           place): writes inside go WRITE_FIXED */
    uint32_t n_bufs;                    /* places in use */
};

const char *wal_sync_mode_name(uint32_t mode)
{
    switch (mode) {
    case WAL_SYNC_AUTO: return "auto";
    case WAL_SYNC_DSYNC_WRITE: return "dsync-write";
    case WAL_SYNC_LINKED_FSYNC: return "linked-fsync";
    default: return "unknown";
    }
}

uint32_t wal_writer_mode(const struct wal_writer *w)
{
    return w->mode;
}

uint32_t wal_writer_in_flight(const struct wal_writer *w)
{
    return w->n_used;
}

uint32_t wal_writer_ring_flags(const struct wal_writer *w)
{
    return w->setup_flags;
}

/* The ring: the first flag set the kernel takes, newest first. Each record
 * needs two SQEs at most (write + fsync) and two CQEs. */
static int ring_init(struct wal_writer *w, const struct wal_writer_opts *o, struct nr_err *err)
{
    static const uint32_t tries[] = {
            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
            IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
            0,
    };
    static const uint32_t tries_sqpoll[] = {
            IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER,
            IORING_SETUP_SQPOLL,
    };
    const uint32_t *list = o->sqpoll ? tries_sqpoll : tries;
    uint32_t n = o->sqpoll ? 2u : 4u;
    uint32_t skip = o->plain_ring ? n - 1 : 0; /* the bench's comparison ring */
    int ret = -EINVAL;

    for (uint32_t i = skip; i < n; i++) {
        struct io_uring_params p;

        memset(&p, 0, sizeof(p));
        p.flags = list[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = 4 * w->depth;
        if (list[i] & IORING_SETUP_SQPOLL)
            p.sq_thread_idle = 50; /* ms before the kernel thread sleeps */
        ret = io_uring_queue_init_params(2 * w->depth, &w->ring, &p);
        if (ret == 0) {
            w->setup_flags = list[i];
            return 0;
        }
        if (ret != -EINVAL && ret != -EPERM)
            break;
    }
    return nr_errf(err, NR_EREFUSED,
                   "wal writer: io_uring_queue_init_params for %u entries failed: %s "
                   "(is io_uring disabled by kernel.io_uring_disabled or a seccomp filter?)",
                   2 * w->depth, strerror(-ret));
}

static int probe_pick_mode(struct wal_writer *w, const char *dir, struct nr_err *err);

int wal_writer_create(const struct wal_writer_opts *o, struct wal_writer **out, struct nr_err *err)
{
    struct wal_writer *w;
    int ret;

    *out = NULL;
    if (o->queue_depth < 1 || o->queue_depth > WRITER_DEPTH_MAX)
        return nr_errf(err, NR_EINVAL, "wal writer: queue_depth %u is outside 1..%u",
                       o->queue_depth, WRITER_DEPTH_MAX);
    if (o->sync_mode > WAL_SYNC_LINKED_FSYNC)
        return nr_errf(err, NR_EINVAL,
                       "wal writer: sync_mode %u is not one of auto (0), "
                       "dsync-write (1), linked-fsync (2)",
                       o->sync_mode);
    if (o->sync_mode == WAL_SYNC_AUTO && o->probe_dir == NULL)
        return nr_errf(err, NR_EINVAL,
                       "wal writer: sync_mode auto needs a probe_dir "
                       "on the WAL's file system to measure in");
#ifndef NICRAFT_FAULT_INJECTION
    if (o->faults != NULL)
        return nr_errf(err, NR_EINVAL,
                       "wal writer: a fault plan was given but this build "
                       "has no fault injection (configure with -Dfault_injection=true)");
#endif
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return nr_errf(err, NR_ENOMEM, "wal writer: no memory for the writer");
    w->depth = o->queue_depth;
    w->direct = o->direct;
    w->faults = o->faults;
    w->recs = calloc(w->depth, sizeof(w->recs[0]));
    w->ready = calloc(w->depth, sizeof(w->ready[0]));
    if (w->recs == NULL || w->ready == NULL) {
        ret = nr_errf(err, NR_ENOMEM, "wal writer: no memory for %u records", w->depth);
        goto fail_free;
    }
    for (uint32_t i = 0; i < w->depth; i++)
        w->recs[i].next = i + 1 < w->depth ? i + 1 : WRITER_NIL;
    for (uint32_t i = 0; i < WRITER_FILES_MAX; i++)
        w->files[i] = (struct wal_file){.fd = -1, .head = WRITER_NIL, .tail = WRITER_NIL};
    ret = ring_init(w, o, err);
    if (ret != 0)
        goto fail_free;
    /* A registered table saves a file lookup per request; a kernel that
     * refuses it still works with plain descriptors. */
    w->fixed_files = io_uring_register_files_sparse(&w->ring, WRITER_FILES_MAX) == 0;
    /* Likewise an empty buffer table, filled by wal_writer_register_buffers
     * as the WALs sharing the writer come and go. */
    w->fixed_bufs = io_uring_register_buffers_sparse(&w->ring, WRITER_BUFS_MAX) == 0;
    w->mode = o->sync_mode;
    if (w->mode == WAL_SYNC_AUTO) {
        ret = probe_pick_mode(w, o->probe_dir, err);
        if (ret != 0)
            goto fail_ring;
    }
    *out = w;
    return 0;

fail_ring:
    io_uring_queue_exit(&w->ring);
fail_free:
    free(w->ready);
    free(w->recs);
    free(w);
    return ret;
}

void wal_writer_destroy(struct wal_writer *w)
{
    if (w == NULL)
        return;
    /* Buffers of writes still in the kernel stay untouched until they end. */
    for (uint32_t i = 0; i < 4 * WRITER_DEPTH_MAX && w->n_in_flight > 0; i++) {
        struct wal_done done[16];

        if (wal_writer_wait(w, NULL) != 0)
            break;
        wal_writer_reap(w, done, 16);
    }
    io_uring_queue_exit(&w->ring);
    free(w->ready);
    free(w->recs);
    free(w);
}

int wal_writer_add_file(struct wal_writer *w, int fd, uint32_t *slot, struct nr_err *err)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0)
        return nr_errf(err, NR_EINVAL, "wal writer: fd %d is not an open file: %s", fd,
                       strerror(errno));
    if (((fl & O_DIRECT) != 0) != w->direct)
        return nr_errf(err, NR_EINVAL,
                       "wal writer: fd %d is %sopened O_DIRECT but the writer "
                       "was made with direct=%s",
                       fd, (fl & O_DIRECT) ? "" : "not ", w->direct ? "true" : "false");
    for (uint32_t i = 0; i < WRITER_FILES_MAX; i++) {
        if (w->files[i].fd >= 0)
            continue;
        if (w->fixed_files) {
            int ret = io_uring_register_files_update(&w->ring, i, &fd, 1);

            if (ret < 0)
                return nr_errf(err, NR_EREFUSED,
                               "wal writer: registering fd %d in slot %u "
                               "failed: %s",
                               fd, i, strerror(-ret));
        }
        w->files[i] = (struct wal_file){.fd = fd, .head = WRITER_NIL, .tail = WRITER_NIL};
        *slot = i;
        return 0;
    }
    return nr_errf(err, NR_EBUSY,
                   "wal writer: all %u file slots are in use; remove a file "
                   "first",
                   WRITER_FILES_MAX);
}

void wal_writer_remove_file(struct wal_writer *w, uint32_t slot)
{
    NR_ASSERT(slot < WRITER_FILES_MAX);
    NR_ASSERT(w->files[slot].fd >= 0);
    NR_ASSERT(w->files[slot].n_recs == 0); /* its completions were reaped */
    if (w->fixed_files) {
        int none = -1;

        (void)io_uring_register_files_update(&w->ring, slot, &none, 1);
    }
    w->files[slot] = (struct wal_file){.fd = -1, .head = WRITER_NIL, .tail = WRITER_NIL};
}

static void rec_finish(struct wal_writer *w, struct wal_rec *r, int result);

/* The registered buffer holding [p, p + len), or -1: a linear scan of at
 * most WRITER_BUFS_MAX. */
static int buf_lookup(const struct wal_writer *w, const uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < WRITER_BUFS_MAX && w->n_bufs > 0; i++) {
        const uint8_t *base = w->bufs[i].iov_base;

        if (base != NULL && p >= base && (size_t)(p - base) + len <= w->bufs[i].iov_len)
            return (int)i;
    }
    return -1;
}

/* Sets place i of the kernel's table to *iov (an empty iovec clears it). */
static int buf_update(struct wal_writer *w, uint32_t i, const struct iovec *iov)
{
    int ret = io_uring_register_buffers_update_tag(&w->ring, i, iov, NULL, 1);

    if (ret >= 0)
        w->bufs[i] = *iov;
    return ret < 0 ? ret : 0;
}

int wal_writer_register_buffers(struct wal_writer *w, const struct iovec *iov, uint32_t n,
                                struct nr_err *err)
{
    static const struct iovec none = {NULL, 0};
    uint32_t places[WRITER_BUFS_MAX], k;
    int ret = 0;

    if (n == 0 || n > WRITER_BUFS_MAX)
        return nr_errf(err, NR_EINVAL, "wal writer: register 1..%u buffers (asked %u)",
                       WRITER_BUFS_MAX, n);
    for (k = 0; k < n; k++)
        if (iov[k].iov_base == NULL || iov[k].iov_len == 0)
            return nr_errf(err, NR_EINVAL, "wal writer: buffer %u of %u is empty", k, n);
    if (!w->fixed_bufs)
        return nr_errf(err, NR_EREFUSED,
                       "wal writer: the kernel took no registered buffer table; "
                       "writes work unregistered");
    if (WRITER_BUFS_MAX - w->n_bufs < n)
        return nr_errf(err, NR_EBUSY,
                       "wal writer: %u buffers asked, %u of %u places free; "
                       "writes work unregistered",
                       n, WRITER_BUFS_MAX - w->n_bufs, WRITER_BUFS_MAX);
    k = 0;
    for (uint32_t i = 0; k < n; i++)
        if (w->bufs[i].iov_base == NULL)
            places[k++] = i;
    for (k = 0; k < n; k++) {
        ret = buf_update(w, places[k], &iov[k]);
        if (ret != 0)
            break;
    }
    if (ret != 0) {
        while (k-- > 0) /* all or none: clear those set */
            (void)buf_update(w, places[k], &none);
        return nr_errf(err, NR_EREFUSED,
                       "wal writer: registering %u buffers failed: %s (the "
                       "pinned bytes count against RLIMIT_MEMLOCK); writes work unregistered",
                       n, strerror(-ret));
    }
    w->n_bufs += n;
    return 0;
}

void wal_writer_unregister_buffers(struct wal_writer *w, const struct iovec *iov, uint32_t n)
{
    static const struct iovec none = {NULL, 0};

    for (uint32_t k = 0; k < n; k++) {
        for (uint32_t i = 0; i < WRITER_BUFS_MAX; i++) {
            const struct iovec *b = &w->bufs[i];

            if (b->iov_base == NULL || b->iov_base != iov[k].iov_base ||
                b->iov_len != iov[k].iov_len)
                continue;
            /* Clearing a place fails only for a bad index or a ring gone. */
            int ret = buf_update(w, i, &none);
            NR_ASSERT(ret == 0);
            w->n_bufs--;
            break;
        }
    }
}

/* Queues the SQE(s) for the unwritten part of rec; the SQ always has room
 * (2 SQEs per record, 2 x depth entries). Fault hooks run here, once per
 * write that would reach the kernel. */
static void rec_submit(struct wal_writer *w, uint32_t idx)
{
    struct wal_rec *r = &w->recs[idx];
    uint32_t len = r->len;
    bool use_sync = true;
    int fd = w->fixed_files ? (int)r->slot : w->files[r->slot].fd;
    struct io_uring_sqe *sqe;
    int buf_index;

#ifdef NICRAFT_FAULT_INJECTION
    if (w->faults != NULL) {
        bool torn = false;
        int fret = storage_fault_write(w->faults, &len, &torn);

        if (fret < 0) { /* fails without writing */
            rec_finish(w, r, fret);
            return;
        }
        if (torn) {
            NR_ASSERT(len <= r->len);
            if (w->direct) /* a device tears whole sectors; O_DIRECT needs them */
                len &= ~(WRITER_DIRECT_ALIGN - 1);
            r->is_torn = 1;
            use_sync = false;
        } else {
            int sret = storage_fault_sync(w->faults);

            if (sret < 0) { /* the data goes out, its sync "fails" */
                r->fault_errno = sret;
                use_sync = false;
            }
        }
        if (len == 0) { /* torn before the first byte: nothing to write */
            rec_finish(w, r, -EIO);
            return;
        }
    }
#endif
    r->is_linked = use_sync && w->mode == WAL_SYNC_LINKED_FSYNC;
    r->n_cqes = r->is_linked ? 2 : 1;
    r->res_write = 0;
    r->res_sync = 0;
    w->n_in_flight++;
    r->state = REC_IN_FLIGHT;

    sqe = io_uring_get_sqe(&w->ring);
    NR_ASSERT(sqe != NULL);
    buf_index = buf_lookup(w, r->buf, len);
    if (buf_index >= 0) /* pages pinned once at registration, not per write */
        io_uring_prep_write_fixed(sqe, fd, r->buf, len, r->offset, buf_index);
    else
        io_uring_prep_write(sqe, fd, r->buf, len, r->offset);
    if (w->fixed_files)
        sqe->flags |= IOSQE_FIXED_FILE;
    if (use_sync && w->mode == WAL_SYNC_DSYNC_WRITE)
        sqe->rw_flags = RWF_DSYNC;
    io_uring_sqe_set_data64(sqe, (uint64_t)idx << 1);
    if (!r->is_linked)
        return;
    sqe->flags |= IOSQE_IO_LINK;
    sqe = io_uring_get_sqe(&w->ring);
    NR_ASSERT(sqe != NULL);
    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    if (w->fixed_files)
        sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ((uint64_t)idx << 1) | 1u);
}

static bool is_aligned(uint64_t v)
{
    return (v & (WRITER_DIRECT_ALIGN - 1)) == 0;
}

int wal_writer_write(struct wal_writer *w, uint32_t slot, uint64_t offset, const void *buf,
                     uint32_t len, uint64_t cookie, struct nr_err *err)
{
    struct wal_file *f;
    struct wal_rec *r;
    uint32_t idx;

    if (slot >= WRITER_FILES_MAX || w->files[slot].fd < 0)
        return nr_errf(err, NR_EINVAL, "wal writer: slot %u holds no file", slot);
    f = &w->files[slot];
    if (len == 0 || buf == NULL)
        return nr_errf(err, NR_EINVAL,
                       "wal writer: a write needs a buffer and 1 byte at "
                       "least (len %u)",
                       len);
    if (offset > (uint64_t)INT64_MAX - len)
        return nr_errf(err, NR_EINVAL,
                       "wal writer: offset %" PRIu64 " + len %u is beyond "
                       "a file's range",
                       offset, len);
    if (w->direct && !(is_aligned((uintptr_t)buf) && is_aligned(offset) && is_aligned(len)))
        return nr_errf(err, NR_EINVAL,
                       "wal writer: O_DIRECT needs %u-byte aligned buffer, "
                       "offset and length (buffer %p, offset %" PRIu64 ", length %u); pad "
                       "the batch",
                       WRITER_DIRECT_ALIGN, buf, offset, len);
    if (f->failed != 0)
        return nr_errf(err, NR_EREFUSED,
                       "wal writer: slot %u: an earlier write failed (%s); "
                       "the file takes no more writes, its durability is unknown",
                       slot, strerror(-f->failed));
    if (w->free_head == WRITER_NIL)
        return nr_errf(err, NR_EBUSY,
                       "wal writer: all %u records are in flight; reap "
                       "completions and retry",
                       w->depth);
    idx = w->free_head;
    r = &w->recs[idx];
    w->free_head = r->next;
    w->n_used++;
    *r = (struct wal_rec){.cookie = cookie,
                          .offset = offset,
                          .buf = buf,
                          .len = len,
                          .slot = slot,
                          .next = WRITER_NIL};
    if (f->tail == WRITER_NIL)
        f->head = idx;
    else
        w->recs[f->tail].next = idx;
    f->tail = idx;
    f->n_recs++;
    rec_submit(w, idx);
    return 0;
}

int wal_writer_flush(struct wal_writer *w, struct nr_err *err)
{
    int ret;

    if (io_uring_sq_ready(&w->ring) == 0)
        return 0;
    ret = io_uring_submit(&w->ring);
    if (ret >= 0)
        return 0;
    if (ret == -EAGAIN || ret == -EBUSY)
        return nr_errf(err, NR_EBUSY,
                       "wal writer: the kernel took no submissions now (%s); "
                       "reap completions and flush again",
                       strerror(-ret));
    return nr_errf(err, NR_EREFUSED, "wal writer: io_uring_submit failed: %s", strerror(-ret));
}

/* Moves the finished records at the heads of slot's queue to the ready list. */
static void file_release(struct wal_writer *w, uint32_t slot)
{
    struct wal_file *f = &w->files[slot];

    while (f->head != WRITER_NIL && w->recs[f->head].state == REC_DONE) {
        uint32_t idx = f->head;
        struct wal_rec *r = &w->recs[idx];

        if (r->result != 0 && f->failed == 0)
            f->failed = r->result;
        f->head = r->next;
        if (f->head == WRITER_NIL)
            f->tail = WRITER_NIL;
        NR_ASSERT(w->n_ready < w->depth);
        w->ready[(w->ready_head + w->n_ready) % w->depth] = idx;
        w->n_ready++;
    }
}

static void rec_finish(struct wal_writer *w, struct wal_rec *r, int result)
{
    r->state = REC_DONE;
    r->result = result;
    file_release(w, r->slot);
}

/* The write's outcome is known (and, linked, the fsync's): finish the record,
 * or continue a short write, or resubmit after -EAGAIN. */
static void rec_settle(struct wal_writer *w, uint32_t idx, int res_write, int res_sync)
{
    struct wal_rec *r = &w->recs[idx];

    if (res_write == -EAGAIN && r->n_eagain < WRITER_EAGAIN_MAX) {
        r->n_eagain++;
        rec_submit(w, idx);
    } else if (res_write < 0) {
        rec_finish(w, r, res_write);
    } else if (res_write == 0) { /* no progress: a full disk or a bug, never spin */
        rec_finish(w, r, -EIO);
    } else if (r->is_torn) {
        rec_finish(w, r, -EIO);
    } else if ((uint32_t)res_write < r->len) {
        r->buf += res_write;
        r->offset += (uint32_t)res_write;
        r->len -= (uint32_t)res_write;
        rec_submit(w, idx); /* the remainder, synced again */
    } else if (r->fault_errno != 0) {
        rec_finish(w, r, r->fault_errno);
    } else {
        /* A failed fsync is final: the pages it covered may be gone. */
        rec_finish(w, r, r->is_linked ? res_sync : 0);
    }
}

static void handle_cqe(struct wal_writer *w, const struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    uint32_t idx = (uint32_t)(ud >> 1);
    struct wal_rec *r;

    NR_ASSERT(idx < w->depth);
    r = &w->recs[idx];
    NR_ASSERT(r->state == REC_IN_FLIGHT);
    NR_ASSERT(r->n_cqes > 0);
    if ((ud & 1u) == 0)
        r->res_write = cqe->res;
    else
        r->res_sync = cqe->res;
    r->n_cqes--;
    if (r->n_cqes > 0)
        return; /* linked: the other CQE (the fsync's maybe -ECANCELED) is due */
    w->n_in_flight--;
    rec_settle(w, idx, r->res_write, r->res_sync);
}

/* Consumes every CQE there is; resubmissions go out at once. */
static void drain_cqes(struct wal_writer *w)
{
    struct io_uring_cqe *cqe;
    unsigned head;
    unsigned n = 0;

    /* io_uring_peek_cqe enters the kernel when task work is pending (the
     * TASKRUN flag): with a deferred-task-run ring that is what runs it. */
    if (io_uring_peek_cqe(&w->ring, &cqe) != 0)
        return;
    io_uring_for_each_cqe(&w->ring, head, cqe)
    {
        handle_cqe(w, cqe);
        n++;
    }
    io_uring_cq_advance(&w->ring, n);
    if (io_uring_sq_ready(&w->ring) > 0)
        (void)io_uring_submit(&w->ring); /* retries; a failure shows up in wait */
}

uint32_t wal_writer_reap(struct wal_writer *w, struct wal_done *done, uint32_t max)
{
    uint32_t n = 0;

    if (w->n_in_flight > 0)
        drain_cqes(w);
    while (n < max && w->n_ready > 0) {
        uint32_t idx = w->ready[w->ready_head];
        struct wal_rec *r = &w->recs[idx];

        w->ready_head = (w->ready_head + 1) % w->depth;
        w->n_ready--;
        done[n++] = (struct wal_done){.cookie = r->cookie, .result = r->result};
        w->files[r->slot].n_recs--;
        r->state = REC_FREE;
        r->next = w->free_head;
        w->free_head = idx;
        w->n_used--;
    }
    return n;
}

int wal_writer_wait(struct wal_writer *w, struct nr_err *err)
{
    /* Each round takes one CQE at least; a record yields a handful. */
    for (uint32_t round = 0; round < 4 * (WRITER_EAGAIN_MAX + 2) * WRITER_DEPTH_MAX; round++) {
        struct io_uring_cqe *cqe;
        int ret;

        if (w->n_ready > 0 || w->n_in_flight == 0)
            return 0;
        drain_cqes(w);
        if (w->n_ready > 0 || w->n_in_flight == 0)
            return 0;
        /* Queued but not flushed writes would never complete: send them. */
        if (io_uring_sq_ready(&w->ring) > 0)
            ret = io_uring_submit_and_wait(&w->ring, 1);
        else
            ret = io_uring_wait_cqe(&w->ring, &cqe);
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -ETIME)
            return nr_errf(err, NR_EREFUSED, "wal writer: waiting for %u writes failed: %s",
                           w->n_in_flight, strerror(-ret));
    }
    return nr_errf(err, NR_EREFUSED,
                   "wal writer: %u writes still in flight after waiting "
                   "for every completion they could yield",
                   w->n_in_flight);
}

/* ---- measuring: WAL_SYNC_AUTO and wal_writer_probe() ---- */

#define PROBE_FILE_LEN (256u * 1024u)
#define PROBE_WRITE_LEN 4096u
#define PROBE_ROUNDS 5u
#define PROBE_WRITES 24u /* per mode per round: about 2.5 ms on this disk */

static uint64_t probe_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Durable 4 KiB overwrites one at a time in w's current mode; ns per
 * write, or a negative errno. */
static int64_t probe_run(struct wal_writer *w, uint32_t slot, const uint8_t *buf)
{
    struct nr_err e;
    uint64_t t0 = probe_now_ns();

    for (uint32_t i = 0; i < PROBE_WRITES; i++) {
        struct wal_done d;
        uint64_t off = (uint64_t)(i % (PROBE_FILE_LEN / PROBE_WRITE_LEN)) * PROBE_WRITE_LEN;

        if (wal_writer_write(w, slot, off, buf, PROBE_WRITE_LEN, i, &e) != 0 ||
            wal_writer_flush(w, &e) != 0)
            return -EIO;
        while (wal_writer_reap(w, &d, 1) == 0)
            if (wal_writer_wait(w, &e) != 0)
                return -EIO;
        if (d.result != 0)
            return d.result;
    }
    return (int64_t)((probe_now_ns() - t0) / PROBE_WRITES);
}

/* A scratch file shaped like a WAL segment: zero-filled and fsynced, then
 * reopened (O_DIRECT when direct) and unlinked at once. fd or -errno. */
static int probe_file(const char *dir, bool direct, uint8_t *zero, char *path, size_t n)
{
    int fd, ret = 0;

    if (snprintf(path, n, "%s/.wal-writer-probe-%ld-%d", dir, (long)getpid(), direct) >= (int)n)
        return -ENAMETOOLONG;
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    memset(zero, 0, PROBE_FILE_LEN);
    if (pwrite(fd, zero, PROBE_FILE_LEN, 0) != (ssize_t)PROBE_FILE_LEN || fdatasync(fd) != 0)
        ret = -(errno != 0 ? errno : EIO);
    else /* cached pages would send O_DIRECT writes the slow way */
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    fd = ret == 0 ? open(path, O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0)) : ret;
    if (fd < 0 && ret == 0)
        ret = -errno;
    unlink(path);
    return ret != 0 ? ret : fd;
}

/* Measures each writer (one per file mode) in both sync modes, all
 * interleaved for PROBE_ROUNDS; ns[i][m] is writer i's fastest round in
 * mode m + 1 (noise on a shared disk only ever slows a round). */
static int probe_measure(struct wal_writer **ws, const bool *direct, uint32_t n_ws, const char *dir,
                         uint64_t ns[][2], struct nr_err *err)
{
    uint8_t *buf = NULL;
    char path[4096];
    int fds[2] = {-1, -1};
    uint32_t slots[2];
    int ret = 0;

    NR_ASSERT(n_ws <= 2);
    if (posix_memalign((void **)&buf, 4096, PROBE_FILE_LEN) != 0)
        return nr_errf(err, NR_ENOMEM, "wal writer: no memory for the probe buffer");
    for (uint32_t i = 0; i < n_ws && ret == 0; i++) {
        fds[i] = probe_file(dir, direct[i], buf, path, sizeof(path));
        if (fds[i] < 0)
            ret = nr_errf(err, NR_EREFUSED,
                          "wal writer: cannot make the probe file %s "
                          "(direct=%d): %s",
                          path, direct[i], strerror(-fds[i]));
        else
            ret = wal_writer_add_file(ws[i], fds[i], &slots[i], err);
        ns[i][0] = ns[i][1] = UINT64_MAX;
    }
    memset(buf, 0xa5, PROBE_WRITE_LEN);
    for (uint32_t round = 0; round < PROBE_ROUNDS && ret == 0; round++) {
        for (uint32_t k = 0; k < 2 * n_ws && ret == 0; k++) {
            uint32_t i = k / 2, m = (k + round) % 2; /* alternate which mode goes first */
            struct storage_faults *faults = ws[i]->faults;
            int64_t t;

            ws[i]->faults = NULL; /* the probe is not the tests' I/O */
            ws[i]->mode = m == 0 ? WAL_SYNC_DSYNC_WRITE : WAL_SYNC_LINKED_FSYNC;
            t = probe_run(ws[i], slots[i], buf);
            ws[i]->faults = faults;
            if (t < 0)
                ret = nr_errf(err, NR_EREFUSED,
                              "wal writer: probing %s writes (direct=%d) "
                              "in %s failed: %s",
                              wal_sync_mode_name(ws[i]->mode), direct[i], dir, strerror((int)-t));
            else if ((uint64_t)t < ns[i][m])
                ns[i][m] = (uint64_t)t;
        }
    }
    for (uint32_t i = 0; i < n_ws; i++) {
        if (ret == 0)
            wal_writer_remove_file(ws[i], slots[i]); /* a failure leaves ws to destroy */
        if (fds[i] >= 0)
            close(fds[i]);
    }
    free(buf);
    return ret;
}

static int probe_pick_mode(struct wal_writer *w, const char *dir, struct nr_err *err)
{
    uint64_t ns[1][2];
    int ret = probe_measure(&w, &w->direct, 1, dir, ns, err);

    if (ret == 0)
        w->mode = ns[0][0] <= ns[0][1] ? WAL_SYNC_DSYNC_WRITE : WAL_SYNC_LINKED_FSYNC;
    return ret;
}

int wal_writer_probe(const char *dir, struct wal_writer_probe_result *out, struct nr_err *err)
{
    struct wal_writer_opts o = {.queue_depth = 2, .sync_mode = WAL_SYNC_DSYNC_WRITE};
    struct wal_writer *ws[2] = {NULL, NULL};
    const bool direct[2] = {false, true};
    uint64_t ns[2][2];
    int ret = 0;

    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i < 2 && ret == 0; i++) {
        o.direct = direct[i];
        ret = wal_writer_create(&o, &ws[i], err);
    }
    if (ret == 0)
        ret = probe_measure(ws, direct, 2, dir, ns, err);
    if (ret == 0) {
        uint32_t best_i = 0, best_m = 0;

        for (uint32_t i = 0; i < 2; i++)
            for (uint32_t m = 0; m < 2; m++) {
                out->ns_per_write[i][m] = ns[i][m];
                if (ns[i][m] < ns[best_i][best_m])
                    best_i = i, best_m = m;
            }
        out->direct = direct[best_i];
        out->sync_mode = best_m == 0 ? WAL_SYNC_DSYNC_WRITE : WAL_SYNC_LINKED_FSYNC;
    }
    wal_writer_destroy(ws[0]);
    wal_writer_destroy(ws[1]);
    return ret;
}

int wal_writer_fd(const struct wal_writer *w)
{
    return w->ring.ring_fd;
}
