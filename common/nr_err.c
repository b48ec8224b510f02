/* nr_err.c - error values and the assertion failure path. */
#include "nr_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int nr_errf(struct nr_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *nr_code_name(int code)
{
    switch (code) {
    case NR_OK: return "NR_OK";
    case NR_EINVAL: return "NR_EINVAL";
    case NR_ENOTLEADER: return "NR_ENOTLEADER";
    case NR_EBUSY: return "NR_EBUSY";
    case NR_ESTALE: return "NR_ESTALE";
    case NR_EUNKNOWN: return "NR_EUNKNOWN";
    case NR_ERANGE: return "NR_ERANGE";
    case NR_EREFUSED: return "NR_EREFUSED";
    case NR_ENOMEM: return "NR_ENOMEM";
    case NR_ECORRUPT: return "NR_ECORRUPT";
    case NR_EIO: return "NR_EIO";
    default: return "NR_E?";
    }
}

void nr_assert_fail(const char *cond, const char *file, int line, const char *func)
{
    fprintf(stderr, "nicraft: assertion failed: %s (%s:%d, %s)\n", cond, file, line, func);
    fflush(stderr);
    abort();
}
