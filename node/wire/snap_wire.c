/* snap_wire.c - snapshot chunks and acks (snap_wire.h). One set of field
 * rules serves both directions: the encoder refuses what the decoder on
 * the other side would refuse, so a bug here shows up at the sender. */
#include "snap_wire.h"

#include <inttypes.h>
#include <string.h>

#include "crc.h"
#include "nr_le.h"
#include "raft.h"

/* The rules of the chunk's fields (everything but the bytes and CRC). */
static int check_chunk(const struct snap_chunk *c, uint64_t total_max, struct nr_err *err)
{
    if (c->stream_id == 0 || c->leader_id == RAFT_ID_NONE)
        return nr_errf(err, NR_EINVAL,
                       "snapshot chunk: stream %016" PRIx64 " from leader %016" PRIx64
                       "; both must be non-zero",
                       c->stream_id, c->leader_id);
    if (c->leader_term == 0 || c->leader_term > RAFT_TERM_MAX)
        return nr_errf(err, NR_EINVAL, "snapshot chunk: leader term %" PRIu64 " is not 1..%" PRIu64,
                       c->leader_term, RAFT_TERM_MAX);
    if (c->snap_index == 0 || c->snap_index > RAFT_INDEX_MAX)
        return nr_errf(err, NR_EINVAL,
                       "snapshot chunk: snapshot index %" PRIu64 " is not 1..%" PRIu64,
                       c->snap_index, RAFT_INDEX_MAX);
    if (c->snap_term == 0 || c->snap_term > c->leader_term)
        return nr_errf(err, NR_EINVAL,
                       "snapshot chunk: snapshot term %" PRIu64 " is not 1..%" PRIu64
                       " (the leader's term)",
                       c->snap_term, c->leader_term);
    if (c->total_len > total_max)
        return nr_errf(err, NR_EINVAL,
                       "snapshot chunk: total length %" PRIu64
                       " bytes is beyond the bound of %" PRIu64,
                       c->total_len, total_max);
    if (c->chunk_len > SNAP_CHUNK_LEN_MAX)
        return nr_errf(err, NR_EINVAL, "snapshot chunk: %" PRIu32 " bytes; at most %u per chunk",
                       c->chunk_len, SNAP_CHUNK_LEN_MAX);
    if (c->offset > c->total_len || c->chunk_len > c->total_len - c->offset)
        return nr_errf(err, NR_EINVAL,
                       "snapshot chunk: offset %" PRIu64 " + %" PRIu32
                       " bytes goes beyond the total length %" PRIu64,
                       c->offset, c->chunk_len, c->total_len);
    if (c->chunk_len == 0 && c->total_len != 0)
        return nr_errf(err, NR_EINVAL,
                       "snapshot chunk: empty chunk at offset %" PRIu64 " of %" PRIu64
                       " bytes; only an empty snapshot has one",
                       c->offset, c->total_len);
    return 0;
}

int snap_chunk_encode(const struct snap_chunk *c, uint64_t total_max, uint8_t *buf, uint32_t cap,
                      struct nr_err *err)
{
    int rc = check_chunk(c, total_max, err);
    if (rc != 0)
        return rc;
    if (c->chunk_len > 0 && c->data == NULL)
        return nr_errf(err, NR_EINVAL, "snapshot chunk: %" PRIu32 " bytes but no data",
                       c->chunk_len);
    if (cap < SNAP_CHUNK_HDR_LEN || c->chunk_len > cap - SNAP_CHUNK_HDR_LEN)
        return nr_errf(err, NR_EBUSY,
                       "snapshot chunk: %u + %" PRIu32 " bytes do not fit the %" PRIu32
                       "-byte buffer",
                       SNAP_CHUNK_HDR_LEN, c->chunk_len, cap);
    uint8_t *data = buf + SNAP_CHUNK_HDR_LEN;
    if (c->chunk_len > 0 && c->data != data)
        memmove(data, c->data, c->chunk_len);
    memset(buf, 0, SNAP_CHUNK_HDR_LEN);
    buf[0] = SNAP_WIRE_VERSION;
    nr_put_le32(buf + 4, c->chunk_len);
    nr_put_le64(buf + 8, c->stream_id);
    nr_put_le64(buf + 16, c->leader_term);
    nr_put_le64(buf + 24, c->leader_id);
    nr_put_le64(buf + 32, c->snap_index);
    nr_put_le64(buf + 40, c->snap_term);
    nr_put_le64(buf + 48, c->total_len);
    nr_put_le64(buf + 56, c->offset);
    nr_put_le32(buf + 64, nr_crc32c(0, data, c->chunk_len));
    return (int)(SNAP_CHUNK_HDR_LEN + c->chunk_len);
}

