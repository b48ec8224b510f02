/* node_client.c - client requests: writes are staged during a poll
 * iteration and proposed together (one entry each, one WAL batch for all);
 * linearizable reads join one ReadIndex round per iteration and are
 * answered once the store has applied up to the round's index; a follower
 * sends the client to the leader (NOT_LEADER with its ID and client URL).
 * Also the membership a joining node asks for. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "members_wire.h"
#include "node_int.h"
#include "nr_le.h"

static struct node_reply_to msg_src(const struct dp_msg *m)
{
    return (struct node_reply_to){.ep = {.ipv4 = m->src_ipv4, .port = m->src_port},
                                  .sender = m->sender_id};
}

void node_client_reply(struct node *n, const struct node_reply_to *dst, const struct nr_kv_resp *r)
{
    uint8_t buf[NR_KV_RESP_HDR_LEN + 256];
    uint8_t *p = r->val_len <= 256 ? buf : n->enc;
    uint32_t cap = r->val_len <= 256 ? sizeof(buf) : n->enc_cap;
    struct nr_err err;
    int len = nr_kv_resp_encode(r, p, cap, &err);

    if (len < 0) {
        node_log(n, "cannot encode a reply to client %016" PRIx64 ": %s", r->client_id, err.msg);
        return;
    }
    node_send(n, NODE_LOCAL_CLIENT, &dst->ep, dst->sender, NR_KIND_CLIENT_RESP, p, (uint32_t)len);
}

void node_client_error(struct node *n, const struct node_reply_to *dst, uint8_t op,
                       uint64_t client_id, uint64_t seq, uint8_t status, const char *msg)
{
    struct nr_kv_resp r = {.op = op, .status = status, .client_id = client_id, .seq = seq};

    if (status == NR_KV_NOT_LEADER) {
        struct node_member *l = node_member_find(n, n->leader_id);

        r.leader_id = n->leader_id;
        if (l != NULL) {
            r.leader_ipv4 = l->client.ipv4;
            r.leader_port = l->client.port;
        }
    }
    if (msg != NULL) {
        r.val = (const uint8_t *)msg;
        r.val_len = (uint32_t)strlen(msg);
    }
    node_client_reply(n, dst, &r);
}

static void answer_get(struct node *n, const struct node_reply_to *src, uint64_t client_id,
                       uint64_t seq, const uint8_t *key, uint32_t key_len)
{
    struct kv_value v;
    struct nr_kv_resp r = {.op = NR_KV_GET, .client_id = client_id, .seq = seq};

    if (kv_get(n->kv, key, key_len, &v)) {
        r.status = NR_KV_OK;
        r.revision = v.mod_revision;
        r.val = v.val;
        r.val_len = v.val_len;
    } else {
        r.status = NR_KV_NOT_FOUND;
    }
    node_client_reply(n, src, &r);
}

static void stage_write(struct node *n, const struct dp_msg *m, const struct nr_kv_cmd *c,
                        const struct node_reply_to *src)
{
    struct node_staged *s = &n->staged;

    if (s->n == NODE_PROPOSE_MAX || s->cap - s->used < m->len)
        node_propose_staged(n);
    if (n->wait_n + s->n >= NODE_WAITERS_MAX) {
        node_client_error(n, src, c->op, c->client_id, c->seq, NR_KV_BUSY,
                          "too many writes waiting to commit; retry");
        return;
    }
    memcpy(s->buf + s->used, m->data, m->len);
    s->props[s->n] = (struct raft_proposal){
            .type = RAFT_ENTRY_NORMAL, .len = m->len, .data = s->buf + s->used};
    s->who[s->n] = (struct node_waiter){
            .client_id = c->client_id, .seq = c->seq, .src = *src, .op = c->op};
    s->used += m->len;
    s->n++;
}

static void stage_read(struct node *n, const struct nr_kv_cmd *c, const struct node_reply_to *src)
{
    if (n->n_reads == NODE_READS_MAX) {
        node_client_error(n, src, c->op, c->client_id, c->seq, NR_KV_BUSY,
                          "too many reads waiting; retry");
        return;
    }
    struct node_read *r = &n->reads[n->n_reads++];
    r->ctx = n->read_ctx_next;
    r->index = 0;
    r->client_id = c->client_id;
    r->seq = c->seq;
    r->src = *src;
    r->key_len = c->key_len;
    memcpy(r->key, c->key, c->key_len);
    n->read_round_open = true;
}

void node_client_request(struct node *n, const struct dp_msg *m)
{
    struct node_reply_to src = msg_src(m);
    struct nr_kv_cmd c;
    struct nr_err err;

    if (nr_kv_cmd_decode(m->data, m->len, &c, &err) != 0) {
        n->client_bad++;
        /* Answer when the request says who asked, so the client learns why. */
        if (m->len >= NR_KV_CMD_HDR_LEN && m->data[1] >= NR_KV_PUT && m->data[1] <= NR_KV_DEL &&
            nr_get_le64(m->data + 16) != 0)
            node_client_error(n, &src, m->data[1], nr_get_le64(m->data + 16),
                              nr_get_le64(m->data + 24), NR_KV_ERROR, err.msg);
        return;
    }
    if (c.op == NR_KV_GET && (c.flags & NR_KV_F_SERIALIZABLE) != 0) {
        answer_get(n, &src, c.client_id, c.seq, c.key, c.key_len);
        return;
    }
    if (n->role != RAFT_LEADER) {
        node_client_error(n, &src, c.op, c.client_id, c.seq, NR_KV_NOT_LEADER, NULL);
        return;
    }
    if (c.op == NR_KV_GET)
        stage_read(n, &c, &src);
    else
        stage_write(n, m, &c, &src);
}

