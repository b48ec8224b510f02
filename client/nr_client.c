/* nr_client.c - the synchronous client (nr_client.h): the engine of
 * nr_client_async.c with one session whose client_id is the socket's
 * sender ID, one operation at a time, waiting in epoll between polls. */
#include "nr_client.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dp_udp.h"

struct nr_client {
    struct nr_client_async *a;
    uint32_t wait_bound_ms; /* longer than any operation can take */
};

/* Where one operation's answer goes, filled by the completion callback. */
struct sync_done {
    bool is_done;
    int rc;
    struct nr_err err;
    bool found;
    uint64_t revision;
    uint8_t *val_buf; /* GET: the caller's buffer */
    uint32_t val_cap;
    uint32_t val_len;
};

int nr_client_create(const struct nr_client_config *cfg, struct nr_client **out, struct nr_err *err)
{
    struct nr_client_async_config ac = {
        .cluster_id = cfg->cluster_id,
        .endpoints = cfg->endpoints,
        .n_endpoints = cfg->n_endpoints,
        .transport_id = cfg->client_id,
        .n_sessions = 1,
        .req_len_max = NR_KV_CMD_LEN_MAX,
        .timeout_ms = cfg->timeout_ms,
        .max_tries = cfg->max_tries,
        .mtu = cfg->mtu,
        .target = NR_CLIENT_TARGET_LEADER,
    };
    struct nr_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return nr_errf(err, NR_ENOMEM, "client: out of memory");
    int rc = nr_client_async_create(&ac, &c->a, err);
    if (rc != 0) {
        free(c);
        return rc;
    }
    uint64_t timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : NR_CLIENT_TIMEOUT_MS_DEFAULT;
    uint64_t tries = cfg->max_tries != 0 ? cfg->max_tries : NR_CLIENT_TRIES_DEFAULT;
    /* Every try waits at most the timeout (and a BUSY backoff); a margin. */
    uint64_t bound = tries * (timeout_ms + 64) + 1000;
    c->wait_bound_ms = bound > UINT32_MAX ? UINT32_MAX : (uint32_t)bound;
    *out = c;
    return 0;
}

void nr_client_destroy(struct nr_client *c)
{
    if (c == NULL)
        return;
    nr_client_async_destroy(c->a);
    free(c);
}

uint64_t nr_client_id(const struct nr_client *c)
{
    return nr_client_async_session_id(c->a, 0);
}

static void on_done(void *ctx, const struct nr_client_done *d)
{
    struct sync_done *s = ctx;

    s->is_done = true;
    s->rc = d->rc;
    s->found = d->found;
    s->revision = d->revision;
    if (d->rc != 0) {
        s->err = *d->err;
        return;
    }
    s->val_len = d->val_len;
    if (s->val_buf != NULL && d->val_len <= s->val_cap && d->val_len > 0)
        memcpy(s->val_buf, d->val, d->val_len);
}

/* Submits one operation and polls until it completes. */
static int run_op(struct nr_client *c, uint8_t op, uint8_t flags, const void *key,
                  uint32_t key_len, const void *val, uint32_t val_len, struct sync_done *s,
                  struct nr_err *err)
{
    int rc = nr_client_async_submit(c->a, 0, op, flags, key, key_len, val, val_len, 0, err);
    if (rc != 0)
        return rc;
    uint64_t give_up_ns = dp_udp_now_ns() + (uint64_t)c->wait_bound_ms * 1000000u;
    while (!s->is_done) {
        rc = nr_client_async_poll(c->a, 100, on_done, s, err);
        if (rc < 0)
            return rc;
        /* The engine finishes every operation within its tries; this bound
         * is our own invariant, checked. */
        NR_ASSERT(s->is_done || dp_udp_now_ns() < give_up_ns);
    }
    if (s->rc != 0) {
        if (err != NULL)
            *err = s->err;
        return s->rc;
    }
    return 0;
}

int nr_client_put(struct nr_client *c, const void *key, uint32_t key_len, const void *val,
                  uint32_t val_len, uint64_t *revision, struct nr_err *err)
{
    struct sync_done s = {0};

    int rc = run_op(c, NR_KV_PUT, 0, key, key_len, val, val_len, &s, err);
    if (rc == 0 && revision != NULL)
        *revision = s.revision;
    return rc;
}

int nr_client_get(struct nr_client *c, const void *key, uint32_t key_len, bool serializable,
                  uint8_t *val_buf, uint32_t val_cap, uint32_t *val_len, uint64_t *mod_revision,
                  bool *found, struct nr_err *err)
{
    struct sync_done s = {.val_buf = val_buf, .val_cap = val_cap};

    int rc = run_op(c, NR_KV_GET, serializable ? NR_KV_F_SERIALIZABLE : 0, key, key_len, NULL, 0,
                    &s, err);
    if (rc != 0)
        return rc;
    if (found != NULL)
        *found = s.found;
    if (val_len != NULL)
        *val_len = s.val_len;
    if (mod_revision != NULL)
        *mod_revision = s.revision;
    if (s.val_len > val_cap)
        return nr_errf(err, NR_ERANGE, "get: the value of %" PRIu32 " bytes exceeds the buffer of %" PRIu32 " bytes",
                       s.val_len, val_cap);
    return 0;
}

int nr_client_del(struct nr_client *c, const void *key, uint32_t key_len, uint64_t *revision,
                  bool *found, struct nr_err *err)
{
    struct sync_done s = {0};

    int rc = run_op(c, NR_KV_DEL, 0, key, key_len, NULL, 0, &s, err);
    if (rc != 0)
        return rc;
    if (found != NULL)
        *found = s.found;
    if (revision != NULL)
        *revision = s.revision;
    return 0;
}
