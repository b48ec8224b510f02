/* fake_server.c - the client tests' scripted member (fake_server.h). Plain
 * recvfrom/sendto around the frame codec (dp_frame.h), since an answer
 * goes back to the datagram's source address. */
#include "fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client_wire.h"
#include "dp_frame.h"
#include "nr_kinds.h"

#define KV_SLOTS 4096u
#define KV_KEY_MAX 64u
#define KV_VAL_MAX 1024u
#define SESS_SLOTS 4096u
#define FRAME_CAP 1472u

struct kv_slot {
    bool is_used;
    uint32_t key_len;
    uint32_t val_len;
    uint64_t mod_revision;
    uint8_t key[KV_KEY_MAX];
    uint8_t val[KV_VAL_MAX];
};

/* The last answer per client: a retried seq gets it again (applied once). */
struct sess_slot {
    uint64_t client_id;
    uint64_t seq;
    uint8_t status;
    uint64_t revision;
};

struct fake {
    const struct fake_config *cfg;
    struct kv_slot *kv;
    struct sess_slot *sess;
    uint64_t revision;
    uint32_t n_requests;
    struct dp_builder b;
    uint8_t out[FRAME_CAP];
    struct sockaddr_in to;
    int fd;
};

static volatile sig_atomic_t stop_now;

static void on_term(int sig)
{
    (void)sig;
    stop_now = 1;
}

static uint64_t hash(const uint8_t *p, uint32_t n)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(1099511628211);
    return h;
}

/* The slot of key, or a free one for it; NULL when the table is full. */
static struct kv_slot *kv_find(struct fake *f, const uint8_t *key, uint32_t key_len)
{
    uint64_t h = hash(key, key_len);
    for (uint32_t i = 0; i < KV_SLOTS; i++) {
        struct kv_slot *s = &f->kv[(h + i) % KV_SLOTS];
        if (!s->is_used || (s->key_len == key_len && memcmp(s->key, key, key_len) == 0))
            return s;
    }
    return NULL;
}

static struct sess_slot *sess_find(struct fake *f, uint64_t client_id)
{
    for (uint32_t i = 0; i < SESS_SLOTS; i++) {
        struct sess_slot *s = &f->sess[(client_id + i) % SESS_SLOTS];
        if (s->client_id == 0 || s->client_id == client_id)
            return s;
    }
    return &f->sess[client_id % SESS_SLOTS]; /* full: forget one */
}

static void flush_out(struct fake *f)
{
    uint32_t len = dp_builder_finish(&f->b);
    if (len > 0)
        (void)sendto(f->fd, f->out, len, 0, (struct sockaddr *)&f->to, sizeof(f->to));
    dp_builder_reset(&f->b);
}

static void answer(struct fake *f, const struct nr_kv_resp *r)
{
    uint8_t buf[NR_KV_RESP_HDR_LEN + KV_VAL_MAX + 64];
    struct nr_err err;
    int len = nr_kv_resp_encode(r, buf, sizeof(buf), &err);
    if (len < 0) {
        fprintf(stderr, "fake server: %s\n", err.msg);
        return;
    }
    if (dp_builder_add(&f->b, NR_KIND_CLIENT_RESP, buf, (uint32_t)len, &err) == NR_EBUSY) {
        flush_out(f);
        (void)dp_builder_add(&f->b, NR_KIND_CLIENT_RESP, buf, (uint32_t)len, &err);
    }
}

/* Applies c (FAKE_OK) and fills the answer. */
static void apply(struct fake *f, const struct nr_kv_cmd *c, struct nr_kv_resp *r)
{
    static const char refused[] = "the key starts with \"refuse\"";
    struct kv_slot *s = c->key_len <= KV_KEY_MAX ? kv_find(f, c->key, c->key_len) : NULL;

    if (c->key_len >= 6 && memcmp(c->key, "refuse", 6) == 0) {
        r->status = NR_KV_ERROR;
        r->val = (const uint8_t *)refused;
        r->val_len = sizeof(refused) - 1;
        return;
    }
    if (s == NULL || c->val_len > KV_VAL_MAX) {
        r->status = NR_KV_NOSPACE;
        return;
    }
    if (c->op == NR_KV_GET) {
        r->status = s->is_used ? NR_KV_OK : NR_KV_NOT_FOUND;
        r->revision = s->is_used ? s->mod_revision : 0;
        r->val = s->val;
        r->val_len = s->is_used ? s->val_len : 0;
        return;
    }
    struct sess_slot *ss = sess_find(f, c->client_id);
    if (ss->client_id == c->client_id && ss->seq == c->seq) {
        r->status = ss->status; /* a retry: the same answer, not applied again */
        r->revision = ss->revision;
        return;
    }
    r->status = NR_KV_OK;
    if (c->op == NR_KV_DEL) {
        r->status = s->is_used ? NR_KV_OK : NR_KV_NOT_FOUND;
        s->is_used = false;
    } else {
        s->is_used = true;
        s->key_len = c->key_len;
        memcpy(s->key, c->key, c->key_len);
        s->val_len = c->val_len;
        if (c->val_len > 0)
            memcpy(s->val, c->val, c->val_len);
    }
    r->revision = ++f->revision;
    s->mod_revision = r->revision;
    *ss = (struct sess_slot){c->client_id, c->seq, r->status, r->revision};
}

