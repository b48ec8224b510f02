/* dp_port.h - EAL start-up, one port with a queue pair per poller lcore plus
 * a TX queue for the control thread, mbuf pools per NUMA socket, and group
 * steering (issue 5, SPEC sections 1 and 6).
 *
 * Steering: each raft group belongs to one poller (CONVENTIONS 1.4). Where the
 * PMD takes rte_flow rules, dp_port_steer_group() installs one per group that
 * matches the group ID inside the nicraft header and picks the owner's RX
 * queue. Where it does not (net_af_packet, net_memif, net_af_xdp, net_ring),
 * the port runs in DP_PORT_STEER_SOFT: a poller that receives another
 * poller's frame passes the mbuf through an SPSC ring (dp_lcore.c). With one
 * poller there is nothing to steer. */
#ifndef NICRAFT_DP_PORT_H
#define NICRAFT_DP_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "nr_err.h"

struct rte_mempool;

#define DP_PORT_POLLERS_MAX 16u
#define DP_PORT_SOCKETS_MAX 8u
#define DP_PORT_EAL_ARGS_MAX 24
#define DP_PORT_CTL_TXQ_NONE 0xffffu

struct dp_port_conf {
    const char *file_prefix;  /* distinct per process on one host; required */
    const char *lcores;       /* EAL -l list, "0" or "0-1"; the first is the main lcore */
    const char *vdev;         /* "net_af_packet0,iface=nrc-v1", "net_memif0,..." or NULL */
    const char *log_level;    /* EAL --log-level, NULL for "*:warning" */
    uint32_t mem_mb;          /* -m with no_huge; 0 for 256 */
    bool no_huge;             /* hosts without hugepages */
    bool no_pci;              /* hosts without a NIC */
    bool no_shconf;           /* --no-shconf: no shared config files (with --no-huge; --in-memory is not) */
    bool single_file_segments;/* memif zero-copy needs it */
    uint16_t n_pollers;       /* RX/TX queue pairs, 1..DP_PORT_POLLERS_MAX */
    uint16_t rx_desc;         /* 0: 1024 */
    uint16_t tx_desc;         /* 0: 1024 */
    uint32_t n_mbufs;         /* per socket pool; 0: 8191 */
    uint16_t mtu;             /* IP bytes; 0: 1500 */
};

enum dp_port_steer {
    DP_PORT_STEER_NONE, /* one poller */
    DP_PORT_STEER_FLOW, /* rte_flow rules pick the queue */
    DP_PORT_STEER_SOFT, /* pollers pass frames through SPSC rings */
};

struct dp_port {
    uint16_t port_id;
    uint16_t n_pollers;
    uint16_t n_rxq;       /* == n_pollers */
    uint16_t n_txq;       /* n_pollers + 1, or n_pollers (see ctl_txq) */
    uint16_t ctl_txq;     /* the control thread's own TX queue (== n_pollers), or
                           * DP_PORT_CTL_TXQ_NONE when the PMD has no spare TX queue
                           * (net_af_packet: qpairs): the control thread then hands
                           * frames to poller 0 (dp_lcore_ctl_tx), never its queue */
    int nic_socket;       /* rte_eth_dev_socket_id; -1 for virtual devices */
    uint16_t mtu;
    uint8_t mac[6];
    enum dp_port_steer steer;
    unsigned int poller_lcore[DP_PORT_POLLERS_MAX]; /* EAL lcore id polling queue i */
    struct rte_mempool *pool[DP_PORT_SOCKETS_MAX];  /* by socket id; NULL where unused */
    uint32_t n_flow_rules;
    bool is_started;
};

/* Builds the EAL argv from *conf into store (store_len bytes). argv gets
 * pointers into store plus a NULL; *argc the count. NR_EINVAL when a field is
 * missing or the arguments do not fit. */
int dp_port_eal_argv(const struct dp_port_conf *conf, char *store, uint32_t store_len,
                     char **argv, int argv_max, int *argc, struct nr_err *err);

/* rte_eal_init with dp_port_eal_argv's arguments; once per process. */
int dp_port_eal_init(const struct dp_port_conf *conf, struct nr_err *err);

/* The end of the EAL, after the ports are closed: parks the EAL interrupt
 * thread in a callback of ours until the process exits (it has then
 * finished the callbacks it was running, memif's for a peer's disconnect),
 * then rte_eal_cleanup. NR_EIO, with the cleanup skipped, when the thread
 * does not take the callback within 5 s; NR_EINVAL on a second call.
 * Once per process, at its end (dp_eal_fini.c). */
int dp_eal_fini(struct nr_err *err);

/* Configures and starts the first available port: n_pollers RX queues and
 * n_pollers + 1 TX queues (n_pollers where the PMD has no more: see ctl_txq), each queue's mbufs from its poller lcore's socket
 * pool (the NIC's socket for the control queue). Poller i is the i-th lcore
 * of conf->lcores. Needs dp_port_eal_init first. */
int dp_port_open(struct dp_port *port, const struct dp_port_conf *conf, struct nr_err *err);

/* Stops and closes the port; frees the pools. */
void dp_port_close(struct dp_port *port);

/* The pool for an lcore's socket (falls back to any pool that exists). */
struct rte_mempool *dp_port_pool_for_lcore(const struct dp_port *port, unsigned int lcore_id);

/* Steers group_id's frames to queue `poller` with an rte_flow rule matching
 * the 4-byte little-endian group ID at group_off bytes into the UDP payload
 * (32 in dp_frame.h's header).
 * NR_EREFUSED (with the PMD's reason) when the PMD does not take the rule:
 * the port is then in DP_PORT_STEER_SOFT and the pollers dispatch. */
int dp_port_steer_group(struct dp_port *port, uint32_t group_id, uint16_t group_off,
                        uint16_t poller, struct nr_err *err);

const char *dp_port_steer_name(enum dp_port_steer steer);

/* An epoll fd (EPOLLIN, close-on-exec; the caller closes it) over the
 * kernel sockets under the port where its PMD has them, found in
 * /proc/self/fd by domain: the AF_PACKET sockets of net_af_packet on the
 * port's interface, the XDP sockets of net_af_xdp (an XDP socket does not
 * say its interface: every one in the process). They are readable while
 * frames wait in their RX rings, so an idle poller blocks on them instead
 * of sleeping (dp_idle's wait_fd). -1 when there is none: other PMDs
 * (net_memif: DPDK 22.11 does not enable its RX interrupts) or a failure;
 * the poller then sleeps. *n_fds (may be NULL) gets how many sockets it
 * watches. With several pollers every one sees every socket: a poller may
 * wake for another's frames. */
int dp_port_rx_wait_fd(const struct dp_port *port, uint32_t *n_fds);

#endif
