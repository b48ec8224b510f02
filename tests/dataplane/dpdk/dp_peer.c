/* dp_peer.c - one end of the dataplane tests (tests/dataplane/dpdk/dpdk_test.sh).
 *
 *   dp-peer echo   EAL... --ip A --seconds S   answer ARP and ICMP echo, echo
 *                  every nicraft message back to its sender; exits on a STOP
 *                  message or after S seconds; prints its counters
 *   dp-peer client EAL... --ip A --peer B --count N --size L --seconds S
 *                  send N messages (batched by dp_frame, 16 per round), check
 *                  every echo byte for byte, then STOP the echo side
 *   dp-peer uclient --ip A --peer B --count N --size L --seconds S
 *                  the client over kernel UDP (dp_udp) from a namespace with a
 *                  kernel address: the kernel stack and the DPDK side speak
 *                  the same frames
 *   dp-peer kping  --dst B --count N   kernel-side ICMP echo (raw socket):
 *                  the kernel resolves B by ARP first
 *
 * EAL... is --vdev V --prefix P --lcore L [--memif-zc]. Every loop is bounded
 * in count and time. Prints `N passed, M failed` last; exit 0 only when M == 0. */
#include <arpa/inet.h>
#include <signal.h>
#include <inttypes.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>

#include "dp_frame.h"
#include "dp_lcore.h"
#include "dp_net.h"
#include "dp_port.h"
#include "dp_reasm.h"
#include "dp_udp.h"

#define CLUSTER_ID UINT64_C(0x6e6963726166740a)
#define GROUP_ID 7u
#define KIND_DATA 1u
#define KIND_STOP 0xfffeu
#define UDP_PORT 7100u
#define ROUND_MSGS 16u
#define MSG_LEN_MAX 1400u

struct opts {
    const char *role, *log, *vdev, *prefix, *lcore, *ip, *peer, *dst;
    uint32_t count, size;
    double seconds;
};

struct peer {
    struct dp_port port;
    struct dp_lcore lc;
    int wait_fd;                 /* epoll over the PMD's sockets (af_packet), or -1 */
    uint32_t n_wake_fds;
    struct dp_rx_filter filter;
    struct dp_stats stats;
    struct dp_frame_addr addr;   /* to the other side */
    uint32_t peer_ip_be;
    bool is_echo;
    bool stop;
    /* client: which messages of the round came back intact */
    uint32_t round_base, size;
    bool seen[ROUND_MSGS];
    uint32_t n_seen, n_bad;
    uint64_t n_echoed;
};

static int n_passed, n_failed;
static volatile sig_atomic_t got_signal;

static void on_signal(int sig) { got_signal = sig; }

static void check(bool ok, const char *what)
{
    if (ok)
        n_passed++;
    else
        n_failed++;
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(uint8_t *p, uint32_t seq, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seq * 31u + i);
    if (len >= 4)
        memcpy(p, &seq, 4);
}

/* Echo side: one reply frame per received frame, to the sender. */
static void echo_msg(void *ctx, const struct dp_msg *m)
{
    struct peer *p = ctx;
    if (m->kind == KIND_STOP) {
        p->stop = true;
        return;
    }
    (void)m;
}

struct echo_ctx {
    struct peer *p;
    struct dp_builder *b;
};

static void echo_add(void *ctx, const struct dp_msg *m)
{
    struct echo_ctx *e = ctx;
    echo_msg(e->p, m);
    if (m->kind == KIND_DATA && dp_builder_add(e->b, m->kind, m->data, m->len, NULL) == 0)
        e->p->n_echoed++;
}

static void client_msg(void *ctx, const struct dp_msg *m)
{
    struct peer *p = ctx;
    uint8_t want[MSG_LEN_MAX];
    uint32_t seq;

    if (m->kind != KIND_DATA || m->len != p->size || m->len < 4) {
        p->n_bad++;
        return;
    }
    memcpy(&seq, m->data, 4);
    if (seq < p->round_base || seq >= p->round_base + ROUND_MSGS || p->seen[seq - p->round_base])
        return; /* a late duplicate from an earlier round */
    fill(want, seq, m->len);
    if (memcmp(want, m->data, m->len) != 0) {
        p->n_bad++;
        return;
    }
    p->seen[seq - p->round_base] = true;
    p->n_seen++;
}

