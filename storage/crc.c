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
 * the stores. ISA-L still does the unaligned head and the tail; the last
 * 128 bits become the register through two crc32 instructions. Other CPUs
 * take memcpy and ISA-L.
 *
 * nr_crc32c_skip: a dataplane frame's CRC covers its header up to the CRC
 * field and the payload after it. As two calls, the 60-byte header went
 * through the crc32 instruction's 3-cycle chain and the payload through
 * ISA-L, whose set-up and sub-16-byte tail dominate at 1 KiB. The same
 * fold reads the two ranges as one message (the block that straddles the
 * gap is a masked load from both sides), then the tail of under 64 bytes
 * through the crc32 instruction.
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

/* From this many bytes nr_crc32c_skip folds the whole message. Thread CPU
 * time here, hot cache: a frame header (60 bytes) and a 64-byte message
 * (72), 18 ns against 21 through two crc32-instruction runs; a 1 KiB
 * message's frame (60 + 1032), 27.5 ns against 42 through the crc32
 * instruction and ISA-L (whose tail of 4 bytes past a multiple of 16
 * costs it 15 ns: 1032 bytes alone take it 28). The fold is bound by
 * VPCLMULQDQ's throughput, about 16 bytes a cycle here. */
#define CRC_SKIP_FOLD_MIN 64u

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
    if (len >= 4) {
        uint32_t v;

        memcpy(&v, p, 4);
        reg = _mm_crc32_u32(reg, v);
        p += 4;
        len -= 4;
    }
    for (; len > 0; p++, len--)
        reg = _mm_crc32_u8(reg, *p);
    return reg;
}
#endif

/* The raw register after len bytes at p, from reg (no inversions). */
static uint32_t crc_raw(uint32_t reg, const unsigned char *p, size_t len)
{
#ifdef CRC_HAS_SHORT
    if (len <= CRC_SHORT_MAX && __builtin_cpu_supports("sse4.2"))
        return crc_short(reg, p, len);
#endif
    /* Chunks keep the int length ISA-L takes within range. */
    while (len > 0) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;

        reg = crc32_iscsi((unsigned char *)p, n, reg);
        p += n;
        len -= (size_t)n;
    }
    return reg;
}

uint32_t nr_crc32c(uint32_t crc, const void *buf, size_t len)
{
    return ~crc_raw(~crc, buf, len);
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

#define CRC_FOLD_TARGET __attribute__((target("avx512f,avx512bw,vpclmulqdq,pclmul,sse4.2")))

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

/* Four accumulators 64 bytes apart (x0 first) folded into the last one. */
CRC_FOLD_TARGET static inline __m512i join4(__m512i x0, __m512i x1, __m512i x2, __m512i x3)
{
    x3 = fold512(x2, k_fold_512, x3);
    x3 = fold512(x1, k_fold_1024, x3);
    return fold512(x0, k_fold_1536, x3);
}

/* The raw register of a message whose folded remainder is x: its four
 * lanes onto the last, then that lane's CRC from a zero register (it is
 * congruent to everything read, ending where it ends). */
CRC_FOLD_TARGET static inline uint32_t reduce512(__m512i x)
{
    __m128i r = _mm512_extracti32x4_epi32(x, 3);

    r = fold128(_mm512_extracti32x4_epi32(x, 0), k_lane[0], r);
    r = fold128(_mm512_extracti32x4_epi32(x, 1), k_lane[1], r);
    r = fold128(_mm512_extracti32x4_epi32(x, 2), k_lane[2], r);
    return (uint32_t)_mm_crc32_u64(_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(r)),
                                   (uint64_t)_mm_extract_epi64(r, 1));
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

    /* The register enters as the first 32 bits of the message. */
    x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)reg)));
    for (size_t i = 256; i < n; i += 256) {
        x0 = fold512(x0, k_fold_2048, load_store(d + i, s + i));
        x1 = fold512(x1, k_fold_2048, load_store(d + i + 64, s + i + 64));
        x2 = fold512(x2, k_fold_2048, load_store(d + i + 128, s + i + 128));
        x3 = fold512(x3, k_fold_2048, load_store(d + i + 192, s + i + 192));
    }
    return reduce512(join4(x0, x1, x2, x3));
}

