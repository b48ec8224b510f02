/* sim_sched.c - virtual time: the seeded generator and the event queue.
 *
 * xoshiro256** seeded through splitmix64: never rand(), never a clock, so a
 * seed replays bit for bit. The queue is a binary heap ordered by (time,
 * insertion sequence); equal times keep insertion order. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

uint64_t sim_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t sim_hash_bytes(const uint8_t *p, uint32_t len, uint64_t h)
{
    /* FNV-1a, folded through the mixer: cheap and good enough to tell
     * entries apart (a collision can only hide a violation, never make one). */
    h ^= 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return sim_mix64(h ^ len);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    uint64_t x = seed;

    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ull;
        r->s[i] = sim_mix64(x);
    }
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
    NR_ASSERT(n > 0);
    /* Modulo: the bias is negligible for our small ranges. */
    return sim_rng_next(r) % n;
}

uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi)
{
    NR_ASSERT(lo <= hi);
    return lo + sim_rng_below(r, hi - lo + 1);
}

bool sim_rng_bp(struct sim_rng *r, uint32_t bp)
{
    return sim_rng_below(r, 10000) < bp;
}

static bool ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
    if (a->at_us != b->at_us)
        return a->at_us < b->at_us;
    return a->seq < b->seq;
}

int sim_heap_push(struct sim_heap *h, const struct sim_ev *ev)
{
    if (h->n == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 1024;
        struct sim_ev *v = realloc(h->v, (size_t)cap * sizeof(*v));

        if (v == NULL)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    uint32_t i = h->n++;

    h->v[i] = *ev;
    h->v[i].seq = h->next_seq++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;

        if (!ev_before(&h->v[i], &h->v[parent]))
            break;
        struct sim_ev tmp = h->v[i];
        h->v[i] = h->v[parent];
        h->v[parent] = tmp;
        i = parent;
    }
    return 0;
}

bool sim_heap_pop(struct sim_heap *h, struct sim_ev *ev)
{
    if (h->n == 0)
        return false;
    *ev = h->v[0];
    h->v[0] = h->v[--h->n];
    uint32_t i = 0;

    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < h->n && ev_before(&h->v[l], &h->v[m]))
            m = l;
        if (r < h->n && ev_before(&h->v[r], &h->v[m]))
            m = r;
        if (m == i)
            break;
        struct sim_ev tmp = h->v[i];
        h->v[i] = h->v[m];
        h->v[m] = tmp;
        i = m;
    }
    return true;
}

void sim_heap_free(struct sim_heap *h)
{
    free(h->v);
    memset(h, 0, sizeof(*h));
}
