/* wal_corrupt_test.c - every way replay refuses, each with its specific
 * error (code, file, offset, indexes), and the cases it must accept: a torn
 * final batch (cut off and logged with its offset), a batch issued while
 * the torn one was in flight, records left by an earlier use of the file.
 * Images are built here with an encoder of our own (the layout of
 * wal_format.h, written independently of wal.c) or written by the WAL and
 * then damaged on disk. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_check.h"
#include "wal_format.h"
#include "wal_test_util.h"

#define IMG_SIZE (64u << 10)

struct img {
    uint8_t buf[IMG_SIZE];
    uint64_t off, bstart, batch_no;
    uint32_t tag, nrec;
};

static struct img g_img;
static const struct wal_replay_opts g_ro = {"(test)", WTU_CLUSTER, WTU_MEMBER, WTU_GROUP};

static void img_init(struct img *m, uint64_t seq, uint64_t first)
{
    struct wal_seg_hdr h = {WAL_FORMAT_VERSION, WTU_GROUP, WTU_CLUSTER, WTU_MEMBER, seq, first,
                            IMG_SIZE};
    memset(m->buf, 0, IMG_SIZE);
    wal_seg_hdr_encode(m->buf, &h);
    m->off = WAL_BLOCK;
    m->tag = (uint32_t)seq;
    m->batch_no = 1;
}

static void img_begin(struct img *m)
{
    m->bstart = m->off;
    m->off += wal_rec_size(WAL_BATCH_PAYLOAD);
    m->nrec = 0;
}

static void img_entry(struct img *m, uint64_t index, uint64_t term)
{
    uint8_t *q = m->buf + m->off + WAL_REC_HDR;
    nr_put_le64(q + WAL_ENTRY_OFF_TERM, term);
    nr_put_le64(q + WAL_ENTRY_OFF_INDEX, index);
    nr_put_le32(q + WAL_ENTRY_OFF_GROUP, WTU_GROUP);
    nr_put_le32(q + WAL_ENTRY_OFF_TYPE, 0);
    memset(q + WAL_ENTRY_HDR, (int)index, 10);
    m->off += wal_rec_seal(m->buf + m->off, WAL_REC_ENTRY, WAL_ENTRY_HDR + 10, m->tag);
    m->nrec++;
}

static void img_hard(struct img *m, uint64_t term, uint64_t commit)
{
    uint8_t *q = m->buf + m->off + WAL_REC_HDR;
    nr_put_le64(q + WAL_HARD_OFF_TERM, term);
    nr_put_le64(q + WAL_HARD_OFF_VOTE, 1);
    nr_put_le64(q + WAL_HARD_OFF_COMMIT, commit);
    m->off += wal_rec_seal(m->buf + m->off, WAL_REC_HARD, WAL_HARD_PAYLOAD, m->tag);
    m->nrec++;
}

/* Seals the batch; durable == UINT64_MAX means "everything before it". */
static uint64_t img_end(struct img *m, uint64_t durable)
{
    uint8_t *q = m->buf + m->bstart + WAL_REC_HDR;
    uint32_t blen = (uint32_t)wal_round_block(m->off - m->bstart);
    nr_put_le64(q + WAL_BATCH_OFF_SEQ, m->batch_no++);
    nr_put_le64(q + WAL_BATCH_OFF_DURABLE, durable == UINT64_MAX ? m->bstart : durable);
    nr_put_le32(q + WAL_BATCH_OFF_LEN, blen);
    nr_put_le32(q + WAL_BATCH_OFF_NREC, m->nrec);
    wal_rec_seal(m->buf + m->bstart, WAL_REC_BATCH, WAL_BATCH_PAYLOAD, m->tag);
    m->off = m->bstart + blen;
    return m->bstart;
}

