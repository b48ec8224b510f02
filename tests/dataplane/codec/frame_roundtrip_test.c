/* frame_roundtrip_test.c - the codec's round trips: random mixes of message
 * sizes through builders (batching until a frame is full) and fragmenters,
 * decoded and reassembled on the other side, at the default MTU, the
 * smallest one and jumbo MTUs; exact batching counts; the builder's edges.
 * Prints `N passed, M failed` last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_util.h"
#include "dp_frame.h"
#include "dp_reasm.h"
#include "unit_check.h"

#define MSGS_MAX 512u

struct sent {
    uint32_t n;
    uint16_t kind[MSGS_MAX];
    uint32_t len[MSGS_MAX];
    uint64_t seed[MSGS_MAX];
};

struct rig {
    uint32_t cap;
    uint8_t *frame; /* cap bytes */
    uint8_t *msg;   /* message staging, big enough for any test message */
    struct dp_builder b;
    struct dp_reasm *reasm;
    struct dp_stats st;
    struct dp_rx_filter filter;
    struct cu_collect got;
    uint32_t n_frames;
    uint32_t msg_id;
    bool frame_was_full; /* every EBUSY came when the next message did not fit */
};

#define MSG_STAGE_LEN (300u * 1024)

static void rig_init(struct rig *r, uint32_t cap)
{
    struct nr_err err;
    struct dp_reasm_config rc = {
            .n_slots = 4, .msg_len_max = MSG_STAGE_LEN, .timeout_ns = 1000000000ull};
    struct dp_frame_addr a = cu_addr();

    memset(r, 0, sizeof(*r));
    r->cap = cap;
    r->frame = malloc(cap);
    r->msg = malloc(MSG_STAGE_LEN);
    if (r->frame == NULL || r->msg == NULL || dp_reasm_create(&rc, &r->reasm, &err) != 0) {
        fprintf(stderr, "setup failed\n");
        exit(2);
    }
    r->filter = cu_bob_filter();
    cu_collect_init(&r->got);
    dp_builder_init(&r->b, &a, r->frame, cap);
    r->frame_was_full = true;
}

static void rig_free(struct rig *r)
{
    free(r->frame);
    free(r->msg);
    dp_reasm_destroy(r->reasm);
    cu_collect_free(&r->got);
}

/* Delivers one encoded frame to the receiving side. */
static void rx_frame(struct rig *r, const uint8_t *buf, uint32_t len)
{
    struct nr_err err = {0};
    int rc = dp_rx_payload(&r->filter, r->reasm, buf, len, 1000, cu_collect_fn, &r->got, &r->st,
                           &err);
    UNIT_CHECK(rc >= 0, "a valid frame of %u bytes was refused: %s", len, err.msg);
    UNIT_CHECK(len <= r->cap, "frame of %u bytes exceeds the capacity %u", len, r->cap);
    r->n_frames++;
}

static void flush_builder(struct rig *r)
{
    uint32_t len = dp_builder_finish(&r->b);
    if (len > 0)
        rx_frame(r, r->frame, len);
    dp_builder_reset(&r->b);
}

static void send_msg(struct rig *r, uint16_t kind, uint32_t len, uint64_t seed)
{
    struct nr_err err = {0};

    cu_fill(r->msg, len, seed);
    if (len > dp_frame_msg_max(r->cap)) {
        struct dp_fragmenter f;
        struct dp_frame_addr a = cu_addr();
        flush_builder(r); /* keep the order of messages */
        int rc = dp_frag_init(&f, &a, r->msg_id++, kind, r->msg, len, r->cap, &err);
        UNIT_CHECK(rc == 0, "dp_frag_init(%u bytes): %s", len, err.msg);
        for (uint32_t i = 0; rc == 0 && i <= DP_FRAG_COUNT_MAX; i++) {
            uint32_t n = dp_frag_next(&f, r->frame, r->cap);
            if (n == 0)
                break;
            rx_frame(r, r->frame, n);
        }
        return;
    }
    int rc = dp_builder_add(&r->b, kind, r->msg, len, &err);
    if (rc == NR_EBUSY) {
        if (r->b.len + DP_MSG_HDR_LEN + len <= r->cap && r->b.n_msgs < DP_FRAME_MSGS_MAX)
            r->frame_was_full = false;
        flush_builder(r);
        rc = dp_builder_add(&r->b, kind, r->msg, len, &err);
    }
    UNIT_CHECK(rc == 0, "dp_builder_add(%u bytes) into an empty frame: %d %s", len, rc, err.msg);
}

