#!/usr/bin/env bash
# fuzz_smoke.sh - runs fuzz-snap-load for SECONDS on a fresh seed corpus of
# valid snapshots (written by snap-seed-gen) and fails on any crash, leak,
# sanitizer report or timeout. The same script runs it for hours:
#   fuzz_smoke.sh FUZZER SEED_GEN SECONDS [KEEP_DIR]
# KEEP_DIR (optional) keeps the corpus and any crashing input there.
# Prints the executions run, then `N passed, M failed` last.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 FUZZER SEED_GEN SECONDS [KEEP_DIR]" >&2
    exit 2
fi
fuzzer=$1
seed_gen=$2
seconds=$3
if [ $# -ge 4 ]; then
    work=$4
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/nicraft-snap-fuzz.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
rm -f "$work/seeds"/*
"$seed_gen" "$work/seeds"

rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "$work/seeds" >"$work/fuzz.log" 2>&1 || rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
crashes=$(find "$work/artifacts" -type f | wc -l)
if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "$execs" ]; then
    trap - EXIT # keep the log and the crashing inputs
    tail -n 60 "$work/fuzz.log"
    echo "fuzz-snap-load: FAILED (exit $rc, $crashes crashing inputs in $work/artifacts)"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "fuzz-snap-load: $execs execs in $seconds s, corpus $(find "$work/corpus" -type f | wc -l) inputs, no crash"
echo "1 passed, 0 failed"
