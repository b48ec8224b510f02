/* crc.c - CRC32C via ISA-L. ISA-L's crc32_iscsi takes and returns the raw
 * register (no final inversion), so the conventional CRC32C (initial value
 * and final xor 0xffffffff, the one iSCSI and ext4 use) wraps it. Buffers
 * of up to 128 bytes (record and frame headers) go through the SSE4.2
 * crc32 instruction instead: see CRC_SHORT_MAX.
 *
 * nr_crc32c_copy: the WAL copies every entry into a batch buffer that the
 * device read at the previous write, so its lines are no longer in the
 * cache: the copy is memory-bound (in wal-bench, 64KiBx1: copy 5.0 us then
 * CRC 1.35 us per batch; 1MiBx1: 45 + 19 us), and a second pass for the
 * CRC only adds to it. With AVX-512 and VPCLMULQDQ, one loop loads 256
 * bytes, stores them to dst and folds them into four CRC accumulators (the
 * folding of Intel's "Fast CRC Computation Using PCLMULQDQ", as ISA-L's
 * crc32_iscsi_by16_10 does it); the CRC instructions run in the shadow of
 * the stores. ISA-L still does the unaligned head, the tail and the final
 * 128 to 32 bit reduction. Other CPUs take memcpy and ISA-L.
 *
 * Ordinary stores, not non-temporal ones. Non-temporal stores skip the
 * read for ownership (64 KiB into an evicted buffer in ~2.1 us against
 * ~4.2) but leave the batch in DRAM, and on this virtio disk the host then
 * reads it from there: wal-bench 1MiBx1, 25 rounds, medians of 5 interleaved runs:
 * ratio 0.69 with non-temporal stores, 0.88 with ordinary ones, 0.83 with
 * memcpy then ISA-L (p50 437, 380, 391 us). */
#include "crc.h"

#include <isa-l/crc.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CRC_HAS_FOLD_COPY 1
#define CRC_HAS_SHORT 1
#endif

/* Below this, memcpy and ISA-L: measured into a cached and into an
 * evicted buffer, the fold loses up to 4 KiB, breaks even at 8 KiB and
 * wins from 16 KiB on (64 KiB: 2.2 us against 3.3 cached, 5.0 against 7.1
 * evicted). */
#define CRC_FOLD_COPY_MIN 16384u

#ifdef CRC_HAS_SHORT
/* Up to this many bytes, the SSE4.2 crc32 instruction a word at a time
 * beats ISA-L, whose set-up dominates short buffers (thread CPU time
 * here: 60 bytes, a frame header, ~6 ns against ~15; 128 bytes 13 against
 * 22; ISA-L wins from about 200). */
#define CRC_SHORT_MAX 128u

__attribute__((target("sse4.2"))) static uint32_t crc_short(uint32_t reg, const uint8_t *p,
                                                           size_t len)
{
    uint64_t r = reg;

    for (; len >= 8; p += 8, len -= 8) {
        uint64_t v;

        memcpy(&v, p, 8);
        r = _mm_crc32_u64(r, v);
    }
    reg = (uint32_t)r;
    for (; len > 0; p++, len--)
        reg = _mm_crc32_u8(reg, *p);
    return reg;
}
#endif

uint32_t nr_crc32c(uint32_t crc, const void *buf, size_t len)
{
    /* Chunks keep the int length ISA-L takes within range. */
    const unsigned char *p = buf;
    uint32_t reg = ~crc;

#ifdef CRC_HAS_SHORT
    if (len <= CRC_SHORT_MAX && __builtin_cpu_supports("sse4.2"))
        return ~crc_short(reg, p, len);
#endif
    while (len > 0) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;

        reg = crc32_iscsi((unsigned char *)p, n, reg);
        p += n;
        len -= (size_t)n;
    }
    return ~reg;
}

#ifdef CRC_HAS_FOLD_COPY

/* Folding constants for the reflected CRC32C polynomial (0x82f63b78): a
 * 128-bit lane D bits ahead of where it must go becomes lo64 * (x^(D+63)
 * mod P) xor hi64 * (x^(D-1) mod P), each as a bit-reflected 64-bit
 * operand (the -1 undoes the one-bit shift of a reflected carry-less
 * product). Pairs are {lo64 factor, hi64 factor}; D in bits. Checked
 * against ISA-L by the storage-crc test for every length and alignment. */
#define CRC_K(hi32) ((uint64_t)(hi32) << 32)
static const uint64_t k_fold_2048[8] = {
        CRC_K(0xe9a5d8be), CRC_K(0x1426a815), CRC_K(0xe9a5d8be), CRC_K(0x1426a815),
        CRC_K(0xe9a5d8be), CRC_K(0x1426a815), CRC_K(0xe9a5d8be), CRC_K(0x1426a815)};
static const uint64_t k_fold_1536[8] = {
        CRC_K(0x7ccbbbf2), CRC_K(0x31c94608), CRC_K(0x7ccbbbf2), CRC_K(0x31c94608),
        CRC_K(0x7ccbbbf2), CRC_K(0x31c94608), CRC_K(0x7ccbbbf2), CRC_K(0x31c94608)};
