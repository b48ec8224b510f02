/* nr_client_ep.c - the client's endpoint table (nr_client_ep.h). */
#include "nr_client_ep.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int nr_client_eps_parse(struct nr_client_eps *e, const char *const *urls, uint32_t n,
                        struct nr_err *err)
{
    memset(e, 0, sizeof(*e));
    if (n < 1 || n > NR_CLIENT_ENDPOINTS_MAX || urls == NULL)
        return nr_errf(err, NR_EINVAL, "client: %" PRIu32 " endpoints; give 1..%u", n,
                       NR_CLIENT_ENDPOINTS_MAX);
    for (uint32_t i = 0; i < n; i++) {
        struct dp_endpoint ep;
        struct nr_err e2;
        if (urls[i] == NULL)
            return nr_errf(err, NR_EINVAL, "client: endpoint %" PRIu32 " is missing", i);
        if (dp_url_parse(urls[i], false, &ep, &e2) != 0)
            return nr_errf(err, NR_EINVAL, "client: endpoint %" PRIu32 ": %s", i, e2.msg);
        for (uint32_t j = 0; j < i; j++) {
            if (e->v[j].ipv4 == ep.ipv4 && e->v[j].port == ep.port)
                return nr_errf(err, NR_EINVAL,
                               "client: endpoint %" PRIu32 " \"%s\" repeats endpoint %" PRIu32, i,
                               urls[i], j);
        }
        e->v[i] = ep;
    }
    e->n_cfg = n;
    e->n = n;
    e->next_learned = n;
    return 0;
}

uint32_t nr_client_eps_find_or_add(struct nr_client_eps *e, const struct dp_endpoint *ep)
{
    for (uint32_t i = 0; i < e->n; i++) {
        if (e->v[i].ipv4 == ep->ipv4 && e->v[i].port == ep->port)
            return i;
    }
    uint32_t i = e->n < NR_CLIENT_EPS_CAP ? e->n++ : e->next_learned;
    /* Round robin over the learned slots once they are all taken. */
    e->next_learned = i + 1 < NR_CLIENT_EPS_CAP ? i + 1 : e->n_cfg;
    e->v[i] = *ep;
    NR_ASSERT(i >= e->n_cfg);
    return i;
}

uint32_t nr_client_eps_next(const struct nr_client_eps *e, uint32_t i)
{
    NR_ASSERT(e->n_cfg >= 1);
    return i + 1 < e->n_cfg ? i + 1 : 0;
}

void nr_client_eps_list(const struct nr_client_eps *e, uint32_t mask, char *buf, size_t cap)
{
    size_t used = 0;

    NR_ASSERT(cap > 0);
    buf[0] = '\0';
    for (uint32_t i = 0; i < e->n && used + 1 < cap; i++) {
        char one[DP_ENDPOINT_STR_LEN];
        if ((mask & (UINT32_C(1) << i)) == 0)
            continue;
        int w = snprintf(buf + used, cap - used, "%s%s", used > 0 ? ", " : "",
                         dp_endpoint_format(&e->v[i], one, sizeof(one)));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (used == 0)
        snprintf(buf, cap, "none");
}