static uint32_t random_len(uint64_t *rng, uint32_t cap)
{
    switch (unit_below(rng, 8)) {
    case 0: return 0;
    case 1:
    case 2:
    case 3: return (uint32_t)unit_below(rng, 65);
    case 4: return (uint32_t)unit_below(rng, 1025);
    case 5: return (uint32_t)unit_below(rng, dp_frame_msg_max(cap) + 1);
    case 6: return dp_frame_msg_max(cap) + (uint32_t)unit_below(rng, 3);
    default: return (uint32_t)unit_below(rng, 200 * 1024);
    }
}

static void check_delivered(const struct rig *r, const struct sent *s, uint32_t cap)
{
    UNIT_CHECK(r->got.n == s->n, "cap %u: %u of %u messages delivered", cap, r->got.n, s->n);
    UNIT_CHECK(r->got.n_overflow == 0, "collector overflowed");
    UNIT_CHECK(cu_drops_total(&r->st) == 0, "cap %u: %llu drops", cap,
               (unsigned long long)cu_drops_total(&r->st));
    uint32_t bad = 0;
    for (uint32_t i = 0; i < r->got.n && i < s->n; i++) {
        bool ok = r->got.kind[i] == s->kind[i] && r->got.len[i] == s->len[i] &&
                  r->got.group_id[i] == CU_GROUP && r->got.sender_id[i] == CU_ALICE &&
                  cu_check(r->got.bytes + r->got.off[i], s->len[i], s->seed[i]);
        if (!ok && bad++ < 3)
            UNIT_CHECK(false,
                       "cap %u: message %u (kind %u, %u bytes) came back as kind %u, "
                       "%u bytes or with other bytes",
                       cap, i, s->kind[i], s->len[i], r->got.kind[i], r->got.len[i]);
    }
    UNIT_CHECK(bad == 0, "cap %u: %u messages differ", cap, bad);
}

/* Random mixes: whole messages batched, large ones fragmented, in order. */
static void test_random_mix(uint32_t mtu, uint64_t seed)
{
    uint32_t cap = dp_frame_cap_for_mtu(mtu);
    uint64_t rng = seed;
    struct rig r;
    struct sent s = {0};

    rig_init(&r, cap);
    for (int round = 0; round < 8; round++) {
        cu_collect_reset(&r.got);
        s.n = 0;
        uint32_t n = 1 + (uint32_t)unit_below(&rng, 120);
        uint64_t big_total = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t len = random_len(&rng, cap);
            if (big_total + len > CU_COLLECT_BYTES / 2)
                len = 17;
            big_total += len;
            s.kind[s.n] = (uint16_t)unit_below(&rng, 65536);
            s.len[s.n] = len;
            s.seed[s.n] = unit_rand(&rng);
            send_msg(&r, s.kind[s.n], len, s.seed[s.n]);
            s.n++;
        }
        flush_builder(&r);
        check_delivered(&r, &s, cap);
    }
    UNIT_CHECK(r.frame_was_full, "mtu %u: a frame was closed with room for the next message", mtu);
    UNIT_CHECK(dp_reasm_in_use(r.reasm) == 0, "mtu %u: %u partial messages left", mtu,
               dp_reasm_in_use(r.reasm));
    rig_free(&r);
}

/* Equal messages: exactly floor((cap - 64) / (8 + len)) per frame. */
static void test_batching(uint32_t mtu, uint32_t msg_len)
{
    uint32_t cap = dp_frame_cap_for_mtu(mtu);
    uint32_t per_frame = (cap - DP_HDR_LEN) / (DP_MSG_HDR_LEN + msg_len);
    uint32_t n = 10 * per_frame + 3;
    struct rig r;
    struct sent s = {0};

    if (n > MSGS_MAX)
        n = MSGS_MAX;
    rig_init(&r, cap);
    for (uint32_t i = 0; i < n; i++) {
        s.kind[i] = (uint16_t)(i + 1);
        s.len[i] = msg_len;
        s.seed[i] = i;
        send_msg(&r, s.kind[i], msg_len, i);
    }
    s.n = n;
    flush_builder(&r);
    uint32_t want_frames = (n + per_frame - 1) / per_frame;
    UNIT_CHECK(r.n_frames == want_frames,
               "mtu %u, %u-byte messages: %u frames for %u messages, "
               "want %u (%u per frame)",
               mtu, msg_len, r.n_frames, n, want_frames, per_frame);
    check_delivered(&r, &s, cap);
    rig_free(&r);
}

