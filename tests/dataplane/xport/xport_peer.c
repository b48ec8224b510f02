/* xport_peer.c - one end of the dp_xport tests (xport_test.sh): the same
 * program over kernel UDP or DPDK, through dp_xport only.
 *
 *   xport-peer node   KIND ADDR --ip A --port P   listen on A:P (peer) and
 *                     A:P+1 (client); echo every message to the endpoint it
 *                     came from, out of the local endpoint it came to; stop
 *                     on SIGTERM or after --seconds; print `ready ...` when
 *                     listening and the counters at the end (--port1
 *                     names the client port when it is not P+1)
 *   xport-peer client KIND ADDR --ip A --node B --node-port N --count C
 *                     --big-count K --big-size S   send C small messages and
 *                     K large (fragmented) ones, alternating between our two
 *                     local endpoints and the node's two ports; check every
 *                     echo byte for byte, its source endpoint and the local
 *                     endpoint it came to; then measure round trips
 *   xport-peer foreign --node B --node-port N --count C   send C valid
 *                     frames of another cluster from a plain kernel socket
 *
 * KIND ADDR is --kind udp, or --kind dpdk --eal "ARGS" --lcores L --prefix P.
 * Every loop is bounded in count and time. Prints `N passed, M failed`
 * last; exit 0 only when M == 0. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp_frame.h"
#include "dp_xport.h"

#define CLUSTER_ID UINT64_C(0x6e72787030303031)
#define FOREIGN_CLUSTER UINT64_C(0x666f726569676e21)
#define NODE_ID 2u
#define CLIENT_ID 1u
#define GROUP_ID 3u
#define KIND_DATA 1u
#define ROUND_MSGS 32u
#define SMALL_MAX 1200u
#define BIG_MAX (2u << 20)
#define RTT_SAMPLES 2000u

struct opts {
    const char *role, *kind, *eal, *lcores, *prefix, *ip, *node;
    uint32_t port, port1, node_port, node_port1, count, big_count, big_size;
    double seconds;
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
    fflush(stdout);
}

static double now_s(void)
{
    return (double)dp_xport_now_ns() / 1e9;
}

static uint32_t ip_parse(const char *s)
{
    struct in_addr a = {0};
    if (s == NULL || inet_pton(AF_INET, s, &a) != 1) {
        fprintf(stderr, "xport-peer: bad address '%s'\n", s != NULL ? s : "(none)");
        exit(2);
    }
    return ntohl(a.s_addr);
}

/* Message bytes: seq (4), then a pattern of seq. */
static void fill(uint8_t *p, uint32_t seq, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seq * 131u + i * 7u);
    if (len >= 4)
        memcpy(p, &seq, 4);
}

static bool is_filled(const uint8_t *p, uint32_t seq, uint32_t len)
{
    for (uint32_t i = 4; i < len; i++)
        if (p[i] != (uint8_t)(seq * 131u + i * 7u))
            return false;
    return true;
}

static struct dp_xport *open_xport(const struct opts *o, uint64_t self, uint16_t port0,
                                   uint16_t port1)
{
    struct dp_xport_config c = {
        .kind = strcmp(o->kind, "dpdk") == 0 ? DP_XPORT_DPDK : DP_XPORT_UDP,
        .local = {{ip_parse(o->ip), port0}, {ip_parse(o->ip), port1}},
        .n_local = 2, .cluster_id = CLUSTER_ID, .self_id = self, .mtu = 1500,
        .batch_max = 64, .sock_buf_bytes = 8u << 20,
        .reasm = {.n_slots = 8, .msg_len_max = BIG_MAX, .timeout_ns = 500000000ull},
        .eal_args = o->eal, .lcores = o->lcores, .file_prefix = o->prefix, .n_mbufs = 16383};
    struct nr_err err = {0};
    struct dp_xport *x = NULL;
    dp_idle_conf_default(&c.idle, DP_IDLE_ADAPTIVE);
    if (dp_xport_create(&c, &x, &err) != 0) {
        fprintf(stderr, "xport-peer: %s\n", err.msg);
        printf("0 passed, 1 failed\n");
        exit(1);
    }
    return x;
}

