/* dp_xport.h - one message transport for the node daemon over kernel UDP
 * (dp_udp) or DPDK (dp_link over dp_port, dp_lcore, dp_net), through the
 * same calls (SPEC section 1, "Transports"): send opaque messages (kind +
 * bytes, dp_frame.h) to udp://IP:PORT endpoints, flush, poll whole
 * messages out with the source endpoint and the local endpoint they came
 * to, wait when idle.
 *
 * A node listens on two local endpoints (as etcd on 2380 and 2379): its
 * peer URL and its client URL. Over UDP each is its own socket (and may
 * have its own address); over DPDK the port has one IPv4 address and both
 * are UDP ports of it (dp_net accepts a small set of local ports).
 *
 * Threads: everything here belongs to one thread, the poller that owns the
 * raft group(s); it creates the transport (over DPDK, rte_eal_init pins the
 * calling thread to the first EAL lcore, and threads it starts afterwards
 * inherit that affinity), sends, polls, waits and destroys it. Another
 * thread hands messages to the poller through a ring, never through these
 * calls.
 *
 * Memory: dp_xport_create allocates everything (frame buffers, reassembly
 * buffers: one per local endpoint, sized by cfg->reasm; the mbuf pool);
 * send, flush, poll and wait allocate nothing. */
#ifndef NICRAFT_DP_XPORT_H
#define NICRAFT_DP_XPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_frame.h"
#include "dp_idle.h"
#include "dp_net.h"
#include "dp_reasm.h"
#include "dp_udp.h"
#include "nr_err.h"

enum dp_xport_kind {
    DP_XPORT_UDP,  /* kernel sockets: development, tests, clients */
    DP_XPORT_DPDK, /* a DPDK port: a NIC, or net_af_packet / net_memif in tests */
};

#define DP_XPORT_LOCAL_MAX 2u          /* peer and client endpoints */
#define DP_XPORT_EAL_ARGS_LEN_MAX 1024u /* bytes of cfg->eal_args */
#define DP_XPORT_EAL_WORDS_MAX 32u      /* words of cfg->eal_args */

struct dp_xport_config {
    enum dp_xport_kind kind;
    /* Our endpoints, host byte order. UDP: one socket each; an address of
     * 0.0.0.0 binds every address, port 0 lets the kernel pick
     * (dp_xport_local says which). DPDK: one non-zero address shared by
     * all, distinct non-zero ports. Index i is the local_idx of sends and
     * of delivered messages (the node: 0 peer, 1 client). */
    struct dp_endpoint local[DP_XPORT_LOCAL_MAX];
    uint32_t n_local;               /* 1..DP_XPORT_LOCAL_MAX */
    uint64_t cluster_id;            /* non-zero */
    uint64_t self_id;               /* non-zero: our member ID, the sender of our frames */
    uint32_t mtu;                   /* IP MTU, DP_MTU_MIN..DP_NET_MTU_MAX (0: 1500) */
    uint32_t batch_max;             /* UDP: frames per sendmmsg / recvmmsg (0: 64);
                                     * DPDK bursts are DP_LCORE_BURST */
    uint32_t sock_buf_bytes;        /* UDP: SO_SNDBUF / SO_RCVBUF (0: the kernel's) */
    struct dp_reasm_config reasm;   /* per local endpoint; the limit on a message's size */
    /* dp_xport_wait's policy, both kinds; sleep_us_min == 0 takes
     * dp_idle_conf_default(idle.policy). */
    struct dp_idle_conf idle;
    /* DPDK only. */
    const char *eal_args;    /* as given to nicraftd --dpdk-args: words split on spaces
                              * (no quoting), e.g. "--no-huge --no-pci
                              * --vdev=net_af_packet0,iface=nrv1 -l 0" */
    const char *lcores;      /* EAL -l list, or NULL when eal_args has it; the first
                              * lcore is the calling thread's, the poller */
    const char *file_prefix; /* EAL --file-prefix (distinct per process on a host),
                              * or NULL when eal_args has it */
    uint32_t n_mbufs;        /* the port's pool; 0: 8191 */
};

struct dp_xport;

/* Counters of a transport, copied out by dp_xport_stats. */
struct dp_xport_stats {
    struct dp_stats codec;  /* summed over the local endpoints: frames, messages,
                             * drops by reason (DP_DROP_OTHER_CLUSTER, ...) */
    uint64_t tx_busy;       /* sends refused with NR_EBUSY */
    uint64_t waits;         /* dp_xport_wait calls */
    uint64_t wait_yields;   /* ... that gave the CPU away with sched_yield */
    uint64_t wait_blocks;   /* ... that blocked (on the wake-up fd, or slept) */
    uint64_t wait_wakeups;  /* blocks that ended because traffic arrived */
    /* DPDK only (zero over UDP). */
    uint64_t nic_rx_frames; /* Ethernet frames received on the queue */
    uint64_t nic_tx_frames; /* Ethernet frames the NIC took */
    uint64_t no_neigh;      /* sends refused for an unresolved neighbour (ARP sent) */
    uint64_t tx_full;       /* frames refused or dropped because TX was full */
    uint64_t no_mbuf;       /* frames refused because the pool was empty */
    uint64_t arp_replied;
    uint64_t arp_learned;
    uint64_t icmp_replied;
    uint64_t net_drops[DP_NET_DROP__COUNT]; /* Ethernet / IPv4 / UDP drops (dp_net.h) */
};

