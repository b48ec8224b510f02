/* dp_bench_role.c - one half of dataplane-bench (dataplane_bench.c runs
 * two of them in their namespaces): a raw or nicraft sender or receiver over
 * DPDK or kernel UDP, printing one `result ...` line. */
#include <sys/epoll.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "dp_frame.h"
#include "dp_idle.h"
#include "dp_lcore.h"
#include "dp_net.h"
#include "dp_port.h"
#include "dp_reasm.h"

#include "dp_bench.h"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The TSC, calibrated against CLOCK_MONOTONIC at start-up: in this VM a
 * vDSO clock_gettime per burst was a third of a fast receiver's time. */
static double g_tsc_per_s;
static uint64_t g_tsc0;

static void tsc_calibrate(void)
{
    double t0 = mono_s();
    uint64_t c0 = __builtin_ia32_rdtsc();
    while (mono_s() - t0 < 0.02) {
    }
    g_tsc_per_s = (double)(__builtin_ia32_rdtsc() - c0) / (mono_s() - t0);
    g_tsc0 = c0;
}

double dp_bench_now_s(void)
{
    if (g_tsc_per_s <= 0)
        return mono_s();
    return (double)(__builtin_ia32_rdtsc() - g_tsc0) / g_tsc_per_s;
}

/* ------------------------------------------------------------------ roles */

struct role_opts {
    const char *role, *transport, *vdev, *prefix, *lcore, *ip, *peer;
    uint32_t size;
    double seconds;     /* throughput phase (tx) or lifetime bound (rx) */
    uint32_t n_rtt, n_wake, rounds;
    enum dp_idle_policy idle;
};

/* What the receiver saw in one phase: data units (raw frames or nicraft
 * messages), nicraft frames, when the first and the last arrived (taken
 * once per burst), and the idle policy's steps between them. */
struct phase_stat {
    uint64_t n, frames;
    double t_first, t_last;
    uint64_t yields_first, blocks_first, yields_last, blocks_last;
};

/* An I/O endpoint: a DPDK poller or a kernel UDP socket. */
struct io {
    bool is_udp;
    int wait_fd;            /* DPDK adaptive: epoll over the PMD's sockets, or -1 */
    struct dp_port port;
    struct dp_lcore lc;
    int fd, epfd;
    struct dp_idle idle;    /* udp; DPDK uses lc.idle */
    struct sockaddr_in peer_sa;
    uint32_t peer_ip_be;
    /* udp send batch */
    uint8_t (*txbuf)[FRAME_CAP];
    uint32_t txlen[UDP_BATCH];
    uint32_t n_txq;
    uint8_t (*rxbuf)[FRAME_CAP + 64];
    /* what the handler sees */
    struct dp_rx_filter filter;
    struct dp_stats stats;
    struct dp_frame_addr addr;
    volatile bool stop;
    /* rx side: the phase running (-1 before the first) and each one's counts */
    int32_t phase;
    struct phase_stat ph[PHASES_MAX];
    double t_frame;          /* when the burst being decoded arrived; 0: not yet taken */
    /* tx side: the echo seen */
    uint32_t want_seq;
    bool got_echo;
    /* echo: pending reply */
    uint32_t reply_ip_be;
    uint16_t reply_port_be;
    struct sockaddr_in reply_sa;
};

static struct io g_io;

/* Phases 0, 2, 4 ... are raw, 1, 3, 5 ... nicraft; -1 is before the first. */
enum phase_kind { PHASE_RAW = 0, PHASE_NICRAFT = 1 };

static bool in_phase(const struct io *io, enum phase_kind kind)
{
    return io->phase >= 0 && io->phase % 2 == (int32_t)kind;
}
static uint16_t g_udp_port = 7200; /* --port: distinct per orchestrator run */

static void io_fail(const char *what, const struct nr_err *err)
{
    fprintf(stderr, "dataplane-bench: %s: %s\n", what, err != NULL ? err->msg : strerror(errno));
    exit(1);
}

static uint8_t *io_begin(struct io *io)
{
    if (!io->is_udp)
        return dp_lcore_tx_begin(&io->lc, io->peer_ip_be, FRAME_CAP);
    return io->n_txq < UDP_BATCH ? io->txbuf[io->n_txq] : NULL;
}