static void print_stats(const char *who, struct dp_xport *x)
{
    struct dp_xport_stats s;
    dp_xport_stats(x, &s);
    printf("%s: rx_frames=%" PRIu64 " rx_msgs=%" PRIu64 " rx_reassembled=%" PRIu64
           " tx_frames=%" PRIu64 " tx_msgs=%" PRIu64 " other_cluster=%" PRIu64
           " reasm_timeout=%" PRIu64 " tx_busy=%" PRIu64 " no_neigh=%" PRIu64
           " arp_replied=%" PRIu64 " arp_learned=%" PRIu64 " icmp_replied=%" PRIu64
           " waits=%" PRIu64 " blocks=%" PRIu64 " wakeups=%" PRIu64 " wake_fd=%d\n",
           who, s.codec.rx_frames, s.codec.rx_msgs, s.codec.rx_reassembled, s.codec.tx_frames,
           s.codec.tx_msgs, s.codec.drops[DP_DROP_OTHER_CLUSTER],
           s.codec.drops[DP_DROP_REASM_TIMEOUT], s.tx_busy, s.no_neigh, s.arp_replied,
           s.arp_learned, s.icmp_replied, s.waits, s.wait_blocks, s.wait_wakeups,
           dp_xport_has_wake_fd(x) ? 1 : 0);
    fflush(stdout);
}

/* Our second local port: --port1, else --port + 1 (0 with 0: the kernel picks). */
static uint16_t local_port1(const struct opts *o)
{
    if (o->port1 != 0 || o->port == 0)
        return (uint16_t)o->port1;
    return (uint16_t)(o->port + 1);
}

/* ---- node ---- */

struct node {
    struct dp_xport *x;
    uint64_t n_by_local[2];
    uint64_t n_echoed, n_echo_busy, n_big;
};

static void node_msg(void *ctx, const struct dp_msg *m)
{
    struct node *n = ctx;
    struct nr_err err;
    n->n_by_local[m->local_idx & 1]++;
    if (m->len > SMALL_MAX)
        n->n_big++;
    struct dp_endpoint src = {m->src_ipv4, m->src_port};
    int rc = dp_xport_send(n->x, m->local_idx, &src, m->sender_id, m->group_id, m->kind, m->data,
                           m->len, &err);
    if (rc == 0)
        n->n_echoed++;
    else
        n->n_echo_busy++;
}

static int run_node(const struct opts *o)
{
    struct node n = {0};
    struct nr_err err = {0};
    n.x = open_xport(o, NODE_ID, (uint16_t)o->port, local_port1(o));
    struct dp_endpoint l0 = dp_xport_local(n.x, 0), l1 = dp_xport_local(n.x, 1);
    printf("node: ready port0=%u port1=%u\n", l0.port, l1.port);
    fflush(stdout);
    double end = now_s() + o->seconds;
    for (uint64_t iter = 0; !got_signal && (++iter % 256 != 0 || now_s() < end);) {
        int got = dp_xport_poll(n.x, dp_xport_now_ns(), node_msg, &n, &err);
        dp_xport_flush(n.x, &err);
        if (got <= 0)
            dp_xport_wait(n.x, 1000, &err);
    }
    dp_xport_flush(n.x, &err);
    printf("node: by_local0=%" PRIu64 " by_local1=%" PRIu64 " big=%" PRIu64 " echoed=%" PRIu64
           " echo_busy=%" PRIu64 "\n",
           n.n_by_local[0], n.n_by_local[1], n.n_big, n.n_echoed, n.n_echo_busy);
    print_stats("node", n.x);
    check(true, "node ran");
    dp_xport_destroy(n.x);
    return 0;
}

/* ---- client ---- */

