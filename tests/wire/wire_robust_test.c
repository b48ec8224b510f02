/* wire_robust_test.c - every node/wire decoder against damaged and random
 * bytes. For every sample encoding (wire_samples.c, fields at their
 * bounds): each truncation is refused; each single-bit flip is refused or
 * decodes to bytes that encode back to exactly themselves; random bytes
 * and random byte patches of the samples never crash, never read outside
 * the buffer (each input sits in its own exact-size heap block, so the
 * sanitizer build catches an overread), and every refusal carries its
 * code and a sentence (ws_check). A fixed seed. Prints `N passed, M failed`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_check.h"
#include "wire_samples.h"

#define RANDOM_PER_KIND 20000u
#define PATCHES_PER_SAMPLE 2000u

static uint64_t rng = 0x77697265u; /* "wire" */
static unsigned n_samples;
static unsigned n_per_kind[WS_KINDS];

/* ws_check on a private exact-size copy; counts a check. */
static bool check(const char *what, unsigned kind, const uint8_t *bytes, uint32_t len, int *rc)
{
    char problem[512] = "";
    uint8_t *copy = malloc(len > 0 ? len : 1);

    if (copy == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memcpy(copy, bytes, len);
    bool ok = ws_check(kind, copy, len, rc, problem, sizeof(problem));
    free(copy);
    return UNIT_CHECK(ok, "%s: %s", what, problem);
}

static void one_sample(const char *name, unsigned kind, const uint8_t *buf, uint32_t len, void *ctx)
{
    static uint8_t work[1u << 20];
    int rc;
    char what[128];

    (void)ctx;
    n_samples++;
    n_per_kind[kind]++;
    snprintf(what, sizeof(what), "%s as is", name);
    if (check(what, kind, buf, len, &rc))
        UNIT_CHECK(rc == 0, "%s: the sample itself is refused", name);

    /* Every cut; in samples over 8 KiB, every cut in the first and last
     * 4 KiB and every 97th in between (the middle repeats itself). */
    unsigned bad_cuts = 0;
    for (uint32_t cut = 0; cut < len; cut++) {
        if (len > 8192 && cut >= 4096 && cut < len - 4096 && cut % 97 != 0)
            continue;
        if (!check(name, kind, buf, cut, &rc) || rc == 0)
            bad_cuts++;
    }
    UNIT_CHECK(bad_cuts == 0, "%s: %u of %" PRIu32 " truncations accepted or mishandled", name,
               bad_cuts, len);

    /* Bit flips: the first 4 KiB (headers, records), every bit. */
    uint32_t flip_len = len < 4096 ? len : 4096;
    unsigned bad_flips = 0;
    memcpy(work, buf, len);
    for (uint32_t bit = 0; bit < flip_len * 8; bit++) {
        work[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        char problem[512] = "";
        if (!ws_check(kind, work, len, &rc, problem, sizeof(problem))) {
            if (bad_flips++ == 0)
                printf("%s, bit %" PRIu32 " flipped: %s\n", name, bit, problem);
        }
        work[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    UNIT_CHECK(bad_flips == 0, "%s: %u of %" PRIu32 " bit flips mishandled", name, bad_flips,
               flip_len * 8);

    /* Random patches: 1..8 random bytes at random places. */
    unsigned bad_patches = 0;
    for (unsigned i = 0; i < PATCHES_PER_SAMPLE; i++) {
        memcpy(work, buf, len);
        unsigned n = 1 + (unsigned)unit_below(&rng, 8);
        for (unsigned k = 0; k < n; k++)
            work[unit_below(&rng, len)] = (uint8_t)unit_rand(&rng);
        uint32_t patched_len = unit_below(&rng, 4) == 0 ? (uint32_t)unit_below(&rng, len + 1) : len;
        char problem[512] = "";
        if (!ws_check(kind, work, patched_len, &rc, problem, sizeof(problem)) && bad_patches++ == 0)
            printf("%s, patch %u: %s\n", name, i, problem);
    }
    UNIT_CHECK(bad_patches == 0, "%s: %u random patches mishandled", name, bad_patches);
}

/* Random bytes of random length, with the version (or tag) byte right
 * half the time so that the rest is reached. */
static void random_bytes(void)
{
    static uint8_t work[4096];
    static const uint8_t first[WS_KINDS] = {1, 1, 1, 1, 1, 0xA1, 0xA2};

    for (unsigned kind = 0; kind < WS_KINDS; kind++) {
        unsigned bad = 0, accepted = 0;
        for (unsigned i = 0; i < RANDOM_PER_KIND; i++) {
            uint32_t len = (uint32_t)unit_below(&rng, i % 2 ? 128 : sizeof(work));
            for (uint32_t k = 0; k < len; k++)
                work[k] = (uint8_t)unit_rand(&rng);
            if (len > 1 && unit_below(&rng, 2) == 0) {
                work[0] = first[kind];
                work[1] = 1; /* the version of the tagged entries */
            }
            int rc;
            char problem[512] = "";
            if (!ws_check(kind, work, len, &rc, problem, sizeof(problem)) && bad++ == 0)
                printf("random %s: %s\n", ws_kind_name(kind), problem);
            accepted += rc == 0;
        }
        UNIT_CHECK(bad == 0, "random %s: %u inputs mishandled (%u accepted)", ws_kind_name(kind),
                   bad, accepted);
    }
}

int main(void)
{
    ws_each(one_sample, NULL);
    UNIT_CHECK(n_samples >= 30, "%u samples", n_samples);
    for (unsigned k = 0; k < WS_KINDS; k++)
        UNIT_CHECK(n_per_kind[k] >= 2, "%u samples of %s", n_per_kind[k], ws_kind_name(k));
    random_bytes();
    printf("%u samples\n", n_samples);
    return unit_finish();
}
