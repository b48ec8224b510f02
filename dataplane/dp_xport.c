/* dp_xport.c - one message transport over kernel UDP or DPDK (dp_xport.h).
 * Start-up code (EAL arguments, sockets, the port) may allocate; send,
 * flush, poll and wait do not. */
#include "dp_xport.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "dp_lcore.h"
#include "dp_link.h"
#include "dp_port.h"

#define UDP_BATCH_DEFAULT 64u
#define EAL_STORE_LEN (DP_XPORT_EAL_ARGS_LEN_MAX + 256u)
#define EAL_ARGV_MAX (DP_XPORT_EAL_WORDS_MAX + 6)

struct dp_xport {
    struct dp_xport_config cfg;
    int epfd;                 /* wake-up: UDP sockets' epolls, or AF_PACKET sockets; or -1 */
    uint32_t n_empty;         /* dp_xport_wait calls since the last work */
    uint32_t sleep_us;        /* the next sleep without a wake-up fd */
    uint64_t tx_busy;
    uint64_t waits, wait_yields, wait_blocks, wait_wakeups;
    /* UDP */
    struct dp_udp *udp[DP_XPORT_LOCAL_MAX];
    /* DPDK */
    struct dp_port port;
    struct dp_lcore lc[1];    /* dp_lcore_link takes an array: one poller today */
    struct dp_link *link;
    bool is_eal_up;
};

/* rte_eal_init runs once per process, and cannot be retried after a failure. */
static bool g_eal_tried;

uint64_t dp_xport_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- EAL arguments ---- */

static bool word_is_opt(const char *w, const char *short_opt, const char *long_opt)
{
    size_t n = strlen(long_opt);
    if (short_opt != NULL && strncmp(w, short_opt, strlen(short_opt)) == 0)
        return true;
    return strncmp(w, long_opt, n) == 0 && (w[n] == '\0' || w[n] == '=');
}

static int eal_word_add(char *store, uint32_t store_len, uint32_t *used, char **argv,
                        int argv_max, int *argc, const char *a, const char *b, uint32_t b_len,
                        struct nr_err *err)
{
    uint32_t a_len = (uint32_t)strlen(a);
    if (*argc + 1 >= argv_max || *used + a_len + b_len + 1 > store_len)
        return nr_errf(err, NR_EINVAL, "dpdk args: more than %d words or %" PRIu32 " bytes",
                       argv_max - 1, store_len);
    char *w = store + *used;
    memcpy(w, a, a_len);
    memcpy(w + a_len, b, b_len);
    w[a_len + b_len] = '\0';
    *used += a_len + b_len + 1;
    argv[(*argc)++] = w;
    argv[*argc] = NULL;
    return 0;
}

int dp_xport_eal_split(const char *args, const char *lcores, const char *file_prefix,
                       char *store, uint32_t store_len, char **argv, int argv_max, int *argc,
                       struct nr_err *err)
{
    uint32_t used = 0;
    uint32_t n_words = 0;
    int rc;

    *argc = 0;
    if (args == NULL)
        args = "";
    size_t len = strlen(args);
    if (len > DP_XPORT_EAL_ARGS_LEN_MAX)
        return nr_errf(err, NR_EINVAL, "dpdk args: %zu bytes, at most %u", len,
                       DP_XPORT_EAL_ARGS_LEN_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)args[i];
        if (c == '"' || c == '\'' || c == '\\' || c < 0x20 || c == 0x7f)
            return nr_errf(err, NR_EINVAL,
                           "dpdk args: character 0x%02x at offset %zu: words are split on "
                           "spaces, without quoting or control characters",
                           c, i);
    }
    rc = eal_word_add(store, store_len, &used, argv, argv_max, argc, "nicraftd", "", 0, err);
    if (rc == 0 && lcores != NULL)
        rc = eal_word_add(store, store_len, &used, argv, argv_max, argc, "-l", lcores,
                          (uint32_t)strlen(lcores), err);
    if (rc == 0 && file_prefix != NULL)
        rc = eal_word_add(store, store_len, &used, argv, argv_max, argc, "--file-prefix=",
                          file_prefix, (uint32_t)strlen(file_prefix), err);
    for (const char *p = args; rc == 0 && *p != '\0';) { /* bounded by len */
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        const char *end = strchr(p, ' ');
        uint32_t w_len = end != NULL ? (uint32_t)(end - p) : (uint32_t)strlen(p);
        if (++n_words > DP_XPORT_EAL_WORDS_MAX)
            return nr_errf(err, NR_EINVAL, "dpdk args: more than %u words",
                           DP_XPORT_EAL_WORDS_MAX);
        rc = eal_word_add(store, store_len, &used, argv, argv_max, argc, "", p, w_len, err);
        if (rc != 0)
            break;
        const char *w = argv[*argc - 1];
        if (lcores != NULL && (word_is_opt(w, "-l", "--lcores") || word_is_opt(w, "-c", "-c")))
            return nr_errf(err, NR_EINVAL,
                           "dpdk args: '%s' names lcores, and --lcores gave '%s' already", w,
                           lcores);
        if (file_prefix != NULL && word_is_opt(w, NULL, "--file-prefix"))
            return nr_errf(err, NR_EINVAL,
                           "dpdk args: '%s' names the file prefix, and '%s' was given already", w,
                           file_prefix);
        p += w_len;
    }
    return rc;
}

