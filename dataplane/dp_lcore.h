/* dp_lcore.h - one pinned poller: RX burst, validate (dp_net), hand UDP
 * payloads to a callback, TX burst, drain the control ring, idle policy
 * (CONVENTIONS section 5). No allocation, no locks and no system calls per
 * message: mbufs come from the pool made at start-up, rings are SPSC. */
#ifndef NICRAFT_DP_LCORE_H
#define NICRAFT_DP_LCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_idle.h"
#include "dp_net.h"
#include "dp_port.h"
#include "nr_err.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct dp_lcore;

#define DP_LCORE_BURST 32u
#define DP_LCORE_TX_MAX 256u          /* frames waiting for the NIC, bounded */
#define DP_LCORE_TO_CTL 0xffffu        /* dp_lcore_owner_fn: a slow-path frame */

/* Copied by value through the SPSC ring from the control thread. */
struct dp_ctl_msg {
    uint32_t kind;
    uint32_t group_id;
    uint64_t member_id;
    uint64_t index;
};

/* A UDP payload for us. rx's pointers live until the callback returns. */
typedef void (*dp_lcore_rx_fn)(void *ctx, struct dp_lcore *lc, const struct dp_net_rx *rx);
/* The poller index owning a payload's group (dp_frame_peek_group), or
 * DP_LCORE_TO_CTL for a slow-path frame (the control thread dequeues the
 * mbuf from lc->to_ctl and frees it). Asked for every payload received from
 * the port (not for frames another poller steered here). */
typedef uint16_t (*dp_lcore_owner_fn)(void *ctx, const uint8_t *payload, uint32_t len);
typedef void (*dp_lcore_ctl_fn)(void *ctx, struct dp_lcore *lc, const struct dp_ctl_msg *msg);

struct dp_lcore_conf {
    uint16_t index;           /* poller index = RX/TX queue */
    struct dp_idle_conf idle;
    int idle_wait_fd;         /* -1, or an epoll fd for dp_idle */
    dp_lcore_rx_fn on_rx;
    dp_lcore_owner_fn owner;  /* NULL: everything is ours */
    dp_lcore_ctl_fn on_ctl;   /* NULL: control messages are counted and ignored */
    void *ctx;
    uint32_t ctl_ring_size;   /* power of two; 0: 1024 */
};

struct dp_lcore {
    uint16_t index;
    uint16_t port_id;
    uint16_t n_pollers;
    struct rte_mempool *pool;
    struct dp_net net;        /* this poller's copy: neighbours, counters */
    struct dp_idle idle;
    dp_lcore_rx_fn on_rx;
    dp_lcore_owner_fn owner;
    dp_lcore_ctl_fn on_ctl;
    void *ctx;
    struct rte_ring *from_ctl;                        /* dp_ctl_msg elements, SPSC */
    struct rte_ring *to_ctl;                          /* slow-path mbufs, SPSC */
    struct rte_ring *ctl_tx;                          /* frames the control thread sends
                                                       * through this poller's queue, SPSC */
    struct rte_ring *steer_out[DP_PORT_POLLERS_MAX];  /* mbufs to poller j, SPSC */
    struct rte_ring *steer_in[DP_PORT_POLLERS_MAX];   /* mbufs from poller j */
    struct rte_mbuf *tx[DP_LCORE_TX_MAX];
    uint32_t n_tx;
    struct rte_mbuf *pending; /* between tx_begin and tx_commit */
    const uint8_t *pending_mac;
    uint64_t arp_sent_tsc;    /* last ARP request, rate limit */
    volatile bool *stop;
    /* Counters, read by others only as a snapshot (torn reads tolerated). */
    uint64_t n_rx_frames;
    uint64_t n_tx_frames;
    uint64_t n_rx_multiseg;   /* dropped: we do not take scattered frames */
    uint64_t n_tx_full;       /* sends refused because TX was full */
    uint64_t n_no_mbuf;       /* sends refused because the pool was empty */
    uint64_t n_no_neigh;      /* sends refused for want of a neighbour (ARP sent) */
    uint64_t n_steered_out;
    uint64_t n_steer_full;    /* frames dropped because the owner's ring was full */
    uint64_t n_to_ctl;
    uint64_t n_ctl_msgs;
    uint64_t n_polls;
};

/* Sets up lcore `conf->index` on an open port: its dp_net copy of *net_tmpl,
 * its idle policy and its rings. Rings between pollers need every poller's
 * struct: call dp_lcore_link() after all are initialised. */
int dp_lcore_init(struct dp_lcore *lc, const struct dp_port *port, const struct dp_net *net_tmpl,
                  const struct dp_lcore_conf *conf, volatile bool *stop, struct nr_err *err);
/* Creates the SPSC steering rings between every pair of pollers. */
int dp_lcore_link(struct dp_lcore *lcs, uint16_t n, struct nr_err *err);
void dp_lcore_fini(struct dp_lcore *lc);

/* One iteration without the idle policy; returns the items handled. */
uint32_t dp_lcore_poll(struct dp_lcore *lc);

/* The poll loop: runs until *lc->stop, by design forever in a node. Suits
 * rte_eal_remote_launch (arg is the struct dp_lcore). Returns 0. */
int dp_lcore_run(void *arg);

/* Reserves room for a payload of up to len bytes to ip:port; returns where
 * to write it, or NULL (counted) when the neighbour is unknown (an ARP
 * request goes out, at most one per ms), the pool is empty or TX is full.
 * Finish with dp_lcore_tx_commit() before the next tx_begin. */
uint8_t *dp_lcore_tx_begin(struct dp_lcore *lc, uint32_t dst_ip_be, uint32_t len);
void dp_lcore_tx_commit(struct dp_lcore *lc, uint32_t dst_ip_be, uint16_t dst_port_be,
                        uint32_t len);

/* Gives back the frame reserved by dp_lcore_tx_begin, unsent. */
void dp_lcore_tx_abort(struct dp_lcore *lc);

/* Copies a payload out; 0, or NR_EBUSY (see dp_lcore_tx_begin). */
int dp_lcore_send(struct dp_lcore *lc, uint32_t dst_ip_be, uint16_t dst_port_be,
                  const void *payload, uint32_t len);

/* Hands waiting frames to the NIC; returns how many it took. */
uint32_t dp_lcore_flush(struct dp_lcore *lc);

/* The control thread's side of from_ctl: 0 or NR_EBUSY when full. */
int dp_lcore_ctl_post(struct dp_lcore *lc, const struct dp_ctl_msg *msg);

/* The control thread's way to send a frame (a complete Ethernet frame in m,
 * from any pool) when the port has no control TX queue (port->ctl_txq ==
 * DP_PORT_CTL_TXQ_NONE): poller lc transmits it. 0, or NR_EBUSY when the ring
 * is full (m stays the caller's). */
int dp_lcore_ctl_tx(struct dp_lcore *lc, struct rte_mbuf *m);

#endif
