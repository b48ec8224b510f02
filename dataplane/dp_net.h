/* dp_net.h - Ethernet / IPv4 / UDP around a nicraft payload, ARP and ICMP
 * echo answers, and a small neighbour table (issue 5, SPEC section 1).
 *
 * Pure functions over byte buffers: no DPDK, no allocation, no clock. One
 * struct dp_net belongs to one poller lcore (CONVENTIONS section 1.4): the
 * neighbour table and drop counters are written by that thread only. */
#ifndef NICRAFT_DP_NET_H
#define NICRAFT_DP_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "nr_err.h"

#define DP_NET_ETH_LEN 14u
#define DP_NET_IP_LEN 20u  /* we send no IP options; we accept and skip them */
#define DP_NET_UDP_LEN 8u
#define DP_NET_HDR_LEN (DP_NET_ETH_LEN + DP_NET_IP_LEN + DP_NET_UDP_LEN) /* 42 */
#define DP_NET_ARP_FRAME_LEN 42u  /* Ethernet + ARP for IPv4 over Ethernet */
#define DP_NET_MIN_FRAME_LEN 60u  /* Ethernet minimum without FCS; we pad */
#define DP_NET_NEIGH_MAX 64u      /* linear scan: one entry per peer */
#define DP_NET_MTU_MAX 9000u      /* jumbo upper bound, IP bytes */
#define DP_NET_PORTS_MAX 4u       /* local UDP ports (a node: peer and client) */

/* Why a received frame was dropped; one counter each (dp_net.drops[]). */
enum dp_net_drop {
    DP_NET_DROP_SHORT,         /* shorter than the headers it claims */
    DP_NET_DROP_ETHERTYPE,     /* neither IPv4 nor ARP (VLAN, IPv6, ...) */
    DP_NET_DROP_DST_MAC,       /* unicast to another MAC */
    DP_NET_DROP_IP_HEADER,     /* version not 4 or header length < 20 */
    DP_NET_DROP_IP_CSUM,       /* IPv4 header checksum mismatch */
    DP_NET_DROP_IP_LEN,        /* total length beyond the frame or below header */
    DP_NET_DROP_IP_FRAGMENT,   /* IP fragments: nicraft fragments itself */
    DP_NET_DROP_DST_IP,        /* not addressed to our IPv4 address */
    DP_NET_DROP_PROTO,         /* neither UDP nor ICMP */
    DP_NET_DROP_UDP_LEN,       /* UDP length disagrees with the IP length */
    DP_NET_DROP_UDP_PORT,      /* none of our nicraft ports */
    DP_NET_DROP_ARP,           /* malformed or not IPv4-over-Ethernet ARP */
    DP_NET_DROP_ARP_NOT_MINE,  /* ARP request for someone else's address */
    DP_NET_DROP_ICMP,          /* ICMP other than echo request, or bad checksum */
    DP_NET_DROP__COUNT,
};

/* What dp_net_rx() made of a frame. */
enum dp_net_verdict {
    DP_NET_PAYLOAD, /* a UDP payload for us: see struct dp_net_rx */
    DP_NET_REPLY,   /* the frame was rewritten in place into a reply
                     * (ARP reply, ICMP echo reply): transmit it, same length */
    DP_NET_DONE,    /* consumed (an ARP reply learned); nothing to send */
    DP_NET_DROP,    /* dropped and counted by reason */
};

struct dp_net_neigh {
    uint32_t ip_be;
    uint8_t mac[6];
    bool is_static;  /* configured; never replaced by ARP */
    uint32_t age;    /* dp_net.neigh_clock when last learned: oldest goes first */
};

struct dp_net {
    uint8_t mac[6];
    uint32_t ip_be;          /* our IPv4 address, network order */
    uint16_t udp_port_be;    /* the source port dp_net_encap writes, network order:
                              * udp_ports_be[0] unless a sender with several local
                              * ports picks another per frame (dp_link does) */
    uint16_t udp_ports_be[DP_NET_PORTS_MAX]; /* the local ports we accept, network
                              * order; [0] is dp_net_init's, more by dp_net_add_port */
    uint16_t n_udp_ports;    /* 1..DP_NET_PORTS_MAX */
    uint16_t mtu;            /* IP bytes per frame, 576..DP_NET_MTU_MAX */
    uint16_t ip_id;          /* next IPv4 identification (informational: DF set) */
    struct dp_net_neigh neigh[DP_NET_NEIGH_MAX];
    uint32_t n_neigh;
    uint32_t neigh_clock;
    uint64_t drops[DP_NET_DROP__COUNT];
    uint64_t n_arp_replied;
    uint64_t n_arp_learned;
    uint64_t n_icmp_replied;
    uint64_t n_neigh_evicted; /* dynamic entries replaced because the table was full */
    uint64_t n_payloads;
};

