/* frame_reject_test.c - every reason dp_frame_decode drops a datagram for:
 * each forged frame must be refused with its own error code, its own drop
 * counter (and no other) and a sentence; every truncation and every single
 * bit flip of a valid frame must be refused. Prints `N passed, M failed`. */
#include <stdio.h>
#include <string.h>

#include "codec_util.h"
#include "dp_frame.h"
#include "nr_le.h"
#include "unit_check.h"

#define CAP 1472u

static uint8_t frame[CAP];

/* A valid frame from Alice to Bob with three messages; returns its length. */
static uint32_t make_frame(void)
{
    struct dp_builder b;
    struct dp_frame_addr a = cu_addr();
    struct nr_err err;
    uint8_t msg[100];

    dp_builder_init(&b, &a, frame, CAP);
    cu_fill(msg, sizeof(msg), 1);
    (void)dp_builder_add(&b, 1, msg, 10, &err);
    (void)dp_builder_add(&b, 2, msg, 0, &err);
    (void)dp_builder_add(&b, 3, msg, 100, &err);
    return dp_builder_finish(&b);
}

/* A valid fragment (index 1 of a 3000-byte message); returns its length. */
static uint32_t make_fragment(void)
{
    static uint8_t msg[3000];
    struct dp_fragmenter f;
    struct dp_frame_addr a = cu_addr();
    struct nr_err err;

    cu_fill(msg, sizeof(msg), 2);
    (void)dp_frag_init(&f, &a, 5, 6, msg, sizeof(msg), CAP, &err);
    (void)dp_frag_next(&f, frame, CAP);
    return dp_frag_next(&f, frame, CAP);
}

/* Decodes frame[0..len) and checks the drop: code, counter, reason, text. */
static void expect_drop(const char *what, uint32_t len, enum dp_drop want, int want_code)
{
    struct dp_stats st = {0};
    struct dp_rx_filter f = cu_bob_filter();
    struct dp_frame_view v;
    struct nr_err err = {0};
    enum dp_drop reason = DP_DROP_COUNT;

    int rc = dp_frame_decode(&f, frame, len, &v, &st, &reason, &err);
    UNIT_CHECK(rc == want_code, "%s: rc %s, want %s", what, nr_code_name(rc),
               nr_code_name(want_code));
    UNIT_CHECK(reason == want, "%s: reason %s, want %s", what, dp_drop_name(reason),
               dp_drop_name(want));
    UNIT_CHECK(st.drops[want] == 1 && cu_drops_total(&st) == 1 && st.rx_frames == 0,
               "%s: counter %s is %llu, %llu drops in all", what, dp_drop_name(want),
               (unsigned long long)st.drops[want], (unsigned long long)cu_drops_total(&st));
    UNIT_CHECK(err.code == rc && strlen(err.msg) > 20, "%s: error sentence \"%s\"", what, err.msg);
}

static void expect_ok(const char *what, uint32_t len)
{
    struct dp_stats st = {0};
    struct dp_rx_filter f = cu_bob_filter();
    struct dp_frame_view v;
    struct nr_err err = {0};

    int rc = dp_frame_decode(&f, frame, len, &v, &st, NULL, &err);
    UNIT_CHECK(rc == 0 && st.rx_frames == 1 && cu_drops_total(&st) == 0, "%s: %s", what, err.msg);
}

static void test_outer(void)
{
    uint32_t len = make_frame();

    expect_ok("the valid frame", len);
    expect_drop("empty datagram", 0, DP_DROP_TRUNCATED, NR_EINVAL);
    expect_drop("63 bytes", DP_HDR_LEN - 1, DP_DROP_TRUNCATED, NR_EINVAL);
    frame[0] ^= 0x01;
    expect_drop("magic", len, DP_DROP_BAD_MAGIC, NR_EINVAL);
    len = make_frame();
    frame[CU_OFF_VERSION] = 2;
    cu_refresh_crc(frame, len);
    expect_drop("version 2", len, DP_DROP_BAD_VERSION, NR_EINVAL);
    len = make_frame();
    expect_drop("one byte short", len - 1, DP_DROP_BAD_LENGTH, NR_EINVAL);
    frame[len] = 0;
    expect_drop("one byte long", len + 1, DP_DROP_BAD_LENGTH, NR_EINVAL);
    frame[len - 1] ^= 0x80;
    expect_drop("a payload bit", len, DP_DROP_BAD_CHECKSUM, NR_ECORRUPT);
    len = make_frame();
    frame[CU_OFF_CRC] ^= 0x01;
    expect_drop("the crc itself", len, DP_DROP_BAD_CHECKSUM, NR_ECORRUPT);
    len = make_frame();
    frame[CU_OFF_CLUSTER] ^= 0x01; /* without a new CRC: checksum, not cluster */
    expect_drop("a corrupted cluster ID", len, DP_DROP_BAD_CHECKSUM, NR_ECORRUPT);
}

/* Sets a header field and makes the CRC right again. */
static void forge16(uint32_t len, unsigned off, uint16_t v)
{
    cu_put_le16(frame + off, v);
    cu_refresh_crc(frame, len);
}

static void forge32(uint32_t len, unsigned off, uint32_t v)
{
    nr_put_le32(frame + off, v);
    cu_refresh_crc(frame, len);
}