/* Batches of 3 entries from 1 to n (term 1), hard state commit n - 1. */
static uint64_t img_batches(struct img *m, uint64_t n, uint64_t *offs)
{
    uint64_t k = 0;
    for (uint64_t i = 1; i <= n; i += 3, k++) {
        img_begin(m);
        for (uint64_t j = i; j < i + 3 && j <= n; j++)
            img_entry(m, j, 1);
        img_hard(m, 1, i > 1 ? i - 1 : 0);
        offs[k] = img_end(m, UINT64_MAX);
    }
    return k;
}

static int replay_img(struct wal_recovery *r, struct nr_err *err)
{
    return wal_replay_buf(&g_ro, g_img.buf, IMG_SIZE, r, err);
}

static bool has(const char *msg, const char *s)
{
    return strstr(msg, s) != NULL;
}

static void test_images(void)
{
    struct wal_recovery r;
    struct nr_err err = {0};
    uint64_t offs[16];
    char at[64];

    img_init(&g_img, 1, 1);
    img_batches(&g_img, 12, offs);
    int rc = replay_img(&r, &err);
    UNIT_CHECK(rc == 0 && r.n_entries == 12 && r.hard_state.commit == 9 && !r.is_torn,
               "a clean image replays: %s", err.msg);
    if (rc == 0)
        wal_recovery_free(&r);

    /* A flipped bit in batch 2 of 4: bad before a valid batch. */
    g_img.buf[offs[1] + 40] ^= 4;
    rc = replay_img(&r, &err);
    snprintf(at, sizeof(at), "offset %" PRIu64 ":", offs[1]);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, at) && has(err.msg, "before a valid batch") &&
               has(err.msg, "up to index 3") && has(err.msg, "refusing to start"),
               "bad checksum before the last valid record refused: %s", err.msg);
    g_img.buf[offs[1] + 40] ^= 4;

    /* The same flip in the last batch: a torn tail, cut off and logged. */
    g_img.buf[offs[3] + 40] ^= 4;
    rc = replay_img(&r, &err);
    snprintf(at, sizeof(at), "offset %" PRIu64, offs[3]);
    UNIT_CHECK(rc == 0 && r.is_torn && r.torn_offset == offs[3] && r.n_entries == 9 &&
               has(r.note, at), "a torn final batch is cut: %s", rc == 0 ? r.note : err.msg);
    if (rc == 0)
        wal_recovery_free(&r);
    g_img.buf[offs[3] + 40] ^= 4;
    /* A half-written final batch (its second sector never reached disk). */
    memset(g_img.buf + offs[3] + 100, 0, 60);
    rc = replay_img(&r, &err);
    UNIT_CHECK(rc == 0 && r.is_torn && r.n_entries == 9, "a partly written batch is cut: %s",
               err.msg);
    if (rc == 0)
        wal_recovery_free(&r);
}

static void test_in_flight_and_stale(void)
{
    struct wal_recovery r;
    struct nr_err err = {0};
    uint64_t offs[16];

    /* Batch 2 torn, batch 3 issued while 2 was in flight (durable_off at
     * batch 2): neither acknowledged, both cut. */
    img_init(&g_img, 1, 1);
    img_batches(&g_img, 3, offs);
    img_begin(&g_img);
    img_entry(&g_img, 4, 1);
    uint64_t b2 = img_end(&g_img, UINT64_MAX);
    img_begin(&g_img);
    img_entry(&g_img, 5, 1);
    img_end(&g_img, b2);
    g_img.buf[b2 + 30] ^= 1;
    int rc = replay_img(&r, &err);
    UNIT_CHECK(rc == 0 && r.n_entries == 3 && r.is_torn,
               "a batch issued while the torn one was in flight is cut with it: %s", err.msg);
    if (rc == 0)
        wal_recovery_free(&r);

    /* Records of an earlier use of the file (another tag) after the end. */
    img_init(&g_img, 1, 1);
    img_batches(&g_img, 3, offs);
    uint64_t end = g_img.off;
    g_img.tag = 77;
    g_img.off = end + WAL_BLOCK;
    img_begin(&g_img);
    img_entry(&g_img, 900, 5);
    img_end(&g_img, 5000);
    rc = replay_img(&r, &err);
    UNIT_CHECK(rc == 0 && r.n_entries == 3 && !r.is_torn,
               "an earlier use's records are not ours: %s", err.msg);
    if (rc == 0)
        wal_recovery_free(&r);
}

