/* dp_idle.c - busy and adaptive idle policies (see dp_idle.h). */
#include "dp_idle.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

void dp_idle_conf_default(struct dp_idle_conf *conf, enum dp_idle_policy policy)
{
    conf->policy = policy;
    conf->spin_polls = 64;
    conf->yield_polls = 2000;
    conf->sleep_us_min = 20;
    conf->sleep_us_max = 250;
}

int dp_idle_policy_parse(const char *s, enum dp_idle_policy *out, struct nr_err *err)
{
    if (strcmp(s, "busy") == 0)
        *out = DP_IDLE_BUSY;
    else if (strcmp(s, "adaptive") == 0)
        *out = DP_IDLE_ADAPTIVE;
    else
        return nr_errf(err, NR_EINVAL, "idle policy '%s' is neither 'busy' nor 'adaptive'", s);
    return 0;
}

const char *dp_idle_policy_name(enum dp_idle_policy policy)
{
    return policy == DP_IDLE_BUSY ? "busy" : "adaptive";
}

int dp_idle_init(struct dp_idle *idle, const struct dp_idle_conf *conf, int wait_fd,
                 struct nr_err *err)
{
    if (conf->policy != DP_IDLE_BUSY && conf->policy != DP_IDLE_ADAPTIVE)
        return nr_errf(err, NR_EINVAL, "idle policy %d is unknown", (int)conf->policy);
    if (conf->sleep_us_min < 1 || conf->sleep_us_max > 100000 ||
        conf->sleep_us_min > conf->sleep_us_max)
        return nr_errf(err, NR_EINVAL,
                       "idle sleep bounds %u..%u us are outside 1..100000 or reversed",
                       conf->sleep_us_min, conf->sleep_us_max);
    memset(idle, 0, sizeof(*idle));
    idle->conf = *conf;
    idle->wait_fd = wait_fd;
    idle->sleep_us = conf->sleep_us_min;
    return 0;
}

static void idle_block(struct dp_idle *idle)
{
    uint32_t us = idle->sleep_us;

    idle->n_blocks++;
    idle->blocked_us += us;
    if (idle->wait_fd >= 0) {
        struct epoll_event ev[4];
        int ms = (int)((us + 999) / 1000);
        int n = epoll_wait(idle->wait_fd, ev, 4, ms);
        if (n > 0)
            idle->n_fd_wakeups++;
    } else {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    idle->sleep_us = us * 2 > idle->conf.sleep_us_max ? idle->conf.sleep_us_max : us * 2;
}

void dp_idle_after_poll(struct dp_idle *idle, uint32_t n_work)
{
    if (n_work != 0) {
        idle->n_empty = 0;
        idle->sleep_us = idle->conf.sleep_us_min;
        return;
    }
    if (idle->conf.policy == DP_IDLE_BUSY)
        return;
    if (idle->n_empty < UINT32_MAX)
        idle->n_empty++;
    if (idle->n_empty <= idle->conf.spin_polls)
        return;
    if (idle->n_empty <= idle->conf.spin_polls + idle->conf.yield_polls) {
        idle->n_yields++;
        sched_yield();
        return;
    }
    idle_block(idle);
}
