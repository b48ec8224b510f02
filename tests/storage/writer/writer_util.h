/* writer_util.h - what the writer tests share: a temporary directory under
 * /tmp, pre-zeroed files, writing a batch through the writer to the end,
 * reading a file back. */
#ifndef NICRAFT_WRITER_UTIL_H
#define NICRAFT_WRITER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wal_writer.h"

#define WT_DONE_MAX 256u

/* Makes /tmp/nicraft-writer-XXXXXX; the path is kept in a static buffer. */
const char *wt_tmpdir(void);
/* Removes every file in the directory, then the directory. */
void wt_tmpdir_remove(void);
/* Creates dir/name of len zero bytes, fsynced; reopened with extra_flags
 * (O_DIRECT, ...). The descriptor, or -1. */
int wt_zero_file(const char *name, uint64_t len, int extra_flags);
/* Reads len bytes at off of dir/name into buf (page cache or disk). */
bool wt_read_back(const char *name, uint64_t off, void *buf, size_t len);
/* Waits and reaps until n completions were collected into done (n <=
 * WT_DONE_MAX) or the writer has nothing in flight; returns how many. */
uint32_t wt_collect(struct wal_writer *w, struct wal_done *done, uint32_t n);
/* Aligned memory for O_DIRECT (4096), zero-filled; aborts if none. */
void *wt_alloc(size_t len);

#endif
