/* kv_image.c - serializing a frozen image (kv_format.h) on the control
 * thread. Reads only the snapshot area and the frozen scalars, never the
 * live store, so it runs beside the poller's writes (kv.h, "Snapshots").
 * Keys come in hash-slot order, sessions oldest first. */
#include "crc.h"
#include "kv_int.h"
#include "nr_le.h"

enum {
    RD_HEADER = 0,
    RD_KEY_HDR,
    RD_KEY_DATA,
    RD_SESSION,
    RD_TRAILER,
    RD_DONE,
};

uint64_t kv_image_len(const struct kv_image *img)
{
    return img->len;
}

uint64_t kv_image_index(const struct kv_image *img)
{
    return img->st.applied_index;
}

uint64_t kv_image_revision(const struct kv_image *img)
{
    return img->st.revision;
}

void kv_image_reader_init(struct kv_image_reader *r, const struct kv_image *img)
{
    memset(r, 0, sizeof(*r));
    r->img = img;
    r->phase = RD_HEADER;
    r->sess = img->st.lru_head;
}

static void header(struct kv_image_reader *r)
{
    const struct kv_state *st = &r->img->st;
    uint8_t *h = r->stage;

    memcpy(h, KV_IMG_MAGIC, 8);
    nr_put_le32(h + KV_IMG_OFF_VERSION, KV_IMG_VERSION);
    nr_put_le32(h + KV_IMG_OFF_HDR_LEN, KV_IMG_HDR_LEN);
    nr_put_le64(h + KV_IMG_OFF_TOTAL_LEN, r->img->len);
    nr_put_le64(h + KV_IMG_OFF_INDEX, st->applied_index);
    nr_put_le64(h + KV_IMG_OFF_REVISION, st->revision);
    nr_put_le64(h + KV_IMG_OFF_N_KEYS, st->n_keys);
    nr_put_le64(h + KV_IMG_OFF_KV_BYTES, st->kv_bytes);
    nr_put_le32(h + KV_IMG_OFF_N_SESSIONS, st->n_sessions);
    nr_put_le32(h + KV_IMG_OFF_HDR_CRC, nr_crc32c(0, h, KV_IMG_OFF_HDR_CRC));
    r->src = h;
    r->src_len = KV_IMG_HDR_LEN;
    r->phase = RD_KEY_HDR;
}

/* The next key's header, or on to the sessions after the last slot. */
static void key_header(struct kv_image_reader *r)
{
    const struct kv_image *img = r->img;
    const struct kv_slot *slots = kv_slots(img->base, &img->lay);

    while (r->slot <= img->lay.slot_mask && slots[r->slot].ref == 0)
        r->slot++;
    if (r->slot > img->lay.slot_mask) {
        r->phase = RD_SESSION;
        return;
    }
    const struct kv_rec *rec = kv_rec_at(img->base, &img->lay, kv_slot_heap_off(&slots[r->slot]));
    uint8_t *k = r->stage;
    nr_put_le32(k + KV_IMG_KEY_OFF_KEY_LEN, rec->key_len);
    nr_put_le32(k + KV_IMG_KEY_OFF_VAL_LEN, rec->val_len);
    nr_put_le64(k + KV_IMG_KEY_OFF_CREATE, rec->create_rev);
    nr_put_le64(k + KV_IMG_KEY_OFF_MOD, rec->mod_rev);
    r->src = k;
    r->src_len = KV_IMG_KEY_HDR_LEN;
    r->phase = RD_KEY_DATA;
}

static void key_data(struct kv_image_reader *r)
{
    const struct kv_image *img = r->img;
    const struct kv_slot *s = &kv_slots(img->base, &img->lay)[r->slot++];
    const struct kv_rec *rec = kv_rec_at(img->base, &img->lay, kv_slot_heap_off(s));

    NR_ASSERT(rec->key_len >= 1);
    r->src = (const uint8_t *)(rec + 1);
    r->src_len = rec->key_len + rec->val_len;
    r->phase = RD_KEY_HDR;
}

static void session(struct kv_image_reader *r)
{
    const struct kv_image *img = r->img;

    if (r->sess == 0) {
        NR_ASSERT(r->n_sess_done == img->st.n_sessions);
        r->phase = RD_TRAILER;
        return;
    }
    NR_ASSERT(r->n_sess_done < img->st.n_sessions);
    const struct kv_sess *s = kv_sess_at(img->base, &img->lay, r->sess - 1);
    uint8_t *p = r->stage;
    memset(p, 0, KV_IMG_SESS_LEN);
    nr_put_le64(p + KV_IMG_SESS_OFF_CLIENT, s->client_id);
    nr_put_le64(p + KV_IMG_SESS_OFF_SEQ, s->seq);
    nr_put_le64(p + KV_IMG_SESS_OFF_INDEX, s->index);
    nr_put_le64(p + KV_IMG_SESS_OFF_REVISION, s->revision);
    p[KV_IMG_SESS_OFF_STATUS] = s->status;
    r->sess = s->next;
    r->n_sess_done++;
    r->src = p;
    r->src_len = KV_IMG_SESS_LEN;
}

/* Sets up the next piece of bytes; false at the end. */
static bool next_piece(struct kv_image_reader *r)
{
    for (;;) {
        switch (r->phase) {
        case RD_HEADER: header(r); break;
        case RD_KEY_HDR: key_header(r); break;
        case RD_KEY_DATA: key_data(r); break;
        case RD_SESSION: session(r); break;
        case RD_TRAILER:
            NR_ASSERT(r->off + KV_IMG_TRAILER_LEN == r->img->len);
            nr_put_le32(r->stage, r->crc);
            r->src = r->stage;
            r->src_len = KV_IMG_TRAILER_LEN;
            r->phase = RD_DONE;
            return true;
        default: return false;
        }
        if (r->src_len > 0) {
            r->crc = nr_crc32c(r->crc, r->src, r->src_len);
            return true;
        }
    }
}

size_t kv_image_read(struct kv_image_reader *r, void *buf, size_t cap)
{
    uint8_t *out = buf;
    size_t n = 0;

    while (n < cap) {
        if (r->src_len == 0 && !next_piece(r))
            break;
        size_t m = cap - n < r->src_len ? cap - n : r->src_len;
        memcpy(out + n, r->src, m);
        r->src += m;
        r->src_len -= (uint32_t)m;
        r->off += m;
        n += m;
    }
    return n;
}
