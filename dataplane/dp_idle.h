/* dp_idle.h - what a poller does after an iteration that found no work
 * (issue 5; machine facts in the "Facts measured on this machine").
 *
 * busy:     spin; lowest latency, owns its core. For NIC hosts with a core
 *           per poller.
 * adaptive: for shared hosts. After spin_polls empty polls, sched_yield()
 *           (nanosleep(1 us) does not give a vCPU away in the VM; a yield
 *           does and costs a few us when the peer runs); after yield_polls
 *           more, block: on wait_fd (an epoll fd over what signals RX: the
 *           PMD's own sockets, dp_port_rx_wait_fd, for net_af_packet and
 *           net_af_xdp) or, without one, a nanosleep growing from
 *           sleep_us_min to sleep_us_max (doubling; net_memif, whose RX
 *           interrupts DPDK 22.11 does not enable). Any work resets to
 *           spinning. The price is a wake-up latency of ~20-25 us per hop on
 *           a wait_fd, up to sleep_us_max more without; dataplane-bench
 *           reports it. */
#ifndef NICRAFT_DP_IDLE_H
#define NICRAFT_DP_IDLE_H

#include <stdint.h>

#include "nr_err.h"

enum dp_idle_policy {
    DP_IDLE_BUSY,
    DP_IDLE_ADAPTIVE,
};

struct dp_idle_conf {
    enum dp_idle_policy policy;
    uint32_t spin_polls;   /* empty polls spun before yielding */
    uint32_t yield_polls;  /* further empty polls that yield before blocking */
    uint32_t sleep_us_min; /* first block; >= 1 */
    uint32_t sleep_us_max; /* blocks grow to this; <= 100000 */
};

struct dp_idle {
    struct dp_idle_conf conf;
    int wait_fd;           /* epoll fd to block on, or -1 (owned by the caller) */
    uint32_t n_empty;      /* empty polls since the last work */
    uint32_t sleep_us;     /* the next block's length */
    uint64_t n_yields;
    uint64_t n_blocks;
    uint64_t n_fd_wakeups; /* blocks that ended because wait_fd fired */
    uint64_t blocked_us;   /* sum of requested block lengths */
};

/* Defaults for a policy: adaptive spins 64, yields 2000, then sleeps 20..250 us
 * (an idle poller wakes ~4000 times a second; a message to an idle poller
 * waits up to ~250 us more: dataplane-bench reports it as wake_p50_us). */
void dp_idle_conf_default(struct dp_idle_conf *conf, enum dp_idle_policy policy);

/* Parses "busy" or "adaptive"; NR_EINVAL names the value otherwise. */
int dp_idle_policy_parse(const char *s, enum dp_idle_policy *out, struct nr_err *err);
const char *dp_idle_policy_name(enum dp_idle_policy policy);

/* 0, or NR_EINVAL when a bound is out of range. wait_fd may be -1. */
int dp_idle_init(struct dp_idle *idle, const struct dp_idle_conf *conf, int wait_fd,
                 struct nr_err *err);

/* Called once per poll iteration with the number of items it handled. With
 * n_work == 0 it may spin, yield or block as the policy says. */
void dp_idle_after_poll(struct dp_idle *idle, uint32_t n_work);

#endif
