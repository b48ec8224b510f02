/* kv_snap.c - snapshots by copy-on-write pages (kv.h, "Snapshots"): begin
 * freezes the scalars and clears the page map, writes copy the pages they
 * touch first (kv_wr), kv_snap_step copies the rest a budget at a time.
 * After the last page the snapshot area equals the arena as it was at
 * begin, and only kv_snap_release lets the poller write it again. */
#include <inttypes.h>

#include "kv_int.h"

void kv_snap_copy_page(struct kv *kv, uint64_t p)
{
    NR_ASSERT(kv->snap_phase == KV_SNAP_COPYING);
    NR_ASSERT(p < kv->lay.n_pages);
    memcpy(kv->snap_arena + p * KV_PAGE_LEN, kv->arena + p * KV_PAGE_LEN, KV_PAGE_LEN);
    kv->copied[p] = 1;
    kv->stats.snap_pages_cow++;
}

/* Marks the pages wholly inside heap bytes [a, b) as copied: no record of
 * the frozen state lies there, so the image never reads them. */
static void skip_free(struct kv *kv, uint64_t a, uint64_t b)
{
    uint64_t first = (kv->lay.heap_off + a + KV_PAGE_LEN - 1) / KV_PAGE_LEN;
    uint64_t end = (kv->lay.heap_off + b) / KV_PAGE_LEN;

    if (first < end)
        memset(kv->copied + first, 1, end - first);
}

static uint64_t image_len(const struct kv_state *st)
{
    return KV_IMG_HDR_LEN + st->n_keys * KV_IMG_KEY_HDR_LEN + st->kv_bytes +
           (uint64_t)st->n_sessions * KV_IMG_SESS_LEN + KV_IMG_TRAILER_LEN;
}

int kv_snap_begin(struct kv *kv, struct nr_err *err)
{
    if (kv->snap_phase != KV_SNAP_IDLE)
        return nr_errf(err, NR_EBUSY, "kv: a snapshot at index %" PRIu64 " is not released yet",
                       kv->img.st.applied_index);
    if (kv->rs.is_active)
        return nr_errf(err, NR_EBUSY, "kv: a restore is in progress");
    kv->img.base = kv->snap_arena;
    kv->img.lay = kv->lay;
    kv->img.st = kv->st;
    kv->img.len = image_len(&kv->st);
    memset(kv->copied, 0, kv->lay.n_pages);
    /* The heap's free part: [head, tail + len) around the ring. */
    uint64_t len = kv->lay.heap_len;
    uint64_t free_len = len - (kv->st.head_pos - kv->st.tail_pos);
    uint64_t a = kv->st.head_pos % len;
    if (a + free_len <= len) {
        skip_free(kv, a, a + free_len);
    } else {
        skip_free(kv, a, len);
        skip_free(kv, 0, a + free_len - len);
    }
    kv->snap_phase = KV_SNAP_COPYING;
    kv->snap_cursor = 0;
    kv->stats.snap_index = kv->st.applied_index;
    kv->stats.is_snap_active = true;
    return 0;
}

bool kv_snap_step(struct kv *kv, uint64_t budget_bytes)
{
    if (kv->snap_phase != KV_SNAP_COPYING)
        return true;
    /* A page already copied costs a little budget too, so one call's work
     * stays bounded however the map looks; at least one page moves on. */
    uint64_t spent = 0;
    while (kv->snap_cursor < kv->lay.n_pages && (spent == 0 || spent < budget_bytes)) {
        uint64_t p = kv->snap_cursor++;
        if (kv->copied[p]) {
            spent += 16;
            continue;
        }
        memcpy(kv->snap_arena + p * KV_PAGE_LEN, kv->arena + p * KV_PAGE_LEN, KV_PAGE_LEN);
        kv->copied[p] = 1;
        kv->stats.snap_pages_step++;
        spent += KV_PAGE_LEN;
    }
    if (kv->snap_cursor < kv->lay.n_pages)
        return false;
    kv->snap_phase = KV_SNAP_COMPLETE;
    kv->stats.n_snaps++;
    return true;
}

const struct kv_image *kv_snap_image(const struct kv *kv)
{
    return kv->snap_phase == KV_SNAP_COMPLETE ? &kv->img : NULL;
}

void kv_snap_release(struct kv *kv)
{
    kv->snap_phase = KV_SNAP_IDLE;
    kv->stats.is_snap_active = false;
}
