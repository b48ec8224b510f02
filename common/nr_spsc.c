/* nr_spsc.c - the single-producer, single-consumer ring (nr_spsc.h). */
#include "nr_spsc.h"

#include <stdlib.h>
#include <string.h>

#include "nr_err.h"

int nr_spsc_init(struct nr_spsc *r, uint32_t cap, uint32_t elem_size)
{
    memset(r, 0, sizeof(*r));
    if (cap < 2 || cap > (1u << 20) || (cap & (cap - 1)) != 0 || elem_size == 0)
        return NR_EINVAL;
    r->slots = calloc(cap, elem_size);
    if (r->slots == NULL)
        return NR_ENOMEM;
    r->cap = cap;
    r->elem_size = elem_size;
    return 0;
}

void nr_spsc_fini(struct nr_spsc *r)
{
    free(r->slots);
    r->slots = NULL;
}

bool nr_spsc_push(struct nr_spsc *r, const void *elem)
{
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);

    if (t - h == r->cap)
        return false;
    memcpy(r->slots + (size_t)(t & (r->cap - 1)) * r->elem_size, elem, r->elem_size);
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return true;
}

bool nr_spsc_pop(struct nr_spsc *r, void *elem)
{
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);

    if (h == t)
        return false;
    memcpy(elem, r->slots + (size_t)(h & (r->cap - 1)) * r->elem_size, r->elem_size);
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return true;
}

uint32_t nr_spsc_count(struct nr_spsc *r)
{
    return atomic_load_explicit(&r->tail, memory_order_acquire) -
           atomic_load_explicit(&r->head, memory_order_acquire);
}