void node_propose_staged(struct node *n)
{
    struct node_staged *s = &n->staged;
    struct raft_input in = {.kind = RAFT_IN_PROPOSE, .propose = s->props, .n_propose = s->n};
    struct raft_output out;
    struct nr_err err;

    if (s->n == 0)
        return;
    n->propose_index = 0;
    int rc = raft_step(n->raft, &in, &out, &err);
    node_handle_output(n, &in, &out);
    raft_advance(n->raft, &out);
    for (uint32_t i = 0; i < s->n; i++) {
        struct node_waiter *w = &s->who[i];

        if (rc != 0) {
            node_client_error(n, &w->src, w->op, w->client_id, w->seq,
                              rc == NR_ENOTLEADER ? NR_KV_NOT_LEADER : NR_KV_BUSY, err.msg);
            continue;
        }
        w->index = n->propose_index + i;
        n->waiters[(n->wait_head + n->wait_n++) % NODE_WAITERS_MAX] = *w;
    }
    s->n = 0;
    s->used = 0;
}

void node_reads_confirmed(struct node *n, const struct raft_reads *reads)
{
    for (uint32_t i = 0; i < reads->n; i++) {
        if (n->health_token != 0 && reads->v[i].ctx == n->health_ctx) {
            struct node_evt e = {.kind = NODE_EVT_HEALTH,
                                 .token = n->health_token,
                                 .ok = true,
                                 .took_ns = node_now_ns() - n->health_started_ns};

            node_evt_post(n, &e);
            n->health_token = 0;
        }
        for (uint32_t r = 0; r < n->n_reads; r++)
            if (n->reads[r].ctx == reads->v[i].ctx)
                n->reads[r].index = reads->v[i].index;
    }
}

void node_answer_reads(struct node *n)
{
    for (uint32_t r = 0; r < n->n_reads;) {
        struct node_read *rd = &n->reads[r];

        if (rd->index == 0 || rd->index > n->applied) {
            r++;
            continue;
        }
        answer_get(n, &rd->src, rd->client_id, rd->seq, rd->key, rd->key_len);
        *rd = n->reads[--n->n_reads];
    }
}

/* Reads whose round can no longer be confirmed go to the new leader. */
void node_leadership_lost(struct node *n)
{
    for (uint32_t r = 0; r < n->n_reads; r++) {
        const struct node_read *rd = &n->reads[r];

        node_client_error(n, &rd->src, NR_KV_GET, rd->client_id, rd->seq, NR_KV_NOT_LEADER, NULL);
    }
    n->n_reads = 0;
    if (n->health_token != 0) {
        struct node_evt e = {.kind = NODE_EVT_HEALTH, .token = n->health_token};

        snprintf(e.text, sizeof(e.text), "leadership lost during the health check");
        node_evt_post(n, &e);
        n->health_token = 0;
    }
}

void node_members_request(struct node *n, const struct dp_msg *m)
{
    static struct members_resp resp; /* 19 KiB; the poller's alone */
    struct members_req req;
    struct node_reply_to src = msg_src(m);
    struct nr_err err;
    int len;

    if (members_req_decode(m->data, m->len, &req, &err) != 0) {
        n->peer_bad++;
        return;
    }
    memset(&resp, 0, sizeof(resp));
    resp.request_id = req.request_id;
    resp.cluster_id = n->cluster_id;
    resp.leader_id = n->leader_id;
    for (uint32_t i = 0; i < n->members.n; i++)
        resp.members[resp.n_members++] = n->members.v[i].m;
    len = members_resp_encode(&resp, n->enc, n->enc_cap, &err);
    if (len < 0) {
        node_log(n, "cannot answer a membership request: %s", err.msg);
        return;
    }
    dp_xport_send(n->xp, m->local_idx, &src.ep, src.sender, NR_GROUP_MAIN, NR_KIND_MEMBERS_RESP,
                  n->enc, (uint32_t)len, &err);
}
