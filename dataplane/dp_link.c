/* dp_link.c - nicraft messages over one DPDK poller (see dp_link.h). */
#include "dp_link.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct dp_link {
    struct dp_link_config cfg;
    struct dp_lcore *lc;
    uint32_t cap;                 /* frame capacity: mtu - 28 */
    uint16_t ports_be[DP_LINK_LOCAL_MAX];
    struct dp_rx_filter filter;
    struct dp_reasm *reasm[DP_LINK_LOCAL_MAX];
    struct dp_stats stats;
    uint32_t next_msg_id;         /* fragmented messages we sent */
    /* The open frame: a builder over lc's pending mbuf (dp_lcore_tx_begin).
     * While it is open, nobody else may begin a frame on lc. */
    bool is_open;
    struct dp_builder open;
    uint32_t open_ip_be;
    uint16_t open_port_be;
    uint32_t open_local;
    /* Set for the length of one dp_link_poll. */
    dp_msg_fn *poll_fn;
    void *poll_ctx;
    uint64_t poll_now_ns;
    uint32_t poll_delivered;
};

static int check_config(const struct dp_link_config *cfg, uint32_t mtu, struct nr_err *err)
{
    if (cfg->port == NULL || cfg->lc == NULL || !cfg->port->is_started)
        return nr_errf(err, NR_EINVAL, "dpdk link: needs an open port and lcore storage");
    if (cfg->cluster_id == 0 || cfg->self_id == 0)
        return nr_errf(err, NR_EINVAL,
                       "dpdk link: cluster_id %016" PRIx64 " and self_id %016" PRIx64
                       " must both be non-zero",
                       cfg->cluster_id, cfg->self_id);
    if (cfg->ipv4 == 0)
        return nr_errf(err, NR_EINVAL, "dpdk link: the local IPv4 address must not be 0.0.0.0");
    if (cfg->n_local < 1 || cfg->n_local > DP_LINK_LOCAL_MAX)
        return nr_errf(err, NR_EINVAL, "dpdk link: %" PRIu32 " local ports is outside 1..%u",
                       cfg->n_local, DP_LINK_LOCAL_MAX);
    if (dp_frame_cap_for_mtu(mtu) == 0 || mtu > cfg->port->mtu || mtu > DP_NET_MTU_MAX)
        return nr_errf(err, NR_EINVAL, "dpdk link: mtu %" PRIu32 " is outside %u..%u (the port's)",
                       mtu, DP_MTU_MIN, cfg->port->mtu);
    return 0;
}

/* The dp_net template: our address and every local port. */
static int net_setup(const struct dp_link_config *cfg, uint32_t mtu, struct dp_net *net,
                     struct nr_err *err)
{
    if (cfg->local_ports[0] == 0)
        return nr_errf(err, NR_EINVAL, "dpdk link: local port 0 cannot be listened on");
    int rc = dp_net_init(net, cfg->port->mac, htonl(cfg->ipv4), htons(cfg->local_ports[0]),
                         (uint16_t)mtu, err);
    for (uint32_t i = 1; rc == 0 && i < cfg->n_local; i++) {
        uint16_t idx = 0;
        rc = dp_net_add_port(net, htons(cfg->local_ports[i]), &idx, err);
        NR_ASSERT(rc != 0 || idx == i);
    }
    return rc;
}

static void link_on_rx(void *ctx, struct dp_lcore *lc, const struct dp_net_rx *rx);
static uint16_t link_owner(void *ctx, const uint8_t *payload, uint32_t len);

