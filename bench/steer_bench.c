/* steer_bench.c - what software steering costs (issue 5: "otherwise
 * software dispatch through a ring, measured"). One process, a net_ring
 * port (TX queue i loops back to RX queue i) with two pollers: poller 0 on
 * lcore 0, which also feeds frames, and poller 1 alone on lcore 1, which
 * owns group 1 and decodes every frame of it (dp_rx_payload: CRC32C and
 * all checks) and counts the messages. The feeder transmits nicraft frames
 * of group 1, one message each, in bursts of 32:
 *   direct:  on TX queue 1: they arrive on poller 1's own RX queue;
 *   steered: on TX queue 0: they arrive on poller 0's, which the feeder's
 *            lcore polls between bursts; poller 0 parses each frame, asks
 *            the owner (dp_frame_peek_group) and hands it to poller 1
 *            through their SPSC ring (dp_lcore's software steering, what a
 *            port without rte_flow gets: every development PMD here).
 * Phases alternate, direct first and last, in the same process; each
 * steered phase is compared with the direct ones either side of it. The
 * feeder's lcore does the same work in both phases plus, when steering,
 * poller 0's: steer_ns_per_frame is poller 0's time in dp_lcore_poll per
 * frame it steered (TSC). Whichever lcore saturates first sets both rates:
 * at 1 KiB it is poller 1 (decoding and the CRC), so the ratio is poller
 * 1's capacity when frames come through the ring (and are parsed a second
 * time) against from its own queue; steer_full counts frames poller 0
 * dropped because poller 1's ring was full, as a node would.
 *
 * Usage: steer-bench [--seconds S] [--rounds N] [--size N] [--check]
 * One line per message size:
 *   steer size=... direct_msgs_per_s=... steered_msgs_per_s=... ratio=...
 *   ratio_range=lo-hi steer_ns_per_frame=... steered_frames=... */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_mbuf.h>

#include "bench_phases.h"
#include "dp_frame.h"
#include "dp_lcore.h"
#include "dp_net.h"
#include "dp_port.h"
#include "dp_reasm.h"
#include "nr_ci.h"

#define CLUSTER_ID UINT64_C(0x6e6963726166740c)
#define UDP_PORT 7300u
#define GROUP 1u /* owned by poller 1 */
#define BURST 32u
#define ROUNDS_MAX 10u

/* Each poller's receiving side; every frame here is poller 1's. */
struct rx_side {
    struct dp_rx_filter filter;
    struct dp_stats stats;
    uint64_t n_msgs; /* written by its poller, read by the feeder (atomics) */
};

static struct rx_side g_rx[2];
static volatile bool g_stop;

static void on_msg(void *ctx, const struct dp_msg *m)
{
    (void)m;
    struct rx_side *rx = ctx;
    __atomic_store_n(&rx->n_msgs, rx->n_msgs + 1, __ATOMIC_RELAXED);
}

static void on_rx(void *ctx, struct dp_lcore *lc, const struct dp_net_rx *rx)
{
    (void)lc;
    struct rx_side *s = ctx;
    dp_rx_payload(&s->filter, NULL, rx->payload, rx->payload_len, 0, on_msg, s, &s->stats, NULL);
}

static uint16_t owner(void *ctx, const uint8_t *payload, uint32_t len)
{
    (void)ctx;
    uint32_t g = 0;
    return dp_frame_peek_group(payload, len, &g) ? (uint16_t)(g % 2) : 0;
}

static int poller1_main(void *arg)
{
    struct dp_lcore *lc = arg;
    while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED))
        dp_lcore_poll(lc);
    return 0;
}

/* One frame: Ethernet/IPv4/UDP to ourselves, a nicraft frame of group 1
 * with one message of size bytes. Returns its length. */
static uint32_t build_template(uint8_t *f, struct dp_net *net, uint32_t size)
{
    static uint8_t msg[DP_MTU_DEFAULT];
    struct dp_builder b;
    struct dp_frame_addr a = {.cluster_id = CLUSTER_ID, .sender_id = 7, .receiver_id = 1,
                              .group_id = GROUP};
    memset(msg, 0x5a, sizeof(msg));
    dp_builder_init(&b, &a, f + DP_NET_HDR_LEN, dp_net_payload_max(net));
    if (dp_builder_add(&b, 1, msg, size, NULL) != 0)
        return 0;
    return dp_net_encap(net, f, net->mac, net->ip_be, net->udp_port_be, dp_builder_finish(&b));
}