static void on_rx(void *ctx, struct dp_lcore *lc, const struct dp_net_rx *rx)
{
    struct peer *p = ctx;
    if (!p->is_echo) {
        dp_rx_payload(&p->filter, NULL, rx->payload, rx->payload_len, 0, client_msg, p,
                      &p->stats, NULL);
        return;
    }
    uint32_t cap = dp_net_payload_max(&lc->net);
    uint8_t *buf = dp_lcore_tx_begin(lc, rx->src_ip_be, cap);
    if (buf == NULL) /* unknown neighbour: we learned it from its ARP, so rare */
        return;
    struct dp_builder b;
    struct dp_frame_addr a = p->addr;
    dp_builder_init(&b, &a, buf, cap);
    struct echo_ctx e = {.p = p, .b = &b};
    dp_rx_payload(&p->filter, NULL, rx->payload, rx->payload_len, 0, echo_add, &e, &p->stats,
                  NULL);
    uint32_t len = dp_builder_finish(&b);
    if (len == 0) {
        dp_lcore_tx_abort(lc); /* nothing to echo (a STOP, or a dropped frame) */
        return;
    }
    dp_lcore_tx_commit(lc, rx->src_ip_be, rx->src_port_be, len);
}

static int peer_open(struct peer *p, const struct opts *o, bool is_echo)
{
    struct dp_port_conf pc = {.file_prefix = o->prefix, .lcores = o->lcore, .vdev = o->vdev,
                              .log_level = o->log, .no_huge = true, .no_pci = true, .no_shconf = true,
                              .mem_mb = 256, .n_pollers = 1, .n_mbufs = 4095};
    struct nr_err err = {0};
    struct dp_net net;
    struct in_addr ip;

    memset(p, 0, sizeof(*p));
    p->is_echo = is_echo;
    if (dp_port_eal_init(&pc, &err) != 0 || dp_port_open(&p->port, &pc, &err) != 0) {
        fprintf(stderr, "dp-peer: %s\n", err.msg);
        return -1;
    }
    inet_pton(AF_INET, o->ip, &ip);
    if (dp_net_init(&net, p->port.mac, ip.s_addr, htons(UDP_PORT), 1500, &err) != 0) {
        fprintf(stderr, "dp-peer: %s\n", err.msg);
        return -1;
    }
    /* Idle, block on the PMD's sockets where it has them. */
    p->wait_fd = dp_port_rx_wait_fd(&p->port, &p->n_wake_fds);
    struct dp_lcore_conf lconf = {.index = 0, .idle_wait_fd = p->wait_fd, .on_rx = on_rx,
                                  .ctx = p};
    dp_idle_conf_default(&lconf.idle, DP_IDLE_ADAPTIVE);
    if (dp_lcore_init(&p->lc, &p->port, &net, &lconf, &p->stop, &err) != 0) {
        fprintf(stderr, "dp-peer: %s\n", err.msg);
        return -1;
    }
    uint64_t self = is_echo ? 2 : 1;
    p->filter = (struct dp_rx_filter){.cluster_id = CLUSTER_ID, .self_id = self};
    p->addr = (struct dp_frame_addr){.cluster_id = CLUSTER_ID, .sender_id = self,
                                     .receiver_id = 3 - self, .group_id = GROUP_ID};
    return 0;
}

static void peer_close(struct peer *p)
{
    dp_lcore_fini(&p->lc);
    if (p->wait_fd >= 0)
        close(p->wait_fd);
    dp_port_close(&p->port);
    struct nr_err err = {0};
    int rc = dp_eal_fini(&err);
    check(rc == 0, "the EAL cleaned up once its interrupt thread had finished");
    if (rc != 0)
        printf("dp-peer: %s\n", err.msg);
}

static void print_counters(const char *who, const struct peer *p)
{
    printf("%s: rx_frames=%" PRIu64 " tx_frames=%" PRIu64 " payloads=%" PRIu64
           " arp_replied=%" PRIu64 " arp_learned=%" PRIu64 " icmp_replied=%" PRIu64
           " echoed=%" PRIu64 " codec_rx_msgs=%" PRIu64 " no_neigh=%" PRIu64 " yields=%" PRIu64
           " blocks=%" PRIu64 " wake_fds=%" PRIu32 " fd_wakeups=%" PRIu64 "\n",
           who, p->lc.n_rx_frames, p->lc.n_tx_frames, p->lc.net.n_payloads,
           p->lc.net.n_arp_replied, p->lc.net.n_arp_learned, p->lc.net.n_icmp_replied,
           p->n_echoed, p->stats.rx_msgs, p->lc.n_no_neigh, p->lc.idle.n_yields,
           p->lc.idle.n_blocks, p->n_wake_fds, p->lc.idle.n_fd_wakeups);
    for (int r = 0; r < DP_NET_DROP__COUNT; r++)
        if (p->lc.net.drops[r] != 0)
            printf("%s: drop %s=%" PRIu64 "\n", who, dp_net_drop_name(r), p->lc.net.drops[r]);
}