static void on_request(struct fake *f, const struct dp_msg *m)
{
    struct nr_kv_cmd c;
    struct nr_err err;

    if (m->kind != NR_KIND_CLIENT_REQ || nr_kv_cmd_decode(m->data, m->len, &c, &err) != 0)
        return;
    f->n_requests++;
    struct nr_kv_resp r = {.op = c.op, .client_id = c.client_id, .seq = c.seq};
    const struct fake_config *cfg = f->cfg;
    if (cfg->mode == FAKE_SILENT)
        return;
    if (cfg->mode == FAKE_NOT_LEADER) {
        r.status = NR_KV_NOT_LEADER;
        r.leader_id = cfg->hint.ipv4 != 0 ? 7 : 0;
        r.leader_ipv4 = cfg->hint.ipv4;
        r.leader_port = cfg->hint.port;
    } else if (f->n_requests <= cfg->busy_first) {
        static const char busy[] = "proposal queue full";
        r.status = NR_KV_BUSY;
        r.val = (const uint8_t *)busy;
        r.val_len = sizeof(busy) - 1;
    } else {
        apply(f, &c, &r);
        if (f->n_requests <= cfg->busy_first + cfg->drop_first)
            return;
    }
    answer(f, &r);
}

static void on_datagram(struct fake *f, const uint8_t *buf, uint32_t len)
{
    struct dp_rx_filter filter = {.cluster_id = FAKE_CLUSTER, .self_id = f->cfg->server_id};
    struct dp_frame_view v;
    struct dp_msg_iter it;
    struct dp_msg m;
    struct nr_err err;

    if (dp_frame_decode(&filter, buf, len, &v, NULL, NULL, &err) != 0 || dp_frame_is_frag(&v))
        return;
    struct dp_frame_addr a = {FAKE_CLUSTER, f->cfg->server_id, v.sender_id, v.group_id};
    dp_builder_init(&f->b, &a, f->out, FRAME_CAP);
    dp_msg_iter_init(&it, &v);
    while (dp_msg_iter_next(&it, &m))
        on_request(f, &m);
    flush_out(f);
}

int fake_server_open(uint16_t want_port, uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(want_port)};
    socklen_t sa_len = sizeof(sa);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sa_len) != 0) {
        perror("fake server: socket");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

void fake_server_serve(int fd, const struct fake_config *cfg)
{
    static uint8_t buf[65536];
    struct fake f = {.cfg = cfg, .fd = fd};
    struct sigaction sa = {.sa_handler = on_term};
    struct timespec t0, t;

    sigaction(SIGTERM, &sa, NULL);
    f.kv = calloc(KV_SLOTS, sizeof(f.kv[0]));
    f.sess = calloc(SESS_SLOTS, sizeof(f.sess[0]));
    if (f.kv == NULL || f.sess == NULL) {
        fprintf(stderr, "fake server: out of memory\n");
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) { /* bounded by run_ms */
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (stop_now || ms >= (long)cfg->run_ms)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        socklen_t from_len = sizeof(f.to);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&f.to,
                             &from_len);
        if (n > 0)
            on_datagram(&f, buf, (uint32_t)n);
    }
done:
    free(f.kv);
    free(f.sess);
}

pid_t fake_server_spawn(const struct fake_config *cfg, uint16_t *port)
{
    int fd = fake_server_open(0, port);
    if (fd < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        fake_server_serve(fd, cfg);
        _exit(0);
    }
    close(fd);
    return pid;
}

void fake_server_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}
