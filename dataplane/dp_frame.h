/* dp_frame.h - the nicraft frame codec: the UDP payload of every nicraft
 * datagram, whichever transport carries it (DPDK wraps it in Ethernet, IPv4
 * and UDP itself; dp_udp.c hands it to kernel sockets). libc only, no
 * allocation, no clock: callers own every buffer.
 *
 * Wire format, all fields little-endian (nr_le.h), version 1:
 *
 *   offset size  field
 *    0      4    magic            DP_MAGIC ("NRFT" in memory order)
 *    4      1    version          DP_VERSION
 *    5      1    flags            DP_HDR_F_FRAG, other bits must be zero
 *    6      2    n_msgs           message records in the payload (1 in a fragment)
 *    8      8    cluster_id       the sender's cluster; never zero
 *   16      8    sender_id        member ID of the sender; never zero
 *   24      8    receiver_id      member ID of the receiver, or DP_MEMBER_BROADCAST
 *   32      4    group_id         the raft group of every message in the frame
 *   36      4    payload_len      bytes after the header; header + payload = datagram
 *   40      4    frag_msg_id      fragments: the message's ID (per sender); else 0
 *   44      2    frag_index       fragments: 0 .. frag_count - 1; else 0
 *   46      2    frag_count       fragments: >= 2; else 0
 *   48      4    frag_offset      fragments: byte offset of this piece; else 0
 *   52      4    frag_total_len   fragments: length of the whole message; else 0
 *   56      4    reserved         zero
 *   60      4    crc32c           CRC32C of bytes 0..59 then the payload
 *
 * The payload is n_msgs records, each an 8-byte record header
 *   kind u16 | reserved u16 (zero) | len u32
 * followed by len bytes, back to back, filling payload_len exactly. A
 * fragment frame carries one record: the kind of the whole message and this
 * piece's bytes. Fragments of one message all have the same length except
 * the last (frag_offset = frag_index * that length), so the receiver proves
 * full coverage by counting (dp_reasm.h).
 *
 * One group per frame: the group ID sits at a fixed offset so that a NIC
 * (rte_flow) or a dispatcher steers a frame to the lcore owning the group
 * without reading the payload (dp_frame_peek_group). Messages are opaque:
 * a kind and bytes; the dataplane never interprets them. */
#ifndef NICRAFT_DP_FRAME_H
#define NICRAFT_DP_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "nr_err.h"

#define DP_MAGIC UINT32_C(0x5446524e) /* "NRFT" */
#define DP_VERSION 1u
#define DP_HDR_LEN 64u    /* the fixed nicraft header */
#define DP_MSG_HDR_LEN 8u /* kind, reserved, len before each message */
#define DP_HDR_F_FRAG 0x01u
#define DP_HDR_F_KNOWN DP_HDR_F_FRAG

/* Receiver 0 is the broadcast address: every member of the cluster accepts
 * it (discovery, ping). A sender is never 0. */
#define DP_MEMBER_BROADCAST UINT64_C(0)

/* MTU is the IP MTU (1500 on a plain link, up to 9216 with jumbo frames).
 * The nicraft frame is the UDP payload: MTU minus IPv4 (20) and UDP (8). */
#define DP_IPV4_UDP_OVERHEAD 28u
#define DP_MTU_MIN 576u
#define DP_MTU_DEFAULT 1500u
#define DP_MTU_JUMBO_MAX 9216u
/* Frame buffers: at least DP_FRAME_CAP_MIN, at most the largest UDP payload
 * over IPv4 (an IPv4 datagram is at most 65535 bytes). */
#define DP_FRAME_CAP_MIN 128u
#define DP_FRAME_LEN_MAX 65507u
/* Bound on records per frame, checked before the records are walked. */
#define DP_FRAME_MSGS_MAX 4096u
/* Bound on fragments per message (frag_count is a u16). */
#define DP_FRAG_COUNT_MAX 65535u

/* Why a received datagram (or fragment) was dropped: one counter each. */
enum dp_drop {
    DP_DROP_TRUNCATED = 0,  /* shorter than the nicraft header */
    DP_DROP_BAD_MAGIC,      /* not a nicraft frame */
    DP_DROP_BAD_VERSION,    /* a version this node does not speak */
    DP_DROP_BAD_LENGTH,     /* payload_len, n_msgs or a record length disagree */
    DP_DROP_BAD_CHECKSUM,   /* CRC32C mismatch */
    DP_DROP_BAD_FIELD,      /* unknown flag, reserved bits set, frag fields wrong */
    DP_DROP_OTHER_CLUSTER,  /* another cluster ID (SPEC section 4, last bullet) */
    DP_DROP_NOT_FOR_US,     /* receiver is neither us nor the broadcast 0 */
    DP_DROP_BAD_SENDER,     /* sender is 0 or ourselves */
    DP_DROP_FRAG_MISMATCH,  /* a fragment disagrees with the others of its message */
    DP_DROP_FRAG_DUPLICATE, /* a fragment already held (not an error: counted) */
    DP_DROP_REASM_TOO_BIG,  /* the whole message exceeds the reassembly limit */
    DP_DROP_REASM_FULL,     /* every reassembly slot busy: the fragment is lost */
    DP_DROP_REASM_TIMEOUT,  /* a partial message expired (counted per message) */
    DP_DROP_COUNT
};

