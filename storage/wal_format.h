/* wal_format.h - the on-disk layout of WAL segments, version 1.
 *
 * Everything is little-endian and written through the nr_put/get_le
 * helpers (common/nr_le.h), never by copying structs, so the layout does not depend on the
 * compiler. A segment is a fixed-size file, zero-filled and fsynced ahead of
 * time (wal_segment.c):
 *
 *     offset 0      segment header block (WAL_BLOCK bytes): one
 *                   WAL_REC_SEGMENT record, zero padding
 *     offset 512    batch, batch, ... each a multiple of WAL_BLOCK bytes
 *     ...           zeros (never written), or records of an earlier use of
 *                   the file (recycled: their tag differs)
 *
 * A batch is what one wal_submit() wrote in ONE write: a WAL_REC_BATCH
 * record, then its records (snapshot marker, entries, hard state, in the
 * order of struct raft_output), then zeros up to the batch's length. Every
 * record is
 *
 *     u32 crc    CRC32C (nr_crc32c) over bytes 4..16 of this header, then
 *                the payload
 *     u16 type   enum wal_rec_type; 0 never starts a record (zeros)
 *     u16 flags  0 in version 1
 *     u32 len    payload bytes that follow the header
 *     u32 tag    the low 32 bits of the segment's sequence number: a
 *                record left by an earlier use of a recycled file carries
 *                another tag and is never taken for part of this one
 *
 * and takes WAL_REC_HDR + len bytes rounded up to 8. A record's payload
 * layout is given by the WAL_*_OFF_* offsets below.
 *
 * The first batch of every segment starts with the current snapshot marker
 * and hard state, so a segment stands alone once the ones before it are
 * compacted away. Replay rules (wal_replay.c): an entry at or below the
 * last index cuts the log there; a marker whose own (index, term) the log
 * holds keeps the entries after it, any other newer marker drops them all.
 *
 * After the last batch of a segment come zeros, or bytes of the file's
 * earlier use (recycled segments are not rewritten, only their header
 * block is zeroed): a batch of another tag, or bytes that check as nothing.
 * So a bad record that ends a segment others follow is damage only if the
 * next segment does not start where it ends.
 *
 * Why batches carry durable_off: a batch may be issued while the previous
 * one is still in flight. After a crash the earlier one can be torn while
 * the later one reached the disk; the later one then has durable_off at or
 * below the torn batch's offset (nothing at or after it had been reported
 * durable when it was issued), so neither was acknowledged and both are cut
 * off. A valid batch whose durable_off lies beyond a bad one proves the bad
 * one was acknowledged: that is corruption, and start-up is refused. */
#ifndef NICRAFT_WAL_FORMAT_H
#define NICRAFT_WAL_FORMAT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nr_le.h"

#define WAL_FORMAT_VERSION 1u
#define WAL_SEGMENT_MAGIC UINT64_C(0x314c41577466726e) /* "nrftWAL1" read LE */
#define WAL_BLOCK 512u  /* O_DIRECT unit: offsets and lengths are multiples */
#define WAL_BUF_ALIGN 4096u /* batch buffers: the device's physical block */

enum wal_rec_type {
    WAL_REC_SEGMENT = 1, /* segment header, at offset 0 only */
    WAL_REC_BATCH = 2,   /* starts every batch */
    WAL_REC_ENTRY = 3,   /* one log entry */
    WAL_REC_HARD = 4,    /* hard state: term, vote, commit */
    WAL_REC_SNAP = 5,    /* snapshot marker: index, term, configuration */
};

#define WAL_REC_HDR 16u
#define WAL_REC_ALIGN 8u

