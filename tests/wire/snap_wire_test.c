/* snap_wire_test.c - snapshot chunks and acks through snap_wire: round
 * trips at the bounds, in-place encoding, the CRC refusal (NR_ECORRUPT),
 * and one table row per other rule (NR_EINVAL naming the field). Prints
 * `N passed, M failed`. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crc.h"
#include "nr_le.h"
#include "snap_wire.h"
#include "unit_check.h"
#include "wire_samples.h"

static uint8_t buf[SNAP_CHUNK_HDR_LEN + SNAP_CHUNK_LEN_MAX + 16];
static uint8_t data[SNAP_CHUNK_LEN_MAX + 1];

static bool chunk_equal(const struct snap_chunk *a, const struct snap_chunk *b)
{
    return a->stream_id == b->stream_id && a->leader_term == b->leader_term &&
           a->leader_id == b->leader_id && a->snap_index == b->snap_index &&
           a->snap_term == b->snap_term && a->total_len == b->total_len && a->offset == b->offset &&
           a->chunk_len == b->chunk_len &&
           (a->chunk_len == 0 || memcmp(a->data, b->data, a->chunk_len) == 0);
}

static void chunk_round_trip(const char *what, const struct snap_chunk *c, uint64_t total_max)
{
    struct snap_chunk out;
    struct nr_err err = {0};

    int n = snap_chunk_encode(c, total_max, buf, sizeof(buf), &err);
    if (!UNIT_CHECK(n == (int)(SNAP_CHUNK_HDR_LEN + c->chunk_len), "%s: encode %d: %s", what, n,
                    err.msg))
        return;
    int rc = snap_chunk_decode(buf, (uint32_t)n, total_max, &out, &err);
    if (!UNIT_CHECK(rc == 0, "%s: decode: %s", what, err.msg))
        return;
    UNIT_CHECK(chunk_equal(c, &out), "%s: fields differ", what);
    UNIT_CHECK(out.data == buf + SNAP_CHUNK_HDR_LEN, "%s: data not in the buffer", what);
    UNIT_CHECK(out.crc32c == nr_crc32c(0, c->data, c->chunk_len), "%s: crc 0x%08" PRIx32, what,
               out.crc32c);
}

static void test_chunks(void)
{
    struct snap_chunk c;
    struct nr_err err;

    ws_chunk(&c, data, 4096);
    chunk_round_trip("last chunk at the total bound", &c, WS_TOTAL_MAX);
    ws_chunk(&c, data, SNAP_CHUNK_LEN_MAX);
    c.offset = 0;
    chunk_round_trip("a chunk of SNAP_CHUNK_LEN_MAX at 0", &c, WS_TOTAL_MAX);
    c = (struct snap_chunk){.stream_id = 1,
                            .leader_term = 1,
                            .leader_id = 1,
                            .snap_index = 1,
                            .snap_term = 1,
                            .total_len = 1,
                            .chunk_len = 1,
                            .data = data};
    chunk_round_trip("one byte, everything at its smallest", &c, 1);
    c.total_len = c.chunk_len = 0;
    c.data = NULL;
    chunk_round_trip("an empty snapshot", &c, 0);

    /* In place: the data already sits behind the header. */
    uint8_t *in_place = buf + SNAP_CHUNK_HDR_LEN;
    memcpy(in_place, data, 1000);
    ws_chunk(&c, in_place, 1000);
    int n = snap_chunk_encode(&c, WS_TOTAL_MAX, buf, sizeof(buf), &err);
    struct snap_chunk out;
    UNIT_CHECK(n == (int)SNAP_CHUNK_HDR_LEN + 1000 &&
                       snap_chunk_decode(buf, (uint32_t)n, WS_TOTAL_MAX, &out, &err) == 0 &&
                       memcmp(out.data, data, 1000) == 0,
               "in-place encoding: %s", err.msg);

    /* Every byte of the data matters: a flipped one is a CRC refusal. */
    ws_chunk(&c, data, 100);
    n = snap_chunk_encode(&c, WS_TOTAL_MAX, buf, sizeof(buf), &err);
    buf[SNAP_CHUNK_HDR_LEN + 50] ^= 0x10;
    ws_expect_refusal("flipped data byte",
                      snap_chunk_decode(buf, (uint32_t)n, WS_TOTAL_MAX, &out, &err), &err,
                      NR_ECORRUPT, "CRC32C of 100 bytes is 0x");
    buf[SNAP_CHUNK_HDR_LEN + 50] ^= 0x10;
    buf[64] ^= 1;
    ws_expect_refusal("flipped stored crc",
                      snap_chunk_decode(buf, (uint32_t)n, WS_TOTAL_MAX, &out, &err), &err,
                      NR_ECORRUPT, "the chunk says 0x");

    /* Encoder refusals. */
    ws_chunk(&c, data, 100);
    ws_expect_refusal("encode beyond the bound",
                      snap_chunk_encode(&c, WS_TOTAL_MAX - 1, buf, sizeof(buf), &err), &err,
                      NR_EINVAL, "beyond the bound");
    ws_expect_refusal("encode into a short buffer",
                      snap_chunk_encode(&c, WS_TOTAL_MAX, buf, SNAP_CHUNK_HDR_LEN + 99, &err), &err,
                      NR_EBUSY, "do not fit");
    c.data = NULL;
    ws_expect_refusal("encode without data",
                      snap_chunk_encode(&c, WS_TOTAL_MAX, buf, sizeof(buf), &err), &err, NR_EINVAL,
                      "no data");
    ws_chunk(&c, data, SNAP_CHUNK_LEN_MAX + 1);
    ws_expect_refusal("encode a long chunk",
                      snap_chunk_encode(&c, WS_TOTAL_MAX, buf, sizeof(buf), &err), &err, NR_EINVAL,
                      "1048577 bytes; at most 1048576 per chunk");
}