int snap_chunk_decode(const uint8_t *buf, uint32_t len, uint64_t total_max, struct snap_chunk *out,
                      struct nr_err *err)
{
    if (len < SNAP_CHUNK_HDR_LEN)
        return nr_errf(err, NR_EINVAL,
                       "snapshot chunk: %" PRIu32 " bytes, shorter than the %u-byte header", len,
                       SNAP_CHUNK_HDR_LEN);
    if (buf[0] != SNAP_WIRE_VERSION)
        return nr_errf(err, NR_EINVAL, "snapshot chunk: version %u; this node speaks %u", buf[0],
                       SNAP_WIRE_VERSION);
    if (buf[1] != 0 || buf[2] != 0 || buf[3] != 0 || nr_get_le32(buf + 68) != 0)
        return nr_errf(err, NR_EINVAL,
                       "snapshot chunk: reserved bytes 1..3 (%u %u %u) or 68..71 (0x%08" PRIx32
                       ") not zero",
                       buf[1], buf[2], buf[3], nr_get_le32(buf + 68));
    out->chunk_len = nr_get_le32(buf + 4);
    if (out->chunk_len != len - SNAP_CHUNK_HDR_LEN)
        return nr_errf(err, NR_EINVAL,
                       "snapshot chunk: header says %" PRIu32 " bytes, %" PRIu32 " follow it",
                       out->chunk_len, len - SNAP_CHUNK_HDR_LEN);
    out->stream_id = nr_get_le64(buf + 8);
    out->leader_term = nr_get_le64(buf + 16);
    out->leader_id = nr_get_le64(buf + 24);
    out->snap_index = nr_get_le64(buf + 32);
    out->snap_term = nr_get_le64(buf + 40);
    out->total_len = nr_get_le64(buf + 48);
    out->offset = nr_get_le64(buf + 56);
    out->crc32c = nr_get_le32(buf + 64);
    out->data = buf + SNAP_CHUNK_HDR_LEN;
    int rc = check_chunk(out, total_max, err);
    if (rc != 0)
        return rc;
    uint32_t crc = nr_crc32c(0, out->data, out->chunk_len);
    if (crc != out->crc32c)
        return nr_errf(err, NR_ECORRUPT,
                       "snapshot chunk: stream %016" PRIx64 " offset %" PRIu64
                       ": CRC32C of %" PRIu32 " bytes is 0x%08" PRIx32
                       ", the chunk says 0x%08" PRIx32,
                       out->stream_id, out->offset, out->chunk_len, crc, out->crc32c);
    return 0;
}

/* ---- acks ---- */

