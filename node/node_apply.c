/* node_apply.c - applying committed entries: client commands to the store
 * (answering the client that proposed them here), member records and
 * attributes to the member table, configurations to the member table; and
 * the per-tick duties that follow from the applied state (publishing,
 * leaving after a removal). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "members_wire.h"
#include "node_int.h"

#define NODE_PUBLISH_RETRY_NS (1000ull * 1000000u)
#define NODE_REMOVED_STOP_NS (1000ull * 1000000u)

struct node_member *node_member_find(struct node *n, uint64_t id)
{
    for (uint32_t i = 0; i < n->members.n; i++)
        if (n->members.v[i].m.id == id)
            return &n->members.v[i];
    return NULL;
}

static struct node_member *member_slot(struct node *n, uint64_t id)
{
    struct node_member *nm = node_member_find(n, id);

    if (nm != NULL || n->members.n == RAFT_MEMBERS_MAX)
        return nm;
    nm = &n->members.v[n->members.n];
    memset(nm, 0, sizeof(*nm));
    nm->m.id = id;
    n->members.n++;
    return nm;
}

static void urls_parse(struct node_member *nm)
{
    struct nr_err err;

    if (nm->m.n_peer_urls > 0)
        dp_url_parse(nm->m.peer_urls[0], false, &nm->peer, &err);
    if (nm->m.n_client_urls > 0)
        dp_url_parse(nm->m.client_urls[0], false, &nm->client, &err);
}

int node_member_add(struct node *n, const struct nr_member *m, struct nr_err *err)
{
    struct node_member *nm = member_slot(n, m->id);

    if (nm == NULL)
        return nr_errf(err, NR_EBUSY, "the member table is full (%u members)", RAFT_MEMBERS_MAX);
    nm->m = *m;
    urls_parse(nm);
    return 0;
}

static void apply_attr(struct node *n, const struct raft_entry *e)
{
    struct nr_member_attr a;
    struct nr_err err;
    struct node_member *nm;

    if (member_attr_decode(e->data, e->len, &a, &err) != 0 ||
        (nm = node_member_find(n, a.id)) == NULL) {
        n->entries_unknown++;
        return;
    }
    memcpy(nm->m.name, a.name, sizeof(a.name));
    nm->m.n_client_urls = a.n_client_urls;
    memcpy(nm->m.client_urls, a.client_urls, sizeof(a.client_urls));
    nm->started = true;
    urls_parse(nm);
    if (a.id == n->self_id)
        n->has_published = true;
}

static void apply_rec(struct node *n, const struct raft_entry *e)
{
    struct nr_member m;
    struct nr_err err;

    if (member_rec_decode(e->data, e->len, &m, &err) != 0 || node_member_add(n, &m, &err) != 0)
        n->entries_unknown++;
}

/* Answers every write proposed here up to index: the one at index with
 * the store's result when it is the same command, the others (their
 * entries lost to a leader change) with an error that says to retry. */
static void answer_writes(struct node *n, uint64_t index, const struct nr_kv_cmd *cmd,
                          const struct kv_result *res)
{
    while (n->wait_n > 0 && n->waiters[n->wait_head].index <= index) {
        const struct node_waiter *w = &n->waiters[n->wait_head];

        if (w->index == index && cmd != NULL && w->client_id == cmd->client_id &&
            w->seq == cmd->seq) {
            struct nr_kv_resp r = {.op = w->op,
                                   .status = res->status,
                                   .client_id = w->client_id,
                                   .seq = w->seq,
                                   .revision = res->revision};

            if (res->msg[0] != '\0') {
                r.val = (const uint8_t *)res->msg;
                r.val_len = (uint32_t)strlen(res->msg);
            }
            node_client_reply(n, &w->src, &r);
        } else {
            node_client_error(n, &w->src, w->op, w->client_id, w->seq, NR_KV_ERROR,
                              "the proposal was lost to a leader change; retry");
        }
        n->wait_head = (n->wait_head + 1) % NODE_WAITERS_MAX;
        n->wait_n--;
    }
}

static void apply_normal(struct node *n, const struct raft_entry *e)
{
    struct nr_kv_cmd cmd;
    struct kv_result res;
    struct nr_err err;

    switch (nr_entry_class(e->data, e->len)) {
    case NR_ENTRY_CLASS_CLIENT_CMD:
        if (nr_kv_cmd_decode(e->data, e->len, &cmd, &err) == 0) {
            kv_apply(n->kv, e->index, &cmd, &res);
            answer_writes(n, e->index, &cmd, &res);
            return;
        }
        break;
    case NR_ENTRY_CLASS_MEMBER_ATTR:
        apply_attr(n, e);
        kv_skip(n->kv, e->index);
        answer_writes(n, e->index, NULL, NULL);
        return;
    case NR_ENTRY_CLASS_MEMBER_REC:
        apply_rec(n, e);
        kv_skip(n->kv, e->index);
        answer_writes(n, e->index, NULL, NULL);
        return;
    case NR_ENTRY_CLASS_EMPTY:
        kv_skip(n->kv, e->index);
        answer_writes(n, e->index, NULL, NULL);
        return;
    case NR_ENTRY_CLASS_UNKNOWN: break;
    }
    n->entries_unknown++;
    kv_skip(n->kv, e->index);
    answer_writes(n, e->index, NULL, NULL);
}

