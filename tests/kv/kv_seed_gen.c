/* kv_seed_gen.c - writes valid images made by the real store into a
 * directory: the seed corpus of fuzz-kv-restore. Empty stores, a few keys,
 * quotas reached, sessions evicted, long keys and values.
 * Usage: kv-seed-gen DIR; prints how many it wrote. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "kv_test_util.h"

int main(int argc, char **argv)
{
    const struct kv_config cfg = {64, 1u << 16, 16, 0};
    const uint32_t n_entries[] = {0, 1, 3, 10, 40, 200, 1000};
    static struct kt_model m;
    static struct kt_bufs bufs;
    unsigned n = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: kv-seed-gen DIR\n");
        return 2;
    }
    for (unsigned i = 0; i < sizeof(n_entries) / sizeof(n_entries[0]); i++) {
        struct kt_cmd last[KT_CLIENTS_MAX], c;
        uint64_t rng = i + 1, client_seq[KT_CLIENTS_MAX] = {0};
        struct kv *kv;
        struct nr_err err = {0};
        size_t len;
        char path[4096];

        memset(last, 0, sizeof(last));
        if (kv_create(&cfg, &kv, &err) != 0) {
            fprintf(stderr, "kv-seed-gen: %s\n", err.msg);
            return 1;
        }
        kt_model_init(&m, &cfg, 60);
        for (uint64_t index = 1; index <= n_entries[i]; index++) {
            kt_random_cmd(&rng, &m, client_seq, 20, last, &c);
            kt_step(kv, &m, index, &c, &bufs);
        }
        uint8_t *img = kt_serialize(kt_snapshot_now(kv), &rng, 4096, &len);
        snprintf(path, sizeof(path), "%s/kv-image-%u", argv[1], i);
        FILE *f = fopen(path, "wb");
        if (f == NULL || fwrite(img, 1, len, f) != len || fclose(f) != 0) {
            perror(path);
            return 1;
        }
        free(img);
        kv_destroy(kv);
        n++;
    }
    printf("kv-seed-gen: %u images in %s\n", n, argv[1]);
    return 0;
}
