/* sim_kv.c - the key-value model over the replicated log, and its clients.
 *
 * A put is a RAFT_ENTRY_NORMAL entry (magic, key, client/seq, a value unique
 * in the seed); a get is a ReadIndex request answered from the node's state
 * once it has applied the read index. Each client has one operation
 * outstanding. The history records invocation and response on one clock;
 * a put whose fate the client cannot know (timeout, crash, another entry at
 * its index) gets response "never", so the checker may place it anywhere
 * after its invocation or nowhere; a get that never answers is dropped. */
#include <stdlib.h>
#include <string.h>

#include "nr_le.h"
#include "sim.h"

#define CLIENT_ATTEMPTS_MAX 40 /* refusals before an op is abandoned */

uint32_t sim_kv_encode_put(uint8_t *buf, uint32_t key, uint64_t client_seq, uint64_t value,
                           uint32_t pad_len)
{
    NR_ASSERT(pad_len <= SIM_PAD_MAX);
    nr_put_le32(buf, SIM_MSG_MAGIC);
    nr_put_le32(buf + 4, key);
    nr_put_le64(buf + 8, client_seq);
    nr_put_le64(buf + 16, value);
    for (uint32_t i = 0; i < pad_len; i++)
        buf[SIM_PUT_LEN + i] = (uint8_t)(value + i);
    return SIM_PUT_LEN + pad_len;
}

uint64_t sim_entry_hash(uint32_t type, const uint8_t *data, uint32_t len)
{
    return sim_hash_bytes(data, len, type);
}

int sim_kv_apply(struct sim_kv *kv, const struct raft_entry *e)
{
    if (e->type == RAFT_ENTRY_NORMAL) {
        if (e->len < SIM_PUT_LEN || e->len > SIM_PUT_LEN + SIM_PAD_MAX ||
            nr_get_le32(e->data) != SIM_MSG_MAGIC)
            return -1;
        uint32_t key = nr_get_le32(e->data + 4);

        if (key >= SIM_KEYS_MAX)
            return -1;
        kv->val[key] = nr_get_le64(e->data + 16);
    } else if (e->type != RAFT_ENTRY_NOOP && e->type != RAFT_ENTRY_CONF) {
        return -1;
    }
    uint64_t h = sim_entry_hash(e->type, e->data, e->len);

    kv->digest = sim_mix64(kv->digest ^ sim_mix64(e->index * 31 + e->term) ^ h);
    kv->applied_index = e->index;
    return 0;
}

/* ---- history -------------------------------------------------------- */

static uint32_t hist_add(struct sim_world *w, const struct sim_client *c)
{
    struct sim_hist *h = &w->hist;

    if (h->n == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 256;
        struct sim_op *v = realloc(h->v, (size_t)cap * sizeof(*v));

        NR_ASSERT(v != NULL);
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n] = (struct sim_op){.kind = c->kind,
                                 .client = c->id,
                                 .key = c->key,
                                 .value = c->kind == SIM_OP_PUT ? c->value : 0,
                                 .call = ++h->clock,
                                 .ret = SIM_TIME_NEVER};
    return h->n++;
}

void sim_hist_free(struct sim_hist *h)
{
    free(h->v);
    memset(h, 0, sizeof(*h));
}

/* ---- client life cycle ---------------------------------------------- */

static void client_sleep(struct sim_world *w, struct sim_client *c, uint64_t delay_us)
{
    c->token++;
    sim_schedule(w, delay_us, SIM_EV_CLIENT, 0, c->id, c->token, NULL);
}

static void client_finish(struct sim_world *w, struct sim_client *c)
{
    c->state = SIM_CL_IDLE;
    c->has_op = false;
    c->attempts = 0;
    client_sleep(w, c, sim_rng_range(&w->rng, 0, 10000));
}

static void op_ok(struct sim_world *w, struct sim_client *c, uint64_t value)
{
    struct sim_op *op = &w->hist.v[c->hist];

    op->value = c->kind == SIM_OP_GET ? value : op->value;
    op->ret = ++w->hist.clock;
    w->st.ops_ok++;
    sim_log(w, SIM_REC_OP_DONE, c->target, c->id, c->kind, c->key, op->value, 0, 0);
    client_finish(w, c);
}

/* The client cannot know what happened: a put may or may not take effect;
 * a get had no effect and leaves the history. */