static void io_flush(struct io *io);

static void io_commit(struct io *io, uint16_t dst_port_be, uint32_t len)
{
    if (!io->is_udp) {
        dp_lcore_tx_commit(&io->lc, io->peer_ip_be, dst_port_be, len);
        return;
    }
    io->txlen[io->n_txq++] = len;
    if (io->n_txq == UDP_BATCH)
        io_flush(io);
}

static void io_abort(struct io *io)
{
    if (!io->is_udp)
        dp_lcore_tx_abort(&io->lc);
}

static void io_flush(struct io *io)
{
    if (!io->is_udp) {
        dp_lcore_flush(&io->lc);
        return;
    }
    struct mmsghdr mh[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    memset(mh, 0, sizeof(mh));
    for (uint32_t i = 0; i < io->n_txq; i++) {
        iov[i] = (struct iovec){.iov_base = io->txbuf[i], .iov_len = io->txlen[i]};
        mh[i].msg_hdr.msg_iov = &iov[i];
        mh[i].msg_hdr.msg_iovlen = 1;
        mh[i].msg_hdr.msg_name = &io->peer_sa;
        mh[i].msg_hdr.msg_namelen = sizeof(io->peer_sa);
    }
    if (io->n_txq > 0)
        sendmmsg(io->fd, mh, io->n_txq, MSG_DONTWAIT); /* a full socket drops, like a NIC */
    io->n_txq = 0;
}

static void on_msg(void *ctx, const struct dp_msg *m);

static void handle_payload(struct io *io, const uint8_t *p, uint32_t len, uint32_t src_ip_be,
                           uint16_t src_port_be)
{
    io->reply_ip_be = src_ip_be;
    io->reply_port_be = src_port_be;
    if (in_phase(io, PHASE_NICRAFT))
        io->ph[io->phase].frames++;
    if (io->t_frame == 0) /* once per burst that brought something, as raw_rx_poll */
        io->t_frame = dp_bench_now_s();
    dp_rx_payload(&io->filter, NULL, p, len, 0, on_msg, io, &io->stats, NULL);
}

static void dpdk_on_rx(void *ctx, struct dp_lcore *lc, const struct dp_net_rx *rx)
{
    handle_payload(ctx, rx->payload, rx->payload_len, rx->src_ip_be, rx->src_port_be);
}

static uint32_t io_poll(struct io *io)
{
    io->t_frame = 0;
    if (!io->is_udp)
        return dp_lcore_poll(&io->lc);
    struct mmsghdr mh[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sockaddr_in from[UDP_BATCH];
    memset(mh, 0, sizeof(mh));
    for (uint32_t i = 0; i < UDP_BATCH; i++) {
        iov[i] = (struct iovec){.iov_base = io->rxbuf[i], .iov_len = FRAME_CAP + 64};
        mh[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1,
                                        .msg_name = &from[i], .msg_namelen = sizeof(from[i])};
    }
    int n = recvmmsg(io->fd, mh, UDP_BATCH, MSG_DONTWAIT, NULL);
    for (int i = 0; i < n; i++) {
        io->reply_sa = from[i];
        handle_payload(io, io->rxbuf[i], mh[i].msg_len, from[i].sin_addr.s_addr,
                       from[i].sin_port);
    }
    io_flush(io);
    return n > 0 ? (uint32_t)n : 0;
}

static void io_idle(struct io *io, uint32_t n_work)
{
    dp_idle_after_poll(io->is_udp ? &io->idle : &io->lc.idle, n_work);
}

/* Sends one frame with one message of kind to the peer (or the last sender). */
static bool send_one(struct io *io, uint16_t kind, const uint8_t *data, uint32_t len,
                     bool to_reply)
{
    if (to_reply && io->is_udp)
        io->peer_sa = io->reply_sa;
    if (to_reply && !io->is_udp)
        io->peer_ip_be = io->reply_ip_be;
    uint8_t *buf = io_begin(io);
    if (buf == NULL)
        return false;
    struct dp_builder b;
    dp_builder_init(&b, &io->addr, buf, FRAME_CAP);
    if (dp_builder_add(&b, kind, data, len, NULL) != 0) {
        io_abort(io);
        return false;
    }
    io_commit(io, to_reply ? io->reply_port_be : htons(g_udp_port), dp_builder_finish(&b));
    io_flush(io);
    return true;
}

/* One unit of data in the running phase, arrived at t. */
static void phase_count(struct io *io, uint64_t n, double t)
{
    const struct dp_idle *idle = io->is_udp ? &io->idle : &io->lc.idle;
    struct phase_stat *ph = &io->ph[io->phase];
    if (ph->n == 0) {
        ph->t_first = t;
        ph->yields_first = idle->n_yields;
        ph->blocks_first = idle->n_blocks;
    }
    ph->t_last = t;
    ph->yields_last = idle->n_yields;
    ph->blocks_last = idle->n_blocks;
    ph->n += n;
}

/* A phase marker: switch to phase p (markers repeat; only a later phase
 * counts), or stop. */
static void phase_mark(struct io *io, uint32_t p)
{
    if (p == PHASE_STOP)
        io->stop = true;
    else if (p < PHASES_MAX && (int32_t)p > io->phase)
        io->phase = (int32_t)p;
}

static void on_msg(void *ctx, const struct dp_msg *m)
{
    struct io *io = ctx;
    uint32_t seq = 0;
    if (m->len >= 4)
        memcpy(&seq, m->data, 4);
    switch (m->kind) {
    case KIND_DATA:
        if (in_phase(io, PHASE_NICRAFT)) /* late frames of another phase: not counted */
            phase_count(io, 1, io->t_frame);
        break;
    case KIND_PING:
        if (io->addr.sender_id == 2) /* the rx side echoes */
            send_one(io, KIND_PING, m->data, m->len, true);
        else if (seq == io->want_seq)
            io->got_echo = true;
        break;
    case KIND_PHASE:
        if (m->len == 4)
            phase_mark(io, seq);
        break;
    case KIND_STOP:
        io->stop = true;
        break;
    }
}

static void io_open(struct io *io, const struct role_opts *o, bool is_rx)
{
    struct nr_err err = {0};
    struct dp_idle_conf ic;
    dp_idle_conf_default(&ic, o->idle);
    memset(io, 0, sizeof(*io));
    io->phase = -1;
    uint64_t self = is_rx ? 2 : 1;
    io->filter = (struct dp_rx_filter){.cluster_id = CLUSTER_ID, .self_id = self};
    io->addr = (struct dp_frame_addr){.cluster_id = CLUSTER_ID, .sender_id = self,
                                      .receiver_id = 3 - self, .group_id = GROUP_ID};
    struct in_addr a;
    inet_pton(AF_INET, o->ip, &a);
    if (o->peer != NULL) {
        struct in_addr pa;
        inet_pton(AF_INET, o->peer, &pa);
        io->peer_ip_be = pa.s_addr;
        io->peer_sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr = pa,
                                           .sin_port = htons(g_udp_port)};
    }
    if (strcmp(o->transport, "udp") == 0) {
        cpu_set_t cpus; /* EAL pins the DPDK roles; pin the socket ones alike */
        CPU_ZERO(&cpus);
        CPU_SET(atoi(o->lcore), &cpus);
        sched_setaffinity(0, sizeof(cpus), &cpus);
        io->is_udp = true;
        io->txbuf = calloc(UDP_BATCH, sizeof(*io->txbuf));
        io->rxbuf = calloc(UDP_BATCH, sizeof(*io->rxbuf));
        io->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int sz = 8 << 20;
        setsockopt(io->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        setsockopt(io->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr = a,
                                 .sin_port = is_rx ? htons(g_udp_port) : 0};
        if (io->fd < 0 || bind(io->fd, (struct sockaddr *)&me, sizeof(me)) != 0)
            io_fail("udp bind", NULL);
        io->epfd = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN};
        epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->fd, &ev);
        if (dp_idle_init(&io->idle, &ic, io->epfd, &err) != 0)
            io_fail("idle", &err);
        return;
    }
    struct dp_port_conf pc = {.file_prefix = o->prefix, .lcores = o->lcore, .vdev = o->vdev,
                              .no_huge = true, .no_pci = true, .no_shconf = true,
                              .mem_mb = 256, .n_pollers = 1, .n_mbufs = 8191};
    struct dp_net net;
    if (dp_port_eal_init(&pc, &err) != 0 || dp_port_open(&io->port, &pc, &err) != 0)
        io_fail("port", &err);
    if (dp_net_init(&net, io->port.mac, a.s_addr, htons(g_udp_port), 1500, &err) != 0)
        io_fail("net", &err);
    /* adaptive blocks on the PMD's sockets where it has them (af_packet,
     * af_xdp), else sleeps (memif). */
    io->wait_fd = o->idle == DP_IDLE_ADAPTIVE ? dp_port_rx_wait_fd(&io->port, NULL) : -1;
    struct dp_lcore_conf lconf = {.index = 0, .idle = ic, .idle_wait_fd = io->wait_fd,
                                  .on_rx = dpdk_on_rx, .ctx = io};
    if (dp_lcore_init(&io->lc, &io->port, &net, &lconf, &io->stop, &err) != 0)
        io_fail("lcore", &err);
}

