#!/usr/bin/env bash
# bench_smoke.sh NICRAFT_BENCH FAKE_SERVER - nicraft-bench for half a second
# against tests/client's scripted leader: the summary line must carry every
# field with sane values (operations done, no errors, ordered percentiles),
# the JSON file must parse and agree, and refused flags must say why.
# Prints `N passed, M failed` last.
set -uo pipefail
bench=$1 server=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/nicraft-bench-smoke.XXXXXX")
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0
check() { # check WHAT CONDITION...
    local what=$1; shift
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $what"; fi
}

"$server" --seconds 20 >"$work/server.out" &
server_pid=$!
for _ in $(seq 100); do grep -q '^port=' "$work/server.out" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's/^port=\([0-9]*\) .*/\1/p' "$work/server.out")
cluster=$(sed -n 's/.*cluster_id=\([0-9a-f]*\)$/\1/p' "$work/server.out")
check "the fake server printed its port" test -n "$port"

"$bench" --endpoints "udp://127.0.0.1:$port" --cluster-id "$cluster" --clients 8 \
    --duration 0.5 --warmup 0.1 --keys 100 --read-ratio 0.2 --json "$work/out.json" --check \
    >"$work/bench.out" 2>"$work/bench.err"
rc=$?
line=$(tail -n 1 "$work/bench.out")
echo "$line"
check "nicraft-bench exits 0 (stderr: $(cat "$work/bench.err"))" test "$rc" -eq 0
re='^clients=8 ops=([0-9]+) ops_per_s=([0-9]+) p50_us=([0-9.]+) p99_us=([0-9.]+) p999_us=([0-9.]+) max_us=([0-9.]+) errors=0$'
if [[ "$line" =~ $re ]]; then
    passed=$((passed + 1))
    ops=${BASH_REMATCH[1]} p50=${BASH_REMATCH[3]} p99=${BASH_REMATCH[4]} p999=${BASH_REMATCH[5]} max=${BASH_REMATCH[6]}
    check "operations were done ($ops)" test "$ops" -gt 10
    check "p50 <= p99 <= p999 <= max ($p50 $p99 $p999 $max)" \
        awk -v a="$p50" -v b="$p99" -v c="$p999" -v d="$max" 'BEGIN { exit !(a > 0 && a <= b && b <= c && c <= d) }'
    check "the JSON file parses and agrees" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["totals"]["ops"] == int(sys.argv[2]), j["totals"]
assert j["totals"]["errors"] == 0
assert j["config"]["clients"] == 8 and j["config"]["target"] == "leader"
assert j["totals"]["gets"] > 0 and j["totals"]["puts"] > 0
assert len(j["timeline"]) == 1 and j["timeline"][0]["ops"] == int(sys.argv[2])
assert j["latency_us"]["p50"] <= j["latency_us"]["p99"]
' "$work/out.json" "$ops"
else
    failed=$((failed + 1))
    echo "FAILED: the summary line's fields: \"$line\""
fi

# Refusals name what is wrong and exit 2.
refuse() { # refuse WANT ARGS...
    local want=$1; shift
    "$bench" "$@" >/dev/null 2>"$work/refuse.err"
    local r=$?
    check "refused ($*): exit $r, \"$(head -c 200 "$work/refuse.err")\"" \
        bash -c "[[ $r -eq 2 ]] && grep -q -- \"$want\" \"$work/refuse.err\""
}
refuse "supported: udp" --endpoints udp://127.0.0.1:1 --cluster-id 1 --transport dpdk
refuse "want leader or all" --endpoints udp://127.0.0.1:1 --cluster-id 1 --target some
refuse "1 to 16 hex digits" --endpoints udp://127.0.0.1:1 --cluster-id xyz
refuse "required" --cluster-id 1
refuse "above --key-size 2" --endpoints udp://127.0.0.1:1 --cluster-id 1 --key-size 2 --keys 1000

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
