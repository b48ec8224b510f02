/* members_wire.h - member records on the wire and in the log:
 *  - MEMBERS_REQ / MEMBERS_RESP (kinds NR_KIND_MEMBERS_REQ/_RESP): a node
 *    started with --initial-cluster-state=existing asks the peers of
 *    --initial-cluster for the current membership (SPEC section 2 rule 8);
 *  - the member-attributes entry (first byte NR_ENTRY_MEMBER_ATTR): a
 *    started member publishes its name and client URLs through raft (SPEC
 *    section 2 rule 9), applied by every member; a follower sends the same
 *    bytes to the leader as a message of kind NR_KIND_MEMBER_ATTR, and the
 *    leader proposes them unchanged once member_attr_decode accepts them;
 *  - the member-record entry (first byte NR_ENTRY_MEMBER_REC): a whole
 *    struct nr_member, proposed just before the configuration change that
 *    adds it (so every member learns the new member's peer URLs).
 * libc and dp_url_parse only; no allocation.
 *
 * Little-endian (nr_le.h), version MEMBERS_WIRE_VERSION. Strings travel as
 * a length byte and that many bytes, no NUL. A member record
 * (NR_MEMBER_REC_HDR_LEN bytes, then strings):
 *
 *    0  u64 id             non-zero
 *    8  u8  name_len       0 .. NR_NAME_MAX - 1 (0: unstarted)
 *    9  u8  n_peer_urls    1 .. NR_MEMBER_URLS_MAX
 *   10  u8  n_client_urls  0 .. NR_MEMBER_URLS_MAX
 *   11  u8  flags          NR_MEMBER_F_LEARNER, other bits zero
 *   12      name bytes, then each peer URL, then each client URL, each URL
 *           a u8 length 1 .. NR_URL_LEN_MAX - 1 and its characters
 *
 * MEMBERS_REQ (MEMBERS_REQ_HDR_LEN bytes, then the name and URLs):
 *    0  u8  version        MEMBERS_WIRE_VERSION
 *    1  u8  name_len       1 .. NR_NAME_MAX - 1
 *    2  u8  n_peer_urls    1 .. NR_MEMBER_URLS_MAX
 *    3  u8[5] reserved     zero
 *    8  u64 request_id     non-zero, echoed in the response
 *
 * MEMBERS_RESP (MEMBERS_RESP_HDR_LEN bytes, then n_members records):
 *    0  u8  version
 *    1  u8  n_members      0 .. RAFT_MEMBERS_MAX
 *    2  u8[6] reserved     zero
 *    8  u64 request_id     the request's
 *   16  u64 cluster_id     non-zero
 *   24  u64 leader_id      0 when unknown
 *   32      records, member IDs all different
 *
 * Member-attributes entry (MEMBER_ATTR_HDR_LEN bytes, then name and URLs):
 *    0  u8  NR_ENTRY_MEMBER_ATTR
 *    1  u8  version
 *    2  u8  name_len       1 .. NR_NAME_MAX - 1
 *    3  u8  n_client_urls  0 .. NR_MEMBER_URLS_MAX
 *    4  u8[4] reserved     zero
 *    8  u64 id             non-zero
 *
 * Member-record entry (MEMBER_REC_ENTRY_HDR_LEN bytes, then one record):
 *    0  u8  NR_ENTRY_MEMBER_REC
 *    1  u8  version
 *    2  u8[6] reserved     zero
 *
 * Nothing may follow the last field. Names are printable ASCII without
 * space, '=' or ',' (they appear in --initial-cluster "name=url,...");
 * URLs must pass dp_url_parse (udp://A.B.C.D:PORT, port non-zero); a list
 * never names one URL twice. */
#ifndef NICRAFT_MEMBERS_WIRE_H
#define NICRAFT_MEMBERS_WIRE_H

#include <stdint.h>

#include "nr_err.h"
#include "nr_member.h"
#include "raft.h"

#define MEMBERS_WIRE_VERSION 1u
#define NR_MEMBER_F_LEARNER 0x01u
#define NR_MEMBER_F_KNOWN NR_MEMBER_F_LEARNER
#define NR_MEMBER_REC_HDR_LEN 12u
#define MEMBERS_REQ_HDR_LEN 16u
#define MEMBERS_RESP_HDR_LEN 32u
#define MEMBER_ATTR_HDR_LEN 16u
#define MEMBER_REC_ENTRY_HDR_LEN 8u

