/* kv_restore.c - installing a serialized image (kv_format.h) from disk or a
 * peer, in chunks of any size. Nothing in the bytes is trusted: the header's
 * counts are checked against their bounds, against the total length and
 * against this store's configuration before anything is placed; every
 * record is checked as it completes. Key and value bytes go straight into
 * their heap record; fixed-size parts pass through a small stage. Any
 * refusal empties the store (kv_reset). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "crc.h"
#include "kv_int.h"
#include "nr_le.h"

enum {
    P_HEADER = 0,
    P_KEY_HDR,
    P_KEY_DATA,
    P_SESSION,
    P_TRAILER,
    P_DONE,
};

static int fail(struct kv *kv, struct nr_err *err, int code, uint64_t off, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static int fail(struct kv *kv, struct nr_err *err, int code, uint64_t off, const char *fmt, ...)
{
    char what[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    kv_reset(kv);
    return nr_errf(err, code, "kv image offset %" PRIu64 ": %s; the store is left empty", off,
                   what);
}

static void expect(struct kv_restore_state *rs, uint32_t part, uint32_t len)
{
    rs->part = part;
    rs->stage_len = 0;
    rs->stage_need = len;
}

/* After the last key: the sessions, or the trailer. */
static void after_keys(struct kv_restore_state *rs)
{
    if (rs->n_sessions > 0)
        expect(rs, P_SESSION, KV_IMG_SESS_LEN);
    else
        expect(rs, P_TRAILER, KV_IMG_TRAILER_LEN);
}

static int header_counts(struct kv *kv, const uint8_t *h, struct nr_err *err)
{
    struct kv_restore_state *rs = &kv->rs;
    uint64_t total = nr_get_le64(h + KV_IMG_OFF_TOTAL_LEN);

    if (rs->revision < 1)
        return fail(kv, err, NR_ECORRUPT, KV_IMG_OFF_REVISION, "revision 0 (an empty store's is 1)");
    if (rs->n_keys > KV_KEYS_MAX)
        return fail(kv, err, NR_ECORRUPT, KV_IMG_OFF_N_KEYS, "key count %" PRIu64
                    " above the bound %u", rs->n_keys, KV_KEYS_MAX);
    if (rs->kv_bytes > KV_BYTES_MAX || rs->kv_bytes < rs->n_keys ||
        rs->kv_bytes > rs->n_keys * (NR_KV_KEY_MAX + NR_KV_VAL_MAX))
        return fail(kv, err, NR_ECORRUPT, KV_IMG_OFF_KV_BYTES, "%" PRIu64 " key and value bytes"
                    " cannot belong to %" PRIu64 " keys (bound %" PRIu64 ")", rs->kv_bytes,
                    rs->n_keys, KV_BYTES_MAX);
    if (rs->n_sessions > KV_SESSIONS_MAX)
        return fail(kv, err, NR_ECORRUPT, KV_IMG_OFF_N_SESSIONS, "session count %" PRIu32
                    " above the bound %u", rs->n_sessions, KV_SESSIONS_MAX);
    uint64_t want = KV_IMG_HDR_LEN + rs->n_keys * KV_IMG_KEY_HDR_LEN + rs->kv_bytes +
                    (uint64_t)rs->n_sessions * KV_IMG_SESS_LEN + KV_IMG_TRAILER_LEN;
    if (total != want)
        return fail(kv, err, NR_ECORRUPT, KV_IMG_OFF_TOTAL_LEN, "total length %" PRIu64
                    ", but its counts make %" PRIu64, total, want);
    rs->total_len = total;
    if (rs->n_keys > kv->cfg.max_keys)
        return fail(kv, err, NR_EINVAL, KV_IMG_OFF_N_KEYS, "%" PRIu64 " keys do not fit max_keys %"
                    PRIu32, rs->n_keys, kv->cfg.max_keys);
    if (rs->kv_bytes > kv->cfg.max_bytes)
        return fail(kv, err, NR_EINVAL, KV_IMG_OFF_KV_BYTES, "%" PRIu64 " key and value bytes do"
                    " not fit max_bytes %" PRIu64, rs->kv_bytes, kv->cfg.max_bytes);
    if (rs->n_sessions > kv->cfg.max_sessions)
        return fail(kv, err, NR_EINVAL, KV_IMG_OFF_N_SESSIONS, "%" PRIu32 " sessions do not fit"
                    " max_sessions %" PRIu32, rs->n_sessions, kv->cfg.max_sessions);
    return 0;
}