/* WAL_REC_SEGMENT payload. */
#define WAL_SEG_OFF_MAGIC 0
#define WAL_SEG_OFF_VERSION 8
#define WAL_SEG_OFF_GROUP 12
#define WAL_SEG_OFF_CLUSTER 16
#define WAL_SEG_OFF_MEMBER 24
#define WAL_SEG_OFF_SEQ 32      /* position in the group's chain, from 1 */
#define WAL_SEG_OFF_FIRST 40    /* the first index this segment may hold */
#define WAL_SEG_OFF_SIZE 48     /* the file's fixed size in bytes */
#define WAL_SEG_PAYLOAD 56u

/* WAL_REC_BATCH payload. */
#define WAL_BATCH_OFF_SEQ 0         /* batch number in this segment, from 1 */
#define WAL_BATCH_OFF_DURABLE 8     /* segment offset durable when issued */
#define WAL_BATCH_OFF_LEN 16        /* whole batch, header and padding */
#define WAL_BATCH_OFF_NREC 20       /* records after the batch record */
#define WAL_BATCH_PAYLOAD 24u

/* WAL_REC_ENTRY payload: this header, then the entry's data. */
#define WAL_ENTRY_OFF_TERM 0
#define WAL_ENTRY_OFF_INDEX 8
#define WAL_ENTRY_OFF_GROUP 16
#define WAL_ENTRY_OFF_TYPE 20
#define WAL_ENTRY_HDR 24u

/* WAL_REC_HARD payload. */
#define WAL_HARD_OFF_TERM 0
#define WAL_HARD_OFF_VOTE 8
#define WAL_HARD_OFF_COMMIT 16
#define WAL_HARD_PAYLOAD 24u

/* WAL_REC_SNAP payload: index, term, the four counts and auto_leave, then
 * every id slot of struct raft_conf (unused slots zero). */
#define WAL_SNAP_OFF_INDEX 0
#define WAL_SNAP_OFF_TERM 8
#define WAL_SNAP_OFF_COUNTS 16 /* u32 n_voters, n_voters_outgoing, n_learners,
                                  n_learners_next, auto_leave, reserved */
#define WAL_SNAP_OFF_IDS 40
#define WAL_SNAP_N_IDS (2u * 9u + 2u * 8u) /* RAFT_VOTERS_MAX, RAFT_LEARNERS_MAX */
#define WAL_SNAP_PAYLOAD (WAL_SNAP_OFF_IDS + 8u * WAL_SNAP_N_IDS)

static_assert(WAL_REC_HDR % WAL_REC_ALIGN == 0, "record header keeps alignment");
static_assert(WAL_REC_HDR + WAL_SEG_PAYLOAD <= WAL_BLOCK, "segment header fits its block");
static_assert(WAL_SEG_PAYLOAD == WAL_SEG_OFF_SIZE + 8, "segment payload layout");
static_assert(WAL_BATCH_PAYLOAD == WAL_BATCH_OFF_NREC + 4, "batch payload layout");
static_assert(WAL_ENTRY_HDR == WAL_ENTRY_OFF_TYPE + 4, "entry payload layout");
static_assert(WAL_HARD_PAYLOAD == WAL_HARD_OFF_COMMIT + 8, "hard state payload layout");
static_assert(WAL_SNAP_PAYLOAD == 312, "snapshot marker payload layout");
static_assert(WAL_BUF_ALIGN % WAL_BLOCK == 0, "buffer alignment covers O_DIRECT");


/* Bytes a record with a len-byte payload takes. */
static inline uint64_t wal_rec_size(uint64_t len)
{
    return (WAL_REC_HDR + len + WAL_REC_ALIGN - 1) & ~(uint64_t)(WAL_REC_ALIGN - 1);
}

static inline uint64_t wal_round_block(uint64_t n)
{
    return (n + WAL_BLOCK - 1) & ~(uint64_t)(WAL_BLOCK - 1);
}

/* ---- record encoding and checking (wal_segment.c) ---------------------- */

/* Writes a record header for a payload of len bytes already at p +
 * WAL_REC_HDR, computes its CRC and zeroes the alignment tail. Returns the
 * record's size. The caller has room for wal_rec_size(len) bytes. */
