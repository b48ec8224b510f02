#!/usr/bin/env bash
# bug_selftest.sh SIM - every defect listed by `SIM --list-bugs` must be
# caught: with it injected, at least one of 200 seeds must report a
# violation (summary line violations > 0, exit status 1). Shows that the
# simulator's checks and faults can fail, not just pass.
#
# Seeds: $NICRAFT_SIM_BUG_SEEDS, else 200; steps: $NICRAFT_SIM_BUG_STEPS,
# else 2500.
set -euo pipefail

if [[ $# -ne 1 || ! -x "$1" ]]; then
    echo "usage: $0 SIM; got: ${*:-nothing}" >&2
    exit 2
fi
sim=$1
seeds=${NICRAFT_SIM_BUG_SEEDS:-200}
steps=${NICRAFT_SIM_BUG_STEPS:-2500}

names=$("$sim" --list-bugs | cut -f1)
if [[ -z $names ]]; then
    echo "FAIL: --list-bugs printed no defect" >&2
    exit 1
fi
failed=0
for bug in $names; do
    rc=0
    out=$("$sim" --seeds "$seeds" --steps "$steps" --inject-bug "$bug") || rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    first=$(printf '%s\n' "$out" | grep -m 1 'VIOLATION' || true)
    if [[ ! $last =~ violations=([0-9]+)$ ]]; then
        echo "FAIL: $bug: no summary line (exit status $rc)"
        failed=1
    elif [[ ${BASH_REMATCH[1]} -eq 0 || $rc -ne 1 ]]; then
        echo "FAIL: $bug: not caught in $seeds seeds x $steps steps (exit status $rc)"
        failed=1
    else
        echo "ok: $bug: caught in ${BASH_REMATCH[1]} of $seeds seeds; first: $first"
    fi
done
exit $failed