static int header(struct kv *kv, struct nr_err *err)
{
    struct kv_restore_state *rs = &kv->rs;
    const uint8_t *h = rs->stage;

    if (memcmp(h, KV_IMG_MAGIC, 8) != 0)
        return fail(kv, err, NR_ECORRUPT, 0, "magic is not \"NRKVIMG\\n\": not a kv image");
    uint32_t crc = nr_crc32c(0, h, KV_IMG_OFF_HDR_CRC);
    uint32_t stored = nr_get_le32(h + KV_IMG_OFF_HDR_CRC);
    if (crc != stored)
        return fail(kv, err, NR_ECORRUPT, KV_IMG_OFF_HDR_CRC, "header CRC32C 0x%08" PRIx32
                    " stored, 0x%08" PRIx32 " computed", stored, crc);
    uint32_t version = nr_get_le32(h + KV_IMG_OFF_VERSION);
    if (version != KV_IMG_VERSION)
        return fail(kv, err, NR_EINVAL, KV_IMG_OFF_VERSION, "format version %" PRIu32
                    ", this build reads %u", version, KV_IMG_VERSION);
    uint32_t hdr_len = nr_get_le32(h + KV_IMG_OFF_HDR_LEN);
    if (hdr_len != KV_IMG_HDR_LEN)
        return fail(kv, err, NR_ECORRUPT, KV_IMG_OFF_HDR_LEN, "header length %" PRIu32
                    ", version %u's is %u", hdr_len, KV_IMG_VERSION, KV_IMG_HDR_LEN);
    rs->index = nr_get_le64(h + KV_IMG_OFF_INDEX);
    rs->revision = nr_get_le64(h + KV_IMG_OFF_REVISION);
    rs->n_keys = nr_get_le64(h + KV_IMG_OFF_N_KEYS);
    rs->kv_bytes = nr_get_le64(h + KV_IMG_OFF_KV_BYTES);
    rs->n_sessions = nr_get_le32(h + KV_IMG_OFF_N_SESSIONS);
    int rc = header_counts(kv, h, err);
    if (rc != 0)
        return rc;
    if (rs->n_keys > 0)
        expect(rs, P_KEY_HDR, KV_IMG_KEY_HDR_LEN);
    else
        after_keys(rs);
    return 0;
}

static int key_header(struct kv *kv, uint64_t at, struct nr_err *err)
{
    struct kv_restore_state *rs = &kv->rs;
    const uint8_t *k = rs->stage;
    uint32_t key_len = nr_get_le32(k + KV_IMG_KEY_OFF_KEY_LEN);
    uint32_t val_len = nr_get_le32(k + KV_IMG_KEY_OFF_VAL_LEN);
    uint64_t create = nr_get_le64(k + KV_IMG_KEY_OFF_CREATE);
    uint64_t mod = nr_get_le64(k + KV_IMG_KEY_OFF_MOD);

    if (key_len < 1 || key_len > NR_KV_KEY_MAX)
        return fail(kv, err, NR_ECORRUPT, at + KV_IMG_KEY_OFF_KEY_LEN, "key %" PRIu64
                    ": key length %" PRIu32 " outside 1..%u", rs->keys_done, key_len,
                    NR_KV_KEY_MAX);
    if (val_len > NR_KV_VAL_MAX)
        return fail(kv, err, NR_ECORRUPT, at + KV_IMG_KEY_OFF_VAL_LEN, "key %" PRIu64
                    ": value length %" PRIu32 " above %u", rs->keys_done, val_len, NR_KV_VAL_MAX);
    if (create < 2 || create > mod || mod > rs->revision)
        return fail(kv, err, NR_ECORRUPT, at + KV_IMG_KEY_OFF_CREATE, "key %" PRIu64
                    ": create revision %" PRIu64 " and mod revision %" PRIu64 " break 2 <= "
                    "create <= mod <= the image's revision %" PRIu64, rs->keys_done, create, mod,
                    rs->revision);
    if ((uint64_t)key_len + val_len > rs->kv_bytes - rs->bytes_done)
        return fail(kv, err, NR_ECORRUPT, at, "key %" PRIu64 ": %" PRIu32 " + %" PRIu32
                    " bytes run past the header's %" PRIu64 " key and value bytes", rs->keys_done,
                    key_len, val_len, rs->kv_bytes);
    rs->rec_heap_off = kv_rec_new(kv, 0, NULL, key_len, NULL, val_len, create, mod);
    rs->rec_item_off = at;
    rs->rec_fill = 0;
    rs->rec_need = key_len + val_len;
    rs->part = P_KEY_DATA;
    return 0;
}

