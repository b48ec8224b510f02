/* nr_client_async.c - the client engine (nr_client.h): sessions multiplexed
 * on one kernel UDP socket, one operation in flight per session, retries
 * on NOT_LEADER, BUSY and timeouts, completions through a callback. The
 * synchronous client (nr_client.c) is this engine with one session.
 *
 * Everything is allocated in nr_client_async_create: the op table (one
 * session record and one request buffer of req_len_max bytes per session),
 * the endpoint table and the socket. Timeouts are found by a scan of the
 * sessions that runs only when the earliest deadline has passed (linear:
 * a scan per timeout, not per operation). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dp_udp.h"
#include "nr_client.h"
#include "nr_client_ep.h"
#include "nr_kinds.h"

#define BACKOFF_MS_FIRST 1u
#define BACKOFF_MS_MAX 32u
#define NS_PER_MS UINT64_C(1000000)

enum sess_state {
    SESS_IDLE = 0, /* free for a submit */
    SESS_SEND,     /* to be sent at due_ns (BUSY backoff, or the kernel's buffer was full) */
    SESS_WAIT,     /* sent; times out at due_ns */
};

/* Why the last attempt did not finish the operation, for the error. */
enum sess_why {
    WHY_NONE = 0,
    WHY_TIMEOUT,
    WHY_NOT_LEADER,
    WHY_BUSY,
};

struct sess {
    uint8_t state; /* enum sess_state */
    uint8_t op;
    uint8_t why;   /* enum sess_why */
    uint32_t req_len;
    uint32_t tries;      /* attempts queued to the socket */
    uint32_t ep;         /* endpoint of the next or current attempt */
    uint32_t tried_mask; /* endpoints tried, by index */
    uint32_t backoff_ms;
    uint64_t seq; /* of the operation in flight, or of the last one */
    uint64_t cookie;
    uint64_t start_ns;
    uint64_t due_ns;
    uint8_t *req; /* req_len_max bytes in the op table */
};

struct nr_client_async {
    struct nr_client_async_config cfg; /* endpoints pointer cleared */
    struct dp_udp *u;
    struct nr_client_eps eps;
    uint32_t leader_ep; /* NR_CLIENT_TARGET_LEADER: where operations start */
    uint64_t base_id;   /* session i is base_id + i */
    struct sess *sess;
    uint8_t *reqs;
    uint32_t in_flight;
    uint64_t next_scan_ns; /* no deadline passes before this */
    struct nr_client_stats stats;
    struct nr_err io_err; /* the last socket failure, quoted in timeouts */
    /* During a poll: */
    nr_client_done_fn *fn;
    void *ctx;
    int n_done;
    struct nr_err done_err;
};

static uint64_t random_u64(void)
{
    uint64_t v = 0;

    /* getrandom of 8 bytes does not fail short after boot on Linux >= 3.17
     * but for signals; fall back on the clock, an ID needs no secrecy. */
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        v = dp_udp_now_ns() * UINT64_C(0x9e3779b97f4a7c15);
    return v;
}

static int check_config(const struct nr_client_async_config *cfg, struct nr_err *err)
{
    if (cfg->cluster_id == 0)
        return nr_errf(err, NR_EINVAL, "client: cluster_id must be non-zero");
    if (cfg->n_sessions < 1 || cfg->n_sessions > NR_CLIENT_SESSIONS_MAX)
        return nr_errf(err, NR_EINVAL, "client: n_sessions %" PRIu32 " is outside 1..%u",
                       cfg->n_sessions, NR_CLIENT_SESSIONS_MAX);
    if (cfg->max_tries > NR_CLIENT_TRIES_MAX)
        return nr_errf(err, NR_EINVAL, "client: max_tries %" PRIu32 " exceeds %u",
                       cfg->max_tries, NR_CLIENT_TRIES_MAX);
    if (cfg->req_len_max != 0 &&
        (cfg->req_len_max < NR_KV_CMD_HDR_LEN + 1 || cfg->req_len_max > NR_KV_CMD_LEN_MAX))
        return nr_errf(err, NR_EINVAL, "client: req_len_max %" PRIu32 " is outside %u..%u",
                       cfg->req_len_max, NR_KV_CMD_HDR_LEN + 1, NR_KV_CMD_LEN_MAX);
    if (cfg->transport_id != 0 && cfg->transport_id - 1 > UINT64_MAX - cfg->n_sessions)
        return nr_errf(err, NR_EINVAL,
                       "client: transport_id %016" PRIx64 " leaves no room for %" PRIu32
                       " session IDs after it",
                       cfg->transport_id, cfg->n_sessions);
    return 0;
}