/* ---- the chunk decoder's rules, one row each (on a 100-byte chunk) ---- */

struct reject_row {
    const char *what;
    uint32_t off;   /* UINT32_MAX: append one byte; UINT32_MAX - 1: drop one */
    uint32_t width; /* 1, 4 or 8 */
    uint64_t value;
    const char *substr;
};

static const struct reject_row chunk_rows[] = {
        {"version 0", 0, 1, 0, "version 0; this node speaks 1"},
        {"version 9", 0, 1, 9, "version 9"},
        {"reserved byte 2", 2, 1, 1, "reserved bytes 1..3 (0 1 0)"},
        {"reserved word 68", 68, 4, 5, "68..71 (0x00000005)"},
        {"chunk_len above the bytes", 4, 4, 101, "header says 101 bytes, 100 follow"},
        {"chunk_len below the bytes", 4, 4, 99, "header says 99 bytes, 100 follow"},
        {"trailing byte", UINT32_MAX, 1, 0, "header says 100 bytes, 101 follow"},
        {"missing byte", UINT32_MAX - 1, 1, 0, "header says 100 bytes, 99 follow"},
        {"stream 0", 8, 8, 0, "stream 0000000000000000"},
        {"leader term 0", 16, 8, 0, "leader term 0 is not 1.."},
        {"leader term beyond", 16, 8, RAFT_TERM_MAX + 1, "leader term 4611686018427387905"},
        {"leader 0", 24, 8, 0, "both must be non-zero"},
        {"snapshot index 0", 32, 8, 0, "snapshot index 0 is not"},
        {"snapshot index beyond", 32, 8, RAFT_INDEX_MAX + 1, "snapshot index 4611686018427387905"},
        {"snapshot term 0", 40, 8, 0, "snapshot term 0 is not"},
        {"snapshot term above the leader's", 16, 8, 5,
         "snapshot term 4611686018427387904 is not 1..5"},
        {"total beyond the bound", 48, 8, WS_TOTAL_MAX + 1,
         "total length 1099511627777 bytes is "
         "beyond the bound of 1099511627776"},
        {"offset + len beyond total", 56, 8, WS_TOTAL_MAX - 99, "offset 1099511627677 + 100 bytes"},
        {"offset wraps", 56, 8, UINT64_MAX - 10, "goes beyond the total"},
        {"total below the chunk", 48, 8, 99, "goes beyond the total length 99"},
};

static void test_chunk_refusals(void)
{
    struct snap_chunk c, out;
    struct nr_err err = {0};

    for (unsigned i = 0; i < sizeof(chunk_rows) / sizeof(chunk_rows[0]); i++) {
        const struct reject_row *r = &chunk_rows[i];
        ws_chunk(&c, data, 100);
        uint32_t len = (uint32_t)snap_chunk_encode(&c, WS_TOTAL_MAX, buf, sizeof(buf), &err);
        if (r->off == UINT32_MAX)
            buf[len++] = 0;
        else if (r->off == UINT32_MAX - 1)
            len--;
        else if (r->width == 1)
            buf[r->off] = (uint8_t)r->value;
        else if (r->width == 4)
            nr_put_le32(buf + r->off, (uint32_t)r->value);
        else
            nr_put_le64(buf + r->off, r->value);
        ws_expect_refusal(r->what, snap_chunk_decode(buf, len, WS_TOTAL_MAX, &out, &err), &err,
                          NR_EINVAL, r->substr);
    }
    /* An empty chunk inside a non-empty snapshot. */
    ws_chunk(&c, data, 0);
    c.total_len = 10;
    c.offset = 10;
    ws_expect_refusal("empty chunk", snap_chunk_encode(&c, WS_TOTAL_MAX, buf, sizeof(buf), &err),
                      &err, NR_EINVAL, "empty chunk at offset 10 of 10 bytes");
    ws_expect_refusal("short header",
                      snap_chunk_decode(buf, SNAP_CHUNK_HDR_LEN - 1, WS_TOTAL_MAX, &out, &err),
                      &err, NR_EINVAL, "71 bytes, shorter than the 72-byte header");
}

/* ---- acks ---- */

