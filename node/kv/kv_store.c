/* kv_store.c - the store's memory: creation (sizes from the configuration,
 * everything touched once), the hash table (open addressing, linear
 * probing, deletion by backward shift) and the circular record heap with
 * its cleaner; lookups and observers.
 *
 * Why the heap cannot run out (kv.h: NOSPACE must depend on the logical
 * quota alone). Live records take at most D = max_bytes + max_keys *
 * (KV_REC_HDR_LEN + KV_UNIT - 1) bytes. The cleaner runs while the heap
 * holds more than D and examines KV_CLEAN_FACTOR (k) tail bytes per byte
 * newly allocated: dead ones are dropped, live ones move to the head. Over
 * one pass of the tail through the U0 bytes held when the pass began, at
 * most U0 / k + R new bytes arrive (R = KV_REC_MAX) and at most D move,
 * so the next pass starts with at most D + U0 / k + 3R (two wrap pads), a
 * fixed point of k / (k - 1) * (D + 3R), and no moment of a pass holds more
 * than (k + 1) / k of its start + 3R: 5/3 D + 8R for k = 4. The heap is
 * 2D + 16R. heap_alloc asserts it (our invariant, not outside data). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "kv_int.h"

#define KV_SEED_DEFAULT UINT64_C(0x6b76a3c1d2e4f507)

__extension__ typedef unsigned __int128 kv_u128;

static uint64_t mum(uint64_t a, uint64_t b)
{
    kv_u128 r = (kv_u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* wyhash-like: 8 bytes per multiply; keys are at most NR_KV_KEY_MAX bytes. */
uint64_t kv_hash(const uint8_t *key, uint32_t key_len, uint64_t seed)
{
    uint64_t h = seed ^ mum(key_len, UINT64_C(0xa0761d6478bd642f));
    uint32_t i = 0;

    for (; i + 8 <= key_len; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = mum(h ^ w, UINT64_C(0xe7037ed1a0b428db));
    }
    uint64_t t = 0;
    memcpy(&t, key + i, key_len - i);
    h = mum(h ^ t ^ ((uint64_t)(key_len - i) << 56), UINT64_C(0x8ebc6af09c88c6e3));
    return mum(h, UINT64_C(0x589965cc75374cc3));
}

bool kv_find(const struct kv *kv, const uint8_t *key, uint32_t key_len, uint64_t h,
             uint64_t *slot)
{
    const struct kv_slot *slots = kv_slots(kv->arena, &kv->lay);
    uint32_t tag = (uint32_t)h;
    uint64_t i = tag & kv->lay.slot_mask;

    /* Bounded: the table is never more than half full, so an empty slot
     * comes within slot_mask + 1 steps. */
    for (uint64_t n = 0; n <= kv->lay.slot_mask; n++, i = (i + 1) & kv->lay.slot_mask) {
        if (slots[i].ref == 0) {
            *slot = i;
            return false;
        }
        if (slots[i].tag != tag)
            continue;
        const struct kv_rec *r = kv_rec_at(kv->arena, &kv->lay, kv_slot_heap_off(&slots[i]));
        if (r->key_len == key_len && memcmp(r + 1, key, key_len) == 0) {
            *slot = i;
            return true;
        }
    }
    NR_ASSERT(!"hash table full");
    return false;
}

void kv_slot_set(struct kv *kv, uint64_t slot, uint32_t tag, uint64_t heap_off)
{
    struct kv_slot *s = (struct kv_slot *)(void *)kv_wr(
            kv, kv->lay.slots_off + slot * sizeof(struct kv_slot), sizeof(struct kv_slot));
    s->tag = tag;
    s->ref = (uint32_t)(heap_off / KV_UNIT + 1);
}

