#!/usr/bin/env bash
# test.sh - build nicraft and run every test; the README's test command and
# what CI runs (.ci/run).
#
# Steps, in order:
#   1. deploy/install-deps.sh (quiet when everything is installed);
#   2. the normal build in build/ (debugoptimized, link-time optimized) and
#      the sanitizer build in build-asan/ (address + undefined), configured
#      anew or reconfigured;
#   3. `meson test` in both builds: every registered test (suites unit,
#      scenario, sim, purity, conformance, and whatever is registered later;
#      the etcd-raft conformance vectors are read from ../shared beside the
#      repository, and without them that test skips, which fails under CI);
#   4. the simulator at 500 seeds x 2000 steps in the normal build, unless a
#      test in step 3 already ran it that far and passed (read from meson's
#      log: a summary line `seeds=N steps=M ... violations=0`).
#
# Counting: one "suite" is one explicit step above (install-deps, a build, the
# explicit simulator run) or one registered meson test in one build (so a test
# counts once per build). A build that fails counts once; its tests do not
# run. A skipped meson test counts as failed when CI is set (CONVENTIONS
# section 7: a CI run that skips tests fails), otherwise it is listed as
# skipped and counted in neither column. The last line is exactly
# `N passed, M failed`; the exit status is 0 only when M is 0.
#
# Usage: deploy/test.sh   (from any directory)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nicraft-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

is_ci=false
case "${CI:-}" in "" | false | 0) ;; *) is_ci=true ;; esac

# Sanitizer reports stop the test that triggered them.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:print_summary=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:print_summary=1}"
# Leaks in libraries that are not ours, each named and explained there.
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}"

SIM_SEEDS=500
SIM_STEPS=2000

n_passed=0
n_failed=0
failed_names=()
skipped_names=()
step_start=0

header() {
    printf '\n== %s\n' "$1"
    step_start=$SECONDS
}

pass() {
    n_passed=$((n_passed + 1))
    printf -- '-- ok: %s (%ds)\n' "$1" $((SECONDS - step_start))
}

fail() {
    n_failed=$((n_failed + 1))
    failed_names+=("$1")
    printf -- '-- FAILED: %s (%ds)\n' "$1" $((SECONDS - step_start))
}

# configure_and_build DIR LABEL MESON_OPTION...
# Sets up DIR (or reconfigures it when it already holds a build), then builds.
# meson's own output is shown only when it fails; ninja's always.
configure_and_build() {
    local dir=$1 label=$2
    shift 2
    local log="$tmp/setup-$label.log"

    header "build ($label): $dir $*"
    if [[ -f "$dir/meson-private/coredata.dat" ]]; then
        # meson 1.0's `setup --reconfigure` drops -D base options (b_lto,
        # b_sanitize) given again: `meson configure` sets them.
        if ! { meson setup --reconfigure "$dir" "$@" && meson configure "$dir" "$@"; } \
            >"$log" 2>&1; then
            echo "reconfigure failed; wiping $dir and configuring it again"
            if ! meson setup --wipe "$dir" "$@" >"$log" 2>&1; then
                cat "$log"
                fail "build ($label): meson setup"
                return 1
            fi
        fi
    elif ! meson setup "$dir" "$@" >"$log" 2>&1; then
        cat "$log"
        fail "build ($label): meson setup"
        return 1
    fi
    if ! ninja -C "$dir"; then
        fail "build ($label): ninja"
        return 1
    fi
    pass "build ($label)"
}

# run_meson_tests DIR LABEL
# Runs every registered test and counts each one from meson's JSON log.
run_meson_tests() {
    local dir=$1 label=$2
    local json="$dir/meson-logs/testlog.json"
    local rc=0 result name n_bad=0

    header "tests ($label): meson test -C $dir"
    rm -f "$json"
    meson test -C "$dir" --no-rebuild --print-errorlogs || rc=$?
    if [[ ! -s "$json" ]]; then
        fail "tests ($label): meson test ran no test (exit $rc)"
        return
    fi
    while IFS=$'\t' read -r result name; do
        case "$result" in
        OK | EXPECTEDFAIL)
            n_passed=$((n_passed + 1))
            ;;
        SKIP)
            if $is_ci; then
                n_bad=$((n_bad + 1))
                n_failed=$((n_failed + 1))
                failed_names+=("$label: $name (skipped, and CI runs every test)")
            else
                skipped_names+=("$label: $name")
            fi
            ;;
        *)
            n_bad=$((n_bad + 1))
            n_failed=$((n_failed + 1))
            failed_names+=("$label: $name ($result)")
            ;;
        esac
    done < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.strip():
        t = json.loads(line)
        print(t["result"] + "\t" + t["name"])
