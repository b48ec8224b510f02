/* kv_int.h - the store's insides, shared by the .c files of node/kv only: the arena's
 * layout, the scalars a snapshot freezes, and the write barrier every
 * mutation of the arena goes through (kv_wr). */
#ifndef NICRAFT_KV_INT_H
#define NICRAFT_KV_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kv.h"
#include "kv_format.h"

#define KV_PAGE_LEN 4096u
#define KV_UNIT 8u            /* heap records are multiples of this */
#define KV_REC_HDR_LEN 32u
#define KV_REC_MAX ((KV_REC_HDR_LEN + NR_KV_KEY_MAX + NR_KV_VAL_MAX + KV_UNIT - 1) / KV_UNIT * KV_UNIT)
/* Tail bytes the cleaner may examine per byte allocated at the head. */
#define KV_CLEAN_FACTOR 4u
#define KV_ARENA_GUARD 64u    /* after the heap: a header read never leaves the arena */

/* One hash slot: ref is the record's heap unit + 1 (0: empty); tag the low
 * 32 bits of the key's hash (the home slot is tag & slot_mask). */
struct kv_slot {
    uint32_t tag;
    uint32_t ref;
};

/* A heap record: this header, the key, the value, padding to KV_UNIT.
 * key_len 0 marks a dead record or the padding before a wrap (then only
 * units and key_len are meaningful: a pad may be 8 bytes). */
struct kv_rec {
    uint32_t units; /* the record's size in KV_UNITs */
    uint32_t key_len;
    uint32_t val_len;
    uint32_t tag; /* the key's hash tag, to find its slot when moved */
    uint64_t create_rev;
    uint64_t mod_rev;
};
_Static_assert(sizeof(struct kv_rec) == KV_REC_HDR_LEN, "record header layout");

/* One client session; prev/next link the eviction list (entry + 1, 0 none)
 * in order of index, the oldest at st.lru_head. */
struct kv_sess {
    uint64_t client_id;
    uint64_t seq;
    uint64_t index;
    uint64_t revision;
    uint32_t prev;
    uint32_t next;
    uint8_t status;
    uint8_t pad[7];
};
_Static_assert(sizeof(struct kv_sess) == 48, "session layout");

/* Where each table sits in the arena (bytes from its start). */
struct kv_layout {
    uint64_t slots_off;
    uint64_t slot_mask; /* slots - 1, a power of two >= 2 * max_keys */
    uint64_t sess_off;  /* max_sessions entries */
    uint64_t sidx_off;  /* session index: u32 entry + 1, 0 empty */
    uint64_t sidx_mask;
    uint64_t heap_off;
    uint64_t heap_len;  /* a multiple of KV_UNIT */
    uint64_t clean_above; /* the cleaner runs while the heap holds more */
    uint64_t arena_len; /* a multiple of KV_PAGE_LEN */
    uint64_t n_pages;
};

/* The scalars of the state: a snapshot freezes them by value. */
struct kv_state {
    uint64_t applied_index;
    uint64_t revision;
    uint64_t n_keys;
    uint64_t kv_bytes;
    uint32_t n_sessions;
    uint32_t lru_head; /* oldest session (entry + 1), 0 none */
    uint32_t lru_tail;
    uint64_t head_pos; /* heap positions in bytes, only ever growing; */
    uint64_t tail_pos; /* records live in [tail_pos, head_pos) mod heap_len */
};

struct kv_image {
    const uint8_t *base; /* the snapshot area */
    struct kv_layout lay;
    struct kv_state st;
    uint64_t len; /* serialized bytes */
};

enum kv_snap_phase {
    KV_SNAP_IDLE = 0,
    KV_SNAP_COPYING,
    KV_SNAP_COMPLETE,
};