/* A received UDP payload; pointers into the caller's frame. */
struct dp_net_rx {
    const uint8_t *payload;
    uint32_t payload_len;
    uint32_t src_ip_be;
    uint16_t src_port_be;
    uint16_t local_idx;      /* index into dp_net.udp_ports_be of the port it came to */
    uint8_t src_mac[6];
};

/* Fills *net for our addresses. mtu is IP bytes (1500 for Ethernet). Returns
 * 0, or NR_EINVAL when mtu is outside 576..DP_NET_MTU_MAX or ip is 0. */
int dp_net_init(struct dp_net *net, const uint8_t mac[6], uint32_t ip_be, uint16_t udp_port_be,
                uint16_t mtu, struct nr_err *err);

/* Accepts one more local UDP port (network order) besides dp_net_init's:
 * a node listens on a peer port and a client port at one address. *idx gets
 * its index, reported in dp_net_rx.local_idx. NR_EINVAL for port 0 or a
 * port already accepted, NR_EBUSY when DP_NET_PORTS_MAX are taken. */
int dp_net_add_port(struct dp_net *net, uint16_t udp_port_be, uint16_t *idx, struct nr_err *err);

/* The Internet checksum (RFC 1071) of len bytes, as stored in a header
 * (network order). A header holding a correct checksum sums to 0. */
uint16_t dp_net_csum(const void *buf, uint32_t len);

/* The largest UDP payload a frame may carry at this MTU. */
uint32_t dp_net_payload_max(const struct dp_net *net);

/* Writes Ethernet/IPv4/UDP headers into frame[0..DP_NET_HDR_LEN) for a
 * payload of payload_len bytes already at frame + DP_NET_HDR_LEN; returns the
 * frame length (padded to DP_NET_MIN_FRAME_LEN: the caller's buffer must hold
 * that much). Precondition: payload_len <= dp_net_payload_max(net). The UDP
 * checksum is 0 (allowed in IPv4): the nicraft header carries a CRC32C. */
uint32_t dp_net_encap(struct dp_net *net, uint8_t *frame, const uint8_t dst_mac[6],
                      uint32_t dst_ip_be, uint16_t dst_port_be, uint32_t payload_len);

/* Writes a broadcast ARP request for target_ip_be; returns its length
 * (DP_NET_MIN_FRAME_LEN, padded). frame must hold DP_NET_MIN_FRAME_LEN. */
uint32_t dp_net_arp_request(const struct dp_net *net, uint8_t *frame, uint32_t target_ip_be);

/* Classifies a received frame of len bytes (outside data: every field is
 * checked). ARP requests for our address and ICMP echo requests to us are
 * rewritten in place into replies (DP_NET_REPLY); the sender of any ARP
 * addressed to us is learned. *rx is filled for DP_NET_PAYLOAD. */
enum dp_net_verdict dp_net_rx(struct dp_net *net, uint8_t *frame, uint32_t len,
                              struct dp_net_rx *rx);

/* The MAC for ip_be, or NULL when unknown (send dp_net_arp_request then). */
const uint8_t *dp_net_neigh_lookup(const struct dp_net *net, uint32_t ip_be);

/* Adds or updates an entry. A static entry is never replaced by ARP; a
 * dynamic one never replaces a static one. When the table is full the
 * oldest dynamic entry goes (counted); NR_EBUSY when all are static. */
int dp_net_neigh_set(struct dp_net *net, uint32_t ip_be, const uint8_t mac[6], bool is_static,
                     struct nr_err *err);

/* A stable name for a drop reason ("ip_csum"), for counters and logs. */
const char *dp_net_drop_name(enum dp_net_drop reason);

#endif
