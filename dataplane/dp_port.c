/* dp_port.c - EAL arguments, port and queue set-up, per-socket pools and
 * rte_flow steering (see dp_port.h). Start-up code: allocation is fine here. */
#include "dp_port.h"

#include <numa.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define MBUF_CACHE 256u

struct argv_builder {
    char *store;
    uint32_t used, cap;
    char **argv;
    int argc, argv_max;
    bool is_full;
};

static void arg_add(struct argv_builder *b, const char *fmt, const char *val)
{
    if (b->argc + 1 >= b->argv_max) {
        b->is_full = true;
        return;
    }
    int n = snprintf(b->store + b->used, b->cap - b->used, fmt, val);
    if (n < 0 || (uint32_t)n >= b->cap - b->used) {
        b->is_full = true;
        return;
    }
    b->argv[b->argc++] = b->store + b->used;
    b->argv[b->argc] = NULL;
    b->used += (uint32_t)n + 1;
}

int dp_port_eal_argv(const struct dp_port_conf *conf, char *store, uint32_t store_len,
                     char **argv, int argv_max, int *argc, struct nr_err *err)
{
    struct argv_builder b = {.store = store, .cap = store_len, .argv = argv,
                             .argv_max = argv_max};
    char mem[16];

    if (conf->file_prefix == NULL || conf->file_prefix[0] == '\0')
        return nr_errf(err, NR_EINVAL, "dataplane: EAL file prefix is required (one per "
                                       "process on a host)");
    if (conf->lcores == NULL || conf->lcores[0] == '\0')
        return nr_errf(err, NR_EINVAL, "dataplane: EAL lcore list is required");
    arg_add(&b, "%s", "nicraft");
    arg_add(&b, "-l%s", conf->lcores);
    arg_add(&b, "--file-prefix=%s", conf->file_prefix);
    arg_add(&b, "--log-level=%s", conf->log_level != NULL ? conf->log_level : "*:warning");
    if (conf->no_huge) {
        snprintf(mem, sizeof(mem), "%u", conf->mem_mb != 0 ? conf->mem_mb : 256u);
        arg_add(&b, "%s", "--no-huge");
        arg_add(&b, "-m%s", mem);
    }
    if (conf->no_pci)
        arg_add(&b, "%s", "--no-pci");
    if (conf->no_shconf)
        arg_add(&b, "%s", "--no-shconf");
    if (conf->single_file_segments)
        arg_add(&b, "%s", "--single-file-segments");
    if (conf->vdev != NULL)
        arg_add(&b, "--vdev=%s", conf->vdev);
    if (b.is_full)
        return nr_errf(err, NR_EINVAL, "dataplane: EAL arguments exceed %u bytes or %d words",
                       store_len, argv_max);
    *argc = b.argc;
    return 0;
}

int dp_port_eal_init(const struct dp_port_conf *conf, struct nr_err *err)
{
    static char store[2048];
    static char *argv[DP_PORT_EAL_ARGS_MAX];
    int argc = 0;

    int rc = dp_port_eal_argv(conf, store, sizeof(store), argv, DP_PORT_EAL_ARGS_MAX, &argc, err);
    if (rc != 0)
        return rc;
    if (rte_eal_init(argc, argv) < 0)
        return nr_errf(err, NR_EIO, "dataplane: rte_eal_init failed: %s (prefix %s, lcores %s)",
                       rte_strerror(rte_errno), conf->file_prefix, conf->lcores);
    return 0;
}

static int pools_create(struct dp_port *port, const struct dp_port_conf *conf,
                        struct nr_err *err)
{
    uint32_t n_mbufs = conf->n_mbufs != 0 ? conf->n_mbufs : 8191u;
    uint16_t room = (uint16_t)(RTE_PKTMBUF_HEADROOM + RTE_ALIGN_CEIL(port->mtu + 18u, 64u));
    if (room < RTE_MBUF_DEFAULT_BUF_SIZE)
        room = RTE_MBUF_DEFAULT_BUF_SIZE;
    int sockets[DP_PORT_POLLERS_MAX + 1];
    uint32_t n_sockets = 0;

