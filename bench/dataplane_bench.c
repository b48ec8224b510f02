/* dataplane_bench.c - messages/s and round trips of the dataplane between two
 * processes (issue 5), against the raw rate of the same transport.
 *
 * For each transport (net_af_packet and net_af_xdp on veths in namespaces made
 * by deploy/netns.sh, net_memif, kernel UDP on loopback), each message size
 * (64 B, 1 KiB) and each idle policy (busy, adaptive), one sender and one
 * receiver process run, in turn:
 *   - rtt: ping-pong of one message, p50/p99, back to back;
 *   - wake: the same after 5 ms of silence (the echo side has gone idle):
 *     what `adaptive` costs once it has blocked;
 *   - raw and nicraft phases, alternating, raw first and last: raw is a
 *     plain burst sender and receiver of frames of the size nicraft's
 *     frame for one message alone takes (the "same-size frames":
 *     Ethernet/IPv4/UDP, nicraft and record headers, the message; for UDP
 *     datagrams of that size less Ethernet/IPv4/UDP), with no nicraft
 *     logic, busy: frames/s at the receiver;
 *     nicraft is dp_lcore + dp_net + dp_frame (messages batched into frames
 *     up to the MTU, CRC32C, decode, filter): messages/s at the receiver.
 *     The ratio of each nicraft phase is taken against the raw phases
 *     either side of it, in the same two processes; the line gives the
 *     median and the range.
 * The two processes are pinned apart (EAL -l 0 / -l 1: two vCPUs). The
 * orchestrator re-executes this program with --role rx|tx in the right
 * namespace and reads one `result ...` line from each.
 *
 * Usage: dataplane-bench [--quick] [--seconds S] [--rounds N] [--transports a,b]
 *                        [--size N] [--netns PATH] [--check]
 *   --seconds: each phase (2; --quick 0.25); --rounds: nicraft phases (3);
 *   --check: exit 1 unless every case measured a non-zero rate (smoke test).
 * One line per case:
 *   transport=... size=... idle=... msgs_per_s=... rtt_p50_us=... rtt_p99_us=...
 *   raw_frames_per_s=... ratio=... ratio_range=lo-hi wake_p50_us=... wake_p99_us=...
 *   frames_per_s=... rx_idle_yields=... rx_idle_blocks=... (the receiver's idle
 *   steps while nicraft streamed: adaptive yielding or blocking with traffic
 *   in flight) rx_wake_fd=1|0 (whether the idle receiver blocks on its
 *   sockets, UDP's or the PMD's, or sleeps: net_memif)
 */
#include <sys/wait.h>

#include <rte_mbuf.h>


#include "bench_phases.h"
#include "dp_bench.h"
#include "nr_ci.h"

static uint16_t g_udp_port = 7200; /* --port: distinct per orchestrator run */

/* ----------------------------------------------------------- orchestrator */

struct child {
    pid_t pid;
    int fd;          /* its stdout */
    char log[128];   /* its stderr */
};

static char g_self[512];
static char g_netns[600];
static char g_prefix[16];
static volatile sig_atomic_t g_signal;
static pid_t g_children[2];

static void on_signal(int sig) { g_signal = sig; }

static void netns_cmd(const char *args)
{
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "NICRAFT_NETNS_PREFIX=%s '%s' %s", g_prefix, g_netns, args);
    if (system(cmd) != 0)
        fprintf(stderr, "dataplane-bench: '%s' failed\n", cmd);
}

static void cleanup(void)
{
    for (int i = 0; i < 2; i++)
        if (g_children[i] > 0)
            kill(g_children[i], SIGKILL);
    if (g_netns[0] != '\0' && geteuid() == 0)
        netns_cmd("down");
}

