/* crc_test.c - nr_crc32c (its short-buffer path included) and
 * nr_crc32c_copy against ISA-L's crc32_iscsi alone: every length up to a
 * few KiB and a spread of larger ones, every alignment of source and
 * destination within a cache line, several starting values; the bytes
 * copied, nothing written outside, the CRC the same. Also the known CRC32C
 * check value, so all of them are tied to the standard. */
#include <isa-l/crc.h>
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
    UNIT_CHECK(unit_failed() == failed_before, "%u cases compared with ISA-L", n_cases);
    free(src);
    free(dst);
    return unit_finish();
}
