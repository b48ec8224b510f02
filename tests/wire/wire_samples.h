/* wire_samples.h - valid values and encodings of every node/wire message,
 * with fields at their bounds, for the wire tests, the robustness test, the
 * fuzz seed generator and the benchmark. Deterministic: the same samples
 * on every machine. */
#ifndef NICRAFT_WIRE_SAMPLES_H
#define NICRAFT_WIRE_SAMPLES_H

#include <stdint.h>

#include "members_wire.h"
#include "peer_wire.h"
#include "snap_wire.h"

/* The decoders one byte selects in wire_any_check and the fuzz target. */
enum ws_kind {
    WS_RAFT = 0,
    WS_SNAP_CHUNK,
    WS_SNAP_ACK,
    WS_MEMBERS_REQ,
    WS_MEMBERS_RESP,
    WS_MEMBER_ATTR,
    WS_MEMBER_REC,
    WS_KINDS,
};

#define WS_TOTAL_MAX (UINT64_C(1) << 40) /* the snapshot bound the tests decode with */

const char *ws_kind_name(unsigned kind);

/* A message of type with every header field set to a distinct in-range
 * value (RAFT_MSG_SNAPSHOT: a full joint configuration); no entries. */
void ws_msg(struct raft_msg *m, uint32_t type);
/* n entries after m->index at m->term, each data_len bytes taken from
 * data (at least data_len bytes), attached to m. */
void ws_entries(struct raft_msg *m, struct raft_entry *e, uint32_t n, const uint8_t *data,
                uint32_t data_len);

void ws_chunk(struct snap_chunk *c, const uint8_t *data, uint32_t len);
void ws_ack(struct snap_ack *a, uint32_t status, uint32_t reason);

/* A member with n_peer peer URLs and n_client client URLs; a 63-character
 * name when long_name, else a short one (or "" when n_client is 0 and the
 * member is unstarted). */
void ws_member(struct nr_member *m, uint64_t id, uint32_t n_peer, uint32_t n_client,
               bool long_name);
void ws_req(struct members_req *r);
/* n members, 4+4 URLs each, long names. */
void ws_resp(struct members_resp *r, uint32_t n);
void ws_attr(struct nr_member_attr *a, uint32_t n_client);

/* Calls fn for every sample encoding (name, kind, bytes); the bytes live
 * until fn returns. */
typedef void ws_fn(const char *name, unsigned kind, const uint8_t *buf, uint32_t len, void *ctx);
void ws_each(ws_fn *fn, void *ctx);

/* Decodes buf[0..len) as kind (taken modulo WS_KINDS) into *rc; when
 * accepted, encodes the result again and compares (strict decoders accept
 * only canonical bytes, so the bytes must come back exactly). False, with
 * a sentence in problem, when a rule of the tests broke: a refusal without
 * its code (NR_EINVAL; NR_ECORRUPT for a chunk's CRC) or sentence, or
 * accepted bytes that do not come back. A snapshot chunk is also tried
 * with its CRC made right, so that mutations reach the checks behind it.
 * Not reentrant (static buffers). */
bool ws_check(unsigned kind, const uint8_t *buf, uint32_t len, int *rc, char *problem,
              uint32_t problem_cap);

/* Counts checks (unit_check.h) that a refusal has code want, the sentence
 * in err (its code matching) and the text substr in it. */
void ws_expect_refusal(const char *what, int rc, const struct nr_err *err, int want,
                       const char *substr);

#endif
