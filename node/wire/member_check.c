/* member_check.c - the rules of member names, URLs and records
 * (members_wire.h), shared by every encoder (our own values, refused
 * before they leave) and decoder (outside values, refused on arrival). */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "dp_udp.h"
#include "member_int.h"
#include "members_wire.h"

static_assert(NR_URL_LEN_MAX == DP_URL_LEN_MAX, "nr_member URLs are dataplane URLs");
static_assert(NR_NAME_MAX <= 256 && NR_URL_LEN_MAX <= 256, "lengths travel in one byte");
static_assert(NR_MEMBER_URLS_MAX <= 255 && RAFT_MEMBERS_MAX <= 255, "counts travel in one byte");

/* Name characters: printable ASCII without space, '=' or ','. */
static bool name_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '=' && c != ',';
}

int nr_name_check(const char *name, bool allow_empty, struct nr_err *err)
{
    size_t len = strnlen(name, NR_NAME_MAX);

    if (len >= NR_NAME_MAX)
        return nr_errf(err, NR_EINVAL, "name \"%.16s...\" is longer than %d characters", name,
                       NR_NAME_MAX - 1);
    if (len == 0 && !allow_empty)
        return nr_errf(err, NR_EINVAL, "name is empty; a started member has a name");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!name_char_ok(c))
            return nr_errf(err, NR_EINVAL,
                           "name \"%.*s...\": character %zu is 0x%02x; names are printable "
                           "ASCII without space, '=' or ','",
                           (int)i, name, i + 1, c);
    }
    return 0;
}

static int url_check(const char *what, uint32_t i, const char *url, struct nr_err *err)
{
    size_t len = strnlen(url, NR_URL_LEN_MAX);
    struct dp_endpoint ep;
    struct nr_err inner = {0};

    if (len == 0 || len >= NR_URL_LEN_MAX)
        return nr_errf(err, NR_EINVAL, "%s URL %" PRIu32 " has %zu characters; want 1..%d", what, i,
                       len, NR_URL_LEN_MAX - 1);
    for (size_t k = 0; k < len; k++) { /* printable first: the sentence below quotes it */
        unsigned char c = (unsigned char)url[k];
        if (c <= 0x20 || c >= 0x7f)
            return nr_errf(err, NR_EINVAL, "%s URL %" PRIu32 ": character %zu is 0x%02x", what, i,
                           k + 1, c);
    }
    if (dp_url_parse(url, false, &ep, &inner) != 0)
        return nr_errf(err, NR_EINVAL, "%s URL %" PRIu32 ": %s", what, i, inner.msg);
    return 0;
}

static int urls_check(const char *what, const char urls[][NR_URL_LEN_MAX], uint32_t n,
                      uint32_t n_min, struct nr_err *err)
{
    if (n < n_min || n > NR_MEMBER_URLS_MAX)
        return nr_errf(err, NR_EINVAL, "%s: %" PRIu32 " URLs; want %" PRIu32 "..%d", what, n, n_min,
                       NR_MEMBER_URLS_MAX);
    for (uint32_t i = 0; i < n; i++) {
        int rc = url_check(what, i, urls[i], err);
        if (rc != 0)
            return rc;
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(urls[i], urls[j]) == 0)
                return nr_errf(err, NR_EINVAL, "%s URL %" PRIu32 " repeats URL %" PRIu32 " \"%s\"",
                               what, i, j, urls[i]);
        }
    }
    return 0;
}

int nr_urls_check(const char *what, const char urls[][NR_URL_LEN_MAX], uint32_t n, uint32_t n_min,
                  struct nr_err *err)
{
    return urls_check(what, urls, n, n_min, err);
}

static int named_check(const char *what, uint64_t id, const char *name, bool allow_empty,
                       struct nr_err *err)
{
    struct nr_err inner = {0};

    if (id == RAFT_ID_NONE)
        return nr_errf(err, NR_EINVAL, "%s: member ID 0; member IDs are non-zero", what);
    if (nr_name_check(name, allow_empty, &inner) != 0)
        return nr_errf(err, NR_EINVAL, "%s %016" PRIx64 ": %s", what, id, inner.msg);
    return 0;
}

/* The URL rules with the sentence's start formatted only on a refusal
 * (snprintf costs more than the checks). */
int nr_member_check(const struct nr_member *m, struct nr_err *err)
{
    struct nr_err inner = {0};

    int rc = named_check("member", m->id, m->name, true, err);
    if (rc != 0)
        return rc;
    if (urls_check("", m->peer_urls, m->n_peer_urls, 1, &inner) != 0)
        return nr_errf(err, NR_EINVAL, "member %016" PRIx64 " peer%s", m->id, inner.msg);
    if (urls_check("", m->client_urls, m->n_client_urls, 0, &inner) != 0)
        return nr_errf(err, NR_EINVAL, "member %016" PRIx64 " client%s", m->id, inner.msg);
    return 0;
}

int nr_member_attr_check(const struct nr_member_attr *a, struct nr_err *err)
{
    struct nr_err inner = {0};

    int rc = named_check("member attributes of", a->id, a->name, false, err);
    if (rc != 0)
        return rc;
    if (urls_check("", a->client_urls, a->n_client_urls, 0, &inner) != 0)
        return nr_errf(err, NR_EINVAL, "member attributes of %016" PRIx64 ": client%s", a->id,
                       inner.msg);
    return 0;
}
