/* dp_udp.h - the nicraft frame codec over non-blocking kernel UDP sockets
 * (recvmmsg, sendmmsg, epoll): for development, tests and clients without
 * DPDK (SPEC section 1, "Transports"). Also the udp://IP:PORT URL parser
 * both transports use, and a two-process throughput benchmark.
 *
 * One struct dp_udp belongs to one thread. Everything is allocated by
 * dp_udp_create: batch_max frame buffers to send, batch_max to receive, and
 * the reassembly buffer; dp_udp_send / dp_udp_flush / dp_udp_poll allocate
 * nothing. */
#ifndef NICRAFT_DP_UDP_H
#define NICRAFT_DP_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "dp_frame.h"
#include "dp_reasm.h"
#include "nr_err.h"

/* An IPv4 address and UDP port, both in host byte order. */
struct dp_endpoint {
    uint32_t ipv4; /* 127.0.0.1 is 0x7f000001 */
    uint16_t port;
};

#define DP_URL_LEN_MAX 64u      /* "udp://255.255.255.255:65535" fits easily */
#define DP_ENDPOINT_STR_LEN 32u /* buffer for dp_endpoint_format */

/* Parses "udp://A.B.C.D:PORT" strictly: the scheme in lower case, four
 * decimal octets 0..255 without leading zeros or signs, a port 1..65535
 * without leading zeros (port 0 only when allow_port_zero, for "pick one"
 * when binding), nothing else (no host names, no IPv6, no path, no spaces).
 * NR_EINVAL with a sentence quoting the URL and naming the faulty part. */
int dp_url_parse(const char *url, bool allow_port_zero, struct dp_endpoint *out,
                 struct nr_err *err);

/* Writes "udp://A.B.C.D:PORT" into buf (at least DP_ENDPOINT_STR_LEN bytes)
 * and returns buf. */
char *dp_endpoint_format(const struct dp_endpoint *ep, char *buf, size_t buf_len);

#define DP_UDP_BATCH_MAX 256u

struct dp_udp_config {
    struct dp_endpoint bind; /* port 0: the kernel picks (dp_udp_local says which) */
    uint64_t cluster_id;     /* non-zero */
    uint64_t self_id;        /* non-zero; our member ID, the sender of our frames */
    uint32_t mtu;            /* IP MTU, DP_MTU_MIN .. DP_MTU_JUMBO_MAX */
    uint32_t batch_max;      /* frames per sendmmsg / recvmmsg, 1 .. DP_UDP_BATCH_MAX */
    uint32_t sock_buf_bytes; /* SO_SNDBUF / SO_RCVBUF wanted (0: the kernel's default) */
    struct dp_reasm_config reasm;
    uint16_t local_idx;      /* copied into every delivered dp_msg.local_idx (dp_xport
                              * numbers its endpoints, one socket each); 0 otherwise */
};

struct dp_udp;

/* Opens a non-blocking UDP socket bound to cfg->bind, its epoll instance
 * and every buffer. NR_EINVAL for a configuration field out of range,
 * NR_EIO when a system call fails (errno text in the sentence), NR_ENOMEM. */
int dp_udp_create(const struct dp_udp_config *cfg, struct dp_udp **out, struct nr_err *err);

/* Closes and frees; NULL is fine. Frames not flushed are lost. */
void dp_udp_destroy(struct dp_udp *u);

/* The address the socket is bound to (the port the kernel picked). */
struct dp_endpoint dp_udp_local(const struct dp_udp *u);

/* The epoll descriptor: readable when datagrams wait (for an outer loop). */
int dp_udp_epoll_fd(const struct dp_udp *u);

/* Queues one message for receiver (at dst) in group. Consecutive messages
 * to the same (dst, receiver, group) share a frame until it is full; a
 * message too large for one frame is cut into fragments. Full frames wait
 * in the batch; a full batch is sent (sendmmsg). Returns:
 *   0          queued (call dp_udp_flush to send what is pending);
 *   NR_EBUSY   the kernel's send buffer is full and the message could not
 *              be queued: back off, poll, try again (nothing of it queued;
 *              a fragmented message can be half sent, and then expires at
 *              the receiver);
 *   NR_EINVAL  len above the reassembly limit of cfg (the peer's is assumed
 *              the same), or group/receiver invalid;
 *   NR_EIO     sendmmsg failed otherwise (errno in the sentence). */
int dp_udp_send(struct dp_udp *u, const struct dp_endpoint *dst, uint64_t receiver_id,
                uint32_t group_id, uint16_t kind, const void *data, uint32_t len,
                struct nr_err *err);

/* Closes the open frame and sends every pending frame. 0 when all left,
 * NR_EBUSY when the kernel took only part (the rest stays queued, in
 * order), NR_EIO on another failure. */
int dp_udp_flush(struct dp_udp *u, struct nr_err *err);

/* Frames waiting to be sent (the open one included). */
uint32_t dp_udp_pending(const struct dp_udp *u);

/* Receives one burst (recvmmsg, at most batch_max datagrams, non-blocking)
 * and calls fn for each whole message (dp_rx_payload_from: the message
 * carries the datagram's source address and cfg->local_idx); fn may call
 * dp_udp_send and dp_udp_flush on u (to answer), never dp_udp_poll. Drops are counted
 * in the stats, not returned. Returns the number of messages delivered
 * (0 when nothing waited), or NR_EIO when recvmmsg fails. */
int dp_udp_poll(struct dp_udp *u, uint64_t now_ns, dp_msg_fn *fn, void *ctx, struct nr_err *err);

/* Waits up to timeout_ms (0: do not wait) for datagrams; 1 when some wait,
 * 0 on timeout, NR_EIO on failure. */
int dp_udp_wait(struct dp_udp *u, int timeout_ms, struct nr_err *err);

/* Counters of this transport (drops by reason, frames, messages). */
const struct dp_stats *dp_udp_stats(const struct dp_udp *u);

/* CLOCK_MONOTONIC in nanoseconds, for now_ns arguments. */
uint64_t dp_udp_now_ns(void);

/* ---- Benchmark: two processes over loopback. ---- */

struct dp_udp_bench_result {
    uint64_t msgs_sent;
    uint64_t msgs_received; /* by the receiving process */
    uint64_t frames_sent;
    double seconds;    /* first send to the receiver's last ack */
    double msgs_per_s; /* msgs_received / seconds */
    double frames_per_s;
};

/* Forks a receiver, sends n_msgs messages of msg_len bytes (8 .. 65536) to
 * it over 127.0.0.1 (ports picked by the kernel), with at most window_msgs
 * unacknowledged (the receiver acknowledges counts every window / 4; 0:
 * 65536 for messages up to 256 bytes, else 16384), and waits for it. The
 * two processes are pinned to two different CPUs when there are two (busy
 * pollers sharing a core see 8 ms round trips). Blocks for the whole run
 * (a stall of 0.5 s without acknowledgement ends it: lost messages show as
 * msgs_received < msgs_sent); not for the fast path. NR_EIO when a system
 * call or the child fails, NR_EINVAL for sizes out of range. */
int dp_udp_bench(uint32_t msg_len, uint64_t n_msgs, uint32_t mtu, uint32_t window_msgs,
                 struct dp_udp_bench_result *out, struct nr_err *err);

/* Changes the member ID our frames carry and the receiver ID we accept
 * (a joining node learns its ID from the cluster after it started
 * listening). Frames already queued keep the old sender. */
void dp_udp_set_self(struct dp_udp *u, uint64_t self_id);

#endif