void node_apply(struct node *n, const struct raft_entries *apply)
{
    for (uint32_t i = 0; i < apply->n; i++) {
        const struct raft_entry *e = &apply->v[i];

        if (e->index <= n->applied)
            continue; /* replayed below a snapshot the store already holds */
        if (e->type == RAFT_ENTRY_NORMAL) {
            apply_normal(n, e);
        } else {
            kv_skip(n->kv, e->index);
            answer_writes(n, e->index, NULL, NULL);
        }
        n->applied = e->index;
    }
}

static bool conf_lists(const uint64_t *v, uint32_t nv, uint64_t id)
{
    for (uint32_t i = 0; i < nv; i++)
        if (v[i] == id)
            return true;
    return false;
}

void node_conf_applied(struct node *n, const struct raft_conf *conf)
{
    /* Members the configuration names: in it, learner or not. */
    const uint64_t *lists[] = {conf->voters, conf->voters_outgoing, conf->learners,
                               conf->learners_next};
    const uint32_t counts[] = {conf->n_voters, conf->n_voters_outgoing, conf->n_learners,
                               conf->n_learners_next};

    for (uint32_t l = 0; l < 4; l++)
        for (uint32_t i = 0; i < counts[l]; i++) {
            struct node_member *nm = member_slot(n, lists[l][i]);

            if (nm != NULL)
                nm->in_conf = true;
        }
    /* Members that were in and are not any more are removed. */
    for (uint32_t i = 0; i < n->members.n;) {
        struct node_member *nm = &n->members.v[i];

        nm->m.is_learner = conf_lists(conf->learners, conf->n_learners, nm->m.id);
        if (nm->in_conf && !raft_conf_has_member(conf, nm->m.id)) {
            node_log(n, "member %016" PRIx64 " (%s) was removed from the cluster", nm->m.id,
                     nm->m.name);
            if (nm->m.id == n->self_id && n->removed_at_ns == 0)
                n->removed_at_ns = node_now_ns();
            n->members.v[i] = n->members.v[n->members.n - 1];
            n->members.n--;
            continue;
        }
        i++;
    }
}

bool node_removed_done(const struct node *n)
{
    return n->removed_at_ns != 0 && node_now_ns() - n->removed_at_ns >= NODE_REMOVED_STOP_NS;
}

/* SPEC section 2 rule 9: until our attributes are applied, send them to
 * the leader (or propose them, as the leader) once a second. */
void node_publish_attrs(struct node *n)
{
    struct nr_member_attr a = {.id = n->self_id, .n_client_urls = 1};
    uint8_t buf[MEMBER_ATTR_LEN_MAX];
    struct nr_err err;

    if (n->has_published || n->leader_id == RAFT_ID_NONE ||
        n->now_ns - n->publish_sent_ns < NODE_PUBLISH_RETRY_NS ||
        node_member_find(n, n->self_id) == NULL)
        return;
    n->publish_sent_ns = n->now_ns;
    snprintf(a.name, sizeof(a.name), "%s", n->f.name);
    snprintf(a.client_urls[0], sizeof(a.client_urls[0]), "%s", n->f.advertise_client_url);
    int len = member_attr_encode(&a, buf, sizeof(buf), &err);
    if (len < 0) {
        node_log(n, "cannot publish this member's attributes: %s", err.msg);
        return;
    }
    if (n->leader_id == n->self_id) {
        struct raft_proposal p = {.type = RAFT_ENTRY_NORMAL, .len = (uint32_t)len, .data = buf};
        struct raft_input in = {.kind = RAFT_IN_PROPOSE, .propose = &p, .n_propose = 1};

        node_step(n, &in);
        return;
    }
    struct node_member *leader = node_member_find(n, n->leader_id);
    if (leader != NULL && leader->peer.port != 0)
        dp_xport_send(n->xp, NODE_LOCAL_PEER, &leader->peer, n->leader_id, NR_GROUP_MAIN,
                      NR_KIND_MEMBER_ATTR, buf, (uint32_t)len, &err);
}

/* The leader proposes a member's attributes for it, when they come from
 * that member and name it. */
void node_member_attr_msg(struct node *n, const struct dp_msg *m)
{
    struct nr_member_attr a;
    struct nr_err err;

    if (n->role != RAFT_LEADER || member_attr_decode(m->data, m->len, &a, &err) != 0 ||
        a.id != m->sender_id || node_member_find(n, a.id) == NULL) {
        n->peer_bad++;
        return;
    }
    struct raft_proposal p = {.type = RAFT_ENTRY_NORMAL, .len = m->len, .data = m->data};
    struct raft_input in = {.kind = RAFT_IN_PROPOSE, .propose = &p, .n_propose = 1};
    node_step(n, &in);
}

void node_tick_duties(struct node *n)
{
    node_publish_attrs(n);
    node_snap_tick(n);
}
