/* dp_udp.c - nicraft frames over non-blocking kernel UDP sockets
 * (sendmmsg, recvmmsg, epoll), dp_udp.h. URLs are dp_url.c; the
 * two-process benchmark dp_udp_bench.c. */
#include "dp_udp.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "nr_le.h"

/* ---- The transport ---- */

struct dp_udp {
    struct dp_udp_config cfg;
    int fd;
    int epfd;
    uint32_t cap; /* frame capacity: dp_frame_cap_for_mtu(mtu) */
    struct dp_endpoint local;
    struct dp_rx_filter filter;
    struct dp_reasm *reasm;
    struct dp_stats stats;
    uint32_t next_msg_id; /* fragmented messages we sent */
    /* Sending: frames [tx_head, tx_n) wait; the open builder writes into
     * frame tx_n's buffer. */
    uint32_t tx_head;
    uint32_t tx_n;
    bool is_open;
    struct dp_builder open;
    struct dp_endpoint open_dst;
    uint8_t *tx_buf; /* batch_max * cap */
    struct mmsghdr *tx_msgs;
    struct iovec *tx_iov;
    struct sockaddr_in *tx_addr;
    /* Receiving. */
    uint8_t *rx_buf; /* batch_max * cap */
    struct mmsghdr *rx_msgs;
    struct iovec *rx_iov;
    struct sockaddr_in *rx_addr;
};

uint64_t dp_udp_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int check_udp_config(const struct dp_udp_config *cfg, struct nr_err *err)
{
    if (cfg->cluster_id == 0 || cfg->self_id == 0)
        return nr_errf(err, NR_EINVAL,
                       "udp transport: cluster_id %016" PRIx64 " and self_id %016" PRIx64
                       " must both be non-zero",
                       cfg->cluster_id, cfg->self_id);
    if (dp_frame_cap_for_mtu(cfg->mtu) == 0)
        return nr_errf(err, NR_EINVAL, "udp transport: mtu %" PRIu32 " is outside %u..%u", cfg->mtu,
                       DP_MTU_MIN, DP_MTU_JUMBO_MAX);
    if (cfg->batch_max < 1 || cfg->batch_max > DP_UDP_BATCH_MAX)
        return nr_errf(err, NR_EINVAL, "udp transport: batch_max %" PRIu32 " is outside 1..%u",
                       cfg->batch_max, DP_UDP_BATCH_MAX);
    return 0;
}

static struct sockaddr_in to_sockaddr(const struct dp_endpoint *ep)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(ep->ipv4);
    sa.sin_port = htons(ep->port);
    return sa;
}

static int alloc_buffers(struct dp_udp *u, struct nr_err *err)
{
    size_t n = u->cfg.batch_max;

    u->tx_buf = malloc(n * u->cap);
    u->rx_buf = malloc(n * u->cap);
    u->tx_msgs = calloc(n, sizeof(u->tx_msgs[0]));
    u->rx_msgs = calloc(n, sizeof(u->rx_msgs[0]));
    u->tx_iov = calloc(n, sizeof(u->tx_iov[0]));
    u->rx_iov = calloc(n, sizeof(u->rx_iov[0]));
    u->tx_addr = calloc(n, sizeof(u->tx_addr[0]));
    u->rx_addr = calloc(n, sizeof(u->rx_addr[0]));
    if (u->tx_buf == NULL || u->rx_buf == NULL || u->tx_msgs == NULL || u->rx_msgs == NULL ||
        u->tx_iov == NULL || u->rx_iov == NULL || u->tx_addr == NULL || u->rx_addr == NULL)
        return nr_errf(err, NR_ENOMEM,
                       "udp transport: %zu frame buffers of %" PRIu32 " bytes: out of memory",
                       2 * n, u->cap);
    for (size_t i = 0; i < n; i++) {
        u->tx_iov[i].iov_base = u->tx_buf + i * u->cap;
        u->tx_msgs[i].msg_hdr.msg_iov = &u->tx_iov[i];
        u->tx_msgs[i].msg_hdr.msg_iovlen = 1;
        u->tx_msgs[i].msg_hdr.msg_name = &u->tx_addr[i];
        u->tx_msgs[i].msg_hdr.msg_namelen = sizeof(u->tx_addr[i]);
        u->rx_iov[i].iov_base = u->rx_buf + i * u->cap;
        u->rx_iov[i].iov_len = u->cap;
        u->rx_msgs[i].msg_hdr.msg_iov = &u->rx_iov[i];
        u->rx_msgs[i].msg_hdr.msg_iovlen = 1;
        u->rx_msgs[i].msg_hdr.msg_name = &u->rx_addr[i];
    }
    return 0;
}

