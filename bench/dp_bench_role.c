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
    const char *role, *mode, *transport, *vdev, *prefix, *lcore, *ip, *peer;
    uint32_t size;
    double seconds;     /* throughput phase (tx) or lifetime bound (rx) */
    uint32_t n_rtt, n_wake;
    enum dp_idle_policy idle;
};

/* An I/O endpoint: a DPDK poller or a kernel UDP socket. */
struct io {
    bool is_udp;
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
    /* rx side counters */
    uint64_t n_msgs, n_frames;
    double t_first, t_last;
    double t_frame;          /* when the burst being decoded arrived; 0: not yet taken */
    uint64_t yields_first, blocks_first; /* idle counters at the first data message */
    uint64_t yields_last, blocks_last;   /* and at the last */
    /* tx side: the echo seen */
    uint32_t want_seq;
    bool got_echo;
    /* echo: pending reply */
    uint32_t reply_ip_be;
    uint16_t reply_port_be;
    struct sockaddr_in reply_sa;
};

static struct io g_io;
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
    io->n_frames++;
    if (io->t_frame == 0) /* once per burst that brought something, as raw_rx */
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

static void on_msg(void *ctx, const struct dp_msg *m)
{
    struct io *io = ctx;
    uint32_t seq = 0;
    if (m->len >= 4)
        memcpy(&seq, m->data, 4);
    switch (m->kind) {
    case KIND_DATA: {
        const struct dp_idle *idle = io->is_udp ? &io->idle : &io->lc.idle;
        if (io->n_msgs == 0) {
            io->t_first = io->t_frame;
            io->yields_first = idle->n_yields;
            io->blocks_first = idle->n_blocks;
        }
        io->t_last = io->t_frame;
        io->yields_last = idle->n_yields;
        io->blocks_last = idle->n_blocks;
        io->n_msgs++;
        break;
    }
    case KIND_PING:
        if (io->addr.sender_id == 2) /* the rx side echoes */
            send_one(io, KIND_PING, m->data, m->len, true);
        else if (seq == io->want_seq)
            io->got_echo = true;
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
    struct dp_lcore_conf lconf = {.index = 0, .idle = ic, .idle_wait_fd = -1,
                                  .on_rx = dpdk_on_rx, .ctx = io};
    if (dp_lcore_init(&io->lc, &io->port, &net, &lconf, &io->stop, &err) != 0)
        io_fail("lcore", &err);
}

/* ---- raw: no nicraft logic. ---- */

static void raw_template(uint8_t *f, uint32_t len)
{
    memset(f, 0xff, 6);                               /* broadcast: the bridge floods it */
    memcpy(f + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 1}, 6);
    f[12] = 0x88, f[13] = 0xb5;                        /* local experimental ethertype */
    for (uint32_t i = 14; i < len; i++)
        f[i] = (uint8_t)i;
}

static int raw_rx(struct io *io, const struct role_opts *o)
{
    double end = dp_bench_now_s() + o->seconds;
    uint64_t n = 0, iter = 0;
    double t_first = 0, t_last = 0;
    bool stop = false;
    printf("ready\n");
    fflush(stdout);
    while (!stop && (++iter % 4096 != 0 || dp_bench_now_s() < end)) {
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
            for (int i = 0; i < k; i++)
                if (mh[i].msg_len == 1)
                    stop = true;
                else
                    got++;
        } else {
            struct rte_mbuf *pkts[BURST];
            uint16_t k = rte_eth_rx_burst(io->port.port_id, 0, pkts, BURST);
            for (uint16_t i = 0; i < k; i++) {
                const uint8_t *f = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
                if (f[12] == (RAW_ETHERTYPE_STOP >> 8) && f[13] == (RAW_ETHERTYPE_STOP & 0xff))
                    stop = true;
                else if (f[12] == 0x88 && f[13] == 0xb5)
                    got++;
            }
            rte_pktmbuf_free_bulk(pkts, k);
        }
        if (got > 0) {
            double t = dp_bench_now_s();
            if (n == 0)
                t_first = t;
            t_last = t;
            n += got;
        }
        io_idle(io, got);
    }
    double rate = n > 1 && t_last > t_first ? (double)(n - 1) / (t_last - t_first) : 0;
    printf("result rx_units=%" PRIu64 " rate=%.0f\n", n, rate);
    return 0;
}

