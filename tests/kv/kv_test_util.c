/* kv_test_util.c - the kv tests' model, command builder and image helpers
 * (kv_test_util.h). */
#include "kv_test_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "kv_format.h"
#include "nr_le.h"
#include "unit_check.h"

uint32_t kt_key_len(uint32_t key)
{
    if (key < 3)
        return key + 1;
    if (key % 97 == 50)
        return 1000;
    return 4 + (key % 13) * 3;
}

void kt_key_bytes(uint32_t key, uint8_t *buf)
{
    uint32_t len = kt_key_len(key);

    if (key < 3) {
        memset(buf, 0xa0 + (int)key, len);
        return;
    }
    nr_put_le32(buf, key);
    for (uint32_t j = 4; j < len; j++)
        buf[j] = (uint8_t)(key * 31 + j);
}

void kt_fill(uint64_t tag, uint8_t *buf, uint32_t len)
{
    uint64_t x = tag * UINT64_C(0x9e3779b97f4a7c15) + 1;

    for (uint32_t j = 0; j < len; j++) {
        if (j % 8 == 0)
            x ^= (x << 13) ^ (x >> 7) ^ (x << 17);
        buf[j] = (uint8_t)(x >> (8 * (j % 8)));
    }
}

void kt_cmd_build(const struct kt_cmd *c, struct kt_bufs *b, struct nr_kv_cmd *out)
{
    memset(out, 0, sizeof(*out));
    out->op = c->op;
    out->client_id = c->client_id;
    out->seq = c->seq;
    out->key = b->key;
    out->key_len = kt_key_len(c->key);
    kt_key_bytes(c->key, b->key);
    out->val = b->val;
    out->val_len = c->op == NR_KV_PUT ? c->val_len : 0;
    kt_fill(c->val_tag, b->val, out->val_len);
    switch (c->bad) {
    case KT_BAD_GET: out->op = NR_KV_GET; break;
    case KT_BAD_OP: out->op = 9; break;
    case KT_BAD_KEY_LEN: out->key_len = 0; break;
    case KT_BAD_CLIENT: out->client_id = 0; break;
    case KT_BAD_DEL_VALUE: out->op = NR_KV_DEL; out->val_len = 5; break;
    default: break;
    }
}

void kt_model_init(struct kt_model *m, const struct kv_config *cfg, uint32_t n_universe)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    m->n_universe = n_universe;
    m->revision = 1;
}

static struct kv_session *model_session(struct kt_model *m, uint64_t client_id)
{
    for (uint32_t i = 0; i < m->n_sessions; i++) {
        if (m->sess[i].client_id == client_id)
            return &m->sess[i];
    }
    return NULL;
}

static uint8_t model_put(struct kt_model *m, const struct kt_cmd *c)
{
    struct kt_key *k = &m->keys[c->key];
    uint64_t klen = kt_key_len(c->key);
    uint64_t old = k->is_present ? klen + k->val_len : 0;

    if (!k->is_present && m->n_keys >= m->cfg.max_keys)
        return NR_KV_NOSPACE;
    if (m->kv_bytes - old + klen + c->val_len > m->cfg.max_bytes)
        return NR_KV_NOSPACE;
    m->revision++;
    if (!k->is_present) {
        k->is_present = true;
        k->create_rev = m->revision;
        m->n_keys++;
    }
    k->mod_rev = m->revision;
    k->val_len = c->val_len;
    k->val_tag = c->val_tag;
    m->kv_bytes = m->kv_bytes - old + klen + c->val_len;
    return NR_KV_OK;
}

static uint8_t model_del(struct kt_model *m, const struct kt_cmd *c)
{
    struct kt_key *k = &m->keys[c->key];

    if (!k->is_present)
        return NR_KV_NOT_FOUND;
    m->revision++;
    k->is_present = false;
    m->n_keys--;
    m->kv_bytes -= kt_key_len(c->key) + k->val_len;
    return NR_KV_OK;
}

struct kt_expect kt_model_apply(struct kt_model *m, uint64_t index, const struct kt_cmd *c)
{
    struct kt_expect e = {0, NR_KV_OK, false, m->revision};

