/* kv_restore_reject_test.c - kv_restore against damaged and forged images:
 * every truncation and every single-bit flip of a real image, the same
 * flips with both CRCs made right again (so the field checks behind them
 * are reached), and a table of forged fields, each refused with its code
 * and a sentence naming the offset and field. After every refusal the
 * store is empty and usable; whole-buffer and byte-by-byte feeding agree. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "kv_format.h"
#include "kv_test_util.h"
#include "nr_le.h"
#include "unit_check.h"

enum region { R_HDR, R_KEY0, R_KEY1, R_SESS0, R_SESS1 };
/* Where the parts of the forged base image start (see base_image). */
static const size_t region_off[] = {0, 64, 95, 124, 164};

struct poke_case {
    const char *name;
    enum region region;
    uint32_t off;
    uint32_t width; /* 1, 4 or 8 bytes */
    uint64_t value;
    bool is_resigned; /* CRCs made right after the poke */
    int code;
    const char *needle; /* in the sentence */
};

static const struct poke_case pokes[] = {
    {"magic", R_HDR, 0, 1, 'X', true, NR_ECORRUPT, "magic"},
    {"header crc", R_HDR, 24, 8, 11, false, NR_ECORRUPT, "header CRC32C"},
    {"version", R_HDR, 8, 4, 2, true, NR_EINVAL, "version"},
    {"header length", R_HDR, 12, 4, 65, true, NR_ECORRUPT, "header length"},
    {"total length", R_HDR, 16, 8, 209, true, NR_ECORRUPT, "total length"},
    {"revision 0", R_HDR, 32, 8, 0, true, NR_ECORRUPT, "revision 0"},
    {"key count huge", R_HDR, 40, 8, UINT64_C(1) << 40, true, NR_ECORRUPT, "key count"},
    {"key count 3", R_HDR, 40, 8, 3, true, NR_ECORRUPT, "total length"},
    {"bytes huge", R_HDR, 48, 8, UINT64_C(1) << 62, true, NR_ECORRUPT, "key and value bytes"},
    {"bytes below keys", R_HDR, 48, 8, 1, true, NR_ECORRUPT, "key and value bytes"},
    {"session count huge", R_HDR, 56, 4, UINT32_MAX, true, NR_ECORRUPT, "session count"},
    {"key length 0", R_KEY0, 0, 4, 0, true, NR_ECORRUPT, "key length"},
    {"key length 1025", R_KEY0, 0, 4, 1025, true, NR_ECORRUPT, "key length"},
    {"value length", R_KEY0, 4, 4, 65537, true, NR_ECORRUPT, "value length"},
    {"bytes past the sum", R_KEY0, 4, 4, 100, true, NR_ECORRUPT, "run past"},
    {"create 1", R_KEY0, 8, 8, 1, true, NR_ECORRUPT, "create revision"},
    {"create above mod", R_KEY0, 8, 8, 4, true, NR_ECORRUPT, "create revision"},
    {"mod above revision", R_KEY1, 16, 8, 5, true, NR_ECORRUPT, "create revision"},
    {"duplicate key", R_KEY1, 28, 1, 'a', true, NR_ECORRUPT, "repeats"},
    {"value byte, unsigned", R_KEY0, 29, 1, 'X', false, NR_ECORRUPT, "image CRC32C"},
    {"session client 0", R_SESS0, 0, 8, 0, true, NR_ECORRUPT, "client ID"},
    {"session seq 0", R_SESS0, 8, 8, 0, true, NR_ECORRUPT, "client ID"},
    {"session index order", R_SESS1, 16, 8, 7, true, NR_ECORRUPT, "index 7"},
    {"session index above", R_SESS1, 16, 8, 11, true, NR_ECORRUPT, "index 11"},
    {"session revision", R_SESS0, 24, 8, 5, true, NR_ECORRUPT, "revision 5"},
    {"session status", R_SESS0, 32, 1, 3, true, NR_ECORRUPT, "status"},
    {"session reserved", R_SESS1, 39, 1, 1, true, NR_ECORRUPT, "reserved"},
    {"duplicate client", R_SESS1, 0, 8, 5, true, NR_ECORRUPT, "appears twice"},
};

/* A valid store too small for the base image, one bound at a time. */
static const struct {
    struct kv_config cfg;
    const char *needle;
} too_small[] = {
    {{1, 12, 2, 0}, "max_keys"},
    {{2, 11, 2, 0}, "max_bytes"},
    {{2, 12, 1, 0}, "max_sessions"},
};