static void test_builder_edges(void)
{
    uint32_t cap = dp_frame_cap_for_mtu(DP_MTU_DEFAULT);
    struct rig r;
    struct nr_err err = {0};

    rig_init(&r, cap);
    UNIT_CHECK(cap == 1472, "cap for 1500 is %u, want 1472", cap);
    UNIT_CHECK(dp_frame_cap_for_mtu(575) == 0 && dp_frame_cap_for_mtu(9217) == 0 &&
                       dp_frame_cap_for_mtu(9216) == 9188,
               "cap_for_mtu bounds");
    UNIT_CHECK(dp_builder_finish(&r.b) == 0, "an empty frame has length 0");
    uint32_t max = dp_frame_msg_max(cap);
    int rc = dp_builder_add(&r.b, 1, r.msg, max + 1, &err);
    UNIT_CHECK(rc == NR_EINVAL && err.code == NR_EINVAL && strstr(err.msg, "fragment") != NULL,
               "a message one byte over the frame: rc %d, \"%s\"", rc, err.msg);
    UNIT_CHECK(dp_builder_is_empty(&r.b), "the refused message left nothing behind");
    UNIT_CHECK(dp_builder_add(&r.b, 2, r.msg, max, &err) == 0, "a message of exactly msg_max");
    UNIT_CHECK(dp_builder_finish(&r.b) == cap, "it fills the frame exactly");
    UNIT_CHECK(dp_builder_add(&r.b, 3, r.msg, 0, &err) == NR_EBUSY, "nothing fits after it");
    dp_builder_reset(&r.b);
    uint8_t *p = dp_builder_reserve(&r.b, 9, 5);
    UNIT_CHECK(p != NULL, "reserve in an empty frame");
    if (p != NULL)
        memcpy(p, "hello", 5);
    uint32_t len = dp_builder_finish(&r.b);
    cu_collect_reset(&r.got);
    rx_frame(&r, r.frame, len);
    UNIT_CHECK(r.got.n == 1 && r.got.kind[0] == 9 && r.got.len[0] == 5 &&
                       memcmp(r.got.bytes, "hello", 5) == 0,
               "a reserved message round-trips");
    uint32_t group = 0;
    UNIT_CHECK(dp_frame_peek_group(r.frame, len, &group) && group == CU_GROUP,
               "peek_group reads %u", group);
    UNIT_CHECK(!dp_frame_peek_group(r.frame, DP_HDR_LEN - 1, &group), "peek on a short frame");
    struct dp_fragmenter f;
    struct dp_frame_addr a = cu_addr();
    UNIT_CHECK(dp_frag_init(&f, &a, 1, 1, r.msg, max, cap, &err) == NR_EINVAL,
               "fragmenting a message that fits one frame is refused: %s", err.msg);
    UNIT_CHECK(dp_frag_init(&f, &a, 1, 1, r.msg, max + 1, 64, &err) == NR_EINVAL,
               "fragmenting into frames below the minimum is refused: %s", err.msg);
    rig_free(&r);
}

static void test_broadcast_and_names(void)
{
    uint32_t cap = dp_frame_cap_for_mtu(DP_MTU_DEFAULT);
    struct rig r;
    struct nr_err err = {0};
    struct dp_frame_addr a = cu_addr();

    rig_init(&r, cap);
    a.receiver_id = DP_MEMBER_BROADCAST;
    dp_builder_init(&r.b, &a, r.frame, cap);
    UNIT_CHECK(dp_builder_add(&r.b, 4, "x", 1, &err) == 0, "add to a broadcast frame");
    rx_frame(&r, r.frame, dp_builder_finish(&r.b));
    UNIT_CHECK(r.got.n == 1 && r.st.rx_frames == 1, "a broadcast frame is accepted");
    for (unsigned i = 0; i < DP_DROP_COUNT; i++) {
        UNIT_CHECK(strcmp(dp_drop_name(i), "unknown") != 0, "drop reason %u has a name", i);
        for (unsigned j = 0; j < i; j++)
            UNIT_CHECK(strcmp(dp_drop_name(i), dp_drop_name(j)) != 0, "drop names %u and %u differ",
                       i, j);
    }
    UNIT_CHECK(strcmp(dp_drop_name(DP_DROP_COUNT), "unknown") == 0, "out-of-range drop name");
    rig_free(&r);
}

int main(void)
{
    static const uint32_t mtus[] = {DP_MTU_MIN, DP_MTU_DEFAULT, 4000, 9000, DP_MTU_JUMBO_MAX};

    for (size_t i = 0; i < sizeof(mtus) / sizeof(mtus[0]); i++)
        for (uint64_t seed = 1; seed <= 6; seed++)
            test_random_mix(mtus[i], seed * 7919 + i);
    test_batching(DP_MTU_DEFAULT, 64);
    test_batching(DP_MTU_DEFAULT, 1024);
    test_batching(DP_MTU_DEFAULT, 0);
    test_batching(9000, 64);
    test_batching(DP_MTU_JUMBO_MAX, 1024);
    test_batching(DP_MTU_MIN, 100);
    test_builder_edges();
    test_broadcast_and_names();
    return unit_finish();
}
