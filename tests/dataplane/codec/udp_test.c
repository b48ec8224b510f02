/* udp_test.c - the kernel UDP transport: strict udp://IP:PORT parsing, the
 * configuration checks, and two processes (fork) exchanging many messages
 * over 127.0.0.1 with sendmmsg/recvmmsg: Alice sends small, 1 KiB and
 * fragmented messages, Bob checks each and echoes it, Alice checks the
 * echoes; content, counts and drop counters are compared at the end. Frames
 * from another cluster sent to Bob must be counted and never delivered.
 * Prints `N passed, M failed` last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec_util.h"
#include "dp_udp.h"
#include "nr_le.h"
#include "unit_check.h"

#define N_MSGS 20000u
#define WINDOW_MSGS 256u
#define WINDOW_BYTES (1u << 20)
#define IDLE_END_NS (3000ull * 1000 * 1000)
#define FOREIGN_FRAMES 5u

static void test_url_ok(const char *url, bool allow0, uint32_t ip, uint16_t port)
{
    struct dp_endpoint ep = {0};
    struct nr_err err = {0};
    char back[DP_ENDPOINT_STR_LEN];

    int rc = dp_url_parse(url, allow0, &ep, &err);
    UNIT_CHECK(rc == 0 && ep.ipv4 == ip && ep.port == port, "\"%s\": rc %d %08x:%u %s", url, rc,
               ep.ipv4, ep.port, err.msg);
    UNIT_CHECK(rc != 0 || strcmp(dp_endpoint_format(&ep, back, sizeof(back)), url) == 0,
               "\"%s\" formats back as \"%s\"", url, back);
}

static void test_url_bad(const char *url, bool allow0, const char *says)
{
    struct dp_endpoint ep = {0};
    struct nr_err err = {0};

    int rc = dp_url_parse(url, allow0, &ep, &err);
    UNIT_CHECK(rc == NR_EINVAL && err.code == NR_EINVAL && strstr(err.msg, says) != NULL,
               "\"%s\": rc %d, want an error saying \"%s\": \"%s\"", url ? url : "(null)", rc, says,
               err.msg);
}

static void test_urls(void)
{
    test_url_ok("udp://127.0.0.1:7000", false, 0x7f000001u, 7000);
    test_url_ok("udp://198.18.0.10:65535", false, 0xc612000au, 65535);
    test_url_ok("udp://0.0.0.0:1", false, 0, 1);
    test_url_ok("udp://255.255.255.255:80", false, 0xffffffffu, 80);
    test_url_ok("udp://10.0.0.1:0", true, 0x0a000001u, 0);
    test_url_bad("udp://10.0.0.1:0", false, "port");
    test_url_bad(NULL, false, "missing");
    test_url_bad("", false, "udp://");
    test_url_bad("http://1.2.3.4:5", false, "does not start with udp://");
    test_url_bad("UDP://1.2.3.4:5", false, "does not start with udp://");
    test_url_bad("udp://1.2.3:5", false, "'.' missing after octet 3");
    test_url_bad("udp://1.2.3.4.5:6", false, "':PORT'");
    test_url_bad("udp://256.1.1.1:5", false, "octet 1");
    test_url_bad("udp://1.2.3.1000:5", false, "octet 4");
    test_url_bad("udp://01.2.3.4:5", false, "octet 1");
    test_url_bad("udp://1.2.3.4", false, "':PORT'");
    test_url_bad("udp://1.2.3.4:", false, "port");
    test_url_bad("udp://1.2.3.4:65536", false, "port");
    test_url_bad("udp://1.2.3.4:123456", false, "port");
    test_url_bad("udp://1.2.3.4:0080", false, "port");
    test_url_bad("udp://1.2.3.4:+80", false, "port");
    test_url_bad("udp://1.2.3.4:80/x", false, "unexpected \"/x\"");
    test_url_bad("udp://1.2.3.4:80 ", false, "unexpected");
    test_url_bad("udp://localhost:80", false, "octet 1");
    test_url_bad("udp://[::1]:80", false, "octet 1");
    test_url_bad("udp:// 1.2.3.4:80", false, "octet 1");
    test_url_bad("udp://1.2.3.4:80:81", false, "unexpected");
    test_url_bad("udp://1.2.3.4:8000000000000000000000000000000000000000000000000000000000000",
                 false, "longer than");
}

static struct dp_udp_config config_mtu(uint64_t cluster, uint64_t self, uint32_t mtu);

static struct dp_udp_config config(uint64_t cluster, uint64_t self)
{
    return config_mtu(cluster, self, DP_MTU_DEFAULT);
}

static struct dp_udp_config config_mtu(uint64_t cluster, uint64_t self, uint32_t mtu)
{
    struct dp_udp_config c = {
            .bind = {.ipv4 = 0x7f000001u, .port = 0},
            .cluster_id = cluster,
            .self_id = self,
            .mtu = DP_MTU_DEFAULT,
            .batch_max = 32,
            .sock_buf_bytes = 8u << 20,
            .reasm = {.n_slots = 8, .msg_len_max = 256u << 10, .timeout_ns = 2000000000ull},
    };
    return c;
}

static void test_config(void)
{
    struct dp_udp *u = NULL;
    struct nr_err err = {0};
    struct dp_udp_config c = config(CU_CLUSTER, CU_ALICE);

    c.mtu = 100;
    UNIT_CHECK(dp_udp_create(&c, &u, &err) == NR_EINVAL && strstr(err.msg, "mtu 100"),
               "mtu 100: \"%s\"", err.msg);
    c = config(CU_CLUSTER, CU_ALICE);
    c.batch_max = 0;
    UNIT_CHECK(dp_udp_create(&c, &u, &err) == NR_EINVAL && strstr(err.msg, "batch_max"),
               "batch 0: \"%s\"", err.msg);
    c = config(0, CU_ALICE);
    UNIT_CHECK(dp_udp_create(&c, &u, &err) == NR_EINVAL && strstr(err.msg, "cluster_id"),
               "cluster 0: \"%s\"", err.msg);
    c = config(CU_CLUSTER, CU_ALICE);
    c.bind.ipv4 = 0xc6120063u; /* 198.18.0.99: on no interface of a test host */
    UNIT_CHECK(dp_udp_create(&c, &u, &err) == NR_EIO && strstr(err.msg, "bind udp://198.18."),
               "bind to a foreign address: \"%s\"", err.msg);
    c = config(CU_CLUSTER, CU_ALICE);
    c.reasm.n_slots = 0;
    UNIT_CHECK(dp_udp_create(&c, &u, &err) == NR_EINVAL && strstr(err.msg, "n_slots"),
               "reassembly config: \"%s\"", err.msg);
}

