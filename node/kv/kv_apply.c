/* kv_apply.c - applying committed writes: the command's checks (it comes
 * from the log, so from outside: refused, never asserted), the session
 * check, then PUT or DEL against the quota. See kv.h for the rules. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "kv_int.h"

static int refuse(struct kv *kv, struct kv_result *res, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int refuse(struct kv *kv, struct kv_result *res, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
    va_end(ap);
    res->status = NR_KV_ERROR;
    kv->stats.n_refused++;
    return code;
}

static int check_cmd(struct kv *kv, const struct nr_kv_cmd *c, struct kv_result *res)
{
    if (c->op != NR_KV_PUT && c->op != NR_KV_DEL)
        return refuse(kv, res, NR_EINVAL, "kv: op %u is not a write (put %u or del %u)",
                      (unsigned)c->op, NR_KV_PUT, NR_KV_DEL);
    if (c->key_len < 1 || c->key_len > NR_KV_KEY_MAX || c->key == NULL)
        return refuse(kv, res, NR_EINVAL, "kv: key length %" PRIu32 " is outside 1..%u",
                      c->key_len, NR_KV_KEY_MAX);
    if (c->val_len > (c->op == NR_KV_PUT ? NR_KV_VAL_MAX : 0) ||
        (c->val_len > 0 && c->val == NULL))
        return refuse(kv, res, NR_EINVAL, "kv: value length %" PRIu32 " is outside 0..%u for %s",
                      c->val_len, c->op == NR_KV_PUT ? NR_KV_VAL_MAX : 0,
                      c->op == NR_KV_PUT ? "put" : "del");
    if (c->client_id == 0 || c->seq == 0)
        return refuse(kv, res, NR_EINVAL, "kv: client ID %" PRIu64 " and seq %" PRIu64
                      " must both be non-zero", c->client_id, c->seq);
    return 0;
}

static uint8_t nospace(struct kv *kv, struct kv_result *res, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static uint8_t nospace(struct kv *kv, struct kv_result *res, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
    va_end(ap);
    kv->stats.n_nospace++;
    return NR_KV_NOSPACE;
}

static uint8_t put(struct kv *kv, const struct nr_kv_cmd *c, struct kv_result *res)
{
    uint64_t h = kv_hash(c->key, c->key_len, kv->cfg.hash_seed);
    uint64_t slot, old_bytes = 0, old_len = 0, create_rev = 0;
    bool found = kv_find(kv, c->key, c->key_len, h, &slot);
    const struct kv_slot *slots = kv_slots(kv->arena, &kv->lay);

    if (found) {
        const struct kv_rec *old = kv_rec_at(kv->arena, &kv->lay, kv_slot_heap_off(&slots[slot]));
        old_bytes = (uint64_t)old->key_len + old->val_len;
        old_len = (uint64_t)old->units * KV_UNIT;
        create_rev = old->create_rev;
    } else if (kv->st.n_keys >= kv->cfg.max_keys) {
        return nospace(kv, res, "kv: a new key when %" PRIu64 " keys are held (max_keys %" PRIu32
                       ")", kv->st.n_keys, kv->cfg.max_keys);
    }
    uint64_t bytes = kv->st.kv_bytes - old_bytes + c->key_len + c->val_len;
    if (bytes > kv->cfg.max_bytes)
        return nospace(kv, res, "kv: a put of %" PRIu32 " + %" PRIu32 " bytes would hold %" PRIu64
                       " bytes, above max_bytes %" PRIu64, c->key_len, c->val_len, bytes,
                       kv->cfg.max_bytes);
    uint64_t rev = ++kv->st.revision;
    uint64_t len = kv_rec_len(c->key_len, c->val_len);
    if (found && len == old_len) {
        /* Same size: overwrite in place. */
        uint64_t off = kv_slot_heap_off(&slots[slot]);
        uint8_t *p = kv_wr(kv, kv->lay.heap_off + off, len);
        struct kv_rec *r = (struct kv_rec *)(void *)p;
        r->val_len = c->val_len;
        r->mod_rev = rev;
        if (c->val_len > 0)
            memcpy(p + KV_REC_HDR_LEN + c->key_len, c->val, c->val_len);
    } else {
        uint64_t off = kv_rec_new(kv, (uint32_t)h, c->key, c->key_len, c->val, c->val_len,
                                  found ? create_rev : rev, rev);
        /* The cleaner may have moved the old record: read its slot again. */
        if (found)
            kv_rec_free(kv, kv_slot_heap_off(&slots[slot]));
        else
            kv->st.n_keys++;
        kv_slot_set(kv, slot, (uint32_t)h, off);
    }
    kv->st.kv_bytes = bytes;
    return NR_KV_OK;
}

static uint8_t del(struct kv *kv, const struct nr_kv_cmd *c)
{
    uint64_t h = kv_hash(c->key, c->key_len, kv->cfg.hash_seed);
    uint64_t slot;

    if (!kv_find(kv, c->key, c->key_len, h, &slot))
        return NR_KV_NOT_FOUND;
    const struct kv_slot *s = &kv_slots(kv->arena, &kv->lay)[slot];
    uint64_t off = kv_slot_heap_off(s);
    const struct kv_rec *r = kv_rec_at(kv->arena, &kv->lay, off);
    kv->st.kv_bytes -= (uint64_t)r->key_len + r->val_len;
    kv->st.n_keys--;
    kv->st.revision++;
    kv_rec_free(kv, off);
    kv_slot_del(kv, slot);
    return NR_KV_OK;
}

int kv_apply(struct kv *kv, uint64_t index, const struct nr_kv_cmd *cmd, struct kv_result *res)
{
    /* The raft core hands committed entries over once, in order. */
    NR_ASSERT(index > kv->st.applied_index);
    NR_ASSERT(!kv->rs.is_active);
    kv->st.applied_index = index;
    res->is_duplicate = false;
    res->msg[0] = '\0';
    res->revision = kv->st.revision;
    int rc = check_cmd(kv, cmd, res);
    if (rc != 0)
        return rc;
    uint32_t entry = kv_sess_find(kv, cmd->client_id);
    if (entry != UINT32_MAX) {
        const struct kv_sess *s = kv_sess_at(kv->arena, &kv->lay, entry);
        if (cmd->seq < s->seq)
            return refuse(kv, res, NR_ESTALE, "kv: client %016" PRIx64 " seq %" PRIu64
                          " is below its last applied seq %" PRIu64 " (a stale retry)",
                          cmd->client_id, cmd->seq, s->seq);
        if (cmd->seq == s->seq) {
            res->status = s->status;
            res->revision = s->revision;
            res->is_duplicate = true;
            if (s->status == NR_KV_NOSPACE)
                snprintf(res->msg, sizeof(res->msg),
                         "kv: this write (seq %" PRIu64 ") was refused for the quota",
                         cmd->seq);
            kv->stats.n_duplicates++;
            return 0;
        }
    }
    if (cmd->op == NR_KV_PUT) {
        res->status = put(kv, cmd, res);
        kv->stats.n_puts += res->status == NR_KV_OK;
    } else {
        res->status = del(kv, cmd);
        kv->stats.n_dels++;
    }
    res->revision = kv->st.revision;
    kv_sess_record(kv, entry, cmd->client_id, cmd->seq, index, res->status, res->revision);
    return 0;
}

void kv_skip(struct kv *kv, uint64_t index)
{
    NR_ASSERT(index > kv->st.applied_index);
    NR_ASSERT(!kv->rs.is_active);
    kv->st.applied_index = index;
}
