/* nr_client_ep.h - the client's endpoint table (internal to client/): the
 * configured members' client URLs first, then leader hints learned from
 * NOT_LEADER answers that name an address not in the list. Fixed size, no
 * allocation. */
#ifndef NICRAFT_NR_CLIENT_EP_H
#define NICRAFT_NR_CLIENT_EP_H

#include <stddef.h>
#include <stdint.h>

#include "dp_udp.h"
#include "nr_client.h"
#include "nr_err.h"

/* Configured ones and as many learned; a tried-endpoints mask is 32 bits. */
#define NR_CLIENT_EPS_CAP (2u * NR_CLIENT_ENDPOINTS_MAX)

struct nr_client_eps {
    struct dp_endpoint v[NR_CLIENT_EPS_CAP];
    uint32_t n_cfg;     /* configured: v[0 .. n_cfg) */
    uint32_t n;         /* all: v[0 .. n) */
    uint32_t next_learned; /* the learned slot replaced next when all are taken */
};

/* Parses n URLs (1 .. NR_CLIENT_ENDPOINTS_MAX, strict dp_url_parse, port
 * non-zero, no duplicates). NR_EINVAL quoting the URL otherwise. */
int nr_client_eps_parse(struct nr_client_eps *e, const char *const *urls, uint32_t n,
                        struct nr_err *err);

/* The index of ep, added (replacing the oldest learned one when full) if
 * absent. */
uint32_t nr_client_eps_find_or_add(struct nr_client_eps *e, const struct dp_endpoint *ep);

/* The endpoint after i: the next configured one (a learned one is followed
 * by the first configured one). */
uint32_t nr_client_eps_next(const struct nr_client_eps *e, uint32_t i);

/* Writes "udp://a, udp://b" for the endpoints in mask into buf. */
void nr_client_eps_list(const struct nr_client_eps *e, uint32_t mask, char *buf, size_t cap);

#endif