    for (uint16_t i = 0; i < port->n_pollers; i++)
        sockets[n_sockets++] = (int)rte_lcore_to_socket_id(port->poller_lcore[i]);
    sockets[n_sockets++] = port->nic_socket >= 0 ? port->nic_socket : (int)rte_socket_id();
    if (numa_available() >= 0 && port->nic_socket >= 0 && port->nic_socket <= numa_max_node())
        numa_set_preferred(port->nic_socket); /* the control thread's buffers near the NIC */
    for (uint32_t i = 0; i < n_sockets; i++) {
        int s = sockets[i];
        char name[RTE_MEMPOOL_NAMESIZE];
        if (s < 0 || (uint32_t)s >= DP_PORT_SOCKETS_MAX)
            return nr_errf(err, NR_EINVAL, "dataplane: socket %d is beyond %u", s,
                           DP_PORT_SOCKETS_MAX);
        if (port->pool[s] != NULL)
            continue;
        snprintf(name, sizeof(name), "nr_mbuf_p%u_s%d", port->port_id, s);
        port->pool[s] = rte_pktmbuf_pool_create(name, n_mbufs, MBUF_CACHE, 0, room, s);
        if (port->pool[s] == NULL) /* --no-huge gives socket 0 only: take any */
            port->pool[s] = rte_pktmbuf_pool_create(name, n_mbufs, MBUF_CACHE, 0, room,
                                                    SOCKET_ID_ANY);
        if (port->pool[s] == NULL)
            return nr_errf(err, NR_ENOMEM,
                           "dataplane: mbuf pool of %u x %u bytes on socket %d: %s", n_mbufs,
                           room, s, rte_strerror(rte_errno));
    }
    return 0;
}

struct rte_mempool *dp_port_pool_for_lcore(const struct dp_port *port, unsigned int lcore_id)
{
    unsigned int s = rte_lcore_to_socket_id(lcore_id);
    if (s < DP_PORT_SOCKETS_MAX && port->pool[s] != NULL)
        return port->pool[s];
    for (unsigned int i = 0; i < DP_PORT_SOCKETS_MAX; i++)
        if (port->pool[i] != NULL)
            return port->pool[i];
    return NULL;
}

static int pollers_pick(struct dp_port *port, struct nr_err *err)
{
    uint16_t n = 0;
    unsigned int lcore;

    RTE_LCORE_FOREACH(lcore) {
        if (n == port->n_pollers)
            break;
        port->poller_lcore[n++] = lcore;
    }
    if (n < port->n_pollers)
        return nr_errf(err, NR_EINVAL, "dataplane: %u pollers need %u lcores; EAL has %u",
                       port->n_pollers, port->n_pollers, rte_lcore_count());
    return 0;
}

static int queues_setup(struct dp_port *port, const struct dp_port_conf *conf,
                        const struct rte_eth_dev_info *info, struct nr_err *err)
{
    uint16_t rx_desc = conf->rx_desc != 0 ? conf->rx_desc : 1024;
    uint16_t tx_desc = conf->tx_desc != 0 ? conf->tx_desc : 1024;
    int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port->port_id, &rx_desc, &tx_desc);
    if (rc != 0)
        return nr_errf(err, NR_EIO, "dataplane: port %u: descriptor counts: %s", port->port_id,
                       rte_strerror(-rc));
    for (uint16_t q = 0; q < port->n_rxq; q++) {
        unsigned int lc = port->poller_lcore[q];
        rc = rte_eth_rx_queue_setup(port->port_id, q, rx_desc,
                                    rte_lcore_to_socket_id(lc), &info->default_rxconf,
                                    dp_port_pool_for_lcore(port, lc));
        if (rc != 0)
            return nr_errf(err, NR_EIO, "dataplane: port %u: RX queue %u: %s", port->port_id, q,
                           rte_strerror(-rc));
    }
    for (uint16_t q = 0; q < port->n_txq; q++) {
        unsigned int socket = q < port->n_pollers
                                  ? rte_lcore_to_socket_id(port->poller_lcore[q])
                                  : (unsigned int)(port->nic_socket >= 0 ? port->nic_socket : 0);
        rc = rte_eth_tx_queue_setup(port->port_id, q, tx_desc, socket, &info->default_txconf);
        if (rc != 0)
            return nr_errf(err, NR_EIO, "dataplane: port %u: TX queue %u: %s", port->port_id, q,
                           rte_strerror(-rc));
    }
    return 0;
}

