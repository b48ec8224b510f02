/* nr_err.h - errors as values with a sentence in them, and assertions that
 * guard our own invariants (CONVENTIONS sections 3 and 4). libc only. */
#ifndef NICRAFT_NR_ERR_H
#define NICRAFT_NR_ERR_H

#include <stdint.h>

/* Negative error codes. Each names a class of refusal; the sentence in
 * struct nr_err says which rule and which numbers. */
enum nr_code {
    NR_OK = 0,
    NR_EINVAL = -1,      /* malformed input: a field out of its range */
    NR_ENOTLEADER = -2,  /* only the leader may do this; see the leader hint */
    NR_EBUSY = -3,       /* a bounded queue or window is full: back off, retry */
    NR_ESTALE = -4,      /* the input belongs to an older term */
    NR_EUNKNOWN = -5,    /* the sender or target is not a member */
    NR_ERANGE = -6,      /* an index beyond what this node holds */
    NR_EREFUSED = -7,    /* a rule refused the request (see the sentence) */
    NR_ENOMEM = -8,      /* allocation at creation failed */
    NR_ECORRUPT = -9,    /* stored state that contradicts itself */
    NR_EIO = -10,        /* a read, write or sync failed (errno in the sentence) */
};

struct nr_err {
    int code;      /* negative NR_E* value, 0 when no error was recorded */
    char msg[512]; /* one sentence an operator can act on (a member list fits) */
};

/* Fill *err (which may be NULL) and return code, so callers can write
 * `return nr_errf(err, NR_EINVAL, "...", ...)`. */
int nr_errf(struct nr_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The symbolic name of a code ("NR_EINVAL"), for logs and tests. */
const char *nr_code_name(int code);

/* Prints the failed condition with its place and aborts. Never returns. */
void nr_assert_fail(const char *cond, const char *file, int line, const char *func)
    __attribute__((noreturn));

/* On in every build, sanitizer builds included. Never on outside data. */
#define NR_ASSERT(cond)                                                        \
    do {                                                                       \
        if (__builtin_expect(!(cond), 0))                                      \
            nr_assert_fail(#cond, __FILE__, __LINE__, __func__);               \
    } while (0)

#endif