/* Feeds for s seconds on TX queue q (polling poller 0 between bursts when
 * it steers); returns poller 0's TSC cycles in dp_lcore_poll. */
static uint64_t feed(uint16_t port_id, struct dp_lcore *lc0, uint16_t q, const uint8_t *tmpl,
                     uint32_t len, double s)
{
    uint64_t poll_cycles = 0, end = rte_get_tsc_cycles() + (uint64_t)(s * rte_get_tsc_hz());
    while (rte_get_tsc_cycles() < end) {
        struct rte_mbuf *pkts[BURST];
        if (rte_pktmbuf_alloc_bulk(lc0->pool, pkts, BURST) == 0) {
            for (uint32_t i = 0; i < BURST; i++) {
                memcpy(rte_pktmbuf_mtod(pkts[i], uint8_t *), tmpl, len);
                pkts[i]->data_len = (uint16_t)len;
                pkts[i]->pkt_len = len;
            }
            uint16_t k = rte_eth_tx_burst(port_id, q, pkts, BURST);
            if (k < BURST)
                rte_pktmbuf_free_bulk(pkts + k, BURST - k);
        }
        if (q == 0) {
            uint64_t t0 = rte_get_tsc_cycles();
            dp_lcore_poll(lc0);
            poll_cycles += rte_get_tsc_cycles() - t0;
        }
    }
    return poll_cycles;
}

static uint64_t msgs_total(void)
{
    return __atomic_load_n(&g_rx[0].n_msgs, __ATOMIC_RELAXED) +
           __atomic_load_n(&g_rx[1].n_msgs, __ATOMIC_RELAXED);
}

/* Direct and steered phases for one size; prints the line; false when a
 * phase delivered nothing. */
static bool bench_size(struct dp_port *port, struct dp_lcore *lcs, uint32_t size, double s,
                       uint32_t rounds)
{
    static uint8_t tmpl[DP_MTU_DEFAULT + 64];
    double direct[ROUNDS_MAX + 1], steered[ROUNDS_MAX];
    uint64_t steer_cycles = 0, steered_frames = 0, full0 = lcs[0].n_steer_full;
    uint32_t len = build_template(tmpl, &lcs[0].net, size);
    if (len == 0)
        return false;
    for (uint32_t p = 0; p <= 2 * rounds; p++) {
        bool is_steered = p % 2 == 1;
        uint64_t out0 = lcs[0].n_steered_out;
        uint64_t n0 = msgs_total();
        uint64_t t0 = rte_get_tsc_cycles();
        uint64_t cycles = feed(port->port_id, &lcs[0], is_steered ? 0 : 1, tmpl, len, s);
        for (int i = 0; i < 100; i++) { /* drain: poller 0's queue, then poller 1's */
            if (is_steered) {
                uint64_t c0 = rte_get_tsc_cycles();
                dp_lcore_poll(&lcs[0]);
                cycles += rte_get_tsc_cycles() - c0;
            }
            rte_delay_us_block(20);
        }
        double dt = (double)(rte_get_tsc_cycles() - t0) / (double)rte_get_tsc_hz();
        double rate = (double)(msgs_total() - n0) / dt;
        if (is_steered) {
            steered[p / 2] = rate;
            steer_cycles += cycles;
            steered_frames += lcs[0].n_steered_out - out0;
        } else {
            direct[p / 2] = rate;
        }
    }
    struct bench_phase_ratio r = bench_phase_ratio(steered, (int)rounds, direct, (int)rounds + 1);
    if (r.n == 0 || steered_frames == 0)
        return false;
    printf("steer size=%u direct_msgs_per_s=%.0f steered_msgs_per_s=%.0f ratio=%.2f "
           "ratio_range=%.2f-%.2f steer_ns_per_frame=%.1f steered_frames=%" PRIu64
           " steer_full=%" PRIu64 "\n",
           size, bench_median(direct, (int)rounds + 1), bench_median(steered, (int)rounds),
           r.median, r.lo, r.hi,
           (double)steer_cycles * 1e9 / (double)rte_get_tsc_hz() / (double)steered_frames,
           steered_frames, lcs[0].n_steer_full - full0);
    fflush(stdout);
    return true;
}

