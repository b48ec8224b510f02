#!/usr/bin/env bash
# compare-etcd.sh - the same closed-loop write workload against a 3-member
# etcd cluster and a 3-member nicraft cluster on this machine's loopback:
# 8-byte keys, 256-byte values, 1 / 16 / 128 concurrent clients (each
# awaiting its previous put), writes to the leader, 15 s per client count
# after a 1 s warm-up. Prints ops/s and p50/p99/p99.9/max per client count
# for each system, then the ratio nicraft/etcd.
#
#   bench/compare-etcd.sh [--seconds S] [--warmup S] [--clients "1 16 128"]
#       [--build DIR] [--port-base P] [--nicraft-transport udp|dpdk|both]
#       [--only etcd|nicraft] [--keep DIR]
#
# etcd: Debian's etcd-server (3.4) is installed with apt-get when `etcd` is
# missing (needs root), and the Node.js client `etcd3` from the npm
# registry into bench/.etcd-client/ when missing; bench/etcd_load.js drives
# it. nicraft: nicraftd, nicraftctl and nicraft-bench from --build (default
# build/): over kernel UDP on loopback, and over DPDK net_af_packet in
# network namespaces through deploy/local-cluster.sh (its benchmark client
# runs in a namespace of its own); --nicraft-transport picks one or both
# (default both, one after the other). Both systems share the machine with their load generator, so the
# figures compare the two on the same footing, not against a dedicated host.
# Every process started here is stopped on exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=15 warmup=1 client_counts="1 16 128" build="$root/build" port_base=23800
nicraft_transport=both only="" keep=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --seconds) seconds=$2 ;;
    --warmup) warmup=$2 ;;
    --clients) client_counts=$2 ;;
    --build) build=$2 ;;
    --port-base) port_base=$2 ;;
    --nicraft-transport) nicraft_transport=$2 ;;
    --only) only=$2 ;;
    --keep) keep=$2 ;;
    -h | --help)
        sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "compare-etcd.sh: unknown argument $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift 2 || { echo "compare-etcd.sh: $1 needs a value" >&2; exit 2; }
done
case "$nicraft_transport" in udp | dpdk | both) ;; *)
    echo "compare-etcd.sh: --nicraft-transport $nicraft_transport: want udp, dpdk or both" >&2
    exit 2
    ;;
esac
case "$only" in "" | etcd | nicraft) ;; *)
    echo "compare-etcd.sh: --only $only: want etcd or nicraft" >&2
    exit 2
    ;;
esac
if ! [[ "$port_base" =~ ^[0-9]+$ ]] || ((port_base < 1024 || port_base > 65000)); then
    echo "compare-etcd.sh: --port-base $port_base: want 1024..65000" >&2
    exit 2
fi

cache="$root/bench/.etcd-client"
if [[ -n "$keep" ]]; then
    work=$keep
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/nicraft-compare-etcd.XXXXXX")
fi
pids=()
nicraft_pids=()
local_cluster_up=false

cleanup() {
    local rc=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if $local_cluster_up; then
        local_cluster down >/dev/null 2>&1 || true
    fi
    [[ -z "$keep" ]] && rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '== %s\n' "$*"; }

# ---- etcd ----

ensure_etcd() {
    if command -v etcd >/dev/null; then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        echo "compare-etcd.sh: etcd is missing and installing it (apt-get install etcd-server) needs root" >&2
        return 1
    fi
    say "installing etcd-server (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
}

ensure_etcd_client() {
    if [[ -f "$cache/node_modules/etcd3/package.json" ]]; then
        return 0
    fi
    command -v npm >/dev/null || { echo "compare-etcd.sh: npm is missing (Node.js 20 and npm are needed for the etcd client)" >&2; return 1; }
    say "installing the etcd3 Node.js client into $cache (npm)"
    mkdir -p "$cache"
    (cd "$cache" && npm install --no-audit --no-fund --silent etcd3@1 >/dev/null)
}

etcd_port() { # etcd_port MEMBER(1..3) client|peer
    local off=$(($1 - 1))
    [[ "$2" == client ]] && echo $((port_base + off)) || echo $((port_base + 10 + off))
}