/* ---- Phases ----
 *
 * One sender and one receiver process measure both rates: phase 0, 2, 4 ...
 * raw, 1, 3, 5 ... nicraft, so that each nicraft phase has a raw one just
 * before and just after it between the same two processes (the issue's
 * "same PMD between the same two processes"; on this host memif's rate
 * also changes with the process pair, 2 to 13 Mpps, so separate pairs made
 * ratios of 0.25 and 3.9). Between phases the sender is silent for
 * PHASE_GAP_S, then marks the next phase in the receiver's current framing
 * (a raw marker ends a raw phase, a nicraft KIND_PHASE message a nicraft
 * one), three times. */

#define PHASE_GAP_S 0.03

/* ---- raw: no nicraft logic. ---- */

static void raw_template(uint8_t *f, uint32_t len)
{
    memset(f, 0xff, 6);                               /* broadcast: the bridge floods it */
    memcpy(f + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 1}, 6);
    f[12] = 0x88, f[13] = 0xb5;                        /* local experimental ethertype */
    for (uint32_t i = 14; i < len; i++)
        f[i] = (uint8_t)i;
}

/* A raw frame is the size of the nicraft frame that carries one message
 * alone (the "same-size frames"): Ethernet/IPv4/UDP (DPDK only),
 * the nicraft header, a record header and the message. */
