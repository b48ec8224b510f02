/* client_wire.h - the client protocol: a put, get or delete and its answer,
 * each one message (kind NR_KIND_CLIENT_REQ / NR_KIND_CLIENT_RESP) in a
 * dataplane frame, so several operations share a frame. A write's request
 * bytes are also the data of its log entry: the leader checks them with
 * nr_kv_cmd_decode and proposes them unchanged; every member applies the
 * decoded command (node/kv.h).
 *
 * Sessions. A client picks a random non-zero client_id (it is also the
 * sender ID of its frames) and numbers its operations seq = 1, 2, ...;
 * a retried write keeps its seq, and the state machine applies it once
 * (it remembers the last seq and answer per client).
 *
 * Wire format, little-endian (nr_le.h), version 1.
 *
 * Request (NR_KV_CMD_HDR_LEN bytes, then the key, then the value):
 *    0 u8  version          NR_CLIENT_WIRE_VERSION
 *    1 u8  op               enum nr_kv_op
 *    2 u8  flags            NR_KV_F_*, other bits zero
 *    3 u8  reserved         zero
 *    4 u32 key_len          1 .. NR_KV_KEY_MAX
 *    8 u32 val_len          0 .. NR_KV_VAL_MAX; 0 unless op is PUT
 *   12 u32 reserved         zero
 *   16 u64 client_id        non-zero
 *   24 u64 seq              non-zero
 *   32     key bytes, then value bytes; nothing after them
 *
 * Response (NR_KV_RESP_HDR_LEN bytes, then val_len bytes: a GET's value,
 * or the error's sentence for NR_KV_ERROR / NR_KV_BUSY / NR_KV_NOSPACE):
 *    0 u8  version
 *    1 u8  op               the request's op
 *    2 u8  status           enum nr_kv_status
 *    3 u8  reserved         zero
 *    4 u32 val_len          0 .. NR_KV_VAL_MAX
 *    8 u64 client_id
 *   16 u64 seq
 *   24 u64 revision         PUT/DEL: the store's revision after the write;
 *                           GET: the key's last-modified revision (0 when
 *                           absent)
 *   32 u64 leader_id        NOT_LEADER: the leader's member ID, 0 unknown
 *   40 u32 leader_ipv4      NOT_LEADER: its client endpoint, 0 unknown
 *   44 u16 leader_port
 *   46 u16 reserved         zero
 *   48     value bytes
 */
#ifndef NICRAFT_CLIENT_WIRE_H
#define NICRAFT_CLIENT_WIRE_H

#include <stdint.h>

#include "nr_err.h"

#define NR_CLIENT_WIRE_VERSION 1u
#define NR_KV_CMD_HDR_LEN 32u
#define NR_KV_RESP_HDR_LEN 48u
#define NR_KV_KEY_MAX 1024u
#define NR_KV_VAL_MAX (64u * 1024u)
#define NR_KV_CMD_LEN_MAX (NR_KV_CMD_HDR_LEN + NR_KV_KEY_MAX + NR_KV_VAL_MAX)
#define NR_KV_RESP_LEN_MAX (NR_KV_RESP_HDR_LEN + NR_KV_VAL_MAX)

enum nr_kv_op {
    NR_KV_PUT = 1,
    NR_KV_GET = 2,
    NR_KV_DEL = 3,
};

/* GET only: answer from this member's applied state, without ReadIndex
 * (may be stale; any member answers, learners included). */
#define NR_KV_F_SERIALIZABLE 0x01u
#define NR_KV_F_KNOWN NR_KV_F_SERIALIZABLE

enum nr_kv_status {
    NR_KV_OK = 0,
    NR_KV_NOT_FOUND = 1,  /* GET or DEL of an absent key (DEL still counts as
                             a write: it has a revision) */
    NR_KV_NOT_LEADER = 2, /* retry at the leader named, if any */
    NR_KV_ERROR = 3,      /* the request was refused: the sentence says why */
    NR_KV_BUSY = 4,       /* a queue is full: retry later, same seq */
    NR_KV_NOSPACE = 5,    /* the store is at its configured size */
};

struct nr_kv_cmd {
    uint8_t op;    /* enum nr_kv_op */
    uint8_t flags; /* NR_KV_F_* */
    uint64_t client_id;
    uint64_t seq;
    const uint8_t *key; /* borrowed from the decoded buffer */
    uint32_t key_len;
    const uint8_t *val;
    uint32_t val_len;
};

struct nr_kv_resp {
    uint8_t op;
    uint8_t status; /* enum nr_kv_status */
    uint64_t client_id;
    uint64_t seq;
    uint64_t revision;
    uint64_t leader_id;
    uint32_t leader_ipv4; /* host byte order */
    uint16_t leader_port;
    const uint8_t *val; /* borrowed; a GET's value or the error sentence */
    uint32_t val_len;
};

/* Bytes nr_kv_cmd_encode / nr_kv_resp_encode write. */
uint32_t nr_kv_cmd_len(const struct nr_kv_cmd *c);
uint32_t nr_kv_resp_len(const struct nr_kv_resp *r);

/* Write the encoding into buf (cap bytes). Return the length, or
 * NR_EINVAL with the field named when the command breaks a rule above
 * (our own callers' mistakes are still errors: they may come from a
 * user's flags) or cap is too small. */
int nr_kv_cmd_encode(const struct nr_kv_cmd *c, uint8_t *buf, uint32_t cap, struct nr_err *err);
int nr_kv_resp_encode(const struct nr_kv_resp *r, uint8_t *buf, uint32_t cap, struct nr_err *err);

/* Decode len bytes from outside (a client, a peer, the log): 0 with *c
 * pointing into buf, or NR_EINVAL naming the first rule broken (version,
 * op, flags, reserved bytes, lengths against their bounds and against
 * len exactly, zero IDs). Never reads past buf + len. */
int nr_kv_cmd_decode(const uint8_t *buf, uint32_t len, struct nr_kv_cmd *c, struct nr_err *err);
int nr_kv_resp_decode(const uint8_t *buf, uint32_t len, struct nr_kv_resp *r, struct nr_err *err);

/* "put", "get", "del"; "ok", "not_found", "not_leader", ... ("unknown"
 * for values out of range). */
const char *nr_kv_op_name(unsigned op);
const char *nr_kv_status_name(unsigned status);

#endif
