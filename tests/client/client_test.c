/* client_test.c - the client library (client/nr_client.h) against scripted
 * members (fake_server.h: real UDP sockets in child processes): redirects
 * with and without a leader hint, BUSY backoff, timeouts that move to the
 * next endpoint, a lost answer whose retry keeps its seq (applied once),
 * tries running out with a sentence naming the endpoints, refusals; then
 * the synchronous API's results and the asynchronous engine with many
 * sessions. Prints `N passed, M failed`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_server.h"
#include "nr_client.h"
#include "unit_check.h"

#define SRV_MAX 3

struct srv_script {
    enum fake_mode mode;
    int hint_to; /* FAKE_NOT_LEADER: the server it names, -1 none */
    uint32_t busy_first;
    uint32_t drop_first;
};

/* One scenario: servers, the client's endpoint list (server indices), its
 * limits, and what n_puts puts of key must end in (the last put's). */
struct scenario {
    const char *name;
    uint32_t n_srv;
    struct srv_script srv[SRV_MAX];
    uint32_t n_eps;
    int eps[SRV_MAX];
    uint32_t timeout_ms;
    uint32_t max_tries;
    const char *key;
    uint32_t n_puts;
    int want_rc;
    uint32_t want_tries;    /* of the first put */
    uint64_t want_revision; /* of the last put, when want_rc is 0 */
    uint64_t want_not_leader, want_busy, want_timeouts;
    const char *want_msg; /* piece of the error sentence */
    bool want_eps_named;  /* the sentence names every endpoint */
};

static const struct scenario scenarios[] = {
    {"leader answers", 1, {{FAKE_OK, -1, 0, 0}}, 1, {0}, 200, 4, "k", 3, 0, 1, 3, 0, 0, 0, NULL, false},
    {"redirect to a hinted leader not in the list", 2,
     {{FAKE_NOT_LEADER, 1, 0, 0}, {FAKE_OK, -1, 0, 0}}, 1, {0}, 200, 4, "k", 2, 0, 2, 2, 1, 0, 0,
     NULL, false},
    {"redirect to a hinted leader in the list", 2,
     {{FAKE_NOT_LEADER, 1, 0, 0}, {FAKE_OK, -1, 0, 0}}, 2, {0, 1}, 200, 4, "k", 1, 0, 2, 1, 1, 0,
     0, NULL, false},
    {"not leader without a hint: the next endpoint", 2,
     {{FAKE_NOT_LEADER, -1, 0, 0}, {FAKE_OK, -1, 0, 0}}, 2, {0, 1}, 200, 4, "k", 1, 0, 2, 1, 1, 0,
     0, NULL, false},
    {"busy twice, then ok at the same member", 1, {{FAKE_OK, -1, 2, 0}}, 1, {0}, 200, 4, "k", 1,
     0, 3, 1, 0, 2, 0, NULL, false},
    {"a silent member: the next endpoint after the timeout", 2,
     {{FAKE_SILENT, -1, 0, 0}, {FAKE_OK, -1, 0, 0}}, 2, {0, 1}, 100, 4, "k", 1, 0, 2, 1, 0, 0, 1,
     NULL, false},
    {"a lost answer: the retry keeps its seq and is applied once", 1, {{FAKE_OK, -1, 0, 1}}, 1,
     {0}, 100, 4, "k", 2, 0, 2, 2, 0, 0, 1, NULL, false},
    {"every member silent: no answer, endpoints named", 2,
     {{FAKE_SILENT, -1, 0, 0}, {FAKE_SILENT, -1, 0, 0}}, 2, {0, 1}, 50, 3, "k", 1, NR_EIO, 3, 0, 0,
     0, 3, "no answer after 3 tries (50 ms each)", true},
    {"no leader anywhere", 1, {{FAKE_NOT_LEADER, -1, 0, 0}}, 1, {0}, 200, 4, "k", 1,
     NR_ENOTLEADER, 4, 0, 4, 0, 0, "not_leader after 4 tries", true},
    {"two followers naming each other", 2,
     {{FAKE_NOT_LEADER, 1, 0, 0}, {FAKE_NOT_LEADER, 0, 0, 0}}, 1, {0}, 200, 5, "k", 1,
     NR_ENOTLEADER, 5, 0, 5, 0, 0, "endpoints tried: udp://127.0.0.1:", false},
    {"busy for good", 1, {{FAKE_OK, -1, 100, 0}}, 1, {0}, 200, 3, "k", 1, NR_EBUSY, 3, 0, 0, 3, 0,
     "busy after 3 tries", true},
    {"refused by the node", 1, {{FAKE_OK, -1, 0, 0}}, 1, {0}, 200, 3, "refuse-me", 1, NR_EREFUSED,
     1, 0, 0, 0, 0, "refused (error): the key starts with \"refuse\"", false},
};

