/* dp_lcore.c - the poll loop (see dp_lcore.h). */
#include "dp_lcore.h"

#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#define STEER_RING_SIZE 1024u

static_assert(sizeof(struct dp_ctl_msg) % 4 == 0, "ring element size");

int dp_lcore_init(struct dp_lcore *lc, const struct dp_port *port, const struct dp_net *net_tmpl,
                  const struct dp_lcore_conf *conf, volatile bool *stop, struct nr_err *err)
{
    char name[RTE_RING_NAMESIZE];
    uint32_t ctl_size = conf->ctl_ring_size != 0 ? conf->ctl_ring_size : 1024u;

    memset(lc, 0, sizeof(*lc));
    if (conf->index >= port->n_pollers)
        return nr_errf(err, NR_EINVAL, "dataplane: poller %u of %u", conf->index, port->n_pollers);
    if (conf->on_rx == NULL)
        return nr_errf(err, NR_EINVAL, "dataplane: poller %u has no receive callback",
                       conf->index);
    int rc = dp_idle_init(&lc->idle, &conf->idle, conf->idle_wait_fd, err);
    if (rc != 0)
        return rc;
    unsigned int lcore_id = port->poller_lcore[conf->index];
    int socket = (int)rte_lcore_to_socket_id(lcore_id);
    lc->index = conf->index;
    lc->port_id = port->port_id;
    lc->n_pollers = port->n_pollers;
    lc->pool = dp_port_pool_for_lcore(port, lcore_id);
    lc->net = *net_tmpl;
    lc->on_rx = conf->on_rx;
    lc->owner = conf->owner;
    lc->on_ctl = conf->on_ctl;
    lc->ctx = conf->ctx;
    lc->stop = stop;
    snprintf(name, sizeof(name), "nr_fromctl_%u_%u", port->port_id, conf->index);
    lc->from_ctl = rte_ring_create_elem(name, sizeof(struct dp_ctl_msg), ctl_size, socket,
                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
    snprintf(name, sizeof(name), "nr_toctl_%u_%u", port->port_id, conf->index);
    lc->to_ctl = rte_ring_create(name, ctl_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    snprintf(name, sizeof(name), "nr_ctltx_%u_%u", port->port_id, conf->index);
    lc->ctl_tx = rte_ring_create(name, ctl_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (lc->from_ctl == NULL || lc->to_ctl == NULL || lc->ctl_tx == NULL) {
        dp_lcore_fini(lc);
        return nr_errf(err, NR_ENOMEM, "dataplane: poller %u: control rings of %u: %s",
                       conf->index, ctl_size, rte_strerror(rte_errno));
    }
    return 0;
}

int dp_lcore_link(struct dp_lcore *lcs, uint16_t n, struct nr_err *err)
{
    char name[RTE_RING_NAMESIZE];

    for (uint16_t i = 0; i < n; i++) {
        for (uint16_t j = 0; j < n; j++) {
            if (i == j)
                continue;
            snprintf(name, sizeof(name), "nr_steer_%u_%u_%u", lcs[i].port_id, i, j);
            struct rte_ring *r = rte_ring_create(name, STEER_RING_SIZE, SOCKET_ID_ANY,
                                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (r == NULL)
                return nr_errf(err, NR_ENOMEM, "dataplane: steering ring %u->%u: %s", i, j,
                               rte_strerror(rte_errno));
            lcs[i].steer_out[j] = r;
            lcs[j].steer_in[i] = r;
        }
    }
    return 0;
}

static void ring_drain_free(struct rte_ring *r)
{
    void *m;
    while (rte_ring_dequeue(r, &m) == 0)
        rte_pktmbuf_free(m);
}

void dp_lcore_fini(struct dp_lcore *lc)
{
    for (uint32_t i = 0; i < lc->n_tx; i++)
        rte_pktmbuf_free(lc->tx[i]);
    lc->n_tx = 0;
    if (lc->pending != NULL)
        rte_pktmbuf_free(lc->pending);
    lc->pending = NULL;
    for (uint32_t j = 0; j < DP_PORT_POLLERS_MAX; j++) {
        if (lc->steer_out[j] != NULL) { /* the sender owns (frees) the ring */
            ring_drain_free(lc->steer_out[j]);
            rte_ring_free(lc->steer_out[j]);
        }
        lc->steer_out[j] = NULL;
        lc->steer_in[j] = NULL;
    }
    if (lc->to_ctl != NULL)
        ring_drain_free(lc->to_ctl);
    if (lc->ctl_tx != NULL)
        ring_drain_free(lc->ctl_tx);
    rte_ring_free(lc->to_ctl);
    rte_ring_free(lc->from_ctl);
    rte_ring_free(lc->ctl_tx);
    lc->ctl_tx = NULL;
    lc->to_ctl = NULL;
    lc->from_ctl = NULL;
}

uint32_t dp_lcore_flush(struct dp_lcore *lc)
{
    if (lc->n_tx == 0)
        return 0;
    uint16_t want = (uint16_t)lc->n_tx;
    uint16_t sent = rte_eth_tx_burst(lc->port_id, lc->index, lc->tx, want);
    if (sent < want)
        memmove(lc->tx, lc->tx + sent, (size_t)(want - sent) * sizeof(lc->tx[0]));
    lc->n_tx -= sent;
    lc->n_tx_frames += sent;
    return sent;
}

/* Adds a frame to the TX backlog; a full backlog after a flush drops it. */
static void tx_add(struct dp_lcore *lc, struct rte_mbuf *m)
{
    if (lc->n_tx == DP_LCORE_TX_MAX)
        dp_lcore_flush(lc);
    if (lc->n_tx == DP_LCORE_TX_MAX) {
        lc->n_tx_full++;
        rte_pktmbuf_free(m);
        return;
    }
    lc->tx[lc->n_tx++] = m;
    if (lc->n_tx >= DP_LCORE_BURST)
        dp_lcore_flush(lc);
}

static void arp_solicit(struct dp_lcore *lc, uint32_t ip_be)
{
    uint64_t now = rte_get_tsc_cycles();
    if (now - lc->arp_sent_tsc < rte_get_tsc_hz() / 1000)
        return;
    struct rte_mbuf *m = rte_pktmbuf_alloc(lc->pool);
    if (m == NULL) {
        lc->n_no_mbuf++;
        return;
    }
    lc->arp_sent_tsc = now;
    uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
    uint32_t len = dp_net_arp_request(&lc->net, f, ip_be);
    m->data_len = (uint16_t)len;
    m->pkt_len = len;
    tx_add(lc, m);
}

uint8_t *dp_lcore_tx_begin(struct dp_lcore *lc, uint32_t dst_ip_be, uint32_t len)
{
    NR_ASSERT(lc->pending == NULL);
    NR_ASSERT(len <= dp_net_payload_max(&lc->net));
    const uint8_t *mac = dp_net_neigh_lookup(&lc->net, dst_ip_be);
    if (mac == NULL) {
        lc->n_no_neigh++;
        arp_solicit(lc, dst_ip_be);
        return NULL;
    }
    if (lc->n_tx == DP_LCORE_TX_MAX && dp_lcore_flush(lc) == 0) {
        lc->n_tx_full++;
        return NULL;
    }
    struct rte_mbuf *m = rte_pktmbuf_alloc(lc->pool);
    if (m == NULL) {
        lc->n_no_mbuf++;
        return NULL;
    }
    lc->pending = m;
    lc->pending_mac = mac;
    return rte_pktmbuf_mtod(m, uint8_t *) + DP_NET_HDR_LEN;
}

void dp_lcore_tx_commit(struct dp_lcore *lc, uint32_t dst_ip_be, uint16_t dst_port_be,
                        uint32_t len)
{
    struct rte_mbuf *m = lc->pending;
    NR_ASSERT(m != NULL);
    uint32_t flen = dp_net_encap(&lc->net, rte_pktmbuf_mtod(m, uint8_t *), lc->pending_mac,
                                 dst_ip_be, dst_port_be, len);
    m->data_len = (uint16_t)flen;
    m->pkt_len = flen;
    lc->pending = NULL;
    tx_add(lc, m);
}

void dp_lcore_tx_abort(struct dp_lcore *lc)
{
    NR_ASSERT(lc->pending != NULL);
    rte_pktmbuf_free(lc->pending);
    lc->pending = NULL;
}

int dp_lcore_send(struct dp_lcore *lc, uint32_t dst_ip_be, uint16_t dst_port_be,
                  const void *payload, uint32_t len)
{
    uint8_t *p = dp_lcore_tx_begin(lc, dst_ip_be, len);
    if (p == NULL)
        return NR_EBUSY;
    memcpy(p, payload, len);
    dp_lcore_tx_commit(lc, dst_ip_be, dst_port_be, len);
    return 0;
}

/* Frames done with in this iteration, freed in one bulk call at its end. */
struct free_list {
    struct rte_mbuf *v[DP_LCORE_BURST * (DP_PORT_POLLERS_MAX + 1)];
    uint32_t n;
};

static void free_later(struct free_list *fl, struct rte_mbuf *m)
{
    if (fl->n == sizeof(fl->v) / sizeof(fl->v[0])) {
        rte_pktmbuf_free_bulk(fl->v, fl->n);
        fl->n = 0;
    }
    fl->v[fl->n++] = m;
}

/* Handles one frame this poller owns or was handed; frees or reuses m. */
static void frame_handle(struct dp_lcore *lc, struct rte_mbuf *m, bool may_steer,
                         struct free_list *fl)
{
    struct dp_net_rx rx;

    if (m->nb_segs != 1) {
        lc->n_rx_multiseg++;
        free_later(fl, m);
        return;
    }
    uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
    switch (dp_net_rx(&lc->net, f, m->data_len, &rx)) {
    case DP_NET_PAYLOAD:
        if (may_steer && lc->owner != NULL) {
            uint16_t o = lc->owner(lc->ctx, rx.payload, rx.payload_len);
            if (o != lc->index) {
                struct rte_ring *r = o == DP_LCORE_TO_CTL ? lc->to_ctl
                                     : o < lc->n_pollers ? lc->steer_out[o] : NULL;
                if (r != NULL && rte_ring_sp_enqueue(r, m) == 0) {
                    if (o == DP_LCORE_TO_CTL)
                        lc->n_to_ctl++;
                    else
                        lc->n_steered_out++;
                    return;
                }
                lc->n_steer_full++;
                break;
            }
        }
        lc->on_rx(lc->ctx, lc, &rx);
        break;
    case DP_NET_REPLY:
        tx_add(lc, m);
        return;
    case DP_NET_DONE:
    case DP_NET_DROP:
        break;
    }
    free_later(fl, m);
}

static uint32_t ctl_drain(struct dp_lcore *lc)
{
    struct dp_ctl_msg msgs[DP_LCORE_BURST];
    unsigned int n = rte_ring_sc_dequeue_burst_elem(lc->from_ctl, msgs, sizeof(msgs[0]),
                                                    DP_LCORE_BURST, NULL);
    for (unsigned int i = 0; i < n; i++)
        if (lc->on_ctl != NULL)
            lc->on_ctl(lc->ctx, lc, &msgs[i]);
    lc->n_ctl_msgs += n;
    struct rte_mbuf *pkts[DP_LCORE_BURST];
    unsigned int k = rte_ring_sc_dequeue_burst(lc->ctl_tx, (void **)pkts, DP_LCORE_BURST, NULL);
    for (unsigned int i = 0; i < k; i++)
        tx_add(lc, pkts[i]);
    return n + k;
}

uint32_t dp_lcore_poll(struct dp_lcore *lc)
{
    struct rte_mbuf *pkts[DP_LCORE_BURST];
    struct free_list fl;
    uint32_t n_work = 0;

    fl.n = 0;
    lc->n_polls++;
    uint16_t n = rte_eth_rx_burst(lc->port_id, lc->index, pkts, DP_LCORE_BURST);
    lc->n_rx_frames += n;
    for (uint16_t i = 0; i < n; i++) {
        if (i + 1 < n)
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
        frame_handle(lc, pkts[i], true, &fl);
    }
    n_work += n;
    for (uint16_t j = 0; j < lc->n_pollers; j++) {
        if (lc->steer_in[j] == NULL)
            continue;
        unsigned int k = rte_ring_sc_dequeue_burst(lc->steer_in[j], (void **)pkts,
                                                   DP_LCORE_BURST, NULL);
        for (unsigned int i = 0; i < k; i++)
            frame_handle(lc, pkts[i], false, &fl);
        n_work += k;
    }
    if (fl.n > 0)
        rte_pktmbuf_free_bulk(fl.v, fl.n);
    n_work += ctl_drain(lc);
    /* Frames stuck behind a full TX queue are not work: a poller whose
     * peer is gone may still go idle. */
    return n_work + dp_lcore_flush(lc);
}

int dp_lcore_run(void *arg)
{
    struct dp_lcore *lc = arg;

    /* The poll loop runs until told to stop; in a node, for the process's life. */
    while (!__atomic_load_n(lc->stop, __ATOMIC_RELAXED))
        dp_idle_after_poll(&lc->idle, dp_lcore_poll(lc));
    dp_lcore_flush(lc);
    return 0;
}

int dp_lcore_ctl_post(struct dp_lcore *lc, const struct dp_ctl_msg *msg)
{
    struct dp_ctl_msg copy = *msg;
    if (rte_ring_sp_enqueue_elem(lc->from_ctl, &copy, sizeof(copy)) != 0)
        return NR_EBUSY;
    return 0;
}

int dp_lcore_ctl_tx(struct dp_lcore *lc, struct rte_mbuf *m)
{
    return rte_ring_sp_enqueue(lc->ctl_tx, m) == 0 ? 0 : NR_EBUSY;
}
