#!/usr/bin/env bash
# fuzz_smoke.sh - one libFuzzer target for a while: the inputs that once
# failed first (a regression folder), then a fresh run, optionally seeded by
# a generator of valid inputs. Fails on any crash, leak, sanitizer report or
# timeout, keeping the log and the crashing inputs. The short runs of
# deploy/test.sh (suite 'fuzz') and runs of hours use the same script:
#
#   fuzz_smoke.sh --fuzzer F --seconds S [--seed-gen G] [--regress DIR]
#                 [--max-len N] [--keep DIR]
#
# Prints the executions run, then `N passed, M failed` last.
set -euo pipefail

fuzzer="" seconds="" seed_gen="" regress="" max_len=65536 keep=""
while [ $# -gt 0 ]; do
    case "$1" in
    --fuzzer) fuzzer=$2 ;;
    --seconds) seconds=$2 ;;
    --seed-gen) seed_gen=$2 ;;
    --regress) regress=$2 ;;
    --max-len) max_len=$2 ;;
    --keep) keep=$2 ;;
    *)
        echo "fuzz_smoke.sh: unknown argument $1" >&2
        exit 2
        ;;
    esac
    shift 2
done
if [ -z "$fuzzer" ] || [ -z "$seconds" ]; then
    echo "usage: $0 --fuzzer F --seconds S [--seed-gen G] [--regress DIR] [--max-len N] [--keep DIR]" >&2
    exit 2
fi
name=$(basename "$fuzzer")
if [ -n "$keep" ]; then
    work=$keep
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/nicraft-$name.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"

failed() {
    trap - EXIT # keep the log and the crashing inputs
    tail -n 60 "$1"
    echo "$name: FAILED ($2)"
    echo "0 passed, 1 failed"
    exit 1
}

if [ -n "$regress" ] && [ -d "$regress" ] && [ -n "$(ls -A "$regress")" ]; then
    if ! UBSAN_OPTIONS=halt_on_error=1 "$fuzzer" "$regress"/* >"$work/regress.log" 2>&1 ||
        grep -q "runtime error\|ERROR: AddressSanitizer" "$work/regress.log"; then
        failed "$work/regress.log" "on a regression input in $regress"
    fi
fi
if [ -n "$seed_gen" ]; then
    rm -f "$work/seeds"/*
    "$seed_gen" "$work/seeds"
fi

rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "$work/seeds" >"$work/fuzz.log" 2>&1 || rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
crashes=$(find "$work/artifacts" -type f | wc -l)
if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "$execs" ]; then
    failed "$work/fuzz.log" "exit $rc, $crashes crashing inputs in $work/artifacts"
fi
echo "$name: $execs execs in $seconds s, corpus $(find "$work/corpus" -type f | wc -l) inputs, no crash"
echo "1 passed, 0 failed"