/* Socket buffers: as root SO_*BUFFORCE passes net.core.*mem_max; else the
 * plain option, capped by the kernel. Best effort either way. */
static void set_sock_bufs(int fd, uint32_t bytes)
{
    int v = bytes > INT32_MAX ? INT32_MAX : (int)bytes;

    if (bytes == 0)
        return;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int open_socket(struct dp_udp *u, struct nr_err *err)
{
    char where[DP_ENDPOINT_STR_LEN];
    struct sockaddr_in sa = to_sockaddr(&u->cfg.bind);
    socklen_t sa_len = sizeof(sa);
    struct epoll_event ev = {.events = EPOLLIN};

    dp_endpoint_format(&u->cfg.bind, where, sizeof(where));
    u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0)
        return nr_errf(err, NR_EIO, "udp transport: socket: %s", strerror(errno));
    set_sock_bufs(u->fd, u->cfg.sock_buf_bytes);
    if (bind(u->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return nr_errf(err, NR_EIO, "udp transport: bind %s: %s", where, strerror(errno));
    if (getsockname(u->fd, (struct sockaddr *)&sa, &sa_len) != 0)
        return nr_errf(err, NR_EIO, "udp transport: getsockname %s: %s", where, strerror(errno));
    u->local.ipv4 = ntohl(sa.sin_addr.s_addr);
    u->local.port = ntohs(sa.sin_port);
    u->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (u->epfd < 0)
        return nr_errf(err, NR_EIO, "udp transport: epoll_create1: %s", strerror(errno));
    ev.data.fd = u->fd;
    if (epoll_ctl(u->epfd, EPOLL_CTL_ADD, u->fd, &ev) != 0)
        return nr_errf(err, NR_EIO, "udp transport: epoll_ctl: %s", strerror(errno));
    return 0;
}

int dp_udp_create(const struct dp_udp_config *cfg, struct dp_udp **out, struct nr_err *err)
{
    int rc = check_udp_config(cfg, err);
    if (rc != 0)
        return rc;
    struct dp_udp *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return nr_errf(err, NR_ENOMEM, "udp transport: out of memory");
    u->cfg = *cfg;
    u->fd = -1;
    u->epfd = -1;
    u->cap = dp_frame_cap_for_mtu(cfg->mtu);
    u->filter = (struct dp_rx_filter){.cluster_id = cfg->cluster_id, .self_id = cfg->self_id};
    rc = dp_reasm_create(&cfg->reasm, &u->reasm, err);
    if (rc == 0)
        rc = alloc_buffers(u, err);
    if (rc == 0)
        rc = open_socket(u, err);
    if (rc != 0) {
        dp_udp_destroy(u);
        return rc;
    }
    *out = u;
    return 0;
}

void dp_udp_destroy(struct dp_udp *u)
{
    if (u == NULL)
        return;
    if (u->epfd >= 0)
        close(u->epfd);
    if (u->fd >= 0)
        close(u->fd);
    dp_reasm_destroy(u->reasm);
    free(u->tx_buf);
    free(u->rx_buf);
    free(u->tx_msgs);
    free(u->rx_msgs);
    free(u->tx_iov);
    free(u->rx_iov);
    free(u->tx_addr);
    free(u->rx_addr);
    free(u);
}

struct dp_endpoint dp_udp_local(const struct dp_udp *u)
{
    return u->local;
}

int dp_udp_epoll_fd(const struct dp_udp *u)
{
    return u->epfd;
}

const struct dp_stats *dp_udp_stats(const struct dp_udp *u)
{
    return &u->stats;
}

uint32_t dp_udp_pending(const struct dp_udp *u)
{
    return u->tx_n - u->tx_head + (u->is_open ? 1u : 0u);
}

/* Queues frame tx_n (len bytes already in its buffer) for dst. */
static void queue_frame(struct dp_udp *u, uint32_t len, const struct dp_endpoint *dst)
{
    NR_ASSERT(u->tx_n < u->cfg.batch_max);
    u->tx_iov[u->tx_n].iov_len = len;
    u->tx_addr[u->tx_n] = to_sockaddr(dst);
    u->tx_n++;
}

static void close_open(struct dp_udp *u)
{
    if (!u->is_open)
        return;
    uint32_t len = dp_builder_finish(&u->open);
    NR_ASSERT(len > 0);
    u->is_open = false;
    queue_frame(u, len, &u->open_dst);
}

/* Moves the waiting frames to the front of the batch (after a partial
 * sendmmsg), so the batch has room at its end. */
static void compact(struct dp_udp *u)
{
    if (u->tx_head == 0)
        return;
    NR_ASSERT(!u->is_open);
    uint32_t n = u->tx_n - u->tx_head;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t from = u->tx_head + i;
        memmove(u->tx_buf + (size_t)i * u->cap, u->tx_buf + (size_t)from * u->cap,
                u->tx_iov[from].iov_len);
        u->tx_iov[i].iov_len = u->tx_iov[from].iov_len;
        u->tx_addr[i] = u->tx_addr[from];
    }
    u->tx_head = 0;
    u->tx_n = n;
}

/* sendmmsg of the waiting frames; bounded by the batch. */
static int send_waiting(struct dp_udp *u, struct nr_err *err)
{
    for (uint32_t tries = 0; u->tx_head < u->tx_n && tries < 2 * DP_UDP_BATCH_MAX; tries++) {
        int n = sendmmsg(u->fd, &u->tx_msgs[u->tx_head], u->tx_n - u->tx_head, MSG_DONTWAIT);
        if (n > 0) {
            u->tx_head += (uint32_t)n;
            u->stats.tx_frames += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
            return NR_EBUSY;
        /* The first frame is refused for good (unreachable, ...): drop it
         * and tell, so that one bad peer does not block the others. */
        int e = errno;
        char dst[DP_ENDPOINT_STR_LEN];
        struct dp_endpoint ep = {ntohl(u->tx_addr[u->tx_head].sin_addr.s_addr),
                                 ntohs(u->tx_addr[u->tx_head].sin_port)};
        u->tx_head++;
        u->stats.tx_dropped++;
        return nr_errf(err, NR_EIO, "udp transport: sendmmsg to %s: %s",
                       dp_endpoint_format(&ep, dst, sizeof(dst)), strerror(e));
    }
    if (u->tx_head == u->tx_n)
        u->tx_head = u->tx_n = 0;
    return u->tx_n == 0 ? 0 : NR_EBUSY;
}

int dp_udp_flush(struct dp_udp *u, struct nr_err *err)
{
    close_open(u);
    int rc = send_waiting(u, err);
    compact(u);
    return rc;
}

/* Room for one more frame in the batch (the open frame is closed). */
static int make_room(struct dp_udp *u, struct nr_err *err)
{
    NR_ASSERT(!u->is_open);
    if (u->tx_n < u->cfg.batch_max)
        return 0;
    int rc = dp_udp_flush(u, err);
    if (rc == NR_EIO || u->tx_n < u->cfg.batch_max)
        return rc == NR_EIO ? rc : 0;
    return NR_EBUSY;
}

static int send_fragmented(struct dp_udp *u, const struct dp_endpoint *dst,
                           const struct dp_frame_addr *a, uint16_t kind, const void *data,
                           uint32_t len, struct nr_err *err)
{
    struct dp_fragmenter f;
    int rc = dp_frag_init(&f, a, u->next_msg_id++, kind, data, len, u->cap, err);
    if (rc != 0)
        return rc;
    while (dp_frag_left(&f) > 0) { /* bounded: at most DP_FRAG_COUNT_MAX fragments */
        rc = make_room(u, err);
        if (rc != 0)
            return rc;
        uint32_t n = dp_frag_next(&f, u->tx_buf + (size_t)u->tx_n * u->cap, u->cap);
        queue_frame(u, n, dst);
    }
    u->stats.tx_msgs++;
    return 0;
}

static bool same_target(const struct dp_udp *u, const struct dp_endpoint *dst, uint64_t receiver_id,
                        uint32_t group_id)
{
    return u->is_open && u->open_dst.ipv4 == dst->ipv4 && u->open_dst.port == dst->port &&
           u->open.addr.receiver_id == receiver_id && u->open.addr.group_id == group_id;
}

int dp_udp_send(struct dp_udp *u, const struct dp_endpoint *dst, uint64_t receiver_id,
                uint32_t group_id, uint16_t kind, const void *data, uint32_t len,
                struct nr_err *err)
{
    if (len > u->cfg.reasm.msg_len_max)
        return nr_errf(err, NR_EINVAL,
                       "udp transport: message of %" PRIu32 " bytes exceeds "
                       "the reassembly limit of %" PRIu32 " bytes",
                       len, u->cfg.reasm.msg_len_max);
    if (receiver_id == u->cfg.self_id)
        return nr_errf(err, NR_EINVAL, "udp transport: message to ourselves (%016" PRIx64 ")",
                       receiver_id);
    struct dp_frame_addr a = {u->cfg.cluster_id, u->cfg.self_id, receiver_id, group_id};
    if (len > dp_frame_msg_max(u->cap)) {
        close_open(u);
        return send_fragmented(u, dst, &a, kind, data, len, err);
    }
    if (same_target(u, dst, receiver_id, group_id)) {
        int rc = dp_builder_add(&u->open, kind, data, len, err);
        if (rc == 0) {
            u->stats.tx_msgs++;
            return 0;
        }
        NR_ASSERT(rc == NR_EBUSY);
    }
    close_open(u);
    int rc = make_room(u, err);
    if (rc != 0)
        return rc;
    dp_builder_init(&u->open, &a, u->tx_buf + (size_t)u->tx_n * u->cap, u->cap);
    u->open_dst = *dst;
    u->is_open = true;
    rc = dp_builder_add(&u->open, kind, data, len, err);
    NR_ASSERT(rc == 0);
    u->stats.tx_msgs++;
    return 0;
}

int dp_udp_poll(struct dp_udp *u, uint64_t now_ns, dp_msg_fn *fn, void *ctx, struct nr_err *err)
{
    for (uint32_t i = 0; i < u->cfg.batch_max; i++)
        u->rx_msgs[i].msg_hdr.msg_namelen = sizeof(u->rx_addr[i]);
    int n = recvmmsg(u->fd, u->rx_msgs, u->cfg.batch_max, MSG_DONTWAIT, NULL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            dp_reasm_expire(u->reasm, now_ns, &u->stats);
            return 0;
        }
        return nr_errf(err, NR_EIO, "udp transport: recvmmsg: %s", strerror(errno));
    }
    int delivered = 0;
    for (int i = 0; i < n; i++) {
        struct nr_err drop_err;
        const struct msghdr *h = &u->rx_msgs[i].msg_hdr;
        if ((h->msg_flags & MSG_TRUNC) != 0) {
            /* Longer than our MTU allows: a peer with a larger MTU. */
            u->stats.drops[DP_DROP_BAD_LENGTH]++;
            continue;
        }
        struct dp_rx_src src = {.ipv4 = ntohl(u->rx_addr[i].sin_addr.s_addr),
                                .port = ntohs(u->rx_addr[i].sin_port),
                                .local_idx = u->cfg.local_idx};
        int rc = dp_rx_payload_from(&u->filter, u->reasm, &src, u->rx_buf + (size_t)i * u->cap,
                                    u->rx_msgs[i].msg_len, now_ns, fn, ctx, &u->stats,
                                    &drop_err);
        if (rc > 0)
            delivered += rc;
    }
    return delivered;
}

int dp_udp_wait(struct dp_udp *u, int timeout_ms, struct nr_err *err)
{
    struct epoll_event ev;

    int n = epoll_wait(u->epfd, &ev, 1, timeout_ms);
    if (n < 0 && errno == EINTR)
        return 0;
    if (n < 0)
        return nr_errf(err, NR_EIO, "udp transport: epoll_wait: %s", strerror(errno));
    return n > 0 ? 1 : 0;
}

void dp_udp_set_self(struct dp_udp *u, uint64_t self_id)
{
    NR_ASSERT(self_id != 0);
    u->cfg.self_id = self_id;
    u->filter.self_id = self_id;
}
