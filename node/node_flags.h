/* node_flags.h - nicraftd's flags: each also readable as a NICRAFT_*
 * environment variable (the flag's name upper-cased, '-' as '_': --data-dir
 * is NICRAFT_DATA_DIR), as etcd reads ETCD_*. A flag on the command line
 * wins over the variable (with a warning, as etcd prints). Every value is
 * checked at start: a bad one is refused with the flag, the value and why.
 * Pure apart from the getenv callback: tests pass their own environment. */
#ifndef NICRAFT_NODE_FLAGS_H
#define NICRAFT_NODE_FLAGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "node_ids.h"
#include "nr_err.h"

#define NR_FLAG_STR_MAX 4096u

enum nr_transport { NR_TRANSPORT_UDP = 0, NR_TRANSPORT_DPDK };
enum nr_idle_policy { NR_IDLE_BUSY = 0, NR_IDLE_ADAPTIVE };
enum nr_cluster_state { NR_CLUSTER_NEW = 0, NR_CLUSTER_EXISTING };

struct nr_flags {
    char name[NR_NAME_MAX];
    char data_dir[256];
    char initial_cluster[NR_INITIAL_CLUSTER_LEN_MAX + 1];
    char initial_cluster_token[NR_NAME_MAX];
    uint32_t initial_cluster_state; /* enum nr_cluster_state */
    char initial_cluster_id[24];    /* hex, joining only */
    uint64_t initial_cluster_id_val;
    char listen_peer_url[NR_URL_LEN_MAX];
    char advertise_peer_url[NR_URL_LEN_MAX];
    char listen_client_url[NR_URL_LEN_MAX];
    char advertise_client_url[NR_URL_LEN_MAX];
    char control_socket[108]; /* sun_path */
    uint32_t transport;       /* enum nr_transport */
    char dpdk_args[1024];
    char lcores[64];
    uint32_t idle; /* enum nr_idle_policy */
    uint32_t heartbeat_ms;
    uint32_t election_ms;
    uint64_t snapshot_count;
    bool strict_reconfig_check;
    uint32_t health_interval_ms;
    uint64_t quota_backend_bytes;
    bool help;
    bool version;
    /* Which flags were given (command line or environment), by index in the
     * flag table: a restart warns only about initial-cluster flags the
     * operator set. */
    uint64_t given;
};

typedef const char *nr_getenv_fn(const char *name);
/* Receives each warning sentence (a flag shadowing its variable, ...). */
typedef void nr_warn_fn(void *ctx, const char *sentence);

/* Fills *f with the defaults, then the environment, then argv (argv[0] is
 * the program). NR_EINVAL: an unknown flag, a missing value, a value out
 * of range or malformed (the sentence names the flag, the value and the
 * rule), or flags that contradict each other. */
int nr_flags_parse(int argc, char **argv, nr_getenv_fn *getenv_fn, nr_warn_fn *warn, void *warn_ctx,
                   struct nr_flags *f, struct nr_err *err);

/* Whether the flag --name (without dashes) was given. */
bool nr_flags_given(const struct nr_flags *f, const char *flag);

/* Writes --help: every flag, its variable, its default and what it does. */
void nr_flags_usage(FILE *out);

#endif