/* PMDs whose TX queue i is the peer's RX queue i (memif rings) or that open
 * one socket per queue pair (af_packet qpairs, af_xdp queue_count): an
 * extra TX queue would be unpaired, so the control thread sends via poller 0. */
static bool pmd_pairs_queues(const char *driver)
{
    static const char *const paired[] = {"net_memif", "net_af_packet", "net_af_xdp"};
    for (size_t i = 0; i < sizeof(paired) / sizeof(paired[0]); i++)
        if (strcmp(driver, paired[i]) == 0)
            return true;
    return false;
}

int dp_port_open(struct dp_port *port, const struct dp_port_conf *conf, struct nr_err *err)
{
    struct rte_eth_dev_info info;
    struct rte_eth_conf eth_conf;
    struct rte_ether_addr mac;
    int rc;

    memset(port, 0, sizeof(*port));
    if (conf->n_pollers < 1 || conf->n_pollers > DP_PORT_POLLERS_MAX)
        return nr_errf(err, NR_EINVAL, "dataplane: %u pollers is outside 1..%u",
                       conf->n_pollers, DP_PORT_POLLERS_MAX);
    if (rte_eth_dev_count_avail() == 0)
        return nr_errf(err, NR_EINVAL, "dataplane: no ethernet port (vdev '%s')",
                       conf->vdev != NULL ? conf->vdev : "none");
    port->port_id = (uint16_t)rte_eth_find_next_owned_by(0, RTE_ETH_DEV_NO_OWNER);
    port->n_pollers = conf->n_pollers;
    port->n_rxq = conf->n_pollers;
    port->mtu = conf->mtu != 0 ? conf->mtu : 1500;
    port->nic_socket = rte_eth_dev_socket_id(port->port_id);
    port->steer = conf->n_pollers == 1 ? DP_PORT_STEER_NONE : DP_PORT_STEER_SOFT;
    rc = rte_eth_dev_info_get(port->port_id, &info);
    if (rc != 0)
        return nr_errf(err, NR_EIO, "dataplane: port %u: info: %s", port->port_id,
                       rte_strerror(-rc));
    if (info.max_rx_queues < port->n_rxq || info.max_tx_queues < port->n_pollers)
        return nr_errf(err, NR_EINVAL,
                       "dataplane: port %u (%s) has %u RX / %u TX queues; %u pollers need %u "
                       "of each (net_af_packet: qpairs=%u)",
                       port->port_id, info.driver_name, info.max_rx_queues, info.max_tx_queues,
                       port->n_pollers, port->n_pollers, port->n_pollers);
    bool has_ctl_txq = info.max_tx_queues > port->n_pollers && !pmd_pairs_queues(info.driver_name);
    port->ctl_txq = has_ctl_txq ? port->n_pollers : (uint16_t)DP_PORT_CTL_TXQ_NONE;
    port->n_txq = (uint16_t)(port->n_pollers + (has_ctl_txq ? 1 : 0));
    rc = pollers_pick(port, err);
    if (rc == 0)
        rc = pools_create(port, conf, err);
    if (rc != 0)
        goto fail_pools;
    memset(&eth_conf, 0, sizeof(eth_conf));
    rc = rte_eth_dev_configure(port->port_id, port->n_rxq, port->n_txq, &eth_conf);
    if (rc != 0) {
        rc = nr_errf(err, NR_EIO, "dataplane: port %u: configure: %s", port->port_id,
                     rte_strerror(-rc));
        goto fail_pools;
    }
    if (port->mtu != 1500 && rte_eth_dev_set_mtu(port->port_id, port->mtu) != 0) {
        rc = nr_errf(err, NR_EINVAL, "dataplane: port %u (%s) refuses mtu %u", port->port_id,
                     info.driver_name, port->mtu);
        goto fail_pools;
    }
    rc = queues_setup(port, conf, &info, err);
    if (rc != 0)
        goto fail_pools;
    rc = rte_eth_dev_start(port->port_id);
    if (rc != 0) {
        rc = nr_errf(err, NR_EIO, "dataplane: port %u: start: %s", port->port_id,
                     rte_strerror(-rc));
        goto fail_pools;
    }
    port->is_started = true;
    rte_eth_promiscuous_enable(port->port_id); /* af_packet: see all frames on the veth */
    rte_eth_macaddr_get(port->port_id, &mac);
    memcpy(port->mac, mac.addr_bytes, 6);
    return 0;

fail_pools:
    dp_port_close(port);
    return rc;
}

