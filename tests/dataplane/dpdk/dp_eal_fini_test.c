/* dp_eal_fini_test.c - the end of the EAL after a memif server port, the
 * case that crashed CI's memif exchange at exit. DPDK 22.11's memif server
 * frees its listener's interrupt handle (in EAL memory) at close without
 * unregistering it; rte_eal_cleanup then wakes the interrupt thread, which
 * reads every source's handle, while it unmaps that memory (here: it
 * unregisters the alarm handler, registered since the alarm below fired).
 * Plain rte_eal_cleanup died of SIGSEGV in this program in 20 of 20 runs;
 * dp_eal_fini parks the thread first. The process exiting 0 with its checks
 * passed is the test. Needs no root or NIC (--no-huge, --no-pci). Prints
 * `N passed, M failed` last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_alarm.h>

#include "dp_port.h"
#include "nr_ci.h"
#include "unit_check.h"

#define CHECK(cond) UNIT_CHECK((cond), "%s", #cond)

static void alarm_fired(void *arg)
{
    __atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

int main(void)
{
    char dir[] = "/tmp/nicraft-ealfini.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char vdev[128];
    snprintf(vdev, sizeof(vdev), "net_memif0,role=server,socket=%s/memif.sock", dir);
    struct dp_port_conf pc = {.file_prefix = "nrt-ealfini", .lcores = "0", .vdev = vdev,
                              .no_huge = true, .no_pci = true, .no_shconf = true,
                              .mem_mb = 256, .n_pollers = 1, .n_mbufs = 1023};
    struct nr_err err = {0};
    struct dp_port port;
    if (dp_port_eal_init(&pc, &err) != 0) {
        if (geteuid() != 0 && !nr_ci_is_set()) {
            printf("skipped: EAL needs root here (%s)\n", err.msg);
            rmdir(dir);
            return 77;
        }
        UNIT_CHECK(false, "EAL init: %s", err.msg);
        rmdir(dir);
        return unit_finish();
    }
    int rc = dp_port_open(&port, &pc, &err);
    UNIT_CHECK(rc == 0, "memif server port: %s", rc == 0 ? "open" : err.msg);

    int is_fired = 0;
    CHECK(rte_eal_alarm_set(1000, alarm_fired, &is_fired) == 0);
    const struct timespec ms = {.tv_nsec = 1000 * 1000};
    for (int i = 0; i < 1000 && __atomic_load_n(&is_fired, __ATOMIC_ACQUIRE) == 0; i++)
        nanosleep(&ms, NULL);
    CHECK(is_fired == 1);

    if (rc == 0)
        dp_port_close(&port);
    rc = dp_eal_fini(&err);
    UNIT_CHECK(rc == 0, "dp_eal_fini: %s", rc == 0 ? "EAL cleaned up" : err.msg);
    /* Once per process: a second call is refused, not a second cleanup. */
    CHECK(dp_eal_fini(&err) == NR_EINVAL && strstr(err.msg, "already") != NULL);
    char sock[160];
    snprintf(sock, sizeof(sock), "%s/memif.sock", dir);
    unlink(sock);
    rmdir(dir);
    return unit_finish();
}
