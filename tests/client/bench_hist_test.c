/* bench_hist_test.c - nicraft-bench's log-linear histogram: every value
 * falls in the bucket whose bounds hold it, buckets are contiguous and at
 * most 1/32 of their value wide, and quantiles of random samples are
 * within a bucket of the exact order statistic. Prints `N passed, M failed`. */
#include <stdbool.h>
#include <stdlib.h>

#include "nicraft_bench_hist.h"
#include "unit_check.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_buckets(void)
{
    unsigned bad = 0;
    for (uint32_t i = 0; i + 1 < NB_HIST_BUCKETS; i++) {
        uint64_t lo = nb_hist_low(i), hi = nb_hist_high(i);
        bool ok = lo <= hi && nb_hist_low(i + 1) == hi + 1 && nb_hist_index(lo) == i &&
                  nb_hist_index(hi) == i && (hi - lo) * 32 <= lo + 32;
        if (!ok && bad++ < 3)
            UNIT_CHECK(false, "bucket %u: [%llu, %llu]", i, (unsigned long long)lo,
                       (unsigned long long)hi);
    }
    UNIT_CHECK(bad == 0, "%u buckets out of shape", bad);
    UNIT_CHECK(nb_hist_index(UINT64_MAX) == NB_HIST_BUCKETS - 1, "the largest value has a bucket");
}

static void test_quantiles(void)
{
    enum { N = 20000 };
    static uint64_t v[N];
    static struct nb_hist h;
    uint64_t seed = 7;

    for (int i = 0; i < N; i++) {
        /* Spread over 1 us .. 100 ms, log-uniform-ish. */
        uint64_t r = unit_rand(&seed);
        v[i] = 1000 + (r % 1000) * (UINT64_C(1) << (r >> 60) % 17);
        nb_hist_record(&h, v[i]);
    }
    qsort(v, N, sizeof(v[0]), cmp_u64);
    const double qs[] = {0.5, 0.9, 0.99, 0.999, 1.0};
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        size_t rank = (size_t)(qs[k] * N + 0.999999);
        uint64_t exact = v[rank - 1];
        uint64_t got = nb_hist_quantile(&h, qs[k]);
        UNIT_CHECK(got >= exact && got <= nb_hist_high(nb_hist_index(exact)),
                   "q %.3f: %llu, exact %llu", qs[k], (unsigned long long)got,
                   (unsigned long long)exact);
    }
    UNIT_CHECK(h.max_ns == v[N - 1] && h.count == N, "max and count");
    struct nb_hist empty = {0};
    UNIT_CHECK(nb_hist_quantile(&empty, 0.5) == 0, "an empty histogram says 0");
}

int main(void)
{
    test_buckets();
    test_quantiles();
    return unit_finish();
}
