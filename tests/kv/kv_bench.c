/* kv_bench.c - apply cost in ns per write (timing belongs here, not in a
 * test's verdict): PUTs of 8-byte keys and 256-byte values over a key set
 * (same-size overwrites: in place), PUTs alternating sizes (new records,
 * the cleaner at work), the same while a snapshot is being copied (a
 * kv_snap_step of 64 KiB every 64 writes), and kv_get.
 * Usage: kv-bench [writes] (default 2000000). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv.h"
#include "nr_le.h"

#define N_KEYS 100000u

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t index_next;

static double run(struct kv *kv, uint64_t n, bool vary, bool snap)
{
    uint8_t key[8], val[512];
    struct nr_kv_cmd c = {.op = NR_KV_PUT, .client_id = 1, .key = key, .key_len = 8, .val = val};
    struct kv_result res;
    uint64_t x = 12345, snaps = 0;

    memset(val, 0x5a, sizeof(val));
    if (snap && kv_snap_begin(kv, NULL) != 0)
        abort();
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        nr_put_le64(key, (x >> 33) % N_KEYS);
        c.val_len = vary ? 200 + (uint32_t)(i % 3) * 40 : 256;
        c.client_id = 1 + (i % 64);
        c.seq = ++index_next;
        if (kv_apply(kv, index_next, &c, &res) != 0 || res.status != NR_KV_OK)
            abort();
        if (snap && i % 64 == 0 && kv_snap_step(kv, 65536)) {
            kv_snap_release(kv);
            snaps++;
            if (kv_snap_begin(kv, NULL) != 0)
                abort();
        }
    }
    uint64_t t1 = now_ns();
    if (snap) {
        kv_snap_release(kv);
        printf("  (%" PRIu64 " snapshots completed during the run)\n", snaps);
    }
    return (double)(t1 - t0) / (double)n;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    const struct kv_config cfg = {N_KEYS * 2, (uint64_t)N_KEYS * 600, 1024, 0};
    struct kv *kv;
    struct nr_err err = {0};

    if (kv_create(&cfg, &kv, &err) != 0) {
        fprintf(stderr, "kv-bench: %s\n", err.msg);
        return 1;
    }
    printf("kv-bench: %u keys, arena %" PRIu64 " MiB (x2 with the snapshot area)\n", N_KEYS,
           kv_arena_len(kv) >> 20);
    run(kv, N_KEYS * 4, false, false); /* warm: every key present */
    printf("put 8 B key, 256 B value (in place):     %.1f ns/op\n", run(kv, n, false, false));
    printf("put 8 B key, 200..280 B (new records):   %.1f ns/op\n", run(kv, n, true, false));
    printf("put 256 B while snapshots copy:          %.1f ns/op\n", run(kv, n, false, true));
    printf("put 200..280 B while snapshots copy:     %.1f ns/op\n", run(kv, n, true, true));
    uint8_t key[8];
    struct kv_value v;
    uint64_t x = 1, found = 0, t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        nr_put_le64(key, (x >> 33) % N_KEYS);
        found += kv_get(kv, key, 8, &v);
    }
    printf("get 8 B key:                             %.1f ns/op (%" PRIu64 " found)\n",
           (double)(now_ns() - t0) / (double)n, found);
    kv_destroy(kv);
    return 0;
}
