#!/usr/bin/env bash
# xport_test.sh udp|dpdk XPORT_PEER DP_PEER NETNS_SH - two processes
# exchanging messages through dp_xport.
#   udp:  a node and a client over kernel UDP on 127.0.0.1 (both local
#         endpoints each), small and 1 MiB (fragmented) messages both ways,
#         source endpoints checked, frames of another cluster counted.
#   dpdk: in namespaces made by deploy/netns.sh (198.18.0.0/15): a DPDK
#         node (net_af_packet, peer port 2380 and client port 2379 on one
#         address) and a DPDK client the same way; then a kernel-UDP client
#         (dp_xport over dp_udp) from a namespace with a kernel address,
#         across the bridge to both ports of the DPDK node: ARP both ways and
#         the replies reaching the kernel client; frames of another cluster;
#         ICMP echo from the kernel side (dp-peer kping).
# Namespaces are removed on any exit. The dpdk mode skips (77) without root
# or namespaces only when CI is unset (CONVENTIONS 7). Prints `N passed, M
# failed` last.
set -u
mode=$1
xpeer=$2
dpeer=$3
netns=$4
# shellcheck source=../checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../checks.sh"

is_ci=false
case "${CI:-}" in "" | false | 0) ;; *) is_ci=true ;; esac

