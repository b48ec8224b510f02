/* nicraftctl_kv.c - `put`, `get` and `del`: the control socket says which
 * cluster and which client URLs (endpoint status, then member list), and
 * the client library (client/nr_client.h) does the rest. Output as
 * etcdctl's: put prints OK, get prints the key and the value (nothing when
 * absent, still exit 0), del prints how many keys it deleted. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nicraftctl.h"
#include "nr_client.h"

#define ENDPOINTS_MAX NR_CLIENT_ENDPOINTS_MAX
#define URL_BYTES 128
#define TRIES 4u /* redirects included; each gets a share of the command timeout */

struct cluster {
    uint64_t cluster_id;
    char urls[ENDPOINTS_MAX][URL_BYTES];
    const char *ptrs[ENDPOINTS_MAX];
    uint32_t n_urls;
};

static int parse_hex_id(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (strlen(s) != 16)
        return -1;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16u;
        if (d == 16u)
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return v != 0 ? 0 : -1;
}

static void add_urls(struct cluster *cl, json_t *urls)
{
    size_t i;
    json_t *u;

    json_array_foreach(urls, i, u) {
        const char *s = json_string_value(u);
        bool is_dup = false;
        if (s == NULL || strlen(s) >= URL_BYTES || cl->n_urls == ENDPOINTS_MAX)
            continue;
        for (uint32_t k = 0; k < cl->n_urls; k++)
            is_dup = is_dup || strcmp(cl->urls[k], s) == 0;
        if (is_dup)
            continue;
        snprintf(cl->urls[cl->n_urls], URL_BYTES, "%s", s);
        cl->ptrs[cl->n_urls] = cl->urls[cl->n_urls];
        cl->n_urls++;
    }
}

/* This member's client URLs first, then the other started members'. */
static int learn_cluster(const struct nctl *o, struct cluster *cl, struct nr_err *err)
{
    json_t *status = NULL, *list = NULL, *m;
    size_t i;
    int rc;

    memset(cl, 0, sizeof(*cl));
    if ((rc = nctl_call(o, "endpoint status", NULL, &status, err)) != 0)
        return rc;
    const char *cid = nctl_str(status, "cluster_id", err);
    if (err->code == 0 && parse_hex_id(cid, &cl->cluster_id) != 0)
        nr_errf(err, NR_EINVAL, "the node's cluster_id \"%.40s\" is not 16 lowercase hex digits",
                cid);
    add_urls(cl, json_object_get(status, "client_urls"));
    json_decref(status);
    if (err->code != 0)
        return err->code;
    if ((rc = nctl_call(o, "member list", NULL, &list, err)) != 0)
        return rc;
    json_array_foreach(json_object_get(list, "members"), i, m) {
        const char *st = json_string_value(json_object_get(m, "status"));
        if (st != NULL && strcmp(st, "started") == 0)
            add_urls(cl, json_object_get(m, "client_urls"));
    }
    json_decref(list);
    if (cl->n_urls == 0)
        return nr_errf(err, NR_EUNKNOWN,
                       "no client URL is known: neither endpoint status nor member list names "
                       "one (is the node started with --advertise-client-urls?)");
    return 0;
}

/* --command-timeout bounds each phase: the control socket's calls, then
 * the cluster's tries together (each gets a share). */
static int open_client(const struct nctl *o, struct nr_client **c, struct nr_err *err)
{
    struct cluster cl;
    int rc = learn_cluster(o, &cl, err);

    if (rc != 0)
        return rc;
    uint32_t per_try = o->timeout_ms / TRIES > 0 ? o->timeout_ms / TRIES : 1;
    struct nr_client_config cfg = {
        .cluster_id = cl.cluster_id,
        .endpoints = cl.ptrs,
        .n_endpoints = cl.n_urls,
        .timeout_ms = per_try,
        .max_tries = TRIES,
    };
    return nr_client_create(&cfg, c, err);
}

static bool key_ok(const char *key, struct nr_err *err)
{
    size_t len = strlen(key);
    if (len == 0 || len > NR_KV_KEY_MAX) {
        nr_errf(err, NR_EINVAL, "a key has 1 to %u bytes; this one has %zu", NR_KV_KEY_MAX, len);
        return false;
    }
    return true;
}

int nctl_put(const struct nctl *o)
{
    struct nr_err err = {0};
    struct nr_client *c = NULL;
    uint64_t rev = 0;
    const char *key = o->args[0], *val = o->args[1];

    if (strlen(val) > NR_KV_VAL_MAX)
        nr_errf(&err, NR_EINVAL, "a value has at most %u bytes; this one has %zu",
                NR_KV_VAL_MAX, strlen(val));
    if (err.code != 0 || !key_ok(key, &err) || open_client(o, &c, &err) != 0 ||
        nr_client_put(c, key, (uint32_t)strlen(key), val, (uint32_t)strlen(val), &rev,
                      &err) != 0) {
        nr_client_destroy(c);
        return nctl_fail(&err);
    }
    nr_client_destroy(c);
    if (o->format == NCTL_JSON)
        printf("{\"ok\":true,\"revision\":%" PRIu64 "}\n", rev);
    else
        printf("OK\n");
    return NCTL_EXIT_OK;
}

static void print_get_json(const char *key, const uint8_t *val, uint32_t len, uint64_t rev,
                           bool found)
{
    json_t *v = found ? json_stringn((const char *)val, len) : json_null();
    if (v == NULL) /* not UTF-8: JSON strings cannot carry it as it is */
        v = json_string("(the value is not UTF-8; use -w table)");
    json_t *obj = json_pack("{s:s, s:o, s:I, s:b}", "key", key, "value", v, "mod_revision",
                            (json_int_t)rev, "found", found);
    char *s = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
    if (s != NULL)
        printf("%s\n", s);
    free(s);
    json_decref(obj);
}

int nctl_get(const struct nctl *o)
{
    static uint8_t val[NR_KV_VAL_MAX];
    struct nr_err err = {0};
    struct nr_client *c = NULL;
    uint32_t len = 0;
    uint64_t rev = 0;
    bool found = false;
    const char *key = o->args[0];

    if (!key_ok(key, &err) || open_client(o, &c, &err) != 0 ||
        nr_client_get(c, key, (uint32_t)strlen(key), o->is_serializable, val, sizeof(val), &len,
                      &rev, &found, &err) != 0) {
        nr_client_destroy(c);
        return nctl_fail(&err);
    }
    nr_client_destroy(c);
    if (o->format == NCTL_JSON) {
        print_get_json(key, val, found ? len : 0, rev, found);
    } else if (found) {
        printf("%s\n", key);
        fwrite(val, 1, len, stdout);
        printf("\n");
    }
    return NCTL_EXIT_OK;
}

int nctl_del(const struct nctl *o)
{
    struct nr_err err = {0};
    struct nr_client *c = NULL;
    uint64_t rev = 0;
    bool found = false;
    const char *key = o->args[0];

    if (!key_ok(key, &err) || open_client(o, &c, &err) != 0 ||
        nr_client_del(c, key, (uint32_t)strlen(key), &rev, &found, &err) != 0) {
        nr_client_destroy(c);
        return nctl_fail(&err);
    }
    nr_client_destroy(c);
    if (o->format == NCTL_JSON)
        printf("{\"deleted\":%d,\"revision\":%" PRIu64 "}\n", found ? 1 : 0, rev);
    else
        printf("%d\n", found ? 1 : 0);
    return NCTL_EXIT_OK;
}