struct one_done {
    bool is_done;
    int rc;
    uint32_t tries;
    uint64_t revision;
    struct nr_err err;
};

static void on_one(void *ctx, const struct nr_client_done *d)
{
    struct one_done *o = ctx;
    o->is_done = true;
    o->rc = d->rc;
    o->tries = d->tries;
    o->revision = d->revision;
    if (d->rc != 0)
        o->err = *d->err;
}

static void run_scenario(const struct scenario *sc)
{
    pid_t pids[SRV_MAX] = {0};
    uint16_t ports[SRV_MAX] = {0};
    char urls[SRV_MAX][DP_URL_LEN_MAX];
    const char *eps[SRV_MAX];
    struct nr_err err = {0};

    /* Reserve the ports first: a hint names a server started later. */
    int fds[SRV_MAX];
    for (uint32_t i = 0; i < sc->n_srv; i++)
        fds[i] = fake_server_open(0, &ports[i]);
    for (uint32_t i = 0; i < sc->n_srv; i++) {
        struct fake_config fc = {
            .mode = sc->srv[i].mode, .server_id = 0x5e00 + i, .busy_first = sc->srv[i].busy_first,
            .drop_first = sc->srv[i].drop_first, .run_ms = 20000,
        };
        if (sc->srv[i].hint_to >= 0)
            fc.hint = (struct dp_endpoint){0x7f000001, ports[sc->srv[i].hint_to]};
        pids[i] = fork();
        if (pids[i] == 0) {
            fake_server_serve(fds[i], &fc);
            _exit(0);
        }
    }
    for (uint32_t i = 0; i < sc->n_srv; i++)
        close(fds[i]);
    for (uint32_t i = 0; i < sc->n_eps; i++) {
        snprintf(urls[i], sizeof(urls[i]), "udp://127.0.0.1:%u", ports[sc->eps[i]]);
        eps[i] = urls[i];
    }
    struct nr_client_async_config cfg = {
        .cluster_id = FAKE_CLUSTER, .endpoints = eps, .n_endpoints = sc->n_eps, .n_sessions = 1,
        .timeout_ms = sc->timeout_ms, .max_tries = sc->max_tries,
    };
    struct nr_client_async *a = NULL;
    int rc = nr_client_async_create(&cfg, &a, &err);
    UNIT_CHECK(rc == 0, "%s: create: %s", sc->name, err.msg);
    if (rc != 0)
        goto stop;
    struct one_done first = {0}, last = {0};
    for (uint32_t p = 0; p < sc->n_puts; p++) {
        struct one_done o = {0};
        rc = nr_client_async_submit(a, 0, NR_KV_PUT, 0, sc->key, (uint32_t)strlen(sc->key), "v", 1,
                                    p, &err);
        UNIT_CHECK(rc == 0, "%s: submit: %s", sc->name, err.msg);
        for (int spins = 0; !o.is_done && spins < 1000; spins++)
            (void)nr_client_async_poll(a, 50, on_one, &o, &err);
        UNIT_CHECK(o.is_done, "%s: put %u completes", sc->name, p);
        if (p == 0)
            first = o;
        last = o;
    }
    const struct nr_client_stats *st = nr_client_async_stats(a);
    UNIT_CHECK(first.rc == sc->want_rc, "%s: rc %s, want %s (%s)", sc->name, nr_code_name(first.rc),
               nr_code_name(sc->want_rc), first.err.msg);
    UNIT_CHECK(first.tries == sc->want_tries, "%s: %u tries, want %u", sc->name, first.tries,
               sc->want_tries);
    if (sc->want_rc == 0)
        UNIT_CHECK(last.revision == sc->want_revision, "%s: revision %" PRIu64 ", want %" PRIu64,
                   sc->name, last.revision, sc->want_revision);
    UNIT_CHECK(st->not_leader == sc->want_not_leader && st->busy == sc->want_busy &&
                   st->timeouts == sc->want_timeouts,
               "%s: not_leader %" PRIu64 " busy %" PRIu64 " timeouts %" PRIu64 ", want %" PRIu64
               " %" PRIu64 " %" PRIu64, sc->name, st->not_leader, st->busy, st->timeouts,
               sc->want_not_leader, sc->want_busy, sc->want_timeouts);
    if (sc->want_msg != NULL)
        UNIT_CHECK(strstr(first.err.msg, sc->want_msg) != NULL, "%s: sentence \"%s\" has \"%s\"",
                   sc->name, first.err.msg, sc->want_msg);
    for (uint32_t i = 0; sc->want_eps_named && i < sc->n_eps; i++)
        UNIT_CHECK(strstr(first.err.msg, urls[i]) != NULL, "%s: sentence names %s", sc->name,
                   urls[i]);
    nr_client_async_destroy(a);
stop:
    for (uint32_t i = 0; i < sc->n_srv; i++)
        fake_server_stop(pids[i]);
}

