/* frame_seed_gen.c - writes valid frames as a seed corpus for
 * fuzz-frame-decode: batches of mixed sizes at several MTUs, a broadcast
 * frame, a frame of empty messages, and every fragment of two fragmented
 * messages. Usage: frame-seed-gen DIR */
#include <stdio.h>
#include <stdlib.h>

#include "codec_util.h"
#include "dp_frame.h"

static unsigned n_written;

static void put(const char *dir, const uint8_t *buf, uint32_t len)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/seed-%03u", dir, n_written++);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void batches(const char *dir, uint8_t *frame, const uint8_t *msg)
{
    static const uint32_t mtus[] = {DP_MTU_MIN, DP_MTU_DEFAULT, DP_MTU_JUMBO_MAX};
    struct dp_frame_addr a = cu_addr();
    struct nr_err err;
    struct dp_builder b;

    for (unsigned i = 0; i < 3; i++) {
        uint32_t cap = dp_frame_cap_for_mtu(mtus[i]);
        for (uint32_t size = 0; size <= 1024; size = size * 4 + 3) {
            dp_builder_init(&b, &a, frame, cap);
            for (uint16_t k = 0; k < 6; k++)
                (void)dp_builder_add(&b, k, msg, size + k, &err);
            put(dir, frame, dp_builder_finish(&b));
        }
    }
    a.receiver_id = DP_MEMBER_BROADCAST;
    dp_builder_init(&b, &a, frame, 1472);
    (void)dp_builder_add(&b, 77, msg, 40, &err);
    put(dir, frame, dp_builder_finish(&b));
    a = cu_addr();
    dp_builder_init(&b, &a, frame, 1472);
    for (int i = 0; i < 20; i++)
        (void)dp_builder_add(&b, 0, msg, 0, &err);
    put(dir, frame, dp_builder_finish(&b));
}

static void fragments(const char *dir, uint8_t *frame, const uint8_t *msg, uint32_t len,
                      uint32_t cap, uint32_t msg_id)
{
    struct dp_frame_addr a = cu_addr();
    struct dp_fragmenter f;
    struct nr_err err;

    if (dp_frag_init(&f, &a, msg_id, 5, msg, len, cap, &err) != 0) {
        fprintf(stderr, "frame-seed-gen: %s\n", err.msg);
        exit(1);
    }
    for (uint32_t n; (n = dp_frag_next(&f, frame, cap)) > 0;)
        put(dir, frame, n);
}

int main(int argc, char **argv)
{
    static uint8_t frame[DP_FRAME_LEN_MAX], msg[16384];

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    cu_fill(msg, sizeof(msg), 1);
    batches(argv[1], frame, msg);
    fragments(argv[1], frame, msg, 3000, 548, 1);
    fragments(argv[1], frame, msg, 16384, 1472, 2);
    printf("frame-seed-gen: %u frames in %s\n", n_written, argv[1]);
    return 0;
}
