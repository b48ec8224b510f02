/* dp_udp_bench.c - dp_udp_bench() (dp_udp.h): messages/s between a sender
 * and a forked receiver over 127.0.0.1, pinned to different CPUs, with
 * acknowledged windows. */
#include "dp_udp.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <string.h>
#include <sys/wait.h>

#include "nr_le.h"

/* ---- Benchmark: a sender and a forked receiver over 127.0.0.1 ---- */

enum { BENCH_KIND_DATA = 1, BENCH_KIND_ACK = 2 };
#define BENCH_CLUSTER UINT64_C(0x6e72626e63680001)
#define BENCH_SENDER 1u
#define BENCH_RECEIVER 2u
#define BENCH_IDLE_END_NS (1000ull * 1000 * 1000) /* the receiver gives up after 1 s */
#define BENCH_STALL_NS (500ull * 1000 * 1000)     /* the sender after 0.5 s */

struct bench_side {
    uint64_t n_data; /* receiver: data messages seen */
    uint64_t acked;  /* sender: highest count acknowledged */
};

static void bench_on_msg(void *ctx, const struct dp_msg *m)
{
    struct bench_side *b = ctx;

    if (m->kind == BENCH_KIND_DATA)
        b->n_data++;
    if (m->kind == BENCH_KIND_ACK && m->len == 8 && nr_get_le64(m->data) > b->acked)
        b->acked = nr_get_le64(m->data);
}

static struct dp_udp_config bench_config(uint64_t self_id, uint32_t mtu)
{
    struct dp_udp_config c = {
            .bind = {.ipv4 = 0x7f000001u, .port = 0},
            .cluster_id = BENCH_CLUSTER,
            .self_id = self_id,
            .mtu = mtu,
            .batch_max = 64,
            .sock_buf_bytes = 32u << 20,
            .reasm = {.n_slots = 16,
                      .msg_len_max = 1u << 20,
                      .timeout_ns = DP_REASM_TIMEOUT_NS_DEFAULT},
    };
    return c;
}

static void bench_ack(struct dp_udp *u, const struct dp_endpoint *to, uint64_t count)
{
    uint8_t b[8];
    struct nr_err err;

    nr_put_le64(b, count);
    if (dp_udp_send(u, to, BENCH_SENDER, 0, BENCH_KIND_ACK, b, sizeof(b), &err) == 0)
        (void)dp_udp_flush(u, &err);
}

/* The receiving process: counts, acknowledges every ack_every messages and
 * when idle, ends when all arrived or after a second of silence. */
static void bench_receive(struct dp_udp *u, const struct dp_endpoint *to, uint64_t n_msgs,
                          uint32_t ack_every, int report_fd)
{
    struct bench_side side = {0};
    struct nr_err err;
    uint64_t last_ack = 0, last_rx_ns = dp_udp_now_ns();

    for (;;) { /* bounded by n_msgs or by BENCH_IDLE_END_NS of silence */
        uint64_t now = dp_udp_now_ns();
        int n = dp_udp_poll(u, now, bench_on_msg, &side, &err);
        if (n < 0)
            break;
        if (n > 0)
            last_rx_ns = now;
        if (side.n_data - last_ack >= ack_every || (n == 0 && side.n_data > last_ack)) {
            bench_ack(u, to, side.n_data);
            last_ack = side.n_data;
        }
        if (side.n_data >= n_msgs || now - last_rx_ns > BENCH_IDLE_END_NS)
            break;
    }
    bench_ack(u, to, side.n_data);
    ssize_t w = write(report_fd, &side.n_data, sizeof(side.n_data));
    (void)w;
}

/* The sending process: keeps at most window messages unacknowledged.
 * Returns the time of the last acknowledgement that made progress. */
static uint64_t bench_send(struct dp_udp *u, const struct dp_endpoint *to, uint32_t msg_len,
                           uint64_t n_msgs, uint32_t window, uint64_t *sent_out)
{
    static uint8_t msg[1u << 16];
    struct bench_side side = {0};
    struct nr_err err;
    uint64_t sent = 0, progress_ns = dp_udp_now_ns(), last_acked = 0;

    memset(msg, 0x5a, msg_len);
    while (side.acked < n_msgs) { /* bounded: ends on a stall of BENCH_STALL_NS */
        while (sent < n_msgs && sent - side.acked < window) {
            nr_put_le64(msg, sent);
            if (dp_udp_send(u, to, BENCH_RECEIVER, 0, BENCH_KIND_DATA, msg, msg_len, &err) != 0)
                break;
            sent++;
        }
        (void)dp_udp_flush(u, &err);
        uint64_t now = dp_udp_now_ns();
        (void)dp_udp_poll(u, now, bench_on_msg, &side, &err);
        if (side.acked > last_acked) {
            last_acked = side.acked;
            progress_ns = now;
        } else if (now - progress_ns > BENCH_STALL_NS) {
            break;
        }
    }
    *sent_out = sent;
    return progress_ns;
}