int main(int argc, char **argv)
{
    double seconds = 0.5;
    uint32_t rounds = 3, sizes[2] = {64, 1024}, n_sizes = 2;
    bool is_check = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            sizes[0] = (uint32_t)strtoul(argv[++i], NULL, 10), n_sizes = 1;
        else if (strcmp(argv[i], "--check") == 0)
            is_check = true;
        else {
            fprintf(stderr, "usage: steer-bench [--seconds S] [--rounds N] [--size N] "
                            "[--check]\n");
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 60 || rounds < 1 || rounds > ROUNDS_MAX || sizes[0] < 8 ||
        sizes[0] > 1400) {
        fprintf(stderr, "steer-bench: --seconds in (0, 60], --rounds 1..%u, --size 8..1400\n",
                ROUNDS_MAX);
        return 2;
    }
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "nrsteer%d", (int)getpid());
    struct dp_port_conf pc = {.file_prefix = prefix, .lcores = "0-1", .vdev = "net_ring0",
                              .no_huge = true, .no_pci = true, .no_shconf = true,
                              .mem_mb = 256, .n_pollers = 2, .n_mbufs = 8191};
    struct nr_err err = {0};
    struct dp_port port;
    struct dp_net net;
    struct dp_lcore lcs[2];
    uint32_t ip = htonl(0xc6120005u); /* 198.18.0.5 */
    if (dp_port_eal_init(&pc, &err) != 0) {
        bool is_skip = is_check && geteuid() != 0 && !nr_ci_is_set();
        printf("steer-bench: %s%s\n", is_skip ? "skipped: " : "", err.msg);
        return is_skip ? 77 : 1; /* CONVENTIONS section 7 */
    }
    if (dp_port_open(&port, &pc, &err) != 0 ||
        dp_net_init(&net, port.mac, ip, htons(UDP_PORT), DP_MTU_DEFAULT, &err) != 0) {
        fprintf(stderr, "steer-bench: %s\n", err.msg);
        return 1;
    }
    /* The port has no rte_flow: steering is software (checked, not assumed). */
    if (dp_port_steer_group(&port, GROUP, 32, 1, &err) != NR_EREFUSED ||
        port.steer != DP_PORT_STEER_SOFT) {
        fprintf(stderr, "steer-bench: expected software steering on net_ring, got %s\n",
                dp_port_steer_name(port.steer));
        return 1;
    }
    for (uint16_t i = 0; i < 2; i++) {
        g_rx[i].filter = (struct dp_rx_filter){.cluster_id = CLUSTER_ID, .self_id = 1};
        struct dp_lcore_conf lconf = {.index = i, .idle_wait_fd = -1, .on_rx = on_rx,
                                      .owner = owner, .ctx = &g_rx[i]};
        dp_idle_conf_default(&lconf.idle, DP_IDLE_BUSY);
        if (dp_lcore_init(&lcs[i], &port, &net, &lconf, &g_stop, &err) != 0) {
            fprintf(stderr, "steer-bench: %s\n", err.msg);
            return 1;
        }
    }
    if (dp_lcore_link(lcs, 2, &err) != 0) {
        fprintf(stderr, "steer-bench: %s\n", err.msg);
        return 1;
    }
    if (rte_eal_remote_launch(poller1_main, &lcs[1], port.poller_lcore[1]) != 0) {
        fprintf(stderr, "steer-bench: cannot launch poller 1 on lcore %u\n",
                port.poller_lcore[1]);
        return 1;
    }
    int n_bad = 0;
    for (uint32_t s = 0; s < n_sizes; s++)
        if (!bench_size(&port, lcs, sizes[s], seconds, rounds)) {
            printf("steer size=%u not measurable: a phase delivered nothing (decode drops "
                   "%" PRIu64 ")\n",
                   sizes[s], g_rx[1].stats.drops[DP_DROP_BAD_CHECKSUM]);
            n_bad++;
        }
    printf("# steered = frames of poller 1's group arriving on poller 0's queue and handed "
           "over through the SPSC ring; direct = the same frames on poller 1's own queue; "
           "%u steered phases of %.2f s between %u direct ones, ratio = median\n",
           rounds, seconds, rounds + 1);
    __atomic_store_n(&g_stop, true, __ATOMIC_RELAXED);
    rte_eal_mp_wait_lcore();
    for (uint16_t i = 0; i < 2; i++)
        dp_lcore_fini(&lcs[i]);
    dp_port_close(&port);
    if (dp_eal_fini(&err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return is_check && n_bad > 0 ? 1 : 0;
}