/* The line of the EAL's output that says what it refused: the first one
 * naming an error, else the first non-empty one. */
static void eal_complaint(const char *text, char *out, size_t out_len)
{
    static const char *const words[] = {"unrecognized", "invalid", "Invalid", "error", "Error",
                                        "cannot", "Cannot", "failed", "requires", "missing",
                                        "unknown", "not "};
    const char *first = NULL, *best = NULL;
    size_t first_len = 0, best_len = 0;

    for (const char *p = text; *p != '\0' && best == NULL;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (n > 0 && first == NULL)
            first = p, first_len = n;
        for (size_t k = 0; k < sizeof(words) / sizeof(words[0]) && best == NULL; k++) {
            const char *hit = strstr(p, words[k]);
            if (hit != NULL && hit < p + n)
                best = p, best_len = n;
        }
        p += n + (nl != NULL ? 1 : 0);
    }
    if (best == NULL)
        best = first, best_len = first_len;
    if (best == NULL)
        best = "(no output)", best_len = strlen(best);
    if (best_len > 160)
        best_len = 160;
    snprintf(out, out_len, "%.*s", (int)best_len, best);
}

/* rte_eal_init with the process's stdout and stderr captured (start-up
 * only), so that a refusal carries the EAL's own complaint; the output is
 * then written to stderr as the EAL would have. */
static int eal_init_captured(int argc, char **argv, const char *args, struct nr_err *err)
{
    char text[4096];
    size_t n_text = 0;

    fflush(stdout);
    fflush(stderr);
    FILE *cap = tmpfile();
    int saved_out = cap != NULL ? dup(STDOUT_FILENO) : -1;
    int saved_err = cap != NULL ? dup(STDERR_FILENO) : -1;
    bool is_captured = cap != NULL && saved_out >= 0 && saved_err >= 0 &&
                       dup2(fileno(cap), STDOUT_FILENO) >= 0 &&
                       dup2(fileno(cap), STDERR_FILENO) >= 0;
    int rc = rte_eal_init(argc, argv);
    int eal_errno = rte_errno;
    fflush(stdout);
    fflush(stderr);
    if (saved_out >= 0) {
        dup2(saved_out, STDOUT_FILENO);
        close(saved_out);
    }
    if (saved_err >= 0) {
        dup2(saved_err, STDERR_FILENO);
        close(saved_err);
    }
    text[0] = '\0';
    if (is_captured) {
        rewind(cap);
        n_text = fread(text, 1, sizeof(text) - 1, cap);
        text[n_text] = '\0';
        fwrite(text, 1, n_text, stderr);
    }
    if (cap != NULL)
        fclose(cap);
    if (rc >= 0)
        return 0;
    char complaint[200];
    eal_complaint(text, complaint, sizeof(complaint));
    return nr_errf(err, NR_EINVAL, "dpdk args '%s' refused by rte_eal_init: %s (%s)", args,
                   complaint, rte_strerror(eal_errno));
}

/* ---- Wake-up descriptors ---- */

static int epoll_add(int epfd, int fd, struct nr_err *err)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return nr_errf(err, NR_EIO, "transport: epoll_ctl add fd %d: %s", fd, strerror(errno));
    return 0;
}

/* ---- Creation ---- */

