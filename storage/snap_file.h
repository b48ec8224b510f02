/* snap_file.h - snapshot files: a header (cluster, member, index, term,
 * configuration), the state machine's bytes, a CRC32C trailer. Written to a
 * temporary file in chunks, fsynced, renamed into place, the directory
 * fsynced; read back in chunks (they are streamed to learners) after the
 * whole file was verified. Blocking I/O: the control thread's, never a
 * poller's. */
#ifndef NICRAFT_SNAP_FILE_H
#define NICRAFT_SNAP_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nr_err.h"
#include "raft.h"
#include "storage_fault.h"

/* On-disk layout, format version 1; every field little-endian (nr_le.h):
 *
 *     0  magic "NRSNAP\r\n" (8 bytes)
 *     8  format version (u32) = SNAP_FORMAT_VERSION
 *    12  header length (u32) = SNAP_HEADER_LEN, the header CRC included
 *    16  cluster ID (u64)
 *    24  member ID (u64)
 *    32  index (u64), at most RAFT_INDEX_MAX
 *    40  term (u64), at most RAFT_TERM_MAX
 *    48  n_voters, n_voters_outgoing, n_learners, n_learners_next (u32 each)
 *    64  auto_leave (u8: 0 or 1), then 7 reserved zero bytes
 *    72  voters[RAFT_VOTERS_MAX] (u64 each; slots past the count are zero)
 *   144  voters_outgoing[RAFT_VOTERS_MAX]
 *   216  learners[RAFT_LEARNERS_MAX]
 *   280  learners_next[RAFT_LEARNERS_MAX]
 *   344  data length (u64)
 *   352  reserved (u32, zero)
 *   356  header CRC32C over bytes 0..355 (u32)
 *   360  data length bytes of the state machine
 *   360 + data length: CRC32C over every byte before it (u32, the trailer)
 *
 * The file is exactly SNAP_HEADER_LEN + data length + SNAP_TRAILER_LEN
 * bytes. The offsets are here for tests that damage a chosen field.
 *
 * The header CRC guards the header, the trailer the data: the CRC of bytes
 * followed by their own CRC is a constant, so the trailer's CRC over the
 * header is the same for every well-signed header and adds nothing there
 * (damage to the header is the header CRC's to find). */
#define SNAP_MAGIC "NRSNAP\r\n"
#define SNAP_FORMAT_VERSION 1u
#define SNAP_HEADER_LEN 360u
#define SNAP_TRAILER_LEN 4u
#define SNAP_OFF_VERSION 8u
#define SNAP_OFF_HEADER_LEN 12u
#define SNAP_OFF_CLUSTER_ID 16u
#define SNAP_OFF_MEMBER_ID 24u
#define SNAP_OFF_INDEX 32u
#define SNAP_OFF_TERM 40u
#define SNAP_OFF_COUNTS 48u
#define SNAP_OFF_AUTO_LEAVE 64u
#define SNAP_OFF_VOTERS 72u
#define SNAP_OFF_VOTERS_OUTGOING 144u
#define SNAP_OFF_LEARNERS 216u
#define SNAP_OFF_LEARNERS_NEXT 280u
#define SNAP_OFF_DATA_LEN 344u
#define SNAP_OFF_RESERVED 352u
#define SNAP_OFF_HEADER_CRC 356u
/* The writer issues writes of at most this many bytes (each one a fault
 * hook call); the reader verifies in reads of this size. */
#define SNAP_IO_CHUNK (1u << 20)
/* Snapshot and temporary files one directory scan handles at most. */
#define SNAP_DIR_FILES_MAX 65536u

struct snap_header {
    uint64_t cluster_id;
    uint64_t member_id;
    struct raft_snap_meta meta; /* index, term, configuration */
    uint64_t data_len;          /* state-machine bytes */
};

struct snap_writer;
struct snap_reader;

/* Writes dir/snap-<term 16 hex>-<index 16 hex>.snap (tmp: with ".tmp"
 * added) into buf: 0, or NR_EINVAL when it does not fit in len bytes. */
