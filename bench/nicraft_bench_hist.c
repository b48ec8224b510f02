/* nicraft_bench_hist.c - the log-linear latency histogram
 * (nicraft_bench_hist.h). Values below 64 ns have a bucket each; above, a
 * value with its top bit at e falls in one of 32 buckets of width
 * 2^(e - 5) (the HdrHistogram layout with 5 significant bits). */
#include "nicraft_bench_hist.h"

#include "nr_err.h"

#define SUB NB_HIST_SUB_BITS

uint32_t nb_hist_index(uint64_t ns)
{
    if (ns < (UINT64_C(2) << SUB))
        return (uint32_t)ns;
    uint32_t e = 63u - (uint32_t)__builtin_clzll(ns);
    uint32_t idx = ((e - SUB) << SUB) + (uint32_t)(ns >> (e - SUB));
    NR_ASSERT(idx < NB_HIST_BUCKETS);
    return idx;
}

uint64_t nb_hist_low(uint32_t idx)
{
    if (idx < (2u << SUB))
        return idx;
    uint32_t e = (idx >> SUB) + SUB - 1;
    uint64_t m = idx - ((e - SUB) << SUB);
    return m << (e - SUB);
}

uint64_t nb_hist_high(uint32_t idx)
{
    if (idx < (2u << SUB))
        return idx;
    if (idx + 1 == NB_HIST_BUCKETS)
        return UINT64_MAX;
    return nb_hist_low(idx + 1) - 1;
}

void nb_hist_record(struct nb_hist *h, uint64_t ns)
{
    h->bucket[nb_hist_index(ns)]++;
    h->count++;
    h->sum_ns += ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

uint64_t nb_hist_quantile(const struct nb_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < NB_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t high = nb_hist_high(i);
            return high < h->max_ns ? high : h->max_ns;
        }
    }
    return h->max_ns;
}