/* Counters of one receiver (and a few of its sender). Plain integers: one
 * owner thread; read them from that thread or copy them out through a ring. */
struct dp_stats {
    uint64_t rx_frames;            /* datagrams accepted by dp_frame_decode */
    uint64_t rx_msgs;              /* whole messages delivered (reassembled ones included) */
    uint64_t rx_frags;             /* fragments accepted into reassembly */
    uint64_t rx_reassembled;       /* messages completed from fragments */
    uint64_t tx_frames;            /* frames a transport handed to the kernel or NIC */
    uint64_t tx_msgs;              /* messages a transport queued (a fragmented one once) */
    uint64_t tx_dropped;           /* frames a transport could not send (an error, not EAGAIN) */
    uint64_t drops[DP_DROP_COUNT]; /* by reason, indexed by enum dp_drop */
};

/* "truncated", "bad_magic", ... (stable, for logs and metrics); "unknown"
 * for a value out of range. */
const char *dp_drop_name(unsigned reason);

/* Who a frame goes from and to. cluster_id and sender_id are never zero;
 * receiver_id may be DP_MEMBER_BROADCAST. */
struct dp_frame_addr {
    uint64_t cluster_id;
    uint64_t sender_id;
    uint64_t receiver_id;
    uint32_t group_id;
};

/* One message, as delivered: the bytes are borrowed (from the received
 * datagram or the reassembly slot; see who hands it out for how long).
 * The source fields say where the datagram came from, so that a node can
 * answer a client at the address its request came from: filled by the
 * transports (dp_udp, dp_link) through dp_rx_payload_from; zero where the
 * receiver does not know (dp_rx_payload, dp_msg_iter_next leaves them as
 * they were). A reassembled message carries its last fragment's source. */
struct dp_msg {
    const uint8_t *data;
    uint32_t len;
    uint16_t kind;
    uint32_t group_id;
    uint64_t sender_id;
    uint32_t src_ipv4;  /* sender's IPv4 address, host byte order */
    uint16_t src_port;  /* sender's UDP port, host byte order */
    uint16_t local_idx; /* which of the receiver's local endpoints it arrived on */
};

/* The UDP payload capacity for an IP MTU: mtu - 28, or 0 when the MTU is
 * outside [DP_MTU_MIN, DP_MTU_JUMBO_MAX]. */
uint32_t dp_frame_cap_for_mtu(uint32_t mtu);

/* The largest message that fits whole (one record) in a frame of cap bytes:
 * cap - DP_HDR_LEN - DP_MSG_HDR_LEN. Larger ones go through dp_frag_*. */
uint32_t dp_frame_msg_max(uint32_t cap);

/* ---- Encoding: a builder appends messages into a caller-owned buffer. ---- */

struct dp_builder {
    uint8_t *buf; /* caller-owned, at least cap bytes */
    uint32_t cap; /* frame capacity in bytes */
    uint32_t len; /* bytes used so far, header included */
    uint16_t n_msgs;
    struct dp_frame_addr addr;
};

/* Starts an empty frame in buf (cap bytes, DP_FRAME_CAP_MIN <= cap <=
 * DP_FRAME_LEN_MAX; the buffer stays the caller's and must outlive the
 * builder). Preconditions (asserted): a valid cap, non-zero cluster and
 * sender IDs. */
void dp_builder_init(struct dp_builder *b, const struct dp_frame_addr *addr, uint8_t *buf,
                     uint32_t cap);

/* Appends one message (kind, len bytes copied from data; len may be 0).
 *   0          appended;
 *   NR_EBUSY   the frame is full: finish it, send it, start a new one and
 *              append again (nothing was written; err untouched, since a
 *              full frame is the normal way a batch ends);
 *   NR_EINVAL  the message can never fit a frame of this capacity (len >
 *              dp_frame_msg_max(cap)): fragment it with dp_frag_*; err says
 *              the sizes. */
int dp_builder_add(struct dp_builder *b, uint16_t kind, const void *data, uint32_t len,
                   struct nr_err *err);

/* Reserves room for a message of len bytes and returns where to write them
 * (so the caller encodes in place), or NULL when the frame is full or the
 * message can never fit (check len against dp_frame_msg_max first). */
uint8_t *dp_builder_reserve(struct dp_builder *b, uint16_t kind, uint32_t len);