/* The key and value are in their record: index it, refusing a repeat. */
static int key_done(struct kv *kv, struct nr_err *err)
{
    struct kv_restore_state *rs = &kv->rs;
    const struct kv_rec *rec = kv_rec_at(kv->arena, &kv->lay, rs->rec_heap_off);
    const uint8_t *key = (const uint8_t *)(rec + 1);
    uint64_t h = kv_hash(key, rec->key_len, kv->cfg.hash_seed), slot;

    if (kv_find(kv, key, rec->key_len, h, &slot))
        return fail(kv, err, NR_ECORRUPT, rs->rec_item_off, "key %" PRIu64
                    " repeats an earlier key (%" PRIu32 " bytes)", rs->keys_done, rec->key_len);
    struct kv_rec *w = (struct kv_rec *)(void *)kv_wr(kv, kv->lay.heap_off + rs->rec_heap_off,
                                                      KV_REC_HDR_LEN);
    w->tag = (uint32_t)h;
    kv_slot_set(kv, slot, (uint32_t)h, rs->rec_heap_off);
    kv->st.n_keys++;
    kv->st.kv_bytes += rs->rec_need;
    rs->keys_done++;
    rs->bytes_done += rs->rec_need;
    if (rs->keys_done < rs->n_keys)
        expect(rs, P_KEY_HDR, KV_IMG_KEY_HDR_LEN);
    else if (rs->bytes_done != rs->kv_bytes)
        return fail(kv, err, NR_ECORRUPT, KV_IMG_OFF_KV_BYTES, "the keys hold %" PRIu64
                    " key and value bytes, the header says %" PRIu64, rs->bytes_done,
                    rs->kv_bytes);
    else
        after_keys(rs);
    return 0;
}

static int session(struct kv *kv, uint64_t at, struct nr_err *err)
{
    struct kv_restore_state *rs = &kv->rs;
    const uint8_t *s = rs->stage;
    uint64_t client = nr_get_le64(s + KV_IMG_SESS_OFF_CLIENT);
    uint64_t seq = nr_get_le64(s + KV_IMG_SESS_OFF_SEQ);
    uint64_t index = nr_get_le64(s + KV_IMG_SESS_OFF_INDEX);
    uint64_t rev = nr_get_le64(s + KV_IMG_SESS_OFF_REVISION);
    uint8_t status = s[KV_IMG_SESS_OFF_STATUS];
    uint32_t n = rs->sess_done;

    if (client == 0 || seq == 0)
        return fail(kv, err, NR_ECORRUPT, at, "session %" PRIu32 ": client ID %" PRIu64
                    " and seq %" PRIu64 " must be non-zero", n, client, seq);
    if (index <= rs->last_sess_index || index > rs->index)
        return fail(kv, err, NR_ECORRUPT, at + KV_IMG_SESS_OFF_INDEX, "session %" PRIu32
                    ": index %" PRIu64 " not after the previous session's %" PRIu64
                    " or above the image's %" PRIu64, n, index, rs->last_sess_index, rs->index);
    if (rev < 1 || rev > rs->revision)
        return fail(kv, err, NR_ECORRUPT, at + KV_IMG_SESS_OFF_REVISION, "session %" PRIu32
                    ": revision %" PRIu64 " outside 1..%" PRIu64, n, rev, rs->revision);
    if (status != NR_KV_OK && status != NR_KV_NOT_FOUND && status != NR_KV_NOSPACE)
        return fail(kv, err, NR_ECORRUPT, at + KV_IMG_SESS_OFF_STATUS, "session %" PRIu32
                    ": status %u is not a write's answer", n, (unsigned)status);
    for (uint32_t i = KV_IMG_SESS_OFF_RESERVED; i < KV_IMG_SESS_LEN; i++) {
        if (s[i] != 0)
            return fail(kv, err, NR_ECORRUPT, at + i, "session %" PRIu32
                        ": reserved byte 0x%02x is not zero", n, s[i]);
    }
    if (kv_sess_find(kv, client) != UINT32_MAX)
        return fail(kv, err, NR_ECORRUPT, at, "session %" PRIu32 ": client %016" PRIx64
                    " appears twice", n, client);
    kv_sess_record(kv, UINT32_MAX, client, seq, index, status, rev);
    rs->last_sess_index = index;
    if (++rs->sess_done == rs->n_sessions)
        expect(rs, P_TRAILER, KV_IMG_TRAILER_LEN);
    else
        expect(rs, P_SESSION, KV_IMG_SESS_LEN);
    return 0;
}

