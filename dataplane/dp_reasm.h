/* dp_reasm.h - bounded reassembly of fragmented messages, and the receive
 * path that puts decoding and reassembly together (dp_rx_payload).
 *
 * A reassembly buffer holds n_slots partial messages of at most
 * msg_len_max bytes each; everything is allocated by dp_reasm_create and
 * nothing after. A slot is keyed by (sender, group, message ID), opens on
 * the first fragment that arrives (in any order), expires timeout_ns after
 * it opened, and completes when frag_count distinct fragments that agree on
 * count, total length, kind and piece length have arrived. Duplicates are
 * counted and ignored; a fragment that contradicts its slot drops the whole
 * message (counted as a mismatch). A duplicate arriving after its message
 * completed opens a new slot that can only expire (counted as a timeout):
 * the buffer keeps no history of finished messages. Time is the caller's (now_ns, any
 * monotonic clock): this file reads no clock. */
#ifndef NICRAFT_DP_REASM_H
#define NICRAFT_DP_REASM_H

#include <stdint.h>

#include "dp_frame.h"
#include "nr_err.h"

#define DP_REASM_SLOTS_MAX 4096u
#define DP_REASM_MSG_LEN_MAX (64u << 20) /* 64 MiB per message at most */
#define DP_REASM_TIMEOUT_NS_DEFAULT (200ull * 1000 * 1000)

struct dp_reasm_config {
    uint32_t n_slots;     /* 1 .. DP_REASM_SLOTS_MAX partial messages at once */
    uint32_t msg_len_max; /* 1 .. DP_REASM_MSG_LEN_MAX bytes per whole message */
    uint64_t timeout_ns;  /* > 0: a partial message older than this is dropped */
};

struct dp_reasm;

/* Allocates a buffer for the configuration (n_slots * msg_len_max bytes and
 * the bookkeeping) and fills *out. NR_EINVAL for a field out of its range,
 * NR_ENOMEM when the allocation fails; err names the field or the size. */
int dp_reasm_create(const struct dp_reasm_config *cfg, struct dp_reasm **out, struct nr_err *err);

/* Frees it; NULL is fine. Messages handed out before are invalid after. */
void dp_reasm_destroy(struct dp_reasm *r);

/* Adds the fragment in *v (a frame dp_frame_decode accepted, with
 * DP_HDR_F_FRAG). Expires old slots first (as dp_reasm_expire). Returns:
 *   1           the message is complete: *m borrows the slot, valid until
 *               the next dp_reasm_add or dp_reasm_expire on r;
 *   0           kept (or a duplicate, counted); wait for more;
 *   NR_EINVAL   the fragment contradicts its message, or is no fragment
 *               (DP_DROP_FRAG_MISMATCH / DP_DROP_BAD_FIELD);
 *   NR_ERANGE   the whole message exceeds msg_len_max (DP_DROP_REASM_TOO_BIG);
 *   NR_EBUSY    every slot holds a younger partial message (DP_DROP_REASM_FULL).
 * Drops count in stats (may be NULL) and fill err. */
int dp_reasm_add(struct dp_reasm *r, const struct dp_frame_view *v, uint64_t now_ns,
                 struct dp_msg *m, struct dp_stats *stats, struct nr_err *err);

/* Drops every partial message opened more than timeout_ns before now_ns,
 * counting DP_DROP_REASM_TIMEOUT once per message; returns how many. */
uint32_t dp_reasm_expire(struct dp_reasm *r, uint64_t now_ns, struct dp_stats *stats);

/* Partial messages held now. */
uint32_t dp_reasm_in_use(const struct dp_reasm *r);

/* ---- The receive path: decode, filter, reassemble, deliver. ---- */

/* Called once per whole message; m borrows the datagram or the reassembly
 * slot and is valid only during the call. */
typedef void dp_msg_fn(void *ctx, const struct dp_msg *m);

/* Decodes one received UDP payload (len bytes at buf) with filter, feeds
 * fragments to r (which may be NULL: fragments are then dropped as
 * DP_DROP_REASM_FULL) and calls fn for each whole message, in order.
 * Returns the number of messages delivered (0 for a fragment kept), or the
 * negative code of dp_frame_decode / dp_reasm_add for a drop (counted in
 * stats, which must not be NULL; err filled). */
int dp_rx_payload(const struct dp_rx_filter *filter, struct dp_reasm *r, const uint8_t *buf,
                  uint32_t len, uint64_t now_ns, dp_msg_fn *fn, void *ctx, struct dp_stats *stats,
                  struct nr_err *err);

/* Where a received UDP payload came from and which local endpoint took it,
 * copied into every message delivered from it (struct dp_msg). Host byte
 * order. */
struct dp_rx_src {
    uint32_t ipv4;
    uint16_t port;
    uint16_t local_idx;
};

/* dp_rx_payload with the datagram's source: each message handed to fn
 * carries src (a reassembled one, its last fragment's). src must not be
 * NULL; dp_rx_payload is this with a zero source. */
int dp_rx_payload_from(const struct dp_rx_filter *filter, struct dp_reasm *r,
                       const struct dp_rx_src *src, const uint8_t *buf, uint32_t len,
                       uint64_t now_ns, dp_msg_fn *fn, void *ctx, struct dp_stats *stats,
                       struct nr_err *err);

#endif
