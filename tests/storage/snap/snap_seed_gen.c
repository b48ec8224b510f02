/* snap_seed_gen.c - writes valid snapshots (through snap_writer) into a
 * directory: the seed corpus of fuzz-snap-load. Every configuration shape,
 * data lengths from 0 to a few KiB, small and large indexes and terms.
 * Usage: snap-seed-gen DIR; prints how many it wrote. */
#include <stdio.h>

#include "snap_file.h"
#include "snap_test_util.h"

int main(int argc, char **argv)
{
    const uint64_t lens[] = {0, 1, 17, 100, 4096, 5000};
    struct snap_header h;
    struct nr_err err = {0};
    unsigned n = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: snap-seed-gen DIR\n");
        return 2;
    }
    for (int shape = 0; shape < 4; shape++) {
        for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            uint64_t index = shape == 2 ? RAFT_INDEX_MAX - i : 1000u * (unsigned)shape + i + 1;
            uint64_t term = shape == 2 ? RAFT_TERM_MAX : (uint64_t)shape + 1;

            snap_test_header(&h, index, term, lens[i], shape);
            if (snap_test_write(argv[1], &h, index, 1000, NULL, NULL, 0, &err) != 0) {
                fprintf(stderr, "snap-seed-gen: %s\n", err.msg);
                return 1;
            }
            n++;
        }
    }
    printf("snap-seed-gen: %u snapshots in %s\n", n, argv[1]);
    return 0;
}