static int check_config(const struct dp_xport_config *cfg, struct nr_err *err)
{
    if (cfg->kind != DP_XPORT_UDP && cfg->kind != DP_XPORT_DPDK)
        return nr_errf(err, NR_EINVAL, "transport: kind %d is neither udp nor dpdk",
                       (int)cfg->kind);
    if (cfg->n_local < 1 || cfg->n_local > DP_XPORT_LOCAL_MAX)
        return nr_errf(err, NR_EINVAL, "transport: %" PRIu32 " local endpoints, want 1..%u",
                       cfg->n_local, DP_XPORT_LOCAL_MAX);
    if (cfg->mtu != 0 && (dp_frame_cap_for_mtu(cfg->mtu) == 0 || cfg->mtu > DP_NET_MTU_MAX))
        return nr_errf(err, NR_EINVAL, "transport: mtu %" PRIu32 " is outside %u..%u", cfg->mtu,
                       DP_MTU_MIN, DP_NET_MTU_MAX);
    if (cfg->kind == DP_XPORT_UDP)
        return 0;
    for (uint32_t i = 0; i < cfg->n_local; i++) {
        char a[DP_ENDPOINT_STR_LEN], b[DP_ENDPOINT_STR_LEN];
        if (cfg->local[i].ipv4 == 0 || cfg->local[i].port == 0 ||
            cfg->local[i].ipv4 != cfg->local[0].ipv4)
            return nr_errf(err, NR_EINVAL,
                           "dpdk transport: local endpoint %s: every local endpoint needs the "
                           "port's one address (here %s) and a non-zero port",
                           dp_endpoint_format(&cfg->local[i], a, sizeof(a)),
                           dp_endpoint_format(&cfg->local[0], b, sizeof(b)));
    }
    return 0;
}

