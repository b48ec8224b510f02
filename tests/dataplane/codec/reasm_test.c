/* reasm_test.c - fragmentation and bounded reassembly: fragments in order,
 * reversed, shuffled, duplicated, interleaved between messages and senders;
 * timeouts; a full buffer; a message over the limit; fragments that
 * contradict each other; the configuration checks. Prints `N passed, M
 * failed` last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_util.h"
#include "dp_frame.h"
#include "dp_reasm.h"
#include "nr_le.h"
#include "unit_check.h"

#define CAP 548u /* MTU 576: pieces of 476 bytes */
#define FRAGS_MAX 64u
#define TIMEOUT_NS 1000u

struct frags {
    uint32_t n;
    uint32_t len[FRAGS_MAX];
    uint8_t buf[FRAGS_MAX][CAP];
};

static struct frags fa, fb;
static uint8_t msg_a[20000], msg_b[20000];

/* Cuts len bytes (cu_fill with seed) into fragment frames. */
static void cut(struct frags *fr, uint8_t *msg, uint32_t len, uint64_t seed, uint64_t sender,
                uint32_t msg_id, uint16_t kind)
{
    struct dp_fragmenter f;
    struct dp_frame_addr a = cu_addr();
    struct nr_err err = {0};

    a.sender_id = sender;
    cu_fill(msg, len, seed);
    int rc = dp_frag_init(&f, &a, msg_id, kind, msg, len, CAP, &err);
    UNIT_CHECK(rc == 0, "dp_frag_init: %s", err.msg);
    fr->n = 0;
    while (rc == 0 && fr->n < FRAGS_MAX) {
        uint32_t n = dp_frag_next(&f, fr->buf[fr->n], CAP);
        if (n == 0)
            break;
        fr->len[fr->n++] = n;
    }
}

struct rx {
    struct dp_reasm *r;
    struct dp_stats st;
    struct cu_collect got;
    struct nr_err err;
};

static void rx_init(struct rx *x, uint32_t n_slots, uint32_t msg_len_max)
{
    struct dp_reasm_config c = {
            .n_slots = n_slots, .msg_len_max = msg_len_max, .timeout_ns = TIMEOUT_NS};
    memset(x, 0, sizeof(*x));
    if (dp_reasm_create(&c, &x->r, &x->err) != 0) {
        fprintf(stderr, "setup: %s\n", x->err.msg);
        exit(2);
    }
    cu_collect_init(&x->got);
}

static void rx_free(struct rx *x)
{
    dp_reasm_destroy(x->r);
    cu_collect_free(&x->got);
}

static int feed(struct rx *x, const struct frags *fr, uint32_t i, uint64_t now)
{
    struct dp_rx_filter f = cu_bob_filter();
    return dp_rx_payload(&f, x->r, fr->buf[i], fr->len[i], now, cu_collect_fn, &x->got, &x->st,
                         &x->err);
}

static bool got_msg(const struct rx *x, uint32_t i, const uint8_t *msg, uint32_t len,
                    uint64_t sender, uint16_t kind)
{
    return x->got.n > i && x->got.len[i] == len && x->got.kind[i] == kind &&
           x->got.sender_id[i] == sender && x->got.group_id[i] == CU_GROUP &&
           memcmp(x->got.bytes + x->got.off[i], msg, len) == 0;
}

