/* peer_wire.h - one raft message (struct raft_msg, raft.h) as the bytes of
 * a dataplane message of kind NR_KIND_RAFT (nr_kinds.h), and back. libc
 * only, no allocation: the caller owns every buffer, and decoded entries
 * point into the received bytes.
 *
 * Wire format, little-endian (nr_le.h), version 1. A header of
 * PEER_HDR_LEN bytes:
 *
 *   offset size  field
 *    0      1    version          PEER_WIRE_VERSION
 *    1      1    type             enum raft_msg_type, 1 .. RAFT_MSG_TYPE_MAX
 *    2      1    flags            PEER_F_REJECT | PEER_F_TRANSFER, other bits zero
 *    3      1    reserved         zero
 *    4      4    n_entries        APPEND: 0 .. RAFT_MSG_ENTRIES_MAX; else 0
 *    8      8    from             non-zero
 *   16      8    to               non-zero
 *   24      8    term             1 .. RAFT_TERM_MAX
 *   32      8    index            0 .. RAFT_INDEX_MAX
 *   40      8    log_term         0 .. RAFT_TERM_MAX
 *   48      8    commit           0 .. RAFT_INDEX_MAX
 *   56      8    reject_hint      0 .. RAFT_INDEX_MAX
 *   64      8    reject_hint_term 0 .. RAFT_TERM_MAX
 *   72      8    ctx              opaque (ReadIndex round)
 *
 * then, for RAFT_MSG_SNAPSHOT only, the snapshot's metadata:
 *
 *    0      8    index            1 .. RAFT_INDEX_MAX
 *    8      8    term             1 .. RAFT_TERM_MAX
 *   16      1    n_voters         0 .. RAFT_VOTERS_MAX
 *   17      1    n_voters_outgoing 0 .. RAFT_VOTERS_MAX
 *   18      1    n_learners       0 .. RAFT_LEARNERS_MAX
 *   19      1    n_learners_next  0 .. RAFT_LEARNERS_MAX
 *   20      1    conf flags       PEER_CONF_F_AUTO_LEAVE, other bits zero
 *   21      3    reserved         zero
 *   24           the member IDs, u64 each, non-zero, no repeat within a
 *                list: voters, voters_outgoing, learners, learners_next
 *
 * then, for RAFT_MSG_APPEND only, n_entries entries, each a PEER_ENTRY_HDR_LEN
 * header and its data:
 *
 *    0      8    term             1 .. RAFT_TERM_MAX, not below the previous entry's
 *    8      8    index            the message's index + 1, then +1 each
 *   16      1    type             enum raft_entry_type
 *   17      3    reserved         zero
 *   20      4    len              0 .. PEER_ENTRY_LEN_MAX
 *   24           len bytes of data
 *
 * and nothing after. A message of another type carries no snapshot
 * metadata and decodes with .snap all zero. The decoder checks the shape
 * only (ranges, counts, contiguity); who may send what is the core's
 * business (raft_step refuses the rest). */
#ifndef NICRAFT_PEER_WIRE_H
#define NICRAFT_PEER_WIRE_H

#include <stdint.h>

#include "nr_err.h"
#include "raft.h"

#define PEER_WIRE_VERSION 1u
#define PEER_HDR_LEN 80u
#define PEER_SNAP_HDR_LEN 24u
#define PEER_ENTRY_HDR_LEN 24u
#define PEER_F_REJECT 0x01u
#define PEER_F_TRANSFER 0x02u
#define PEER_F_KNOWN (PEER_F_REJECT | PEER_F_TRANSFER)
#define PEER_CONF_F_AUTO_LEAVE 0x01u
#define PEER_CONF_F_KNOWN PEER_CONF_F_AUTO_LEAVE
/* One entry's data: a client command is at most ~66 KiB (client_wire.h),
 * a configuration change RAFT_CC_WIRE_MAX; 1 MiB leaves room. */
#define PEER_ENTRY_LEN_MAX (1u << 20)
/* A whole message. The core cuts appends at msg_bytes_max (1 MiB by
 * default) but always sends at least one entry, so allow some of them. */
#define PEER_MSG_LEN_MAX (64u << 20)
/* The largest snapshot metadata: every list full. */
#define PEER_SNAP_LEN_MAX (PEER_SNAP_HDR_LEN + 8u * (2u * RAFT_VOTERS_MAX + 2u * RAFT_LEARNERS_MAX))

/* The encoded length of msg. Computed in 64 bits from the message as
 * given (no check: peer_msg_encode refuses what it cannot encode), so a
 * caller can size or refuse a buffer before encoding. */
uint64_t peer_msg_len(const struct raft_msg *msg);

/* Encodes msg into buf[0..cap). Returns the length written (> 0), or
 * NR_EINVAL with *err naming the field when msg cannot be encoded (type out
 * of range, entries on a message that carries none, more than
 * RAFT_MSG_ENTRIES_MAX entries, an entry longer than PEER_ENTRY_LEN_MAX,
 * snapshot lists beyond their bounds, a message above PEER_MSG_LEN_MAX),
 * or NR_EBUSY when cap is below peer_msg_len(msg) (nothing useful is
 * written then). The message's values are not range-checked here: the
 * core emits them; the decoder on the other side checks. */
int peer_msg_encode(const struct raft_msg *msg, uint8_t *buf, uint32_t cap, struct nr_err *err);

/* Decodes buf[0..len), bytes from a peer, into *out. Entries go into
 * entries[0..entries_cap) and out->entries points to them (NULL when
 * there are none); each entry's data points into buf, which must outlive
 * them. 0, or NR_EINVAL with a sentence naming the field and the numbers
 * (see the format above for every rule; also more entries than
 * entries_cap, bytes missing or left over). On an error *out and
 * entries[] hold partial values: use neither. Never reads outside
 * buf[0..len). */
int peer_msg_decode(const uint8_t *buf, uint32_t len, struct raft_msg *out,
                    struct raft_entry *entries, uint32_t entries_cap, struct nr_err *err);

#endif