static const struct kv_config forge_cfg = {2, 12, 2, 0};

/* index 10, revision 4; "key-a" = "v1" (2/3), "key-b" = "" (4/4); client 5
 * seq 3 at index 7, client 6 seq 1 at index 9. 208 bytes. */
static uint8_t *base_image(size_t *len)
{
    static const struct kt_img_key keys[] = {
        {(const uint8_t *)"key-a", 5, (const uint8_t *)"v1", 2, 2, 3},
        {(const uint8_t *)"key-b", 5, NULL, 0, 4, 4},
    };
    static const struct kv_session sess[] = {
        {5, 3, 7, 4, NR_KV_OK},
        {6, 1, 9, 4, NR_KV_NOT_FOUND},
    };
    return kt_img_write(10, 4, keys, 2, sess, 2, len);
}

/* A refusal: the code, a sentence with the offset and needle, an empty
 * and usable store. Whole buffer, then byte by byte. */
static void expect_refusal(struct kv *kv, const uint8_t *buf, size_t len, int code,
                           const char *needle, const char *what)
{
    struct nr_err err = {0};
    int rc = kv_restore(kv, buf, len, &err);

    UNIT_CHECK(rc == code && err.code == code && strstr(err.msg, "offset") != NULL &&
                       (needle == NULL || strstr(err.msg, needle) != NULL),
               "%s: rc %s \"%s\", expected %s naming \"%s\"", what, nr_code_name(rc), err.msg,
               nr_code_name(code), needle ? needle : "");
    kt_check_empty_usable(kv, what);
    struct nr_err err2 = {0};
    rc = kv_restore_begin(kv, &err2);
    for (size_t i = 0; rc == 0 && i < len; i++)
        rc = kv_restore_feed(kv, buf + i, 1, &err2);
    if (rc == 0)
        rc = kv_restore_end(kv, &err2);
    UNIT_CHECK(rc == code && strcmp(err.msg, err2.msg) == 0,
               "%s: byte by byte: %s \"%s\", whole: \"%s\"", what, nr_code_name(rc), err2.msg,
               err.msg);
    kt_check_empty_usable(kv, what);
}

static void forged(void)
{
    struct kv *kv;
    struct nr_err err = {0};
    size_t len;
    uint8_t *base = base_image(&len);
    struct kv_value v;
    struct kv_session s;

    if (!UNIT_CHECK(len == 208 && kv_create(&forge_cfg, &kv, &err) == 0, "forged: %zu %s", len,
                    err.msg))
        return;
    int rc = kv_restore(kv, base, len, &err);
    UNIT_CHECK(rc == 0 && kv_applied_index(kv) == 10 && kv_revision(kv) == 4 &&
                       kv_get(kv, (const uint8_t *)"key-a", 5, &v) && v.val_len == 2 &&
                       memcmp(v.val, "v1", 2) == 0 && v.create_revision == 2 &&
                       v.mod_revision == 3 && kv_get(kv, (const uint8_t *)"key-b", 5, &v) &&
                       v.val_len == 0 && kv_session_get(kv, 6, &s) && s.seq == 1 &&
                       s.status == NR_KV_NOT_FOUND,
               "forged base image: %d %s", rc, err.msg);
    /* The sessions came back in eviction order: a new client evicts 5. */
    struct nr_kv_cmd c = {.op = NR_KV_DEL, .client_id = 77, .seq = 1,
                          .key = (const uint8_t *)"zz", .key_len = 2};
    struct kv_result res;
    kv_apply(kv, 11, &c, &res);
    UNIT_CHECK(!kv_session_get(kv, 5, &s) && kv_session_get(kv, 6, &s),
               "forged: the oldest restored session is evicted first");

    for (unsigned i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
        const struct poke_case *p = &pokes[i];
        uint8_t *b = malloc(len);
        memcpy(b, base, len);
        uint8_t *at = b + region_off[p->region] + p->off;
        if (p->width == 1)
            at[0] = (uint8_t)p->value;
        else if (p->width == 4)
            nr_put_le32(at, (uint32_t)p->value);
        else
            nr_put_le64(at, p->value);
        if (p->is_resigned)
            kt_img_sign(b, len);
        expect_refusal(kv, b, len, p->code, p->needle, p->name);
        free(b);
    }
    uint8_t *longer = calloc(1, len + 1);
    memcpy(longer, base, len);
    expect_refusal(kv, longer, len + 1, NR_ECORRUPT, "after the image's end", "a byte too many");
    free(longer);
    kv_destroy(kv);

    for (unsigned i = 0; i < sizeof(too_small) / sizeof(too_small[0]); i++) {
        if (!UNIT_CHECK(kv_create(&too_small[i].cfg, &kv, &err) == 0, "create: %s", err.msg))
            continue;
        expect_refusal(kv, base, len, NR_EINVAL, too_small[i].needle, too_small[i].needle);
        kv_destroy(kv);
    }
    free(base);
}

