/* storage_fault.c - the fault-injection hooks of storage_fault.h.
 *
 * A plan (struct storage_faults) belongs to the test; the writers it is
 * given call storage_fault_write() before each write and storage_fault_sync()
 * before each sync. The counters advance atomically, so several writers (the
 * io_uring writer on a poller, the snapshot writer on the control thread) may
 * share one plan and each n-th operation is still picked exactly once.
 *
 * Without NICRAFT_FAULT_INJECTION (a production build of storage/) the hooks
 * ignore the plan: one branch, nothing injected. storage_fault_flip_bit() is
 * a test helper that touches only the file it is given, so it is always
 * compiled. */
#include "storage_fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

#ifdef NICRAFT_FAULT_INJECTION
/* The errno a plan asks for, or EIO when it left it 0 (0 would read as
 * success to the caller, which is never what a test that set _nth meant). */
static int fault_errno(int e)
{
    if (e < 0)
        return e;
    return e == 0 ? -EIO : -e;
}
#endif

int storage_fault_write(struct storage_faults *f, uint32_t *len, bool *torn)
{
    if (torn != NULL)
        *torn = false;
    if (f == NULL)
        return 0;
#ifdef NICRAFT_FAULT_INJECTION
    /* Counts start at 1: the first write is n_writes == 1. */
    uint64_t n = __atomic_add_fetch(&f->n_writes, 1, __ATOMIC_RELAXED);

    if (f->fail_write_nth != 0 && n == f->fail_write_nth)
        return fault_errno(f->write_errno);
    if (f->tear_write_nth != 0 && n == f->tear_write_nth) {
        /* Only the first tear_at_byte bytes reach the disk; the caller
         * writes *len bytes and then reports the write failed (EIO). */
        if (len != NULL && *len > f->tear_at_byte)
            *len = f->tear_at_byte;
        if (torn != NULL)
            *torn = true;
    }
#else
    (void)len;
#endif
    return 0;
}

int storage_fault_sync(struct storage_faults *f)
{
    if (f == NULL)
        return 0;
#ifdef NICRAFT_FAULT_INJECTION
    uint64_t n = __atomic_add_fetch(&f->n_syncs, 1, __ATOMIC_RELAXED);

    if (f->fail_sync_nth != 0 && n == f->fail_sync_nth)
        return fault_errno(f->sync_errno);
#endif
    return 0;
}

/* -EINVAL: bit above 7; -ERANGE: offset at or past the end of the file;
 * else the -errno of open, pread or pwrite. The change is written through
 * the page cache (not synced): what a reader of the file sees next. */
int storage_fault_flip_bit(const char *path, uint64_t offset, unsigned bit)
{
    unsigned char b;
    int rc = 0;

    if (bit > 7)
        return -EINVAL;
    if (offset > (uint64_t)INT64_MAX)
        return -ERANGE;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = pread(fd, &b, 1, (off_t)offset);
    if (n < 0) {
        rc = -errno;
        goto out_close;
    }
    if (n == 0) {
        rc = -ERANGE;
        goto out_close;
    }
    b ^= (unsigned char)(1u << bit);
    n = pwrite(fd, &b, 1, (off_t)offset);
    if (n < 0)
        rc = -errno;
    else if (n != 1)
        rc = -EIO;
out_close:
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    return rc;
}
