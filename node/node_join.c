/* node_join.c - joining a running cluster (SPEC section 2 rule 8,
 * --initial-cluster-state=existing): ask the peers named in
 * --initial-cluster for the membership, find this node in it by its
 * advertised peer URL, and take the member ID the cluster gave it. A
 * member with another name, or no member with this URL, is refused with
 * both sides shown (etcd: "unmatched member while checking PeerURLs").
 * Runs before the poller: it may block, for at most JOIN_WAIT_NS. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "members_wire.h"
#include "node_int.h"

#define JOIN_WAIT_NS (10ull * 1000000000ull)
#define JOIN_RESEND_NS (300ull * 1000000ull)

struct join_state {
    struct node *n;
    uint64_t request_id;
    struct members_resp resp;
    bool has_resp;
    char bad[sizeof(((struct nr_err *)0)->msg)]; /* the last malformed answer */
};

static void join_on_msg(void *ctx, const struct dp_msg *m)
{
    struct join_state *js = ctx;
    struct nr_err err;

    if (m->kind != NR_KIND_MEMBERS_RESP || js->has_resp)
        return;
    if (members_resp_decode(m->data, m->len, &js->resp, &err) != 0) {
        snprintf(js->bad, sizeof(js->bad), "%s", err.msg);
        return;
    }
    js->has_resp = js->resp.request_id == js->request_id;
}

/* "n1=udp://...,n2=udp://..." of the cluster's view, for the refusal. */
static void members_text(const struct members_resp *r, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (uint32_t i = 0; i < r->n_members && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", i == 0 ? "" : ",",
                                r->members[i].name[0] != '\0' ? r->members[i].name : "(unstarted)",
                                r->members[i].peer_urls[0]);
}

static int join_match(struct node *n, const struct members_resp *r, struct nr_err *err)
{
    char others[1024];

    members_text(r, others, sizeof(others));
    if (r->cluster_id != n->cluster_id)
        return nr_errf(err, NR_EREFUSED,
                       "join refused: the peers answer for cluster %016" PRIx64 ", not "
                       "--initial-cluster-id %016" PRIx64,
                       r->cluster_id, n->cluster_id);
    for (uint32_t i = 0; i < r->n_members; i++) {
        const struct nr_member *m = &r->members[i];

        for (uint32_t u = 0; u < m->n_peer_urls; u++) {
            if (strcmp(m->peer_urls[u], n->f.advertise_peer_url) != 0)
                continue;
            if (m->name[0] != '\0' && strcmp(m->name, n->f.name) != 0)
                break;
            n->self_id = m->id;
            node_log(n, "joining cluster %016" PRIx64 " as member %016" PRIx64 " (%s)",
                     n->cluster_id, m->id, n->f.name);
            return 0;
        }
    }
    return nr_errf(err, NR_EREFUSED,
                   "unmatched member while checking peer URLs: this node is %s=%s, the "
                   "cluster's members are %s; run `nicraftctl member add %s --peer-urls=%s` "
                   "first, or start with the name and URL it printed",
                   n->f.name, n->f.advertise_peer_url, others, n->f.name, n->f.advertise_peer_url);
}

int node_join(struct node *n, struct nr_err *err)
{
    static struct join_state js; /* 19 KiB: not on the stack */
    struct members_req req = {.n_peer_urls = 1};
    uint8_t buf[MEMBERS_REQ_LEN_MAX];
    uint64_t start = node_now_ns(), sent = 0;
    int len, rc;

    memset(&js, 0, sizeof(js));
    js.n = n;
    if (getrandom(&js.request_id, sizeof(js.request_id), 0) != sizeof(js.request_id) ||
        js.request_id == 0)
        js.request_id = start | 1;
    req.request_id = js.request_id;
    snprintf(req.name, sizeof(req.name), "%s", n->f.name);
    snprintf(req.peer_urls[0], sizeof(req.peer_urls[0]), "%s", n->f.advertise_peer_url);
    if ((len = members_req_encode(&req, buf, sizeof(buf), err)) < 0)
        return len;
    while (!js.has_resp && node_now_ns() - start < JOIN_WAIT_NS && !n->stop) {
        uint64_t now = node_now_ns();

        if (now - sent >= JOIN_RESEND_NS) {
            for (uint32_t i = 0; i < n->ic.n_members; i++) {
                struct dp_endpoint ep;
                struct nr_err e;

                if (strcmp(n->ic.members[i].peer_urls[0], n->f.advertise_peer_url) == 0 ||
                    dp_url_parse(n->ic.members[i].peer_urls[0], false, &ep, &e) != 0)
                    continue;
                dp_xport_send(n->xp, NODE_LOCAL_PEER, &ep, DP_MEMBER_BROADCAST, NR_GROUP_MAIN,
                              NR_KIND_MEMBERS_REQ, buf, (uint32_t)len, &e);
            }
            dp_xport_flush(n->xp, err);
            sent = now;
        }
        if ((rc = dp_xport_poll(n->xp, now, join_on_msg, &js, err)) < 0)
            return rc;
        if (rc == 0)
            dp_xport_wait(n->xp, 10000, err);
    }
    if (!js.has_resp)
        return nr_errf(err, NR_EREFUSED,
                       "join: no member of --initial-cluster=%s answered within %llu s%s%s; "
                       "check the URLs, --initial-cluster-id and that the cluster runs",
                       n->f.initial_cluster, JOIN_WAIT_NS / 1000000000ull,
                       js.bad[0] != '\0' ? "; a malformed answer: " : "", js.bad);
    if ((rc = join_match(n, &js.resp, err)) != 0)
        return rc;
    dp_xport_set_self(n->xp, n->self_id);
    return 0;
}
