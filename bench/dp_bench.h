/* dp_bench.h - what the dataplane benchmark's two halves share: the
 * orchestrator (dataplane_bench.c) re-executes the program with --role, and
 * dp_bench_role.c runs that role: the sender or the receiver of raw phases
 * and nicraft phases in turn. */
#ifndef NICRAFT_DP_BENCH_H
#define NICRAFT_DP_BENCH_H

#define CLUSTER_ID UINT64_C(0x6e6963726166740b)
#define GROUP_ID 3u
#define KIND_DATA 1u
#define KIND_PING 2u
#define KIND_STOP 3u
#define KIND_PHASE 4u              /* u32: the phase that begins */
#define RAW_ETHERTYPE_MARK 0x88b6u /* raw frame: u32 phase after the Ethernet header */
#define RAW_UDP_MARK "PHAS"        /* raw datagram: this, then the u32 phase */
#define PHASE_STOP UINT32_MAX
#define PHASES_MAX 21u             /* 2 * rounds + 1 */
#define RTT_MAX 20000u
#define BURST 32u
#define UDP_BATCH 32u
#define FRAME_CAP 1472u

/* Runs `dataplane-bench --role rx|tx ...` (the arguments the orchestrator
 * passes); prints one `result ...` line. 0, 1 on failure, 2 on bad flags. */
int dp_bench_role(int argc, char **argv);
/* Seconds on a monotonic clock (the calibrated TSC inside a role). */
double dp_bench_now_s(void);

#endif