static int trailer(struct kv *kv, uint64_t at, struct nr_err *err)
{
    struct kv_restore_state *rs = &kv->rs;
    uint32_t stored = nr_get_le32(rs->stage);

    if (stored != rs->crc)
        return fail(kv, err, NR_ECORRUPT, at, "image CRC32C 0x%08" PRIx32 " stored, 0x%08" PRIx32
                    " computed", stored, rs->crc);
    kv->st.applied_index = rs->index;
    kv->st.revision = rs->revision;
    rs->part = P_DONE;
    return 0;
}

/* A complete fixed-size part in the stage. */
static int part_done(struct kv *kv, struct nr_err *err)
{
    uint64_t at = kv->rs.off - kv->rs.stage_need;

    switch (kv->rs.part) {
    case P_HEADER: return header(kv, err);
    case P_KEY_HDR: return key_header(kv, at, err);
    case P_SESSION: return session(kv, at, err);
    default: return trailer(kv, at, err);
    }
}

int kv_restore_begin(struct kv *kv, struct nr_err *err)
{
    if (kv->snap_phase != KV_SNAP_IDLE)
        return nr_errf(err, NR_EBUSY, "kv: cannot restore while the snapshot at index %" PRIu64
                       " is not released", kv->img.st.applied_index);
    kv_reset(kv);
    kv->rs.is_active = true;
    expect(&kv->rs, P_HEADER, KV_IMG_HDR_LEN);
    return 0;
}

int kv_restore_feed(struct kv *kv, const void *chunk, size_t len, struct nr_err *err)
{
    struct kv_restore_state *rs = &kv->rs;
    const uint8_t *p = chunk;

    if (!rs->is_active)
        return nr_errf(err, NR_EINVAL, "kv: restore bytes without kv_restore_begin");
    while (len > 0) {
        if (rs->part == P_DONE)
            return fail(kv, err, NR_ECORRUPT, rs->off, "bytes after the image's end (its "
                        "header says %" PRIu64 " bytes)", rs->total_len);
        size_t m;
        if (rs->part == P_KEY_DATA) {
            m = rs->rec_need - rs->rec_fill < len ? rs->rec_need - rs->rec_fill : len;
            memcpy(kv_wr(kv, kv->lay.heap_off + rs->rec_heap_off + KV_REC_HDR_LEN + rs->rec_fill,
                         m), p, m);
            rs->rec_fill += (uint32_t)m;
        } else {
            m = rs->stage_need - rs->stage_len < len ? rs->stage_need - rs->stage_len : len;
            memcpy(rs->stage + rs->stage_len, p, m);
            rs->stage_len += (uint32_t)m;
        }
        if (rs->part != P_TRAILER)
            rs->crc = nr_crc32c(rs->crc, p, m);
        rs->off += m;
        p += m;
        len -= m;
        int rc = 0;
        if (rs->part == P_KEY_DATA && rs->rec_fill == rs->rec_need)
            rc = key_done(kv, err);
        else if (rs->part != P_KEY_DATA && rs->stage_len == rs->stage_need)
            rc = part_done(kv, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int kv_restore_end(struct kv *kv, struct nr_err *err)
{
    struct kv_restore_state *rs = &kv->rs;

    if (!rs->is_active)
        return nr_errf(err, NR_EINVAL, "kv: kv_restore_end without kv_restore_begin");
    if (rs->part != P_DONE) {
        if (rs->part == P_HEADER)
            return fail(kv, err, NR_ECORRUPT, rs->off, "the image ends inside its %u-byte "
                        "header", KV_IMG_HDR_LEN);
        return fail(kv, err, NR_ECORRUPT, rs->off, "the image ends early: its header says %"
                    PRIu64 " bytes", rs->total_len);
    }
    rs->is_active = false;
    return 0;
}

int kv_restore(struct kv *kv, const void *buf, size_t len, struct nr_err *err)
{
    int rc = kv_restore_begin(kv, err);
    if (rc == 0)
        rc = kv_restore_feed(kv, buf, len, err);
    if (rc == 0)
        rc = kv_restore_end(kv, err);
    return rc;
}