    m->applied_index = index;
    if (c->kind == KT_SKIP)
        return e;
    if (c->bad != KT_BAD_NONE) {
        e.rc = NR_EINVAL;
        e.status = NR_KV_ERROR;
        return e;
    }
    struct kv_session *s = model_session(m, c->client_id);
    if (s != NULL && c->seq < s->seq) {
        e.rc = NR_ESTALE;
        e.status = NR_KV_ERROR;
        return e;
    }
    if (s != NULL && c->seq == s->seq) {
        e.status = s->status;
        e.revision = s->revision;
        e.is_duplicate = true;
        return e;
    }
    e.status = c->op == NR_KV_PUT ? model_put(m, c) : model_del(m, c);
    e.revision = m->revision;
    if (s == NULL) {
        if (m->n_sessions < m->cfg.max_sessions) {
            s = &m->sess[m->n_sessions++];
        } else {
            s = &m->sess[0];
            for (uint32_t i = 1; i < m->n_sessions; i++) {
                if (m->sess[i].index < s->index)
                    s = &m->sess[i];
            }
        }
        s->client_id = c->client_id;
    }
    s->seq = c->seq;
    s->index = index;
    s->revision = e.revision;
    s->status = e.status;
    return e;
}

bool kt_step(struct kv *kv, struct kt_model *m, uint64_t index, const struct kt_cmd *c,
             struct kt_bufs *b)
{
    struct nr_kv_cmd cmd;
    struct kv_result res;
    struct kt_expect e = kt_model_apply(m, index, c);

    if (c->kind == KT_SKIP) {
        kv_skip(kv, index);
        return true;
    }
    kt_cmd_build(c, b, &cmd);
    int rc = kv_apply(kv, index, &cmd, &res);
    bool ok = UNIT_CHECK(rc == e.rc && res.status == e.status &&
                         res.is_duplicate == e.is_duplicate && res.revision == e.revision,
                         "index %" PRIu64 " op %u key %" PRIu32 " client %" PRIu64 " seq %" PRIu64
                         " bad %u: got rc %d status %u dup %d rev %" PRIu64 ", model rc %d status"
                         " %u dup %d rev %" PRIu64 " (%s)", index, c->op, c->key, c->client_id,
                         c->seq, c->bad, rc, res.status, res.is_duplicate, res.revision, e.rc,
                         e.status, e.is_duplicate, e.revision, res.msg);
    if (res.status == NR_KV_ERROR || res.status == NR_KV_NOSPACE)
        ok &= UNIT_CHECK(res.msg[0] != '\0', "index %" PRIu64 ": status %u without a sentence",
                         index, res.status);
    return ok;
}

void kt_random_cmd(uint64_t *rng, const struct kt_model *m, uint64_t *client_seq,
                   uint32_t n_clients, struct kt_cmd *last, struct kt_cmd *out)
{
    uint32_t c = (uint32_t)unit_below(rng, n_clients);
    uint64_t r = unit_below(rng, 100);
    uint64_t big = m->cfg.max_bytes / 4 < NR_KV_VAL_MAX ? m->cfg.max_bytes / 4 : NR_KV_VAL_MAX;

    memset(out, 0, sizeof(*out));
    out->client_id = 1000 + c;
    if (r < 12 && last[c].seq != 0) {
        *out = last[c]; /* a retry: same seq, same bytes */
        return;
    }
    if (r < 16 && last[c].seq >= 2) {
        *out = last[c];
        out->seq = 1 + unit_below(rng, last[c].seq - 1);
        return;
    }
    if (r < 21) {
        out->op = NR_KV_PUT;
        out->bad = (uint8_t)(1 + unit_below(rng, 5));
        out->seq = client_seq[c] + 1;
        out->key = (uint32_t)unit_below(rng, m->n_universe);
        return;
    }
    if (r < 25) {
        out->kind = KT_SKIP;
        return;
    }
    out->op = r < 45 ? NR_KV_DEL : NR_KV_PUT;
    out->key = (uint32_t)unit_below(rng, m->n_universe);
    out->seq = client_seq[c] += 1 + (unit_below(rng, 8) == 0);
    out->val_tag = unit_rand(rng);
    uint64_t v = unit_below(rng, 10);
    out->val_len = (uint32_t)(v == 0 ? unit_below(rng, big + 1) : v < 5 ? 256 : unit_below(rng, 300));
    last[c] = *out;
}

