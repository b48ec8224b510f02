/* kv_snap_test.c - snapshots while the store keeps changing: begin, keep
 * applying random entries with kv_snap_step given small budgets between
 * them (and more entries after completion), then the image must serialize
 * to exactly the model's state at begin; restored into a second store it
 * must equal that state, and the entries applied since then must bring the
 * second store to the first one's state (a follower installing the image
 * and catching up). A second snapshot after release does it again. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "kv_test_util.h"
#include "unit_check.h"

#define LOG_MAX 40000u

struct snap_case {
    const char *name;
    struct kv_config cfg;
    uint32_t n_universe;
    uint32_t n_clients;
    uint32_t n_before;     /* entries before begin */
    uint32_t budget_pages; /* kv_snap_step budget: 0 .. this many pages */
    uint32_t n_after;      /* entries after completion */
    uint64_t seed;
};

static const struct snap_case cases[] = {
    {"small", {24, 6000, 4, 0}, 64, 10, 3000, 1, 200, 11},
    {"churn", {128, 400000, 16, 0}, 200, 12, 5000, 2, 500, 12},
    {"roomy", {256, 1u << 20, 64, 0}, 256, 32, 8000, 4, 1000, 13},
    {"empty", {16, 4000, 2, 0}, 20, 3, 0, 1, 50, 14},
};

static struct kt_model model, frozen, frozen2;
static struct kt_bufs bufs;
static struct kt_cmd log_cmds[LOG_MAX];

struct run {
    const struct snap_case *sc;
    struct kv *kv;
    uint64_t rng;
    uint64_t index;
    uint64_t client_seq[KT_CLIENTS_MAX];
    struct kt_cmd last[KT_CLIENTS_MAX];
};

static bool one_entry(struct run *r)
{
    struct kt_cmd *c = &log_cmds[r->index];

    kt_random_cmd(&r->rng, &model, r->client_seq, r->sc->n_clients, r->last, c);
    return kt_step(r->kv, &model, ++r->index, c, &bufs);
}

/* Applies entries until the snapshot completes (steps between them). */
static bool mutate_while_copying(struct run *r)
{
    for (uint32_t n = 0; n < 1000000; n++) {
        if (!one_entry(r))
            return false;
        uint64_t budget = unit_below(&r->rng, r->sc->budget_pages * 4096u + 1);
        if (kv_snap_step(r->kv, budget))
            return true;
    }
    return UNIT_CHECK(false, "%s: the snapshot never completed", r->sc->name);
}

/* Serializes the image, checks it against want, restores it into a new
 * store and replays entries (from_index, r->index] there. */
static void check_image(struct run *r, const struct kt_model *want, uint64_t from_index,
                        const char *what)
{
    const struct kv_image *img = kv_snap_image(r->kv);
    struct kv *b;
    struct nr_err err = {0};
    size_t len;

    if (!UNIT_CHECK(img != NULL && kv_image_index(img) == want->applied_index &&
                    kv_image_revision(img) == want->revision,
                    "%s: complete image at index %" PRIu64, what, want->applied_index))
        return;
    uint8_t *buf = kt_serialize(img, &r->rng, 1 + unit_below(&r->rng, 3000), &len);
    kt_image_matches(buf, len, want, what);
    /* Serializing again gives the same bytes (nothing moved underneath). */
    size_t len2;
    uint8_t *again = kt_serialize(img, &r->rng, 65536, &len2);
    UNIT_CHECK(len2 == len && memcmp(buf, again, len) == 0, "%s: a second read differs", what);
    free(again);

    if (!UNIT_CHECK(kv_create(&r->sc->cfg, &b, &err) == 0, "%s: create: %s", what, err.msg))
        goto out;
    int rc = kt_restore_chunked(b, buf, len, &r->rng, 1 + unit_below(&r->rng, 500), &err);
    if (UNIT_CHECK(rc == 0, "%s: restore: %s", what, err.msg)) {
        char w2[128];
        snprintf(w2, sizeof(w2), "%s restored", what);
        kt_model_check(b, want, w2);
        /* Catch up from the log: must reach the first store's state. */
        struct kt_model replay = *want;
        for (uint64_t i = from_index; i < r->index; i++) {
            if (!kt_step(b, &replay, i + 1, &log_cmds[i], &bufs))
                break;
        }
        snprintf(w2, sizeof(w2), "%s restored and caught up", what);
        kt_model_check(b, &model, w2);
    }
    kv_destroy(b);
out:
    free(buf);
}

static void run_case(const struct snap_case *sc)
{
    struct run r = {.sc = sc, .rng = sc->seed};
    struct nr_err err = {0};
    char what[96];

    if (!UNIT_CHECK(kv_create(&sc->cfg, &r.kv, &err) == 0, "%s: create: %s", sc->name, err.msg))
        return;
    kt_model_init(&model, &sc->cfg, sc->n_universe);
    for (uint32_t i = 0; i < sc->n_before; i++)
        one_entry(&r);

    /* First snapshot: mutate while it copies, and after. */
    UNIT_CHECK(kv_snap_begin(r.kv, &err) == 0, "%s: begin: %s", sc->name, err.msg);
    frozen = model;
    uint64_t at = r.index;
    UNIT_CHECK(kv_snap_begin(r.kv, &err) == NR_EBUSY && kv_restore_begin(r.kv, &err) == NR_EBUSY,
               "%s: a second begin and a restore are refused while one is active", sc->name);
    UNIT_CHECK(kv_snap_image(r.kv) == NULL || sc->n_before == 0,
               "%s: no image before completion", sc->name);
    mutate_while_copying(&r);
    for (uint32_t i = 0; i < sc->n_after; i++)
        one_entry(&r);
    snprintf(what, sizeof(what), "%s first snapshot", sc->name);
    check_image(&r, &frozen, at, what);
    kt_model_check(r.kv, &model, "live store after the first snapshot");
    kv_snap_release(r.kv);

    /* Second snapshot after release: COW again from scratch. */
    for (uint32_t i = 0; i < sc->n_before / 4; i++)
        one_entry(&r);
    UNIT_CHECK(kv_snap_begin(r.kv, &err) == 0, "%s: second begin: %s", sc->name, err.msg);
    frozen2 = model;
    at = r.index;
    mutate_while_copying(&r);
    for (uint32_t i = 0; i < sc->n_after; i++)
        one_entry(&r);
    snprintf(what, sizeof(what), "%s second snapshot", sc->name);
    check_image(&r, &frozen2, at, what);
    kv_snap_release(r.kv);

    /* A snapshot abandoned while copying leaves the store as it is. */
    UNIT_CHECK(kv_snap_begin(r.kv, &err) == 0, "%s: third begin: %s", sc->name, err.msg);
    one_entry(&r);
    kv_snap_release(r.kv);
    for (uint32_t i = 0; i < 100; i++)
        one_entry(&r);
    kt_model_check(r.kv, &model, "after an abandoned snapshot");

    struct kv_stats st;
    kv_stats(r.kv, &st);
    printf("%-6s: index %" PRIu64 ", %" PRIu64 " keys, arena %" PRIu64 " bytes, %" PRIu64
           " snapshots, pages copied %" PRIu64 " by writes, %" PRIu64 " by steps\n", sc->name,
           r.index, st.n_keys, st.arena_len, st.n_snaps, st.snap_pages_cow, st.snap_pages_step);
    UNIT_CHECK(st.n_snaps == 2 && st.snap_pages_cow > 0, "%s: two snapshots, some pages copied"
               " by writes", sc->name);
    kv_destroy(r.kv);
}

int main(void)
{
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
    return unit_finish();
}