static int open_socket(struct nr_client_async *a, struct nr_err *err)
{
    uint32_t req_max = a->cfg.req_len_max;
    struct dp_udp_config uc = {
        .bind = {.ipv4 = 0, .port = 0},
        .cluster_id = a->cfg.cluster_id,
        .self_id = a->base_id,
        .mtu = a->cfg.mtu,
        .batch_max = 64,
        .sock_buf_bytes = 4u << 20,
        .reasm = {.n_slots = 8,
                  .msg_len_max = req_max > NR_KV_RESP_LEN_MAX ? req_max : NR_KV_RESP_LEN_MAX,
                  .timeout_ns = 2 * (uint64_t)a->cfg.timeout_ms * NS_PER_MS},
    };
    return dp_udp_create(&uc, &a->u, err);
}

int nr_client_async_create(const struct nr_client_async_config *cfg,
                           struct nr_client_async **out, struct nr_err *err)
{
    int rc = check_config(cfg, err);
    if (rc != 0)
        return rc;
    struct nr_client_async *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return nr_errf(err, NR_ENOMEM, "client: out of memory");
    a->cfg = *cfg;
    a->cfg.endpoints = NULL;
    if (a->cfg.timeout_ms == 0)
        a->cfg.timeout_ms = NR_CLIENT_TIMEOUT_MS_DEFAULT;
    if (a->cfg.max_tries == 0)
        a->cfg.max_tries = NR_CLIENT_TRIES_DEFAULT;
    if (a->cfg.req_len_max == 0)
        a->cfg.req_len_max = NR_KV_CMD_LEN_MAX;
    if (a->cfg.mtu == 0)
        a->cfg.mtu = DP_MTU_DEFAULT;
    a->base_id = cfg->transport_id != 0 ? cfg->transport_id : (random_u64() >> 1) + 1;
    a->next_scan_ns = UINT64_MAX;
    rc = nr_client_eps_parse(&a->eps, cfg->endpoints, cfg->n_endpoints, err);
    if (rc != 0)
        goto fail_free;
    a->sess = calloc(cfg->n_sessions, sizeof(a->sess[0]));
    a->reqs = malloc((size_t)cfg->n_sessions * a->cfg.req_len_max);
    if (a->sess == NULL || a->reqs == NULL) {
        rc = nr_errf(err, NR_ENOMEM, "client: op table of %" PRIu32 " sessions of %" PRIu32
                     " bytes: out of memory", cfg->n_sessions, a->cfg.req_len_max);
        goto fail_free;
    }
    for (uint32_t i = 0; i < cfg->n_sessions; i++) {
        a->sess[i].req = a->reqs + (size_t)i * a->cfg.req_len_max;
        a->sess[i].ep = i % a->eps.n_cfg;
    }
    rc = open_socket(a, err);
    if (rc != 0)
        goto fail_free;
    *out = a;
    return 0;

fail_free:
    nr_client_async_destroy(a);
    return rc;
}

void nr_client_async_destroy(struct nr_client_async *a)
{
    if (a == NULL)
        return;
    dp_udp_destroy(a->u);
    free(a->sess);
    free(a->reqs);
    free(a);
}

uint64_t nr_client_async_session_id(const struct nr_client_async *a, uint32_t session)
{
    NR_ASSERT(session < a->cfg.n_sessions);
    return a->base_id + session;
}

