/* dp_runtime_test.c - the DPDK runtime in one process: EAL arguments, idle
 * policies, and two pollers on a net_ring port (TX queue i loops back to RX
 * queue i) with software steering: frames of a group owned by poller 1 that
 * arrive on poller 0's queue reach poller 1 through the SPSC ring; a frame
 * marked slow-path reaches the control ring; control messages reach their
 * poller; the control thread's TX queue transmits. Needs no root or NIC
 * (--no-huge, --no-pci). Prints `N passed, M failed` last. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_idle.h"
#include "dp_lcore.h"
#include "dp_net.h"
#include "dp_port.h"
#include "nr_ci.h"
#include "unit_check.h"

/* A counted check that names the condition (unit_check.h). */
#define CHECK(cond) UNIT_CHECK((cond), "%s", #cond)

static void test_eal_argv(void)
{
    char store[512];
    char *argv[DP_PORT_EAL_ARGS_MAX];
    int argc = 0;
    struct nr_err err = {0};
    struct dp_port_conf c = {.file_prefix = "p1", .lcores = "0-1", .no_huge = true,
                             .no_pci = true, .no_shconf = true,
                             .vdev = "net_af_packet0,iface=nrc-h1v"};
    CHECK(dp_port_eal_argv(&c, store, sizeof(store), argv, DP_PORT_EAL_ARGS_MAX, &argc, &err) == 0);
    CHECK(argc == 9);
    CHECK(strcmp(argv[1], "-l0-1") == 0);
    CHECK(strcmp(argv[2], "--file-prefix=p1") == 0);
    CHECK(strcmp(argv[4], "--no-huge") == 0);
    CHECK(strcmp(argv[5], "-m256") == 0);
    CHECK(strcmp(argv[8], "--vdev=net_af_packet0,iface=nrc-h1v") == 0);
    CHECK(argv[argc] == NULL);
    c.file_prefix = NULL;
    CHECK(dp_port_eal_argv(&c, store, sizeof(store), argv, DP_PORT_EAL_ARGS_MAX, &argc, &err) ==
          NR_EINVAL);
    CHECK(strstr(err.msg, "prefix") != NULL);
    c.file_prefix = "p1";
    CHECK(dp_port_eal_argv(&c, store, 40, argv, DP_PORT_EAL_ARGS_MAX, &argc, &err) == NR_EINVAL);
    CHECK(dp_port_eal_argv(&c, store, sizeof(store), argv, 4, &argc, &err) == NR_EINVAL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_idle(void)
{
    struct dp_idle idle;
    struct dp_idle_conf c;
    enum dp_idle_policy p;
    struct nr_err err = {0};
    CHECK(dp_idle_policy_parse("busy", &p, &err) == 0 && p == DP_IDLE_BUSY);
    CHECK(dp_idle_policy_parse("adaptive", &p, &err) == 0 && p == DP_IDLE_ADAPTIVE);
    CHECK(dp_idle_policy_parse("lazy", &p, &err) == NR_EINVAL);
    CHECK(strstr(err.msg, "lazy") != NULL);
    dp_idle_conf_default(&c, DP_IDLE_BUSY);
    CHECK(dp_idle_init(&idle, &c, -1, &err) == 0);
    for (int i = 0; i < 10000; i++)
        dp_idle_after_poll(&idle, 0);
    CHECK(idle.n_yields == 0 && idle.n_blocks == 0);
    dp_idle_conf_default(&c, DP_IDLE_ADAPTIVE);
    c.spin_polls = 10, c.yield_polls = 5, c.sleep_us_min = 10, c.sleep_us_max = 40;
    CHECK(dp_idle_init(&idle, &c, -1, &err) == 0);
    for (int i = 0; i < 10; i++)
        dp_idle_after_poll(&idle, 0);
    CHECK(idle.n_yields == 0 && idle.n_blocks == 0);
    for (int i = 0; i < 5; i++)
        dp_idle_after_poll(&idle, 0);
    CHECK(idle.n_yields == 5 && idle.n_blocks == 0);
    double t0 = now_s();
    for (int i = 0; i < 4; i++)
        dp_idle_after_poll(&idle, 0);
    CHECK(idle.n_blocks == 4);
    CHECK(idle.blocked_us == 10 + 20 + 40 + 40); /* doubling, capped */
    CHECK(now_s() - t0 >= 110e-6);
    dp_idle_after_poll(&idle, 3); /* work resets to spinning */
    CHECK(idle.n_empty == 0 && idle.sleep_us == 10);
    c.sleep_us_min = 0;
    CHECK(dp_idle_init(&idle, &c, -1, &err) == NR_EINVAL);
    c.sleep_us_min = 50, c.sleep_us_max = 20;
    CHECK(dp_idle_init(&idle, &c, -1, &err) == NR_EINVAL);
}

/* ---- two pollers on net_ring ---- */

struct ctx {
    uint32_t n_rx[2];
    uint32_t n_ctl[2];
    uint32_t last_group[2];
};

static struct ctx g_ctx;

static uint32_t group_of(const uint8_t *p, uint32_t len)
{
    uint32_t g = 0;
    if (len >= 4)
        memcpy(&g, p, 4);
    return g;
}

static void on_rx(void *ctx, struct dp_lcore *lc, const struct dp_net_rx *rx)
{
    struct ctx *c = ctx;
    c->n_rx[lc->index]++;
    c->last_group[lc->index] = group_of(rx->payload, rx->payload_len);
}

static uint16_t owner(void *ctx, const uint8_t *p, uint32_t len)
{
    uint32_t g = group_of(p, len);
    return g == 99 ? (uint16_t)DP_LCORE_TO_CTL : (uint16_t)(g % 2);
}

static void on_ctl(void *ctx, struct dp_lcore *lc, const struct dp_ctl_msg *m)
{
    struct ctx *c = ctx;
    if (m->group_id == lc->index)
        c->n_ctl[lc->index]++;
}

static void test_pollers(void)
{
    struct dp_port_conf pc = {.file_prefix = "nrt-rt", .lcores = "0-1", .vdev = "net_ring0",
                              .no_huge = true, .no_pci = true, .no_shconf = true,
                              .mem_mb = 128, .n_pollers = 2, .n_mbufs = 2047};
    struct nr_err err = {0};
    struct dp_port port;
    struct dp_net net;
    struct dp_lcore lcs[2];
    volatile bool stop = false;
    uint32_t ip = htonl(0xc6120005u); /* 198.18.0.5 */

    if (dp_port_eal_init(&pc, &err) != 0) {
        if (geteuid() != 0 && !nr_ci_is_set()) {
            printf("skipped: EAL needs root here (%s)\n", err.msg);
            exit(77);
        }
        UNIT_CHECK(false, "EAL init: %s", err.msg);
        return;
    }
    int rc = dp_port_open(&port, &pc, &err);
    CHECK(rc == 0);
    if (rc != 0) {
        printf("  %s\n", err.msg);
        return;
    }
    CHECK(port.n_rxq == 2);
    CHECK(port.ctl_txq == 2); /* net_ring has a spare TX queue for the control thread */
    CHECK(dp_port_steer_group(&port, 1, 32, 1, &err) == NR_EREFUSED); /* no rte_flow */
    CHECK(port.steer == DP_PORT_STEER_SOFT);
    CHECK(strcmp(dp_port_steer_name(port.steer), "software") == 0);
    CHECK(dp_net_init(&net, port.mac, ip, htons(7100), 1500, &err) == 0);
    CHECK(dp_net_neigh_set(&net, ip, port.mac, true, &err) == 0); /* loop back to ourselves */
    for (uint16_t i = 0; i < 2; i++) {
        struct dp_lcore_conf lconf = {.index = i, .idle_wait_fd = -1, .on_rx = on_rx,
                                      .owner = owner, .on_ctl = on_ctl, .ctx = &g_ctx};
        dp_idle_conf_default(&lconf.idle, DP_IDLE_BUSY);
        CHECK(dp_lcore_init(&lcs[i], &port, &net, &lconf, &stop, &err) == 0);
    }
    CHECK(dp_lcore_link(lcs, 2, &err) == 0);

    /* Poller 0 sends 10 frames for group 1 (poller 1's) and 5 for group 2 (its own). */
    for (uint32_t i = 0; i < 15; i++) {
        uint32_t g = i < 10 ? 1 : 2;
        uint8_t payload[32] = {0};
        memcpy(payload, &g, 4);
        CHECK(dp_lcore_send(&lcs[0], ip, htons(7100), payload, sizeof(payload)) == 0);
    }
    dp_lcore_flush(&lcs[0]);
    for (int round = 0; round < 10; round++) {
        dp_lcore_poll(&lcs[0]);
        dp_lcore_poll(&lcs[1]);
    }
    CHECK(g_ctx.n_rx[0] == 5);
    CHECK(g_ctx.n_rx[1] == 10);
    CHECK(g_ctx.last_group[1] == 1);
    CHECK(lcs[0].n_steered_out == 10);
    CHECK(lcs[1].n_steered_out == 0);

    /* A slow-path frame goes to the control ring. */
    uint8_t slow[16] = {99};
    CHECK(dp_lcore_send(&lcs[1], ip, htons(7100), slow, sizeof(slow)) == 0);
    dp_lcore_flush(&lcs[1]);
    for (int round = 0; round < 5; round++)
        dp_lcore_poll(&lcs[1]);
    CHECK(lcs[1].n_to_ctl == 1);
    void *m = NULL;
    CHECK(rte_ring_dequeue(lcs[1].to_ctl, &m) == 0);
    if (m != NULL)
        rte_pktmbuf_free(m);

    /* Control messages reach their poller. */
    struct dp_ctl_msg cm = {.kind = 1, .group_id = 1};
    CHECK(dp_lcore_ctl_post(&lcs[1], &cm) == 0);
    CHECK(dp_lcore_ctl_post(&lcs[1], &cm) == 0);
    dp_lcore_poll(&lcs[1]);
    CHECK(g_ctx.n_ctl[1] == 2 && lcs[1].n_ctl_msgs == 2);

    /* An unknown neighbour: no frame, an ARP request instead, counted. */
    CHECK(dp_lcore_send(&lcs[0], htonl(0xc6120009u), htons(7100), slow, 8) == NR_EBUSY);
    CHECK(lcs[0].n_no_neigh == 1);
    dp_lcore_flush(&lcs[0]);

    /* The poll loop stops when told to, and then flushes. */
    stop = true;
    CHECK(dp_lcore_run(&lcs[0]) == 0);

    for (uint16_t i = 0; i < 2; i++)
        dp_lcore_fini(&lcs[i]);
    dp_port_close(&port);
    CHECK(dp_eal_fini(&err) == 0);
}

int main(void)
{
    test_eal_argv();
    test_idle();
    test_pollers();
    return unit_finish();
}
