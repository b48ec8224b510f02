/* sim_linz.c - linearizability of the client history, key by key.
 *
 * A key-value store is linearizable when each key is (locality), so the
 * history is split per key and each part searched with the Wing-Gong
 * algorithm as refined by Lowe: walk the time-ordered call/return list,
 * linearize a pending call whose effect fits the register's state, backtrack
 * when a return is reached whose call was not linearized, and memoize
 * (linearized set, state) pairs so each configuration is explored once.
 *
 * A put whose outcome is unknown has its return at infinity: it may be
 * placed anywhere after its call, and placing it after everything else is
 * the same as it never taking effect. The search is bounded; reaching the
 * bound gives SIM_LINZ_UNKNOWN, which is reported, never counted as a pass. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct lz_entry {
    bool is_call;
    uint32_t op; /* index in the key's op list */
    uint64_t time;
    struct lz_entry *match; /* a call's return, a return's call */
    struct lz_entry *prev;
    struct lz_entry *next;
};

struct lz_frame {
    struct lz_entry *call;
    uint64_t state; /* the register before the call was linearized */
};

struct lz_cache {
    uint32_t *slots; /* 0: empty, else 1 + index in keys */
    uint32_t n_slots;
    uint64_t *keys; /* per entry: state, then the bitset words */
    uint32_t n;
    uint32_t cap;
    uint32_t words;
};

struct lz_search {
    const struct sim_op *const *ops;
    uint32_t n_ops;
    struct lz_entry *ents; /* 2 * n_ops */
    struct lz_entry head;
    uint64_t *bits;
    struct lz_frame *stack;
    uint32_t depth;
    struct lz_cache cache;
};

static int cmp_entry(const void *pa, const void *pb)
{
    const struct lz_entry *a = pa, *b = pb;

    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return a->op < b->op ? -1 : a->op > b->op ? 1 : 0;
}

static uint64_t cache_hash(const uint64_t *bits, uint32_t words, uint64_t state)
{
    uint64_t h = sim_mix64(state);

    for (uint32_t i = 0; i < words; i++)
        h = sim_mix64(h ^ bits[i]);
    return h;
}

static void cache_grow(struct lz_cache *c)
{
    uint32_t n_slots = c->n_slots ? c->n_slots * 2 : 1024;
    uint32_t *slots = calloc(n_slots, sizeof(*slots));

    NR_ASSERT(slots != NULL);
    for (uint32_t i = 0; i < c->n; i++) {
        const uint64_t *k = c->keys + (size_t)i * (c->words + 1);
        uint64_t h = cache_hash(k + 1, c->words, k[0]);
        uint32_t s = (uint32_t)(h & (n_slots - 1));

        while (slots[s] != 0)
            s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
    }
    free(c->slots);
    c->slots = slots;
    c->n_slots = n_slots;
}

/* Adds (bits, state); false when it was already there. */
static bool cache_add(struct lz_cache *c, const uint64_t *bits, uint64_t state)
{
    if ((c->n + 1) * 2 > c->n_slots)
        cache_grow(c);
    size_t stride = (size_t)c->words + 1;
    uint32_t s = (uint32_t)(cache_hash(bits, c->words, state) & (c->n_slots - 1));

    for (; c->slots[s] != 0; s = (s + 1) & (c->n_slots - 1)) {
        const uint64_t *k = c->keys + (size_t)(c->slots[s] - 1) * stride;

        if (k[0] == state && memcmp(k + 1, bits, c->words * sizeof(bits[0])) == 0)
            return false;
    }
    if (c->n == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 1024;
        uint64_t *keys = realloc(c->keys, (size_t)cap * stride * sizeof(*keys));

        NR_ASSERT(keys != NULL);
        c->keys = keys;
        c->cap = cap;
    }
    uint64_t *k = c->keys + (size_t)c->n * stride;

    k[0] = state;
    memcpy(k + 1, bits, c->words * sizeof(bits[0]));
    c->slots[s] = ++c->n;
    return true;
}

static void lift(struct lz_entry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    struct lz_entry *m = e->match;

    m->prev->next = m->next;
    if (m->next != NULL)
        m->next->prev = m->prev;
}

static void unlift(struct lz_entry *e)
{
    struct lz_entry *m = e->match;

    m->prev->next = m;
    if (m->next != NULL)
        m->next->prev = m;
    e->prev->next = e;
    e->next->prev = e;
}