struct client {
    struct dp_xport *x;
    struct dp_endpoint node[2]; /* the node's endpoints, by our local index */
    uint32_t base, n_round;     /* the round: seqs base .. base + n_round - 1 */
    bool seen[ROUND_MSGS];
    uint32_t n_seen, n_bad_content, n_bad_src, n_bad_local;
    uint32_t want_len_big;      /* 0 in the small phase */
    uint32_t big_seq;
    bool big_seen;
};

/* Which of our endpoints (and the node's) a message uses: runs of 16
 * messages per lane, so that consecutive sends share frames (dp_link keeps
 * one open frame: interleaved destinations do not batch). */
static uint32_t lane_of(uint32_t seq)
{
    return (seq >> 4) & 1u;
}

static uint32_t small_len(uint32_t seq)
{
    return 4u + (seq * 37u) % (SMALL_MAX - 4u);
}

static void client_msg(void *ctx, const struct dp_msg *m)
{
    struct client *c = ctx;
    uint32_t seq;
    if (m->kind != KIND_DATA || m->len < 4) {
        c->n_bad_content++;
        return;
    }
    memcpy(&seq, m->data, 4);
    uint32_t lane = lane_of(seq);
    if (m->src_ipv4 != c->node[lane].ipv4 || m->src_port != c->node[lane].port)
        c->n_bad_src++;
    if (m->local_idx != lane)
        c->n_bad_local++;
    if (c->want_len_big != 0) {
        if (seq != c->big_seq)
            return; /* a late echo of an earlier attempt */
        if (m->len != c->want_len_big || !is_filled(m->data, seq, m->len))
            c->n_bad_content++;
        else
            c->big_seen = true;
        return;
    }
    if (seq < c->base || seq >= c->base + c->n_round || c->seen[seq - c->base])
        return;
    if (m->len != small_len(seq) || !is_filled(m->data, seq, m->len)) {
        c->n_bad_content++;
        return;
    }
    c->seen[seq - c->base] = true;
    c->n_seen++;
}

static void client_pump(struct client *c, double until, bool (*done)(const struct client *))
{
    struct nr_err err;
    while (!done(c) && now_s() < until && !got_signal) { /* bounded by time */
        int got = dp_xport_poll(c->x, dp_xport_now_ns(), client_msg, c, &err);
        if (got <= 0)
            dp_xport_wait(c->x, 500, &err);
    }
}

static bool round_done(const struct client *c) { return c->n_seen == c->n_round; }
static bool big_done(const struct client *c) { return c->big_seen; }

static int send_lane(struct client *c, uint32_t seq, const uint8_t *data, uint32_t len)
{
    struct nr_err err;
    return dp_xport_send(c->x, lane_of(seq), &c->node[lane_of(seq)], NODE_ID, GROUP_ID, KIND_DATA, data,
                         len, &err);
}

/* Small messages in rounds of ROUND_MSGS, resent until every echo came. */
static uint32_t client_small(struct client *c, uint32_t count, double end, uint32_t *resends)
{
    uint8_t msg[SMALL_MAX];
    uint32_t n_ok = 0;
    struct nr_err err;
    for (c->base = 0; c->base < count && now_s() < end; c->base += ROUND_MSGS) {
        c->n_round = count - c->base < ROUND_MSGS ? count - c->base : ROUND_MSGS;
        memset(c->seen, 0, sizeof(c->seen));
        c->n_seen = 0;
        for (int attempt = 0; attempt < 50 && !round_done(c) && now_s() < end; attempt++) {
            if (attempt > 0)
                (*resends)++;
            for (uint32_t i = 0; i < c->n_round; i++) {
                if (c->seen[i])
                    continue;
                uint32_t seq = c->base + i;
                fill(msg, seq, small_len(seq));
                send_lane(c, seq, msg, small_len(seq)); /* NR_EBUSY: the next attempt */
            }
            dp_xport_flush(c->x, &err);
            client_pump(c, now_s() + (attempt < 3 ? 0.05 : 0.2), round_done);
        }
        n_ok += c->n_seen;
        if (!round_done(c))
            break;
    }
    return n_ok;
}

