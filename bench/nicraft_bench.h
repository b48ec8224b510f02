/* nicraft_bench.h - what nicraft-bench's parts share: its configuration
 * (from flags), and the results the report prints (nicraft_bench_report.c). */
#ifndef NICRAFT_NICRAFT_BENCH_H
#define NICRAFT_NICRAFT_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "nicraft_bench_hist.h"
#include "nr_client.h"

#define NB_ENDPOINTS_MAX NR_CLIENT_ENDPOINTS_MAX
#define NB_CLIENTS_MAX 16384u
#define NB_DURATION_MAX_S 86400.0

struct nb_config {
    uint32_t n_clients;
    uint32_t key_size;
    uint32_t value_size;
    uint64_t n_keys;
    double duration_s;
    double warmup_s;
    double read_ratio;
    bool is_serializable; /* reads without ReadIndex */
    uint64_t cluster_id;
    char *endpoints_arg; /* the flag's text (owned: strdup) */
    const char *endpoints[NB_ENDPOINTS_MAX];
    uint32_t n_endpoints;
    enum nr_client_target target;
    uint32_t timeout_ms;
    uint32_t max_tries;
    const char *json_path; /* NULL: no JSON */
    bool is_check;         /* exit 1 unless ops > 0 and errors == 0 */
};

struct nb_result {
    struct nb_hist lat;   /* measured operations (after the warm-up) */
    uint64_t ops;         /* measured and successful */
    uint64_t puts, gets;  /* of ops */
    uint64_t errors;      /* failed operations, warm-up included */
    uint64_t warmup_ops;
    double seconds;       /* the measured span */
    uint64_t *per_second; /* n_seconds counts of successful operations */
    uint32_t n_seconds;
    char first_error[sizeof(((struct nr_err *)0)->msg)];
    struct nr_client_stats client; /* the engine's counters */
};

/* nicraft_bench_flags.c: parses argv into *cfg; 0, or 2 after printing
 * the reason (or the usage). */
int nb_parse_flags(int argc, char **argv, struct nb_config *cfg);

/* nicraft_bench_report.c: the summary line on stdout; the JSON file. */
void nb_print_summary(const struct nb_config *cfg, const struct nb_result *res);
int nb_write_json(const struct nb_config *cfg, const struct nb_result *res, struct nr_err *err);

#endif