uint32_t nr_client_async_in_flight(const struct nr_client_async *a)
{
    return a->in_flight;
}

const struct nr_client_stats *nr_client_async_stats(const struct nr_client_async *a)
{
    return &a->stats;
}

static void schedule(struct nr_client_async *a, struct sess *s, uint8_t state, uint64_t due_ns)
{
    s->state = state;
    s->due_ns = due_ns;
    if (due_ns < a->next_scan_ns)
        a->next_scan_ns = due_ns;
}

/* Queues one attempt of s to its endpoint. A full kernel buffer leaves it
 * to be sent on the next poll without counting a try; a socket failure is
 * remembered and left to the timeout (the datagram may have gone). */
static void send_attempt(struct nr_client_async *a, struct sess *s, uint64_t now_ns)
{
    struct nr_err e;

    int rc = dp_udp_send(a->u, &a->eps.v[s->ep], DP_MEMBER_BROADCAST, NR_GROUP_MAIN,
                         NR_KIND_CLIENT_REQ, s->req, s->req_len, &e);
    if (rc == NR_EBUSY) {
        schedule(a, s, SESS_SEND, now_ns);
        return;
    }
    if (rc != 0)
        a->io_err = e;
    if (s->tries > 0)
        a->stats.retries++;
    a->stats.sent++;
    s->tries++;
    s->tried_mask |= UINT32_C(1) << s->ep;
    schedule(a, s, SESS_WAIT, now_ns + (uint64_t)a->cfg.timeout_ms * NS_PER_MS);
}

int nr_client_async_submit(struct nr_client_async *a, uint32_t session, uint8_t op,
                           uint8_t flags, const void *key, uint32_t key_len, const void *val,
                           uint32_t val_len, uint64_t cookie, struct nr_err *err)
{
    if (session >= a->cfg.n_sessions)
        return nr_errf(err, NR_EINVAL, "client: session %" PRIu32 " is outside 0..%" PRIu32,
                       session, a->cfg.n_sessions - 1);
    struct sess *s = &a->sess[session];
    if (s->state != SESS_IDLE)
        return nr_errf(err, NR_EBUSY, "client: session %" PRIu32 " has seq %" PRIu64
                       " in flight", session, s->seq);
    struct nr_kv_cmd c = {
        .op = op, .flags = flags, .client_id = a->base_id + session, .seq = s->seq + 1,
        .key = key, .key_len = key_len, .val = val, .val_len = val_len,
    };
    int len = nr_kv_cmd_encode(&c, s->req, a->cfg.req_len_max, err);
    if (len < 0)
        return len;
    uint64_t now_ns = dp_udp_now_ns();
    s->seq++;
    s->op = op;
    s->req_len = (uint32_t)len;
    s->cookie = cookie;
    s->start_ns = now_ns;
    s->tries = 0;
    s->tried_mask = 0;
    s->why = WHY_NONE;
    s->backoff_ms = BACKOFF_MS_FIRST;
    if (a->cfg.target == NR_CLIENT_TARGET_LEADER)
        s->ep = a->leader_ep;
    else
        s->ep = session % a->eps.n_cfg;
    a->in_flight++;
    send_attempt(a, s, now_ns);
    return 0;
}

int nr_client_async_flush(struct nr_client_async *a, struct nr_err *err)
{
    struct nr_err e;
    int rc = dp_udp_flush(a->u, &e);

    /* NR_EBUSY: the rest stays queued for the next flush. NR_EIO: one
     * frame was refused for good; its operations time out and retry. */
    if (rc == NR_EIO)
        a->io_err = e;
    return 0;
}