void dp_port_close(struct dp_port *port)
{
    if (port->is_started) {
        struct rte_flow_error ferr;
        rte_flow_flush(port->port_id, &ferr);
        rte_eth_dev_stop(port->port_id);
        rte_eth_dev_close(port->port_id);
        port->is_started = false;
    }
    for (unsigned int i = 0; i < DP_PORT_SOCKETS_MAX; i++) {
        rte_mempool_free(port->pool[i]);
        port->pool[i] = NULL;
    }
}

int dp_port_steer_group(struct dp_port *port, uint32_t group_id, uint16_t group_off,
                        uint16_t poller, struct nr_err *err)
{
    struct rte_flow_attr attr = {.ingress = 1};
    /* dp_frame.h: the group ID is little-endian at a fixed header offset. */
    uint8_t bytes[4] = {(uint8_t)group_id, (uint8_t)(group_id >> 8), (uint8_t)(group_id >> 16),
                        (uint8_t)(group_id >> 24)};
    struct rte_flow_item_raw raw = {.relative = 1, .offset = (int32_t)group_off,
                                    .length = 4, .pattern = bytes};
    struct rte_flow_item_raw raw_mask = {.relative = 1, .search = 0, .offset = -1,
                                         .limit = 0xffff, .length = 0xffff, .pattern = NULL};
    struct rte_flow_item pattern[] = {
        {.type = RTE_FLOW_ITEM_TYPE_ETH},
        {.type = RTE_FLOW_ITEM_TYPE_IPV4},
        {.type = RTE_FLOW_ITEM_TYPE_UDP},
        {.type = RTE_FLOW_ITEM_TYPE_RAW, .spec = &raw, .mask = &raw_mask},
        {.type = RTE_FLOW_ITEM_TYPE_END},
    };
    struct rte_flow_action_queue queue = {.index = poller};
    struct rte_flow_action actions[] = {
        {.type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &queue},
        {.type = RTE_FLOW_ACTION_TYPE_END},
    };
    struct rte_flow_error ferr = {0};

    raw_mask.pattern = (const uint8_t[4]){0xff, 0xff, 0xff, 0xff};
    if (poller >= port->n_pollers)
        return nr_errf(err, NR_EINVAL, "dataplane: group %u: poller %u of %u", group_id, poller,
                       port->n_pollers);
    if (port->steer == DP_PORT_STEER_NONE)
        return 0;
    if (port->steer == DP_PORT_STEER_FLOW || port->n_flow_rules == 0) {
        if (rte_flow_validate(port->port_id, &attr, pattern, actions, &ferr) == 0 &&
            rte_flow_create(port->port_id, &attr, pattern, actions, &ferr) != NULL) {
            port->steer = DP_PORT_STEER_FLOW;
            port->n_flow_rules++;
            return 0;
        }
    }
    port->steer = DP_PORT_STEER_SOFT;
    return nr_errf(err, NR_EREFUSED,
                   "dataplane: port %u does not steer group %u by rte_flow (%s); the pollers "
                   "dispatch in software",
                   port->port_id, group_id, ferr.message != NULL ? ferr.message : "unsupported");
}

const char *dp_port_steer_name(enum dp_port_steer steer)
{
    switch (steer) {
    case DP_PORT_STEER_NONE: return "none";
    case DP_PORT_STEER_FLOW: return "rte_flow";
    case DP_PORT_STEER_SOFT: return "software";
    }
    return "unknown";
}
