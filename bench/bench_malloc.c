/* bench_malloc.c - counts every allocator call of the bench process by
 * defining malloc, calloc, realloc, free and the aligned allocators here;
 * each forwards to glibc's own (__libc_*), which stays the allocator.
 *
 * Sanitizer builds define BENCH_NO_MALLOC_COUNT: ASan's runtime owns malloc
 * there, and replacing it would hide the very errors it looks for. */
#include "bench.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#ifdef BENCH_NO_MALLOC_COUNT

bool bench_malloc_is_counted(void)
{
    return false;
}

uint64_t bench_malloc_calls(void)
{
    return 0;
}

#else

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t size);

/* One thread allocates in the bench; relaxed atomics keep it exact anyway. */
static uint64_t n_calls;

static void count(void)
{
    __atomic_add_fetch(&n_calls, 1, __ATOMIC_RELAXED);
}

bool bench_malloc_is_counted(void)
{
    return true;
}

uint64_t bench_malloc_calls(void)
{
    return __atomic_load_n(&n_calls, __ATOMIC_RELAXED);
}

void *malloc(size_t size)
{
    count();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    count();
    return __libc_realloc(p, size);
}

void free(void *p)
{
    count();
    __libc_free(p);
}

void *aligned_alloc(size_t align, size_t size)
{
    count();
    return __libc_memalign(align, size);
}

void *memalign(size_t align, size_t size)
{
    count();
    return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    count();
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = __libc_memalign(align, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

#endif