uint32_t wal_rec_seal(uint8_t *p, uint16_t type, uint32_t len, uint32_t tag);
/* As wal_rec_seal for a payload of head_len bytes already at p +
 * WAL_REC_HDR followed by data_len bytes copied there from data (the copy
 * and its CRC in one pass: nr_crc32c_copy). */
uint32_t wal_rec_seal_copy(uint8_t *p, uint16_t type, uint32_t head_len, const void *data,
                           uint32_t data_len, uint32_t tag);

enum wal_rec_check {
    WAL_REC_OK = 0,
    WAL_REC_ZERO,     /* a zero header: nothing was written here */
    WAL_REC_SHORT,    /* the header or payload runs past the end */
    WAL_REC_BAD_CRC,  /* stored and computed CRC differ */
    WAL_REC_BAD_TYPE, /* checksum fine, unknown type or flags */
};

/* Checks the record at p with avail bytes after it: its header, length
 * and CRC. Fills *type, *len, *tag and *crc_stored / *crc_computed when it
 * gets that far. Never trusts the length before checking it. */
enum wal_rec_check wal_rec_check(const uint8_t *p, uint64_t avail, uint16_t *type,
                                 uint32_t *len, uint32_t *tag, uint32_t *crc_stored,
                                 uint32_t *crc_computed);

/* ---- segment header and files (wal_segment.c) -------------------------- */

struct wal_seg_hdr {
    uint32_t version;
    uint32_t group_id;
    uint64_t cluster_id;
    uint64_t member_id;
    uint64_t seq;         /* chain position; a record's tag is its low bits */
    uint64_t first_index;
    uint64_t size;
};

/* Encodes the header block (WAL_BLOCK bytes, zero padded) at p. */
void wal_seg_hdr_encode(uint8_t *p, const struct wal_seg_hdr *h);

enum wal_seg_hdr_check {
    WAL_SEG_HDR_OK = 0,
    WAL_SEG_HDR_UNUSED,  /* all zero: a spare that was never written */
    WAL_SEG_HDR_BAD,     /* not a valid header record (torn or damaged) */
    WAL_SEG_HDR_FOREIGN, /* valid record, another magic or version */
};
/* Decodes the header block at p (avail bytes). */
enum wal_seg_hdr_check wal_seg_hdr_decode(const uint8_t *p, uint64_t avail,
                                          struct wal_seg_hdr *h);

/* Segment file names, for people (replay orders and checks segments by
 * their headers, never by names): a spare is g<group>-spare-<file number>
 * .wal; once used, wal_prepare_segments renames it (off the poller) to
 * g<group>-<first index>-<seq>.wal; 8, 16 and 16 hex digits. */
struct wal_seg_name {
    bool is_spare;
    uint64_t file_no;     /* spares */
    uint64_t first_index; /* used segments */
    uint64_t seq;
};
void wal_seg_spare_path(char *buf, size_t cap, const char *dir, uint32_t group,
                        uint64_t file_no);
void wal_seg_used_path(char *buf, size_t cap, const char *dir, uint32_t group,
                       uint64_t first_index, uint64_t seq);
/* True, with *out, when name is one of group's segment files. */
bool wal_seg_name_parse(const char *name, uint32_t group, struct wal_seg_name *out);

struct nr_err;
/* Creates a spare: a temporary file zero-filled to size bytes, fdatasync,
 * renamed to its name, directory fsynced. Blocking (never on a poller). */
int wal_seg_create(const char *dir, uint32_t group, uint64_t file_no, uint64_t size,
                   struct nr_err *err);
/* Writes zeros over [off, off + len) of the open file and fdatasyncs it. */
int wal_seg_zero(int fd, const char *path, uint64_t off, uint64_t len, struct nr_err *err);
int wal_dir_fsync(const char *dir, struct nr_err *err);

#endif