/* Orders: 0 in order, 1 reversed, else shuffled; dups: duplicates sent. */
static void test_order(int order, uint64_t seed, uint32_t dups)
{
    uint64_t rng = seed;
    uint32_t perm[FRAGS_MAX];
    struct rx x;
    uint32_t len = 3000 + (uint32_t)unit_below(&rng, 15000);

    rx_init(&x, 4, 20000);
    cut(&fa, msg_a, len, seed, CU_ALICE, 42, 9);
    for (uint32_t i = 0; i < fa.n; i++)
        perm[i] = order == 1 ? fa.n - 1 - i : i;
    for (uint32_t i = fa.n - 1; order > 1 && i > 0; i--) {
        uint32_t j = (uint32_t)unit_below(&rng, i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    uint32_t n_dup = 0;
    for (uint32_t i = 0; i < fa.n; i++) {
        int rc = feed(&x, &fa, perm[i], 10);
        UNIT_CHECK(rc == (i == fa.n - 1 ? 1 : 0), "order %d: fragment %u gave %d: %s", order,
                   perm[i], rc, x.err.msg);
        if (i + 1 < fa.n && n_dup < dups) { /* a duplicate of one already held */
            rc = feed(&x, &fa, perm[unit_below(&rng, i + 1)], 10);
            UNIT_CHECK(rc == 0, "a duplicate gave %d", rc);
            n_dup++;
        }
    }
    UNIT_CHECK(x.got.n == 1 && got_msg(&x, 0, msg_a, len, CU_ALICE, 9),
               "order %d seed %llu: %u messages, the first %u bytes", order,
               (unsigned long long)seed, x.got.n, x.got.n ? x.got.len[0] : 0);
    UNIT_CHECK(x.st.drops[DP_DROP_FRAG_DUPLICATE] == n_dup && cu_drops_total(&x.st) == n_dup,
               "%u duplicates, counted %llu", n_dup,
               (unsigned long long)x.st.drops[DP_DROP_FRAG_DUPLICATE]);
    UNIT_CHECK(x.st.rx_reassembled == 1 && x.st.rx_frags == fa.n && x.st.rx_msgs == 1,
               "counters: reassembled %llu, frags %llu", (unsigned long long)x.st.rx_reassembled,
               (unsigned long long)x.st.rx_frags);
    UNIT_CHECK(dp_reasm_in_use(x.r) == 0, "nothing left partial");
    rx_free(&x);
}

/* Two messages of one sender and one of another, interleaved. */
static void test_interleaved(void)
{
    static struct frags fc;
    static uint8_t msg_c[20000];
    struct rx x;

    rx_init(&x, 4, 20000);
    cut(&fa, msg_a, 5000, 1, CU_ALICE, 1, 1);
    cut(&fb, msg_b, 7000, 2, CU_ALICE, 2, 2);
    cut(&fc, msg_c, 6000, 3, CU_ALICE + 5, 1, 3); /* same msg_id, other sender */
    uint32_t n = fa.n > fb.n ? fa.n : fb.n;
    for (uint32_t i = 0; i < n; i++) {
        if (i < fb.n)
            (void)feed(&x, &fb, fb.n - 1 - i, 5);
        if (i < fc.n)
            (void)feed(&x, &fc, i, 5);
        if (i < fa.n)
            (void)feed(&x, &fa, i, 5);
    }
    UNIT_CHECK(x.got.n == 3, "3 interleaved messages: %u delivered", x.got.n);
    bool a = false, b = false, c = false;
    for (uint32_t i = 0; i < x.got.n; i++) {
        a = a || got_msg(&x, i, msg_a, 5000, CU_ALICE, 1);
        b = b || got_msg(&x, i, msg_b, 7000, CU_ALICE, 2);
        c = c || got_msg(&x, i, msg_c, 6000, CU_ALICE + 5, 3);
    }
    UNIT_CHECK(a && b && c, "each interleaved message whole: %d %d %d", a, b, c);
    UNIT_CHECK(cu_drops_total(&x.st) == 0, "no drops");
    rx_free(&x);
}

static void test_timeout(void)
{
    struct rx x;

    rx_init(&x, 4, 20000);
    cut(&fa, msg_a, 3000, 1, CU_ALICE, 1, 1);
    for (uint32_t i = 0; i < 3; i++)
        (void)feed(&x, &fa, i, 100);
    UNIT_CHECK(dp_reasm_in_use(x.r) == 1, "one partial message");
    UNIT_CHECK(dp_reasm_expire(x.r, 100 + TIMEOUT_NS, &x.st) == 0, "not expired at the timeout");
    UNIT_CHECK(dp_reasm_expire(x.r, 50, &x.st) == 0, "a clock behind never expires");
    UNIT_CHECK(dp_reasm_expire(x.r, 101 + TIMEOUT_NS, &x.st) == 1, "expired after it");
    UNIT_CHECK(x.st.drops[DP_DROP_REASM_TIMEOUT] == 1 && dp_reasm_in_use(x.r) == 0,
               "timeout counted once (%llu), slot free",
               (unsigned long long)x.st.drops[DP_DROP_REASM_TIMEOUT]);
    for (uint32_t i = 3; i < fa.n; i++)
        (void)feed(&x, &fa, i, 200 + TIMEOUT_NS);
    UNIT_CHECK(x.got.n == 0 && dp_reasm_in_use(x.r) == 1, "the rest alone does not complete");
    /* A later fragment of another message expires it on the way. */
    cut(&fb, msg_b, 3000, 2, CU_ALICE, 2, 1);
    UNIT_CHECK(feed(&x, &fb, 0, 201 + 2 * TIMEOUT_NS) == 0, "a new message opens");
    UNIT_CHECK(x.st.drops[DP_DROP_REASM_TIMEOUT] == 2 && dp_reasm_in_use(x.r) == 1,
               "dp_reasm_add expired the old one: %llu timeouts, %u in use",
               (unsigned long long)x.st.drops[DP_DROP_REASM_TIMEOUT], dp_reasm_in_use(x.r));
    rx_free(&x);
}

static void test_full(void)
{
    static struct frags fc;
    static uint8_t msg_c[20000];
    struct rx x;

    rx_init(&x, 2, 20000);
    cut(&fa, msg_a, 3000, 1, CU_ALICE, 1, 1);
    cut(&fb, msg_b, 3000, 2, CU_ALICE, 2, 1);
    cut(&fc, msg_c, 3000, 3, CU_ALICE, 3, 1);
    UNIT_CHECK(feed(&x, &fa, 0, 1) == 0 && feed(&x, &fb, 0, 1) == 0, "two slots fill");
    int rc = feed(&x, &fc, 0, 1);
    UNIT_CHECK(rc == NR_EBUSY && x.err.code == NR_EBUSY && x.st.drops[DP_DROP_REASM_FULL] == 1,
               "a third message: rc %d, full %llu, \"%s\"", rc,
               (unsigned long long)x.st.drops[DP_DROP_REASM_FULL], x.err.msg);
    for (uint32_t i = 1; i < fa.n; i++)
        (void)feed(&x, &fa, i, 2);
    UNIT_CHECK(x.got.n == 1 && got_msg(&x, 0, msg_a, 3000, CU_ALICE, 1), "the first completes");
    for (uint32_t i = 0; i < fc.n; i++)
        UNIT_CHECK(feed(&x, &fc, i, 3) >= 0, "the third fits now: %s", x.err.msg);
    UNIT_CHECK(x.got.n == 2 && got_msg(&x, 1, msg_c, 3000, CU_ALICE, 1), "the third completes");
    /* Without a reassembly buffer fragments are dropped as full. */
    struct dp_rx_filter f = cu_bob_filter();
    rc = dp_rx_payload(&f, NULL, fb.buf[1], fb.len[1], 3, cu_collect_fn, &x.got, &x.st, &x.err);
    UNIT_CHECK(rc == NR_EBUSY && x.st.drops[DP_DROP_REASM_FULL] == 2, "no buffer: rc %d", rc);
    rx_free(&x);
}

static void test_too_big(void)
{
    struct rx x;

    rx_init(&x, 2, 2999);
    cut(&fa, msg_a, 3000, 1, CU_ALICE, 1, 1);
    int rc = feed(&x, &fa, 0, 1);
    UNIT_CHECK(rc == NR_ERANGE && x.st.drops[DP_DROP_REASM_TOO_BIG] == 1 &&
                       strstr(x.err.msg, "3000") != NULL && strstr(x.err.msg, "2999") != NULL,
               "3000 bytes over a limit of 2999: rc %d, \"%s\"", rc, x.err.msg);
    UNIT_CHECK(dp_reasm_in_use(x.r) == 0, "no slot taken");
    rx_free(&x);
}

/* Feeds fragment 0, then fragment i forged by fn; expects a mismatch. */
static void expect_mismatch(const char *what, uint32_t i, unsigned off, uint32_t v, int width)
{
    struct rx x;

    rx_init(&x, 2, 20000);
    cut(&fa, msg_a, 3000, 1, CU_ALICE, 1, 1);
    UNIT_CHECK(feed(&x, &fa, 0, 1) == 0, "%s: fragment 0", what);
    if (width == 16)
        cu_put_le16(fa.buf[i] + off, (uint16_t)v);
    else
        nr_put_le32(fa.buf[i] + off, v);
    cu_refresh_crc(fa.buf[i], fa.len[i]);
    int rc = feed(&x, &fa, i, 1);
    UNIT_CHECK(rc == NR_EINVAL && x.st.drops[DP_DROP_FRAG_MISMATCH] == 1 &&
                       cu_drops_total(&x.st) == 1 && strlen(x.err.msg) > 20,
               "%s: rc %d, mismatches %llu, \"%s\"", what, rc,
               (unsigned long long)x.st.drops[DP_DROP_FRAG_MISMATCH], x.err.msg);
    UNIT_CHECK(dp_reasm_in_use(x.r) == 0, "%s: the message is dropped", what);
    rx_free(&x);
}

static void test_mismatch(void)
{
    expect_mismatch("another count", 1, CU_OFF_FRAG_COUNT, 9, 16);
    expect_mismatch("another total", 1, CU_OFF_FRAG_TOTAL, 2999, 32);
    expect_mismatch("another kind", 1, DP_HDR_LEN, 2, 16);
    expect_mismatch("offset off by one", 1, CU_OFF_FRAG_OFFSET, 477, 32);
    expect_mismatch("index of another piece", 2, CU_OFF_FRAG_INDEX, 1, 16);
    expect_mismatch("last piece elsewhere", 6, CU_OFF_FRAG_OFFSET, 2000, 32);
    /* More fragments than bytes: a 57-byte message cut for a 128-byte frame
     * (pieces of 56 and 1) whose last piece claims 100 fragments. */
    struct rx x;
    struct dp_fragmenter f;
    struct dp_frame_addr a = cu_addr();
    uint8_t small[57], buf[128];
    rx_init(&x, 2, 20000);
    (void)dp_frag_init(&f, &a, 1, 1, small, sizeof(small), 128, &x.err);
    (void)dp_frag_next(&f, buf, sizeof(buf));
    uint32_t len = dp_frag_next(&f, buf, sizeof(buf));
    cu_put_le16(buf + CU_OFF_FRAG_COUNT, 100);
    cu_put_le16(buf + CU_OFF_FRAG_INDEX, 99);
    cu_refresh_crc(buf, len);
    struct dp_rx_filter filt = cu_bob_filter();
    int rc = dp_rx_payload(&filt, x.r, buf, len, 1, cu_collect_fn, &x.got, &x.st, &x.err);
    UNIT_CHECK(rc == NR_EINVAL && x.st.drops[DP_DROP_FRAG_MISMATCH] == 1,
               "100 fragments of 57 bytes: rc %d, \"%s\"", rc, x.err.msg);
    rx_free(&x);
}

static void test_config(void)
{
    struct dp_reasm *r = NULL;
    struct nr_err err = {0};
    struct dp_reasm_config c = {.n_slots = 0, .msg_len_max = 10, .timeout_ns = 1};

    UNIT_CHECK(dp_reasm_create(&c, &r, &err) == NR_EINVAL && strstr(err.msg, "n_slots"),
               "n_slots 0: \"%s\"", err.msg);
    c.n_slots = DP_REASM_SLOTS_MAX + 1;
    UNIT_CHECK(dp_reasm_create(&c, &r, &err) == NR_EINVAL, "too many slots");
    c.n_slots = 1;
    c.msg_len_max = 0;
    UNIT_CHECK(dp_reasm_create(&c, &r, &err) == NR_EINVAL && strstr(err.msg, "msg_len_max"),
               "msg_len_max 0: \"%s\"", err.msg);
    c.msg_len_max = 10;
    c.timeout_ns = 0;
    UNIT_CHECK(dp_reasm_create(&c, &r, &err) == NR_EINVAL && strstr(err.msg, "timeout"),
               "timeout 0: \"%s\"", err.msg);
    /* A frame of whole messages handed to dp_reasm_add. */
    struct rx x;
    struct dp_builder b;
    struct dp_frame_addr a = cu_addr();
    struct dp_frame_view v;
    struct dp_rx_filter f = cu_bob_filter();
    uint8_t buf[256];
    rx_init(&x, 1, 100);
    dp_builder_init(&b, &a, buf, sizeof(buf));
    (void)dp_builder_add(&b, 1, "abc", 3, &err);
    uint32_t len = dp_builder_finish(&b);
    struct dp_msg m;
    UNIT_CHECK(dp_frame_decode(&f, buf, len, &v, NULL, NULL, &err) == 0, "decode");
    UNIT_CHECK(dp_reasm_add(x.r, &v, 1, &m, &x.st, &err) == NR_EINVAL &&
                       x.st.drops[DP_DROP_BAD_FIELD] == 1,
               "no fragment: \"%s\"", err.msg);
    rx_free(&x);
}

int main(void)
{
    for (uint64_t seed = 1; seed <= 40; seed++)
        test_order((int)(seed % 4), seed, seed % 3 == 0 ? 5 : 0);
    test_interleaved();
    test_timeout();
    test_full();
    test_too_big();
    test_mismatch();
    test_config();
    return unit_finish();
}