/* The bytes [o, o + 64) of the message buf[0, head) followed by
 * buf[head + skip, ...): one load, or where the block straddles head, two
 * merged (a masked load does not touch the bytes it leaves out). */
CRC_FOLD_TARGET static inline __m512i gap_load(const uint8_t *buf, size_t head, size_t skip,
                                               size_t o)
{
    if (o + 64 <= head)
        return _mm512_loadu_si512(buf + o);
    if (o >= head)
        return _mm512_loadu_si512(buf + o + skip);
    return _mm512_mask_loadu_epi8(_mm512_loadu_si512(buf + o), ~(__mmask64)0 << (head - o),
                                  buf + o + skip);
}

/* The raw register after the first n bytes (a multiple of 64, at least 64)
 * of the message buf[0, head) followed by buf[head + skip, ...), from reg.
 * Four accumulators 64 bytes apart while 256 bytes remain, then one. */
CRC_FOLD_TARGET static uint32_t fold_gap(uint32_t reg, const uint8_t *buf, size_t head,
                                         size_t skip, size_t n)
{
    __m512i x = _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)reg));
    size_t o = 64;

    if (n >= 256) {
        __m512i x0 = _mm512_xor_si512(x, gap_load(buf, head, skip, 0));
        __m512i x1 = gap_load(buf, head, skip, 64), x2 = gap_load(buf, head, skip, 128);
        __m512i x3 = gap_load(buf, head, skip, 192);

        for (o = 256; o + 256 <= n; o += 256) {
            x0 = fold512(x0, k_fold_2048, gap_load(buf, head, skip, o));
            x1 = fold512(x1, k_fold_2048, gap_load(buf, head, skip, o + 64));
            x2 = fold512(x2, k_fold_2048, gap_load(buf, head, skip, o + 128));
            x3 = fold512(x3, k_fold_2048, gap_load(buf, head, skip, o + 192));
        }
        x = join4(x0, x1, x2, x3);
    } else {
        x = _mm512_xor_si512(x, gap_load(buf, head, skip, 0));
    }
    for (; o < n; o += 64)
        x = fold512(x, k_fold_512, gap_load(buf, head, skip, o));
    return reduce512(x);
}

#endif

/* Whether this CPU has what the folds need (nr_crc32c_copy's and
 * nr_crc32c_skip's). */
static bool crc_folds(void)
{
#ifdef CRC_HAS_FOLD_COPY
    /* Asked once (every frame asks): -1 unknown, then 0 or 1. Threads that
     * race here compute the same answer. */
    static int folds = -1;
    int v = __atomic_load_n(&folds, __ATOMIC_RELAXED);

    if (v < 0) {
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("sse4.2");
        __atomic_store_n(&folds, v, __ATOMIC_RELAXED);
    }
    return v != 0;
#else
    return false;
#endif
}

bool nr_crc32c_copy_is_folded(void)
{
    return crc_folds();
}

uint32_t nr_crc32c_skip(uint32_t crc, const void *buf, size_t head, size_t skip, size_t len)
{
    const unsigned char *p = buf;
    uint32_t reg = ~crc;

#ifdef CRC_HAS_FOLD_COPY
    size_t total = head + len;

    if (total >= CRC_SKIP_FOLD_MIN && crc_folds()) {
        size_t n = total & ~(size_t)63;

        reg = fold_gap(reg, p, head, skip, n);
        if (n >= head) /* the tail, under 64 bytes, all after the gap */
            return ~crc_short(reg, p + n + skip, total - n);
        p += n; /* what is left of the head, then the rest, below */
        head -= n;
    }
#endif
    reg = crc_raw(reg, p, head);
    return ~crc_raw(reg, p + head + skip, len);
}

uint32_t nr_crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
    if (len == 0) /* src may then be NULL, which memcpy never takes */
        return crc;
#ifdef CRC_HAS_FOLD_COPY
    if (len >= CRC_FOLD_COPY_MIN && crc_folds()) {
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
