#!/usr/bin/env bash
# bug_selftest.sh SIM - every defect listed by `SIM --list-bugs` must be
# caught: with it injected, at least one of 200 seeds must report a
# violation (summary line violations > 0, exit status 1). Shows that the
# simulator's checks and faults can fail, not just pass.
#
# --list-bugs prints one defect a line: name, what it does, and the flags
# it needs to show (the membership defects need --churn: without changes of
# membership there is nothing for them to get wrong); the run adds them.
#
# Seeds: $NICRAFT_SIM_BUG_SEEDS, else 200; steps: $NICRAFT_SIM_BUG_STEPS,
# else 2500. A run stops at its first violating seed (--stop-after 1): the
# question is whether the defect is caught, and that keeps the test short.
# For catch rates, run the simulator without --stop-after.
set -euo pipefail

if [[ $# -ne 1 || ! -x "$1" ]]; then
    echo "usage: $0 SIM; got: ${*:-nothing}" >&2
    exit 2
fi
sim=$1
seeds=${NICRAFT_SIM_BUG_SEEDS:-200}
steps=${NICRAFT_SIM_BUG_STEPS:-2500}

list=$("$sim" --list-bugs)
if [[ -z $list ]]; then
    echo "FAIL: --list-bugs printed no defect" >&2
    exit 1
fi
failed=0
while IFS=$'\t' read -r bug _what needs; do
    # needs: a few flag words from our own binary; split on spaces.
    read -r -a flags <<<"${needs:-}"
    rc=0
    out=$("$sim" --seeds "$seeds" --steps "$steps" --stop-after 1 "${flags[@]}" \
        --inject-bug "$bug") || rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    first=$(printf '%s\n' "$out" | grep -m 1 'VIOLATION' || true)
    label="$bug${needs:+ ($needs)}"
    if [[ ! $last =~ seeds=([0-9]+)\ .*violations=([0-9]+)$ ]]; then
        echo "FAIL: $label: no summary line (exit status $rc)"
        failed=1
    elif [[ ${BASH_REMATCH[2]} -eq 0 || $rc -ne 1 ]]; then
        echo "FAIL: $label: not caught in $seeds seeds x $steps steps (exit status $rc)"
        failed=1
    else
        echo "ok: $label: caught within ${BASH_REMATCH[1]} of $seeds seeds: $first"
    fi
done <<<"$list"
exit $failed
