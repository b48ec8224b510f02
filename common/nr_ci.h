/* nr_ci.h - whether this process runs under CI, for tests and benchmark
 * smoke runs only: CONVENTIONS section 7, a test that would skip (no root,
 * no namespaces) fails instead when CI is set. Set means non-empty and
 * neither "0" nor "false", as in deploy/test.sh. */
#ifndef NICRAFT_NR_CI_H
#define NICRAFT_NR_CI_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool nr_ci_is_set(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && ci[0] != '\0' && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
}

#endif