/* The largest encodings (every string and list full). */
#define NR_URLS_LEN_MAX (NR_MEMBER_URLS_MAX * NR_URL_LEN_MAX) /* length byte + 63 each */
#define NR_MEMBER_REC_LEN_MAX (NR_MEMBER_REC_HDR_LEN + (NR_NAME_MAX - 1) + 2 * NR_URLS_LEN_MAX)
#define MEMBERS_REQ_LEN_MAX (MEMBERS_REQ_HDR_LEN + (NR_NAME_MAX - 1) + NR_URLS_LEN_MAX)
#define MEMBERS_RESP_LEN_MAX (MEMBERS_RESP_HDR_LEN + RAFT_MEMBERS_MAX * NR_MEMBER_REC_LEN_MAX)
#define MEMBER_ATTR_LEN_MAX (MEMBER_ATTR_HDR_LEN + (NR_NAME_MAX - 1) + NR_URLS_LEN_MAX)
#define MEMBER_REC_ENTRY_LEN_MAX (MEMBER_REC_ENTRY_HDR_LEN + NR_MEMBER_REC_LEN_MAX)

struct members_req {
    uint64_t request_id;    /* non-zero */
    char name[NR_NAME_MAX]; /* the asker's --name; non-empty */
    uint32_t n_peer_urls;   /* 1 .. NR_MEMBER_URLS_MAX: where the asker listens */
    char peer_urls[NR_MEMBER_URLS_MAX][NR_URL_LEN_MAX];
};

/* About 19 KiB: keep one per thread, not on a small stack. */
struct members_resp {
    uint64_t request_id;
    uint64_t cluster_id; /* non-zero */
    uint64_t leader_id;  /* RAFT_ID_NONE when unknown */
    uint32_t n_members;  /* 0 .. RAFT_MEMBERS_MAX */
    struct nr_member members[RAFT_MEMBERS_MAX];
};

/* 0 when name is a valid member name (1 .. NR_NAME_MAX - 1 printable
 * ASCII characters, no space, '=' or ','), else NR_EINVAL quoting it. An
 * empty name is valid only when allow_empty (an unstarted member). For
 * --name and --initial-cluster parsing too. */
int nr_name_check(const char *name, bool allow_empty, struct nr_err *err);
/* 0 when m obeys every rule of a member record above, else NR_EINVAL
 * naming the member and the field. */
int nr_member_check(const struct nr_member *m, struct nr_err *err);
int nr_member_attr_check(const struct nr_member_attr *a, struct nr_err *err);

/* Every encoder checks its input first (NR_EINVAL naming the field), then
 * returns the length written, or NR_EBUSY when cap is too small (the
 * *_LEN_MAX bounds always suffice). Every decoder takes bytes from outside:
 * 0, or NR_EINVAL naming the field and numbers; it writes only *out (all
 * of it zeroed first, strings NUL-terminated) and never reads outside
 * buf[0..len). */
int members_req_encode(const struct members_req *req, uint8_t *buf, uint32_t cap,
                       struct nr_err *err);
int members_req_decode(const uint8_t *buf, uint32_t len, struct members_req *out,
                       struct nr_err *err);
int members_resp_encode(const struct members_resp *resp, uint8_t *buf, uint32_t cap,
                        struct nr_err *err);
int members_resp_decode(const uint8_t *buf, uint32_t len, struct members_resp *out,
                        struct nr_err *err);
/* The data of a RAFT_ENTRY_NORMAL entry, first byte included. */
int member_attr_encode(const struct nr_member_attr *a, uint8_t *buf, uint32_t cap,
                       struct nr_err *err);
int member_attr_decode(const uint8_t *buf, uint32_t len, struct nr_member_attr *out,
                       struct nr_err *err);
int member_rec_encode(const struct nr_member *m, uint8_t *buf, uint32_t cap, struct nr_err *err);
int member_rec_decode(const uint8_t *buf, uint32_t len, struct nr_member *out, struct nr_err *err);

#endif