static uint32_t raw_len(const struct io *io, const struct role_opts *o)
{
    return (io->is_udp ? 0 : DP_NET_HDR_LEN) + DP_HDR_LEN + DP_MSG_HDR_LEN + o->size;
}

/* A raw marker: an Ethernet frame of RAW_ETHERTYPE_MARK with the phase after
 * the header, or a UDP datagram "PHAS" + phase (raw data datagrams start
 * with raw_template's broadcast address, 0xff bytes). */
static void raw_send_mark(struct io *io, uint32_t phase)
{
    for (int i = 0; i < 3; i++) {
        if (io->is_udp) {
            memcpy(io->txbuf[0], RAW_UDP_MARK, 4);
            memcpy(io->txbuf[0] + 4, &phase, 4);
            io->txlen[0] = 8;
            io->n_txq = 1;
            io_flush(io);
        } else {
            struct rte_mbuf *m = rte_pktmbuf_alloc(io->lc.pool);
            if (m == NULL)
                break;
            uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
            raw_template(f, 60);
            f[12] = RAW_ETHERTYPE_MARK >> 8;
            f[13] = RAW_ETHERTYPE_MARK & 0xff;
            memcpy(f + 14, &phase, 4);
            m->data_len = m->pkt_len = 60;
            if (rte_eth_tx_burst(io->port.port_id, 0, &m, 1) == 0)
                rte_pktmbuf_free(m);
        }
        usleep(1000);
    }
}

