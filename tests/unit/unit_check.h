/* unit_check.h - the unit tests' few helpers: counted checks that say what
 * was expected, a fixed-seed generator, and the `N passed, M failed` line. */
#ifndef NICRAFT_UNIT_CHECK_H
#define NICRAFT_UNIT_CHECK_H

#include <stdbool.h>
#include <stdint.h>

/* Counts one check; on failure prints file:line and the sentence. Returns ok. */
bool unit_check_at(bool ok, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
#define UNIT_CHECK(ok, ...) unit_check_at((ok), __FILE__, __LINE__, __VA_ARGS__)

/* Prints `N passed, M failed` (the last line) and returns the exit status. */
int unit_finish(void);
unsigned unit_failed(void);

/* splitmix64: a fixed seed gives the same sequence on every machine. */
uint64_t unit_rand(uint64_t *state);
/* Uniform in [0, n); n > 0. */
uint64_t unit_below(uint64_t *state, uint64_t n);

#endif