static void test_lengths(void)
{
    uint32_t len = make_frame();

    forge16(len, CU_OFF_N_MSGS, 0);
    expect_drop("n_msgs 0", len, DP_DROP_BAD_LENGTH, NR_EINVAL);
    forge16(len, CU_OFF_N_MSGS, 2);
    expect_drop("n_msgs 2 of 3 records", len, DP_DROP_BAD_LENGTH, NR_EINVAL);
    forge16(len, CU_OFF_N_MSGS, 4);
    expect_drop("n_msgs 4 of 3 records", len, DP_DROP_BAD_LENGTH, NR_EINVAL);
    forge16(len, CU_OFF_N_MSGS, DP_FRAME_MSGS_MAX + 1);
    expect_drop("n_msgs above the bound", len, DP_DROP_BAD_LENGTH, NR_EINVAL);
    len = make_frame();
    forge32(len, DP_HDR_LEN + 4, 11); /* first record: 10 bytes -> 11 */
    expect_drop("a record one byte long", len, DP_DROP_BAD_LENGTH, NR_EINVAL);
    len = make_frame();
    forge32(len, DP_HDR_LEN + 4, UINT32_MAX);
    expect_drop("a record of 4 GiB", len, DP_DROP_BAD_LENGTH, NR_EINVAL);
    len = make_frame();
    forge32(len, DP_HDR_LEN + 4, 9);
    expect_drop("a record one byte short", len, DP_DROP_BAD_LENGTH, NR_EINVAL);
    len = make_fragment();
    expect_ok("the valid fragment", len);
    forge32(len, CU_OFF_FRAG_OFFSET, 3000 - 100);
    expect_drop("a fragment past its message", len, DP_DROP_BAD_LENGTH, NR_EINVAL);
    len = make_fragment();
    forge32(len, CU_OFF_FRAG_OFFSET, UINT32_MAX);
    expect_drop("a fragment at offset 4 GiB", len, DP_DROP_BAD_LENGTH, NR_EINVAL);
}

static void test_fields(void)
{
    uint32_t len = make_frame();

    frame[CU_OFF_FLAGS] = 0x80;
    cu_refresh_crc(frame, len);
    expect_drop("unknown flag", len, DP_DROP_BAD_FIELD, NR_EINVAL);
    len = make_frame();
    forge32(len, CU_OFF_RESERVED, 1);
    expect_drop("reserved header bits", len, DP_DROP_BAD_FIELD, NR_EINVAL);
    len = make_frame();
    forge16(len, DP_HDR_LEN + 2, 1);
    expect_drop("reserved record bits", len, DP_DROP_BAD_FIELD, NR_EINVAL);
    len = make_frame();
    forge16(len, CU_OFF_FRAG_COUNT, 2);
    expect_drop("fragment fields without the flag", len, DP_DROP_BAD_FIELD, NR_EINVAL);
    len = make_fragment();
    forge16(len, CU_OFF_FRAG_COUNT, 1);
    expect_drop("a fragment of count 1", len, DP_DROP_BAD_FIELD, NR_EINVAL);
    len = make_fragment();
    forge16(len, CU_OFF_FRAG_INDEX, 3);
    expect_drop("fragment index = count", len, DP_DROP_BAD_FIELD, NR_EINVAL);
    len = make_fragment();
    forge16(len, CU_OFF_N_MSGS, 2);
    expect_drop("a fragment with 2 records", len, DP_DROP_BAD_FIELD, NR_EINVAL);
}

static void test_filter(void)
{
    uint32_t len = make_frame();

    nr_put_le64(frame + CU_OFF_CLUSTER, CU_CLUSTER + 1);
    cu_refresh_crc(frame, len);
    expect_drop("another cluster", len, DP_DROP_OTHER_CLUSTER, NR_EREFUSED);
    len = make_frame();
    nr_put_le64(frame + CU_OFF_RECEIVER, CU_BOB + 1);
    cu_refresh_crc(frame, len);
    expect_drop("another receiver", len, DP_DROP_NOT_FOR_US, NR_EUNKNOWN);
    len = make_frame();
    nr_put_le64(frame + CU_OFF_SENDER, 0);
    cu_refresh_crc(frame, len);
    expect_drop("sender 0", len, DP_DROP_BAD_SENDER, NR_EUNKNOWN);
    len = make_frame();
    nr_put_le64(frame + CU_OFF_SENDER, CU_BOB);
    cu_refresh_crc(frame, len);
    expect_drop("sender is ourselves", len, DP_DROP_BAD_SENDER, NR_EUNKNOWN);
    len = make_frame();
    nr_put_le64(frame + CU_OFF_RECEIVER, DP_MEMBER_BROADCAST);
    cu_refresh_crc(frame, len);
    expect_ok("broadcast receiver", len);
}

/* Every prefix and every single bit flip of a valid frame is refused. */
static void test_sweeps(void)
{
    struct dp_rx_filter f = cu_bob_filter();
    struct dp_frame_view v;
    struct nr_err err;
    uint32_t len = make_frame();
    uint32_t accepted = 0;

    for (uint32_t n = 0; n < len; n++)
        if (dp_frame_decode(&f, frame, n, &v, NULL, NULL, &err) == 0)
            accepted++;
    UNIT_CHECK(accepted == 0, "%u truncations of a %u-byte frame were accepted", accepted, len);
    accepted = 0;
    for (uint32_t bit = 0; bit < len * 8; bit++) {
        frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (dp_frame_decode(&f, frame, len, &v, NULL, NULL, &err) == 0)
            accepted++;
        frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    UNIT_CHECK(accepted == 0, "%u single bit flips were accepted", accepted);
    expect_ok("the frame after the sweeps", len);
}

int main(void)
{
    test_outer();
    test_lengths();
    test_fields();
    test_filter();
    test_sweeps();
    return unit_finish();
}