wait_healthy() { # wait_healthy URL SECONDS
    local deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        if curl -fsS "$1/health" 2>/dev/null | grep -q '"health":"true"'; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# Each run of etcd_load.js prints nicraft-bench's summary line.
declare -A etcd_line nicraft_udp_line nicraft_dpdk_line

run_etcd() {
    # Called as `run_etcd || ...`, where set -e does not apply: each step checks.
    ensure_etcd || return 1
    ensure_etcd_client || return 1
    local cluster="" endpoints="" i
    for i in 1 2 3; do
        cluster+="${cluster:+,}e$i=http://127.0.0.1:$(etcd_port $i peer)"
        endpoints+="${endpoints:+,}http://127.0.0.1:$(etcd_port $i client)"
    done
    say "etcd $(etcd --version | head -n 1 | awk '{print $3}'): 3 members on 127.0.0.1 (clients ${endpoints})"
    for i in 1 2 3; do
        etcd --name "e$i" --data-dir "$work/etcd-e$i" \
            --listen-client-urls "http://127.0.0.1:$(etcd_port $i client)" \
            --advertise-client-urls "http://127.0.0.1:$(etcd_port $i client)" \
            --listen-peer-urls "http://127.0.0.1:$(etcd_port $i peer)" \
            --initial-advertise-peer-urls "http://127.0.0.1:$(etcd_port $i peer)" \
            --initial-cluster "$cluster" --initial-cluster-token "compare-$$" \
            --initial-cluster-state new --logger zap --log-level warn \
            >"$work/etcd-e$i.log" 2>&1 &
        pids+=($!)
    done
    for i in 1 2 3; do
        if ! wait_healthy "http://127.0.0.1:$(etcd_port $i client)" 30; then
            echo "compare-etcd.sh: etcd member e$i is not healthy after 30 s; its log:" >&2
            tail -n 20 "$work/etcd-e$i.log" >&2
            return 1
        fi
    done
    local n
    for n in $client_counts; do
        etcd_line[$n]=$(node "$root/bench/etcd_load.js" --endpoints "$endpoints" --clients "$n" \
            --seconds "$seconds" --warmup "$warmup" --key-size 8 --value-size 256 \
            --json "$work/etcd-$n.json" | tail -n 1) || {
            echo "compare-etcd.sh: etcd_load.js failed with $n clients" >&2
            return 1
        }
        echo "etcd     ${etcd_line[$n]}"
    done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}

# ---- nicraft ----

# The build folder's program: meson puts each beside its sources.
nicraftd="" nicraftctl="" nicraft_bench=""
find_progs() {
    nicraftd="$build/node/nicraftd" nicraftctl="$build/control/nicraftctl"
    nicraft_bench="$build/bench/nicraft-bench"
    local p
    for p in "$nicraftd" "$nicraftctl" "$nicraft_bench"; do
        if [[ ! -x "$p" ]]; then
            echo "compare-etcd.sh: $p is missing: build it (ninja -C $build) or give --build DIR" >&2
            return 1
        fi
    done
}

nicraft_port() { # nicraft_port MEMBER(1..3) client|peer
    local off=$(($1 - 1))
    [[ "$2" == client ]] && echo $((port_base + 20 + off)) || echo $((port_base + 30 + off))
}

json_field() { # json_field FILE KEY
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(str(v).lower() if isinstance(v,bool) else v)' "$1" "$2"
}

# Waits until one member says it leads; prints the cluster ID.
wait_leader() {
    local deadline=$((SECONDS + 30)) i
    while ((SECONDS < deadline)); do
        for i in 1 2 3; do
            if "$nicraftctl" --socket "$work/n$i/ctl.sock" -w json endpoint status \
                >"$work/status-n$i.json" 2>/dev/null &&
                [[ $(json_field "$work/status-n$i.json" is_leader) == true ]]; then
                json_field "$work/status-n$i.json" cluster_id
                return 0
            fi
        done
        sleep 0.2
    done
    return 1
}

start_nicraft_udp() { # sets endpoints and cluster_id
    local i cluster=""
    for i in 1 2 3; do
        cluster+="${cluster:+,}n$i=udp://127.0.0.1:$(nicraft_port $i peer)"
    done
    endpoints=""
    for i in 1 2 3; do
        mkdir -p "$work/n$i"
        local peer="udp://127.0.0.1:$(nicraft_port $i peer)"
        local client="udp://127.0.0.1:$(nicraft_port $i client)"
        endpoints+="${endpoints:+,}$client"
        "$nicraftd" --name "n$i" --data-dir "$work/n$i/data" \
            --initial-cluster "$cluster" --initial-cluster-token "compare-$$" \
            --initial-cluster-state new \
            --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
            --listen-client-urls "$client" --advertise-client-urls "$client" \
            --control-socket "$work/n$i/ctl.sock" --transport udp --idle adaptive \
            --quota-backend-bytes 67108864 \
            >"$work/nicraftd-n$i.log" 2>&1 &
        pids+=($!)
        nicraft_pids+=($!)
    done
    if ! cluster_id=$(wait_leader); then
        echo "compare-etcd.sh: no nicraft member leads after 30 s; the last lines of each log:" >&2
        for i in 1 2 3; do tail -n 5 "$work/nicraftd-n$i.log" | sed "s/^/n$i: /" >&2; done
        return 1
    fi
}

stop_nicraft_udp() {
    local pid
    for pid in "${nicraft_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${nicraft_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    nicraft_pids=()
}

# The DPDK cluster is deploy/local-cluster.sh's, in its own state folder and
# namespaces (prefix nrce), built from --build.
local_cluster() {
    NICRAFT_LOCAL_TRANSPORT=dpdk NICRAFT_LOCAL_BUILD_DIR="$build" \
        NICRAFT_LOCAL_STATE="$work/local-cluster" NICRAFT_NETNS_PREFIX=nrce \
        NICRAFT_LOCAL_BENCH_SECONDS="$seconds" NICRAFT_LOCAL_WARMUP_SECONDS="$warmup" \
        "$root/deploy/local-cluster.sh" "$@"
}

run_nicraft_udp() {
    local endpoints="" cluster_id="" n
    start_nicraft_udp || return 1
    say "nicraft (udp): 3 members on loopback, cluster $cluster_id (clients $endpoints)"
    for n in $client_counts; do
        nicraft_udp_line[$n]=$("$nicraft_bench" --endpoints "$endpoints" --cluster-id "$cluster_id" \
            --clients "$n" --duration "$seconds" --warmup "$warmup" --key-size 8 \
            --value-size 256 --target leader --transport udp --json "$work/nicraft-udp-$n.json" |
            tail -n 1) || {
            echo "compare-etcd.sh: nicraft-bench failed with $n clients" >&2
            return 1
        }
        echo "nicraft-udp  ${nicraft_udp_line[$n]}"
    done
    stop_nicraft_udp
}

run_nicraft_dpdk() {
    local n out
    say "nicraft (dpdk): 3 members over net_af_packet in namespaces (deploy/local-cluster.sh)"
    local_cluster_up=true
    NICRAFT_LOCAL_CLIENTS=1 local_cluster up >"$work/local-cluster-up.log" 2>&1 || {
        echo "compare-etcd.sh: deploy/local-cluster.sh up failed; its output:" >&2
        tail -n 20 "$work/local-cluster-up.log" >&2
        return 1
    }
    for n in $client_counts; do
        out=$(NICRAFT_LOCAL_CLIENTS=$n local_cluster bench 2>&1) || {
            echo "compare-etcd.sh: the DPDK benchmark failed with $n clients: $out" >&2
            return 1
        }
        nicraft_dpdk_line[$n]=$(grep '^clients=' <<<"$out" | tail -n 1)
        echo "nicraft-dpdk ${nicraft_dpdk_line[$n]}"
    done
    local_cluster down >/dev/null 2>&1
    local_cluster_up=false
}

# ---- report ----

field() { # field LINE NAME
    sed -n "s/.*\\b$2=\\([0-9.]*\\).*/\\1/p" <<<"$1"
}

report() {
    say "results: ${seconds} s per client count after ${warmup} s warm-up, 8-byte keys, 256-byte values, puts to the leader"
    printf '%-12s %-8s %10s %10s %10s %10s %10s %7s\n' system clients ops/s p50_us p99_us p999_us max_us errors
    local n sys line
    for n in $client_counts; do
        for sys in etcd nicraft-udp nicraft-dpdk; do
            case $sys in
            etcd) line=${etcd_line[$n]:-} ;;
            nicraft-udp) line=${nicraft_udp_line[$n]:-} ;;
            nicraft-dpdk) line=${nicraft_dpdk_line[$n]:-} ;;
            esac
            [[ -n "$line" ]] || continue
            printf '%-12s %-8s %10s %10s %10s %10s %10s %7s\n' "$sys" "$n" "$(field "$line" ops_per_s)" \
                "$(field "$line" p50_us)" "$(field "$line" p99_us)" "$(field "$line" p999_us)" \
                "$(field "$line" max_us)" "$(field "$line" errors)"
        done
    done
    for n in $client_counts; do
        local e=${etcd_line[$n]:-} t r
        for t in udp dpdk; do
            if [[ $t == udp ]]; then r=${nicraft_udp_line[$n]:-}; else r=${nicraft_dpdk_line[$n]:-}; fi
            [[ -n "$e" && -n "$r" ]] || continue
            awk -v t="$t" -v n="$n" -v a="$(field "$r" ops_per_s)" -v b="$(field "$e" ops_per_s)" \
                -v c="$(field "$r" p99_us)" -v d="$(field "$e" p99_us)" \
                'BEGIN { printf "ratio nicraft-%s/etcd clients=%s ops_per_s=%s p99=%s\n", t, n,
                         (b > 0 ? sprintf("%.2f", a / b) : "n/a"),
                         (d > 0 ? sprintf("%.2f", c / d) : "n/a") }'
        done
    done
}

status=0
if [[ "$only" != nicraft ]]; then
    run_etcd || status=1
fi
if [[ "$only" != etcd ]]; then
    find_progs || exit 1
    if [[ $nicraft_transport != dpdk ]]; then run_nicraft_udp || status=1; fi
    if [[ $nicraft_transport != udp ]]; then run_nicraft_dpdk || status=1; fi
fi
report
exit $status
