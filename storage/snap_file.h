/* snap_file.h - snapshot files: a header (cluster, member, index, term,
 * configuration), the state machine's bytes, a CRC32C trailer. Written to a
 * temporary file in chunks, fsynced, renamed into place, the directory
 * fsynced; read back in chunks (they are streamed to learners) after the
 * whole file was verified. Blocking I/O: the control thread's, never a
 * poller's. */
#ifndef NICRAFT_SNAP_FILE_H
#define NICRAFT_SNAP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "nr_err.h"
#include "raft.h"
#include "storage_fault.h"

struct snap_header {
    uint64_t cluster_id;
    uint64_t member_id;
    struct raft_snap_meta meta; /* index, term, configuration */
    uint64_t data_len;          /* state-machine bytes */
};

struct snap_writer;
struct snap_reader;

/* Starts dir/snap-<term>-<index>.snap.tmp. faults: tests only, else NULL. */
int snap_writer_open(const char *dir, const struct snap_header *h, struct storage_faults *faults,
                     struct snap_writer **out, struct nr_err *err);
int snap_writer_append(struct snap_writer *w, const void *chunk, size_t len, struct nr_err *err);
/* Exactly data_len bytes appended: trailer, fsync, rename, directory fsync;
 * *path_out (if not NULL, path_len bytes) gets the final path. Frees w. */
int snap_writer_commit(struct snap_writer *w, char *path_out, size_t path_len,
                       struct nr_err *err);
/* Removes the temporary file and frees w. */
void snap_writer_abort(struct snap_writer *w);

/* Opens and verifies a snapshot (magic, version, sizes, CRC over the whole
 * file, cluster and member IDs when non-zero): 0, or NR_ECORRUPT / NR_EINVAL
 * naming the file, the offset and what is wrong. */
int snap_reader_open(const char *path, uint64_t cluster_id, uint64_t member_id,
                     struct snap_reader **out, struct snap_header *h, struct nr_err *err);
/* Reads up to max state-machine bytes; *n is 0 at the end. */
int snap_reader_read(struct snap_reader *r, void *buf, size_t max, size_t *n, struct nr_err *err);
void snap_reader_close(struct snap_reader *r);

/* The newest snapshot in dir that verifies (an older one if the newest is
 * damaged, saying so in *warn if not NULL); NR_ERANGE when there is none. */
int snap_find_latest(const char *dir, uint64_t cluster_id, uint64_t member_id, char *path,
                     size_t path_len, struct nr_err *warn, struct nr_err *err);
/* Deletes snapshots older than the newest keep ones, and stale .tmp files. */
int snap_gc(const char *dir, uint32_t keep, struct nr_err *err);

#endif
