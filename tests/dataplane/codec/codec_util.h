/* codec_util.h - what the codec tests share: the test cluster and members,
 * deterministic message contents, and a collector that copies delivered
 * messages out (they are borrowed only during the callback). */
#ifndef NICRAFT_CODEC_UTIL_H
#define NICRAFT_CODEC_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_frame.h"
#include "dp_reasm.h"

#define CU_CLUSTER UINT64_C(0xc1a55e7700000001)
#define CU_ALICE UINT64_C(0xa11ce00000000001)
#define CU_BOB UINT64_C(0xb0b0000000000002)
#define CU_GROUP 7u

/* The address of a frame from Alice to Bob in CU_GROUP. */
struct dp_frame_addr cu_addr(void);
/* Bob's receive filter. */
struct dp_rx_filter cu_bob_filter(void);

/* Fills len bytes that depend on (seed, every byte position). */
void cu_fill(uint8_t *buf, uint32_t len, uint64_t seed);
/* Whether buf holds what cu_fill(buf, len, seed) wrote. */
bool cu_check(const uint8_t *buf, uint32_t len, uint64_t seed);

#define CU_COLLECT_MAX 4096u
#define CU_COLLECT_BYTES (8u << 20)

/* Copies of delivered messages, in delivery order. */
struct cu_collect {
    uint32_t n;
    uint32_t used;
    uint32_t n_overflow; /* messages that did not fit: a test failure */
    uint16_t kind[CU_COLLECT_MAX];
    uint32_t len[CU_COLLECT_MAX];
    uint32_t group_id[CU_COLLECT_MAX];
    uint64_t sender_id[CU_COLLECT_MAX];
    uint32_t off[CU_COLLECT_MAX];
    uint8_t *bytes; /* CU_COLLECT_BYTES */
};

/* Allocates c->bytes (exits on failure: a test's own setup). */
void cu_collect_init(struct cu_collect *c);
void cu_collect_reset(struct cu_collect *c);
void cu_collect_free(struct cu_collect *c);
/* A dp_msg_fn: ctx is a struct cu_collect. */
void cu_collect_fn(void *ctx, const struct dp_msg *m);

/* Header offsets for tests that forge frames (dp_frame.h's table). */
enum {
    CU_OFF_VERSION = 4,
    CU_OFF_FLAGS = 5,
    CU_OFF_N_MSGS = 6,
    CU_OFF_CLUSTER = 8,
    CU_OFF_SENDER = 16,
    CU_OFF_RECEIVER = 24,
    CU_OFF_GROUP = 32,
    CU_OFF_PAYLOAD_LEN = 36,
    CU_OFF_FRAG_MSG_ID = 40,
    CU_OFF_FRAG_INDEX = 44,
    CU_OFF_FRAG_COUNT = 46,
    CU_OFF_FRAG_OFFSET = 48,
    CU_OFF_FRAG_TOTAL = 52,
    CU_OFF_RESERVED = 56,
    CU_OFF_CRC = 60,
};

/* Recomputes the CRC of a frame of len bytes after a test changed it (the
 * payload is len - DP_HDR_LEN bytes, whatever payload_len says). */
void cu_refresh_crc(uint8_t *frame, uint32_t len);
void cu_put_le16(uint8_t *p, uint16_t v);

/* The sum of every drop counter. */
uint64_t cu_drops_total(const struct dp_stats *st);

#endif
