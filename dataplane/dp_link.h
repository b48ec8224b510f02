/* dp_link.h - nicraft messages over DPDK: the counterpart of dp_udp on top
 * of dp_port (an open port), dp_lcore (one poller's RX/TX queue pair) and
 * dp_net (Ethernet / IPv4 / UDP, ARP, ICMP echo). The same calls as dp_udp:
 * send a message to udp://IP:PORT, flush, poll whole messages out.
 *
 * One link per poller (queue `index`); each belongs to its poller's thread.
 * The node runs one poller today (queue 0); with several, the caller keeps
 * the struct dp_lcore array, makes one link per element, then calls
 * dp_lcore_link() on the array, as without links (dp_lcore.h).
 *
 * Sending: consecutive messages to the same (destination, receiver, group,
 * local port) share one frame, built in place in the mbuf (dp_builder on
 * dp_lcore_tx_begin's buffer) until it is full; a message larger than one
 * frame is cut into fragments (dp_frag_*), one mbuf each. The source port of
 * a frame is the local port the caller names: a node answers clients from
 * its client port and peers from its peer port.
 *
 * Neighbours: a send to an IPv4 address whose MAC is unknown returns
 * NR_EBUSY after an ARP request went out (dp_lcore: at most one per ms);
 * nothing is queued, raft retransmits and clients retry, and the answer is
 * learned by the poll that receives it. A peer that ARPs for us first (a
 * kernel client always does) is learned from its request, so a reply to a
 * request never waits for ARP.
 *
 * Receiving: dp_link_poll runs one dp_lcore_poll iteration (RX burst,
 * ARP and ICMP echo answered, frames for one of our local ports decoded,
 * filtered and reassembled) and hands each whole message, with its source
 * address and local port index, to the caller's function. One reassembly
 * buffer per local port, so that peers' fragmented appends and clients'
 * requests never share slots (and fragment IDs from two sockets of one
 * kernel-UDP sender never meet).
 *
 * Memory: everything is allocated by dp_link_create (the reassembly
 * buffers) and dp_lcore_init (rings); send, flush and poll allocate nothing
 * but mbufs from the port's pool. */
#ifndef NICRAFT_DP_LINK_H
#define NICRAFT_DP_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_frame.h"
#include "dp_idle.h"
#include "dp_lcore.h"
#include "dp_net.h"
#include "dp_port.h"
#include "dp_reasm.h"
#include "dp_udp.h" /* struct dp_endpoint */
#include "nr_err.h"

#define DP_LINK_LOCAL_MAX DP_NET_PORTS_MAX

struct dp_link_config {
    struct dp_port *port;     /* open (dp_port_open); borrowed, outlives the link */
    struct dp_lcore *lc;      /* storage for poller `index`, the caller's (an element of
                               * the array for dp_lcore_link); dp_link_create
                               * initialises it, dp_link_destroy finishes it */
    uint16_t index;           /* poller index = RX/TX queue, < port->n_pollers */
    uint32_t ipv4;            /* our address, host order; not 0 */
    uint16_t local_ports[DP_LINK_LOCAL_MAX]; /* host order, distinct, not 0 */
    uint32_t n_local;         /* 1..DP_LINK_LOCAL_MAX */
    uint64_t cluster_id;      /* non-zero */
    uint64_t self_id;         /* non-zero; the sender of our frames */
    uint32_t mtu;             /* IP MTU, DP_MTU_MIN..port->mtu (0: port->mtu) */
    struct dp_reasm_config reasm; /* one buffer of this size per local port */
    struct dp_idle_conf idle; /* dp_lcore's policy (dp_lcore_run); dp_link_poll never idles */
    int idle_wait_fd;         /* -1, or an epoll fd for dp_idle */
    dp_lcore_owner_fn owner;  /* NULL: every group is ours (one poller) */
    void *owner_ctx;
    volatile bool *stop;      /* dp_lcore's stop flag; may be NULL (dp_link_poll ignores it) */
};

struct dp_link;

/* Sets up the neighbour/port layer for cfg (dp_net with every local port),
 * initialises *cfg->lc on the port and allocates the reassembly buffers.
 * NR_EINVAL for a configuration field out of range (err names it),
 * NR_ENOMEM, or dp_lcore_init's error. */
int dp_link_create(const struct dp_link_config *cfg, struct dp_link **out, struct nr_err *err);

/* Finishes the lcore (unsent frames are freed) and frees the link; NULL is
 * fine. The port stays the caller's. */
void dp_link_destroy(struct dp_link *l);

/* Queues one message for receiver_id (at dst) in group_id, leaving from
 * local port local_idx. Returns:
 *   0          queued (dp_link_flush sends what is pending; a full frame
 *              goes to the poller's TX backlog at once);
 *   NR_EBUSY   not queued, back off and retry: dst's MAC is unknown (an ARP
 *              request went out), or the mbuf pool is empty, or the TX
 *              backlog is full (err says which). A fragmented message can be
 *              half sent when the pool or TX runs out in its middle; the
 *              receiver then expires it (raft sends it again);
 *   NR_EINVAL  len above the reassembly limit (the peer's is assumed the
 *              same), receiver_id is ourselves, local_idx out of range, or
 *              dst is 0.0.0.0 or port 0. */
int dp_link_send(struct dp_link *l, uint32_t local_idx, const struct dp_endpoint *dst,
                 uint64_t receiver_id, uint32_t group_id, uint16_t kind, const void *data,
                 uint32_t len, struct nr_err *err);

/* Closes the open frame and hands every waiting frame to the NIC. 0 when
 * all left, NR_EBUSY when the NIC took only part (the rest stays queued, in
 * order). */
int dp_link_flush(struct dp_link *l, struct nr_err *err);

/* Frames waiting to be sent (the open one included). */
uint32_t dp_link_pending(const struct dp_link *l);

/* One poll iteration (dp_lcore_poll: RX burst, ARP and ICMP answers,
 * control ring, TX flush) calling fn for each whole message; fn may call
 * dp_link_send and dp_link_flush on l (to answer), never dp_link_poll.
 * Expires old partial messages when nothing arrived. Returns the messages
 * delivered. Drops are counted (dp_link_stats, and dp_net's drops in
 * dp_link_lcore(l)->net), not returned. Call this, never dp_lcore_poll or
 * dp_lcore_run, on a link's lcore. */
uint32_t dp_link_poll(struct dp_link *l, uint64_t now_ns, dp_msg_fn *fn, void *ctx);

/* Codec counters: frames and messages in and out, drops by reason. */
const struct dp_stats *dp_link_stats(const struct dp_link *l);

/* The poller under the link: its counters (n_no_neigh, n_tx_full, ...) and
 * its dp_net (neighbours, ARP/ICMP counters, Ethernet/IP drops). */
const struct dp_lcore *dp_link_lcore(const struct dp_link *l);

/* Sends an ARP request for ipv4 (host order) unless its MAC is known
 * (rate-limited as every ARP request): to resolve peers before the first
 * message. True when the MAC is known already. */
bool dp_link_resolve(struct dp_link *l, uint32_t ipv4);

/* As dp_udp_set_self. */
void dp_link_set_self(struct dp_link *l, uint64_t self_id);

#endif
