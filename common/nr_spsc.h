/* nr_spsc.h - a single-producer, single-consumer ring of fixed-size
 * elements, the way two threads hand each other small values (CONVENTIONS
 * section 1.4): one thread only pushes, one only pops; neither blocks or
 * allocates. A full ring is a return value: the producer backs off. */
#ifndef NICRAFT_NR_SPSC_H
#define NICRAFT_NR_SPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nr_spsc {
    _Alignas(64) _Atomic uint32_t head; /* the consumer's */
    _Alignas(64) _Atomic uint32_t tail; /* the producer's */
    _Alignas(64) uint32_t cap;          /* elements, a power of two */
    uint32_t elem_size;
    uint8_t *slots;
};

/* Allocates cap (a power of two, 2 .. 2^20) slots of elem_size bytes.
 * 0 or NR_EINVAL / NR_ENOMEM. */
int nr_spsc_init(struct nr_spsc *r, uint32_t cap, uint32_t elem_size);
void nr_spsc_fini(struct nr_spsc *r);

/* Copies elem_size bytes in; false when full. Producer only. The element
 * is visible to the consumer with everything written before the push. */
bool nr_spsc_push(struct nr_spsc *r, const void *elem);
/* Copies the oldest element out; false when empty. Consumer only. */
bool nr_spsc_pop(struct nr_spsc *r, void *elem);
uint32_t nr_spsc_count(struct nr_spsc *r);

#endif