/* Writes the header and CRC; returns the frame length to send (bytes at
 * b->buf), or 0 for a frame without messages (nothing to send). The builder
 * may then be started again with dp_builder_reset. */
uint32_t dp_builder_finish(struct dp_builder *b);

/* Empties the builder for the next frame (same buffer and address). */
void dp_builder_reset(struct dp_builder *b);

static inline bool dp_builder_is_empty(const struct dp_builder *b)
{
    return b->n_msgs == 0;
}

/* ---- Fragmentation: a message larger than a frame. ---- */

struct dp_fragmenter {
    struct dp_frame_addr addr;
    const uint8_t *data; /* borrowed: the whole message, until done */
    uint32_t len;
    uint32_t piece_len; /* bytes per fragment, the last one excepted */
    uint32_t msg_id;
    uint16_t kind;
    uint16_t count;
    uint16_t next_index;
};

/* Prepares to cut a message of len bytes into fragments of frames of cap
 * bytes each. msg_id identifies the message among the sender's fragmented
 * messages to this group (a per-sender counter; wrapping is fine once older
 * messages have completed or expired). data is borrowed until the last
 * fragment has been written.
 *   NR_EINVAL  cap out of range, or len fits one frame (use the builder) or
 *              needs more than DP_FRAG_COUNT_MAX fragments; err says why. */
int dp_frag_init(struct dp_fragmenter *f, const struct dp_frame_addr *addr, uint32_t msg_id,
                 uint16_t kind, const void *data, uint32_t len, uint32_t cap, struct nr_err *err);

/* Writes the next fragment frame into buf (at least the cap given to
 * dp_frag_init) and returns its length, or 0 when every fragment has been
 * written. */
uint32_t dp_frag_next(struct dp_fragmenter *f, uint8_t *buf, uint32_t buf_len);

/* Fragments still to write. */
static inline uint32_t dp_frag_left(const struct dp_fragmenter *f)
{
    return (uint32_t)f->count - f->next_index;
}

/* ---- Decoding: in place, no allocation. ---- */

/* What a receiver accepts: our cluster, frames for us (or broadcast), from
 * a non-zero sender other than us. */
struct dp_rx_filter {
    uint64_t cluster_id;
    uint64_t self_id;
};

/* A decoded, verified frame. Pointers borrow the datagram buffer: valid as
 * long as the caller keeps that buffer. */
struct dp_frame_view {
    const uint8_t *payload; /* the records */
    uint32_t payload_len;
    uint16_t n_msgs;
    uint8_t flags;
    uint64_t cluster_id;
    uint64_t sender_id;
    uint64_t receiver_id;
    uint32_t group_id;
    /* Fragments only (flags & DP_HDR_F_FRAG): */
    uint32_t frag_msg_id;
    uint16_t frag_index;
    uint16_t frag_count;
    uint32_t frag_offset;
    uint32_t frag_total_len;
};

static inline bool dp_frame_is_frag(const struct dp_frame_view *v)
{
    return (v->flags & DP_HDR_F_FRAG) != 0;
}

/* Verifies a received UDP payload (len bytes at buf) and fills *v: magic,
 * version, lengths (payload_len, n_msgs <= DP_FRAME_MSGS_MAX, every record
 * inside the payload and together filling it), checksum, flags and
 * reserved fields, fragment fields, then the filter. On success counts
 * stats->rx_frames and returns 0. On a drop counts stats->drops[reason]
 * (stats may be NULL), stores the reason in *reason (may be NULL), fills
 * err and returns:
 *   NR_EINVAL   truncated, bad magic, version, length or field;
 *   NR_ECORRUPT bad checksum;
 *   NR_EREFUSED another cluster ID;
 *   NR_EUNKNOWN not for us, or a sender that is 0 or us.
 * Never asserts on the bytes; reads nothing outside [buf, buf + len). */
int dp_frame_decode(const struct dp_rx_filter *filter, const uint8_t *buf, uint32_t len,
                    struct dp_frame_view *v, struct dp_stats *stats, enum dp_drop *reason,
                    struct nr_err *err);

/* The group ID of a datagram for steering, without any check; false when
 * len is shorter than the header. dp_frame_decode still does every check. */
bool dp_frame_peek_group(const uint8_t *buf, uint32_t len, uint32_t *group_id);

/* Walks the records of a decoded frame (dp_frame_decode has checked them
 * all, so the walk cannot fail). */
struct dp_msg_iter {
    const uint8_t *p;
    uint32_t left_len;
    uint16_t left_msgs;
    uint32_t group_id;
    uint64_t sender_id;
};

void dp_msg_iter_init(struct dp_msg_iter *it, const struct dp_frame_view *v);

/* Fills *m with the next message (borrowing the frame's buffer) and returns
 * true, or returns false after the last. */
bool dp_msg_iter_next(struct dp_msg_iter *it, struct dp_msg *m);

#endif
