# checks.sh - sourced by the dataplane's two-process test scripts
# (dpdk/dpdk_test.sh, xport/xport_test.sh): counted checks and the programs'
# own `N passed, M failed` lines folded into the script's.
passed=0
failed=0

check() { # check NAME CONDITION-RESULT
    if [[ $2 == 0 ]]; then
        passed=$((passed + 1)); echo "ok: $1"
    else
        failed=$((failed + 1)); echo "FAIL: $1"
    fi
}

# Adds a program's own `N passed, M failed` to ours.
absorb() {
    local line p f
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
    if [[ -z $line ]]; then
        failed=$((failed + 1)); echo "FAIL: $1 printed no summary"; return
    fi
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    passed=$((passed + p)); failed=$((failed + f))
}