bool kt_model_check(const struct kv *kv, const struct kt_model *m, const char *what)
{
    static uint8_t want[NR_KV_VAL_MAX];
    uint8_t key[NR_KV_KEY_MAX];
    struct kv_stats st;
    bool ok = true;

    kv_stats(kv, &st);
    ok &= UNIT_CHECK(kv_applied_index(kv) == m->applied_index && kv_revision(kv) == m->revision,
                     "%s: index %" PRIu64 " revision %" PRIu64 ", model %" PRIu64 " %" PRIu64,
                     what, kv_applied_index(kv), kv_revision(kv), m->applied_index, m->revision);
    ok &= UNIT_CHECK(st.n_keys == m->n_keys && st.kv_bytes == m->kv_bytes &&
                     st.n_sessions == m->n_sessions,
                     "%s: %" PRIu64 " keys %" PRIu64 " bytes %" PRIu32 " sessions, model %" PRIu64
                     " %" PRIu64 " %" PRIu32, what, st.n_keys, st.kv_bytes, st.n_sessions,
                     m->n_keys, m->kv_bytes, m->n_sessions);
    for (uint32_t i = 0; i < m->n_universe && ok; i++) {
        const struct kt_key *k = &m->keys[i];
        struct kv_value v;
        kt_key_bytes(i, key);
        bool found = kv_get(kv, key, kt_key_len(i), &v);
        if (!UNIT_CHECK(found == k->is_present, "%s: key %" PRIu32 " found %d, model %d", what, i,
                        found, k->is_present)) {
            ok = false;
            continue;
        }
        if (!found)
            continue;
        kt_fill(k->val_tag, want, k->val_len);
        ok &= UNIT_CHECK(v.val_len == k->val_len && memcmp(v.val, want, k->val_len) == 0 &&
                         v.create_revision == k->create_rev && v.mod_revision == k->mod_rev,
                         "%s: key %" PRIu32 ": %" PRIu32 " bytes revs %" PRIu64 "/%" PRIu64
                         ", model %" PRIu32 " bytes %" PRIu64 "/%" PRIu64 " (same bytes: %d)",
                         what, i, v.val_len, v.create_revision, v.mod_revision, k->val_len,
                         k->create_rev, k->mod_rev,
                         v.val_len == k->val_len && memcmp(v.val, want, k->val_len) == 0);
    }
    for (uint32_t i = 0; i < m->n_sessions; i++) {
        const struct kv_session *s = &m->sess[i];
        struct kv_session got;
        bool found = kv_session_get(kv, s->client_id, &got);
        ok &= UNIT_CHECK(found && got.seq == s->seq && got.index == s->index &&
                         got.revision == s->revision && got.status == s->status,
                         "%s: session %" PRIu64 ": found %d seq %" PRIu64 " index %" PRIu64
                         ", model seq %" PRIu64 " index %" PRIu64, what, s->client_id, found,
                         found ? got.seq : 0, found ? got.index : 0, s->seq, s->index);
    }
    return ok;
}

uint8_t *kt_serialize(const struct kv_image *img, uint64_t *rng, size_t chunk_max, size_t *len)
{
    uint64_t want = kv_image_len(img);
    uint8_t *buf = malloc(want + 1);
    struct kv_image_reader r;
    size_t n = 0;

    if (buf == NULL)
        abort();
    kv_image_reader_init(&r, img);
    for (;;) {
        size_t ask = 1 + unit_below(rng, chunk_max);
        if (ask > want + 1 - n)
            ask = want + 1 - n;
        size_t got = kv_image_read(&r, buf + n, ask);
        if (got == 0)
            break;
        n += got;
        if (n > want)
            break;
    }
    UNIT_CHECK(n == want, "serialized %zu bytes, kv_image_len says %" PRIu64, n, want);
    *len = n;
    return buf;
}

int kt_restore_chunked(struct kv *kv, const uint8_t *buf, size_t len, uint64_t *rng,
                       size_t chunk_max, struct nr_err *err)
{
    int rc = kv_restore_begin(kv, err);
    size_t off = 0;

    while (rc == 0 && off < len) {
        size_t n = 1 + unit_below(rng, chunk_max);
        if (n > len - off)
            n = len - off;
        rc = kv_restore_feed(kv, buf + off, n, err);
        off += n;
    }
    return rc != 0 ? rc : kv_restore_end(kv, err);
}

const struct kv_image *kt_snapshot_now(struct kv *kv)
{
    if (kv_snap_begin(kv, NULL) != 0)
        return NULL;
    while (!kv_snap_step(kv, 1u << 20)) {
    }
    return kv_snap_image(kv);
}

void kt_img_sign(uint8_t *buf, size_t len)
{
    if (len >= KV_IMG_HDR_LEN)
        nr_put_le32(buf + KV_IMG_OFF_HDR_CRC, nr_crc32c(0, buf, KV_IMG_OFF_HDR_CRC));
    if (len >= KV_IMG_HDR_LEN + KV_IMG_TRAILER_LEN)
        nr_put_le32(buf + len - KV_IMG_TRAILER_LEN, nr_crc32c(0, buf, len - KV_IMG_TRAILER_LEN));
}