' "$json")
    # A non-zero exit that no test result explains (meson itself failed)
    # still counts.
    if [[ $rc -ne 0 && $n_bad -eq 0 ]]; then
        fail "tests ($label): meson test exited $rc"
        return
    fi
    printf -- '-- tests (%s): done (%ds)\n' "$label" $((SECONDS - step_start))
}

# Prints the name of a test in DIR's last meson test log that passed and whose
# output holds a simulator summary (`... seeds=N steps=M ... violations=0`)
# with N and M at least the given numbers: what actually ran, not what a
# test's arguments suggest.
sim_covered_by() {
    local dir=$1 seeds_min=$2 steps_min=$3
    local json="$dir/meson-logs/testlog.json"
    [[ -s "$json" ]] || return 0
    python3 -c '
import json, re, sys
seeds_min, steps_min = int(sys.argv[2]), int(sys.argv[3])
summary = re.compile(r"\bseeds=(\d+) steps=(\d+)\b.*\bviolations=(\d+)\s*$", re.M)
for line in open(sys.argv[1]):
    if not line.strip():
        continue
    t = json.loads(line)
    if t["result"] != "OK":
        continue
    for m in summary.finditer(t.get("stdout") or ""):
        seeds, steps, violations = map(int, m.groups())
        if seeds >= seeds_min and steps >= steps_min and violations == 0:
            print(t["name"])
            sys.exit(0)
' "$json" "$seeds_min" "$steps_min" || true
}

# The simulator: many seeds, expecting a summary line with violations=0.
run_sim() {
    local dir=$1
    local sim="$dir/tests/sim/nicraft-sim"
    local log="$tmp/sim.log"
    local covered

    covered=$(sim_covered_by "$dir" "$SIM_SEEDS" "$SIM_STEPS")
    if [[ -n "$covered" ]]; then
        printf '\n== simulator: already run by test %s (>= %d seeds x %d steps, violations=0)\n' \
            "$covered" "$SIM_SEEDS" "$SIM_STEPS"
        return
    fi
    header "simulator: $sim --seeds $SIM_SEEDS --steps $SIM_STEPS"
    if [[ ! -x "$sim" ]]; then
        fail "simulator: $sim was not built"
        return
    fi
    local rc=0
    "$sim" --seeds "$SIM_SEEDS" --steps "$SIM_STEPS" >"$log" 2>&1 || rc=$?
    if [[ $rc -eq 0 ]] && grep -Eq '(^|[^[:alnum:]_])violations=0([^0-9]|$)' "$log" &&
        ! grep -Eq '(^|[^[:alnum:]_])violations=[1-9]' "$log"; then
        grep -E 'violations=' "$log" | tail -n 3
        pass "simulator ($SIM_SEEDS seeds)"
    else
        tail -n 60 "$log"
        fail "simulator ($SIM_SEEDS seeds): exit $rc, expected a summary with violations=0"
    fi
}

header "install-deps"
if bash deploy/install-deps.sh; then
    pass "install-deps"
else
    fail "install-deps"
fi

normal_built=false
asan_built=false
if configure_and_build build normal -Dbuildtype=debugoptimized -Db_sanitize=none -Db_lto=true; then
    normal_built=true
fi
# The sanitizer and fuzz builds go without link-time optimization: it would
# only lengthen their links.
if configure_and_build build-asan asan -Dbuildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false -Db_lto=false; then
    asan_built=true
fi

if $normal_built; then
    run_meson_tests build normal
else
    printf '\n== tests (normal): not run, the build failed\n'
fi
if $asan_built; then
    # Each test's timeout is its author's, for both builds (the simulator
    # runs fewer seeds in a sanitizer build to fit).
    run_meson_tests build-asan asan
else
    printf '\n== tests (asan): not run, the build failed\n'
fi

if $normal_built; then
    run_sim build
fi

# The libFuzzer targets (WAL replay, snapshot loading) need clang: their own
# build, and only the 'fuzz' suite runs there, each target briefly (the
# smoke scripts take a duration; run them longer by hand).
if CC=clang configure_and_build build-fuzz fuzz -Dbuildtype=debugoptimized -Db_sanitize=none \
    -Dfuzz=true -Db_lto=false; then
    run_meson_tests build-fuzz fuzz --suite fuzz
else
    printf '\n== tests (fuzz): not run, the build failed\n'
fi

printf '\n== summary\n'
for name in "${skipped_names[@]+"${skipped_names[@]}"}"; do
    echo "skipped: $name"
done
for name in "${failed_names[@]+"${failed_names[@]}"}"; do
    echo "failed: $name"
done
echo "$n_passed passed, $n_failed failed"
[[ $n_failed -eq 0 ]]