static int run_echo(const struct opts *o)
{
    struct peer p;
    if (peer_open(&p, o, true) != 0)
        return 1;
    double end = now_s() + o->seconds;
    printf("echo: ready\n");
    fflush(stdout);
    uint64_t iter = 0;
    while (!p.stop && !got_signal && (++iter % 1024 != 0 || now_s() < end))
        dp_idle_after_poll(&p.lc.idle, dp_lcore_poll(&p.lc));
    dp_lcore_flush(&p.lc);
    print_counters("echo", &p);
    check(true, "echo side ran");
    peer_close(&p);
    return 0;
}

/* Sends one round of ROUND_MSGS messages batched into frames. */
static void client_send_round(struct peer *p, uint32_t base)
{
    uint32_t cap = dp_net_payload_max(&p->lc.net);
    uint32_t seq = base;
    for (int frames = 0; seq < base + ROUND_MSGS && frames < (int)ROUND_MSGS; frames++) {
        uint8_t *buf = dp_lcore_tx_begin(&p->lc, p->peer_ip_be, cap);
        if (buf == NULL)
            return;
        struct dp_builder b;
        dp_builder_init(&b, &p->addr, buf, cap);
        while (seq < base + ROUND_MSGS) {
            if (p->seen[seq - base]) {
                seq++;
                continue;
            }
            uint8_t *m = dp_builder_reserve(&b, KIND_DATA, p->size);
            if (m == NULL)
                break;
            fill(m, seq, p->size);
            seq++;
        }
        uint32_t len = dp_builder_finish(&b);
        if (len == 0) {
            dp_lcore_tx_abort(&p->lc);
            break;
        }
        dp_lcore_tx_commit(&p->lc, p->peer_ip_be, htons(UDP_PORT), len);
    }
    dp_lcore_flush(&p->lc);
}

static int run_client(const struct opts *o)
{
    struct peer p;
    struct in_addr ip;
    if (o->size < 4 || o->size > MSG_LEN_MAX) {
        fprintf(stderr, "dp-peer: --size %u is outside 4..%u\n", o->size, MSG_LEN_MAX);
        return 2;
    }
    if (peer_open(&p, o, false) != 0)
        return 1;
    inet_pton(AF_INET, o->peer, &ip);
    p.peer_ip_be = ip.s_addr;
    p.size = o->size;
    double end = now_s() + o->seconds;
    uint32_t n_ok = 0, n_resends = 0;
    /* Resolve the peer by ARP (bounded). */
    while (dp_net_neigh_lookup(&p.lc.net, p.peer_ip_be) == NULL && now_s() < end) {
        dp_lcore_tx_begin(&p.lc, p.peer_ip_be, 0);
        dp_lcore_flush(&p.lc);
        dp_lcore_poll(&p.lc);
    }
    check(dp_net_neigh_lookup(&p.lc.net, p.peer_ip_be) != NULL, "peer resolved by ARP");
    for (uint32_t base = 0; base < o->count && now_s() < end; base += ROUND_MSGS) {
        p.round_base = base;
        memset(p.seen, 0, sizeof(p.seen));
        p.n_seen = 0;
        for (int attempt = 0; attempt < 10 && p.n_seen < ROUND_MSGS && now_s() < end; attempt++) {
            if (attempt > 0)
                n_resends++;
            client_send_round(&p, base);
            double round_end = now_s() + 0.05;
            while (p.n_seen < ROUND_MSGS && now_s() < round_end)
                dp_lcore_poll(&p.lc);
        }
        n_ok += p.n_seen;
        if (p.n_seen < ROUND_MSGS)
            break;
    }
    uint32_t want = (o->count + ROUND_MSGS - 1) / ROUND_MSGS * ROUND_MSGS;
    printf("client: echoed_ok=%u of %u resends=%u bad=%u\n", n_ok, want, n_resends, p.n_bad);
    check(n_ok == want, "every message came back");
    check(p.n_bad == 0, "no echoed message differed");
    check(p.stats.rx_frames < n_ok || o->size > 700, "batching: fewer frames than messages");
    /* Tell the echo side to stop (a few times: frames may be lost). */
    for (int i = 0; i < 3; i++) {
        uint32_t cap = dp_net_payload_max(&p.lc.net);
        uint8_t *buf = dp_lcore_tx_begin(&p.lc, p.peer_ip_be, cap);
        if (buf == NULL)
            break;
        struct dp_builder b;
        dp_builder_init(&b, &p.addr, buf, cap);
        dp_builder_add(&b, KIND_STOP, NULL, 0, NULL);
        dp_lcore_tx_commit(&p.lc, p.peer_ip_be, htons(UDP_PORT), dp_builder_finish(&b));
        dp_lcore_flush(&p.lc);
    }
    print_counters("client", &p);
    peer_close(&p);
    return 0;
}