/* Two busy pollers sharing one core see 8 ms round trips (the scheduler's
 * slice; issue 5's measurements): put the processes on different CPUs when
 * there are two, best effort. Returns the CPU chosen, or -1. */
static int bench_pin(int nth)
{
    cpu_set_t allowed, one;

    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) < 2)
        return -1;
    for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed) || seen++ != nth)
            continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        return sched_setaffinity(0, sizeof(one), &one) == 0 ? cpu : -1;
    }
    return -1;
}

static int bench_run(struct dp_udp *tx, struct dp_udp *rx, uint32_t msg_len, uint64_t n_msgs,
                     uint32_t window, struct dp_udp_bench_result *out, struct nr_err *err)
{
    int fds[2];
    struct dp_endpoint tx_ep = dp_udp_local(tx), rx_ep = dp_udp_local(rx);

    if (pipe(fds) != 0)
        return nr_errf(err, NR_EIO, "udp bench: pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return nr_errf(err, NR_EIO, "udp bench: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        (void)bench_pin(1);
        bench_receive(rx, &tx_ep, n_msgs, window / 4 > 0 ? window / 4 : 1, fds[1]);
        _exit(0);
    }
    close(fds[1]);
    cpu_set_t saved;
    bool restore = sched_getaffinity(0, sizeof(saved), &saved) == 0 && bench_pin(0) >= 0;
    uint64_t start = dp_udp_now_ns();
    uint64_t end = bench_send(tx, &rx_ep, msg_len, n_msgs, window, &out->msgs_sent);
    if (restore)
        (void)sched_setaffinity(0, sizeof(saved), &saved);
    uint64_t received = 0;
    ssize_t r = read(fds[0], &received, sizeof(received));
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        r != (ssize_t)sizeof(received))
        return nr_errf(err, NR_EIO, "udp bench: the receiving process failed (status %d)", status);
    out->msgs_received = received;
    out->frames_sent = dp_udp_stats(tx)->tx_frames;
    out->seconds = (double)(end - start) / 1e9;
    out->msgs_per_s = out->seconds > 0 ? (double)received / out->seconds : 0;
    out->frames_per_s = out->seconds > 0 ? (double)out->frames_sent / out->seconds : 0;
    return 0;
}

/* Measured here: small messages want a deep window (65536 x 64 B: 5 M
 * messages/s against 1.4 M at 16384); large ones must not overrun the
 * receiver's 32 MiB socket buffer (16384 x 1 KiB frames nearly fill it). */
static uint32_t bench_window(uint32_t msg_len)
{
    return msg_len <= 256 ? 65536u : 16384u;
}

int dp_udp_bench(uint32_t msg_len, uint64_t n_msgs, uint32_t mtu, uint32_t window_msgs,
                 struct dp_udp_bench_result *out, struct nr_err *err)
{
    struct dp_udp *tx = NULL, *rx = NULL;

    if (msg_len < 8 || msg_len > (1u << 16) || n_msgs == 0)
        return nr_errf(err, NR_EINVAL,
                       "udp bench: msg_len %" PRIu32 " is outside 8..65536 "
                       "or n_msgs is 0",
                       msg_len);
    memset(out, 0, sizeof(*out));
    struct dp_udp_config tc = bench_config(BENCH_SENDER, mtu);
    struct dp_udp_config rc_cfg = bench_config(BENCH_RECEIVER, mtu);
    int rc = dp_udp_create(&tc, &tx, err);
    if (rc == 0)
        rc = dp_udp_create(&rc_cfg, &rx, err);
    if (rc == 0)
        rc = bench_run(tx, rx, msg_len, n_msgs, window_msgs ? window_msgs : bench_window(msg_len),
                       out, err);
    dp_udp_destroy(tx);
    dp_udp_destroy(rx);
    return rc;
}