/* One receive of a raw phase: counts data frames, takes markers. */
static void raw_rx_poll(struct io *io, const struct role_opts *o)
{
    uint32_t got = 0;
    if (io->is_udp) {
        struct mmsghdr mh[UDP_BATCH];
        struct iovec iov[UDP_BATCH];
        memset(mh, 0, sizeof(mh));
        for (uint32_t i = 0; i < UDP_BATCH; i++) {
            iov[i] = (struct iovec){.iov_base = io->rxbuf[i], .iov_len = FRAME_CAP + 64};
            mh[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int k = recvmmsg(io->fd, mh, UDP_BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < k; i++) {
            const uint8_t *d = io->rxbuf[i];
            if (mh[i].msg_len == 8 && memcmp(d, RAW_UDP_MARK, 4) == 0) {
                uint32_t p;
                memcpy(&p, d + 4, 4);
                phase_mark(io, p);
            } else if (mh[i].msg_len == raw_len(io, o)) {
                got++;
            }
        }
    } else {
        struct rte_mbuf *pkts[BURST];
        uint16_t k = rte_eth_rx_burst(io->port.port_id, 0, pkts, BURST);
        for (uint16_t i = 0; i < k; i++) {
            const uint8_t *f = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
            if (f[12] == 0x88 && f[13] == 0xb5) {
                got++;
            } else if (f[12] == (RAW_ETHERTYPE_MARK >> 8) &&
                       f[13] == (RAW_ETHERTYPE_MARK & 0xff) && pkts[i]->data_len >= 18) {
                uint32_t p;
                memcpy(&p, f + 14, 4);
                phase_mark(io, p);
            }
        }
        rte_pktmbuf_free_bulk(pkts, k);
    }
    if (got > 0 && in_phase(io, PHASE_RAW))
        phase_count(io, got, dp_bench_now_s());
}

/* Blasts raw frames (raw_len bytes) for s seconds. */
static void raw_blast(struct io *io, const struct role_opts *o, double s)
{
    uint32_t len = raw_len(io, o);
    uint8_t tmpl[FRAME_CAP + 64];
    raw_template(tmpl, len);
    double end = dp_bench_now_s() + s;
    while (dp_bench_now_s() < end) {
        if (io->is_udp) {
            for (uint32_t i = 0; i < UDP_BATCH; i++) {
                memcpy(io->txbuf[i], tmpl, len);
                io->txlen[i] = len;
            }
            io->n_txq = UDP_BATCH;
            io_flush(io);
            continue;
        }
        struct rte_mbuf *pkts[BURST];
        if (rte_pktmbuf_alloc_bulk(io->lc.pool, pkts, BURST) != 0)
            continue;
        for (uint32_t i = 0; i < BURST; i++) {
            memcpy(rte_pktmbuf_mtod(pkts[i], uint8_t *), tmpl, len);
            pkts[i]->data_len = (uint16_t)len;
            pkts[i]->pkt_len = len;
        }
        uint16_t k = rte_eth_tx_burst(io->port.port_id, 0, pkts, BURST);
        if (k < BURST)
            rte_pktmbuf_free_bulk(pkts + k, BURST - k);
    }
}

/* ---- nicraft ---- */

static void nr_send_mark(struct io *io, uint32_t phase)
{
    for (int i = 0; i < 3; i++) {
        send_one(io, KIND_PHASE, (const uint8_t *)&phase, 4, false);
        io_poll(io);
        usleep(1000);
    }
}

/* Blasts nicraft messages for s seconds: frames filled to the MTU. */
static void nr_blast(struct io *io, const struct role_opts *o, double s, uint64_t *seq)
{
    uint8_t msg[64];
    memset(msg, 0xa5, sizeof(msg));
    double end = dp_bench_now_s() + s;
    while (dp_bench_now_s() < end) {
        for (uint32_t f = 0; f < BURST; f++) {
            uint8_t *buf = io_begin(io);
            if (buf == NULL)
                break;
            struct dp_builder b;
            dp_builder_init(&b, &io->addr, buf, FRAME_CAP);
            for (;;) {
                uint8_t *m = dp_builder_reserve(&b, KIND_DATA, o->size);
                if (m == NULL)
                    break;
                memcpy(m, seq, 4);
                if (o->size > 4)
                    memcpy(m + 4, msg, o->size - 4 < 64 ? o->size - 4 : 64);
                (*seq)++;
            }
            io_commit(io, htons(g_udp_port), dp_builder_finish(&b));
        }
        io_flush(io);
        io_poll(io);
    }
}

static double phase_rate(const struct phase_stat *ph)
{
    return ph->n > 1 && ph->t_last > ph->t_first ? (double)(ph->n - 1) / (ph->t_last - ph->t_first)
                                                 : 0;
}

/* The receiver: nicraft polling (echoing pings) until a raw phase begins,
 * raw polling in raw phases, until the sender's stop or the time bound. */
static int role_rx(struct io *io, const struct role_opts *o)
{
    double end = dp_bench_now_s() + o->seconds;
    uint64_t iter = 0;
    printf("ready\n");
    fflush(stdout);
    while (!io->stop && (++iter % 4096 != 0 || dp_bench_now_s() < end)) {
        if (in_phase(io, PHASE_RAW))
            raw_rx_poll(io, o); /* busy, as a plain receiver would */
        else
            io_idle(io, io_poll(io));
    }
    /* raw=r0,r2,... nr=r1,r3,... (0 for a phase that got fewer than two
     * units); the nicraft frames/s and idle steps over the nicraft phases. */
    char raw[256] = "", nr[256] = "";
    double nr_frames = 0, nr_time = 0;
    uint64_t yields = 0, blocks = 0;
    for (int32_t p = 0; p <= io->phase && p < (int32_t)PHASES_MAX; p++) {
        const struct phase_stat *ph = &io->ph[p];
        char *list = p % 2 == 0 ? raw : nr;
        size_t used = strlen(list);
        snprintf(list + used, 256 - used, "%s%.0f", used > 0 ? "," : "", phase_rate(ph));
        if (p % 2 == 1 && ph->n > 1) {
            nr_frames += (double)ph->frames;
            nr_time += ph->t_last - ph->t_first;
            yields += ph->yields_last - ph->yields_first;
            blocks += ph->blocks_last - ph->blocks_first;
        }
    }
    printf("result raw=%s nr=%s frames_per_s=%.0f drops=%" PRIu64 " idle_yields=%" PRIu64
           " idle_blocks=%" PRIu64 " wake_fd=%d\n",
           raw[0] != '\0' ? raw : "0", nr[0] != '\0' ? nr : "0",
           nr_time > 0 ? nr_frames / nr_time : 0, io->stats.drops[DP_DROP_BAD_CHECKSUM], yields,
           blocks, io->is_udp || io->wait_fd >= 0 ? 1 : 0);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Ping-pong n times with gap_s of silence before each; fills p50/p99 in us. */
static void nr_pingpong(struct io *io, const struct role_opts *o, uint32_t n, double gap_s,
                        double *p50, double *p99)
{
    static double rtt[RTT_MAX];
    uint8_t msg[2048];
    uint32_t got = 0;
    memset(msg, 0x5a, sizeof(msg));
    for (uint32_t i = 0; i < n && i < RTT_MAX; i++) {
        if (gap_s > 0) {
            double until = dp_bench_now_s() + gap_s;
            while (dp_bench_now_s() < until)
                io_idle(io, io_poll(io));
        }
        io->want_seq = 1000000 + i;
        io->got_echo = false;
        memcpy(msg, &io->want_seq, 4);
        double t0 = dp_bench_now_s();
        if (!send_one(io, KIND_PING, msg, o->size, false))
            continue;
        double limit = t0 + 0.1;
        uint64_t k = 0;
        while (!io->got_echo && (++k % 256 != 0 || dp_bench_now_s() < limit))
            io_idle(io, io_poll(io));
        if (io->got_echo)
            rtt[got++] = (dp_bench_now_s() - t0) * 1e6;
    }
    qsort(rtt, got, sizeof(rtt[0]), cmp_double);
    *p50 = got > 0 ? rtt[got / 2] : 0;
    *p99 = got > 0 ? rtt[got * 99 / 100] : 0;
}

/* The sender: neighbour resolution, round trips, then 2 * rounds + 1
 * throughput phases, raw first and last. */
static int role_tx(struct io *io, const struct role_opts *o)
{
    uint64_t seq = 0;
    double p50, p99, w50, w99;
    /* Resolve the peer (ARP), bounded. */
    double end = dp_bench_now_s() + 3;
    while (!io->is_udp && dp_net_neigh_lookup(&io->lc.net, io->peer_ip_be) == NULL &&
           dp_bench_now_s() < end) {
        if (dp_lcore_tx_begin(&io->lc, io->peer_ip_be, 0) != NULL)
            dp_lcore_tx_abort(&io->lc);
        dp_lcore_flush(&io->lc);
        dp_lcore_poll(&io->lc);
    }
    /* Round trips first, then the throughput phases (they may leave queues full). */
    nr_pingpong(io, o, o->n_rtt, 0, &p50, &p99);
    nr_pingpong(io, o, o->n_wake, 0.005, &w50, &w99);
    for (uint32_t p = 0; p <= 2 * o->rounds; p++) {
        usleep((useconds_t)(PHASE_GAP_S * 1e6));
        if (p % 2 == 0) {
            nr_send_mark(io, p); /* the receiver is in a nicraft phase or before the first */
            raw_blast(io, o, o->seconds);
        } else {
            raw_send_mark(io, p);
            nr_blast(io, o, o->seconds, &seq);
        }
    }
    usleep((useconds_t)(PHASE_GAP_S * 1e6));
    raw_send_mark(io, PHASE_STOP);
    printf("result tx_msgs=%" PRIu64 " rtt_p50=%.1f rtt_p99=%.1f wake_p50=%.1f wake_p99=%.1f\n",
           seq, p50, p99, w50, w99);
    return 0;
}

static int role_main(const struct role_opts *o)
{
    bool is_rx = strcmp(o->role, "rx") == 0;
    io_open(&g_io, o, is_rx);
    int rc = is_rx ? role_rx(&g_io, o) : role_tx(&g_io, o);
    fflush(stdout);
    if (!g_io.is_udp) {
        dp_lcore_fini(&g_io.lc);
        if (g_io.wait_fd >= 0)
            close(g_io.wait_fd);
        dp_port_close(&g_io.port);
        struct nr_err err;
        if (dp_eal_fini(&err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            rc = 1;
        }
    }
    return rc;
}

int dp_bench_role(int argc, char **argv)
{
    struct role_opts o = {.lcore = "0", .size = 64, .seconds = 1, .rounds = 3,
                          .idle = DP_IDLE_BUSY};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *key = argv[i], *v = argv[i + 1];
        if (strcmp(key, "--role") == 0) o.role = v;
        else if (strcmp(key, "--transport") == 0) o.transport = v;
        else if (strcmp(key, "--vdev") == 0) o.vdev = v;
        else if (strcmp(key, "--prefix") == 0) o.prefix = v;
        else if (strcmp(key, "--lcore") == 0) o.lcore = v;
        else if (strcmp(key, "--ip") == 0) o.ip = v;
        else if (strcmp(key, "--peer") == 0) o.peer = v;
        else if (strcmp(key, "--size") == 0) o.size = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(key, "--seconds") == 0) o.seconds = strtod(v, NULL);
        else if (strcmp(key, "--port") == 0) g_udp_port = (uint16_t)strtoul(v, NULL, 10);
        else if (strcmp(key, "--rtt") == 0) o.n_rtt = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(key, "--wake") == 0) o.n_wake = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(key, "--rounds") == 0) o.rounds = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(key, "--idle") == 0) {
            if (dp_idle_policy_parse(v, &o.idle, NULL) != 0)
                return 2;
        } else
            return 2;
    }
    if (o.role == NULL || o.transport == NULL || o.ip == NULL || o.size < 8 || o.size > 1300 ||
        o.n_rtt > RTT_MAX || o.n_wake > RTT_MAX || o.rounds < 1 || 2 * o.rounds + 1 > PHASES_MAX)
        return 2;
    tsc_calibrate();
    return role_main(&o);
}