static int raw_tx(struct io *io, const struct role_opts *o)
{
    uint32_t len = io->is_udp ? o->size : DP_NET_HDR_LEN + o->size;
    uint8_t tmpl[FRAME_CAP + 64];
    uint64_t sent = 0;
    raw_template(tmpl, len);
    double end = dp_bench_now_s() + o->seconds;
    while (dp_bench_now_s() < end) {
        if (io->is_udp) {
            for (uint32_t i = 0; i < UDP_BATCH; i++) {
                memcpy(io->txbuf[i], tmpl, len);
                io->txlen[i] = len;
            }
            io->n_txq = UDP_BATCH;
            io_flush(io);
            sent += UDP_BATCH;
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
        sent += k;
        if (k < BURST)
            rte_pktmbuf_free_bulk(pkts + k, BURST - k);
    }
    usleep(100000);
    for (int i = 0; i < 5; i++) { /* stop frames, a few in case of loss */
        if (io->is_udp) {
            io->txlen[0] = 1;
            io->n_txq = 1;
            io_flush(io);
        } else {
            struct rte_mbuf *m = rte_pktmbuf_alloc(io->lc.pool);
            if (m == NULL)
                break;
            raw_template(rte_pktmbuf_mtod(m, uint8_t *), 60);
            rte_pktmbuf_mtod(m, uint8_t *)[12] = RAW_ETHERTYPE_STOP >> 8;
            rte_pktmbuf_mtod(m, uint8_t *)[13] = RAW_ETHERTYPE_STOP & 0xff;
            m->data_len = m->pkt_len = 60;
            if (rte_eth_tx_burst(io->port.port_id, 0, &m, 1) == 0)
                rte_pktmbuf_free(m);
        }
        usleep(10000);
    }
    printf("result tx_units=%" PRIu64 "\n", sent);
    return 0;
}

/* ---- nicraft ---- */

static int nr_rx(struct io *io, const struct role_opts *o)
{
    double end = dp_bench_now_s() + o->seconds;
    uint64_t iter = 0;
    printf("ready\n");
    fflush(stdout);
    while (!io->stop && (++iter % 4096 != 0 || dp_bench_now_s() < end))
        io_idle(io, io_poll(io));
    double rate = io->n_msgs > 1 && io->t_last > io->t_first
                      ? (double)(io->n_msgs - 1) / (io->t_last - io->t_first) : 0;
    double frames = io->n_msgs > 1 && io->t_last > io->t_first
                        ? (double)io->n_frames / (io->t_last - io->t_first) : 0;
    /* Idle steps taken between the first and the last data message: an
     * adaptive receiver that yields or blocks while the stream runs. */
    printf("result rx_units=%" PRIu64 " rate=%.0f frames_per_s=%.0f drops=%" PRIu64
           " idle_yields=%" PRIu64 " idle_blocks=%" PRIu64 "\n",
           io->n_msgs, rate, frames, io->stats.drops[DP_DROP_BAD_CHECKSUM],
           io->yields_last - io->yields_first, io->blocks_last - io->blocks_first);
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

static int nr_tx(struct io *io, const struct role_opts *o)
{
    uint8_t msg[2048];
    uint64_t sent = 0;
    double p50, p99, w50, w99;
    memset(msg, 0xa5, sizeof(msg));
    /* Resolve the peer (ARP), bounded. */
    double end = dp_bench_now_s() + 3;
    while (!io->is_udp && dp_net_neigh_lookup(&io->lc.net, io->peer_ip_be) == NULL &&
           dp_bench_now_s() < end) {
        if (dp_lcore_tx_begin(&io->lc, io->peer_ip_be, 0) != NULL)
            dp_lcore_tx_abort(&io->lc);
        dp_lcore_flush(&io->lc);
        dp_lcore_poll(&io->lc);
    }
    /* Round trips first, then the throughput blast (it may leave queues full). */
    nr_pingpong(io, o, o->n_rtt, 0, &p50, &p99);
    nr_pingpong(io, o, o->n_wake, 0.005, &w50, &w99);
    end = dp_bench_now_s() + o->seconds;
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
                memcpy(m, &sent, 4);
                if (o->size > 4)
                    memcpy(m + 4, msg, o->size - 4 < 64 ? o->size - 4 : 64);
                sent++;
            }
            io_commit(io, htons(g_udp_port), dp_builder_finish(&b));
        }
        io_flush(io);
        io_poll(io);
    }
    usleep(100000);
    for (int i = 0; i < 5; i++) {
        send_one(io, KIND_STOP, NULL, 0, false);
        io_poll(io);
        usleep(10000);
    }
    printf("result tx_units=%" PRIu64 " rtt_p50=%.1f rtt_p99=%.1f wake_p50=%.1f wake_p99=%.1f\n",
           sent, p50, p99, w50, w99);
    return 0;
}

static int role_main(const struct role_opts *o)
{
    bool is_rx = strcmp(o->role, "rx") == 0;
    bool is_raw = strcmp(o->mode, "raw") == 0;
    io_open(&g_io, o, is_rx);
    int rc = is_raw ? (is_rx ? raw_rx(&g_io, o) : raw_tx(&g_io, o))
                    : (is_rx ? nr_rx(&g_io, o) : nr_tx(&g_io, o));
    fflush(stdout);
    if (!g_io.is_udp) {
        dp_lcore_fini(&g_io.lc);
        dp_port_close(&g_io.port);
        rte_eal_cleanup();
    }
    return rc;
}

int dp_bench_role(int argc, char **argv)
{
    struct role_opts o = {.lcore = "0", .size = 64, .seconds = 1, .idle = DP_IDLE_BUSY};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *key = argv[i], *v = argv[i + 1];
        if (strcmp(key, "--role") == 0) o.role = v;
        else if (strcmp(key, "--mode") == 0) o.mode = v;
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
        else if (strcmp(key, "--idle") == 0) {
            if (dp_idle_policy_parse(v, &o.idle, NULL) != 0)
                return 2;
        } else
            return 2;
    }
    if (o.role == NULL || o.mode == NULL || o.transport == NULL || o.ip == NULL ||
        o.size < 8 || o.size > 1300 || o.n_rtt > RTT_MAX || o.n_wake > RTT_MAX)
        return 2;
    tsc_calibrate();
    return role_main(&o);
}
