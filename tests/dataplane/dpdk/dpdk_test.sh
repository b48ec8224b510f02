#!/usr/bin/env bash
# dpdk_test.sh PEER NETNS_SH - two DPDK processes exchanging nicraft
# messages over net_af_packet and net_af_xdp (veths in namespaces) and over
# net_memif, with what an idle poller blocks on (the PMD's sockets; memif
# has none); ARP plus ping from a kernel-side namespace, and kernel UDP
# (dp_udp) to a DPDK echo (issue 5). All traffic stays in the
# namespaces this script makes (198.18.0.0/15); they are removed on any exit.
# Skips (77) without root or namespaces only when CI is unset (CONVENTIONS 7).
# Prints `N passed, M failed` last.
set -u
peer=$1
netns=$2
# shellcheck source=../checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../checks.sh"

is_ci=false
case "${CI:-}" in "" | false | 0) ;; *) is_ci=true ;; esac

skip_or_fail() {
    echo "dpdk_test: $*"
    if ! $is_ci; then
        echo "0 passed, 0 failed (skipped)"
        exit 77
    fi
    echo "0 passed, 1 failed"
    exit 1
}

[[ $(id -u) == 0 ]] || skip_or_fail "needs root"
export NICRAFT_NETNS_PREFIX="nrt$(($$ % 1000))"
probe="$NICRAFT_NETNS_PREFIX-h99"
ip netns add "$probe" 2>/dev/null || skip_or_fail "network namespaces unavailable"
ip netns del "$probe"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nicraft-dpdk.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    "$netns" down
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$netns" up 3 || { echo "0 passed, 1 failed"; exit 1; }
"$netns" addr 3
pfx=$NICRAFT_NETNS_PREFIX
ns1="$pfx-h1"; ns2="$pfx-h2"; ns3="$pfx-h3"

wait_ready() { # memif clients need the server's socket; bounded at 5 s
    for _ in $(seq 50); do grep -qs 'echo: ready' "$1" && return; sleep 0.1; done
}

# exchange NAME SIZE COUNT VDEV1 VDEV2 NS1 NS2
exchange() {
    local name=$1 size=$2 count=$3 v1=$4 v2=$5 n1=$6 n2=$7
    timeout 40 ip netns exec "$n1" "$peer" echo --vdev "$v1" --prefix "$pfx-e$name" \
        --lcore 0 --ip 198.18.0.1 --seconds 30 >"$tmp/$name-echo.log" 2>&1 &
    local epid=$!
    pids+=("$epid")
    wait_ready "$tmp/$name-echo.log"
    timeout 40 ip netns exec "$n2" "$peer" client --vdev "$v2" --prefix "$pfx-c$name" \
        --lcore 1 --ip 198.18.0.2 --peer 198.18.0.1 --count "$count" --size "$size" \
        --seconds 20 >"$tmp/$name-client.log" 2>&1
    check "$name: client exit status" $?
    local st=0
    wait "$epid" || st=$?
    # The status itself (128 + N: killed by signal N) tells a crash from a
    # failed check when this fails.
    check "$name: echo side exit status $st" "$st"
    sed "s/^/  [$name client] /" "$tmp/$name-client.log" | grep -v '^  .*ok:' | head -20
    sed "s/^/  [$name echo] /" "$tmp/$name-echo.log" | grep -v '^  .*ok:' | head -20
    absorb "$tmp/$name-client.log"
    absorb "$tmp/$name-echo.log"
    grep -q 'echoed=[1-9]' "$tmp/$name-echo.log"
    check "$name: the echo side echoed messages" $?
}

exchange afp64 64 2048 "net_af_packet0,iface=$pfx-h1v,qpairs=1" "net_af_packet0,iface=$pfx-h2v,qpairs=1" "$ns1" "$ns2"
exchange afp1k 1024 512 "net_af_packet0,iface=$pfx-h1v,qpairs=1" "net_af_packet0,iface=$pfx-h2v,qpairs=1" "$ns1" "$ns2"
sock="$tmp/memif.sock"
exchange memif64 64 2048 "net_memif0,role=server,socket=$sock" "net_memif0,role=client,socket=$sock" "$ns1" "$ns1"
exchange xdp1k 1024 512 "net_af_xdp0,iface=$pfx-h1v,start_queue=0,queue_count=1" \
    "net_af_xdp0,iface=$pfx-h2v,start_queue=0,queue_count=1" "$ns1" "$ns2"
# An idle poller blocks on the PMD's sockets where it has them (af_packet:
# one per queue pair; af_xdp: the XDP socket) and is woken by traffic (the
# client's first frames after its start-up); memif has none and sleeps.
for name in afp64 xdp1k; do
    grep -q 'echo:.* wake_fds=[1-9][0-9]* fd_wakeups=[1-9]' "$tmp/$name-echo.log"
    check "$name: the idle echo side blocked on the PMD's sockets and traffic woke it" $?
done
grep -q 'echo:.* wake_fds=0 fd_wakeups=0' "$tmp/memif64-echo.log"
check "memif64: no socket to block on: the idle echo side sleeps" $?

# ARP and ping from the kernel of host 3 to the DPDK process of host 1.
timeout 30 ip netns exec "$ns1" "$peer" echo --vdev "net_af_packet0,iface=$pfx-h1v,qpairs=1" \
    --prefix "$pfx-eping" --lcore 0 --ip 198.18.0.1 --seconds 20 >"$tmp/ping-echo.log" 2>&1 &
epid=$!
pids+=("$epid")
wait_ready "$tmp/ping-echo.log"
timeout 20 ip netns exec "$ns3" "$peer" kping --dst 198.18.0.1 --count 5 >"$tmp/kping.log" 2>&1
check "kping: exit status" $?
absorb "$tmp/kping.log"
cat "$tmp/kping.log" | grep -v '^ok:' | sed 's/^/  /'
dpdk_mac=$(grep -o 'mac=[0-9a-f:]*' "$tmp/ping-echo.log" | head -1)
neigh=$(ip -n "$ns3" neigh show 198.18.0.1)
[[ $neigh == *lladdr* ]]
check "kernel resolved 198.18.0.1 by ARP ($neigh)" $?
kill -TERM "$epid" 2>/dev/null
wait "$epid"
check "ping echo side exit status" $?
absorb "$tmp/ping-echo.log"
grep -q 'arp_replied=[1-9]' "$tmp/ping-echo.log"
check "the DPDK side answered ARP" $?
grep -Eq 'icmp_replied=([5-9]|[1-9][0-9]+)' "$tmp/ping-echo.log"
check "the DPDK side answered 5 echo requests" $?
: "$dpdk_mac"

# Kernel UDP (dp_udp) from host 3 to the DPDK echo of host 1: same codec.
timeout 30 ip netns exec "$ns1" "$peer" echo --vdev "net_af_packet0,iface=$pfx-h1v,qpairs=1" \
    --prefix "$pfx-eudp" --lcore 0 --ip 198.18.0.1 --seconds 20 >"$tmp/udp-echo.log" 2>&1 &
epid=$!
pids+=("$epid")
wait_ready "$tmp/udp-echo.log"
timeout 25 ip netns exec "$ns3" "$peer" uclient --ip 198.18.0.3 --peer 198.18.0.1 \
    --count 1024 --size 200 --seconds 15 >"$tmp/uclient.log" 2>&1
check "kernel UDP client: exit status" $?
wait "$epid"
check "kernel UDP: echo side exit status" $?
grep -v '^ok:' "$tmp/uclient.log" | sed 's/^/  [udp client] /'
absorb "$tmp/uclient.log"
absorb "$tmp/udp-echo.log"

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
