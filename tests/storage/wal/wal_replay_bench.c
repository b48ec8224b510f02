/* wal_replay_bench.c - recovery scan speed from the page cache, outside
 * the tests (meson's `benchmark`, or by hand): writes MIB MiB of 4 KiB
 * entries through the WAL, then times wal_replay() (the same call
 * wal-bench can make) a few times and prints
 *     replay bytes=... entries=... best_gb_per_s=...
 * Usage: wal-replay-bench [MIB] [DIR] [ENTRY_BYTES] (default 512 MiB of
 * 4096-byte entries under $TMPDIR). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wal_test_util.h"

int main(int argc, char **argv)
{
    uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 512;
    const char *dir = argc > 2 && argv[2][0] != '\0' ? argv[2] : wtu_tmpdir();
    static uint8_t data[4096];
    struct raft_entry e[64];
    struct wal_opts o;
    struct wtu t;
    struct nr_err err = {0};

    wtu_opts(&o, dir);
    o.segment_bytes = 64u << 20;
    o.batch_bytes_max = 1u << 20;
    if (wtu_open(&t, &o, NULL, &err) != 0) {
        fprintf(stderr, "wal-replay-bench: %s\n", err.msg);
        return 1;
    }
    uint32_t esize = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 4096;
    if (esize == 0 || esize > sizeof(data))
        esize = 4096;
    uint64_t n = (mib << 20) / esize, index = 1;
    memset(data, 0x5a, sizeof(data));
    while (index <= n) {
        uint32_t k = 0;
        for (; k < 64 && index <= n; k++, index++)
            e[k] = (struct raft_entry){1, index, 0, esize, data};
        struct raft_hard_state hs = {1, 1, index - 1};
        if (wtu_append(&t, e, k, &hs, NULL, &err) != 0 || wtu_drain(&t, &err) != 0) {
            fprintf(stderr, "wal-replay-bench: %s\n", err.msg);
            return 1;
        }
    }
    wtu_close(&t);
    double best = 0;
    struct wal_replay_opts ro = {dir, WTU_CLUSTER, WTU_MEMBER, WTU_GROUP};
    struct wal_recovery r;
    for (int run = 0; run < 5; run++) {
        if (wal_replay(&ro, &r, &err) != 0) {
            fprintf(stderr, "wal-replay-bench: %s\n", err.msg);
            return 1;
        }
        double gbps = (double)r.scanned_bytes / (double)r.scan_ns;
        best = gbps > best ? gbps : best;
        printf("run %d: %" PRIu64 " bytes, %u entries, %.3f s, %.2f GB/s\n", run,
               r.scanned_bytes, r.n_entries, (double)r.scan_ns / 1e9, gbps);
        wal_recovery_free(&r);
    }
    printf("replay bytes=%" PRIu64 " entries=%" PRIu64 " best_gb_per_s=%.2f\n", mib << 20, n,
           best);
    if (argc <= 2 || argv[2][0] == '\0')
        wtu_rmdir(dir); /* only the directory it made itself */
    return 0;
}
