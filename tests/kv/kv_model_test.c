/* kv_model_test.c - the store against the in-test model (kv_test_util.c):
 * random writes, deletes, retries (same seq), stale seqs, malformed
 * commands and non-KV entries from fixed seeds, every answer compared and
 * the whole state compared every 1000 entries; quota edges, session
 * eviction order, and a write pattern that makes the heap's cleaner move
 * live records on every pass. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "kv_test_util.h"
#include "unit_check.h"

struct model_case {
    const char *name;
    struct kv_config cfg;
    uint32_t n_universe;
    uint32_t n_clients;
    uint32_t n_ops;
    uint64_t seed;
};

static const struct model_case cases[] = {
    /* max_keys and max_bytes both bind: NOSPACE often. */
    {"tight quota", {24, 6000, 4, 0}, 64, 10, 30000, 1},
    {"tight quota", {24, 6000, 4, 0}, 64, 10, 30000, 2},
    /* One session for three clients: eviction on almost every write. */
    {"one session", {64, 50000, 1, 0}, 40, 3, 10000, 3},
    /* Values up to 64 KiB: the heap wraps and the cleaner moves records. */
    {"heap churn", {128, 400000, 16, 0}, 200, 12, 30000, 4},
    {"roomy", {256, 1u << 20, 64, 99}, 256, 32, 30000, 5},
    {"one key", {1, 2000, 2, 0}, 5, 4, 5000, 6},
};

static struct kt_model model;
static struct kt_bufs bufs;

static void run_case(const struct model_case *mc)
{
    struct kv *kv;
    struct nr_err err = {0};
    uint64_t rng = mc->seed, client_seq[KT_CLIENTS_MAX] = {0};
    struct kt_cmd last[KT_CLIENTS_MAX], c;
    char what[96];

    memset(last, 0, sizeof(last));
    if (!UNIT_CHECK(kv_create(&mc->cfg, &kv, &err) == 0, "%s: create: %s", mc->name, err.msg))
        return;
    kt_model_init(&model, &mc->cfg, mc->n_universe);
    for (uint64_t index = 1; index <= mc->n_ops; index++) {
        kt_random_cmd(&rng, &model, client_seq, mc->n_clients, last, &c);
        if (!kt_step(kv, &model, index, &c, &bufs))
            break;
        if (index % 1000 == 0 || index == mc->n_ops) {
            snprintf(what, sizeof(what), "%s seed %" PRIu64 " index %" PRIu64, mc->name,
                     mc->seed, index);
            if (!kt_model_check(kv, &model, what))
                break;
        }
    }
    struct kv_stats st;
    kv_stats(kv, &st);
    printf("%-12s seed %" PRIu64 ": %" PRIu64 " puts %" PRIu64 " dels %" PRIu64 " nospace %"
           PRIu64 " dups %" PRIu64 " refused %" PRIu64 " evictions, %" PRIu64 " bytes moved by"
           " the cleaner\n", mc->name, mc->seed, st.n_puts, st.n_dels, st.n_nospace,
           st.n_duplicates, st.n_refused, st.n_evictions, st.cleaner_moved_bytes);
    UNIT_CHECK(st.n_puts > 0 && st.n_duplicates > 0 && st.n_refused > 0,
               "%s: the mix reached puts, retries and refusals", mc->name);
    kv_destroy(kv);
}

/* Bad configurations are refused with the field named. */
static void config_refusals(void)
{
    static const struct {
        struct kv_config cfg;
        const char *field;
    } bad[] = {
        {{0, 100, 1, 0}, "max_keys"},
        {{KV_KEYS_MAX + 1, 100, 1, 0}, "max_keys"},
        {{1, 0, 1, 0}, "max_bytes"},
        {{1, KV_BYTES_MAX + 1, 1, 0}, "max_bytes"},
        {{1, 100, 0, 0}, "max_sessions"},
        {{1, 100, KV_SESSIONS_MAX + 1, 0}, "max_sessions"},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct kv *kv = (struct kv *)&bad[i];
        struct nr_err err = {0};
        int rc = kv_create(&bad[i].cfg, &kv, &err);
        UNIT_CHECK(rc == NR_EINVAL && err.code == NR_EINVAL && kv == NULL &&
                   strstr(err.msg, bad[i].field) != NULL,
                   "config %u: rc %d \"%s\", expected NR_EINVAL naming %s", i, rc, err.msg,
                   bad[i].field);
    }
}

/* Hand-written sequences: exact quota edges, DEL of an absent key, retries of
 * a NOSPACE answer, eviction of the oldest session. */
