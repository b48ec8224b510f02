/* members_table_test.c - the member table a snapshot carries
 * (node_members_encode / node_members_decode): round trips at the bounds,
 * and bytes from outside (every truncation, every bit flip) refused with
 * a sentence or decoded into a table that encodes back to the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_int.h"
#include "unit_check.h"

static void fill(struct node_members *t, uint32_t n, uint64_t *seed)
{
    memset(t, 0, sizeof(*t));
    for (uint32_t i = 0; i < n; i++) {
        struct node_member *nm = &t->v[t->n++];

        nm->m.id = unit_rand(seed) | 1;
        snprintf(nm->m.name, sizeof(nm->m.name), "member-%u", i);
        nm->m.n_peer_urls = 1 + i % NR_MEMBER_URLS_MAX;
        for (uint32_t u = 0; u < nm->m.n_peer_urls; u++)
            snprintf(nm->m.peer_urls[u], NR_URL_LEN_MAX, "udp://198.18.%u.%u:%u", i, u, 2380 + u);
        nm->m.n_client_urls = i % (NR_MEMBER_URLS_MAX + 1);
        for (uint32_t u = 0; u < nm->m.n_client_urls; u++)
            snprintf(nm->m.client_urls[u], NR_URL_LEN_MAX, "udp://198.19.%u.%u:%u", i, u, 2379 + u);
        nm->m.is_learner = i % 3 == 0;
        nm->started = i % 2 == 0;
        nm->in_conf = i % 5 != 4;
    }
}

static bool same(const struct node_members *a, const struct node_members *b)
{
    if (a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (memcmp(&a->v[i].m, &b->v[i].m, sizeof(a->v[i].m)) != 0 ||
            a->v[i].started != b->v[i].started || a->v[i].in_conf != b->v[i].in_conf)
            return false;
    return true;
}

/* Outside bytes: refused with a sentence, or a table that encodes back to
 * exactly the bytes it used. */
static void check_outside(const uint8_t *bytes, uint32_t len, const char *what)
{
    static struct node_members t;
    static uint8_t again[64 << 10];
    struct nr_err err = {0};
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees over-reads */

    memcpy(copy, bytes, len);
    int used = node_members_decode(copy, len, &t, &err);
    if (used < 0) {
        UNIT_CHECK(used == NR_EINVAL && err.msg[0] != '\0', "%s: refused with a sentence (%d)",
                   what, used);
    } else {
        int len2 = node_members_encode(&t, again, sizeof(again), &err);
        UNIT_CHECK(len2 == used && memcmp(again, copy, (size_t)used) == 0,
                   "%s: accepted bytes encode back the same (%d vs %d)", what, len2, used);
    }
    free(copy);
}

int main(void)
{
    static struct node_members a, b;
    static uint8_t buf[64 << 10];
    uint64_t seed = 7;
    struct nr_err err;
    char what[64];

    for (uint32_t n = 0; n <= RAFT_MEMBERS_MAX; n += (n < 4 ? 1 : 7)) {
        fill(&a, n, &seed);
        int len = node_members_encode(&a, buf, sizeof(buf), &err);
        int used = len > 0 ? node_members_decode(buf, (uint64_t)len, &b, &err) : -1;
        UNIT_CHECK(len > 0 && used == len && same(&a, &b), "%u members round trip (%d, %d: %s)", n,
                   len, used, used < 0 ? err.msg : "");
        UNIT_CHECK(node_members_encode(&a, buf, 8, &err) == NR_EBUSY, "%u members: small cap", n);
    }
    /* A table of 5: every truncation is refused; every bit flip is refused
     * or decodes to what encodes back the same. */
    fill(&a, 5, &seed);
    int len = node_members_encode(&a, buf, sizeof(buf), &err);
    for (int cut = 0; cut < len; cut++) {
        snprintf(what, sizeof(what), "cut at %d of %d", cut, len);
        UNIT_CHECK(node_members_decode(buf, (uint64_t)cut, &b, &err) == NR_EINVAL, "%s: refused",
                   what);
    }
    for (int bit = 0; bit < 8 * len; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        snprintf(what, sizeof(what), "bit %d flipped", bit);
        check_outside(buf, (uint32_t)len, what);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Counts beyond the bound, and random bytes behind a valid header. */
    uint8_t big[12] = {'N', 'R', 'M', 'B', 1, 0, 0, 0, 0xff, 0xff, 0, 0};
    UNIT_CHECK(node_members_decode(big, sizeof(big), &b, &err) == NR_EINVAL &&
                       strstr(err.msg, "at most") != NULL,
               "a count beyond RAFT_MEMBERS_MAX is refused (%s)", err.msg);
    for (int r = 0; r < 2000; r++) {
        uint32_t n = 12 + (uint32_t)unit_below(&seed, 400);
        memcpy(buf, big, 8);
        for (uint32_t i = 8; i < n; i++)
            buf[i] = (uint8_t)unit_rand(&seed);
        buf[8] = (uint8_t)unit_below(&seed, 4);
        buf[9] = buf[10] = buf[11] = 0;
        snprintf(what, sizeof(what), "random body %d", r);
        check_outside(buf, n, what);
    }
    return unit_finish();
}
