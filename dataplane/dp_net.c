/* dp_net.c - Ethernet / IPv4 / UDP, ARP and ICMP echo over byte buffers.
 *
 * Offsets are written out instead of using DPDK's header structs so that the
 * code is pure and fuzzable; every multi-byte field goes through memcpy (no
 * alignment assumed: a frame may start at any byte of an mbuf). */
#include "dp_net.h"

#include <arpa/inet.h>
#include <string.h>

enum {
    ETH_DST = 0,
    ETH_SRC = 6,
    ETH_TYPE = 12,
    ETHERTYPE_IPV4 = 0x0800,
    ETHERTYPE_ARP = 0x0806,
    IP_PROTO_ICMP = 1,
    IP_PROTO_UDP = 17,
    IPV4_TTL = 64,
    IP_VER_IHL_TOS = 0x4500, /* IPv4, 20-byte header, TOS 0: the first 16-bit word */
    IP_FLAGS_DF = 0x4000,    /* don't fragment, offset 0 */
    ARP_OP_REQUEST = 1,
    ARP_OP_REPLY = 2,
    ICMP_ECHO_REPLY = 0,
    ICMP_ECHO_REQUEST = 8,
};

static const uint8_t mac_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static enum dp_net_verdict drop(struct dp_net *net, enum dp_net_drop reason)
{
    net->drops[reason]++;
    return DP_NET_DROP;
}

int dp_net_init(struct dp_net *net, const uint8_t mac[6], uint32_t ip_be, uint16_t udp_port_be,
                uint16_t mtu, struct nr_err *err)
{
    if (mtu < 576 || mtu > DP_NET_MTU_MAX)
        return nr_errf(err, NR_EINVAL, "dataplane: mtu %u is outside 576..%u", mtu,
                       DP_NET_MTU_MAX);
    if (ip_be == 0)
        return nr_errf(err, NR_EINVAL, "dataplane: the node's IPv4 address must not be 0.0.0.0");
    memset(net, 0, sizeof(*net));
    memcpy(net->mac, mac, 6);
    net->ip_be = ip_be;
    net->udp_port_be = udp_port_be;
    net->udp_ports_be[0] = udp_port_be;
    net->n_udp_ports = 1;
    net->mtu = mtu;
    return 0;
}

int dp_net_add_port(struct dp_net *net, uint16_t udp_port_be, uint16_t *idx, struct nr_err *err)
{
    uint16_t host = rd16((const uint8_t *)&udp_port_be);

    if (udp_port_be == 0)
        return nr_errf(err, NR_EINVAL, "dataplane: local UDP port 0 cannot be listened on");
    for (uint16_t i = 0; i < net->n_udp_ports; i++)
        if (net->udp_ports_be[i] == udp_port_be)
            return nr_errf(err, NR_EINVAL, "dataplane: local UDP port %u is already local port %u",
                           host, i);
    if (net->n_udp_ports >= DP_NET_PORTS_MAX)
        return nr_errf(err, NR_EBUSY, "dataplane: UDP port %u: all %u local ports are taken",
                       host, DP_NET_PORTS_MAX);
    *idx = net->n_udp_ports;
    net->udp_ports_be[net->n_udp_ports++] = udp_port_be;
    return 0;
}

/* RFC 1071 section 2(B): the one's complement sum does not depend on byte
 * order, so the words are summed as the CPU loads them, four bytes at a
 * time into 64 bits, and the folded complement is already in the order it
 * is stored in. (It was a byte loop: 4% of a 1 KiB sender's time.) */