static void test_semantic(void)
{
    struct wal_recovery r;
    struct nr_err err = {0};

    img_init(&g_img, 1, 1);
    img_begin(&g_img);
    img_entry(&g_img, 1, 1);
    img_entry(&g_img, 2, 1);
    img_entry(&g_img, 4, 1);
    img_end(&g_img, UINT64_MAX);
    int rc = replay_img(&r, &err);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, "entry 4 outside the log held (1..2)") &&
               has(err.msg, "offset"), "a gap in indexes refused: %s", err.msg);

    img_init(&g_img, 1, 1);
    img_begin(&g_img);
    img_entry(&g_img, 1, 2);
    img_entry(&g_img, 2, 1);
    img_end(&g_img, UINT64_MAX);
    rc = replay_img(&r, &err);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, "term 1 after term 2"),
               "terms going down refused: %s", err.msg);

    img_init(&g_img, 1, 1);
    img_begin(&g_img);
    img_entry(&g_img, 1, 1);
    img_hard(&g_img, 1, 5);
    img_end(&g_img, UINT64_MAX);
    rc = replay_img(&r, &err);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, "commits index 5") &&
               has(err.msg, "log ends at 1"), "a commit beyond the log refused: %s", err.msg);

    img_init(&g_img, 1, 4);
    img_batches(&g_img, 0, (uint64_t[1]){0});
    img_begin(&g_img);
    img_entry(&g_img, 4, 1);
    img_end(&g_img, UINT64_MAX);
    rc = replay_img(&r, &err);
    UNIT_CHECK(rc == NR_ECORRUPT && has(err.msg, "entries 1..3 are missing"),
               "a log starting after a missing first segment refused: %s", err.msg);

    g_img.buf[WAL_REC_HDR + 2] ^= 1; /* header checksum no longer holds */
    rc = replay_img(&r, &err);
    UNIT_CHECK(rc == 0 && r.n_used == 0 && r.n_entries == 0,
               "a lone image with a torn header holds nothing: %d %s", rc, err.msg);
    if (rc == 0)
        wal_recovery_free(&r);
}

static void test_foreign_header(void)
{
    struct wal_recovery r;
    struct nr_err err = {0};
    struct wal_seg_hdr h = {WAL_FORMAT_VERSION, WTU_GROUP, 0x99, WTU_MEMBER, 1, 1, IMG_SIZE};

    wal_seg_hdr_encode(g_img.buf, &h);
    int rc = replay_img(&r, &err);
    UNIT_CHECK(rc == NR_EREFUSED && has(err.msg, "cluster 0000000000000099") &&
               has(err.msg, "cluster c1c1c1c1c1c1c1c1"),
               "another cluster's segment refused with both IDs: %s", err.msg);
    h.cluster_id = WTU_CLUSTER;
    h.member_id = 5;
    wal_seg_hdr_encode(g_img.buf, &h);
    rc = replay_img(&r, &err);
    UNIT_CHECK(rc == NR_EREFUSED && has(err.msg, "member 0000000000000005") &&
               has(err.msg, "member 0000000000000002"),
               "another member's segment refused with both IDs: %s", err.msg);
    h.member_id = WTU_MEMBER;
    h.version = 2;
    wal_seg_hdr_encode(g_img.buf, &h);
    rc = replay_img(&r, &err);
    UNIT_CHECK(rc == NR_EREFUSED && has(err.msg, "not a version 1"),
               "another version refused: %s", err.msg);
}

int wal_corrupt_files_main(void);

int main(void)
{
    test_images();
    test_in_flight_and_stale();
    test_semantic();
    test_foreign_header();
    wal_corrupt_files_main();
    return unit_finish();
}
