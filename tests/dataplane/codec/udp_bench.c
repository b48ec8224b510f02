/* udp_bench.c - messages/s over kernel UDP between two processes on
 * 127.0.0.1, for 64 B and 1 KiB messages (dp_udp_bench), one line each:
 *   transport=udp size=64 mtu=1500 msgs=... received=... frames=... seconds=...
 *       msgs_per_s=... frames_per_s=... msgs_per_frame=...
 * Usage: dataplane-udp-bench [--quick] [--mtu N] [--window MSGS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_udp.h"

int main(int argc, char **argv)
{
    uint64_t n_msgs = 4000000;
    uint32_t mtu = DP_MTU_DEFAULT, window = 0;
    static const uint32_t sizes[] = {64, 1024};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            n_msgs = 500000;
        } else if (strcmp(argv[i], "--mtu") == 0 && i + 1 < argc) {
            mtu = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) {
            window = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--mtu N] [--window MSGS]\n", argv[0]);
            return 2;
        }
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct dp_udp_bench_result r;
        struct nr_err err = {0};
        uint64_t n = sizes[i] >= 1024 ? n_msgs / 4 : n_msgs;
        if (dp_udp_bench(sizes[i], n, mtu, window, &r, &err) != 0) {
            fprintf(stderr, "dataplane-udp-bench: %s\n", err.msg);
            return 1;
        }
        printf("transport=udp size=%u mtu=%u msgs=%llu received=%llu frames=%llu seconds=%.3f "
               "msgs_per_s=%.0f frames_per_s=%.0f msgs_per_frame=%.1f\n",
               sizes[i], mtu, (unsigned long long)r.msgs_sent, (unsigned long long)r.msgs_received,
               (unsigned long long)r.frames_sent, r.seconds, r.msgs_per_s, r.frames_per_s,
               r.frames_sent ? (double)r.msgs_sent / (double)r.frames_sent : 0.0);
    }
    return 0;
}