int dp_link_create(const struct dp_link_config *cfg, struct dp_link **out, struct nr_err *err)
{
    uint32_t mtu = cfg->mtu != 0 ? cfg->mtu : (cfg->port != NULL ? cfg->port->mtu : 0);
    struct dp_net net;

    int rc = check_config(cfg, mtu, err);
    if (rc == 0)
        rc = net_setup(cfg, mtu, &net, err);
    if (rc != 0)
        return rc;
    struct dp_link *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return nr_errf(err, NR_ENOMEM, "dpdk link: out of memory");
    l->cfg = *cfg;
    l->cap = dp_frame_cap_for_mtu(mtu);
    NR_ASSERT(l->cap <= dp_net_payload_max(&net));
    l->filter = (struct dp_rx_filter){.cluster_id = cfg->cluster_id, .self_id = cfg->self_id};
    for (uint32_t i = 0; i < cfg->n_local; i++) {
        l->ports_be[i] = htons(cfg->local_ports[i]);
        rc = dp_reasm_create(&cfg->reasm, &l->reasm[i], err);
        if (rc != 0)
            goto fail_reasm;
    }
    struct dp_lcore_conf lconf = {.index = cfg->index, .idle = cfg->idle,
                                  .idle_wait_fd = cfg->idle_wait_fd, .on_rx = link_on_rx,
                                  .owner = cfg->owner != NULL ? link_owner : NULL, .ctx = l};
    if (lconf.idle.sleep_us_min == 0) /* a zeroed config: the adaptive defaults */
        dp_idle_conf_default(&lconf.idle, cfg->idle.policy);
    static volatile bool never_stop;
    rc = dp_lcore_init(cfg->lc, cfg->port, &net, &lconf,
                       cfg->stop != NULL ? cfg->stop : &never_stop, err);
    if (rc != 0)
        goto fail_reasm;
    l->lc = cfg->lc;
    *out = l;
    return 0;

fail_reasm:
    for (uint32_t i = 0; i < DP_LINK_LOCAL_MAX; i++)
        dp_reasm_destroy(l->reasm[i]);
    free(l);
    return rc;
}

void dp_link_destroy(struct dp_link *l)
{
    if (l == NULL)
        return;
    dp_lcore_fini(l->lc); /* frees the open frame's mbuf and the backlog */
    for (uint32_t i = 0; i < DP_LINK_LOCAL_MAX; i++)
        dp_reasm_destroy(l->reasm[i]);
    free(l);
}

static uint16_t link_owner(void *ctx, const uint8_t *payload, uint32_t len)
{
    struct dp_link *l = ctx;
    return l->cfg.owner(l->cfg.owner_ctx, payload, len);
}

const struct dp_stats *dp_link_stats(const struct dp_link *l)
{
    return &l->stats;
}

const struct dp_lcore *dp_link_lcore(const struct dp_link *l)
{
    return l->lc;
}

uint32_t dp_link_pending(const struct dp_link *l)
{
    return l->lc->n_tx + (l->is_open ? 1u : 0u);
}

/* Commits a frame of len bytes in lc's pending mbuf, from local port
 * local_idx: dp_net_encap writes lc->net.udp_port_be as the source port. */
static void commit_frame(struct dp_link *l, uint32_t local_idx, uint32_t ip_be, uint16_t port_be,
                         uint32_t len)
{
    l->lc->net.udp_port_be = l->ports_be[local_idx];
    dp_lcore_tx_commit(l->lc, ip_be, port_be, len);
    l->stats.tx_frames++;
}

static void close_open(struct dp_link *l)
{
    if (!l->is_open)
        return;
    uint32_t len = dp_builder_finish(&l->open);
    NR_ASSERT(len > 0); /* a frame is opened with its first message */
    l->is_open = false;
    commit_frame(l, l->open_local, l->open_ip_be, l->open_port_be, len);
}

/* A frame buffer for ip_be from lc, or NR_EBUSY with the reason in err. */
static int begin_frame(struct dp_link *l, uint32_t ip_be, uint8_t **buf, struct nr_err *err)
{
    NR_ASSERT(!l->is_open);
    uint64_t no_neigh = l->lc->n_no_neigh;
    *buf = dp_lcore_tx_begin(l->lc, ip_be, l->cap);
    if (*buf != NULL)
        return 0;
    struct in_addr a = {.s_addr = ip_be};
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, ip, sizeof(ip));
    if (l->lc->n_no_neigh != no_neigh)
        return nr_errf(err, NR_EBUSY, "dpdk link: %s is not resolved yet (ARP request sent)",
                       ip);
    return nr_errf(err, NR_EBUSY, "dpdk link: frame to %s: the mbuf pool is empty or TX is full",
                   ip);
}