uint8_t *kt_img_write(uint64_t index, uint64_t revision, const struct kt_img_key *keys,
                      uint32_t n_keys, const struct kv_session *sess, uint32_t n_sess,
                      size_t *len)
{
    uint64_t bytes = 0;

    for (uint32_t i = 0; i < n_keys; i++)
        bytes += (uint64_t)keys[i].key_len + keys[i].val_len;
    size_t total = KV_IMG_HDR_LEN + n_keys * KV_IMG_KEY_HDR_LEN + bytes +
                   (size_t)n_sess * KV_IMG_SESS_LEN + KV_IMG_TRAILER_LEN;
    uint8_t *b = calloc(1, total), *p = b;
    if (b == NULL)
        abort();
    memcpy(p, KV_IMG_MAGIC, 8);
    nr_put_le32(p + KV_IMG_OFF_VERSION, KV_IMG_VERSION);
    nr_put_le32(p + KV_IMG_OFF_HDR_LEN, KV_IMG_HDR_LEN);
    nr_put_le64(p + KV_IMG_OFF_TOTAL_LEN, total);
    nr_put_le64(p + KV_IMG_OFF_INDEX, index);
    nr_put_le64(p + KV_IMG_OFF_REVISION, revision);
    nr_put_le64(p + KV_IMG_OFF_N_KEYS, n_keys);
    nr_put_le64(p + KV_IMG_OFF_KV_BYTES, bytes);
    nr_put_le32(p + KV_IMG_OFF_N_SESSIONS, n_sess);
    p += KV_IMG_HDR_LEN;
    for (uint32_t i = 0; i < n_keys; i++) {
        nr_put_le32(p + KV_IMG_KEY_OFF_KEY_LEN, keys[i].key_len);
        nr_put_le32(p + KV_IMG_KEY_OFF_VAL_LEN, keys[i].val_len);
        nr_put_le64(p + KV_IMG_KEY_OFF_CREATE, keys[i].create_rev);
        nr_put_le64(p + KV_IMG_KEY_OFF_MOD, keys[i].mod_rev);
        p += KV_IMG_KEY_HDR_LEN;
        memcpy(p, keys[i].key, keys[i].key_len);
        p += keys[i].key_len;
        if (keys[i].val_len > 0)
            memcpy(p, keys[i].val, keys[i].val_len);
        p += keys[i].val_len;
    }
    for (uint32_t i = 0; i < n_sess; i++) {
        nr_put_le64(p + KV_IMG_SESS_OFF_CLIENT, sess[i].client_id);
        nr_put_le64(p + KV_IMG_SESS_OFF_SEQ, sess[i].seq);
        nr_put_le64(p + KV_IMG_SESS_OFF_INDEX, sess[i].index);
        nr_put_le64(p + KV_IMG_SESS_OFF_REVISION, sess[i].revision);
        p[KV_IMG_SESS_OFF_STATUS] = sess[i].status;
        p += KV_IMG_SESS_LEN;
    }
    kt_img_sign(b, total);
    *len = total;
    return b;
}

/* The universe index of a key's bytes, or UINT32_MAX. */
static uint32_t key_index(const uint8_t *key, uint32_t len, uint32_t n_universe)
{
    uint8_t want[NR_KV_KEY_MAX];
    uint32_t i = len < 4 ? len - 1 : nr_get_le32(key);

    if (len == 0 || i >= n_universe || kt_key_len(i) != len)
        return UINT32_MAX;
    kt_key_bytes(i, want);
    return memcmp(want, key, len) == 0 ? i : UINT32_MAX;
}