/* Message seq: its length, and the bytes after the 4-byte seq. */
static uint32_t len_of(uint32_t seq)
{
    if (seq % 997 == 5)
        return 20000 + (seq * 7919u) % 60000; /* fragmented */
    if (seq % 7 == 3)
        return 1024;
    return 4 + (seq * 31u) % 200;
}

struct side {
    struct dp_udp *u;
    struct dp_endpoint peer;
    uint64_t peer_id;
    bool echo;
    uint8_t *seen; /* N_MSGS flags */
    uint64_t n_ok, n_bad, n_dup, bytes;
};

static bool msg_ok(const struct dp_msg *m, uint32_t *seq)
{
    if (m->len < 4 || m->group_id != CU_GROUP)
        return false;
    *seq = nr_get_le32(m->data);
    return *seq < N_MSGS && m->len == len_of(*seq) && m->kind == (uint16_t)(*seq * 3) &&
           cu_check(m->data + 4, m->len - 4, *seq);
}

static void on_msg(void *ctx, const struct dp_msg *m)
{
    struct side *s = ctx;
    struct nr_err err;
    uint32_t seq = 0;

    if (!msg_ok(m, &seq)) {
        s->n_bad++;
        return;
    }
    if (s->seen[seq]) {
        s->n_dup++;
        return;
    }
    s->seen[seq] = 1;
    s->n_ok++;
    s->bytes += m->len;
    /* Echo: a full send buffer is waited out (bounded), never dropped. */
    for (int i = 0; s->echo && i < 100000; i++) {
        int rc = dp_udp_send(s->u, &s->peer, s->peer_id, CU_GROUP, m->kind, m->data, m->len, &err);
        if (rc != NR_EBUSY)
            break;
        (void)dp_udp_flush(s->u, &err);
    }
}