/* Large messages one at a time, alternating lanes, each resent (bounded). */
static uint32_t client_big(struct client *c, const struct opts *o, uint8_t *buf, double end,
                           uint32_t *resends)
{
    uint32_t n_ok = 0;
    struct nr_err err;
    c->want_len_big = o->big_size;
    for (uint32_t k = 0; k < o->big_count && now_s() < end; k++) {
        c->big_seq = 1000000u + k * 16u; /* lane k % 2 */
        c->big_seen = false;
        fill(buf, c->big_seq, o->big_size);
        for (int attempt = 0; attempt < 10 && !c->big_seen && now_s() < end; attempt++) {
            if (attempt > 0)
                (*resends)++;
            send_lane(c, c->big_seq, buf, o->big_size);
            dp_xport_flush(c->x, &err);
            client_pump(c, now_s() + 1.0, big_done);
        }
        if (!c->big_seen)
            break;
        n_ok++;
    }
    c->want_len_big = 0;
    return n_ok;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Round trips of one small message at a time (timing, not a verdict). */
static void client_rtt(struct client *c, double end)
{
    static double rtt[RTT_SAMPLES];
    uint32_t n = 0;
    uint8_t msg[SMALL_MAX];
    struct nr_err err;
    for (uint32_t i = 0; i < RTT_SAMPLES && now_s() < end; i++) {
        c->base = 2000000u + i * 32u; /* lane 0 */
        c->n_round = 1;
        c->seen[0] = false;
        c->n_seen = 0;
        uint32_t len = small_len(c->base); /* what client_msg checks */
        fill(msg, c->base, len);
        double t0 = now_s();
        send_lane(c, c->base, msg, len);
        dp_xport_flush(c->x, &err);
        client_pump(c, t0 + 0.1, round_done);
        if (c->n_seen == 1)
            rtt[n++] = now_s() - t0;
    }
    if (n == 0)
        return;
    qsort(rtt, n, sizeof(rtt[0]), cmp_double);
    printf("client: rtt samples=%u p50_us=%.1f p99_us=%.1f\n", n, rtt[n / 2] * 1e6,
           rtt[n * 99 / 100] * 1e6);
}

static int run_client(const struct opts *o)
{
    struct client c = {0};
    uint32_t resends = 0, big_resends = 0;
    if (o->big_size > BIG_MAX || o->node == NULL) {
        fprintf(stderr, "xport-peer: --big-size <= %u and --node are required\n", BIG_MAX);
        return 2;
    }
    c.x = open_xport(o, CLIENT_ID, (uint16_t)o->port, local_port1(o));
    c.node[0] = (struct dp_endpoint){ip_parse(o->node), (uint16_t)o->node_port};
    c.node[1] = (struct dp_endpoint){ip_parse(o->node), (uint16_t)(o->node_port1 != 0
                                                                       ? o->node_port1
                                                                       : o->node_port + 1)};
    double end = now_s() + o->seconds;
    double t0 = now_s();
    uint32_t n_small = client_small(&c, o->count, end, &resends);
    double t_small = now_s() - t0;
    printf("client: small echoed_ok=%u of %u resends=%u in %.3f s (%.0f msgs/s round trip)\n",
           n_small, o->count, resends, t_small, t_small > 0 ? n_small / t_small : 0.0);
    check(n_small == o->count, "every small message came back, on both lanes");
    struct dp_xport_stats s;
    dp_xport_stats(c.x, &s);
    check(s.codec.rx_frames < s.codec.rx_msgs, "batching: fewer frames than messages");
    uint8_t *buf = malloc(o->big_size > 0 ? o->big_size : 1);
    t0 = now_s();
    uint32_t n_big = client_big(&c, o, buf, end, &big_resends);
    double t_big = now_s() - t0;
    free(buf);
    printf("client: big echoed_ok=%u of %u (%u bytes) resends=%u in %.3f s (%.1f MB/s each way)\n",
           n_big, o->big_count, o->big_size, big_resends, t_big,
           t_big > 0 ? (double)n_big * o->big_size / t_big / 1e6 : 0.0);
    check(n_big == o->big_count, "every large (fragmented) message came back");
    check(c.n_bad_content == 0, "no echoed message differed");
    check(c.n_bad_src == 0, "every echo came from the node endpoint it was sent to");
    check(c.n_bad_local == 0, "every echo came to the local endpoint it left from");
    dp_xport_stats(c.x, &s);
    check(o->big_count == 0 || s.codec.rx_reassembled >= n_big, "large echoes were reassembled");
    client_rtt(&c, end);
    print_stats("client", c.x);
    dp_xport_destroy(c.x);
    return 0;
}

/* ---- foreign: frames of another cluster from a plain kernel socket ---- */

static int run_foreign(const struct opts *o)
{
    uint8_t frame[256];
    struct dp_builder b;
    struct dp_frame_addr a = {FOREIGN_CLUSTER, CLIENT_ID, NODE_ID, GROUP_ID};
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->node_port),
                             .sin_addr.s_addr = htonl(ip_parse(o->node))};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    uint32_t n_sent = 0;
    if (fd < 0) {
        perror("xport-peer: socket");
        return 1;
    }
    for (uint32_t i = 0; i < o->count; i++) {
        dp_builder_init(&b, &a, frame, sizeof(frame));
        dp_builder_add(&b, KIND_DATA, "foreign!", 8, NULL);
        uint32_t len = dp_builder_finish(&b);
        if (sendto(fd, frame, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len)
            n_sent++;
        usleep(2000);
    }
    close(fd);
    printf("foreign: sent=%u\n", n_sent);
    check(n_sent == o->count, "foreign frames sent");
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.kind = "udp", .ip = "127.0.0.1", .count = 256, .seconds = 20};
    if (argc < 2) {
        fprintf(stderr, "usage: xport-peer node|client|foreign [options]\n");
        return 2;
    }
    o.role = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--kind") == 0) o.kind = v;
        else if (strcmp(k, "--eal") == 0) o.eal = v;
        else if (strcmp(k, "--lcores") == 0) o.lcores = v;
        else if (strcmp(k, "--prefix") == 0) o.prefix = v;
        else if (strcmp(k, "--ip") == 0) o.ip = v;
        else if (strcmp(k, "--node") == 0) o.node = v;
        else if (strcmp(k, "--port") == 0) o.port = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--port1") == 0) o.port1 = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--node-port") == 0) o.node_port = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--node-port1") == 0) o.node_port1 = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--count") == 0) o.count = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--big-count") == 0) o.big_count = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--big-size") == 0) o.big_size = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(k, "--seconds") == 0) o.seconds = strtod(v, NULL);
        else {
            fprintf(stderr, "xport-peer: unknown option %s\n", k);
            return 2;
        }
    }
    if (o.count > 1000000 || o.big_count > 1000 || o.seconds <= 0 || o.seconds > 300 ||
        o.port > 65534 || o.port1 > 65535 || o.node_port > 65534 || o.node_port1 > 65535) {
        fprintf(stderr, "xport-peer: an option is out of range\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    int rc;
    if (strcmp(o.role, "node") == 0)
        rc = run_node(&o);
    else if (strcmp(o.role, "client") == 0)
        rc = run_client(&o);
    else if (strcmp(o.role, "foreign") == 0 && o.node != NULL)
        rc = run_foreign(&o);
    else
        rc = 2, fprintf(stderr, "xport-peer: unknown role %s\n", o.role);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    fflush(stdout);
    return rc != 0 ? rc : (n_failed == 0 ? 0 : 1);
}
