#!/usr/bin/env bash
# fuzz_smoke.sh - runs fuzz-wal-replay for SECONDS from an empty corpus and
# fails on any crash, leak, sanitizer report or timeout. The same script
# runs it for hours:  fuzz_smoke.sh FUZZER SECONDS [KEEP_DIR]
# KEEP_DIR keeps the corpus and any crashing input there.
# Prints the executions run, then `N passed, M failed` last.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 FUZZER SECONDS [KEEP_DIR]" >&2
    exit 2
fi
fuzzer=$1
seconds=$2
if [ $# -ge 3 ]; then
    work=$3
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/nicraft-wal-fuzz.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/corpus" "$work/artifacts"

# Inputs that once failed (fuzz_regress/ beside this script) run first.
regress=$(dirname "${BASH_SOURCE[0]}")/fuzz_regress
if [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
    if ! UBSAN_OPTIONS=halt_on_error=1 "$fuzzer" "$regress"/* >"$work/regress.log" 2>&1 ||
        grep -q "runtime error\|ERROR: AddressSanitizer" "$work/regress.log"; then
        trap - EXIT
        tail -n 30 "$work/regress.log"
        echo "fuzz-wal-replay: FAILED on a regression input in $regress"
        echo "0 passed, 1 failed"
        exit 1
    fi
fi

rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" >"$work/fuzz.log" 2>&1 || rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
crashes=$(find "$work/artifacts" -type f | wc -l)
if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "$execs" ]; then
    trap - EXIT # keep the log and the crashing inputs
    tail -n 60 "$work/fuzz.log"
    echo "fuzz-wal-replay: FAILED (exit $rc, $crashes crashing inputs in $work/artifacts)"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "fuzz-wal-replay: $execs execs in $seconds s, corpus $(find "$work/corpus" -type f | wc -l) inputs, no crash"
echo "1 passed, 0 failed"