static int check_ack(const struct snap_ack *a, struct nr_err *err)
{
    if (a->status < SNAP_ACK_OK || a->status > SNAP_ACK_ABORT)
        return nr_errf(err, NR_EINVAL, "snapshot ack: status %" PRIu32 " is not %u..%u", a->status,
                       SNAP_ACK_OK, SNAP_ACK_ABORT);
    if (a->status == SNAP_ACK_ABORT &&
        (a->reason == SNAP_ABORT_NONE || a->reason > SNAP_ABORT_REASON_MAX))
        return nr_errf(err, NR_EINVAL, "snapshot ack: abort reason %" PRIu32 " is not 1..%u",
                       a->reason, SNAP_ABORT_REASON_MAX);
    if (a->status != SNAP_ACK_ABORT && a->reason != SNAP_ABORT_NONE)
        return nr_errf(err, NR_EINVAL,
                       "snapshot ack: status %s with abort reason %" PRIu32 "; want 0",
                       snap_ack_status_name(a->status), a->reason);
    if (a->stream_id == 0)
        return nr_errf(err, NR_EINVAL, "snapshot ack: stream ID 0");
    if (a->term == 0 || a->term > RAFT_TERM_MAX || a->snap_term == 0 ||
        a->snap_term > RAFT_TERM_MAX)
        return nr_errf(err, NR_EINVAL,
                       "snapshot ack: term %" PRIu64 " or snapshot term %" PRIu64
                       " is not 1..%" PRIu64,
                       a->term, a->snap_term, RAFT_TERM_MAX);
    if (a->snap_index == 0 || a->snap_index > RAFT_INDEX_MAX)
        return nr_errf(err, NR_EINVAL,
                       "snapshot ack: snapshot index %" PRIu64 " is not 1..%" PRIu64, a->snap_index,
                       RAFT_INDEX_MAX);
    return 0;
}

int snap_ack_encode(const struct snap_ack *a, uint8_t *buf, uint32_t cap, struct nr_err *err)
{
    int rc = check_ack(a, err);
    if (rc != 0)
        return rc;
    if (cap < SNAP_ACK_LEN)
        return nr_errf(err, NR_EBUSY,
                       "snapshot ack: %u bytes do not fit the %" PRIu32 "-byte buffer",
                       SNAP_ACK_LEN, cap);
    memset(buf, 0, 8);
    buf[0] = SNAP_WIRE_VERSION;
    buf[1] = (uint8_t)a->status;
    buf[2] = (uint8_t)a->reason;
    nr_put_le64(buf + 8, a->stream_id);
    nr_put_le64(buf + 16, a->term);
    nr_put_le64(buf + 24, a->snap_index);
    nr_put_le64(buf + 32, a->snap_term);
    nr_put_le64(buf + 40, a->next_offset);
    return (int)SNAP_ACK_LEN;
}

int snap_ack_decode(const uint8_t *buf, uint32_t len, struct snap_ack *out, struct nr_err *err)
{
    if (len != SNAP_ACK_LEN)
        return nr_errf(err, NR_EINVAL, "snapshot ack: %" PRIu32 " bytes; want exactly %u", len,
                       SNAP_ACK_LEN);
    if (buf[0] != SNAP_WIRE_VERSION)
        return nr_errf(err, NR_EINVAL, "snapshot ack: version %u; this node speaks %u", buf[0],
                       SNAP_WIRE_VERSION);
    for (unsigned i = 3; i < 8; i++) {
        if (buf[i] != 0)
            return nr_errf(err, NR_EINVAL, "snapshot ack: reserved byte %u is %u, want 0", i,
                           buf[i]);
    }
    out->status = buf[1];
    out->reason = buf[2];
    out->stream_id = nr_get_le64(buf + 8);
    out->term = nr_get_le64(buf + 16);
    out->snap_index = nr_get_le64(buf + 24);
    out->snap_term = nr_get_le64(buf + 32);
    out->next_offset = nr_get_le64(buf + 40);
    return check_ack(out, err);
}

const char *snap_ack_status_name(uint32_t status)
{
    switch (status) {
    case SNAP_ACK_OK: return "OK";
    case SNAP_ACK_DONE: return "DONE";
    case SNAP_ACK_ABORT: return "ABORT";
    default: return "UNKNOWN";
    }
}

const char *snap_abort_reason_name(uint32_t reason)
{
    static const char *const names[] = {"none",      "bad-crc",    "out-of-order",
                                        "too-large", "disk-error", "stale"};
    return reason <= SNAP_ABORT_REASON_MAX ? names[reason] : "unknown";
}