/* Opens the transport. UDP: a socket per local endpoint. DPDK: rte_eal_init
 * with cfg->eal_args (once per process: a second DPDK transport in one
 * process is refused), the first port with one queue pair, the poller on
 * queue 0 and its wake-up fd (see dp_xport_wait). Errors:
 *   NR_EINVAL  a configuration field out of range or an EAL argument
 *              string we refuse (too long, quotes, -l or --file-prefix given
 *              twice); rte_eal_init refusing the arguments, with the EAL's
 *              complaint in the sentence;
 *   NR_EBUSY   DPDK already used by this process;
 *   NR_EIO     a system call or the port failed (its reason in the sentence);
 *   NR_ENOMEM. */
int dp_xport_create(const struct dp_xport_config *cfg, struct dp_xport **out, struct nr_err *err);

/* Frames not flushed are lost; NULL is fine. DPDK: closes the port and
 * cleans up the EAL (no DPDK transport can follow in this process). */
void dp_xport_destroy(struct dp_xport *x);

/* Local endpoint i as bound (UDP: the port the kernel picked for port 0). */
struct dp_endpoint dp_xport_local(const struct dp_xport *x, uint32_t local_idx);

/* Queues one message for receiver_id at dst in group_id, leaving from our
 * local endpoint local_idx (its port is the frame's source port, where the
 * answer comes back). Consecutive messages to the same destination share a
 * frame up to the MTU; larger ones are fragmented. Returns:
 *   0          queued (dp_xport_flush sends what is pending);
 *   NR_EBUSY   not queued: back off, poll, retry. UDP: the socket buffer is
 *              full. DPDK: dst's MAC is unknown (an ARP request went out;
 *              nothing is queued: raft retransmits, clients retry), the mbuf
 *              pool is empty or TX is full. A fragmented message can be half
 *              sent; the receiver expires it;
 *   NR_EINVAL  len above cfg->reasm.msg_len_max, receiver_id is us,
 *              local_idx out of range, a DPDK destination 0.0.0.0 or port 0;
 *   NR_EIO     UDP: sendmmsg failed otherwise (that frame is dropped). */
int dp_xport_send(struct dp_xport *x, uint32_t local_idx, const struct dp_endpoint *dst,
                  uint64_t receiver_id, uint32_t group_id, uint16_t kind, const void *data,
                  uint32_t len, struct nr_err *err);

/* Sends every pending frame. 0, NR_EBUSY when the kernel or NIC took only
 * part (the rest stays queued, in order), NR_EIO (UDP) on another failure. */
int dp_xport_flush(struct dp_xport *x, struct nr_err *err);

/* Receives what waits (one burst per local endpoint) and calls fn for each
 * whole message: m->src_ipv4/src_port is the endpoint the datagram came
 * from (answer there), m->local_idx the local endpoint it came to. fn may
 * call dp_xport_send and dp_xport_flush, never dp_xport_poll; m is valid
 * during the call only. Over DPDK, ARP requests and ICMP echo requests are
 * answered here. Returns the number of messages delivered, or NR_EIO when
 * recvmmsg fails (UDP). Drops are counted (dp_xport_stats), not returned. */
int dp_xport_poll(struct dp_xport *x, uint64_t now_ns, dp_msg_fn *fn, void *ctx,
                  struct nr_err *err);

/* Called after a poller iteration that found no work: waits at most
 * timeout_us for traffic, following cfg->idle. busy: returns at once.
 * adaptive: the first spin_polls calls in a row return at once, the next
 * yield_polls call sched_yield(), then each call blocks: on the wake-up fd
 * when there is one, for up to timeout_us (UDP: the sockets; DPDK
 * net_af_packet: the PMD's AF_PACKET sockets, readable when frames wait in
 * their RX rings), else in a sleep growing from sleep_us_min to
 * sleep_us_max, never longer than timeout_us. A dp_xport_poll that delivers
 * a message or a dp_xport_send starts the sequence again. Returns 1 when
 * the fd says traffic waits, 0 otherwise, NR_EIO when epoll fails. */
int dp_xport_wait(struct dp_xport *x, uint32_t timeout_us, struct nr_err *err);

/* True when dp_xport_wait can block on an fd that traffic wakes (always
 * over UDP; over DPDK when the PMD offers one, as net_af_packet does). */
bool dp_xport_has_wake_fd(const struct dp_xport *x);

/* Copies the counters out (the poller's thread; others get them through a
 * ring). */
void dp_xport_stats(const struct dp_xport *x, struct dp_xport_stats *out);

/* CLOCK_MONOTONIC in nanoseconds, for now_ns. */
uint64_t dp_xport_now_ns(void);

/* Splits an EAL argument string on spaces into argv (argv[0] = "nicraftd",
 * then -l and --file-prefix when given, then the words), pointing into
 * store (store_len bytes); argv[*argc] is NULL. NR_EINVAL (naming the
 * word) for quotes or control characters, more than
 * DP_XPORT_EAL_WORDS_MAX words or DP_XPORT_EAL_ARGS_LEN_MAX bytes, or -l /
 * --file-prefix both in args and given separately. Exposed for tests. */
int dp_xport_eal_split(const char *args, const char *lcores, const char *file_prefix,
                       char *store, uint32_t store_len, char **argv, int argv_max, int *argc,
                       struct nr_err *err);

/* Changes our member ID (the sender of our frames, the receiver we
 * accept): a joining node learns it from the cluster (node_join.c). */
void dp_xport_set_self(struct dp_xport *x, uint64_t self_id);

/* Adds fd to what dp_xport_wait blocks on (readable: wake up), e.g. the
 * io_uring of the poller's WAL. NR_EINVAL when this transport has no
 * wake-up descriptor (a DPDK PMD without one: dp_xport_has_wake_fd),
 * NR_EIO when epoll refuses it. */
int dp_xport_add_wake_fd(struct dp_xport *x, int fd, struct nr_err *err);

#endif
