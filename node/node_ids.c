/* node_ids.c - parsing --initial-cluster and deriving member and cluster
 * IDs from it (node_ids.h). */
#include "node_ids.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dp_udp.h"
#include "members_wire.h"
#include "nr_le.h"

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* A string and its terminating NUL, so "ab","c" and "a","bc" differ. */
static uint64_t fnv_str(uint64_t h, const char *s)
{
    return fnv_bytes(h, s, strlen(s) + 1);
}

/* MurmurHash3's fmix64: every input bit moves every output bit. */
static uint64_t id_finish(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h == 0 ? 1 : h;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

uint64_t nr_member_id_derive(const char (*urls)[NR_URL_LEN_MAX], uint32_t n_urls, const char *token)
{
    char sorted[NR_MEMBER_URLS_MAX][NR_URL_LEN_MAX];
    uint64_t h = fnv_str(FNV_OFFSET, "nicraft-member");

    NR_ASSERT(n_urls <= NR_MEMBER_URLS_MAX);
    memcpy(sorted, urls, n_urls * sizeof(sorted[0]));
    qsort(sorted, n_urls, sizeof(sorted[0]), cmp_str);
    for (uint32_t i = 0; i < n_urls; i++)
        h = fnv_str(h, sorted[i]);
    return id_finish(fnv_str(h, token));
}

uint64_t nr_cluster_id_derive(const uint64_t *member_ids, uint32_t n, const char *token)
{
    uint64_t sorted[RAFT_VOTERS_MAX];
    uint64_t h = fnv_str(FNV_OFFSET, "nicraft-cluster");

    NR_ASSERT(n <= RAFT_VOTERS_MAX);
    memcpy(sorted, member_ids, n * sizeof(sorted[0]));
    qsort(sorted, n, sizeof(sorted[0]), cmp_u64);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t le[8];

        nr_put_le64(le, sorted[i]);
        h = fnv_bytes(h, le, sizeof(le));
    }
    return id_finish(fnv_str(h, token));
}

bool nr_member_same_peer_urls(const struct nr_member *a, const struct nr_member *b)
{
    if (a->n_peer_urls != b->n_peer_urls)
        return false;
    for (uint32_t i = 0; i < a->n_peer_urls; i++) {
        bool found = false;

        for (uint32_t j = 0; j < b->n_peer_urls && !found; j++)
            found = strcmp(a->peer_urls[i], b->peer_urls[j]) == 0;
        if (!found)
            return false;
    }
    return true;
}

const struct nr_member *nr_initial_cluster_find(const struct nr_initial_cluster *c,
                                                const char *name)
{
    for (uint32_t i = 0; i < c->n_members; i++)
        if (strcmp(c->members[i].name, name) == 0)
            return &c->members[i];
    return NULL;
}

static bool url_taken(const struct nr_initial_cluster *c, const char *url)
{
    for (uint32_t i = 0; i < c->n_members; i++)
        for (uint32_t u = 0; u < c->members[i].n_peer_urls; u++)
            if (strcmp(c->members[i].peer_urls[u], url) == 0)
                return true;
    return false;
}

/* One "name=url" item of len bytes at item. */
static int parse_item(struct nr_initial_cluster *c, const char *item, size_t len,
                      struct nr_err *err)
{
    const char *eq = memchr(item, '=', len);
    char name[NR_NAME_MAX], url[NR_URL_LEN_MAX];
    struct dp_endpoint ep;
    struct nr_err uerr;

    if (eq == NULL)
        return nr_errf(err, NR_EINVAL, "--initial-cluster: \"%.*s\" is not name=udp://IP:PORT",
                       (int)len, item);
    size_t name_len = (size_t)(eq - item), url_len = len - name_len - 1;
    if (name_len >= sizeof(name) || url_len >= sizeof(url))
        return nr_errf(err, NR_EINVAL,
                       "--initial-cluster: \"%.*s\" is too long (names up to %u bytes, URLs up "
                       "to %u)",
                       (int)len, item, NR_NAME_MAX - 1, NR_URL_LEN_MAX - 1);
    memcpy(name, item, name_len);
    name[name_len] = '\0';
    memcpy(url, eq + 1, url_len);
    url[url_len] = '\0';
    struct nr_err nerr;
    if (nr_name_check(name, false, &nerr) != 0)
        return nr_errf(err, NR_EINVAL, "--initial-cluster: %s", nerr.msg);
    if (dp_url_parse(url, false, &ep, &uerr) != 0)
        return nr_errf(err, NR_EINVAL, "--initial-cluster: member %s: %s", name, uerr.msg);
    if (url_taken(c, url))
        return nr_errf(err, NR_EINVAL,
                       "--initial-cluster: peer URL %s is named twice; every member needs "
                       "its own",
                       url);
    struct nr_member *m = (struct nr_member *)nr_initial_cluster_find(c, name);
    if (m == NULL) {
        if (c->n_members == RAFT_VOTERS_MAX)
            return nr_errf(err, NR_EINVAL,
                           "--initial-cluster: more than %u members; found a cluster with at "
                           "most %u voters and add learners later",
                           RAFT_VOTERS_MAX, RAFT_VOTERS_MAX);
        m = &c->members[c->n_members++];
        memset(m, 0, sizeof(*m));
        memcpy(m->name, name, name_len + 1);
    }
    if (m->n_peer_urls == NR_MEMBER_URLS_MAX)
        return nr_errf(err, NR_EINVAL, "--initial-cluster: member %s has more than %u peer URLs",
                       name, NR_MEMBER_URLS_MAX);
    memcpy(m->peer_urls[m->n_peer_urls++], url, url_len + 1);
    return 0;
}

int nr_initial_cluster_parse(const char *spec, const char *token, struct nr_initial_cluster *out,
                             struct nr_err *err)
{
    size_t len = strlen(spec);
    uint64_t ids[RAFT_VOTERS_MAX];

    memset(out, 0, sizeof(*out));
    if (token[0] == '\0')
        return nr_errf(err, NR_EINVAL, "--initial-cluster-token is empty");
    if (len == 0)
        return nr_errf(err, NR_EINVAL, "--initial-cluster is empty");
    if (len > NR_INITIAL_CLUSTER_LEN_MAX)
        return nr_errf(err, NR_EINVAL, "--initial-cluster is %zu bytes long; at most %u", len,
                       NR_INITIAL_CLUSTER_LEN_MAX);
    for (const char *p = spec; p <= spec + len;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        int rc = parse_item(out, p, n, err);

        if (rc != 0)
            return rc;
        p += n + 1;
    }
    for (uint32_t i = 0; i < out->n_members; i++) {
        struct nr_member *m = &out->members[i];

        m->id = nr_member_id_derive((const char(*)[NR_URL_LEN_MAX])m->peer_urls, m->n_peer_urls,
                                    token);
        for (uint32_t j = 0; j < i; j++)
            if (out->members[j].id == m->id)
                return nr_errf(err, NR_EINVAL,
                               "--initial-cluster: members %s and %s hash to the same ID "
                               "%016" PRIx64 "; change a peer URL",
                               out->members[j].name, m->name, m->id);
        ids[i] = m->id;
    }
    out->cluster_id = nr_cluster_id_derive(ids, out->n_members, token);
    return 0;
}