void kv_slot_del(struct kv *kv, uint64_t slot)
{
    const struct kv_slot *slots = kv_slots(kv->arena, &kv->lay);
    uint64_t mask = kv->lay.slot_mask, hole = slot, j = slot;

    for (uint64_t n = 0; n < mask; n++) {
        j = (j + 1) & mask;
        if (slots[j].ref == 0)
            break;
        uint64_t home = slots[j].tag & mask;
        /* j's entry may fill the hole unless its home lies in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays)
            continue;
        struct kv_slot *dst = (struct kv_slot *)(void *)kv_wr(
                kv, kv->lay.slots_off + hole * sizeof(struct kv_slot), sizeof(struct kv_slot));
        *dst = slots[j];
        hole = j;
    }
    struct kv_slot *h = (struct kv_slot *)(void *)kv_wr(
            kv, kv->lay.slots_off + hole * sizeof(struct kv_slot), sizeof(struct kv_slot));
    h->tag = 0;
    h->ref = 0;
}

static uint64_t heap_used(const struct kv *kv)
{
    return kv->st.head_pos - kv->st.tail_pos;
}

/* need bytes at the head, a pad first when the heap's end is nearer. */
static uint64_t heap_place(struct kv *kv, uint64_t need)
{
    uint64_t len = kv->lay.heap_len;
    uint64_t off = kv->st.head_pos % len;

    if (len - off < need) {
        NR_ASSERT(len - heap_used(kv) >= len - off);
        struct kv_rec *pad = (struct kv_rec *)(void *)kv_wr(kv, kv->lay.heap_off + off, 8);
        pad->units = (uint32_t)((len - off) / KV_UNIT);
        pad->key_len = 0;
        kv->st.head_pos += len - off;
        off = 0;
    }
    NR_ASSERT(len - heap_used(kv) >= need);
    kv->st.head_pos += need;
    return off;
}

/* Moves the live record at heap offset off to the head; repoints its slot. */
static void heap_move(struct kv *kv, uint64_t off, uint64_t len)
{
    const struct kv_rec *r = kv_rec_at(kv->arena, &kv->lay, off);
    const struct kv_slot *slots = kv_slots(kv->arena, &kv->lay);
    uint32_t ref = (uint32_t)(off / KV_UNIT + 1);
    uint64_t i = r->tag & kv->lay.slot_mask;
    uint64_t n = 0;

    while (slots[i].ref != ref) {
        NR_ASSERT(slots[i].ref != 0);
        NR_ASSERT(n++ <= kv->lay.slot_mask);
        i = (i + 1) & kv->lay.slot_mask;
    }
    uint64_t to = heap_place(kv, len);
    memcpy(kv_wr(kv, kv->lay.heap_off + to, len), r, len);
    kv_slot_set(kv, i, slots[i].tag, to);
    kv->stats.cleaner_moved_bytes += len;
}

/* Examines about KV_CLEAN_FACTOR * need tail bytes while the heap holds more
 * than clean_above (see the top of this file). */
static void heap_clean(struct kv *kv, uint64_t need)
{
    uint64_t budget = KV_CLEAN_FACTOR * need;

    while (budget > 0 && heap_used(kv) > kv->lay.clean_above) {
        uint64_t off = kv->st.tail_pos % kv->lay.heap_len;
        const struct kv_rec *r = kv_rec_at(kv->arena, &kv->lay, off);
        uint64_t len = (uint64_t)r->units * KV_UNIT;

        NR_ASSERT(len > 0 && len <= heap_used(kv));
        if (r->key_len != 0)
            heap_move(kv, off, len);
        kv->st.tail_pos += len;
        budget -= len < budget ? len : budget;
    }
}

uint64_t kv_rec_new(struct kv *kv, uint32_t tag, const uint8_t *key, uint32_t key_len,
                    const uint8_t *val, uint32_t val_len, uint64_t create_rev, uint64_t mod_rev)
{
    uint64_t len = kv_rec_len(key_len, val_len);

    heap_clean(kv, len);
    uint64_t off = heap_place(kv, len);
    uint8_t *p = kv_wr(kv, kv->lay.heap_off + off, len);
    struct kv_rec *r = (struct kv_rec *)(void *)p;
    r->units = (uint32_t)(len / KV_UNIT);
    r->key_len = key_len;
    r->val_len = val_len;
    r->tag = tag;
    r->create_rev = create_rev;
    r->mod_rev = mod_rev;
    if (key != NULL)
        memcpy(p + KV_REC_HDR_LEN, key, key_len);
    if (val_len > 0 && val != NULL)
        memcpy(p + KV_REC_HDR_LEN + key_len, val, val_len);
    return off;
}

void kv_rec_free(struct kv *kv, uint64_t heap_off)
{
    struct kv_rec *r = (struct kv_rec *)(void *)kv_wr(kv, kv->lay.heap_off + heap_off, 8);
    r->key_len = 0;
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

static uint64_t align_up(uint64_t n, uint64_t a)
{
    return (n + a - 1) / a * a;
}

static int check_config(const struct kv_config *c, struct nr_err *err)
{
    if (c->max_keys < 1 || c->max_keys > KV_KEYS_MAX)
        return nr_errf(err, NR_EINVAL, "kv: max_keys %" PRIu32 " is outside 1..%u", c->max_keys,
                       KV_KEYS_MAX);
    if (c->max_bytes < 1 || c->max_bytes > KV_BYTES_MAX)
        return nr_errf(err, NR_EINVAL, "kv: max_bytes %" PRIu64 " is outside 1..%" PRIu64,
                       c->max_bytes, KV_BYTES_MAX);
    if (c->max_sessions < 1 || c->max_sessions > KV_SESSIONS_MAX)
        return nr_errf(err, NR_EINVAL, "kv: max_sessions %" PRIu32 " is outside 1..%u",
                       c->max_sessions, KV_SESSIONS_MAX);
    return 0;
}

static void plan_layout(const struct kv_config *c, struct kv_layout *lay)
{
    uint64_t off = 0;
    uint64_t live_max = c->max_bytes + (uint64_t)c->max_keys * (KV_REC_HDR_LEN + KV_UNIT - 1);

    lay->slot_mask = pow2_at_least(2 * (uint64_t)c->max_keys) - 1;
    lay->slots_off = off;
    off = align_up(off + (lay->slot_mask + 1) * sizeof(struct kv_slot), 64);
    lay->sess_off = off;
    off = align_up(off + (uint64_t)c->max_sessions * sizeof(struct kv_sess), 64);
    lay->sidx_mask = pow2_at_least(2 * (uint64_t)c->max_sessions) - 1;
    lay->sidx_off = off;
    off = align_up(off + (lay->sidx_mask + 1) * sizeof(uint32_t), 64);
    lay->heap_off = off;
    lay->heap_len = align_up(2 * live_max + 16 * (uint64_t)KV_REC_MAX, KV_UNIT);
    lay->clean_above = live_max;
    off += lay->heap_len + KV_ARENA_GUARD;
    lay->arena_len = align_up(off, KV_PAGE_LEN);
    lay->n_pages = lay->arena_len / KV_PAGE_LEN;
}

/* An arena on 2 MiB boundaries, asking for transparent huge pages: the
 * table and the heap are read at random, and 4 KiB pages cost a TLB miss
 * on most lookups (kv_find was 6% of a loaded leader's time). Where the
 * kernel gives none, the arena works the same on small pages. */
static void *arena_alloc(uint64_t len)
{
    const size_t huge = 2u << 20;
    void *p = aligned_alloc(huge, (len + huge - 1) / huge * huge);

    if (p != NULL)
        madvise(p, len, MADV_HUGEPAGE);
    return p;
}

int kv_create(const struct kv_config *cfg, struct kv **out, struct nr_err *err)
{
    *out = NULL;
    int rc = check_config(cfg, err);
    if (rc != 0)
        return rc;
    struct kv *kv = calloc(1, sizeof(*kv));
    if (kv == NULL)
        return nr_errf(err, NR_ENOMEM, "kv: no memory for the store's handle");
    kv->cfg = *cfg;
    if (kv->cfg.hash_seed == 0)
        kv->cfg.hash_seed = KV_SEED_DEFAULT;
    plan_layout(&kv->cfg, &kv->lay);
    /* The heap's units fit a slot's 32-bit reference (checked bounds). */
    NR_ASSERT(kv->lay.heap_len / KV_UNIT < UINT32_MAX);
    kv->arena = arena_alloc(kv->lay.arena_len);
    kv->snap_arena = arena_alloc(kv->lay.arena_len);
    kv->copied = malloc(kv->lay.n_pages);
    if (kv->arena == NULL || kv->snap_arena == NULL || kv->copied == NULL) {
        rc = nr_errf(err, NR_ENOMEM,
                     "kv: no memory for 2 x %" PRIu64 " bytes of arena (max_keys %" PRIu32
                     ", max_bytes %" PRIu64 ", max_sessions %" PRIu32 ")",
                     kv->lay.arena_len, cfg->max_keys, cfg->max_bytes, cfg->max_sessions);
        kv_destroy(kv);
        return rc;
    }
    /* Touch every page now: the poller must never fault one in. */
    memset(kv->arena, 0, kv->lay.arena_len);
    memset(kv->snap_arena, 0, kv->lay.arena_len);
    memset(kv->copied, 0, kv->lay.n_pages);
    kv->stats.arena_len = kv->lay.arena_len;
    kv->stats.heap_len = kv->lay.heap_len;
    kv_reset(kv);
    *out = kv;
    return 0;
}

void kv_destroy(struct kv *kv)
{
    if (kv == NULL)
        return;
    free(kv->arena);
    free(kv->snap_arena);
    free(kv->copied);
    free(kv);
}

void kv_reset(struct kv *kv)
{
    kv->snap_phase = KV_SNAP_IDLE;
    kv->stats.is_snap_active = false;
    memset(&kv->rs, 0, sizeof(kv->rs));
    memset(kv->arena + kv->lay.slots_off, 0, (kv->lay.slot_mask + 1) * sizeof(struct kv_slot));
    memset(kv->arena + kv->lay.sidx_off, 0, (kv->lay.sidx_mask + 1) * sizeof(uint32_t));
    memset(&kv->st, 0, sizeof(kv->st));
    kv->st.revision = 1;
}

bool kv_get(const struct kv *kv, const uint8_t *key, uint32_t key_len, struct kv_value *out)
{
    uint64_t slot;

    if (key_len == 0 || key_len > NR_KV_KEY_MAX)
        return false;
    if (!kv_find(kv, key, key_len, kv_hash(key, key_len, kv->cfg.hash_seed), &slot))
        return false;
    const struct kv_slot *s = &kv_slots(kv->arena, &kv->lay)[slot];
    const struct kv_rec *r = kv_rec_at(kv->arena, &kv->lay, kv_slot_heap_off(s));
    out->val = (const uint8_t *)(r + 1) + r->key_len;
    out->val_len = r->val_len;
    out->create_revision = r->create_rev;
    out->mod_revision = r->mod_rev;
    return true;
}

uint64_t kv_applied_index(const struct kv *kv)
{
    return kv->st.applied_index;
}

uint64_t kv_revision(const struct kv *kv)
{
    return kv->st.revision;
}

uint64_t kv_arena_len(const struct kv *kv)
{
    return kv->lay.arena_len;
}

void kv_stats(const struct kv *kv, struct kv_stats *out)
{
    *out = kv->stats;
    out->n_keys = kv->st.n_keys;
    out->kv_bytes = kv->st.kv_bytes;
    out->n_sessions = kv->st.n_sessions;
    out->heap_used_bytes = heap_used(kv);
}
