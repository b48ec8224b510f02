/* crc_test.c - nr_crc32c (its short-buffer path included) and
 * nr_crc32c_copy against ISA-L's crc32_iscsi alone: every length up to a
 * few KiB and a spread of larger ones, every alignment of source and
 * destination within a cache line, several starting values; the bytes
 * copied, nothing written outside, the CRC the same. nr_crc32c_skip against
 * ISA-L over the two ranges, with the data ending at an inaccessible page
 * so that a read past the end faults. Also the known CRC32C check value, so
 * all of them are tied to the standard. */
#include <isa-l/crc.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "unit_check.h"

#define MAX_LEN (300u * 1024u)
#define GUARD 64u

static unsigned n_cases;

/* The reference: ISA-L alone (lengths here stay far below its int limit). */
static uint32_t isal_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
    return ~crc32_iscsi((unsigned char *)p, (int)len, ~crc);
}

static void check_one(const uint8_t *src, uint8_t *dst, size_t len, uint32_t crc)
{
    uint32_t want = isal_crc32c(crc, src, len);
    uint32_t got, plain = nr_crc32c(crc, src, len);
    bool outside_ok = true;

    memset(dst - GUARD, 0xa5, len + 2 * GUARD);
    got = nr_crc32c_copy(crc, dst, src, len);
    for (uint32_t i = 0; i < GUARD; i++)
        outside_ok &= dst[-1 - (int)i] == 0xa5 && dst[len + i] == 0xa5;
    n_cases++;
    if (got == want && plain == want && memcmp(dst, src, len) == 0 && outside_ok)
        return;
    UNIT_CHECK(plain == want, "nr_crc32c, len %zu src %% 64 = %u crc %08x: got %08x, want %08x",
               len, (unsigned)((uintptr_t)src & 63), crc, plain, want);
    UNIT_CHECK(got == want, "len %zu src %% 64 = %u dst %% 64 = %u crc %08x: got %08x, want %08x",
               len, (unsigned)((uintptr_t)src & 63), (unsigned)((uintptr_t)dst & 63), crc, got,
               want);
    UNIT_CHECK(memcmp(dst, src, len) == 0, "len %zu: the copy differs from the source", len);
    UNIT_CHECK(outside_ok, "len %zu: bytes outside the destination were written", len);
}

/* nr_crc32c_skip over buf[0, head) and buf[head + skip, + len), the data
 * placed to end exactly where an inaccessible page begins. */
static void check_skip(uint8_t *page_end, const uint8_t *src, size_t head, size_t skip,
                       size_t len, uint32_t crc)
{
    size_t total = head + skip + len;
    uint8_t *buf = page_end - total;

    memcpy(buf, src, total);
    uint32_t want = isal_crc32c(isal_crc32c(crc, buf, head), buf + head + skip, len);
    uint32_t got = nr_crc32c_skip(crc, buf, head, skip, len);

    n_cases++;
    if (got != want)
        UNIT_CHECK(got == want, "skip: head %zu skip %zu len %zu crc %08x: got %08x, want %08x",
                   head, skip, len, crc, got, want);
}

static void test_skip(const uint8_t *src, uint64_t *seed)
{
    static const size_t skips[] = {0, 1, 4, 7, 16, 64, 100};
    long page = sysconf(_SC_PAGESIZE);
    size_t span = 4 * 4096u;
    unsigned failed_before = unit_failed();
    uint8_t *map = mmap(NULL, span + (size_t)page, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    UNIT_CHECK(map != MAP_FAILED, "mmap for the skip test");
    if (map == MAP_FAILED)
        return;
    UNIT_CHECK(mprotect(map + span, (size_t)page, PROT_NONE) == 0, "guard page");
    /* The frame header's shape (60 bytes, the 4-byte CRC field, then every
     * payload length of a standard frame), then a spread of the others. */
    for (size_t len = 0; len <= 1440 && unit_failed() == failed_before; len++)
        check_skip(map + span, src, 60, 4, len, (uint32_t)len * 2654435761u);
    for (size_t head = 0; head <= 300 && unit_failed() == failed_before; head++)
        for (size_t k = 0; k < sizeof(skips) / sizeof(skips[0]); k++)
            for (size_t len = 0; len <= 300; len += 1 + head % 7)
                check_skip(map + span, src, head, skips[k], len, (uint32_t)(head + len));
    for (uint32_t k = 0; k < 2000 && unit_failed() == failed_before; k++) {
        size_t head = unit_below(seed, 6000), skip = unit_below(seed, 200);
        size_t len = unit_below(seed, span - 6200);

        check_skip(map + span, src + unit_below(seed, 64), head, skip, len,
                   (uint32_t)unit_rand(seed));
    }
    UNIT_CHECK(nr_crc32c_skip(0, "123456789", 9, 0, 0) == 0xe3069283u, "skip: check value");
    UNIT_CHECK(nr_crc32c_skip(0, "1234xx56789", 4, 2, 5) == 0xe3069283u,
               "skip: check value around a gap");
    munmap(map, span + (size_t)page);
}

int main(void)
{
    static const uint32_t starts[] = {0, 0xffffffffu, 0x12345678u};
    uint8_t *src = aligned_alloc(4096, MAX_LEN + 4096);
    uint8_t *dst = aligned_alloc(4096, MAX_LEN + 8192); /* room for guards and offsets */
    uint64_t seed = 42;
    unsigned failed_before;

    if (src == NULL || dst == NULL) {
        fprintf(stderr, "crc_test: no memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < MAX_LEN + 4096; i++)
        src[i] = (uint8_t)unit_rand(&seed);

    /* CRC32C("123456789") = 0xe3069283 (RFC 3720, appendix B.4). */
    UNIT_CHECK(nr_crc32c(0, "123456789", 9) == 0xe3069283u, "check value: %08x",
               nr_crc32c(0, "123456789", 9));
    UNIT_CHECK(nr_crc32c_copy(0, dst + GUARD, "123456789", 9) == 0xe3069283u,
               "check value through the copy");
    UNIT_CHECK(nr_crc32c_copy(0x1234u, dst + GUARD, NULL, 0) == 0x1234u,
               "an empty copy leaves the CRC as it was");

    failed_before = unit_failed();
    for (size_t len = 1; len <= 5000 && unit_failed() == failed_before; len++)
        for (uint32_t a = 0; a < 64; a += len > 256 && len < 1024 ? 21 : 1)
            check_one(src + a, dst + GUARD + (63 - a), len, starts[len % 3]);
    for (uint32_t k = 0; k < 600 && unit_failed() == failed_before; k++) {
        size_t len = 1024 + unit_below(&seed, MAX_LEN - 1024);
        uint32_t sa = (uint32_t)unit_below(&seed, 4096), da = (uint32_t)unit_below(&seed, 4096);

        check_one(src + sa, dst + GUARD + da, len < MAX_LEN - 4096 ? len : MAX_LEN - 4096,
                  starts[k % 3]);
    }
    test_skip(src, &seed);
    UNIT_CHECK(unit_failed() == failed_before, "%u cases compared with ISA-L", n_cases);
    free(src);
    free(dst);
    return unit_finish();
}