static int send_fragmented(struct dp_link *l, uint32_t local_idx, uint32_t ip_be,
                           uint16_t port_be, const struct dp_frame_addr *a, uint16_t kind,
                           const void *data, uint32_t len, struct nr_err *err)
{
    struct dp_fragmenter f;
    uint8_t *buf;

    /* The neighbour first, so that an unresolved peer costs no message ID
     * and sends no fragment. */
    int rc = begin_frame(l, ip_be, &buf, err);
    if (rc != 0)
        return rc;
    rc = dp_frag_init(&f, a, l->next_msg_id++, kind, data, len, l->cap, err);
    if (rc != 0) {
        dp_lcore_tx_abort(l->lc);
        return rc;
    }
    for (;;) { /* bounded: at most DP_FRAG_COUNT_MAX fragments */
        uint32_t n = dp_frag_next(&f, buf, l->cap);
        NR_ASSERT(n > 0);
        commit_frame(l, local_idx, ip_be, port_be, n);
        if (dp_frag_left(&f) == 0)
            break;
        rc = begin_frame(l, ip_be, &buf, err);
        if (rc != 0)
            return rc; /* half sent: the receiver expires it */
    }
    l->stats.tx_msgs++;
    return 0;
}

static bool same_target(const struct dp_link *l, uint32_t local_idx, uint32_t ip_be,
                        uint16_t port_be, uint64_t receiver_id, uint32_t group_id)
{
    return l->is_open && l->open_ip_be == ip_be && l->open_port_be == port_be &&
           l->open_local == local_idx && l->open.addr.receiver_id == receiver_id &&
           l->open.addr.group_id == group_id;
}

static int check_send(const struct dp_link *l, uint32_t local_idx, const struct dp_endpoint *dst,
                      uint64_t receiver_id, uint32_t len, struct nr_err *err)
{
    if (len > l->cfg.reasm.msg_len_max)
        return nr_errf(err, NR_EINVAL,
                       "dpdk link: message of %" PRIu32 " bytes exceeds the reassembly limit of "
                       "%" PRIu32 " bytes",
                       len, l->cfg.reasm.msg_len_max);
    if (receiver_id == l->cfg.self_id)
        return nr_errf(err, NR_EINVAL, "dpdk link: message to ourselves (%016" PRIx64 ")",
                       receiver_id);
    if (local_idx >= l->cfg.n_local)
        return nr_errf(err, NR_EINVAL, "dpdk link: local port index %" PRIu32 " of %" PRIu32,
                       local_idx, l->cfg.n_local);
    if (dst->ipv4 == 0 || dst->port == 0)
        return nr_errf(err, NR_EINVAL, "dpdk link: destination 0.0.0.0 or port 0");
    return 0;
}

int dp_link_send(struct dp_link *l, uint32_t local_idx, const struct dp_endpoint *dst,
                 uint64_t receiver_id, uint32_t group_id, uint16_t kind, const void *data,
                 uint32_t len, struct nr_err *err)
{
    int rc = check_send(l, local_idx, dst, receiver_id, len, err);
    if (rc != 0)
        return rc;
    uint32_t ip_be = htonl(dst->ipv4);
    uint16_t port_be = htons(dst->port);
    struct dp_frame_addr a = {l->cfg.cluster_id, l->cfg.self_id, receiver_id, group_id};
    if (len > dp_frame_msg_max(l->cap)) {
        close_open(l);
        return send_fragmented(l, local_idx, ip_be, port_be, &a, kind, data, len, err);
    }
    if (same_target(l, local_idx, ip_be, port_be, receiver_id, group_id)) {
        rc = dp_builder_add(&l->open, kind, data, len, err);
        if (rc == 0) {
            l->stats.tx_msgs++;
            return 0;
        }
        NR_ASSERT(rc == NR_EBUSY);
    }
    close_open(l);
    uint8_t *buf;
    rc = begin_frame(l, ip_be, &buf, err);
    if (rc != 0)
        return rc;
    dp_builder_init(&l->open, &a, buf, l->cap);
    l->open_ip_be = ip_be;
    l->open_port_be = port_be;
    l->open_local = local_idx;
    l->is_open = true;
    rc = dp_builder_add(&l->open, kind, data, len, err);
    NR_ASSERT(rc == 0);
    l->stats.tx_msgs++;
    return 0;
}