static void test_acks(void)
{
    struct snap_ack a, out;
    struct nr_err err = {0};
    uint8_t ack[SNAP_ACK_LEN + 1];

    for (uint32_t status = SNAP_ACK_OK; status <= SNAP_ACK_ABORT; status++) {
        for (uint32_t reason = 0; reason <= SNAP_ABORT_REASON_MAX; reason++) {
            bool valid = (status == SNAP_ACK_ABORT) == (reason != 0);
            ws_ack(&a, status, reason);
            int n = snap_ack_encode(&a, ack, sizeof(ack), &err);
            if (!valid) {
                ws_expect_refusal("encode a status with a wrong reason", n, &err, NR_EINVAL,
                                  "reason");
                continue;
            }
            UNIT_CHECK(n == (int)SNAP_ACK_LEN, "ack %s %s: encode %d: %s",
                       snap_ack_status_name(status), snap_abort_reason_name(reason), n, err.msg);
            int rc = snap_ack_decode(ack, SNAP_ACK_LEN, &out, &err);
            UNIT_CHECK(rc == 0 && memcmp(&a, &out, sizeof(a)) == 0, "ack %s %s: decode: %s",
                       snap_ack_status_name(status), snap_abort_reason_name(reason), err.msg);
        }
    }
    a = (struct snap_ack){
            .stream_id = 1, .term = 1, .snap_index = 1, .snap_term = 1, .status = SNAP_ACK_OK};
    UNIT_CHECK(snap_ack_encode(&a, ack, SNAP_ACK_LEN, &err) == (int)SNAP_ACK_LEN &&
                       snap_ack_decode(ack, SNAP_ACK_LEN, &out, &err) == 0 &&
                       memcmp(&a, &out, sizeof(a)) == 0,
               "ack at the bottom: %s", err.msg);
    ws_expect_refusal("encode into 47 bytes", snap_ack_encode(&a, ack, SNAP_ACK_LEN - 1, &err),
                      &err, NR_EBUSY, "do not fit");

    static const struct {
        const char *what;
        uint32_t off, width;
        uint64_t value;
        const char *substr;
    } rows[] = {
            {"version 2", 0, 1, 2, "version 2; this node speaks 1"},
            {"status 0", 1, 1, 0, "status 0 is not 1..3"},
            {"status 4", 1, 1, 4, "status 4 is not 1..3"},
            {"OK with a reason", 2, 1, 1, "status OK with abort reason 1"},
            {"reserved byte 3", 3, 1, 1, "reserved byte 3 is 1"},
            {"reserved byte 7", 7, 1, 0x80, "reserved byte 7 is 128"},
            {"stream 0", 8, 8, 0, "stream ID 0"},
            {"term 0", 16, 8, 0, "term 0 or snapshot term"},
            {"term beyond", 16, 8, RAFT_TERM_MAX + 1, "term 4611686018427387905"},
            {"snapshot index 0", 24, 8, 0, "snapshot index 0"},
            {"snapshot index beyond", 24, 8, RAFT_INDEX_MAX + 1,
             "snapshot index 4611686018427387905"},
            {"snapshot term 0", 32, 8, 0, "snapshot term 0"},
    };
    for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ws_ack(&a, SNAP_ACK_OK, 0);
        (void)snap_ack_encode(&a, ack, sizeof(ack), &err);
        if (rows[i].width == 1)
            ack[rows[i].off] = (uint8_t)rows[i].value;
        else
            nr_put_le64(ack + rows[i].off, rows[i].value);
        ws_expect_refusal(rows[i].what, snap_ack_decode(ack, SNAP_ACK_LEN, &out, &err), &err,
                          NR_EINVAL, rows[i].substr);
    }
    ws_ack(&a, SNAP_ACK_ABORT, SNAP_ABORT_STALE);
    (void)snap_ack_encode(&a, ack, sizeof(ack), &err);
    ack[2] = 0;
    ws_expect_refusal("ABORT without a reason", snap_ack_decode(ack, SNAP_ACK_LEN, &out, &err),
                      &err, NR_EINVAL, "abort reason 0 is not 1..5");
    ack[2] = 6;
    ws_expect_refusal("ABORT reason 6", snap_ack_decode(ack, SNAP_ACK_LEN, &out, &err), &err,
                      NR_EINVAL, "abort reason 6 is not 1..5");
    ws_expect_refusal("47 bytes", snap_ack_decode(ack, SNAP_ACK_LEN - 1, &out, &err), &err,
                      NR_EINVAL, "47 bytes; want exactly 48");
    ws_expect_refusal("49 bytes", snap_ack_decode(ack, SNAP_ACK_LEN + 1, &out, &err), &err,
                      NR_EINVAL, "49 bytes; want exactly 48");
    UNIT_CHECK(strcmp(snap_abort_reason_name(SNAP_ABORT_BAD_CRC), "bad-crc") == 0 &&
                       strcmp(snap_abort_reason_name(99), "unknown") == 0 &&
                       strcmp(snap_ack_status_name(SNAP_ACK_DONE), "DONE") == 0,
               "status and reason names");
}

int main(void)
{
    for (uint32_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13u + (i >> 9));
    test_chunks();
    test_chunk_refusals();
    test_acks();
    return unit_finish();
}
