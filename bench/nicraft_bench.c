/* nicraft_bench.c - nicraft-bench: a closed-loop load generator for a
 * nicraft cluster (SPEC section 5). N clients, each its own session, each
 * waiting for its previous operation before sending the next, all on one
 * socket and one thread (the client library's asynchronous engine,
 * client/nr_client.h). Keys are uniform over the key space; values are
 * value_size bytes. Operations finishing in the warm-up are not measured.
 * Prints one summary line (nicraft_bench_report.c) and, with --json, a file
 * with the configuration, totals, percentiles and a per-second timeline.
 *
 * Nothing is allocated per operation: the engine's op table, the value and
 * the timeline are allocated before the run. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dp_udp.h"
#include "nicraft_bench.h"

#define NS_PER_S 1000000000.0

struct nb_run {
    const struct nb_config *cfg;
    struct nb_result *res;
    struct nr_client_async *a;
    uint8_t *value;
    uint64_t rng;
    uint64_t start_ns;   /* the run's start */
    uint64_t measure_ns; /* the warm-up's end */
    uint64_t end_ns;
    bool is_stopping;
};

static uint64_t next_rand(struct nb_run *r)
{
    /* xorshift64*: enough for picking keys */
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * UINT64_C(2685821657736338717);
}

static void submit(struct nb_run *r, uint32_t session)
{
    const struct nb_config *cfg = r->cfg;
    char key[NR_KV_KEY_MAX + 1];
    struct nr_err err;
    uint64_t pick = next_rand(r);
    bool is_read = cfg->read_ratio > 0 && (double)(pick >> 11) / 9007199254740992.0 < cfg->read_ratio;

    snprintf(key, sizeof(key), "%0*" PRIx64, (int)cfg->key_size, next_rand(r) % cfg->n_keys);
    int rc = is_read ? nr_client_async_submit(r->a, session, NR_KV_GET,
                                              cfg->is_serializable ? NR_KV_F_SERIALIZABLE : 0,
                                              key, cfg->key_size, NULL, 0, 0, &err)
                     : nr_client_async_submit(r->a, session, NR_KV_PUT, 0, key, cfg->key_size,
                                              r->value, cfg->value_size, 0, &err);
    /* The session is free (we submit only from its completion) and the
     * request was sized at creation: a refusal is our own bug. */
    if (rc != 0) {
        fprintf(stderr, "nicraft-bench: submit: %s\n", err.msg);
        NR_ASSERT(rc == 0);
    }
}

static void on_done(void *ctx, const struct nr_client_done *d)
{
    struct nb_run *r = ctx;
    struct nb_result *res = r->res;
    uint64_t now_ns = dp_udp_now_ns();

    if (d->rc != 0) {
        if (res->errors++ == 0)
            snprintf(res->first_error, sizeof(res->first_error), "%s", d->err->msg);
    } else if (now_ns < r->measure_ns) {
        res->warmup_ops++;
    } else if (now_ns < r->end_ns) {
        nb_hist_record(&res->lat, d->latency_ns);
        res->ops++;
        if (d->op == NR_KV_GET)
            res->gets++;
        else
            res->puts++;
        uint64_t second = (now_ns - r->measure_ns) / 1000000000u;
        if (second < res->n_seconds)
            res->per_second[second]++;
    }
    if (!r->is_stopping)
        submit(r, d->session);
}

static int run(struct nb_run *r, struct nr_err *err)
{
    const struct nb_config *cfg = r->cfg;

    r->start_ns = dp_udp_now_ns();
    r->measure_ns = r->start_ns + (uint64_t)(cfg->warmup_s * NS_PER_S);
    r->end_ns = r->measure_ns + (uint64_t)(cfg->duration_s * NS_PER_S);
    for (uint32_t s = 0; s < cfg->n_clients; s++)
        submit(r, s);
    for (;;) { /* until the duration has passed */
        int rc = nr_client_async_poll(r->a, 1, on_done, r, err);
        if (rc < 0)
            return rc;
        if (dp_udp_now_ns() >= r->end_ns)
            break;
    }
    /* Let what is in flight finish (not measured), bounded. */
    r->is_stopping = true;
    uint64_t drain_until = dp_udp_now_ns() + 2000000000u;
    while (nr_client_async_in_flight(r->a) > 0 && dp_udp_now_ns() < drain_until) {
        int rc = nr_client_async_poll(r->a, 10, on_done, r, err);
        if (rc < 0)
            return rc;
    }
    r->res->seconds = cfg->duration_s;
    r->res->client = *nr_client_async_stats(r->a);
    return 0;
}

static int setup(struct nb_run *r, struct nr_err *err)
{
    const struct nb_config *cfg = r->cfg;
    struct nb_result *res = r->res;
    struct nr_client_async_config ac = {
        .cluster_id = cfg->cluster_id,
        .endpoints = cfg->endpoints,
        .n_endpoints = cfg->n_endpoints,
        .n_sessions = cfg->n_clients,
        .req_len_max = NR_KV_CMD_HDR_LEN + cfg->key_size + cfg->value_size,
        .timeout_ms = cfg->timeout_ms,
        .max_tries = cfg->max_tries,
        .target = cfg->target,
    };

    res->n_seconds = (uint32_t)cfg->duration_s + 1;
    res->per_second = calloc(res->n_seconds, sizeof(res->per_second[0]));
    r->value = malloc(cfg->value_size + 1u);
    if (res->per_second == NULL || r->value == NULL)
        return nr_errf(err, NR_ENOMEM, "nicraft-bench: out of memory");
    if (getrandom(&r->rng, sizeof(r->rng), 0) != (ssize_t)sizeof(r->rng) || r->rng == 0)
        r->rng = dp_udp_now_ns() | 1;
    for (uint32_t i = 0; i < cfg->value_size; i++)
        r->value[i] = (uint8_t)('a' + next_rand(r) % 26);
    return nr_client_async_create(&ac, &r->a, err);
}

int main(int argc, char **argv)
{
    static struct nb_config cfg;
    static struct nb_result res;
    struct nb_run r = {.cfg = &cfg, .res = &res};
    struct nr_err err = {0};

    int rc = nb_parse_flags(argc, argv, &cfg);
    if (rc != 0) {
        free(cfg.endpoints_arg);
        return rc;
    }
    rc = setup(&r, &err);
    if (rc == 0)
        rc = run(&r, &err);
    if (rc == 0) {
        nb_print_summary(&cfg, &res);
        if (cfg.json_path != NULL)
            rc = nb_write_json(&cfg, &res, &err);
    }
    if (rc != 0)
        fprintf(stderr, "nicraft-bench: %s\n", err.msg);
    else if (res.errors > 0)
        fprintf(stderr, "nicraft-bench: %" PRIu64 " operations failed; the first: %s\n",
                res.errors, res.first_error);
    if (rc == 0 && (res.client.timeouts > 0 || nr_client_async_in_flight(r.a) > 0))
        fprintf(stderr, "nicraft-bench: %" PRIu64 " attempts timed out and were retried; %" PRIu32
                " operations were still unanswered at the end\n", res.client.timeouts,
                nr_client_async_in_flight(r.a));
    nr_client_async_destroy(r.a);
    free(res.per_second);
    free(r.value);
    free(cfg.endpoints_arg);
    if (rc != 0)
        return 1;
    if (cfg.is_check && (res.ops == 0 || res.errors > 0))
        return 1;
    return 0;
}