skip_or_fail() {
    echo "xport_test: $*"
    if ! $is_ci; then
        echo "0 passed, 0 failed (skipped)"
        exit 77
    fi
    echo "0 passed, 1 failed"
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nicraft-xport.XXXXXX")
pids=()
made_netns=false
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if $made_netns; then "$netns" down; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

show() { # show LABEL FILE: what a program printed, less its ok lines
    grep -v '^ok:' "$2" | grep -v '^EAL:' | sed "s/^/  [$1] /" | head -30
}

wait_ready() { # bounded at 10 s
    for _ in $(seq 100); do grep -qs 'ready' "$1" && return 0; sleep 0.1; done
    return 1
}

field() { # field FILE NAME: the last NAME=value in FILE
    grep -o "\b$2=[0-9]*" "$1" | tail -1 | cut -d= -f2
}

# stop_node PID LOG NAME: SIGTERM, then its exit status and counters.
stop_node() {
    kill -TERM "$1" 2>/dev/null
    local st=0
    wait "$1" || st=$?
    check "$3: node exit status $st" "$st"
    absorb "$2"
}

if [[ $mode == udp ]]; then
    timeout 60 "$xpeer" node --kind udp --ip 127.0.0.1 --port 0 --seconds 50 \
        >"$tmp/node.log" 2>&1 &
    npid=$!
    pids+=("$npid")
    wait_ready "$tmp/node.log"
    check "udp: node ready" $?
    p0=$(field "$tmp/node.log" port0)
    p1=$(field "$tmp/node.log" port1)
    timeout 50 "$xpeer" client --kind udp --ip 127.0.0.1 --node 127.0.0.1 --node-port "$p0" \
        --node-port1 "$p1" --count 4096 --big-count 8 --big-size 1048576 --seconds 40 \
        >"$tmp/client.log" 2>&1
    check "udp: client exit status" $?
    show client "$tmp/client.log"
    absorb "$tmp/client.log"
    timeout 10 "$xpeer" foreign --node 127.0.0.1 --node-port "$p1" --count 3 \
        >"$tmp/foreign.log" 2>&1
    check "udp: foreign exit status" $?
    absorb "$tmp/foreign.log"
    sleep 0.2
    stop_node "$npid" "$tmp/node.log" udp
    show node "$tmp/node.log"
    [[ $(field "$tmp/node.log" other_cluster) -ge 3 ]]
    check "udp: the node counted 3 frames of another cluster (other_cluster)" $?
    [[ $(field "$tmp/node.log" by_local0) -gt 0 && $(field "$tmp/node.log" by_local1) -gt 0 ]]
    check "udp: the node received on both local endpoints" $?
    [[ $(field "$tmp/node.log" rx_reassembled) -ge 8 ]]
    check "udp: the node reassembled the large messages" $?
    echo "$passed passed, $failed failed"
    [[ $failed == 0 ]]
    exit
fi

[[ $(id -u) == 0 ]] || skip_or_fail "needs root"
export NICRAFT_NETNS_PREFIX="nrx$(($$ % 1000))"
probe="$NICRAFT_NETNS_PREFIX-h99"
ip netns add "$probe" 2>/dev/null || skip_or_fail "network namespaces unavailable"
ip netns del "$probe"
made_netns=true
"$netns" up 3 || { echo "0 passed, 1 failed"; exit 1; }
"$netns" addr 3
pfx=$NICRAFT_NETNS_PREFIX
ns1="$pfx-h1"; ns2="$pfx-h2"; ns3="$pfx-h3"
node_ip=198.18.0.1
afp="qpairs=1,framecnt=2048"
eal_common="--no-huge -m 256 --no-pci --no-shconf --log-level=*:warning"

start_node() { # start_node NAME
    timeout 120 ip netns exec "$ns1" "$xpeer" node --kind dpdk \
        --eal "$eal_common --vdev=net_af_packet0,iface=$pfx-h1v,$afp" --lcores 0 \
        --prefix "$pfx-n$1" --ip "$node_ip" --port 2380 --port1 2379 --seconds 110 >"$tmp/node-$1.log" 2>&1 &
    npid=$!
    pids+=("$npid")
    wait_ready "$tmp/node-$1.log"
    check "$1: DPDK node ready" $?
}

# 1. DPDK to DPDK: both local ports each, 1 MiB messages both ways.
start_node dd
timeout 90 ip netns exec "$ns2" "$xpeer" client --kind dpdk \
    --eal "$eal_common --vdev=net_af_packet0,iface=$pfx-h2v,$afp" --lcores 1 \
    --prefix "$pfx-cdd" --ip 198.18.0.2 --port 2380 --port1 2379 --node "$node_ip" --node-port 2380 \
    --node-port1 2379 --count 4096 --big-count 8 --big-size 1048576 --seconds 80 \
    >"$tmp/client-dd.log" 2>&1
check "dd: DPDK client exit status" $?
show "dd client" "$tmp/client-dd.log"
absorb "$tmp/client-dd.log"
[[ $(field "$tmp/client-dd.log" no_neigh) -ge 1 ]]
check "dd: the client's first send waited for ARP (no_neigh counted)" $?

# 2. Kernel UDP (dp_xport over dp_udp) from host 3 to the same DPDK node.
timeout 60 ip netns exec "$ns3" "$xpeer" client --kind udp --ip 198.18.0.3 --port 0 \
    --node "$node_ip" --node-port 2380 --node-port1 2379 --count 2048 --big-count 4 \
    --big-size 1048576 --seconds 50 >"$tmp/client-ku.log" 2>&1
check "ku: kernel UDP client exit status" $?
show "ku client" "$tmp/client-ku.log"
absorb "$tmp/client-ku.log"
neigh=$(ip -n "$ns3" neigh show "$node_ip")
[[ $neigh == *lladdr* ]]
check "ku: the kernel resolved the DPDK node by ARP ($neigh)" $?

# 3. Frames of another cluster, and ICMP echo, from the kernel of host 3.
timeout 10 ip netns exec "$ns3" "$xpeer" foreign --node "$node_ip" --node-port 2379 --count 3 \
    >"$tmp/foreign.log" 2>&1
check "foreign: exit status" $?
absorb "$tmp/foreign.log"
timeout 20 ip netns exec "$ns3" "$dpeer" kping --dst "$node_ip" --count 3 >"$tmp/kping.log" 2>&1
check "kping: exit status" $?
absorb "$tmp/kping.log"
sleep 0.2
stop_node "$npid" "$tmp/node-dd.log" dpdk
show node "$tmp/node-dd.log"
log="$tmp/node-dd.log"
[[ $(field "$log" other_cluster) -ge 3 ]]
check "node: 3 frames of another cluster dropped and counted as other_cluster" $?
[[ $(field "$log" by_local0) -gt 0 && $(field "$log" by_local1) -gt 0 ]]
check "node: messages arrived on both local ports" $?
[[ $(field "$log" rx_reassembled) -ge 12 ]]
check "node: the large messages were reassembled (DPDK and kernel clients)" $?
[[ $(field "$log" arp_learned) -ge 2 ]]
check "node: learned both clients' addresses by ARP (DPDK and kernel)" $?
[[ $(field "$log" arp_replied) -ge 2 ]]
check "node: answered ARP requests" $?
[[ $(field "$log" icmp_replied) -ge 3 ]]
check "node: answered 3 ICMP echo requests" $?
[[ $(field "$log" wake_fd) == 1 ]]
check "node: waits on the af_packet sockets when idle" $?

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