/* The synchronous API's results against one leader. */
static void test_sync(void)
{
    uint16_t port;
    struct fake_config fc = {.mode = FAKE_OK, .server_id = 0x5e01, .run_ms = 20000};
    pid_t pid = fake_server_spawn(&fc, &port);
    char url[DP_URL_LEN_MAX];
    const char *eps[] = {url};
    struct nr_err err = {0};
    struct nr_client *c = NULL;

    snprintf(url, sizeof(url), "udp://127.0.0.1:%u", port);
    struct nr_client_config cfg = {.cluster_id = FAKE_CLUSTER, .endpoints = eps, .n_endpoints = 1,
                                   .timeout_ms = 500};
    int rc = nr_client_create(&cfg, &c, &err);
    UNIT_CHECK(rc == 0 && nr_client_id(c) != 0, "sync: create: %s", err.msg);
    if (rc != 0) {
        fake_server_stop(pid);
        return;
    }
    uint64_t rev = 0, mod = 0;
    uint8_t buf[16];
    uint32_t len = 0;
    bool found = false;
    rc = nr_client_put(c, "alpha", 5, "one", 3, &rev, &err);
    UNIT_CHECK(rc == 0 && rev == 1, "sync: put alpha: rc %d rev %" PRIu64 " %s", rc, rev, err.msg);
    rc = nr_client_put(c, "beta", 4, "", 0, &rev, &err);
    UNIT_CHECK(rc == 0 && rev == 2, "sync: put beta (empty value): rev %" PRIu64, rev);
    rc = nr_client_get(c, "alpha", 5, false, buf, sizeof(buf), &len, &mod, &found, &err);
    UNIT_CHECK(rc == 0 && found && len == 3 && memcmp(buf, "one", 3) == 0 && mod == 1,
               "sync: get alpha: rc %d found %d len %u mod %" PRIu64, rc, found, len, mod);
    rc = nr_client_get(c, "beta", 4, true, buf, sizeof(buf), &len, &mod, &found, &err);
    UNIT_CHECK(rc == 0 && found && len == 0 && mod == 2, "sync: serializable get beta");
    rc = nr_client_get(c, "gamma", 5, false, buf, sizeof(buf), &len, &mod, &found, &err);
    UNIT_CHECK(rc == 0 && !found && mod == 0, "sync: get of an absent key: found %d", found);
    rc = nr_client_get(c, "alpha", 5, false, buf, 2, &len, &mod, &found, &err);
    UNIT_CHECK(rc == NR_ERANGE && len == 3 && strstr(err.msg, "3 bytes exceeds the buffer of 2") != NULL,
               "sync: a small buffer: %s", err.msg);
    rc = nr_client_del(c, "alpha", 5, &rev, &found, &err);
    UNIT_CHECK(rc == 0 && found && rev == 3, "sync: del alpha: found %d rev %" PRIu64, found, rev);
    rc = nr_client_del(c, "alpha", 5, &rev, &found, &err);
    UNIT_CHECK(rc == 0 && !found && rev == 4, "sync: del again: found %d rev %" PRIu64, found, rev);
    rc = nr_client_put(c, "", 0, "x", 1, &rev, &err);
    UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, "key_len 0") != NULL, "sync: empty key: %s",
               err.msg);
    nr_client_destroy(c);
    fake_server_stop(pid);
}

