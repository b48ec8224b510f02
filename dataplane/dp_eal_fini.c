/* dp_eal_fini.c - the end of a process's EAL: the EAL interrupt thread is
 * parked, then rte_eal_cleanup (see dp_eal_fini in dp_port.h). Shutdown
 * code.
 *
 * Why: DPDK 22.11's rte_eal_cleanup unmaps the EAL's memory without stopping
 * the interrupt thread, and that thread reads every registered source's
 * handle each time it rebuilds its epoll set, which any callback
 * (un)registration makes it do. memif keeps its handles in EAL memory, and
 * its server side frees the listener's handle at close without unregistering
 * it; rte_eal_cleanup itself unregisters the alarm handler (once any alarm
 * was set) just before it unmaps. A rebuild overlapping the unmap then reads
 * unmapped memory: a SIGSEGV at exit, seen in CI about once in fifteen memif
 * exchanges, and in one of four once an alarm had been set.
 *
 * Parked, the thread sits in our callback until the process exits: the
 * events before ours have been handled, nothing after ours ever is, and it
 * never walks its sources again. The handle stays registered, as the
 * thread's sources are reachable until exit anyway. */
#define ALLOW_EXPERIMENTAL_API /* rte_intr_instance_alloc and its setters (22.11) */

#include "dp_port.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_interrupts.h>

enum { PARK_WAIT_MS = 5000 }; /* generous: a loaded 2-vCPU host still answers in milliseconds */

/* Runs on the interrupt thread, and never returns. */
static void park(void *arg)
{
    __atomic_store_n((uint32_t *)arg, 1, __ATOMIC_RELEASE);
    for (;;)
        pause();
}

static bool wait_parked(const uint32_t *is_parked)
{
    const struct timespec step = {.tv_nsec = 100 * 1000};
    for (int i = 0; i < PARK_WAIT_MS * 10; i++) {
        if (__atomic_load_n(is_parked, __ATOMIC_ACQUIRE) != 0)
            return true;
        nanosleep(&step, NULL);
    }
    return false;
}

int dp_eal_fini(struct nr_err *err)
{
    /* Static: the thread reads is_parked after a wait that gave up; h lives
     * (and stays reachable) until exit, like the registration. */
    static uint32_t is_parked;
    static bool is_called;
    static struct rte_intr_handle *h;
    if (is_called)
        return nr_errf(err, NR_EINVAL, "dataplane: the EAL was already cleaned up");
    is_called = true;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return nr_errf(err, NR_EIO, "dataplane: eventfd for the EAL interrupt thread: %s; "
                       "rte_eal_cleanup skipped", strerror(errno));
    h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
    if (h == NULL || rte_intr_fd_set(h, fd) != 0 ||
        rte_intr_type_set(h, RTE_INTR_HANDLE_EXT) != 0 ||
        rte_intr_callback_register(h, park, &is_parked) != 0) {
        int e = rte_errno;
        rte_intr_instance_free(h);
        h = NULL;
        close(fd);
        return nr_errf(err, NR_EIO, "dataplane: cannot register with the EAL interrupt thread: "
                       "%s; rte_eal_cleanup skipped", rte_strerror(e));
    }
    const uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one) || !wait_parked(&is_parked))
        return nr_errf(err, NR_EIO, "dataplane: the EAL interrupt thread did not take our "
                       "event within %d ms; rte_eal_cleanup skipped", (int)PARK_WAIT_MS);
    rte_eal_cleanup();
    return 0;
}