int snap_file_path(char *buf, size_t len, const char *dir, uint64_t term, uint64_t index, bool tmp,
                   struct nr_err *err);

/* Errors of the writer: NR_EINVAL for a header out of range (counts above
 * RAFT_VOTERS_MAX / RAFT_LEARNERS_MAX, zero IDs among the counted members,
 * index or term above their maximum), appends past data_len or a commit
 * short of it; NR_EIO for a failed system call (open, write, fsync,
 * rename, the directory's fsync), its errno in the sentence. A failed write
 * or sync is final: the temporary file is removed at once, later appends
 * and the commit return the same error, the previous snapshot stays the
 * newest (a failed fsync may have dropped the pages: never retried).
 *
 * Starts dir/snap-<term>-<index>.snap.tmp (mode 0600) and writes the
 * header. faults: tests only, else NULL. *out is NULL on an error. */
int snap_writer_open(const char *dir, const struct snap_header *h, struct storage_faults *faults,
                     struct snap_writer **out, struct nr_err *err);
int snap_writer_append(struct snap_writer *w, const void *chunk, size_t len, struct nr_err *err);
/* Exactly data_len bytes appended: trailer, fsync, rename, directory fsync;
 * *path_out (if not NULL, path_len bytes) gets the final path. Frees w,
 * whatever it returns; on an error nothing of this snapshot is left (a
 * failed directory fsync removes the renamed file again). */
int snap_writer_commit(struct snap_writer *w, char *path_out, size_t path_len,
                       struct nr_err *err);
/* Removes the temporary file and frees w. */
void snap_writer_abort(struct snap_writer *w);

/* Opens and verifies a snapshot (magic, version, sizes, CRC over the whole
 * file, cluster and member IDs when non-zero): 0, or NR_ECORRUPT / NR_EINVAL
 * naming the file, the offset and what is wrong.
 *   NR_ECORRUPT: bad magic, header length, either CRC, a file shorter or
 *                longer than its header says (truncated, trailing bytes);
 *   NR_EINVAL:   another format version, another cluster's or member's
 *                snapshot, a field out of its range (member counts above
 *                RAFT_VOTERS_MAX / RAFT_LEARNERS_MAX, zero member IDs,
 *                index or term above their maximum, reserved bytes set),
 *                a path that cannot be opened or is not a regular file;
 *   NR_EIO: a read failed (its errno in the sentence).
 * The checks run in that order of cost: the whole-file CRC (one read of
 * the file) only after the header and the sizes agree. *h (if not NULL)
 * gets the header; *out is NULL on an error. */
int snap_reader_open(const char *path, uint64_t cluster_id, uint64_t member_id,
                     struct snap_reader **out, struct snap_header *h, struct nr_err *err);
/* Reads up to max state-machine bytes; *n is 0 at the end. The bytes are
 * checksummed again as they stream: the read that reaches the end returns
 * NR_ECORRUPT (and *n = 0) if the file changed since it was verified. */
int snap_reader_read(struct snap_reader *r, void *buf, size_t max, size_t *n, struct nr_err *err);
void snap_reader_close(struct snap_reader *r);

/* The newest snapshot in dir that verifies (an older one if the newest is
 * damaged, saying so in *warn if not NULL); NR_ERANGE when there is none.
 * Newest: highest index, then highest term; a file whose name disagrees
 * with its header counts as damaged. *warn's code stays 0 without a
 * warning. */
int snap_find_latest(const char *dir, uint64_t cluster_id, uint64_t member_id, char *path,
                     size_t path_len, struct nr_err *warn, struct nr_err *err);
/* Deletes snapshots older than the newest keep ones, and stale .tmp files.
 * Only snapshots that verify count toward keep (so a damaged newest one
 * never costs the good one behind it); damaged ones newer than the kept
 * are left for the operator. keep is at least 1: NR_EINVAL otherwise. Not
 * while a writer is open on dir (its .tmp would go). */
int snap_gc(const char *dir, uint32_t keep, struct nr_err *err);

#endif
