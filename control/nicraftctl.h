/* nicraftctl.h - the operator's tool's shared pieces: parsed options and
 * the commands (nicraftctl_show.c: status, health, member list;
 * nicraftctl_kv.c: put, get, del). */
#ifndef NICRAFT_NICRAFTCTL_H
#define NICRAFT_NICRAFTCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl_call.h"
#include "nr_err.h"

#define NCTL_SOCKET_DEFAULT "/run/nicraft/nicraft.sock"
#define NCTL_SOCKET_ENV "NICRAFT_CONTROL_SOCKET"
#define NCTL_TIMEOUT_MS_DEFAULT 5000u
#define NCTL_ARGS_MAX 8

/* Exit statuses. */
enum nctl_exit {
    NCTL_EXIT_OK = 0,
    NCTL_EXIT_ERROR = 1, /* the node refused, was unreachable, or is unhealthy */
    NCTL_EXIT_USAGE = 2,
};

enum nctl_format {
    NCTL_TABLE = 0, /* for `get`, `put`, `del`: etcdctl's simple lines */
    NCTL_JSON,
};

struct nctl {
    const char *socket_path;
    enum nctl_format format;
    uint32_t timeout_ms;      /* --command-timeout: the whole command */
    bool is_serializable;     /* get --serializable */
    const char *args[NCTL_ARGS_MAX];
    int n_args;               /* positional arguments after the command's words */
};

/* One request to the control socket: connects, runs cmd, closes. The
 * result is a new reference. Errors as ctl_call_run. */
int nctl_call(const struct nctl *o, const char *cmd, json_t *args, json_t **result,
              struct nr_err *err);

/* Prints err's sentence on stderr ("Error: ...") and returns NCTL_EXIT_ERROR. */
int nctl_fail(const struct nr_err *err);

/* Reading the node's results, which are outside data: each getter checks
 * the type and fills *err (NR_EINVAL naming the field) when it is wrong;
 * the first error sticks, so several can be read and checked once. */
const char *nctl_str(json_t *obj, const char *key, struct nr_err *err);
uint64_t nctl_u64(json_t *obj, const char *key, struct nr_err *err);
bool nctl_bool(json_t *obj, const char *key, struct nr_err *err);
/* An array of strings joined by sep into buf. */
void nctl_strs(json_t *obj, const char *key, const char *sep, char *buf, size_t cap,
               struct nr_err *err);

int nctl_endpoint_status(const struct nctl *o);
int nctl_endpoint_health(const struct nctl *o);
int nctl_member_list(const struct nctl *o);
int nctl_put(const struct nctl *o);
int nctl_get(const struct nctl *o);
int nctl_del(const struct nctl *o);

#endif