static void op_unknown(struct sim_world *w, struct sim_client *c)
{
    struct sim_op *op = &w->hist.v[c->hist];

    if (c->kind == SIM_OP_GET) {
        op->kind = SIM_OP_DROPPED;
        w->st.gets_dropped++;
    } else {
        w->st.ops_unknown++;
    }
    sim_log(w, SIM_REC_OP_UNKNOWN, c->target, c->id, c->kind, c->key, op->value, 0, 0);
    client_finish(w, c);
}

static void choose_op(struct sim_world *w, struct sim_client *c)
{
    c->kind = sim_rng_bp(&w->rng, w->p.put_bp) ? SIM_OP_PUT : SIM_OP_GET;
    c->key = (uint32_t)sim_rng_below(&w->rng, w->p.n_keys);
    c->value = c->kind == SIM_OP_PUT ? w->next_value++ : 0;
    c->pad_len = (uint32_t)sim_rng_range(&w->rng, w->p.pad_min, SIM_PAD_MAX);
    c->seq++;
    c->has_op = true;
    c->attempts = 0;
}

/* A refusal: follow the leader hint, or try another node, after a pause. */
static void client_retry(struct sim_world *w, struct sim_client *c, int rc, uint64_t hint)
{
    uint32_t n = w->p.n_nodes;

    if (rc == NR_EBUSY) {
        client_sleep(w, c, sim_rng_range(&w->rng, 10000, 30000));
        return;
    }
    if (hint != RAFT_ID_NONE && hint <= n && hint - 1 != c->target) {
        c->target = (uint32_t)(hint - 1);
        client_sleep(w, c, sim_rng_range(&w->rng, 500, 3000));
        return;
    }
    /* No leader known: an election is under way; do not spin. */
    c->target = sim_random_slot(w);
    client_sleep(w, c, sim_rng_range(&w->rng, 10000, 40000));
}

static int client_propose(struct sim_world *w, struct sim_client *c, struct sim_node *n,
                          struct raft_output *out)
{
    uint8_t buf[SIM_PUT_LEN + SIM_PAD_MAX];
    struct raft_proposal prop = {.type = RAFT_ENTRY_NORMAL, .data = buf};
    struct raft_input in = {.kind = RAFT_IN_PROPOSE, .propose = &prop, .n_propose = 1};

    prop.len = sim_kv_encode_put(buf, c->key, (uint64_t)c->id << 32 | (c->seq & 0xffffffffu),
                                 c->value, c->pad_len);
    c->state = SIM_CL_PUT;
    c->index = 0;
    int rc = sim_node_step(w, n, &in, NULL, out);

    if (rc == 0 && c->state == SIM_CL_PUT) {
        c->index = out->propose_index;
        c->term = out->propose_term;
        w->hist.v[c->hist].index = c->index;
        w->hist.v[c->hist].term = c->term;
        sim_log(w, SIM_REC_PROPOSE, n->idx, c->id, c->key, c->value, c->index, c->term, 0);
    }
    return rc;
}

static int client_read(struct sim_world *w, struct sim_client *c, struct sim_node *n,
                       struct raft_output *out)
{
    struct raft_input in = {.kind = RAFT_IN_READ_INDEX};

    c->ctx = ++w->next_ctx;
    in.read_ctx = c->ctx;
    c->state = SIM_CL_GET;
    c->has_read_index = false;
    sim_log(w, SIM_REC_READ, n->idx, c->id, c->key, c->ctx, 0, 0, 0);
    return sim_node_step(w, n, &in, NULL, out);
}

static void client_submit(struct sim_world *w, struct sim_client *c)
{
    struct sim_node *n = &w->nodes[c->target];
    struct raft_output out;

    if (++c->attempts > CLIENT_ATTEMPTS_MAX) {
        client_finish(w, c); /* never invoked: nothing to record */
        return;
    }
    if (n->raft == NULL) { /* connection refused */
        client_retry(w, c, NR_ENOTLEADER, RAFT_ID_NONE);
        return;
    }
    c->target_gen = n->gen;
    c->hist = hist_add(w, c);
    c->deadline_us = w->now_us + w->p.client_timeout_us;
    int rc = c->kind == SIM_OP_PUT ? client_propose(w, c, n, &out) : client_read(w, c, n, &out);

    if (rc == 0) {
        if (c->state != SIM_CL_IDLE)
            client_sleep(w, c, w->p.client_timeout_us);
        return;
    }
    /* Refused: nothing changed in the core, so the op never happened. */
    NR_ASSERT(c->hist == w->hist.n - 1);
    w->hist.n--;
    c->state = SIM_CL_IDLE;
    client_retry(w, c, rc, n->raft != NULL ? out.leader_id : RAFT_ID_NONE);
}

