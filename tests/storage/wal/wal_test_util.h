/* wal_test_util.h - what the WAL tests share: a temporary directory, a WAL
 * opened on a real writer (sync by RWF_DSYNC unless told), driving batches
 * until durable, entries with checkable data. */
#ifndef NICRAFT_WAL_TEST_UTIL_H
#define NICRAFT_WAL_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "storage_fault.h"
#include "wal.h"
#include "wal_writer.h"

#define WTU_CLUSTER UINT64_C(0xc1c1c1c1c1c1c1c1)
#define WTU_MEMBER UINT64_C(0x2)
#define WTU_GROUP 7u
#define WTU_DATA_MAX 4096u

/* Makes /tmp/nicraft-wal-XXXXXX (static buffer). */
const char *wtu_tmpdir(void);
/* Removes the files in dir, then dir. */
void wtu_rmdir(const char *dir);

struct wtu {
    struct wal_writer *writer;
    struct wal *wal;
    struct wal_durable durable; /* the last reported */
};

/* Options for dir: small segments (64 KiB), 8 KiB batches, 2 in flight. */
void wtu_opts(struct wal_opts *o, const char *dir);
/* Creates a writer (faults may be NULL) and opens the WAL with o. */
int wtu_open(struct wtu *t, const struct wal_opts *o, struct storage_faults *faults,
             struct nr_err *err);
void wtu_close(struct wtu *t);
/* Submits and reaps until nothing is in flight, preparing segments when
 * the WAL asks. 0 or the WAL's error. */
int wtu_drain(struct wtu *t, struct nr_err *err);
/* wal_append, retried after draining on NR_EBUSY. */
int wtu_append(struct wtu *t, const struct raft_entry *e, uint32_t n,
               const struct raft_hard_state *hs, const struct raft_snap_meta *snap,
               struct nr_err *err);
/* Deterministic entry data for (index, term): len bytes into buf. */
void wtu_fill(uint8_t *buf, uint32_t len, uint64_t index, uint64_t term);
bool wtu_data_ok(const struct raft_entry *e);
/* The size of a file, or 0. */
uint64_t wtu_file_size(const char *path);
/* Overwrites len bytes at off of path with byte v (or flips bit 0 when
 * v < 0). */
void wtu_poke(const char *path, uint64_t off, int v, uint64_t len);

#endif