struct uclient {
    uint32_t size, n_ok, n_bad;
    uint8_t seen[4096];
};

static void uclient_msg(void *ctx, const struct dp_msg *m)
{
    struct uclient *u = ctx;
    uint8_t want[MSG_LEN_MAX];
    uint32_t seq;
    if (m->kind != KIND_DATA || m->len != u->size) {
        u->n_bad++;
        return;
    }
    memcpy(&seq, m->data, 4);
    fill(want, seq, m->len);
    if (seq >= sizeof(u->seen) || memcmp(want, m->data, m->len) != 0) {
        u->n_bad++;
        return;
    }
    if (!u->seen[seq]) {
        u->seen[seq] = 1;
        u->n_ok++;
    }
}

/* The client over kernel UDP (dp_udp): same codec, kernel stack. */
static int run_uclient(const struct opts *o)
{
    struct dp_udp_config cfg = {.cluster_id = CLUSTER_ID, .self_id = 1, .mtu = 1500,
                                .batch_max = 32,
                                .reasm = {.n_slots = 4, .msg_len_max = 65536,
                                          .timeout_ns = 1000000000}};
    struct nr_err err = {0};
    struct dp_udp *u = NULL;
    struct uclient uc = {.size = o->size};
    char url[64];
    struct dp_endpoint peer;
    uint8_t msg[MSG_LEN_MAX];

    if (o->count > sizeof(uc.seen) || o->size < 4 || o->size > MSG_LEN_MAX) {
        fprintf(stderr, "dp-peer: uclient: --count <= %zu, --size 4..%u\n", sizeof(uc.seen),
                MSG_LEN_MAX);
        return 2;
    }
    snprintf(url, sizeof(url), "udp://%s:0", o->ip);
    if (dp_url_parse(url, true, &cfg.bind, &err) != 0 || dp_udp_create(&cfg, &u, &err) != 0) {
        fprintf(stderr, "dp-peer: uclient: %s\n", err.msg);
        return 1;
    }
    snprintf(url, sizeof(url), "udp://%s:%u", o->peer, UDP_PORT);
    dp_url_parse(url, false, &peer, &err);
    double end = now_s() + o->seconds;
    for (uint32_t base = 0; base < o->count && now_s() < end; base += ROUND_MSGS) {
        for (int attempt = 0; attempt < 10 && now_s() < end; attempt++) {
            uint32_t before = uc.n_ok;
            for (uint32_t seq = base; seq < base + ROUND_MSGS && seq < o->count; seq++) {
                if (uc.seen[seq])
                    continue;
                fill(msg, seq, o->size);
                dp_udp_send(u, &peer, 2, GROUP_ID, KIND_DATA, msg, o->size, &err);
            }
            dp_udp_flush(u, &err);
            double round_end = now_s() + 0.2;
            uint32_t want = base + ROUND_MSGS < o->count ? base + ROUND_MSGS : o->count;
            while (uc.n_ok < want && now_s() < round_end) {
                dp_udp_wait(u, 10, &err);
                dp_udp_poll(u, dp_udp_now_ns(), uclient_msg, &uc, &err);
            }
            if (uc.n_ok >= want)
                break;
            (void)before;
        }
    }
    /* STOP the echo side. */
    for (int i = 0; i < 3; i++) {
        dp_udp_send(u, &peer, 2, GROUP_ID, KIND_STOP, NULL, 0, &err);
        dp_udp_flush(u, &err);
    }
    printf("uclient: echoed_ok=%u of %u bad=%u frames_in=%" PRIu64 "\n", uc.n_ok, o->count,
           uc.n_bad, dp_udp_stats(u)->rx_frames);
    check(uc.n_ok == o->count, "every message over kernel UDP came back from DPDK");
    check(uc.n_bad == 0, "no echoed message differed");
    dp_udp_destroy(u);
    return 0;
}

