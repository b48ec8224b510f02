/* storage_fault.h - fault injection for the storage layer's tests: fail the
 * n-th write or sync with an errno, tear a write at a byte. Compiled in
 * when NICRAFT_FAULT_INJECTION is defined (the test build of storage/);
 * production callers pass no plan (NULL) and the hooks cost one branch. */
#ifndef NICRAFT_STORAGE_FAULT_H
#define NICRAFT_STORAGE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

/* A plan, owned by the test, shared by the writers that are given it. All
 * counts start at 1; 0 disables that fault. */
struct storage_faults {
    uint64_t fail_write_nth; /* this write fails ... */
    int write_errno;         /* ... with this errno (EIO, ENOSPC) */
    uint64_t fail_sync_nth;  /* this sync (fdatasync, RWF_DSYNC, linked fsync) fails */
    int sync_errno;
    uint64_t tear_write_nth; /* this write reaches the disk only in part ... */
    uint32_t tear_at_byte;   /* ... its first tear_at_byte bytes, then fails EIO */
    /* Counters, advanced by the hooks. */
    uint64_t n_writes;
    uint64_t n_syncs;
};

/* Called before each write of *len bytes. 0: write *len bytes (a tear
 * lowers *len, and the caller then reports the write failed with EIO after
 * writing them); or a negative errno: fail without writing. f may be NULL. */
int storage_fault_write(struct storage_faults *f, uint32_t *len, bool *torn);
/* Called before each sync: 0, or a negative errno to report instead. */
int storage_fault_sync(struct storage_faults *f);
/* Flips bit (0-7) of the byte at offset in the file at path: 0 or -errno. */
int storage_fault_flip_bit(const char *path, uint64_t offset, unsigned bit);

#endif