static void complete(struct nr_client_async *a, struct sess *s, int rc, uint8_t status,
                     const struct nr_kv_resp *r)
{
    uint32_t session = (uint32_t)(s - a->sess);
    struct nr_client_done d = {
        .cookie = s->cookie,
        .session = session,
        .op = s->op,
        .rc = rc,
        .status = status,
        .found = r != NULL && r->status == NR_KV_OK,
        .revision = r != NULL ? r->revision : 0,
        .val = r != NULL && rc == 0 ? r->val : NULL,
        .val_len = r != NULL && rc == 0 ? r->val_len : 0,
        .tries = s->tries,
        .latency_ns = dp_udp_now_ns() - s->start_ns,
        .err = rc != 0 ? &a->done_err : NULL,
    };
    NR_ASSERT(a->in_flight > 0);
    s->state = SESS_IDLE;
    a->in_flight--;
    a->stats.completed++;
    if (rc != 0)
        a->stats.failed++;
    a->n_done++;
    if (a->fn != NULL)
        a->fn(a->ctx, &d);
}

/* The error of an operation whose tries are spent. */
static void fail_spent(struct nr_client_async *a, struct sess *s)
{
    char tried[160];
    int code = s->why == WHY_NOT_LEADER ? NR_ENOTLEADER : s->why == WHY_BUSY ? NR_EBUSY : NR_EIO;
    const char *why = s->why == WHY_NOT_LEADER ? "the last answer was not_leader"
                      : s->why == WHY_BUSY     ? "the last answer was busy"
                                               : "no answer";

    nr_client_eps_list(&a->eps, s->tried_mask, tried, sizeof(tried));
    nr_errf(&a->done_err, code, "%s seq %" PRIu64 ": %s after %" PRIu32 " tries (%" PRIu32
            " ms each); endpoints tried: %s%s%s", nr_kv_op_name(s->op), s->seq, why, s->tries,
            a->cfg.timeout_ms, tried, a->io_err.code != 0 ? "; last socket error: " : "",
            a->io_err.code != 0 ? a->io_err.msg : "");
    complete(a, s, code, s->why == WHY_NOT_LEADER ? NR_KV_NOT_LEADER
                         : s->why == WHY_BUSY     ? NR_KV_BUSY
                                                  : NR_KV_ERROR, NULL);
}

/* Retries s now at endpoint ep, or fails it when its tries are spent. */
static void retry_or_fail(struct nr_client_async *a, struct sess *s, uint32_t ep, uint64_t now_ns)
{
    if (s->tries >= a->cfg.max_tries) {
        fail_spent(a, s);
        return;
    }
    s->ep = ep;
    send_attempt(a, s, now_ns);
}

static void on_not_leader(struct nr_client_async *a, struct sess *s, const struct nr_kv_resp *r,
                          uint64_t now_ns)
{
    uint32_t ep = nr_client_eps_next(&a->eps, s->ep);

    a->stats.not_leader++;
    s->why = WHY_NOT_LEADER;
    if (r->leader_ipv4 != 0) {
        struct dp_endpoint hint = {.ipv4 = r->leader_ipv4, .port = r->leader_port};
        ep = nr_client_eps_find_or_add(&a->eps, &hint);
    }
    if (a->cfg.target == NR_CLIENT_TARGET_LEADER)
        a->leader_ep = ep;
    retry_or_fail(a, s, ep, now_ns);
}

static void on_answer(struct nr_client_async *a, struct sess *s, const struct nr_kv_resp *r,
                      uint64_t now_ns)
{
    switch (r->status) {
    case NR_KV_OK:
    case NR_KV_NOT_FOUND:
        complete(a, s, 0, r->status, r);
        return;
    case NR_KV_NOT_LEADER:
        on_not_leader(a, s, r, now_ns);
        return;
    case NR_KV_BUSY:
        a->stats.busy++;
        s->why = WHY_BUSY;
        if (s->tries >= a->cfg.max_tries) {
            fail_spent(a, s);
            return;
        }
        schedule(a, s, SESS_SEND, now_ns + s->backoff_ms * NS_PER_MS);
        if (s->backoff_ms < BACKOFF_MS_MAX)
            s->backoff_ms *= 2;
        return;
    default: /* NR_KV_ERROR, NR_KV_NOSPACE: the node's sentence says why */
        nr_errf(&a->done_err, NR_EREFUSED, "%s seq %" PRIu64 ": refused (%s): %.*s",
                nr_kv_op_name(s->op), s->seq, nr_kv_status_name(r->status),
                (int)(r->val_len > 200 ? 200 : r->val_len), r->val != NULL ? (const char *)r->val : "");
        complete(a, s, NR_EREFUSED, r->status, NULL);
        return;
    }
}