static const uint64_t k_fold_1024[8] = {
        CRC_K(0x6577b245), CRC_K(0x7417153f), CRC_K(0x6577b245), CRC_K(0x7417153f),
        CRC_K(0x6577b245), CRC_K(0x7417153f), CRC_K(0x6577b245), CRC_K(0x7417153f)};
static const uint64_t k_fold_512[8] = {
        CRC_K(0x1c19243b), CRC_K(0x75bba45b), CRC_K(0x1c19243b), CRC_K(0x75bba45b),
        CRC_K(0x1c19243b), CRC_K(0x75bba45b), CRC_K(0x1c19243b), CRC_K(0x75bba45b)};
static const uint64_t k_lane[3][2] = {
        {CRC_K(0xa46ef4aa), CRC_K(0x6051243f)}, /* 384: lane 0 onto lane 3 */
        {CRC_K(0x33ccbbbc), CRC_K(0xa2158b34)}, /* 256: lane 1 */
        {CRC_K(0x3743f7bd), CRC_K(0x3171d430)}, /* 128: lane 2 */
};

#define CRC_FOLD_TARGET __attribute__((target("avx512f,vpclmulqdq,pclmul")))

CRC_FOLD_TARGET static inline __m512i fold512(__m512i acc, const uint64_t *k, __m512i data)
{
    __m512i kv = _mm512_loadu_si512(k);

    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(acc, kv, 0x00),
                                     _mm512_clmulepi64_epi128(acc, kv, 0x11), data, 0x96);
}

CRC_FOLD_TARGET static inline __m128i fold128(__m128i acc, const uint64_t *k, __m128i data)
{
    __m128i kv = _mm_loadu_si128((const __m128i *)k);

    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(acc, kv, 0x00),
                                       _mm_clmulepi64_si128(acc, kv, 0x11)),
                         data);
}

CRC_FOLD_TARGET static inline __m512i load_store(uint8_t *d, const uint8_t *s)
{
    __m512i v = _mm512_loadu_si512(s);

    _mm512_store_si512((void *)d, v);
    return v;
}

/* Copies n bytes (a multiple of 256, at least 256; d 64-byte aligned) and
 * returns the raw CRC register after them, starting from reg. */
CRC_FOLD_TARGET static uint32_t fold_copy(uint32_t reg, uint8_t *d, const uint8_t *s, size_t n)
{
    __m512i x0 = load_store(d, s), x1 = load_store(d + 64, s + 64);
    __m512i x2 = load_store(d + 128, s + 128), x3 = load_store(d + 192, s + 192);
    uint8_t rest[16];

    /* The register enters as the first 32 bits of the message. */
    x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)reg)));
    for (size_t i = 256; i < n; i += 256) {
        x0 = fold512(x0, k_fold_2048, load_store(d + i, s + i));
        x1 = fold512(x1, k_fold_2048, load_store(d + i + 64, s + i + 64));
        x2 = fold512(x2, k_fold_2048, load_store(d + i + 128, s + i + 128));
        x3 = fold512(x3, k_fold_2048, load_store(d + i + 192, s + i + 192));
    }
    x3 = fold512(x2, k_fold_512, x3);
    x3 = fold512(x1, k_fold_1024, x3);
    x3 = fold512(x0, k_fold_1536, x3);
    __m128i r = _mm512_extracti32x4_epi32(x3, 3);
    r = fold128(_mm512_extracti32x4_epi32(x3, 0), k_lane[0], r);
    r = fold128(_mm512_extracti32x4_epi32(x3, 1), k_lane[1], r);
    r = fold128(_mm512_extracti32x4_epi32(x3, 2), k_lane[2], r);
    /* r is congruent to everything read, ending where it ends: its CRC
     * from a zero register is the message's. */
    _mm_storeu_si128((__m128i *)rest, r);
    return crc32_iscsi(rest, (int)sizeof(rest), 0);
}

#endif

bool nr_crc32c_copy_is_folded(void)
{
#ifdef CRC_HAS_FOLD_COPY
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq");
#else
    return false;
#endif
}

uint32_t nr_crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
    if (len == 0) /* src may then be NULL, which memcpy never takes */
        return crc;
#ifdef CRC_HAS_FOLD_COPY
    if (len >= CRC_FOLD_COPY_MIN && nr_crc32c_copy_is_folded()) {
        uint8_t *d = dst;
        const uint8_t *s = src;
        size_t head = (64 - ((uintptr_t)d & 63)) & 63;
        size_t bulk = (len - head) & ~(size_t)255;
        size_t done = head + bulk;

        memcpy(d, s, head);
        crc = nr_crc32c(crc, s, head);
        crc = ~fold_copy(~crc, d + head, s + head, bulk);
        memcpy(d + done, s + done, len - done);
        return nr_crc32c(crc, s + done, len - done);
    }
#endif
    memcpy(dst, src, len);
    return nr_crc32c(crc, dst, len);
}
