/* dp_net_test.c - Ethernet/IPv4/UDP encapsulation, ARP and ICMP answers,
 * the neighbour table and every drop reason of dp_net.c. Pure: no DPDK
 * runtime, no root. Prints `N passed, M failed` last. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dp_net.h"
#include "unit_check.h"

/* A counted check that names the condition (unit_check.h). */
#define CHECK(cond) UNIT_CHECK((cond), "%s", #cond)

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};

static uint32_t ip4(const char *s)
{
    struct in_addr a;
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

static void init_pair(struct dp_net *a, struct dp_net *b)
{
    CHECK(dp_net_init(a, mac_a, ip4("198.18.0.1"), htons(7100), 1500, NULL) == 0);
    CHECK(dp_net_init(b, mac_b, ip4("198.18.0.2"), htons(7100), 1500, NULL) == 0);
}

static void test_csum(void)
{
    /* RFC 1071 example header (from Wikipedia's IPv4 checksum worked example). */
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    CHECK(dp_net_csum(h, 20) == 0);
    h[10] = h[11] = 0;
    uint16_t c = dp_net_csum(h, 20);
    CHECK(memcmp(&c, (uint8_t[]){0xb8, 0x61}, 2) == 0);
    uint8_t odd[3] = {0x01, 0x02, 0x03};
    uint16_t o = dp_net_csum(odd, 3); /* ~(0x0102 + 0x0300) = ~0x0402 = 0xfbfd */
    CHECK(memcmp(&o, (uint8_t[]){0xfb, 0xfd}, 2) == 0);
}

static void test_encap_roundtrip(void)
{
    struct dp_net a, b;
    struct dp_net_rx rx;
    uint8_t f[1600];
    init_pair(&a, &b);
    CHECK(dp_net_payload_max(&a) == 1472);
    for (uint32_t len = 0; len <= 1472; len += 368) {
        for (uint32_t i = 0; i < len; i++)
            f[DP_NET_HDR_LEN + i] = (uint8_t)(i * 7);
        uint32_t flen = dp_net_encap(&a, f, mac_b, b.ip_be, htons(7100), len);
        CHECK(flen == (len + DP_NET_HDR_LEN < 60 ? 60 : len + DP_NET_HDR_LEN));
        CHECK(dp_net_rx(&b, f, flen, &rx) == DP_NET_PAYLOAD);
        CHECK(rx.payload_len == len);
        CHECK(rx.src_ip_be == a.ip_be);
        CHECK(rx.src_port_be == htons(7100));
        CHECK(memcmp(rx.src_mac, mac_a, 6) == 0);
        CHECK(len == 0 || rx.payload[len - 1] == (uint8_t)((len - 1) * 7));
    }
    CHECK(b.n_payloads == 5);
}

static void test_arp(void)
{
    struct dp_net a, b;
    struct dp_net_rx rx;
    uint8_t f[64];
    init_pair(&a, &b);
    CHECK(dp_net_neigh_lookup(&a, b.ip_be) == NULL);
    uint32_t len = dp_net_arp_request(&a, f, b.ip_be);
    CHECK(len == 60);
    CHECK(dp_net_rx(&b, f, len, &rx) == DP_NET_REPLY); /* rewritten in place */
    CHECK(b.n_arp_replied == 1);
    CHECK(dp_net_neigh_lookup(&b, a.ip_be) != NULL); /* learned from the request */
    CHECK(memcmp(f, mac_a, 6) == 0);
    CHECK(dp_net_rx(&a, f, len, &rx) == DP_NET_DONE);
    const uint8_t *m = dp_net_neigh_lookup(&a, b.ip_be);
    CHECK(m != NULL && memcmp(m, mac_b, 6) == 0);
    /* A request for another address is not answered. */
    len = dp_net_arp_request(&a, f, ip4("198.18.0.9"));
    CHECK(dp_net_rx(&b, f, len, &rx) == DP_NET_DROP);
    CHECK(b.drops[DP_NET_DROP_ARP_NOT_MINE] == 1);
    /* Bad hardware length. */
    len = dp_net_arp_request(&a, f, b.ip_be);
    f[14 + 4] = 8;
    CHECK(dp_net_rx(&b, f, len, &rx) == DP_NET_DROP);
    CHECK(b.drops[DP_NET_DROP_ARP] == 1);
    CHECK(dp_net_rx(&b, f, 30, &rx) == DP_NET_DROP);
    CHECK(b.drops[DP_NET_DROP_SHORT] == 1);
}

static void test_neigh_table(void)
{
    struct dp_net a, b;
    uint8_t mac[6] = {0x02, 1, 2, 3, 4, 5};
    init_pair(&a, &b);
    CHECK(dp_net_neigh_set(&a, ip4("198.18.1.1"), mac, true, NULL) == 0);
    mac[5] = 9;
    CHECK(dp_net_neigh_set(&a, ip4("198.18.1.1"), mac, false, NULL) == 0);
    CHECK(dp_net_neigh_lookup(&a, ip4("198.18.1.1"))[5] == 5); /* static wins */
    for (uint32_t i = 0; i < DP_NET_NEIGH_MAX + 10; i++)
        CHECK(dp_net_neigh_set(&a, htonl(0xc6130000u + 100 + i), mac, false, NULL) == 0);
    CHECK(a.n_neigh == DP_NET_NEIGH_MAX);
    CHECK(a.n_neigh_evicted == 11);
    CHECK(dp_net_neigh_lookup(&a, ip4("198.18.1.1")) != NULL); /* static never evicted */
    CHECK(dp_net_neigh_lookup(&a, htonl(0xc6130000u + 100)) == NULL); /* oldest went */
    struct dp_net c;
    CHECK(dp_net_init(&c, mac_a, ip4("198.18.0.3"), htons(1), 1500, NULL) == 0);
    for (uint32_t i = 0; i < DP_NET_NEIGH_MAX; i++)
        CHECK(dp_net_neigh_set(&c, htonl(0xc6120000u + i + 1), mac, true, NULL) == 0);
    struct nr_err err = {0};
    CHECK(dp_net_neigh_set(&c, ip4("198.18.2.2"), mac, false, &err) == NR_EBUSY);
    CHECK(strstr(err.msg, "static") != NULL);
    CHECK(dp_net_init(&c, mac_a, ip4("198.18.0.3"), htons(1), 100, &err) == NR_EINVAL);
    CHECK(dp_net_init(&c, mac_a, 0, htons(1), 1500, &err) == NR_EINVAL);
}

/* A hand-made ICMP echo request from b to a. */
static uint32_t make_ping(struct dp_net *b, const struct dp_net *a, uint8_t *f)
{
    uint32_t len = dp_net_encap(b, f, mac_a, a->ip_be, 0, 40);
    uint8_t *ip = f + 14, *icmp = ip + 20;
    ip[9] = 1;
    ip[2] = 0, ip[3] = 20 + 40;
    memset(ip + 10, 0, 2);
    uint16_t c = dp_net_csum(ip, 20);
    memcpy(ip + 10, &c, 2);
    memset(icmp, 0, 40);
    icmp[0] = 8;
    icmp[4] = 0x12, icmp[5] = 0x34, icmp[7] = 1;
    for (int i = 8; i < 40; i++)
        icmp[i] = (uint8_t)i;
    c = dp_net_csum(icmp, 40);
    memcpy(icmp + 2, &c, 2);
    return len;
}

static void test_icmp(void)
{
    struct dp_net a, b;
    struct dp_net_rx rx;
    uint8_t f[128];
    init_pair(&a, &b);
    uint32_t len = make_ping(&b, &a, f);
    CHECK(dp_net_rx(&a, f, len, &rx) == DP_NET_REPLY);
    CHECK(a.n_icmp_replied == 1);
    CHECK(f[34] == 0);                            /* echo reply */
    CHECK(dp_net_csum(f + 34, 40) == 0);          /* ICMP checksum valid */
    CHECK(dp_net_csum(f + 14, 20) == 0);          /* IP checksum valid */
    CHECK(memcmp(f, mac_b, 6) == 0 && memcmp(f + 6, mac_a, 6) == 0);
    CHECK(memcmp(f + 14 + 16, &b.ip_be, 4) == 0);
    CHECK(f[34 + 4] == 0x12 && f[34 + 7] == 1);   /* id and sequence kept */
    /* The reply is not answered again (type 0 is dropped as "icmp"). */
    memcpy(f, mac_a, 6);
    memcpy(f + 14 + 16, &a.ip_be, 4);
    memset(f + 24, 0, 2);
    uint16_t c = dp_net_csum(f + 14, 20);
    memcpy(f + 24, &c, 2);
    CHECK(dp_net_rx(&a, f, len, &rx) == DP_NET_DROP);
    CHECK(a.drops[DP_NET_DROP_ICMP] == 1);
    len = make_ping(&b, &a, f);
    f[34 + 20] ^= 1; /* bad ICMP checksum */
    CHECK(dp_net_rx(&a, f, len, &rx) == DP_NET_DROP);
    CHECK(a.drops[DP_NET_DROP_ICMP] == 2);
}

/* Every IPv4/UDP drop reason, one mutation each. */
static void test_drops(void)
{
    struct dp_net a, b;
    struct dp_net_rx rx;
    uint8_t f[256], g[256];
    init_pair(&a, &b);
    uint32_t len = dp_net_encap(&a, f, mac_b, b.ip_be, htons(7100), 100);
    struct {
        int off;          /* byte to change, -1 for none */
        uint8_t val;
        uint32_t len;     /* 0: keep */
        bool fix_csum;
        enum dp_net_drop want;
    } cases[] = {
        {-1, 0, 10, false, DP_NET_DROP_SHORT},
        {0, 0x04, 0, false, DP_NET_DROP_DST_MAC},
        {12, 0x86, 0, false, DP_NET_DROP_ETHERTYPE},
        {14, 0x65, 0, true, DP_NET_DROP_IP_HEADER},
        {14, 0x44, 0, true, DP_NET_DROP_IP_HEADER},
        {-1, 0, 30, false, DP_NET_DROP_SHORT},
        {16, 0x09, 0, true, DP_NET_DROP_IP_LEN},
        {22, 0x00, 0, false, DP_NET_DROP_IP_CSUM},
        {20, 0x20, 0, true, DP_NET_DROP_IP_FRAGMENT},
        {33, 0x09, 0, true, DP_NET_DROP_DST_IP},
        {23, 6, 0, true, DP_NET_DROP_PROTO},
        {39, 0x10, 0, false, DP_NET_DROP_UDP_LEN},
        {37, 0x01, 0, false, DP_NET_DROP_UDP_PORT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(g, f, len);
        if (cases[i].off >= 0)
            g[cases[i].off] = cases[i].val;
        if (cases[i].fix_csum) {
            memset(g + 24, 0, 2);
            uint16_t c = dp_net_csum(g + 14, 20);
            memcpy(g + 24, &c, 2);
        }
        uint64_t before = b.drops[cases[i].want];
        enum dp_net_verdict v = dp_net_rx(&b, g, cases[i].len ? cases[i].len : len, &rx);
        CHECK(v == DP_NET_DROP);
        CHECK(b.drops[cases[i].want] == before + 1);
        if (v != DP_NET_DROP || b.drops[cases[i].want] != before + 1)
            printf("  case %zu: want %s\n", i, dp_net_drop_name(cases[i].want));
    }
    /* Broadcast destination MAC to our IP is still accepted. */
    memcpy(g, f, len);
    memset(g, 0xff, 6);
    CHECK(dp_net_rx(&b, g, len, &rx) == DP_NET_PAYLOAD);
    CHECK(strcmp(dp_net_drop_name(DP_NET_DROP_IP_CSUM), "ip_csum") == 0);
    CHECK(strcmp(dp_net_drop_name(DP_NET_DROP__COUNT), "unknown") == 0);
    for (int r = 0; r < DP_NET_DROP__COUNT; r++)
        CHECK(strcmp(dp_net_drop_name(r), "unknown") != 0);
}

int main(void)
{
    test_csum();
    test_encap_roundtrip();
    test_arp();
    test_neigh_table();
    test_icmp();
    test_drops();
    return unit_finish();
}