/* dp_udp_poll's callback: one received message. Outside data: anything
 * unexpected is counted and dropped. */
static void on_msg(void *ctx, const struct dp_msg *m)
{
    struct nr_client_async *a = ctx;
    struct nr_kv_resp r;
    struct nr_err e;

    if (m->kind != NR_KIND_CLIENT_RESP || m->group_id != NR_GROUP_MAIN ||
        nr_kv_resp_decode(m->data, m->len, &r, &e) != 0) {
        a->stats.bad++;
        return;
    }
    uint64_t session = r.client_id - a->base_id; /* wraps to a large value below base */
    if (session >= a->cfg.n_sessions) {
        a->stats.stale++;
        return;
    }
    struct sess *s = &a->sess[session];
    if (s->state == SESS_IDLE || r.seq != s->seq || r.op != s->op) {
        a->stats.stale++;
        return;
    }
    on_answer(a, s, &r, dp_udp_now_ns());
}

/* Sends what is due and times out what is late; runs when the earliest
 * deadline has passed. */
static void run_timers(struct nr_client_async *a, uint64_t now_ns)
{
    if (now_ns < a->next_scan_ns)
        return;
    a->next_scan_ns = UINT64_MAX;
    for (uint32_t i = 0; i < a->cfg.n_sessions && a->in_flight > 0; i++) {
        struct sess *s = &a->sess[i];
        if (s->state == SESS_IDLE)
            continue;
        if (s->due_ns > now_ns) {
            if (s->due_ns < a->next_scan_ns)
                a->next_scan_ns = s->due_ns;
            continue;
        }
        if (s->state == SESS_SEND) {
            send_attempt(a, s, now_ns);
            continue;
        }
        a->stats.timeouts++;
        s->why = WHY_TIMEOUT;
        uint32_t ep = nr_client_eps_next(&a->eps, s->ep);
        if (a->cfg.target == NR_CLIENT_TARGET_LEADER && a->leader_ep == s->ep)
            a->leader_ep = ep;
        retry_or_fail(a, s, ep, now_ns);
    }
}

int nr_client_async_poll(struct nr_client_async *a, int wait_ms, nr_client_done_fn *fn,
                         void *ctx, struct nr_err *err)
{
    a->fn = fn;
    a->ctx = ctx;
    a->n_done = 0;
    (void)nr_client_async_flush(a, err);
    int n = dp_udp_poll(a->u, dp_udp_now_ns(), on_msg, a, err);
    if (n < 0)
        return n;
    if (n == 0 && a->n_done == 0 && wait_ms > 0) {
        uint64_t now_ns = dp_udp_now_ns();
        if (a->next_scan_ns <= now_ns) {
            wait_ms = 0;
        } else if (a->next_scan_ns != UINT64_MAX) {
            uint64_t until_ms = (a->next_scan_ns - now_ns + NS_PER_MS - 1) / NS_PER_MS;
            if (until_ms < (uint64_t)wait_ms)
                wait_ms = (int)until_ms;
        }
        int rc = dp_udp_wait(a->u, wait_ms, err);
        if (rc < 0)
            return rc;
        n = dp_udp_poll(a->u, dp_udp_now_ns(), on_msg, a, err);
        if (n < 0)
            return n;
    }
    run_timers(a, dp_udp_now_ns());
    (void)nr_client_async_flush(a, err);
    a->fn = NULL;
    a->ctx = NULL;
    return a->n_done;
}