struct bad_config {
    const char *why;
    uint64_t cluster_id;
    const char *eps[3];
    uint32_t n_eps;
    uint32_t max_tries;
    const char *want;
};

static const struct bad_config bad_configs[] = {
    {"zero cluster", 0, {"udp://127.0.0.1:1"}, 1, 0, "cluster_id must be non-zero"},
    {"no endpoints", 1, {NULL}, 0, 0, "0 endpoints; give 1..16"},
    {"a host name", 1, {"udp://localhost:1"}, 1, 0, "endpoint 0: "},
    {"port 0", 1, {"udp://127.0.0.1:0"}, 1, 0, "endpoint 0: "},
    {"a repeat", 1, {"udp://127.0.0.1:5", "udp://127.0.0.1:5"}, 2, 0, "repeats endpoint 0"},
    {"too many tries", 1, {"udp://127.0.0.1:5"}, 1, 1001, "max_tries 1001 exceeds 1000"},
};

static void test_bad_configs(void)
{
    for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
        const struct bad_config *b = &bad_configs[i];
        struct nr_client_config cfg = {.cluster_id = b->cluster_id, .endpoints = b->eps,
                                       .n_endpoints = b->n_eps, .max_tries = b->max_tries};
        struct nr_client *c = NULL;
        struct nr_err err = {0};
        int rc = nr_client_create(&cfg, &c, &err);
        UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, b->want) != NULL,
                   "config %s: want \"%s\", got %s \"%s\"", b->why, b->want, nr_code_name(rc), err.msg);
        if (rc == 0)
            nr_client_destroy(c);
    }
}

#define ASYNC_SESSIONS 64u
#define ASYNC_OPS 4000u

struct async_run {
    struct nr_client_async *a;
    uint32_t submitted, done, failed;
    uint8_t seen_rev[ASYNC_OPS + 1];
    uint32_t bad_rev;
};

static void submit_next(struct async_run *r, uint32_t session)
{
    char key[16];
    struct nr_err err;
    int n = snprintf(key, sizeof(key), "key%u", r->submitted % 500);
    if (nr_client_async_submit(r->a, session, NR_KV_PUT, 0, key, (uint32_t)n, "value", 5,
                               r->submitted, &err) == 0)
        r->submitted++;
}

static void on_async(void *ctx, const struct nr_client_done *d)
{
    struct async_run *r = ctx;
    r->done++;
    if (d->rc != 0)
        r->failed++;
    else if (d->revision == 0 || d->revision > ASYNC_OPS || r->seen_rev[d->revision]++)
        r->bad_rev++;
    if (r->submitted < ASYNC_OPS)
        submit_next(r, d->session);
}

/* Many sessions on one socket, closed loop: every write applied once. */
static void test_async(void)
{
    uint16_t port;
    struct fake_config fc = {.mode = FAKE_OK, .server_id = 0x5e02, .run_ms = 30000};
    pid_t pid = fake_server_spawn(&fc, &port);
    char url[DP_URL_LEN_MAX];
    const char *eps[] = {url};
    struct nr_err err = {0};
    static struct async_run r;

    snprintf(url, sizeof(url), "udp://127.0.0.1:%u", port);
    struct nr_client_async_config cfg = {
        .cluster_id = FAKE_CLUSTER, .endpoints = eps, .n_endpoints = 1,
        .n_sessions = ASYNC_SESSIONS, .req_len_max = 128, .timeout_ms = 2000,
    };
    int rc = nr_client_async_create(&cfg, &r.a, &err);
    UNIT_CHECK(rc == 0, "async: create: %s", err.msg);
    if (rc != 0) {
        fake_server_stop(pid);
        return;
    }
    UNIT_CHECK(nr_client_async_session_id(r.a, 5) == nr_client_async_session_id(r.a, 0) + 5,
               "async: session IDs are consecutive");
    char big[200] = {0};
    rc = nr_client_async_submit(r.a, ASYNC_SESSIONS - 1, NR_KV_PUT, 0, "k", 1, big, sizeof(big),
                                0, &err);
    UNIT_CHECK(rc == NR_EINVAL && strstr(err.msg, "exceed the buffer of 128") != NULL, "async: a request over req_len_max: %s", err.msg);
    UNIT_CHECK(nr_client_async_in_flight(r.a) == 0, "async: a refused submit leaves nothing in flight");
    for (uint32_t s = 0; s < ASYNC_SESSIONS; s++)
        submit_next(&r, s);
    rc = nr_client_async_submit(r.a, 3, NR_KV_GET, 0, "k", 1, NULL, 0, 0, &err);
    UNIT_CHECK(rc == NR_EBUSY && strstr(err.msg, "in flight") != NULL,
               "async: a second op on a busy session: %s", err.msg);
    rc = nr_client_async_submit(r.a, ASYNC_SESSIONS, NR_KV_GET, 0, "k", 1, NULL, 0, 0, &err);
    UNIT_CHECK(rc == NR_EINVAL, "async: a session out of range: %s", err.msg);
    for (int spins = 0; r.done < ASYNC_OPS && spins < 100000; spins++)
        (void)nr_client_async_poll(r.a, 10, on_async, &r, &err);
    const struct nr_client_stats *st = nr_client_async_stats(r.a);
    UNIT_CHECK(r.done == ASYNC_OPS && r.failed == 0 && r.bad_rev == 0,
               "async: %u of %u done, %u failed, %u bad revisions", r.done, ASYNC_OPS, r.failed,
               r.bad_rev);
    UNIT_CHECK(nr_client_async_in_flight(r.a) == 0 && st->completed == ASYNC_OPS,
               "async: nothing left in flight");
    nr_client_async_destroy(r.a);
    fake_server_stop(pid);
}

