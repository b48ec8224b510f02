/* bench_phases.h - measured phases between baseline phases, in the same
 * processes (dataplane-bench: nicraft between raw; steer-bench: steered
 * between direct): each measured phase k against the mean of baseline
 * phases k and k + 1, either side of it. Header only: two programs. */
#ifndef NICRAFT_BENCH_PHASES_H
#define NICRAFT_BENCH_PHASES_H

#define BENCH_PHASES_MAX 32

/* The median of n values; sorts v (a handful: insertion sort). 0 for n = 0. */
static inline double bench_median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return n == 0 ? 0 : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct bench_phase_ratio {
    int n;             /* phases with a ratio: 0 when none could be taken */
    double median, lo, hi;
};

/* The ratios of n_m measured phases m[] to their baseline neighbours in
 * b[] (n_b of them; phase k sits between b[k] and b[k + 1]), skipping a
 * phase where it or a neighbour measured nothing (0). m and b stay as
 * they are. */
static inline struct bench_phase_ratio bench_phase_ratio(const double *m, int n_m,
                                                         const double *b, int n_b)
{
    double ratio[BENCH_PHASES_MAX];
    struct bench_phase_ratio r = {0};
    for (int k = 0; k < n_m && k + 1 < n_b && r.n < BENCH_PHASES_MAX; k++)
        if (m[k] > 0 && b[k] > 0 && b[k + 1] > 0)
            ratio[r.n++] = m[k] / ((b[k] + b[k + 1]) / 2);
    if (r.n == 0)
        return r;
    r.lo = r.hi = ratio[0];
    for (int k = 1; k < r.n; k++)
        r.lo = ratio[k] < r.lo ? ratio[k] : r.lo, r.hi = ratio[k] > r.hi ? ratio[k] : r.hi;
    r.median = bench_median(ratio, r.n);
    return r;
}

#endif