static int by_index(const void *a, const void *b)
{
    const struct kv_session *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

bool kt_image_matches(const uint8_t *buf, size_t len, const struct kt_model *m, const char *what)
{
    static uint8_t want[NR_KV_VAL_MAX];
    bool seen[KT_KEYS_MAX] = {false};
    struct kv_session sorted[KT_SESSIONS_MAX];
    const uint8_t *p = buf + KV_IMG_HDR_LEN, *end = buf + len - KV_IMG_TRAILER_LEN;
    bool ok = true;

    if (!UNIT_CHECK(len >= KV_IMG_HDR_LEN + KV_IMG_TRAILER_LEN && memcmp(buf, KV_IMG_MAGIC, 8) == 0,
                    "%s: %zu bytes, no image", what, len))
        return false;
    ok &= UNIT_CHECK(nr_get_le64(buf + KV_IMG_OFF_TOTAL_LEN) == len &&
                     nr_get_le64(buf + KV_IMG_OFF_INDEX) == m->applied_index &&
                     nr_get_le64(buf + KV_IMG_OFF_REVISION) == m->revision &&
                     nr_get_le64(buf + KV_IMG_OFF_N_KEYS) == m->n_keys &&
                     nr_get_le64(buf + KV_IMG_OFF_KV_BYTES) == m->kv_bytes &&
                     nr_get_le32(buf + KV_IMG_OFF_N_SESSIONS) == m->n_sessions,
                     "%s: header figures differ from the model's (index %" PRIu64 "/%" PRIu64
                     ", keys %" PRIu64 "/%" PRIu64 ")", what,
                     nr_get_le64(buf + KV_IMG_OFF_INDEX), m->applied_index,
                     nr_get_le64(buf + KV_IMG_OFF_N_KEYS), m->n_keys);
    ok &= UNIT_CHECK(nr_get_le32(end) == nr_crc32c(0, buf, len - KV_IMG_TRAILER_LEN) &&
                     nr_get_le32(buf + KV_IMG_OFF_HDR_CRC) == nr_crc32c(0, buf, 60),
                     "%s: CRCs", what);
    for (uint64_t n = 0; n < m->n_keys && ok; n++) {
        if (!UNIT_CHECK(end - p >= KV_IMG_KEY_HDR_LEN, "%s: key %" PRIu64 " cut", what, n))
            return false;
        uint32_t kl = nr_get_le32(p), vl = nr_get_le32(p + 4);
        uint64_t cr = nr_get_le64(p + 8), mr = nr_get_le64(p + 16);
        p += KV_IMG_KEY_HDR_LEN;
        if (!UNIT_CHECK((uint64_t)(end - p) >= (uint64_t)kl + vl, "%s: key %" PRIu64 " cut",
                        what, n))
            return false;
        uint32_t i = key_index(p, kl, m->n_universe);
        if (!UNIT_CHECK(i != UINT32_MAX && !seen[i] && m->keys[i].is_present,
                        "%s: key record %" PRIu64 " is not a model key, or twice", what, n))
            return false;
        seen[i] = true;
        const struct kt_key *k = &m->keys[i];
        kt_fill(k->val_tag, want, k->val_len);
        ok &= UNIT_CHECK(vl == k->val_len && memcmp(p + kl, want, vl) == 0 &&
                         cr == k->create_rev && mr == k->mod_rev,
                         "%s: key %" PRIu32 " differs from the model's", what, i);
        p += (uint64_t)kl + vl;
    }
    memcpy(sorted, m->sess, m->n_sessions * sizeof(sorted[0]));
    qsort(sorted, m->n_sessions, sizeof(sorted[0]), by_index);
    for (uint32_t n = 0; n < m->n_sessions && ok; n++) {
        if (!UNIT_CHECK(end - p >= KV_IMG_SESS_LEN, "%s: session %" PRIu32 " cut", what, n))
            return false;
        ok &= UNIT_CHECK(nr_get_le64(p) == sorted[n].client_id &&
                         nr_get_le64(p + 8) == sorted[n].seq &&
                         nr_get_le64(p + 16) == sorted[n].index &&
                         nr_get_le64(p + 24) == sorted[n].revision && p[32] == sorted[n].status,
                         "%s: session %" PRIu32 " (client %" PRIu64 ") differs from the model's",
                         what, n, sorted[n].client_id);
        p += KV_IMG_SESS_LEN;
    }
    ok &= UNIT_CHECK(p == end, "%s: %td bytes left before the trailer", what, end - p);
    return ok;
}

bool kt_check_empty_usable(struct kv *kv, const char *what)
{
    struct kv_stats st;
    struct kv_result res;
    uint8_t key[4] = {'k', 'e', 'y', '!'}, val[3] = {1, 2, 3};
    struct nr_kv_cmd c = {.op = NR_KV_PUT, .client_id = 7, .seq = 1, .key = key, .key_len = 4,
                          .val = val, .val_len = 3};
    struct kv_value v;

    kv_stats(kv, &st);
    bool ok = UNIT_CHECK(st.n_keys == 0 && st.kv_bytes == 0 && st.n_sessions == 0 &&
                         kv_applied_index(kv) == 0 && kv_revision(kv) == 1 &&
                         st.heap_used_bytes == 0,
                         "%s: not empty: %" PRIu64 " keys %" PRIu32 " sessions index %" PRIu64,
                         what, st.n_keys, st.n_sessions, kv_applied_index(kv));
    int rc = kv_apply(kv, 1, &c, &res);
    ok &= UNIT_CHECK(rc == 0 && res.status == NR_KV_OK && res.revision == 2 &&
                     kv_get(kv, key, 4, &v) && v.val_len == 3 && memcmp(v.val, val, 3) == 0,
                     "%s: a put after it: rc %d status %u (%s)", what, rc, res.status, res.msg);
    kv_reset(kv);
    return ok;
}
