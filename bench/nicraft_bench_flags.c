/* nicraft_bench_flags.c - nicraft-bench's flags (nicraft_bench.h). Every
 * value is checked against its range; a refusal names the flag. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nicraft_bench.h"

static const char usage[] =
    "usage: nicraft-bench --endpoints udp://IP:PORT[,udp://IP:PORT...] --cluster-id HEX16\n"
    "           [--clients N (16)] [--key-size B (8)] [--value-size B (256)] [--keys N (100000)]\n"
    "           [--duration S (10)] [--warmup S (1)] [--read-ratio 0..1 (0)] [--serializable]\n"
    "           [--target leader|all (leader)] [--transport udp] [--timeout-ms MS (1000)]\n"
    "           [--max-tries N (8)] [--json FILE] [--check]\n";

static int bad(const char *flag, const char *value, const char *rule)
{
    fprintf(stderr, "nicraft-bench: %s \"%s\": %s\n", flag, value, rule);
    return 2;
}

static int parse_u64(const char *flag, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < lo || v > hi) {
        char rule[96];
        snprintf(rule, sizeof(rule), "want a whole number in %" PRIu64 "..%" PRIu64, lo, hi);
        return bad(flag, s, rule);
    }
    *out = v;
    return 0;
}

static int parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !(v >= lo && v <= hi)) {
        char rule[96];
        snprintf(rule, sizeof(rule), "want a number in %g..%g", lo, hi);
        return bad(flag, s, rule);
    }
    *out = v;
    return 0;
}

static int parse_cluster_id(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    char *end;
    if (n < 1 || n > 16 || strspn(s, "0123456789abcdefABCDEF") != n)
        return bad("--cluster-id", s, "want 1 to 16 hex digits");
    *out = strtoull(s, &end, 16);
    if (*out == 0)
        return bad("--cluster-id", s, "the cluster ID is never 0");
    return 0;
}

static int parse_endpoints(char *list, struct nb_config *cfg)
{
    cfg->n_endpoints = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (cfg->n_endpoints == NB_ENDPOINTS_MAX)
            return bad("--endpoints", tok, "more than 16 endpoints");
        cfg->endpoints[cfg->n_endpoints++] = tok;
    }
    if (cfg->n_endpoints == 0)
        return bad("--endpoints", "", "give at least one udp://IP:PORT");
    return 0;
}

/* One flag with its value; 0, 1 (unknown flag) or 2. */
static int parse_one(const char *f, const char *v, struct nb_config *cfg)
{
    uint64_t u;
    int rc = 0;

    if (strcmp(f, "--clients") == 0) {
        rc = parse_u64(f, v, 1, NB_CLIENTS_MAX, &u);
        cfg->n_clients = (uint32_t)u;
    } else if (strcmp(f, "--key-size") == 0) {
        rc = parse_u64(f, v, 1, NR_KV_KEY_MAX, &u);
        cfg->key_size = (uint32_t)u;
    } else if (strcmp(f, "--value-size") == 0) {
        rc = parse_u64(f, v, 0, NR_KV_VAL_MAX, &u);
        cfg->value_size = (uint32_t)u;
    } else if (strcmp(f, "--keys") == 0) {
        rc = parse_u64(f, v, 1, UINT64_C(1) << 40, &cfg->n_keys);
    } else if (strcmp(f, "--duration") == 0) {
        rc = parse_double(f, v, 0.01, NB_DURATION_MAX_S, &cfg->duration_s);
    } else if (strcmp(f, "--warmup") == 0) {
        rc = parse_double(f, v, 0, 3600, &cfg->warmup_s);
    } else if (strcmp(f, "--read-ratio") == 0) {
        rc = parse_double(f, v, 0, 1, &cfg->read_ratio);
    } else if (strcmp(f, "--cluster-id") == 0) {
        rc = parse_cluster_id(v, &cfg->cluster_id);
    } else if (strcmp(f, "--endpoints") == 0) {
        free(cfg->endpoints_arg);
        cfg->endpoints_arg = strdup(v);
        rc = cfg->endpoints_arg == NULL ? 2 : parse_endpoints(cfg->endpoints_arg, cfg);
    } else if (strcmp(f, "--target") == 0) {
        if (strcmp(v, "leader") == 0)
            cfg->target = NR_CLIENT_TARGET_LEADER;
        else if (strcmp(v, "all") == 0)
            cfg->target = NR_CLIENT_TARGET_SPREAD;
        else
            rc = bad(f, v, "want leader or all");
    } else if (strcmp(f, "--transport") == 0) {
        if (strcmp(v, "dpdk") == 0)
            rc = bad(f, v, "the client speaks kernel UDP only for now; supported: udp "
                           "(the members' client URLs are UDP either way)");
        else if (strcmp(v, "udp") != 0)
            rc = bad(f, v, "supported: udp");
    } else if (strcmp(f, "--timeout-ms") == 0) {
        rc = parse_u64(f, v, 1, 600000, &u);
        cfg->timeout_ms = (uint32_t)u;
    } else if (strcmp(f, "--max-tries") == 0) {
        rc = parse_u64(f, v, 1, NR_CLIENT_TRIES_MAX, &u);
        cfg->max_tries = (uint32_t)u;
    } else if (strcmp(f, "--json") == 0) {
        cfg->json_path = v;
    } else {
        return 1;
    }
    return rc;
}

int nb_parse_flags(int argc, char **argv, struct nb_config *cfg)
{
    *cfg = (struct nb_config){
        .n_clients = 16, .key_size = 8, .value_size = 256, .n_keys = 100000,
        .duration_s = 10, .warmup_s = 1, .target = NR_CLIENT_TARGET_LEADER,
        .timeout_ms = 1000, .max_tries = 8,
    };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--serializable") == 0) {
            cfg->is_serializable = true;
            continue;
        }
        if (strcmp(argv[i], "--check") == 0) {
            cfg->is_check = true;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "nicraft-bench: %s: a value is missing\n%s", argv[i], usage);
            return 2;
        }
        int rc = parse_one(argv[i], argv[i + 1], cfg);
        if (rc == 1) {
            fprintf(stderr, "nicraft-bench: unknown flag %s\n%s", argv[i], usage);
            return 2;
        }
        if (rc != 0)
            return rc;
        i++;
    }
    if (cfg->n_endpoints == 0 || cfg->cluster_id == 0) {
        fprintf(stderr, "nicraft-bench: --endpoints and --cluster-id are required\n%s", usage);
        return 2;
    }
    /* Keys are the index in hex, zero-padded to key_size: it must fit. */
    uint64_t max_index = cfg->n_keys - 1;
    uint32_t digits = 1;
    while (max_index >>= 4)
        digits++;
    if (digits > cfg->key_size) {
        fprintf(stderr, "nicraft-bench: --keys %" PRIu64 " needs keys of %u hex digits, above "
                "--key-size %u\n", cfg->n_keys, digits, cfg->key_size);
        return 2;
    }
    return 0;
}