struct report {
    uint64_t n_ok, n_bad, n_dup;
    uint64_t rx_reassembled, tx_frames, tx_msgs;
    uint64_t drops[DP_DROP_COUNT];
};

static void bob_run(struct side *s, int fd)
{
    struct nr_err err;
    struct report rep = {0};
    uint64_t last_rx = dp_udp_now_ns();

    for (;;) { /* bounded: all messages, or IDLE_END_NS of silence */
        uint64_t now = dp_udp_now_ns();
        int n = dp_udp_poll(s->u, now, on_msg, s, &err);
        (void)dp_udp_flush(s->u, &err);
        if (n > 0)
            last_rx = now;
        if (n < 0 || s->n_ok == N_MSGS || now - last_rx > IDLE_END_NS)
            break;
        if (n == 0)
            (void)dp_udp_wait(s->u, 1, &err);
    }
    for (int i = 0; i < 1000 && dp_udp_pending(s->u) > 0; i++)
        (void)dp_udp_flush(s->u, &err);
    const struct dp_stats *st = dp_udp_stats(s->u);
    rep.n_ok = s->n_ok;
    rep.n_bad = s->n_bad;
    rep.n_dup = s->n_dup;
    rep.rx_reassembled = st->rx_reassembled;
    rep.tx_frames = st->tx_frames;
    rep.tx_msgs = st->tx_msgs;
    memcpy(rep.drops, st->drops, sizeof(rep.drops));
    if (write(fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
        _exit(3);
    _exit(0);
}

static void send_foreign(const struct dp_endpoint *bob)
{
    struct dp_udp *f = NULL;
    struct nr_err err = {0};
    struct dp_udp_config c = config(CU_CLUSTER + 1, CU_ALICE);

    UNIT_CHECK(dp_udp_create(&c, &f, &err) == 0, "foreign socket: %s", err.msg);
    if (f == NULL)
        return;
    for (uint32_t i = 0; i < FOREIGN_FRAMES; i++) {
        (void)dp_udp_send(f, bob, CU_BOB, CU_GROUP, 1, "intruder", 8, &err);
        (void)dp_udp_flush(f, &err);
    }
    dp_udp_destroy(f);
}

/* Alice: at most WINDOW_MSGS messages / WINDOW_BYTES bytes unechoed. */
static void alice_run(struct side *s, uint8_t *buf)
{
    struct nr_err err;
    uint32_t sent = 0;
    uint64_t sent_bytes = 0, progress = dp_udp_now_ns(), last_ok = 0;

    while (s->n_ok < N_MSGS) { /* bounded: ends after IDLE_END_NS without progress */
        while (sent < N_MSGS && sent - s->n_ok < WINDOW_MSGS &&
               sent_bytes - s->bytes < WINDOW_BYTES) {
            uint32_t len = len_of(sent);
            nr_put_le32(buf, sent);
            cu_fill(buf + 4, len - 4, sent);
            int rc = dp_udp_send(s->u, &s->peer, s->peer_id, CU_GROUP, (uint16_t)(sent * 3), buf,
                                 len, &err);
            if (rc == NR_EBUSY)
                break;
            UNIT_CHECK(rc == 0, "send %u: %s", sent, err.msg);
            sent++;
            sent_bytes += len;
        }
        (void)dp_udp_flush(s->u, &err);
        uint64_t now = dp_udp_now_ns();
        if (dp_udp_poll(s->u, now, on_msg, s, &err) == 0)
            (void)dp_udp_wait(s->u, 1, &err);
        if (s->n_ok > last_ok) {
            last_ok = s->n_ok;
            progress = now;
        } else if (now - progress > IDLE_END_NS) {
            break;
        }
    }
}

static void test_exchange(uint32_t mtu)
{
    struct dp_udp *a = NULL, *b = NULL;
    struct nr_err err = {0};
    struct dp_udp_config ca = config_mtu(CU_CLUSTER, CU_ALICE, mtu);
    struct dp_udp_config cb = config_mtu(CU_CLUSTER, CU_BOB, mtu);
    int fds[2];

    if (dp_udp_create(&ca, &a, &err) != 0 || dp_udp_create(&cb, &b, &err) != 0 || pipe(fds) != 0) {
        UNIT_CHECK(false, "setup: %s", err.msg);
        return;
    }
    struct dp_endpoint ea = dp_udp_local(a), eb = dp_udp_local(b);
    UNIT_CHECK(ea.port != 0 && eb.port != 0 && ea.port != eb.port, "kernel-picked ports");
    uint8_t *seen = calloc(N_MSGS, 1), *buf = malloc(1u << 17);
    pid_t pid = fork();
    if (pid == 0) {
        struct side sb = {.u = b, .peer = ea, .peer_id = CU_ALICE, .echo = true, .seen = seen};
        close(fds[0]);
        bob_run(&sb, fds[1]);
    }
    close(fds[1]);
    send_foreign(&eb);
    struct side sa = {.u = a, .peer = eb, .peer_id = CU_BOB, .seen = seen};
    alice_run(&sa, buf);
    struct report rep = {0};
    ssize_t r = read(fds[0], &rep, sizeof(rep));
    int status = -1;
    waitpid(pid, &status, 0);
    UNIT_CHECK(r == (ssize_t)sizeof(rep) && WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "Bob's process reported (status %d)", status);
    const struct dp_stats *st = dp_udp_stats(a);
    printf("exchange at mtu %u: %u messages each way; Alice sent %llu frames for %llu "
           "messages, Bob %llu for %llu; %llu reassembled by Bob, %llu by Alice\n",
           mtu, N_MSGS, (unsigned long long)st->tx_frames, (unsigned long long)st->tx_msgs,
           (unsigned long long)rep.tx_frames, (unsigned long long)rep.tx_msgs,
           (unsigned long long)rep.rx_reassembled, (unsigned long long)st->rx_reassembled);
    UNIT_CHECK(rep.n_ok == N_MSGS && rep.n_bad == 0 && rep.n_dup == 0,
               "Bob: %llu ok, %llu bad, %llu duplicates of %u", (unsigned long long)rep.n_ok,
               (unsigned long long)rep.n_bad, (unsigned long long)rep.n_dup, N_MSGS);
    UNIT_CHECK(sa.n_ok == N_MSGS && sa.n_bad == 0 && sa.n_dup == 0,
               "Alice's echoes: %llu ok, %llu bad, %llu duplicates", (unsigned long long)sa.n_ok,
               (unsigned long long)sa.n_bad, (unsigned long long)sa.n_dup);
    UNIT_CHECK(st->tx_msgs == N_MSGS && st->tx_frames < N_MSGS / 2,
               "Alice batched: %llu frames for %llu messages", (unsigned long long)st->tx_frames,
               (unsigned long long)st->tx_msgs);
    UNIT_CHECK(rep.rx_reassembled > 0 && rep.rx_reassembled == st->rx_reassembled,
               "fragmented messages reassembled both ways: %llu and %llu",
               (unsigned long long)rep.rx_reassembled, (unsigned long long)st->rx_reassembled);
    UNIT_CHECK(rep.drops[DP_DROP_OTHER_CLUSTER] == FOREIGN_FRAMES,
               "Bob dropped %llu frames of another cluster, want %u",
               (unsigned long long)rep.drops[DP_DROP_OTHER_CLUSTER], FOREIGN_FRAMES);
    uint64_t other = 0;
    for (unsigned i = 0; i < DP_DROP_COUNT; i++)
        other += i == DP_DROP_OTHER_CLUSTER ? 0 : rep.drops[i] + st->drops[i];
    UNIT_CHECK(other == 0 && st->tx_dropped == 0, "no other drops (%llu)",
               (unsigned long long)other);
    free(seen);
    free(buf);
    close(fds[0]);
    dp_udp_destroy(a);
    dp_udp_destroy(b);
}

int main(void)
{
    test_urls();
    test_config();
    test_exchange(DP_MTU_DEFAULT);
    test_exchange(9000);
    return unit_finish();
}