/* The streaming restore's parser. */
struct kv_restore_state {
    bool is_active;
    uint32_t part;      /* enum in kv_restore.c */
    uint64_t off;       /* bytes consumed */
    uint64_t total_len; /* from the header */
    uint32_t crc;       /* over consumed bytes, the trailer excluded */
    uint8_t stage[KV_IMG_HDR_LEN];
    uint32_t stage_len;
    uint32_t stage_need;
    uint64_t n_keys, kv_bytes, revision, index; /* the header's */
    uint32_t n_sessions;
    uint64_t keys_done, bytes_done;
    uint32_t sess_done;
    uint64_t last_sess_index;
    uint64_t rec_heap_off; /* the record being filled */
    uint64_t rec_item_off; /* its image offset */
    uint32_t rec_fill, rec_need; /* key + value bytes so far, in all */
};

struct kv {
    struct kv_config cfg;
    struct kv_layout lay;
    struct kv_state st;
    uint8_t *arena;
    uint8_t *snap_arena;
    uint8_t *copied; /* per page: 1 when the snapshot area holds it */
    uint32_t snap_phase;
    uint64_t snap_cursor; /* kv_snap_step's next page */
    struct kv_image img;
    struct kv_restore_state rs;
    struct kv_stats stats; /* the counters; the figures come from st */
};

/* kv_snap.c: copies page p into the snapshot area. */
void kv_snap_copy_page(struct kv *kv, uint64_t p);

/* The write barrier: call before writing len bytes at arena offset off. */
static inline uint8_t *kv_wr(struct kv *kv, uint64_t off, uint64_t len)
{
    if (__builtin_expect(kv->snap_phase == KV_SNAP_COPYING, 0)) {
        for (uint64_t p = off / KV_PAGE_LEN; p <= (off + len - 1) / KV_PAGE_LEN; p++) {
            if (!kv->copied[p])
                kv_snap_copy_page(kv, p);
        }
    }
    return kv->arena + off;
}

static inline const struct kv_slot *kv_slots(const uint8_t *base, const struct kv_layout *lay)
{
    return (const struct kv_slot *)(const void *)(base + lay->slots_off);
}

static inline const struct kv_rec *kv_rec_at(const uint8_t *base, const struct kv_layout *lay,
                                             uint64_t heap_off)
{
    return (const struct kv_rec *)(const void *)(base + lay->heap_off + heap_off);
}

static inline const struct kv_sess *kv_sess_at(const uint8_t *base, const struct kv_layout *lay,
                                               uint32_t entry)
{
    return (const struct kv_sess *)(const void *)(base + lay->sess_off) + entry;
}

/* kv_store.c: the hash table and heap, shared with apply and restore. */
uint64_t kv_hash(const uint8_t *key, uint32_t key_len, uint64_t seed);
/* The slot holding key (true), or the empty slot where it would go. */
bool kv_find(const struct kv *kv, const uint8_t *key, uint32_t key_len, uint64_t h,
             uint64_t *slot);
/* Writes a record for key/val at the heap's head (cleaning first) and
 * returns its heap offset; the slot is not touched. */
uint64_t kv_rec_new(struct kv *kv, uint32_t tag, const uint8_t *key, uint32_t key_len,
                    const uint8_t *val, uint32_t val_len, uint64_t create_rev,
                    uint64_t mod_rev);
void kv_rec_free(struct kv *kv, uint64_t heap_off);
void kv_slot_set(struct kv *kv, uint64_t slot, uint32_t tag, uint64_t heap_off);
/* Empties slot, shifting the probe run behind it back (no tombstones). */
void kv_slot_del(struct kv *kv, uint64_t slot);
static inline uint64_t kv_slot_heap_off(const struct kv_slot *s)
{
    return ((uint64_t)s->ref - 1) * KV_UNIT;
}
static inline uint64_t kv_rec_len(uint32_t key_len, uint32_t val_len)
{
    return (KV_REC_HDR_LEN + (uint64_t)key_len + val_len + KV_UNIT - 1) / KV_UNIT * KV_UNIT;
}

/* kv_session.c */
uint64_t kv_mix64(uint64_t x);
/* The entry of client_id's session, or UINT32_MAX. */
uint32_t kv_sess_find(const struct kv *kv, uint64_t client_id);
/* Records an applied write's answer (evicting the oldest session if the
 * client is new and the table full). */
void kv_sess_record(struct kv *kv, uint32_t entry, uint64_t client_id, uint64_t seq,
                    uint64_t index, uint8_t status, uint64_t revision);

#endif