uint16_t dp_net_csum(const void *buf, uint32_t len)
{
    const uint8_t *p = buf;
    uint64_t sum = 0;

    for (; len >= 4; p += 4, len -= 4) {
        uint32_t w;

        memcpy(&w, p, 4);
        sum += w;
    }
    if (len >= 2) {
        uint16_t w;

        memcpy(&w, p, 2);
        sum += w;
        p += 2;
        len -= 2;
    }
    if (len == 1) { /* the last byte, padded with a zero byte after it */
        uint8_t pad[2] = {p[0], 0};
        uint16_t w;

        memcpy(&w, pad, 2);
        sum += w;
    }
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t dp_net_payload_max(const struct dp_net *net)
{
    return (uint32_t)net->mtu - DP_NET_IP_LEN - DP_NET_UDP_LEN;
}

uint32_t dp_net_encap(struct dp_net *net, uint8_t *frame, const uint8_t dst_mac[6],
                      uint32_t dst_ip_be, uint16_t dst_port_be, uint32_t payload_len)
{
    NR_ASSERT(payload_len <= dp_net_payload_max(net));
    uint8_t *ip = frame + DP_NET_ETH_LEN;
    uint8_t *udp = ip + DP_NET_IP_LEN;
    uint16_t ip_len = (uint16_t)(DP_NET_IP_LEN + DP_NET_UDP_LEN + payload_len);
    uint16_t ip_id = net->ip_id++;

    memcpy(frame + ETH_DST, dst_mac, 6);
    memcpy(frame + ETH_SRC, net->mac, 6);
    wr16(frame + ETH_TYPE, ETHERTYPE_IPV4);
    uint16_t ttl_proto = (uint16_t)((IPV4_TTL << 8) | IP_PROTO_UDP);
    wr16(ip, IP_VER_IHL_TOS);
    wr16(ip + 2, ip_len);
    wr16(ip + 4, ip_id);
    wr16(ip + 6, IP_FLAGS_DF);
    wr16(ip + 8, ttl_proto);
    memcpy(ip + 12, &net->ip_be, 4);
    memcpy(ip + 16, &dst_ip_be, 4);
    /* The checksum from the words just written, not from the bytes: wide
     * loads of narrow fresh stores miss store forwarding (dp_net_csum
     * over this header was 7% of a sender's time). */
    uint32_t src = ntohl(net->ip_be), dst = ntohl(dst_ip_be);
    uint32_t sum = IP_VER_IHL_TOS + ip_len + ip_id + IP_FLAGS_DF + ttl_proto + (src >> 16) +
                   (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    wr16(ip + 10, (uint16_t)~sum);
    memcpy(udp, &net->udp_port_be, 2);
    memcpy(udp + 2, &dst_port_be, 2);
    wr16(udp + 4, (uint16_t)(DP_NET_UDP_LEN + payload_len));
    memset(udp + 6, 0, 2);

    uint32_t len = DP_NET_HDR_LEN + payload_len;
    if (len < DP_NET_MIN_FRAME_LEN) {
        memset(frame + len, 0, DP_NET_MIN_FRAME_LEN - len);
        len = DP_NET_MIN_FRAME_LEN;
    }
    return len;
}

/* ARP for IPv4 over Ethernet: htype 1, ptype 0x0800, hlen 6, plen 4. */
static void arp_write(uint8_t *arp, uint16_t op, const uint8_t sha[6], uint32_t spa_be,
                      const uint8_t tha[6], uint32_t tpa_be)
{
    wr16(arp, 1);
    wr16(arp + 2, ETHERTYPE_IPV4);
    arp[4] = 6;
    arp[5] = 4;
    wr16(arp + 6, op);
    memcpy(arp + 8, sha, 6);
    memcpy(arp + 14, &spa_be, 4);
    memcpy(arp + 18, tha, 6);
    memcpy(arp + 24, &tpa_be, 4);
}

uint32_t dp_net_arp_request(const struct dp_net *net, uint8_t *frame, uint32_t target_ip_be)
{
    static const uint8_t zero_mac[6];

    memcpy(frame + ETH_DST, mac_broadcast, 6);
    memcpy(frame + ETH_SRC, net->mac, 6);
    wr16(frame + ETH_TYPE, ETHERTYPE_ARP);
    arp_write(frame + DP_NET_ETH_LEN, ARP_OP_REQUEST, net->mac, net->ip_be, zero_mac, target_ip_be);
    memset(frame + DP_NET_ARP_FRAME_LEN, 0, DP_NET_MIN_FRAME_LEN - DP_NET_ARP_FRAME_LEN);
    return DP_NET_MIN_FRAME_LEN;
}

const uint8_t *dp_net_neigh_lookup(const struct dp_net *net, uint32_t ip_be)
{
    for (uint32_t i = 0; i < net->n_neigh; i++)
        if (net->neigh[i].ip_be == ip_be)
            return net->neigh[i].mac;
    return NULL;
}

static struct dp_net_neigh *neigh_slot(struct dp_net *net, uint32_t ip_be)
{
    struct dp_net_neigh *oldest = NULL;

    for (uint32_t i = 0; i < net->n_neigh; i++)
        if (net->neigh[i].ip_be == ip_be)
            return &net->neigh[i];
    if (net->n_neigh < DP_NET_NEIGH_MAX)
        return &net->neigh[net->n_neigh++];
    for (uint32_t i = 0; i < net->n_neigh; i++) {
        struct dp_net_neigh *n = &net->neigh[i];
        if (!n->is_static && (oldest == NULL || n->age < oldest->age))
            oldest = n;
    }
    if (oldest != NULL)
        net->n_neigh_evicted++;
    return oldest;
}

int dp_net_neigh_set(struct dp_net *net, uint32_t ip_be, const uint8_t mac[6], bool is_static,
                     struct nr_err *err)
{
    struct dp_net_neigh *n = neigh_slot(net, ip_be);

    if (n == NULL)
        return nr_errf(err, NR_EBUSY,
                       "dataplane: neighbour table full: all %u entries are static",
                       DP_NET_NEIGH_MAX);
    if (n->ip_be == ip_be && n->is_static && !is_static)
        return 0; /* ARP never overrides configuration */
    n->ip_be = ip_be;
    memcpy(n->mac, mac, 6);
    n->is_static = is_static;
    n->age = ++net->neigh_clock;
    return 0;
}

static enum dp_net_verdict rx_arp(struct dp_net *net, uint8_t *frame, uint32_t len)
{
    uint8_t *arp = frame + DP_NET_ETH_LEN;
    uint8_t sha[6];
    uint32_t spa, tpa;

    if (len < DP_NET_ARP_FRAME_LEN)
        return drop(net, DP_NET_DROP_SHORT);
    if (rd16(arp) != 1 || rd16(arp + 2) != ETHERTYPE_IPV4 || arp[4] != 6 || arp[5] != 4)
        return drop(net, DP_NET_DROP_ARP);
    uint16_t op = rd16(arp + 6);
    if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
        return drop(net, DP_NET_DROP_ARP);
    memcpy(sha, arp + 8, 6);
    memcpy(&spa, arp + 14, 4);
    memcpy(&tpa, arp + 24, 4);
    if (tpa != net->ip_be)
        return drop(net, DP_NET_DROP_ARP_NOT_MINE);
    if (spa != 0 && (sha[0] & 1) == 0 && dp_net_neigh_set(net, spa, sha, false, NULL) == 0)
        net->n_arp_learned++;
    if (op == ARP_OP_REPLY)
        return DP_NET_DONE;
    memcpy(frame + ETH_DST, sha, 6);
    memcpy(frame + ETH_SRC, net->mac, 6);
    arp_write(arp, ARP_OP_REPLY, net->mac, net->ip_be, sha, spa);
    net->n_arp_replied++;
    return DP_NET_REPLY;
}

/* Rewrites an echo request into its reply in place; icmp_len is checked. */
static enum dp_net_verdict rx_icmp(struct dp_net *net, uint8_t *frame, uint8_t *ip,
                                   uint32_t ihl, uint32_t ip_len)
{
    uint8_t *icmp = ip + ihl;
    uint32_t icmp_len = ip_len - ihl;
    uint8_t tmp[6];

    if (icmp_len < 8 || icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0)
        return drop(net, DP_NET_DROP_ICMP);
    if (dp_net_csum(icmp, icmp_len) != 0)
        return drop(net, DP_NET_DROP_ICMP);
    icmp[0] = ICMP_ECHO_REPLY;
    memset(icmp + 2, 0, 2);
    uint16_t csum = dp_net_csum(icmp, icmp_len);
    memcpy(icmp + 2, &csum, 2);
    memcpy(tmp, frame + ETH_SRC, 6);
    memcpy(frame + ETH_DST, tmp, 6);
    memcpy(frame + ETH_SRC, net->mac, 6);
    memcpy(ip + 16, ip + 12, 4);
    memcpy(ip + 12, &net->ip_be, 4);
    ip[8] = IPV4_TTL;
    memset(ip + 10, 0, 2);
    csum = dp_net_csum(ip, ihl);
    memcpy(ip + 10, &csum, 2);
    net->n_icmp_replied++;
    return DP_NET_REPLY;
}

static enum dp_net_verdict rx_ipv4(struct dp_net *net, uint8_t *frame, uint32_t len,
                                   struct dp_net_rx *rx)
{
    uint8_t *ip = frame + DP_NET_ETH_LEN;
    uint32_t ip_room = len - DP_NET_ETH_LEN;

    if (ip_room < DP_NET_IP_LEN)
        return drop(net, DP_NET_DROP_SHORT);
    uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < DP_NET_IP_LEN)
        return drop(net, DP_NET_DROP_IP_HEADER);
    if (ihl > ip_room)
        return drop(net, DP_NET_DROP_SHORT);
    uint32_t ip_len = rd16(ip + 2);
    if (ip_len < ihl || ip_len > ip_room) /* frames may carry padding beyond ip_len */
        return drop(net, DP_NET_DROP_IP_LEN);
    if (dp_net_csum(ip, ihl) != 0)
        return drop(net, DP_NET_DROP_IP_CSUM);
    if ((rd16(ip + 6) & 0x3fff) != 0) /* MF set or a fragment offset */
        return drop(net, DP_NET_DROP_IP_FRAGMENT);
    uint32_t dst_ip;
    memcpy(&dst_ip, ip + 16, 4);
    if (dst_ip != net->ip_be)
        return drop(net, DP_NET_DROP_DST_IP);
    if (ip[9] == IP_PROTO_ICMP)
        return rx_icmp(net, frame, ip, ihl, ip_len);
    if (ip[9] != IP_PROTO_UDP)
        return drop(net, DP_NET_DROP_PROTO);
    uint8_t *udp = ip + ihl;
    if (ip_len - ihl < DP_NET_UDP_LEN)
        return drop(net, DP_NET_DROP_UDP_LEN);
    uint32_t udp_len = rd16(udp + 4);
    if (udp_len < DP_NET_UDP_LEN || udp_len != ip_len - ihl)
        return drop(net, DP_NET_DROP_UDP_LEN);
    uint16_t dst_port;
    memcpy(&dst_port, udp + 2, 2);
    uint16_t port_idx = 0; /* linear scan: at most DP_NET_PORTS_MAX, usually 1 or 2 */
    while (port_idx < net->n_udp_ports && net->udp_ports_be[port_idx] != dst_port)
        port_idx++;
    if (port_idx == net->n_udp_ports)
        return drop(net, DP_NET_DROP_UDP_PORT);
    rx->local_idx = port_idx;
    /* The UDP checksum is not checked: the nicraft header's CRC32C covers the
     * payload, and a kernel peer on a veth may leave it partial (offload). */
    rx->payload = udp + DP_NET_UDP_LEN;
    rx->payload_len = udp_len - DP_NET_UDP_LEN;
    memcpy(&rx->src_ip_be, ip + 12, 4);
    memcpy(&rx->src_port_be, udp, 2);
    memcpy(rx->src_mac, frame + ETH_SRC, 6);
    net->n_payloads++;
    return DP_NET_PAYLOAD;
}

enum dp_net_verdict dp_net_rx(struct dp_net *net, uint8_t *frame, uint32_t len,
                              struct dp_net_rx *rx)
{
    if (len < DP_NET_ETH_LEN)
        return drop(net, DP_NET_DROP_SHORT);
    const uint8_t *dst = frame + ETH_DST;
    if ((dst[0] & 1) == 0 && memcmp(dst, net->mac, 6) != 0)
        return drop(net, DP_NET_DROP_DST_MAC);
    uint16_t type = rd16(frame + ETH_TYPE);
    if (type == ETHERTYPE_ARP)
        return rx_arp(net, frame, len);
    if (type != ETHERTYPE_IPV4)
        return drop(net, DP_NET_DROP_ETHERTYPE);
    /* Multicast/broadcast IPv4 falls to the destination address check. */
    return rx_ipv4(net, frame, len, rx);
}

const char *dp_net_drop_name(enum dp_net_drop reason)
{
    static const char *const names[DP_NET_DROP__COUNT] = {
        [DP_NET_DROP_SHORT] = "short",
        [DP_NET_DROP_ETHERTYPE] = "ethertype",
        [DP_NET_DROP_DST_MAC] = "dst_mac",
        [DP_NET_DROP_IP_HEADER] = "ip_header",
        [DP_NET_DROP_IP_CSUM] = "ip_csum",
        [DP_NET_DROP_IP_LEN] = "ip_len",
        [DP_NET_DROP_IP_FRAGMENT] = "ip_fragment",
        [DP_NET_DROP_DST_IP] = "dst_ip",
        [DP_NET_DROP_PROTO] = "proto",
        [DP_NET_DROP_UDP_LEN] = "udp_len",
        [DP_NET_DROP_UDP_PORT] = "udp_port",
        [DP_NET_DROP_ARP] = "arp",
        [DP_NET_DROP_ARP_NOT_MINE] = "arp_not_mine",
        [DP_NET_DROP_ICMP] = "icmp",
    };
    if ((unsigned)reason >= DP_NET_DROP__COUNT)
        return "unknown";
    return names[reason];
}