/* Kernel-side ping through a raw ICMP socket: no ping binary needed. */
static int run_kping(const struct opts *o)
{
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    struct sockaddr_in dst = {.sin_family = AF_INET};
    uint32_t n_replies = 0;

    if (fd < 0) {
        perror("dp-peer: raw socket");
        return 1;
    }
    inet_pton(AF_INET, o->dst, &dst.sin_addr);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (uint32_t seq = 1; seq <= o->count; seq++) {
        uint8_t pkt[64] = {0};
        struct icmphdr *h = (struct icmphdr *)pkt;
        h->type = ICMP_ECHO;
        h->un.echo.id = htons(0x6e72);
        h->un.echo.sequence = htons((uint16_t)seq);
        for (int i = 8; i < 64; i++)
            pkt[i] = (uint8_t)i;
        h->checksum = dp_net_csum(pkt, sizeof(pkt));
        sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, sizeof(dst));
        for (int tries = 0; tries < 10; tries++) {
            uint8_t in[256];
            ssize_t n = recv(fd, in, sizeof(in), 0);
            if (n < 0)
                break;
            uint32_t ihl = (uint32_t)(in[0] & 0x0f) * 4;
            if ((size_t)n < ihl + 64)
                continue;
            struct icmphdr *r = (struct icmphdr *)(in + ihl);
            if (r->type == ICMP_ECHOREPLY && ntohs(r->un.echo.sequence) == seq &&
                ntohs(r->un.echo.id) == 0x6e72 && memcmp(in + ihl + 8, pkt + 8, 56) == 0 &&
                dp_net_csum(in + ihl, 64) == 0) {
                n_replies++;
                break;
            }
        }
    }
    close(fd);
    printf("kping: %u of %u echo replies from %s\n", n_replies, o->count, o->dst);
    check(n_replies == o->count, "every ping answered by the DPDK side");
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.lcore = "0", .count = 256, .size = 64, .seconds = 10};
    if (argc < 2) {
        fprintf(stderr, "usage: dp-peer echo|client|kping [options]\n");
        return 2;
    }
    o.role = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--vdev") == 0) o.vdev = v;
        else if (strcmp(k, "--prefix") == 0) o.prefix = v;
        else if (strcmp(k, "--log") == 0) o.log = v;
        else if (strcmp(k, "--lcore") == 0) o.lcore = v;
        else if (strcmp(k, "--ip") == 0) o.ip = v;
        else if (strcmp(k, "--peer") == 0) o.peer = v;
        else if (strcmp(k, "--dst") == 0) o.dst = v;
        else if (strcmp(k, "--count") == 0) o.count = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--size") == 0) o.size = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--seconds") == 0) o.seconds = strtod(v, NULL);
        else {
            fprintf(stderr, "dp-peer: unknown option %s\n", k);
            return 2;
        }
    }
    if (o.count > 1000000 || o.seconds <= 0 || o.seconds > 120) {
        fprintf(stderr, "dp-peer: --count <= 1000000 and --seconds in (0, 120]\n");
        return 2;
    }
    int rc;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (strcmp(o.role, "kping") == 0 && o.dst != NULL)
        rc = run_kping(&o);
    else if (strcmp(o.role, "uclient") == 0 && o.ip != NULL && o.peer != NULL)
        rc = run_uclient(&o);
    else if (o.vdev == NULL || o.prefix == NULL || o.ip == NULL)
        rc = 2, fprintf(stderr, "dp-peer: --vdev, --prefix and --ip are required\n");
    else if (strcmp(o.role, "echo") == 0)
        rc = run_echo(&o);
    else if (strcmp(o.role, "client") == 0 && o.peer != NULL)
        rc = run_client(&o);
    else
        rc = 2, fprintf(stderr, "dp-peer: unknown role %s or missing --peer/--dst\n", o.role);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    fflush(stdout);
    return rc != 0 ? rc : (n_failed == 0 ? 0 : 1);
}