/* The register: a put always fits; a get fits when it read the state. */
static bool model_step(const struct sim_op *op, uint64_t state, uint64_t *next)
{
    if (op->kind == SIM_OP_PUT) {
        *next = op->value;
        return true;
    }
    *next = state;
    return op->value == state;
}

static void search_build(struct lz_search *s)
{
    for (uint32_t i = 0; i < s->n_ops; i++) {
        s->ents[2 * i] = (struct lz_entry){.is_call = true, .op = i, .time = s->ops[i]->call};
        s->ents[2 * i + 1] = (struct lz_entry){.op = i, .time = s->ops[i]->ret};
    }
    qsort(s->ents, 2 * (size_t)s->n_ops, sizeof(s->ents[0]), cmp_entry);
    struct lz_entry **call_of = calloc(s->n_ops, sizeof(*call_of));

    NR_ASSERT(call_of != NULL);
    struct lz_entry *prev = &s->head;

    for (uint32_t i = 0; i < 2 * s->n_ops; i++) {
        struct lz_entry *e = &s->ents[i];

        if (e->is_call) {
            call_of[e->op] = e;
        } else {
            e->match = call_of[e->op];
            call_of[e->op]->match = e;
        }
        e->prev = prev;
        prev->next = e;
        prev = e;
    }
    prev->next = NULL;
    free(call_of);
}

static uint32_t search_run(struct lz_search *s, uint64_t effort_max)
{
    struct lz_entry *e = s->head.next;
    uint64_t state = 0;

    for (uint64_t steps = 0; s->head.next != NULL; steps++) {
        if (steps >= effort_max)
            return SIM_LINZ_UNKNOWN;
        if (e->is_call) {
            uint64_t next;
            uint32_t op = e->op;

            if (model_step(s->ops[op], state, &next)) {
                s->bits[op / 64] |= 1ull << (op % 64);
                if (cache_add(&s->cache, s->bits, next)) {
                    s->stack[s->depth++] = (struct lz_frame){.call = e, .state = state};
                    state = next;
                    lift(e);
                    e = s->head.next;
                    continue;
                }
                s->bits[op / 64] &= ~(1ull << (op % 64));
            }
            e = e->next;
        } else {
            if (s->depth == 0)
                return SIM_LINZ_FAIL;
            struct lz_frame f = s->stack[--s->depth];

            state = f.state;
            s->bits[f.call->op / 64] &= ~(1ull << (f.call->op % 64));
            unlift(f.call);
            e = f.call->next;
        }
    }
    return SIM_LINZ_OK;
}

static uint32_t check_key(const struct sim_op *const *ops, uint32_t n_ops, uint64_t effort_max)
{
    struct lz_search s = {.ops = ops, .n_ops = n_ops};
    uint32_t words = (n_ops + 63) / 64;

    if (n_ops == 0)
        return SIM_LINZ_OK;
    s.ents = calloc(2 * (size_t)n_ops, sizeof(s.ents[0]));
    s.bits = calloc(words, sizeof(s.bits[0]));
    s.stack = calloc(n_ops, sizeof(s.stack[0]));
    NR_ASSERT(s.ents != NULL && s.bits != NULL && s.stack != NULL);
    s.cache.words = words;
    search_build(&s);
    uint32_t rc = search_run(&s, effort_max);

    free(s.ents);
    free(s.bits);
    free(s.stack);
    free(s.cache.slots);
    free(s.cache.keys);
    return rc;
}

uint32_t sim_linz_check(const struct sim_hist *h, uint32_t n_keys, uint64_t effort_max,
                        uint32_t *n_unknown, uint32_t *bad_key)
{
    const struct sim_op **ops = calloc(h->n + 1, sizeof(*ops));
    uint32_t result = SIM_LINZ_OK;

    NR_ASSERT(ops != NULL);
    *n_unknown = 0;
    for (uint32_t key = 0; key < n_keys; key++) {
        uint32_t n = 0;

        for (uint32_t i = 0; i < h->n; i++) {
            if (h->v[i].key == key && h->v[i].kind != SIM_OP_DROPPED)
                ops[n++] = &h->v[i];
        }
        uint32_t rc = check_key(ops, n, effort_max);

        if (rc == SIM_LINZ_UNKNOWN)
            (*n_unknown)++;
        if (rc == SIM_LINZ_FAIL && result != SIM_LINZ_FAIL) {
            result = SIM_LINZ_FAIL;
            *bad_key = key;
        }
    }
    free(ops);
    if (result == SIM_LINZ_OK && *n_unknown > 0)
        result = SIM_LINZ_UNKNOWN;
    return result;
}