/* A real image from random entries: truncations and bit flips. */
static void damaged(void)
{
    const struct kv_config cfg = {24, 3000, 4, 0};
    static struct kt_model m;
    static struct kt_bufs bufs;
    struct kt_cmd last[KT_CLIENTS_MAX], c;
    uint64_t rng = 77, client_seq[KT_CLIENTS_MAX] = {0};
    struct kv *kv, *b;
    struct nr_err err = {0};
    size_t len;

    memset(last, 0, sizeof(last));
    if (!UNIT_CHECK(kv_create(&cfg, &kv, &err) == 0 && kv_create(&cfg, &b, &err) == 0,
                    "create: %s", err.msg))
        return;
    kt_model_init(&m, &cfg, 40);
    for (uint64_t index = 1; index <= 400; index++) {
        kt_random_cmd(&rng, &m, client_seq, 6, last, &c);
        kt_step(kv, &m, index, &c, &bufs);
    }
    uint8_t *img = kt_serialize(kt_snapshot_now(kv), &rng, 4096, &len);
    kv_snap_release(kv);
    printf("damaged: a %zu-byte image of %" PRIu64 " keys, %" PRIu32 " sessions\n", len,
           m.n_keys, m.n_sessions);
    UNIT_CHECK(kv_restore(b, img, len, &err) == 0 && kt_model_check(b, &m, "undamaged"),
               "the undamaged image restores: %s", err.msg);

    unsigned n_bad = 0, n_accepted = 0;
    for (size_t cut = 0; cut < len; cut++) {
        int rc = kv_restore(b, img, cut, &err);
        n_bad += !UNIT_CHECK(rc == NR_ECORRUPT && strstr(err.msg, "offset") != NULL,
                             "cut at %zu: %s \"%s\"", cut, nr_code_name(rc), err.msg);
        if (cut % 97 == 0)
            kt_check_empty_usable(b, "after a truncated image");
    }
    uint8_t *d = malloc(len);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(d, img, len);
            d[i] ^= (uint8_t)(1u << bit);
            int rc = kv_restore(b, d, len, &err);
            n_bad += !UNIT_CHECK(rc != 0 && strstr(err.msg, "offset") != NULL,
                                 "flip at %zu bit %d: %s \"%s\"", i, bit, nr_code_name(rc),
                                 err.msg);
            /* With the CRCs right again, the field checks decide. */
            kt_img_sign(d, len);
            rc = kv_restore(b, d, len, &err);
            if (rc == 0) {
                n_accepted++;
                /* Accepted: a consistent store that snapshots and restores. */
                size_t len2;
                uint8_t *again = kt_serialize(kt_snapshot_now(b), &rng, 4096, &len2);
                kv_snap_release(b);
                n_bad += !UNIT_CHECK(len2 == len && kv_restore(kv, again, len2, &err) == 0,
                                     "flip at %zu bit %d accepted, then its own image is "
                                     "refused: %s", i, bit, err.msg);
                free(again);
            } else {
                n_bad += !UNIT_CHECK(strstr(err.msg, "offset") != NULL, "signed flip at %zu: %s",
                                     i, err.msg);
            }
        }
    }
    printf("damaged: %zu cuts and %zu flips refused; %u signed flips accepted (values, "
           "revisions in range)\n", len, len * 8, n_accepted);
    UNIT_CHECK(n_bad == 0, "%u damaged images mishandled", n_bad);
    kv_reset(b); /* the last signed flip restored the original image */
    kt_check_empty_usable(b, "reset after the flips");
    free(d);
    free(img);
    kv_destroy(kv);
    kv_destroy(b);
}

int main(void)
{
    forged();
    damaged();
    return unit_finish();
}