int dp_link_flush(struct dp_link *l, struct nr_err *err)
{
    close_open(l);
    dp_lcore_flush(l->lc);
    if (l->lc->n_tx == 0)
        return 0;
    return nr_errf(err, NR_EBUSY, "dpdk link: the NIC took part of the batch; %" PRIu32
                   " frames wait", l->lc->n_tx);
}

bool dp_link_resolve(struct dp_link *l, uint32_t ipv4)
{
    uint32_t ip_be = htonl(ipv4);
    if (dp_net_neigh_lookup(&l->lc->net, ip_be) != NULL)
        return true;
    close_open(l); /* dp_lcore has one pending frame at a time */
    uint8_t *buf = dp_lcore_tx_begin(l->lc, ip_be, 0); /* unknown: sends the request */
    if (buf != NULL)
        dp_lcore_tx_abort(l->lc);
    return buf != NULL;
}

static void link_on_rx(void *ctx, struct dp_lcore *lc, const struct dp_net_rx *rx)
{
    struct dp_link *l = ctx;
    struct nr_err drop_err;

    NR_ASSERT(l->poll_fn != NULL); /* only dp_link_poll polls a link's lcore */
    NR_ASSERT(rx->local_idx < l->cfg.n_local);
    struct dp_rx_src src = {.ipv4 = ntohl(rx->src_ip_be), .port = ntohs(rx->src_port_be),
                            .local_idx = rx->local_idx};
    int rc = dp_rx_payload_from(&l->filter, l->reasm[rx->local_idx], &src, rx->payload,
                                rx->payload_len, l->poll_now_ns, l->poll_fn, l->poll_ctx,
                                &l->stats, &drop_err);
    if (rc > 0)
        l->poll_delivered += (uint32_t)rc;
    /* A valid frame of our cluster tells where its sender is: learn it, so
     * the answer to a client we never resolved leaves at once instead of
     * waiting for ARP (the first reply would be lost to the resolution). */
    if (rc >= 0 && dp_net_neigh_lookup(&lc->net, rx->src_ip_be) == NULL)
        dp_net_neigh_set(&lc->net, rx->src_ip_be, rx->src_mac, false, &drop_err);
}

uint32_t dp_link_poll(struct dp_link *l, uint64_t now_ns, dp_msg_fn *fn, void *ctx)
{
    NR_ASSERT(fn != NULL);
    NR_ASSERT(l->poll_fn == NULL); /* fn must not poll again */
    l->poll_fn = fn;
    l->poll_ctx = ctx;
    l->poll_now_ns = now_ns;
    l->poll_delivered = 0;
    uint64_t frames_before = l->lc->n_rx_frames;
    dp_lcore_poll(l->lc);
    l->poll_fn = NULL;
    l->poll_ctx = NULL;
    if (l->lc->n_rx_frames == frames_before)
        for (uint32_t i = 0; i < l->cfg.n_local; i++)
            dp_reasm_expire(l->reasm[i], now_ns, &l->stats);
    return l->poll_delivered;
}

void dp_link_set_self(struct dp_link *l, uint64_t self_id)
{
    NR_ASSERT(self_id != 0);
    l->cfg.self_id = self_id;
    l->filter.self_id = self_id;
}
