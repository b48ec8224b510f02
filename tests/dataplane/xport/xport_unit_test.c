/* xport_unit_test.c - the parts of dp_xport and dp_net's local ports that
 * need no second process: splitting --dpdk-args into argv, configuration
 * refusals, dp_net accepting two local ports and saying which one a payload
 * came to, the source endpoint in delivered messages (dp_rx_payload_from),
 * and rte_eal_init refusing a bad argument with its complaint in our
 * sentence (then a second DPDK transport refused). No root, no NIC.
 * Prints `N passed, M failed` last. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dp_frame.h"
#include "dp_net.h"
#include "dp_reasm.h"
#include "dp_xport.h"
#include "unit_check.h"

#define CHECK(cond) UNIT_CHECK((cond), "%s", #cond)

static void test_eal_split(void)
{
    char store[2048];
    char *argv[48];
    int argc = 0;
    struct nr_err err = {0};

    CHECK(dp_xport_eal_split("--no-huge  --no-pci --vdev=net_af_packet0,iface=nrv1 ", "0",
                             "px1", store, sizeof(store), argv, 48, &argc, &err) == 0);
    CHECK(argc == 6);
    CHECK(strcmp(argv[0], "nicraftd") == 0);
    CHECK(strcmp(argv[1], "-l0") == 0);
    CHECK(strcmp(argv[2], "--file-prefix=px1") == 0);
    CHECK(strcmp(argv[3], "--no-huge") == 0);
    CHECK(strcmp(argv[5], "--vdev=net_af_packet0,iface=nrv1") == 0);
    CHECK(argv[argc] == NULL);
    CHECK(dp_xport_eal_split(NULL, NULL, NULL, store, sizeof(store), argv, 48, &argc, &err) == 0);
    CHECK(argc == 1);
    CHECK(dp_xport_eal_split("--no-huge -l 0", "1", NULL, store, sizeof(store), argv, 48, &argc,
                             &err) == NR_EINVAL);
    UNIT_CHECK(strstr(err.msg, "lcores") != NULL, "lcores twice: %s", err.msg);
    CHECK(dp_xport_eal_split("--file-prefix=a", NULL, "b", store, sizeof(store), argv, 48, &argc,
                             &err) == NR_EINVAL);
    UNIT_CHECK(strstr(err.msg, "prefix") != NULL, "prefix twice: %s", err.msg);
    CHECK(dp_xport_eal_split("--vdev=\"x\"", NULL, NULL, store, sizeof(store), argv, 48, &argc,
                             &err) == NR_EINVAL);
    UNIT_CHECK(strstr(err.msg, "quoting") != NULL, "quotes: %s", err.msg);
    char many[DP_XPORT_EAL_ARGS_LEN_MAX];
    many[0] = '\0';
    for (int i = 0; i < 40; i++)
        strcat(many, "-v ");
    CHECK(dp_xport_eal_split(many, NULL, NULL, store, sizeof(store), argv, 48, &argc, &err) ==
          NR_EINVAL);
    UNIT_CHECK(strstr(err.msg, "words") != NULL, "too many words: %s", err.msg);
    CHECK(dp_xport_eal_split("-v -v", NULL, NULL, store, 12, argv, 48, &argc, &err) ==
          NR_EINVAL);
}

static void test_config_refusals(void)
{
    struct dp_xport_config c = {.kind = DP_XPORT_DPDK, .n_local = 2, .cluster_id = 1,
                                .self_id = 2,
                                .local = {{0xc6120001u, 2380}, {0xc6120002u, 2379}},
                                .reasm = {.n_slots = 2, .msg_len_max = 4096,
                                          .timeout_ns = 1000000}};
    struct dp_xport *x = NULL;
    struct nr_err err = {0};
    CHECK(dp_xport_create(&c, &x, &err) == NR_EINVAL);
    UNIT_CHECK(strstr(err.msg, "one address") != NULL, "two addresses: %s", err.msg);
    c.n_local = 3;
    CHECK(dp_xport_create(&c, &x, &err) == NR_EINVAL);
    c.n_local = 1;
    c.mtu = 100;
    CHECK(dp_xport_create(&c, &x, &err) == NR_EINVAL);
    UNIT_CHECK(strstr(err.msg, "mtu 100") != NULL, "mtu: %s", err.msg);
    c.mtu = 0;
    c.kind = DP_XPORT_UDP;
    c.cluster_id = 0;
    c.local[0] = (struct dp_endpoint){0x7f000001u, 0};
    CHECK(dp_xport_create(&c, &x, &err) == NR_EINVAL);
    c.cluster_id = 1;
    /* Over UDP: the two sockets, send to a local index we do not have. */
    c.n_local = 2;
    c.local[1] = (struct dp_endpoint){0x7f000001u, 0};
    dp_idle_conf_default(&c.idle, DP_IDLE_ADAPTIVE);
    CHECK(dp_xport_create(&c, &x, &err) == 0);
    if (x == NULL)
        return;
    struct dp_endpoint l0 = dp_xport_local(x, 0), l1 = dp_xport_local(x, 1);
    CHECK(l0.port != 0 && l1.port != 0 && l0.port != l1.port);
    CHECK(dp_xport_send(x, 2, &l0, 3, 1, 1, "x", 1, &err) == NR_EINVAL);
    CHECK(dp_xport_send(x, 0, &l0, 3, 1, 1, "x", 5000, &err) == NR_EINVAL);
    CHECK(dp_xport_has_wake_fd(x));
    /* An idle wait blocks on the sockets and comes back after the timeout. */
    for (int i = 0; i < 3000; i++)
        CHECK(dp_xport_wait(x, 200, &err) == 0);
    struct dp_xport_stats s;
    dp_xport_stats(x, &s);
    UNIT_CHECK(s.waits == 3000 && s.wait_yields > 0 && s.wait_blocks > 0 && s.wait_wakeups == 0,
               "waits %lu yields %lu blocks %lu wakeups %lu", (unsigned long)s.waits,
               (unsigned long)s.wait_yields, (unsigned long)s.wait_blocks,
               (unsigned long)s.wait_wakeups);
    dp_xport_destroy(x);
}