struct spread_run {
    uint32_t tries[4];
    int rc[4];
};

static void on_spread(void *ctx, const struct nr_client_done *d)
{
    struct spread_run *r = ctx;
    r->tries[d->session] = d->tries;
    r->rc[d->session] = d->rc;
}

/* --target all: session i starts at endpoint i mod n; a follower's
 * NOT_LEADER sends that operation on to the leader it names. */
static void test_spread(void)
{
    uint16_t lport, fport;
    int lfd = fake_server_open(0, &lport);
    int ffd = fake_server_open(0, &fport);
    struct fake_config lc = {.mode = FAKE_OK, .server_id = 0x5e10, .run_ms = 20000};
    struct fake_config fc = {.mode = FAKE_NOT_LEADER, .server_id = 0x5e11, .run_ms = 20000,
                             .hint = {0x7f000001, lport}};
    pid_t lpid = fork();
    if (lpid == 0) {
        fake_server_serve(lfd, &lc);
        _exit(0);
    }
    pid_t fpid = fork();
    if (fpid == 0) {
        fake_server_serve(ffd, &fc);
        _exit(0);
    }
    close(lfd);
    close(ffd);
    char furl[DP_URL_LEN_MAX], lurl[DP_URL_LEN_MAX];
    snprintf(furl, sizeof(furl), "udp://127.0.0.1:%u", fport);
    snprintf(lurl, sizeof(lurl), "udp://127.0.0.1:%u", lport);
    const char *eps[] = {furl, lurl};
    struct nr_client_async_config cfg = {
        .cluster_id = FAKE_CLUSTER, .endpoints = eps, .n_endpoints = 2, .n_sessions = 4,
        .timeout_ms = 500, .target = NR_CLIENT_TARGET_SPREAD,
    };
    struct nr_client_async *a = NULL;
    struct nr_err err = {0};
    struct spread_run r = {0};
    int rc = nr_client_async_create(&cfg, &a, &err);
    UNIT_CHECK(rc == 0, "spread: create: %s", err.msg);
    for (uint32_t s = 0; rc == 0 && s < 4; s++)
        UNIT_CHECK(nr_client_async_submit(a, s, NR_KV_PUT, 0, "k", 1, "v", 1, s, &err) == 0,
                   "spread: submit %u: %s", s, err.msg);
    for (int spins = 0; rc == 0 && nr_client_async_in_flight(a) > 0 && spins < 1000; spins++)
        (void)nr_client_async_poll(a, 50, on_spread, &r, &err);
    for (uint32_t s = 0; rc == 0 && s < 4; s++)
        UNIT_CHECK(r.rc[s] == 0 && r.tries[s] == (s % 2 == 0 ? 2u : 1u),
                   "spread: session %u: rc %d after %u tries", s, r.rc[s], r.tries[s]);
    nr_client_async_destroy(a);
    fake_server_stop(lpid);
    fake_server_stop(fpid);
}

int main(void)
{
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        run_scenario(&scenarios[i]);
    test_sync();
    test_bad_configs();
    test_async();
    test_spread();
    return unit_finish();
}