void sim_client_wake(struct sim_world *w, uint32_t client, uint64_t token)
{
    struct sim_client *c = &w->clients[client];

    if (token != c->token)
        return;
    if (c->state != SIM_CL_IDLE) {
        if (w->now_us >= c->deadline_us)
            op_unknown(w, c);
        return;
    }
    if (w->is_settling)
        return; /* no new operations while the cluster settles */
    if (!c->has_op)
        choose_op(w, c);
    client_submit(w, c);
}

void sim_clients_start(struct sim_world *w)
{
    for (uint32_t i = 0; i < w->p.n_clients; i++) {
        struct sim_client *c = &w->clients[i];

        memset(c, 0, sizeof(*c));
        c->id = i;
        c->target = (uint32_t)sim_rng_below(&w->rng, w->p.n_nodes);
        client_sleep(w, c, sim_rng_range(&w->rng, 0, 20000));
    }
}

/* ---- completions, reported by the node driver ------------------------ */

static bool is_waiting_at(const struct sim_client *c, const struct sim_node *n, uint32_t state)
{
    return c->state == state && c->target == n->idx && c->target_gen == n->gen;
}

void sim_clients_on_apply(struct sim_world *w, struct sim_node *n, const struct raft_entry *e)
{
    for (uint32_t i = 0; i < w->p.n_clients; i++) {
        struct sim_client *c = &w->clients[i];
        uint8_t buf[SIM_PUT_LEN + SIM_PAD_MAX];

        if (!is_waiting_at(c, n, SIM_CL_PUT) || c->index != e->index)
            continue;
        uint32_t len = sim_kv_encode_put(
                buf, c->key, (uint64_t)c->id << 32 | (c->seq & 0xffffffffu), c->value, c->pad_len);

        if (e->term == c->term && e->type == RAFT_ENTRY_NORMAL && e->len == len &&
            memcmp(e->data, buf, len) == 0)
            op_ok(w, c, c->value);
        else
            op_unknown(w, c); /* another entry took its place */
    }
}

void sim_clients_on_install(struct sim_world *w, struct sim_node *n)
{
    for (uint32_t i = 0; i < w->p.n_clients; i++) {
        struct sim_client *c = &w->clients[i];

        if (is_waiting_at(c, n, SIM_CL_PUT) && c->index != 0 && c->index <= n->kv.applied_index)
            op_unknown(w, c); /* covered by a snapshot: fate not visible */
    }
}

void sim_clients_on_reads(struct sim_world *w, struct sim_node *n, const struct raft_reads *r)
{
    for (uint32_t k = 0; k < r->n; k++) {
        for (uint32_t i = 0; i < w->p.n_clients; i++) {
            struct sim_client *c = &w->clients[i];

            if (is_waiting_at(c, n, SIM_CL_GET) && c->ctx == r->v[k].ctx) {
                c->has_read_index = true;
                c->index = r->v[k].index;
            }
        }
    }
}

void sim_clients_on_applied(struct sim_world *w, struct sim_node *n)
{
    for (uint32_t i = 0; i < w->p.n_clients; i++) {
        struct sim_client *c = &w->clients[i];

        if (is_waiting_at(c, n, SIM_CL_GET) && c->has_read_index && n->kv.applied_index >= c->index)
            op_ok(w, c, n->kv.val[c->key]);
    }
}

void sim_clients_on_crash(struct sim_world *w, struct sim_node *n)
{
    for (uint32_t i = 0; i < w->p.n_clients; i++) {
        struct sim_client *c = &w->clients[i];

        if (is_waiting_at(c, n, SIM_CL_PUT) || is_waiting_at(c, n, SIM_CL_GET))
            op_unknown(w, c);
    }
}

void sim_clients_settle(struct sim_world *w)
{
    for (uint32_t i = 0; i < w->p.n_clients; i++) {
        struct sim_client *c = &w->clients[i];

        if (c->state != SIM_CL_IDLE)
            op_unknown(w, c);
    }
}
