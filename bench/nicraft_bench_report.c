/* nicraft_bench_report.c - nicraft-bench's output (nicraft_bench.h): the
 * one-line summary (stable `name=value` fields, for scripts) and the JSON
 * file (configuration, totals, latency percentiles in microseconds, the
 * per-second throughput of the measured span). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nicraft_bench.h"

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static double ops_per_s(const struct nb_result *res)
{
    return res->seconds > 0 ? (double)res->ops / res->seconds : 0;
}

void nb_print_summary(const struct nb_config *cfg, const struct nb_result *res)
{
    printf("clients=%" PRIu32 " ops=%" PRIu64 " ops_per_s=%.0f p50_us=%.1f p99_us=%.1f "
           "p999_us=%.1f max_us=%.1f errors=%" PRIu64 "\n",
           cfg->n_clients, res->ops, ops_per_s(res), us(nb_hist_quantile(&res->lat, 0.50)),
           us(nb_hist_quantile(&res->lat, 0.99)), us(nb_hist_quantile(&res->lat, 0.999)),
           us(res->lat.max_ns), res->errors);
    fflush(stdout);
}

/* Writes s as a JSON string (our own texts and the user's endpoints). */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_config(FILE *f, const struct nb_config *cfg)
{
    fprintf(f, "  \"config\": {\"clients\": %" PRIu32 ", \"key_size\": %" PRIu32
               ", \"value_size\": %" PRIu32 ", \"keys\": %" PRIu64 ", \"duration_s\": %g, "
               "\"warmup_s\": %g, \"read_ratio\": %g, \"serializable\": %s, "
               "\"cluster_id\": \"%016" PRIx64 "\", \"target\": \"%s\", \"transport\": \"udp\", "
               "\"timeout_ms\": %" PRIu32 ", \"max_tries\": %" PRIu32 ", \"endpoints\": [",
            cfg->n_clients, cfg->key_size, cfg->value_size, cfg->n_keys, cfg->duration_s,
            cfg->warmup_s, cfg->read_ratio, cfg->is_serializable ? "true" : "false",
            cfg->cluster_id, cfg->target == NR_CLIENT_TARGET_LEADER ? "leader" : "all",
            cfg->timeout_ms, cfg->max_tries);
    for (uint32_t i = 0; i < cfg->n_endpoints; i++) {
        if (i > 0)
            fputs(", ", f);
        json_str(f, cfg->endpoints[i]);
    }
    fputs("]},\n", f);
}

static void json_totals(FILE *f, const struct nb_result *res)
{
    const struct nr_client_stats *c = &res->client;
    fprintf(f, "  \"totals\": {\"ops\": %" PRIu64 ", \"puts\": %" PRIu64 ", \"gets\": %" PRIu64
               ", \"errors\": %" PRIu64 ", \"warmup_ops\": %" PRIu64 ", \"seconds\": %g, "
               "\"ops_per_s\": %.1f, \"sent\": %" PRIu64 ", \"retries\": %" PRIu64
               ", \"not_leader\": %" PRIu64 ", \"busy\": %" PRIu64 ", \"timeouts\": %" PRIu64
               ", \"stale_answers\": %" PRIu64 ", \"bad_answers\": %" PRIu64 ", \"first_error\": ",
            res->ops, res->puts, res->gets, res->errors, res->warmup_ops, res->seconds,
            ops_per_s(res), c->sent, c->retries, c->not_leader, c->busy, c->timeouts, c->stale,
            c->bad);
    json_str(f, res->first_error);
    fputs("},\n", f);
}

static void json_latency(FILE *f, const struct nb_result *res)
{
    const struct nb_hist *h = &res->lat;
    fprintf(f, "  \"latency_us\": {\"count\": %" PRIu64 ", \"mean\": %.1f, \"p50\": %.1f, "
               "\"p90\": %.1f, \"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f},\n",
            h->count, h->count > 0 ? us(h->sum_ns) / (double)h->count : 0.0,
            us(nb_hist_quantile(h, 0.50)), us(nb_hist_quantile(h, 0.90)),
            us(nb_hist_quantile(h, 0.99)), us(nb_hist_quantile(h, 0.999)), us(h->max_ns));
}

int nb_write_json(const struct nb_config *cfg, const struct nb_result *res, struct nr_err *err)
{
    FILE *f = fopen(cfg->json_path, "w");
    if (f == NULL)
        return nr_errf(err, NR_EIO, "--json %s: %s", cfg->json_path, strerror(errno));
    fputs("{\n", f);
    json_config(f, cfg);
    json_totals(f, res);
    json_latency(f, res);
    /* The last second is partial unless the duration is whole. */
    uint32_t n = (uint32_t)(cfg->duration_s + 0.999);
    if (n > res->n_seconds)
        n = res->n_seconds;
    fputs("  \"timeline\": [", f);
    for (uint32_t i = 0; i < n; i++)
        fprintf(f, "%s{\"second\": %" PRIu32 ", \"ops\": %" PRIu64 "}", i > 0 ? ", " : "", i,
                res->per_second[i]);
    fputs("]\n}\n", f);
    if (fclose(f) != 0)
        return nr_errf(err, NR_EIO, "--json %s: %s", cfg->json_path, strerror(errno));
    return 0;
}
