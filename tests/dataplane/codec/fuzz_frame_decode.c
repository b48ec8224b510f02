/* fuzz_frame_decode.c - libFuzzer target for the frame decoder: the input
 * is one received UDP payload. It is decoded as the frame-seed-gen
 * cluster's member Bob, then again with the CRC made right and a filter
 * that accepts the frame's own cluster and receiver, so that mutations
 * reach the field, record and fragment checks behind the CRC (a mutated
 * frame almost never passes its CRC by chance). Accepted frames are walked
 * message by message and fragments fed to a small persistent reassembly
 * buffer. Nothing may crash or assert, every refusal must be an error value
 * with a sentence, one drop counter and the code its reason maps to
 * (CONVENTIONS 1.7 and 1.8); anything else aborts, so the fuzzer reports it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "dp_frame.h"
#include "dp_reasm.h"
#include "nr_le.h"

#define FUZZ_CLUSTER UINT64_C(0xc1a55e7700000001) /* codec_util.h's CU_CLUSTER */
#define FUZZ_BOB UINT64_C(0xb0b0000000000002)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_reasm *reasm;
static uint64_t now_ns;
static uint8_t copy[DP_FRAME_LEN_MAX];

static void fail(const char *what, const struct nr_err *err)
{
    fprintf(stderr, "fuzz-frame-decode: %s (\"%s\")\n", what, err->msg);
    abort();
}

static void walk(const struct dp_frame_view *v, uint32_t len)
{
    struct dp_msg_iter it;
    struct dp_msg m;
    uint64_t total = 0;
    uint32_t n = 0;

    dp_msg_iter_init(&it, v);
    while (dp_msg_iter_next(&it, &m) && n <= DP_FRAME_MSGS_MAX) {
        total += DP_MSG_HDR_LEN + m.len;
        n++;
    }
    if (n != v->n_msgs || total != v->payload_len || DP_HDR_LEN + total != len) {
        struct nr_err none = {0};
        fail("an accepted frame's records disagree with its header", &none);
    }
}

static void decode(const struct dp_rx_filter *f, const uint8_t *buf, uint32_t len)
{
    struct dp_stats st = {0};
    struct dp_frame_view v;
    struct nr_err err = {0};
    enum dp_drop reason = DP_DROP_COUNT;

    int rc = dp_frame_decode(f, buf, len, &v, &st, &reason, &err);
    if (rc != 0) {
        uint64_t drops = 0;
        for (unsigned i = 0; i < DP_DROP_COUNT; i++)
            drops += st.drops[i];
        if (err.code != rc || err.msg[0] == '\0' || reason >= DP_DROP_COUNT || drops != 1 ||
            st.drops[reason] != 1 || st.rx_frames != 0)
            fail("a refusal without its code, sentence and one counter", &err);
        return;
    }
    if (st.rx_frames != 1)
        fail("an accepted frame not counted", &err);
    walk(&v, len);
    if (!dp_frame_is_frag(&v))
        return;
    struct dp_msg m;
    now_ns += 1000;
    rc = dp_reasm_add(reasm, &v, now_ns, &m, &st, &err);
    if (rc < 0 && (err.code != rc || err.msg[0] == '\0'))
        fail("a reassembly refusal without its code and sentence", &err);
    uint16_t kind = (uint16_t)(v.payload[0] | (v.payload[1] << 8));
    if (rc == 1 && (m.len != v.frag_total_len || m.kind != kind))
        fail("a reassembled message of the wrong length or kind", &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (reasm == NULL) {
        struct dp_reasm_config c = {.n_slots = 4, .msg_len_max = 1u << 16, .timeout_ns = 100000};
        struct nr_err err = {0};
        if (dp_reasm_create(&c, &reasm, &err) != 0)
            fail("setup", &err);
    }
    if (size > DP_FRAME_LEN_MAX)
        return 0;
    struct dp_rx_filter bob = {.cluster_id = FUZZ_CLUSTER, .self_id = FUZZ_BOB};
    decode(&bob, data, (uint32_t)size);
    if (size < DP_HDR_LEN)
        return 0;
    /* The same bytes with the CRC right and payload_len matching, as the
     * frame's own receiver (or Bob for a broadcast). */
    memcpy(copy, data, size);
    nr_put_le32(copy + 36, (uint32_t)size - DP_HDR_LEN);
    uint32_t crc = nr_crc32c(0, copy, 60);
    crc = nr_crc32c(crc, copy + DP_HDR_LEN, size - DP_HDR_LEN);
    nr_put_le32(copy + 60, crc);
    struct dp_rx_filter own = {.cluster_id = nr_get_le64(copy + 8),
                               .self_id = nr_get_le64(copy + 24)};
    if (own.self_id == 0)
        own.self_id = FUZZ_BOB;
    decode(&own, copy, (uint32_t)size);
    return 0;
}
