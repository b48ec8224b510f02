#!/usr/bin/env bash
# sim_run.sh SIM [DEFAULT_SEEDS [FLAG...]] - the simulator on many seeds
# with every fault kind enabled must report no violation. FLAGs go to the
# simulator as they are (--churn: membership changes too).
#
# Seeds: $NICRAFT_SIM_SEEDS, else DEFAULT_SEEDS, else 500; steps per seed:
# $NICRAFT_SIM_STEPS, else 2000. Fails unless the summary line (the last
# line) says violations=0 and some operations completed.
set -euo pipefail

if [[ $# -lt 1 || ! -x "$1" ]]; then
    echo "usage: $0 SIM [DEFAULT_SEEDS [FLAG...]]; got: ${*:-nothing}" >&2
    exit 2
fi
sim=$1
seeds=${NICRAFT_SIM_SEEDS:-${2:-500}}
steps=${NICRAFT_SIM_STEPS:-2000}
shift $(($# < 2 ? $# : 2))

rc=0
out=$("$sim" --seeds "$seeds" --steps "$steps" "$@") || rc=$?
printf '%s\n' "$out" | tail -n 40
last=$(printf '%s\n' "$out" | tail -n 1)
if [[ ! $last =~ ^sim:\ seeds=[0-9]+\ steps=[0-9]+\ ops=([0-9]+)\ violations=([0-9]+)$ ]]; then
    echo "FAIL: no summary line at the end of the output (exit status $rc)" >&2
    exit 1
fi
ops=${BASH_REMATCH[1]}
violations=${BASH_REMATCH[2]}
if [[ $violations -ne 0 || $rc -ne 0 ]]; then
    echo "FAIL: $violations of $seeds seeds violated an invariant (exit status $rc)" >&2
    exit 1
fi
if [[ $ops -eq 0 ]]; then
    echo "FAIL: no client operation completed in $seeds seeds: the cluster made no progress" >&2
    exit 1
fi
echo "ok: $seeds seeds x $steps steps${*:+ ($*)}, $ops operations, no violation"