static void edges(void)
{
    const struct kv_config cfg = {2, 2 * (4 + 100), 2, 0};
    /* key 3 and key 4 are 4 + 3*3 = 13 and 4 + 4*3 = 16 bytes long. */
    const struct kt_cmd seq[] = {
        {KT_APPLY, NR_KV_DEL, 0, 3, 0, 0, 1, 1},        /* absent: NOT_FOUND, revision 1 */
        {KT_APPLY, NR_KV_PUT, 0, 3, 195, 1, 1, 2},      /* 13 + 195 = 208: exactly full */
        {KT_APPLY, NR_KV_PUT, 0, 4, 0, 2, 2, 1},        /* 16 more bytes: NOSPACE */
        {KT_APPLY, NR_KV_PUT, 0, 4, 0, 2, 2, 1},        /* its retry: NOSPACE again, a dup */
        {KT_APPLY, NR_KV_PUT, 0, 3, 196, 3, 1, 3},      /* one byte over: NOSPACE */
        {KT_APPLY, NR_KV_PUT, 0, 3, 10, 4, 1, 4},       /* shrink: fits */
        {KT_APPLY, NR_KV_PUT, 0, 4, 0, 5, 2, 2},        /* now fits */
        {KT_APPLY, NR_KV_PUT, 0, 5, 0, 6, 2, 3},        /* a third key: max_keys */
        {KT_SKIP, 0, 0, 0, 0, 0, 0, 0},
        {KT_APPLY, NR_KV_DEL, 0, 4, 0, 0, 3, 1},        /* client 3 evicts client 1 (oldest) */
        {KT_APPLY, NR_KV_PUT, 0, 3, 10, 4, 1, 4},       /* client 1's seq 4 again: applied anew */
        {KT_APPLY, NR_KV_PUT, 0, 3, 10, 4, 3, 1},       /* client 3 seq 1: a dup of its DEL */
        {KT_APPLY, NR_KV_PUT, 0, 3, 10, 4, 2, 1},       /* client 2 was evicted by client 1 */
        {KT_APPLY, NR_KV_PUT, 0, 3, 7, 8, 2, 1},        /* stale for client 2 now: seq 1 <= 1 */
    };
    struct kv *kv;
    struct nr_err err = {0};

    if (!UNIT_CHECK(kv_create(&cfg, &kv, &err) == 0, "edges: create: %s", err.msg))
        return;
    kt_model_init(&model, &cfg, 8);
    for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        if (!kt_step(kv, &model, 10 + i, &seq[i], &bufs))
            break;
        char what[32];
        snprintf(what, sizeof(what), "edges step %u", i);
        kt_model_check(kv, &model, what);
    }
    struct kv_stats st;
    kv_stats(kv, &st);
    UNIT_CHECK(st.n_nospace == 3 && st.n_evictions >= 2,
               "edges: %" PRIu64 " NOSPACE answers (3 expected), %" PRIu64 " evictions",
               st.n_nospace, st.n_evictions);
    kv_destroy(kv);
}

/* 63 keys never change while one is rewritten with alternating sizes: the
 * heap's tail is all live records, moved on every pass of the cleaner. */
static void cleaner_worst_case(void)
{
    const struct kv_config cfg = {64, 64 * (16 + 1100), 4, 0};
    struct kv *kv;
    struct nr_err err = {0};
    struct kt_cmd c = {KT_APPLY, NR_KV_PUT, 0, 0, 0, 0, 1, 0};
    uint64_t index = 0;

    if (!UNIT_CHECK(kv_create(&cfg, &kv, &err) == 0, "cleaner: create: %s", err.msg))
        return;
    kt_model_init(&model, &cfg, 64);
    for (uint32_t k = 3; k < 64; k++) {
        c.key = k;
        c.val_len = 1000;
        c.val_tag = k;
        c.seq++;
        kt_step(kv, &model, ++index, &c, &bufs);
    }
    for (uint32_t i = 0; i < 20000; i++) {
        c.key = 5;
        c.val_len = i % 2 ? 1000 : 600;
        c.val_tag = i;
        c.seq++;
        if (!kt_step(kv, &model, ++index, &c, &bufs))
            break;
    }
    kt_model_check(kv, &model, "cleaner worst case");
    struct kv_stats st;
    kv_stats(kv, &st);
    UNIT_CHECK(st.cleaner_moved_bytes > 10 * st.kv_bytes && st.heap_used_bytes <= st.heap_len,
               "cleaner: moved %" PRIu64 " bytes, holds %" PRIu64 " of %" PRIu64,
               st.cleaner_moved_bytes, st.heap_used_bytes, st.heap_len);
    kv_destroy(kv);
}

int main(void)
{
    config_refusals();
    edges();
    cleaner_worst_case();
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
    return unit_finish();
}
