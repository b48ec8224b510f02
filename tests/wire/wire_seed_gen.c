/* wire_seed_gen.c - writes every sample encoding of wire_samples.c as a
 * seed for fuzz-peer-wire: one file per sample, its first byte the
 * decoder to use (enum ws_kind), then the message. Usage: wire-seed-gen DIR */
#include <stdio.h>
#include <stdlib.h>

#include "wire_samples.h"

static unsigned n_written;

static void put(const char *name, unsigned kind, const uint8_t *buf, uint32_t len, void *ctx)
{
    const char *dir = ctx;
    char path[4096];
    uint8_t key = (uint8_t)kind;

    (void)name;
    snprintf(path, sizeof(path), "%s/seed-%03u", dir, n_written++);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(&key, 1, 1, f) != 1 || fwrite(buf, 1, len, f) != len ||
        fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    ws_each(put, argv[1]);
    printf("wire-seed-gen: %u samples in %s\n", n_written, argv[1]);
    return 0;
}
