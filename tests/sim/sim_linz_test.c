/* sim_linz_test.c - the linearizability checker on histories whose answer
 * is known, so that a checker that passes everything is caught. */
#include <stdio.h>
#include <string.h>

#include "sim.h"

#define NEVER SIM_TIME_NEVER
#define OPS_MAX 64

struct linz_case {
    const char *name;
    uint32_t want;    /* enum sim_linz_result */
    uint32_t bad_key; /* for SIM_LINZ_FAIL */
    uint64_t effort_max;
    uint32_t n_ops;
    struct sim_op ops[OPS_MAX];
};

/* One case per line or two: the table reads best unformatted. */
/* clang-format off */
#define PUT(k, v, c, r) {.kind = SIM_OP_PUT, .key = (k), .value = (v), .call = (c), .ret = (r)}
#define GET(k, v, c, r) {.kind = SIM_OP_GET, .key = (k), .value = (v), .call = (c), .ret = (r)}
#define DROPPED(k, c) {.kind = SIM_OP_DROPPED, .key = (k), .value = 9, .call = (c), .ret = NEVER}

static const struct linz_case cases[] = {
    {"empty history", SIM_LINZ_OK, 0, 1000, 0, {{0}}},
    {"read after write", SIM_LINZ_OK, 0, 1000, 2, {PUT(0, 1, 1, 2), GET(0, 1, 3, 4)}},
    {"stale read after a completed write", SIM_LINZ_FAIL, 0, 1000, 2,
     {PUT(0, 1, 1, 2), GET(0, 0, 3, 4)}},
    {"read inside a concurrent write", SIM_LINZ_OK, 0, 1000, 2,
     {PUT(0, 1, 1, 4), GET(0, 1, 2, 3)}},
    {"a value never written", SIM_LINZ_FAIL, 0, 1000, 2, {PUT(0, 1, 1, 2), GET(0, 5, 3, 4)}},
    {"unknown put seen, then unseen", SIM_LINZ_FAIL, 0, 1000, 3,
     {PUT(0, 1, 1, NEVER), GET(0, 1, 5, 6), GET(0, 0, 7, 8)}},
    {"unknown put unseen, then seen", SIM_LINZ_OK, 0, 1000, 3,
     {PUT(0, 1, 1, NEVER), GET(0, 0, 5, 6), GET(0, 1, 7, 8)}},
    {"unknown put never seen", SIM_LINZ_OK, 0, 1000, 3,
     {PUT(0, 1, 1, NEVER), GET(0, 0, 5, 6), GET(0, 0, 7, 8)}},
    {"overwritten value read later", SIM_LINZ_FAIL, 0, 1000, 3,
     {PUT(0, 1, 1, 2), PUT(0, 2, 3, 4), GET(0, 1, 5, 6)}},
    {"concurrent writes, both orders observed", SIM_LINZ_FAIL, 0, 1000, 4,
     {PUT(0, 1, 1, 10), PUT(0, 2, 2, 11), GET(0, 1, 12, 13), GET(0, 2, 14, 15)}},
    {"a dropped get has no effect", SIM_LINZ_OK, 0, 1000, 2,
     {PUT(0, 1, 1, 2), DROPPED(0, 3)}},
    {"keys are checked apart", SIM_LINZ_FAIL, 1, 1000, 4,
     {PUT(0, 1, 1, 2), GET(0, 1, 3, 4), PUT(1, 2, 5, 6), GET(1, 0, 7, 8)}},
    {"search bound reached: unknown, not a pass", SIM_LINZ_UNKNOWN, 0, 3, 6,
     {PUT(0, 1, 1, 20), PUT(0, 2, 2, 21), PUT(0, 3, 3, 22), GET(0, 3, 4, 23),
      GET(0, 2, 5, 24), GET(0, 1, 6, 25)}},
};
/* clang-format on */

static int run_case(const struct linz_case *c)
{
    struct sim_op ops[OPS_MAX];
    struct sim_hist h = {.v = ops, .n = c->n_ops, .cap = OPS_MAX};
    uint32_t n_unknown = 0, bad_key = UINT32_MAX;

    memcpy(ops, c->ops, sizeof(ops));
    uint32_t got = sim_linz_check(&h, SIM_KEYS_MAX, c->effort_max, &n_unknown, &bad_key);

    if (got != c->want || (got == SIM_LINZ_FAIL && bad_key != c->bad_key) ||
        (got == SIM_LINZ_UNKNOWN) != (n_unknown > 0)) {
        printf("FAIL: %s: result %u (want %u), bad key %u, %u keys unknown\n", c->name, got,
               c->want, bad_key, n_unknown);
        return 1;
    }
    printf("ok: %s\n", c->name);
    return 0;
}

int main(void)
{
    int failed = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        failed += run_case(&cases[i]);
    printf("linz: %zu cases, %d failed\n", sizeof(cases) / sizeof(cases[0]), failed);
    return failed == 0 ? 0 : 1;
}
