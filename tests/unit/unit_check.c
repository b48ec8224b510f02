/* unit_check.c - counted checks for the unit test programs. */
#include "unit_check.h"

#include <stdarg.h>
#include <stdio.h>

#define FAILURES_PRINTED_MAX 50

static unsigned n_passed;
static unsigned n_failed;

bool unit_check_at(bool ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    if (ok) {
        n_passed++;
        return true;
    }
    n_failed++;
    if (n_failed > FAILURES_PRINTED_MAX)
        return false;
    printf("%s:%d: FAILED: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    return false;
}

unsigned unit_failed(void)
{
    return n_failed;
}

int unit_finish(void)
{
    if (n_failed > FAILURES_PRINTED_MAX)
        printf("(%u more failures not printed)\n", n_failed - FAILURES_PRINTED_MAX);
    printf("%u passed, %u failed\n", n_passed, n_failed);
    return n_failed == 0 && n_passed > 0 ? 0 : 1;
}

uint64_t unit_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t unit_below(uint64_t *state, uint64_t n)
{
    return unit_rand(state) % n;
}
