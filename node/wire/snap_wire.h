/* snap_wire.h - snapshot streaming between the leader's control thread and
 * a follower: the leader sends the snapshot file in chunks (kind
 * NR_KIND_SNAP_CHUNK), the follower answers each with an ack (kind
 * NR_KIND_SNAP_ACK) naming the next offset it wants, so the leader
 * resends from there (go-back-N) or stops. libc and CRC32C only, no
 * allocation: decoded chunk bytes point into the received buffer.
 *
 * A transfer is named by a stream ID, random and non-zero per transfer:
 * chunks and acks of an aborted or older transfer of the same snapshot
 * are told apart and dropped.
 *
 * Chunk, little-endian (nr_le.h), version 1, SNAP_CHUNK_HDR_LEN bytes then
 * the chunk's bytes:
 *
 *   offset size  field
 *    0      1    version          SNAP_WIRE_VERSION
 *    1      3    reserved         zero
 *    4      4    chunk_len        bytes after the header, exactly; 1 ..
 *                                 SNAP_CHUNK_LEN_MAX (0 only for an empty
 *                                 snapshot: total_len 0, offset 0)
 *    8      8    stream_id        non-zero
 *   16      8    leader_term      1 .. RAFT_TERM_MAX
 *   24      8    leader_id        non-zero
 *   32      8    snap_index       1 .. RAFT_INDEX_MAX
 *   40      8    snap_term        1 .. leader_term
 *   48      8    total_len        the whole snapshot file; <= the receiver's bound
 *   56      8    offset           offset + chunk_len <= total_len
 *   64      4    crc32c           nr_crc32c(0, chunk bytes, chunk_len)
 *   68      4    reserved         zero
 *
 * The CRC is checked by snap_chunk_decode itself (CRC32C runs at tens of
 * GB/s here, so there is no reason to let a caller forget it), with its own
 * error code so that the follower can answer SNAP_ABORT_BAD_CRC.
 *
 * Ack, version 1, SNAP_ACK_LEN bytes:
 *
 *    0      1    version          SNAP_WIRE_VERSION
 *    1      1    status           enum snap_ack_status
 *    2      1    reason           enum snap_abort_reason: non-zero exactly when ABORT
 *    3      5    reserved         zero
 *    8      8    stream_id        the chunk's; non-zero
 *   16      8    term             the follower's current term, 1 .. RAFT_TERM_MAX
 *   24      8    snap_index       the chunk's; 1 .. RAFT_INDEX_MAX
 *   32      8    snap_term        the chunk's; 1 .. RAFT_TERM_MAX
 *   40      8    next_offset      every byte below it is received (cumulative);
 *                                 DONE: the total length
 */
#ifndef NICRAFT_SNAP_WIRE_H
#define NICRAFT_SNAP_WIRE_H

#include <stdint.h>

#include "nr_err.h"

#define SNAP_WIRE_VERSION 1u
#define SNAP_CHUNK_HDR_LEN 72u
#define SNAP_CHUNK_LEN_MAX (1u << 20)
#define SNAP_ACK_LEN 48u

/* One chunk. data points to chunk_len bytes: the caller's when encoding,
 * into the received buffer when decoded. */
struct snap_chunk {
    uint64_t stream_id;
    uint64_t leader_term;
    uint64_t leader_id;
    uint64_t snap_index;
    uint64_t snap_term;
    uint64_t total_len;
    uint64_t offset;
    uint32_t chunk_len;
    uint32_t crc32c; /* decoded: the stored (and verified) value; ignored when encoding */
    const uint8_t *data;
};

enum snap_ack_status {
    SNAP_ACK_OK = 1,    /* bytes below next_offset received; send on */
    SNAP_ACK_DONE = 2,  /* the snapshot is installed (and durable) */
    SNAP_ACK_ABORT = 3, /* the follower dropped the transfer; reason says why */
};

enum snap_abort_reason {
    SNAP_ABORT_NONE = 0,         /* with OK and DONE only */
    SNAP_ABORT_BAD_CRC = 1,      /* a chunk's bytes did not match its CRC */
    SNAP_ABORT_OUT_OF_ORDER = 2, /* a chunk not at next_offset, beyond what a resend fixes */
    SNAP_ABORT_TOO_LARGE = 3,    /* total_len beyond the follower's bound or free space */
    SNAP_ABORT_DISK_ERROR = 4,   /* writing or syncing the file failed */
    SNAP_ABORT_STALE = 5,        /* an older term or snapshot than the follower has */
};
#define SNAP_ABORT_REASON_MAX SNAP_ABORT_STALE

struct snap_ack {
    uint64_t stream_id;
    uint64_t term;
    uint64_t snap_index;
    uint64_t snap_term;
    uint64_t next_offset;
    uint32_t status; /* enum snap_ack_status */
    uint32_t reason; /* enum snap_abort_reason */
};

/* Encodes c into buf[0..cap), computing the CRC of c->data. c->data may
 * already sit at buf + SNAP_CHUNK_HDR_LEN (read from the file in place):
 * then nothing is copied. Returns the length (SNAP_CHUNK_HDR_LEN +
 * chunk_len), NR_EINVAL naming the field when c breaks a rule of the
 * format, NR_EBUSY when cap is too small. total_max bounds total_len as on
 * the receiving side. */
int snap_chunk_encode(const struct snap_chunk *c, uint64_t total_max, uint8_t *buf, uint32_t cap,
                      struct nr_err *err);

/* Decodes buf[0..len) from a peer into *out (out->data points into buf).
 * 0; NR_EINVAL naming the field and numbers for a malformed chunk
 * (including total_len above total_max, the receiver's bound); NR_ECORRUPT
 * when everything is well-formed but the CRC does not match (answer
 * SNAP_ABORT_BAD_CRC, or wait for a resend). Never reads outside buf. */
int snap_chunk_decode(const uint8_t *buf, uint32_t len, uint64_t total_max, struct snap_chunk *out,
                      struct nr_err *err);

/* Encodes a into buf (at least SNAP_ACK_LEN bytes). Returns SNAP_ACK_LEN,
 * or NR_EINVAL naming the field when a breaks a rule of the format. */
int snap_ack_encode(const struct snap_ack *a, uint8_t *buf, uint32_t cap, struct nr_err *err);

/* Decodes buf[0..len) into *out: 0 or NR_EINVAL naming the field. */
int snap_ack_decode(const uint8_t *buf, uint32_t len, struct snap_ack *out, struct nr_err *err);

const char *snap_ack_status_name(uint32_t status);
const char *snap_abort_reason_name(uint32_t reason);

#endif
