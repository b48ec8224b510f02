/* kv_session.c - client sessions: the table (max_sessions entries, each
 * used once and then reused only by eviction), its index by client ID (open
 * addressing, load <= 0.5, deletion by backward shift) and the eviction
 * list in order of last-applied index. Applying a write appends its client
 * to the list's tail, so the head is always the session with the oldest
 * index: eviction is O(1) and the same on every member. */
#include "kv_int.h"

uint64_t kv_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static const uint32_t *sidx(const struct kv *kv)
{
    return (const uint32_t *)(const void *)(kv->arena + kv->lay.sidx_off);
}

static void sidx_put(struct kv *kv, uint64_t i, uint32_t v)
{
    uint32_t *p = (uint32_t *)(void *)kv_wr(kv, kv->lay.sidx_off + i * 4, 4);
    *p = v;
}

static struct kv_sess *sess_wr(struct kv *kv, uint32_t entry)
{
    return (struct kv_sess *)(void *)kv_wr(
            kv, kv->lay.sess_off + (uint64_t)entry * sizeof(struct kv_sess),
            sizeof(struct kv_sess));
}

/* The index slot holding entry + 1 when client_id is known, else the
 * empty slot where it would go. Bounded: the index is at most half full. */
static uint64_t sidx_probe(const struct kv *kv, uint64_t client_id, bool *found)
{
    uint64_t mask = kv->lay.sidx_mask, i = kv_mix64(client_id) & mask;

    for (uint64_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
        uint32_t v = sidx(kv)[i];
        if (v == 0) {
            *found = false;
            return i;
        }
        if (kv_sess_at(kv->arena, &kv->lay, v - 1)->client_id == client_id) {
            *found = true;
            return i;
        }
    }
    NR_ASSERT(!"session index full");
    return 0;
}

uint32_t kv_sess_find(const struct kv *kv, uint64_t client_id)
{
    bool found;
    uint64_t i = sidx_probe(kv, client_id, &found);
    return found ? sidx(kv)[i] - 1 : UINT32_MAX;
}

static void sidx_del(struct kv *kv, uint64_t hole)
{
    uint64_t mask = kv->lay.sidx_mask, j = hole;

    for (uint64_t n = 0; n < mask; n++) {
        j = (j + 1) & mask;
        uint32_t v = sidx(kv)[j];
        if (v == 0)
            break;
        uint64_t home = kv_mix64(kv_sess_at(kv->arena, &kv->lay, v - 1)->client_id) & mask;
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays)
            continue;
        sidx_put(kv, hole, v);
        hole = j;
    }
    sidx_put(kv, hole, 0);
}

static void lru_unlink(struct kv *kv, uint32_t entry)
{
    const struct kv_sess *s = kv_sess_at(kv->arena, &kv->lay, entry);
    uint32_t prev = s->prev, next = s->next;

    if (prev != 0)
        sess_wr(kv, prev - 1)->next = next;
    else
        kv->st.lru_head = next;
    if (next != 0)
        sess_wr(kv, next - 1)->prev = prev;
    else
        kv->st.lru_tail = prev;
}

static void lru_append(struct kv *kv, uint32_t entry)
{
    struct kv_sess *s = sess_wr(kv, entry);

    s->prev = kv->st.lru_tail;
    s->next = 0;
    if (kv->st.lru_tail != 0)
        sess_wr(kv, kv->st.lru_tail - 1)->next = entry + 1;
    else
        kv->st.lru_head = entry + 1;
    kv->st.lru_tail = entry + 1;
}

/* A new client's entry: a fresh one, or the oldest session's. */
static uint32_t sess_take(struct kv *kv, uint64_t client_id)
{
    uint32_t entry;
    bool found;

    if (kv->st.n_sessions < kv->cfg.max_sessions) {
        entry = kv->st.n_sessions++;
    } else {
        NR_ASSERT(kv->st.lru_head != 0);
        entry = kv->st.lru_head - 1;
        uint64_t i = sidx_probe(kv, kv_sess_at(kv->arena, &kv->lay, entry)->client_id, &found);
        NR_ASSERT(found);
        sidx_del(kv, i);
        lru_unlink(kv, entry);
        kv->stats.n_evictions++;
    }
    uint64_t i = sidx_probe(kv, client_id, &found);
    NR_ASSERT(!found);
    sidx_put(kv, i, entry + 1);
    struct kv_sess *s = sess_wr(kv, entry);
    memset(s, 0, sizeof(*s));
    s->client_id = client_id;
    return entry;
}

void kv_sess_record(struct kv *kv, uint32_t entry, uint64_t client_id, uint64_t seq,
                    uint64_t index, uint8_t status, uint64_t revision)
{
    if (entry == UINT32_MAX)
        entry = sess_take(kv, client_id);
    else
        lru_unlink(kv, entry);
    struct kv_sess *s = sess_wr(kv, entry);
    s->seq = seq;
    s->index = index;
    s->status = status;
    s->revision = revision;
    lru_append(kv, entry);
}

bool kv_session_get(const struct kv *kv, uint64_t client_id, struct kv_session *out)
{
    uint32_t entry = kv_sess_find(kv, client_id);

    if (entry == UINT32_MAX)
        return false;
    const struct kv_sess *s = kv_sess_at(kv->arena, &kv->lay, entry);
    out->client_id = s->client_id;
    out->seq = s->seq;
    out->index = s->index;
    out->revision = s->revision;
    out->status = s->status;
    return true;
}