static int create_udp(struct dp_xport *x, struct nr_err *err)
{
    x->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (x->epfd < 0)
        return nr_errf(err, NR_EIO, "udp transport: epoll_create1: %s", strerror(errno));
    for (uint32_t i = 0; i < x->cfg.n_local; i++) {
        struct dp_udp_config uc = {.bind = x->cfg.local[i], .cluster_id = x->cfg.cluster_id,
                                   .self_id = x->cfg.self_id, .mtu = x->cfg.mtu,
                                   .batch_max = x->cfg.batch_max,
                                   .sock_buf_bytes = x->cfg.sock_buf_bytes,
                                   .reasm = x->cfg.reasm, .local_idx = (uint16_t)i};
        int rc = dp_udp_create(&uc, &x->udp[i], err);
        if (rc == 0)
            rc = epoll_add(x->epfd, dp_udp_epoll_fd(x->udp[i]), err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int create_dpdk(struct dp_xport *x, struct nr_err *err)
{
    static char store[EAL_STORE_LEN];
    static char *argv[EAL_ARGV_MAX];
    int argc = 0;

    if (g_eal_tried)
        return nr_errf(err, NR_EBUSY, "dpdk transport: the EAL was set up already in this "
                                      "process (one DPDK transport per process)");
    int rc = dp_xport_eal_split(x->cfg.eal_args, x->cfg.lcores, x->cfg.file_prefix, store,
                                sizeof(store), argv, EAL_ARGV_MAX, &argc, err);
    if (rc != 0)
        return rc;
    g_eal_tried = true;
    rc = eal_init_captured(argc, argv, x->cfg.eal_args != NULL ? x->cfg.eal_args : "", err);
    if (rc != 0)
        return rc;
    x->is_eal_up = true;
    struct dp_port_conf pc = {.file_prefix = x->cfg.file_prefix, .lcores = x->cfg.lcores,
                              .vdev = x->cfg.eal_args, .n_pollers = 1,
                              .n_mbufs = x->cfg.n_mbufs, .mtu = (uint16_t)x->cfg.mtu};
    rc = dp_port_open(&x->port, &pc, err);
    if (rc != 0)
        return rc;
    struct dp_link_config lc = {.port = &x->port, .lc = &x->lc[0], .index = 0,
                                .ipv4 = x->cfg.local[0].ipv4, .n_local = x->cfg.n_local,
                                .cluster_id = x->cfg.cluster_id, .self_id = x->cfg.self_id,
                                .mtu = x->cfg.mtu, .reasm = x->cfg.reasm, .idle = x->cfg.idle,
                                .idle_wait_fd = -1};
    for (uint32_t i = 0; i < x->cfg.n_local; i++)
        lc.local_ports[i] = x->cfg.local[i].port;
    rc = dp_link_create(&lc, &x->link, err);
    if (rc != 0)
        return rc;
    /* Block on the PMD's sockets when idle, where it has them. */
    x->epfd = dp_port_rx_wait_fd(&x->port, NULL); /* -1: none, sleep when idle */
    return 0;
}

int dp_xport_create(const struct dp_xport_config *cfg, struct dp_xport **out, struct nr_err *err)
{
    int rc = check_config(cfg, err);
    if (rc != 0)
        return rc;
    struct dp_xport *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return nr_errf(err, NR_ENOMEM, "transport: out of memory");
    x->cfg = *cfg;
    x->cfg.eal_args = NULL; /* borrowed strings: used during create only */
    x->cfg.lcores = NULL;
    x->cfg.file_prefix = NULL;
    x->epfd = -1;
    if (x->cfg.mtu == 0)
        x->cfg.mtu = DP_MTU_DEFAULT;
    if (x->cfg.batch_max == 0)
        x->cfg.batch_max = UDP_BATCH_DEFAULT;
    if (x->cfg.idle.sleep_us_min == 0)
        dp_idle_conf_default(&x->cfg.idle, cfg->idle.policy);
    struct dp_idle probe;
    rc = dp_idle_init(&probe, &x->cfg.idle, -1, err);
    x->sleep_us = x->cfg.idle.sleep_us_min;
    if (rc == 0 && cfg->kind == DP_XPORT_UDP) {
        rc = create_udp(x, err);
    } else if (rc == 0) {
        struct dp_xport_config with_strings = x->cfg;
        with_strings.eal_args = cfg->eal_args;
        with_strings.lcores = cfg->lcores;
        with_strings.file_prefix = cfg->file_prefix;
        x->cfg = with_strings;
        rc = create_dpdk(x, err);
        x->cfg.eal_args = x->cfg.lcores = x->cfg.file_prefix = NULL;
    }
    if (rc != 0) {
        dp_xport_destroy(x);
        return rc;
    }
    *out = x;
    return 0;
}

void dp_xport_destroy(struct dp_xport *x)
{
    if (x == NULL)
        return;
    if (x->epfd >= 0)
        close(x->epfd);
    for (uint32_t i = 0; i < DP_XPORT_LOCAL_MAX; i++)
        dp_udp_destroy(x->udp[i]);
    if (x->cfg.kind == DP_XPORT_DPDK) {
        dp_link_destroy(x->link);
        dp_port_close(&x->port);
        struct nr_err e;
        if (x->is_eal_up && dp_eal_fini(&e) != 0)
            fprintf(stderr, "%s\n", e.msg);
    }
    free(x);
}

struct dp_endpoint dp_xport_local(const struct dp_xport *x, uint32_t local_idx)
{
    NR_ASSERT(local_idx < x->cfg.n_local);
    if (x->cfg.kind == DP_XPORT_UDP)
        return dp_udp_local(x->udp[local_idx]);
    return x->cfg.local[local_idx];
}

bool dp_xport_has_wake_fd(const struct dp_xport *x)
{
    return x->epfd >= 0;
}

/* ---- The fast path ---- */

int dp_xport_send(struct dp_xport *x, uint32_t local_idx, const struct dp_endpoint *dst,
                  uint64_t receiver_id, uint32_t group_id, uint16_t kind, const void *data,
                  uint32_t len, struct nr_err *err)
{
    int rc;

    x->n_empty = 0;
    if (x->cfg.kind == DP_XPORT_DPDK) {
        rc = dp_link_send(x->link, local_idx, dst, receiver_id, group_id, kind, data, len, err);
    } else {
        if (local_idx >= x->cfg.n_local)
            return nr_errf(err, NR_EINVAL, "udp transport: local endpoint %" PRIu32 " of %" PRIu32,
                           local_idx, x->cfg.n_local);
        rc = dp_udp_send(x->udp[local_idx], dst, receiver_id, group_id, kind, data, len, err);
    }
    if (rc == NR_EBUSY)
        x->tx_busy++;
    return rc;
}

int dp_xport_flush(struct dp_xport *x, struct nr_err *err)
{
    if (x->cfg.kind == DP_XPORT_DPDK)
        return dp_link_flush(x->link, err);
    int rc = 0;
    for (uint32_t i = 0; i < x->cfg.n_local; i++) {
        int r = dp_udp_flush(x->udp[i], err);
        if (r != 0 && (rc == 0 || r == NR_EIO))
            rc = r;
    }
    return rc;
}

int dp_xport_poll(struct dp_xport *x, uint64_t now_ns, dp_msg_fn *fn, void *ctx,
                  struct nr_err *err)
{
    int delivered = 0;

    if (x->cfg.kind == DP_XPORT_DPDK) {
        delivered = (int)dp_link_poll(x->link, now_ns, fn, ctx);
    } else {
        for (uint32_t i = 0; i < x->cfg.n_local; i++) {
            int n = dp_udp_poll(x->udp[i], now_ns, fn, ctx, err);
            if (n < 0)
                return n;
            delivered += n;
        }
    }
    if (delivered > 0)
        x->n_empty = 0;
    return delivered;
}

/* Blocks on the wake-up fd for up to timeout_us; 1 when traffic waits. */
static int wait_fd(struct dp_xport *x, uint32_t timeout_us, struct nr_err *err)
{
    struct epoll_event ev[4];
    struct timespec ts = {.tv_sec = timeout_us / 1000000u,
                          .tv_nsec = (long)(timeout_us % 1000000u) * 1000};

    int n = epoll_pwait2(x->epfd, ev, 4, &ts, NULL);
    if (n < 0 && errno == ENOSYS) /* kernels before 5.11: millisecond steps */
        n = epoll_wait(x->epfd, ev, 4, (int)((timeout_us + 999) / 1000));
    if (n < 0 && errno == EINTR)
        return 0;
    if (n < 0)
        return nr_errf(err, NR_EIO, "transport: epoll wait: %s", strerror(errno));
    for (int i = 0; i < n; i++)
        if ((ev[i].events & EPOLLIN) != 0) {
            x->wait_wakeups++;
            return 1;
        }
    if (n > 0) { /* an error condition only (a link down): do not spin on it */
        struct timespec sl = {.tv_sec = 0, .tv_nsec = (long)x->cfg.idle.sleep_us_max * 1000};
        nanosleep(&sl, NULL);
    }
    return 0;
}

int dp_xport_wait(struct dp_xport *x, uint32_t timeout_us, struct nr_err *err)
{
    const struct dp_idle_conf *c = &x->cfg.idle;

    x->waits++;
    if (c->policy == DP_IDLE_BUSY || timeout_us == 0)
        return 0;
    if (x->n_empty < UINT32_MAX)
        x->n_empty++;
    if (x->n_empty <= c->spin_polls)
        return 0;
    if (x->n_empty <= c->spin_polls + c->yield_polls) {
        x->wait_yields++;
        sched_yield();
        return 0;
    }
    x->wait_blocks++;
    if (x->epfd >= 0)
        return wait_fd(x, timeout_us, err);
    uint32_t us = x->sleep_us < timeout_us ? x->sleep_us : timeout_us;
    struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    x->sleep_us = x->sleep_us * 2 > c->sleep_us_max ? c->sleep_us_max : x->sleep_us * 2;
    return 0;
}

static void stats_add(struct dp_stats *sum, const struct dp_stats *s)
{
    sum->rx_frames += s->rx_frames;
    sum->rx_msgs += s->rx_msgs;
    sum->rx_frags += s->rx_frags;
    sum->rx_reassembled += s->rx_reassembled;
    sum->tx_frames += s->tx_frames;
    sum->tx_msgs += s->tx_msgs;
    sum->tx_dropped += s->tx_dropped;
    for (uint32_t r = 0; r < DP_DROP_COUNT; r++)
        sum->drops[r] += s->drops[r];
}

void dp_xport_stats(const struct dp_xport *x, struct dp_xport_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->tx_busy = x->tx_busy;
    out->waits = x->waits;
    out->wait_yields = x->wait_yields;
    out->wait_blocks = x->wait_blocks;
    out->wait_wakeups = x->wait_wakeups;
    if (x->cfg.kind == DP_XPORT_UDP) {
        for (uint32_t i = 0; i < x->cfg.n_local; i++)
            stats_add(&out->codec, dp_udp_stats(x->udp[i]));
        return;
    }
    const struct dp_lcore *lc = dp_link_lcore(x->link);
    out->codec = *dp_link_stats(x->link);
    out->nic_rx_frames = lc->n_rx_frames;
    out->nic_tx_frames = lc->n_tx_frames;
    out->no_neigh = lc->n_no_neigh;
    out->tx_full = lc->n_tx_full;
    out->no_mbuf = lc->n_no_mbuf;
    out->arp_replied = lc->net.n_arp_replied;
    out->arp_learned = lc->net.n_arp_learned;
    out->icmp_replied = lc->net.n_icmp_replied;
    memcpy(out->net_drops, lc->net.drops, sizeof(out->net_drops));
}

void dp_xport_set_self(struct dp_xport *x, uint64_t self_id)
{
    NR_ASSERT(self_id != 0);
    x->cfg.self_id = self_id;
    for (uint32_t i = 0; i < DP_XPORT_LOCAL_MAX; i++)
        if (x->udp[i] != NULL)
            dp_udp_set_self(x->udp[i], self_id);
    if (x->link != NULL)
        dp_link_set_self(x->link, self_id);
}

int dp_xport_add_wake_fd(struct dp_xport *x, int fd, struct nr_err *err)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

    if (x->epfd < 0)
        return nr_errf(err, NR_EINVAL, "this transport has no wake-up descriptor to add fd %d to",
                       fd);
    if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return nr_errf(err, NR_EIO, "epoll_ctl(ADD %d): %s", fd, strerror(errno));
    return 0;
}