static int spawn(struct child *c, int slot, const char *ns, const char *const *args)
{
    const char *argv[40];
    int n = 0, pfd[2];
    if (ns != NULL) {
        argv[n++] = "ip", argv[n++] = "netns", argv[n++] = "exec", argv[n++] = ns;
    }
    argv[n++] = g_self;
    for (int i = 0; args[i] != NULL && n < 38; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(c->log, sizeof(c->log), "/tmp/%s-child%d.log", g_prefix, slot);
    if (pipe(pfd) != 0)
        return -1;
    fflush(stdout);
    c->pid = fork();
    if (c->pid == 0) {
        dup2(pfd[1], 1);
        FILE *e = fopen(c->log, "w");
        if (e != NULL)
            dup2(fileno(e), 2);
        close(pfd[0]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    c->fd = pfd[0];
    g_children[slot] = c->pid;
    return c->pid > 0 ? 0 : -1;
}

/* Reads lines until one starts with want (copied to line) or timeout. */
static bool child_read(struct child *c, const char *want, char *line, size_t line_len,
                       double timeout_s)
{
    char buf[1024];
    size_t used = 0;
    double end = dp_bench_now_s() + timeout_s;
    while (dp_bench_now_s() < end && !g_signal) {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(c->fd, &rs);
        struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
        if (select(c->fd + 1, &rs, NULL, NULL, &tv) <= 0)
            continue;
        ssize_t k = read(c->fd, buf + used, 1);
        if (k <= 0)
            return false;
        if (buf[used] == '\n' || used + 2 >= sizeof(buf)) {
            buf[used] = '\0';
            if (strncmp(buf, want, strlen(want)) == 0) {
                size_t n = strlen(buf) < line_len - 1 ? strlen(buf) : line_len - 1;
                memcpy(line, buf, n);
                line[n] = '\0';
                return true;
            }
            used = 0;
            continue;
        }
        used++;
    }
    return false;
}

static void child_reap(struct child *c, int slot, bool ok)
{
    if (!ok)
        kill(c->pid, SIGKILL);
    int st;
    waitpid(c->pid, &st, 0);
    close(c->fd);
    g_children[slot] = 0;
    if (!ok) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "tail -3 %s | sed 's/^/    child: /' >&2", c->log);
        if (system(cmd) != 0)
            fprintf(stderr, "    (no child log)\n");
    }
    unlink(c->log);
}

static double field(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    return p != NULL ? strtod(p + strlen(key), NULL) : 0;
}

struct transport {
    const char *name;
    bool needs_ns;
    char vdev_rx[200], vdev_tx[200];
    const char *ip_rx, *ip_tx;
};

/* One rx/tx pair; returns false when either did not report. */
static bool run_pair(const struct transport *t, uint32_t size, const char *idle, double seconds,
                     uint32_t rounds, uint32_t n_rtt, uint32_t n_wake, char *rx_line,
                     char *tx_line)
{
    static unsigned int n_runs;
    char port[16], sz[16], secs_rx[16], secs_tx[16], nr[16], nw[16], nrounds[16], pr[32], pt[32],
            ns1[32], ns2[32];
    double phases_s = (2 * rounds + 1) * (seconds + 0.04);
    snprintf(sz, sizeof(sz), "%u", size);
    snprintf(port, sizeof(port), "%u", g_udp_port);
    snprintf(secs_rx, sizeof(secs_rx), "%.2f", phases_s + n_wake * 0.0055 + 60);
    snprintf(secs_tx, sizeof(secs_tx), "%.2f", seconds);
    snprintf(nr, sizeof(nr), "%u", n_rtt);
    snprintf(nw, sizeof(nw), "%u", n_wake);
    snprintf(nrounds, sizeof(nrounds), "%u", rounds);
    snprintf(pr, sizeof(pr), "%sr%u", g_prefix, n_runs);
    snprintf(pt, sizeof(pt), "%st%u", g_prefix, n_runs++);
    snprintf(ns1, sizeof(ns1), "%s-h1", g_prefix);
    snprintf(ns2, sizeof(ns2), "%s-h2", g_prefix);
    const char *rx_args[] = {"--role", "rx", "--transport", t->name, "--vdev", t->vdev_rx,
                             "--prefix", pr, "--lcore", "0", "--ip", t->ip_rx, "--size", sz,
                             "--seconds", secs_rx, "--idle", idle, "--port", port, NULL};
    const char *tx_args[] = {"--role", "tx", "--transport", t->name, "--vdev", t->vdev_tx,
                             "--prefix", pt, "--lcore", "1", "--ip", t->ip_tx, "--peer",
                             t->ip_rx, "--size", sz, "--seconds", secs_tx, "--rounds", nrounds,
                             "--idle", idle, "--rtt", nr, "--wake", nw, "--port", port, NULL};
    struct child rx, tx;
    char ready[64];
    if (spawn(&rx, 0, t->needs_ns ? ns1 : NULL, rx_args) != 0)
        return false;
    if (!child_read(&rx, "ready", ready, sizeof(ready), 10)) {
        child_reap(&rx, 0, false);
        return false;
    }
    if (spawn(&tx, 1, t->needs_ns ? ns2 : NULL, tx_args) != 0) {
        child_reap(&rx, 0, false);
        return false;
    }
    double budget = phases_s + n_rtt * 0.0002 + n_wake * 0.0055 + 20;
    bool tx_ok = child_read(&tx, "result", tx_line, 512, budget);
    bool rx_ok = child_read(&rx, "result", rx_line, 512, 10);
    child_reap(&tx, 1, tx_ok);
    child_reap(&rx, 0, rx_ok);
    return tx_ok && rx_ok;
}

/* Parses "key=a,b,c" from line into v (at most max); returns the count. */
static int field_list(const char *line, const char *key, double *v, int max)
{
    const char *p = strstr(line, key);
    int n = 0;
    if (p == NULL)
        return 0;
    p += strlen(key);
    while (n < max) {
        char *end;
        v[n] = strtod(p, &end);
        if (end == p)
            break;
        n++;
        if (*end != ',')
            break;
        p = end + 1;
    }
    return n;
}

static void bench_transport(const struct transport *t, const uint32_t *sizes, int n_sizes,
                            double seconds, uint32_t rounds, uint32_t n_rtt, uint32_t n_wake,
                            int *n_bad)
{
    static const char *const idles[] = {"busy", "adaptive"};
    char rx_line[512], tx_line[512];
    for (int s = 0; s < n_sizes && !g_signal; s++) {
        for (int i = 0; i < 2 && !g_signal; i++) {
            /* raw phases r0..r_rounds around nicraft phases n0..n_{rounds-1}:
             * ratio k = n_k / mean(r_k, r_k+1), and the median of those. */
            double raw[PHASES_MAX], nrv[PHASES_MAX];
            bool ok = run_pair(t, sizes[s], idles[i], seconds, rounds, n_rtt, n_wake, rx_line,
                               tx_line);
            int n_raw = ok ? field_list(rx_line, "raw=", raw, PHASES_MAX) : 0;
            int n_nr = ok ? field_list(rx_line, "nr=", nrv, PHASES_MAX) : 0;
            struct bench_phase_ratio r = bench_phase_ratio(nrv, n_nr, raw, n_raw);
            if (r.n == 0) {
                (*n_bad)++;
                printf("transport=%s size=%u idle=%s msgs_per_s=- rtt_p50_us=- rtt_p99_us=- "
                       "raw_frames_per_s=- ratio=- (not measurable: %s)\n",
                       t->name, sizes[s], idles[i],
                       !ok ? "a process failed or timed out" : "a phase received nothing");
                fflush(stdout);
                continue;
            }
            double raw_med = bench_median(raw, n_raw), nr_med = bench_median(nrv, n_nr);
            printf("transport=%s size=%u idle=%s msgs_per_s=%.0f rtt_p50_us=%.1f "
                   "rtt_p99_us=%.1f raw_frames_per_s=%.0f ratio=%.2f ratio_range=%.2f-%.2f "
                   "wake_p50_us=%.1f wake_p99_us=%.1f frames_per_s=%.0f rx_idle_yields=%.0f "
                   "rx_idle_blocks=%.0f rx_wake_fd=%.0f\n",
                   t->name, sizes[s], idles[i], nr_med, field(tx_line, "rtt_p50="),
                   field(tx_line, "rtt_p99="), raw_med, r.median, r.lo, r.hi,
                   field(tx_line, "wake_p50="), field(tx_line, "wake_p99="),
                   field(rx_line, "frames_per_s="), field(rx_line, "idle_yields="),
                   field(rx_line, "idle_blocks="), field(rx_line, "wake_fd="));
            fflush(stdout);
        }
    }
}

static int orchestrate(int argc, char **argv)
{
    double seconds = 2;
    uint32_t n_rtt = 20000, n_wake = 400, rounds = 3;
    const char *list = "af_packet,af_xdp,memif,udp";
    uint32_t sizes[2] = {64, 1024};
    int n_sizes = 2;
    bool is_check = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            seconds = 0.25, n_rtt = 2000, n_wake = 40;
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--check") == 0)
            is_check = true;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--transports") == 0 && i + 1 < argc)
            list = argv[++i];
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            sizes[0] = (uint32_t)strtoul(argv[++i], NULL, 10), n_sizes = 1;
        else if (strcmp(argv[i], "--netns") == 0 && i + 1 < argc)
            snprintf(g_netns, sizeof(g_netns), "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: dataplane-bench [--quick] [--seconds S] [--rounds N] "
                            "[--transports af_packet,af_xdp,memif,udp] [--size N] "
                            "[--netns PATH] [--check]\n");
            return 2;
        }
    }
    if (seconds <= 0 || seconds > 60 || sizes[0] < 8 || sizes[0] > 1300 || rounds < 1 ||
        2 * rounds + 1 > PHASES_MAX) {
        fprintf(stderr, "dataplane-bench: --seconds in (0, 60], --size in 8..1300, --rounds in "
                        "1..%u\n", (PHASES_MAX - 1) / 2);
        return 2;
    }
    if (is_check && geteuid() != 0 && !nr_ci_is_set()) {
        printf("dataplane-bench: skipped: DPDK with --no-huge and namespaces need root\n");
        return 77; /* CONVENTIONS section 7: under CI this runs as root */
    }
    ssize_t k = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
    if (k <= 0)
        return 1;
    g_self[k] = '\0';
    if (g_netns[0] == '\0') { /* build/bench/dataplane-bench -> deploy/netns.sh */
        snprintf(g_netns, sizeof(g_netns), "%s", g_self);
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(g_netns, '/');
            if (slash != NULL)
                *slash = '\0';
        }
        strncat(g_netns, "/deploy/netns.sh", sizeof(g_netns) - strlen(g_netns) - 1);
    }
    snprintf(g_prefix, sizeof(g_prefix), "nrb%d", (int)(getpid() % 1000));
    g_udp_port = (uint16_t)(20000 + getpid() % 20000);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup);
    bool has_ns = geteuid() == 0 && access(g_netns, X_OK) == 0;
    if (has_ns)
        netns_cmd("up 2");
    char sock[64];
    snprintf(sock, sizeof(sock), "/tmp/%s-memif.sock", g_prefix);
    int n_bad = 0;
    double t0 = dp_bench_now_s();
    char names[128];
    snprintf(names, sizeof(names), "%s", list);
    for (char *save = NULL, *name = strtok_r(names, ",", &save); name != NULL && !g_signal;
         name = strtok_r(NULL, ",", &save)) {
        struct transport t = {.name = name, .ip_rx = "198.18.0.1", .ip_tx = "198.18.0.2"};
        if (strcmp(name, "af_packet") == 0 || strcmp(name, "af_xdp") == 0) {
            t.needs_ns = true;
            const char *fmt = name[3] == 'p' ? "net_af_packet0,iface=%s-h%dv,qpairs=1"
                                             : "net_af_xdp0,iface=%s-h%dv,start_queue=0,"
                                               "queue_count=1";
            snprintf(t.vdev_rx, sizeof(t.vdev_rx), fmt, g_prefix, 1);
            snprintf(t.vdev_tx, sizeof(t.vdev_tx), fmt, g_prefix, 2);
            if (!has_ns) {
                printf("transport=%s not measurable: needs root and %s\n", name, g_netns);
                n_bad++;
                continue;
            }
        } else if (strcmp(name, "memif") == 0) {
            snprintf(t.vdev_rx, sizeof(t.vdev_rx), "net_memif0,role=server,socket=%s", sock);
            snprintf(t.vdev_tx, sizeof(t.vdev_tx), "net_memif0,role=client,socket=%s", sock);
        } else if (strcmp(name, "udp") == 0) {
            t.ip_rx = t.ip_tx = "127.0.0.1";
            snprintf(t.vdev_rx, sizeof(t.vdev_rx), "-");
            snprintf(t.vdev_tx, sizeof(t.vdev_tx), "-");
        } else {
            fprintf(stderr, "dataplane-bench: unknown transport %s\n", name);
            return 2;
        }
        bench_transport(&t, sizes, n_sizes, seconds, rounds, n_rtt, n_wake, &n_bad);
    }
    printf("# %.1f s; raw = plain burst of frames the size of nicraft's frame for one "
           "message, busy, in the "
           "same two processes as nicraft: %u nicraft phases of %.2f s between %u raw ones; "
           "ratio = median over nicraft phases of msgs/s over the mean of the raw phases either "
           "side; wake = round trip after 5 ms idle\n",
           dp_bench_now_s() - t0, rounds, seconds, rounds + 1);
    return is_check && n_bad > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--role") != 0)
        return orchestrate(argc, argv);
    return dp_bench_role(argc, argv);
}
