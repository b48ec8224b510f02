/* wire_bench.c - nanoseconds per encode and per decode of typical node/wire
 * messages: a heartbeat, appends of 1 x 256 B, 64 x 256 B and 16 x 4 KiB, a
 * vote, a 64 KiB snapshot chunk (CRC32C included) and a full membership
 * response. For a person to run; timings are no test's verdict.
 * Usage: wire-bench [--quick] */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wire_samples.h"

static uint8_t buf[1u << 20];
static uint8_t data[1u << 16];
static struct raft_entry ents[RAFT_MSG_ENTRIES_MAX];
static struct raft_entry dec[RAFT_MSG_ENTRIES_MAX];
static volatile uint64_t sink;

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A typical message: small terms and indexes, not the bounds. */
static void typical(struct raft_msg *m, uint32_t type, uint32_t n, uint32_t len)
{
    *m = (struct raft_msg){.type = type,
                           .from = 1,
                           .to = 2,
                           .term = 5,
                           .index = 1000,
                           .log_term = 5,
                           .commit = 990,
                           .ctx = 7};
    for (uint32_t i = 0; i < n; i++)
        ents[i] = (struct raft_entry){.term = 5,
                                      .index = 1001 + i,
                                      .type = RAFT_ENTRY_NORMAL,
                                      .len = len,
                                      .data = data + (i * 97u) % 1024u};
    m->n_entries = n;
    m->entries = n > 0 ? ents : NULL;
}

static void bench_raft(const char *name, uint32_t type, uint32_t n, uint32_t len, unsigned iters)
{
    struct raft_msg m, out;
    struct nr_err err;

    typical(&m, type, n, len);
    int size = peer_msg_encode(&m, buf, sizeof(buf), &err);
    if (size < 0) {
        printf("%s: %s\n", name, err.msg);
        return;
    }
    double t0 = now_ns();
    for (unsigned i = 0; i < iters; i++) {
        m.commit = i; /* keep the compiler from hoisting the work */
        sink += (uint64_t)peer_msg_encode(&m, buf, sizeof(buf), &err);
    }
    double t1 = now_ns();
    for (unsigned i = 0; i < iters; i++) {
        sink += (uint64_t)peer_msg_decode(buf, (uint32_t)size, &out, dec, RAFT_MSG_ENTRIES_MAX,
                                          &err);
        sink += out.commit;
    }
    double t2 = now_ns();
    printf("%-28s %7d B  encode %8.1f ns  decode %8.1f ns\n", name, size, (t1 - t0) / iters,
           (t2 - t1) / iters);
}

static void bench_chunk(unsigned iters)
{
    struct snap_chunk c, out;
    struct nr_err err;

    ws_chunk(&c, data, sizeof(data));
    int size = snap_chunk_encode(&c, WS_TOTAL_MAX, buf, sizeof(buf), &err);
    double t0 = now_ns();
    for (unsigned i = 0; i < iters; i++)
        sink += (uint64_t)snap_chunk_encode(&c, WS_TOTAL_MAX, buf, sizeof(buf), &err);
    double t1 = now_ns();
    for (unsigned i = 0; i < iters; i++)
        sink += (uint64_t)snap_chunk_decode(buf, (uint32_t)size, WS_TOTAL_MAX, &out, &err);
    double t2 = now_ns();
    printf("%-28s %7d B  encode %8.1f ns  decode %8.1f ns\n", "snapshot chunk 64 KiB", size,
           (t1 - t0) / iters, (t2 - t1) / iters);
}

static void bench_resp(unsigned iters)
{
    static struct members_resp r, out;
    struct nr_err err;

    ws_resp(&r, RAFT_MEMBERS_MAX);
    int size = members_resp_encode(&r, buf, sizeof(buf), &err);
    double t0 = now_ns();
    for (unsigned i = 0; i < iters; i++)
        sink += (uint64_t)members_resp_encode(&r, buf, sizeof(buf), &err);
    double t1 = now_ns();
    for (unsigned i = 0; i < iters; i++)
        sink += (uint64_t)members_resp_decode(buf, (uint32_t)size, &out, &err);
    double t2 = now_ns();
    printf("%-28s %7d B  encode %8.1f ns  decode %8.1f ns\n", "members response, 32", size,
           (t1 - t0) / iters, (t2 - t1) / iters);
}

int main(int argc, char **argv)
{
    unsigned scale = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 10 : 1;

    for (uint32_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31u);
    bench_raft("heartbeat", RAFT_MSG_HEARTBEAT, 0, 0, 2000000 / scale);
    bench_raft("vote", RAFT_MSG_VOTE, 0, 0, 2000000 / scale);
    bench_raft("append 1 x 256 B", RAFT_MSG_APPEND, 1, 256, 2000000 / scale);
    bench_raft("append 64 x 256 B", RAFT_MSG_APPEND, 64, 256, 200000 / scale);
    bench_raft("append 16 x 4 KiB", RAFT_MSG_APPEND, 16, 4096, 100000 / scale);
    bench_chunk(20000 / scale);
    bench_resp(20000 / scale);
    return sink == 42 ? 1 : 0;
}
