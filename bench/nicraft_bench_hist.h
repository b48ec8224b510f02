/* nicraft_bench_hist.h - nicraft-bench's latency histogram: log-linear
 * buckets (32 per power of two, so a bucket is at most 1/32 = 3.1% wide)
 * over nanoseconds, a fixed array: recording allocates nothing. */
#ifndef NICRAFT_NICRAFT_BENCH_HIST_H
#define NICRAFT_NICRAFT_BENCH_HIST_H

#include <stdint.h>

#define NB_HIST_SUB_BITS 5u
#define NB_HIST_BUCKETS ((65u - NB_HIST_SUB_BITS) << NB_HIST_SUB_BITS)

struct nb_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t max_ns;
    uint64_t bucket[NB_HIST_BUCKETS];
};

void nb_hist_record(struct nb_hist *h, uint64_t ns);

/* The value at quantile q (0 < q <= 1): the upper bound of the bucket
 * holding the ceil(q * count)-th smallest value, never above the maximum
 * recorded; 0 for an empty histogram. */
uint64_t nb_hist_quantile(const struct nb_hist *h, double q);

/* Bucket index of ns, and the bounds of a bucket (exposed for the test). */
uint32_t nb_hist_index(uint64_t ns);
uint64_t nb_hist_low(uint32_t idx);
uint64_t nb_hist_high(uint32_t idx);

#endif
