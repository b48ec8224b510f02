#!/usr/bin/env bash
# local-cluster.sh - a three-member nicraft cluster on this machine, each
# member in a network namespace of its own on a bridge (deploy/netns.sh,
# 198.18.0.0/15, SPEC section 6), over DPDK net_af_packet; the README's
# main-job command.
#
#   deploy/local-cluster.sh up       install dependencies if missing, build if
#                                    needed, create the namespaces, start the
#                                    members, wait for a leader, run a 10 s
#                                    benchmark, print member list and
#                                    endpoint status (already up: says so and
#                                    prints the tables)
#   deploy/local-cluster.sh bench    run the benchmark again
#   deploy/local-cluster.sh status   print member list and endpoint status
#   deploy/local-cluster.sh down     stop the members by PID, remove the
#                                    namespaces and the data (logs are kept)
#
# Hosts: PREFIX-h1..h3 hold the members (DPDK owns their veths; the members
# answer ARP), PREFIX-h4 is a kernel-side client (198.18.0.4) from which
# nicraftctl's put/get and nicraft-bench reach the client URLs.
#
# Environment:
#   NICRAFT_LOCAL_TRANSPORT    dpdk (default) or udp (kernel sockets on the
#                              namespaces' addresses)
#   NICRAFT_LOCAL_BUILD_DIR    build folder (default build/ in the repository)
#   NICRAFT_LOCAL_STATE        state folder: PIDs, data, logs (default
#                              /var/tmp/nicraft-local-cluster)
#   NICRAFT_LOCAL_BENCH_SECONDS  benchmark duration (default 10)
#   NICRAFT_LOCAL_WARMUP_SECONDS  benchmark warm-up, not measured (default 1)
#   NICRAFT_LOCAL_CLIENTS      benchmark clients (default 16)
#   NICRAFT_LOCAL_QUOTA_BYTES  --quota-backend-bytes (default 64 MiB)
#   NICRAFT_NETNS_PREFIX       namespace prefix (default nrl)
# Needs root (namespaces, af_packet).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
transport=${NICRAFT_LOCAL_TRANSPORT:-dpdk}
build=${NICRAFT_LOCAL_BUILD_DIR:-$root/build}
[[ $build == /* ]] || build=$root/$build
state=${NICRAFT_LOCAL_STATE:-/var/tmp/nicraft-local-cluster}
bench_s=${NICRAFT_LOCAL_BENCH_SECONDS:-10}
warmup_s=${NICRAFT_LOCAL_WARMUP_SECONDS:-1}
clients=${NICRAFT_LOCAL_CLIENTS:-16}
quota=${NICRAFT_LOCAL_QUOTA_BYTES:-67108864}
export NICRAFT_NETNS_PREFIX=${NICRAFT_NETNS_PREFIX:-nrl}
pfx=$NICRAFT_NETNS_PREFIX
netns=$root/deploy/netns.sh
token=nicraft-local
names=(x node-1 node-2 node-3)
client_ns="$pfx-h4"

die() { echo "local-cluster: $*" >&2; exit 1; }
say() { echo "local-cluster: $*"; }

case "$transport" in
dpdk | udp) ;;
*) die "NICRAFT_LOCAL_TRANSPORT must be dpdk or udp, not '$transport'" ;;
esac
[[ $bench_s =~ ^[1-9][0-9]*$ ]] || die "NICRAFT_LOCAL_BENCH_SECONDS must be a positive integer, not '$bench_s'"
[[ $warmup_s =~ ^[0-9]+$ ]] || die "NICRAFT_LOCAL_WARMUP_SECONDS must be a whole number, not '$warmup_s'"
[[ $clients =~ ^[1-9][0-9]*$ ]] || die "NICRAFT_LOCAL_CLIENTS must be a positive integer, not '$clients'"

nicraftd=$build/node/nicraftd
nicraftctl=$build/control/nicraftctl
nicraft_bench=$build/bench/nicraft-bench

peer_url() { echo "udp://198.18.0.$1:2380"; }
client_url() { echo "udp://198.18.0.$1:2379"; }
sock() { echo "$state/member-$1.sock"; }
pidf() { echo "$state/member-$1.pid"; }
logf() { echo "$state/logs/member-$1.log"; }

need_root() {
    [[ $(id -u) == 0 ]] || die "needs root (network namespaces, DPDK af_packet); run it with sudo"
}

ensure_deps() {
    bash "$root/deploy/install-deps.sh" || die "deploy/install-deps.sh failed"
}

# Configures build/ when it is not a build folder yet, then runs ninja when
# a program is missing or older than a source file.
ensure_built() {
    local stale=false p
    for p in "$nicraftd" "$nicraftctl" "$nicraft_bench"; do
        [[ -x $p ]] || stale=true
    done
    if ! $stale && [[ -n $(find "$root" -path "$build" -prune -o -path "$root/build*" -prune -o \
        \( -name '*.c' -o -name '*.h' -o -name meson.build \) -newer "$nicraftd" -print -quit) ]]; then
        stale=true
    fi
    $stale || return 0
    if [[ ! -f $build/meson-private/coredata.dat ]]; then
        say "configuring $build"
        meson setup "$build" "$root" >/dev/null || die "meson setup $build failed"
    fi
    say "building in $build"
    ninja -C "$build" >/dev/null || die "ninja -C $build failed (run it by hand to see why)"
    for p in "$nicraftd" "$nicraftctl" "$nicraft_bench"; do
        [[ -x $p ]] || die "the build did not produce $p"
    done
}

pid_of() { # prints member I's PID when it runs
    local p
    [[ -f $(pidf "$1") ]] || return 1
    p=$(cat "$(pidf "$1")")
    [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || return 1
    # The PID must still be our nicraftd, not a reused number.
    grep -qa -- "--control-socket" "/proc/$p/cmdline" 2>/dev/null &&
        grep -qaF -- "$(sock "$1")" "/proc/$p/cmdline" 2>/dev/null || return 1
    echo "$p"
}

n_running() {
    local i n=0
    for i in 1 2 3; do pid_of "$i" >/dev/null && n=$((n + 1)); done
    echo "$n"
}

ctl() { # ctl I ARG...: nicraftctl on member I's socket, from the client host
    local i=$1
    shift
    timeout 20 ip netns exec "$client_ns" "$nicraftctl" --socket "$(sock "$i")" "$@"
}

field() { # field I NAME: from endpoint status -w json
    ctl "$1" -w json --command-timeout 2s endpoint status 2>/dev/null |
        python3 -c 'import json,sys
v = json.load(sys.stdin).get(sys.argv[1])
print(str(v).lower() if isinstance(v, bool) else v)' "$2" 2>/dev/null
}

start_member() {
    local i=$1 ic
    ic="${names[1]}=$(peer_url 1),${names[2]}=$(peer_url 2),${names[3]}=$(peer_url 3)"
    local -a f=(--name "${names[$i]}" --data-dir "$state/data/member-$i"
        --initial-cluster "$ic" --initial-cluster-token "$token"
        --listen-peer-urls "$(peer_url "$i")" --listen-client-urls "$(client_url "$i")"
        --control-socket "$(sock "$i")" --idle adaptive --quota-backend-bytes "$quota")
    if [[ $transport == dpdk ]]; then
        f+=(--transport dpdk
            --dpdk-args "--no-huge --no-pci --vdev=net_af_packet0,iface=$pfx-h${i}v -m 256"
            --lcores "0@(0-$(($(nproc) - 1)))")
    fi
    echo "--- $(date '+%F %T') start: ${f[*]}" >>"$(logf "$i")"
    setsid ip netns exec "$pfx-h$i" "$nicraftd" "${f[@]}" >>"$(logf "$i")" 2>&1 </dev/null &
    echo $! >"$(pidf "$i")"
}

wait_leader() { # prints the leader's index; at most $1 seconds
    local end=$((SECONDS + $1)) i
    while ((SECONDS < end)); do
        for i in 1 2 3; do
            [[ $(field "$i" is_leader) == true ]] && { echo "$i"; return 0; }
        done
        sleep 0.3
    done
    return 1
}

show_logs() {
    local i
    for i in 1 2 3; do
        echo "--- $(logf "$i"), last lines:" >&2
        tail -n 8 "$(logf "$i")" 2>/dev/null | sed 's/^/    /' >&2
    done
}

status() {
    local i any=""
    for i in 1 2 3; do
        pid_of "$i" >/dev/null && { any=$i; break; }
    done
    [[ -n $any ]] || die "no member is running (state in $state); start them with: $0 up"
    echo "member list (through ${names[$any]}):"
    ctl "$any" member list || true
    echo
    echo "endpoint status:"
    # One table for the three members, as etcdctl prints several endpoints:
    # the first member's header, then every member's row.
    local out="" t
    for i in 1 2 3; do
        if pid_of "$i" >/dev/null && t=$(ctl "$i" endpoint status 2>&1); then
            out+="$t"$'\n'
        else
            out+="NOTE ${names[$i]}: not answering (log: $(logf "$i"))"$'\n'
        fi
    done
    printf '%s' "$out" | awk '
        /^NOTE / { notes = notes substr($0, 6) "\n"; next }
        /^\+/ { border = $0; next }
        /^\|/ { if (!header) { header = $0; next } if ($0 == header) next; rows = rows $0 "\n" }
        END {
            if (header) { print border; print header; print border; printf "%s", rows; print border }
            printf "%s", notes
        }'
}

bench() {
    local i cid=""
    for i in 1 2 3; do
        pid_of "$i" >/dev/null && cid=$(field "$i" cluster_id) && [[ -n $cid ]] && break
    done
    [[ -n $cid ]] || die "no member answers endpoint status; is the cluster up? ($0 status)"
    say "nicraft-bench: $clients clients, ${bench_s} s, 8-byte keys, 256-byte values, writes to the leader, from $client_ns"
    timeout $((bench_s + 60)) ip netns exec "$client_ns" "$nicraft_bench" \
        --endpoints "$(client_url 1),$(client_url 2),$(client_url 3)" --cluster-id "$cid" \
        --clients "$clients" --duration "$bench_s" --warmup "$warmup_s" --keys 20000 \
        --json "$state/bench.json" ||
        die "nicraft-bench failed (exit $?)"
    say "JSON report: $state/bench.json"
}

down() {
    local i p k stopped=0
    for i in 1 2 3; do
        if p=$(pid_of "$i"); then
            kill -TERM "$p" 2>/dev/null || true
            for ((k = 0; k < 100; k++)); do
                kill -0 "$p" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$p" 2>/dev/null; then
                say "${names[$i]} (pid $p) still runs 10 s after SIGTERM; sending SIGKILL"
                kill -KILL "$p" 2>/dev/null || true
            fi
            stopped=$((stopped + 1))
        fi
        rm -f "$(pidf "$i")" "$(sock "$i")"
        rm -rf "/var/run/dpdk/nicraft-${names[$i]}"
    done
    "$netns" down
    rm -rf "$state/data" "$state/bench.json"
    say "stopped $stopped member(s); namespaces $pfx-* removed; logs kept in $state/logs"
}

up() {
    local i n l
    n=$(n_running)
    if [[ $n == 3 ]]; then
        say "already up (3 members running; state in $state)"
        status
        return
    fi
    ensure_deps
    ensure_built
    if [[ $n != 0 ]]; then
        say "$n of 3 members running: stopping them to start afresh"
    fi
    down >/dev/null
    mkdir -p "$state/logs" "$state/data"
    chmod 700 "$state"
    "$netns" up 4
    "$netns" addr 4
    if [[ $transport == udp ]]; then
        for i in 1 2 3; do "$netns" addr "$i"; done
    fi
    say "starting 3 members over $transport ($([[ $transport == dpdk ]] && echo "net_af_packet on $pfx-h1v..$pfx-h3v" || echo "kernel UDP")), logs in $state/logs"
    for i in 1 2 3; do start_member "$i"; done
    for i in 1 2 3; do
        local end=$((SECONDS + 60))
        until [[ -S $(sock "$i") ]] && ctl "$i" --command-timeout 1s endpoint status >/dev/null 2>&1; do
            if ! pid_of "$i" >/dev/null; then
                show_logs
                die "${names[$i]} exited during start-up (log: $(logf "$i")); '$0 down' cleans up"
            fi
            ((SECONDS < end)) || { show_logs; die "${names[$i]} does not answer on $(sock "$i") after 60 s"; }
            sleep 0.2
        done
    done
    l=$(wait_leader 30) || { show_logs; die "no leader after 30 s; see the logs above"; }
    say "leader: ${names[$l]}"
    bench
    echo
    status
    echo
    say "up: '$0 bench' to benchmark again, '$0 status', '$0 down' to stop"
}

cmd=${1:-}
case "$cmd" in
up) need_root; up ;;
bench) need_root; bench ;;
status) need_root; status ;;
down) need_root; down ;;
*)
    echo "usage: $0 up|bench|status|down   (NICRAFT_LOCAL_TRANSPORT=dpdk|udp)" >&2
    exit 2
    ;;
esac