static void test_net_ports(void)
{
    static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
    static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
    struct dp_net a, b;
    struct nr_err err = {0};
    uint16_t idx = 99;
    uint8_t frame[128];
    struct dp_net_rx rx;

    CHECK(dp_net_init(&a, mac_a, htonl(0xc6120001u), htons(2380), 1500, NULL) == 0);
    CHECK(dp_net_init(&b, mac_b, htonl(0xc6120002u), htons(2380), 1500, NULL) == 0);
    CHECK(dp_net_add_port(&a, htons(2379), &idx, &err) == 0 && idx == 1);
    CHECK(dp_net_add_port(&a, htons(2379), &idx, &err) == NR_EINVAL);
    UNIT_CHECK(strstr(err.msg, "2379") != NULL, "duplicate port: %s", err.msg);
    CHECK(dp_net_add_port(&a, 0, &idx, &err) == NR_EINVAL);
    CHECK(dp_net_add_port(&a, htons(1), &idx, &err) == 0 && idx == 2);
    CHECK(dp_net_add_port(&a, htons(2), &idx, &err) == 0 && idx == 3);
    CHECK(dp_net_add_port(&a, htons(3), &idx, &err) == NR_EBUSY);
    const uint16_t dst[3] = {2380, 2379, 4000};
    for (int i = 0; i < 3; i++) {
        memset(frame + DP_NET_HDR_LEN, 0x5a, 16);
        b.udp_port_be = htons((uint16_t)(5000 + i)); /* the source port of this frame */
        uint32_t len = dp_net_encap(&b, frame, mac_a, a.ip_be, htons(dst[i]), 16);
        memset(&rx, 0, sizeof(rx));
        enum dp_net_verdict v = dp_net_rx(&a, frame, len, &rx);
        if (i < 2) {
            CHECK(v == DP_NET_PAYLOAD);
            CHECK(rx.local_idx == i);
            CHECK(ntohs(rx.src_port_be) == 5000 + i);
            CHECK(rx.src_ip_be == b.ip_be);
        } else {
            CHECK(v == DP_NET_DROP);
            CHECK(a.drops[DP_NET_DROP_UDP_PORT] == 1);
        }
    }
}

struct seen {
    struct dp_msg m[4];
    int n;
};

static void collect(void *ctx, const struct dp_msg *m)
{
    struct seen *s = ctx;
    if (s->n < 4)
        s->m[s->n] = *m;
    s->n++;
}

static void test_rx_src(void)
{
    uint8_t buf[256];
    struct dp_builder b;
    struct dp_frame_addr a = {7, 1, 2, 9};
    struct dp_rx_filter f = {7, 2};
    struct dp_stats stats = {0};
    struct seen s = {0};
    struct dp_rx_src src = {0xc6120003u, 40000, 1};

    dp_builder_init(&b, &a, buf, sizeof(buf));
    CHECK(dp_builder_add(&b, 5, "abc", 3, NULL) == 0);
    CHECK(dp_builder_add(&b, 6, "de", 2, NULL) == 0);
    uint32_t len = dp_builder_finish(&b);
    CHECK(dp_rx_payload_from(&f, NULL, &src, buf, len, 0, collect, &s, &stats, NULL) == 2);
    CHECK(s.n == 2);
    for (int i = 0; i < 2; i++)
        CHECK(s.m[i].src_ipv4 == 0xc6120003u && s.m[i].src_port == 40000 &&
              s.m[i].local_idx == 1 && s.m[i].sender_id == 1);
    s.n = 0;
    CHECK(dp_rx_payload(&f, NULL, buf, len, 0, collect, &s, &stats, NULL) == 2);
    CHECK(s.m[0].src_ipv4 == 0 && s.m[0].src_port == 0 && s.m[0].local_idx == 0);
}

/* Last: the EAL is set up (and refused) once per process. */
static void test_eal_refusal(void)
{
    struct dp_xport_config c = {.kind = DP_XPORT_DPDK, .n_local = 1, .cluster_id = 1,
                                .self_id = 2, .local = {{0xc6120001u, 2380}},
                                .reasm = {.n_slots = 2, .msg_len_max = 4096,
                                          .timeout_ns = 1000000},
                                .eal_args = "--no-huge --no-pci --no-shconf --bogus-flag",
                                .lcores = "0", .file_prefix = "nrxunit"};
    struct dp_xport *x = NULL;
    struct nr_err err = {0};
    CHECK(dp_xport_create(&c, &x, &err) == NR_EINVAL);
    UNIT_CHECK(strstr(err.msg, "bogus-flag") != NULL && strstr(err.msg, "rte_eal_init") != NULL,
               "the EAL's complaint: %s", err.msg);
    printf("eal refusal: %s\n", err.msg);
    c.eal_args = "--no-huge --no-pci --no-shconf";
    CHECK(dp_xport_create(&c, &x, &err) == NR_EBUSY);
    UNIT_CHECK(strstr(err.msg, "once") != NULL || strstr(err.msg, "per process") != NULL,
               "a second EAL: %s", err.msg);
}

int main(void)
{
    test_eal_split();
    test_config_refusals();
    test_net_ports();
    test_rx_src();
    test_eal_refusal();
    return unit_finish();
}
