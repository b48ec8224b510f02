/* cf_ids.c - small lists of member ids. Linear scans and an insertion sort:
 * a list holds at most 2 * CF_VALS_MAX ids. */
#include "cf.h"

void cf_ids_sort(uint64_t *ids, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        uint64_t x = ids[i];
        uint32_t j = i;

        while (j > 0 && ids[j - 1] > x) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = x;
    }
}

bool cf_ids_has(const uint64_t *ids, uint32_t n, uint64_t id)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

bool cf_ids_merge(uint64_t *dst, uint32_t *n_dst, uint32_t cap, const uint64_t *src, uint32_t n_src)
{
    for (uint32_t i = 0; i < n_src; i++) {
        if (cf_ids_has(dst, *n_dst, src[i]))
            continue;
        if (*n_dst >= cap)
            return false;
        dst[(*n_dst)++] = src[i];
    }
    return true;
}
