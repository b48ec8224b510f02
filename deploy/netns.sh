#!/usr/bin/env bash
# netns.sh - test hosts for the dataplane (SPEC section 6): N network
# namespaces, each with one veth whose peer sits on a bridge in a switch
# namespace of its own, so that nothing in the caller's namespace changes.
#
#   deploy/netns.sh up N          create PREFIX-sw (bridge PREFIX-br) and
#                                 PREFIX-h1..PREFIX-hN; host i's veth is
#                                 PREFIX-h<i>v inside PREFIX-h<i>, up, with
#                                 no IP: a DPDK process attaches
#                                 net_af_packet (or net_af_xdp) to it
#   deploy/netns.sh addr I        give host I's veth the kernel address
#                                 198.18.0.I/15 (a kernel-side peer)
#   deploy/netns.sh down          remove every namespace this script made
#   deploy/netns.sh ip I          print host I's address, 198.18.0.I
#
# PREFIX is $NICRAFT_NETNS_PREFIX (default "nrc", 2..6 characters of
# [a-z0-9]) so that tests and benchmarks run side by side. Idempotent: up
# over an existing set re-creates it; down with nothing there succeeds.
# Only names starting with PREFIX- are ever created or removed; addresses
# come from 198.18.0.0/15 (RFC 2544 benchmarking). Needs root.
set -euo pipefail

prefix=${NICRAFT_NETNS_PREFIX:-nrc}
if ! [[ $prefix =~ ^[a-z0-9]{2,6}$ ]]; then
    echo "netns.sh: prefix '$prefix' must be 2..6 characters of [a-z0-9]" >&2
    exit 2
fi
sw="$prefix-sw"
br="$prefix-br"
max_hosts=32

die() { echo "netns.sh: $*" >&2; exit 1; }

host_ns() { echo "$prefix-h$1"; }
host_if() { echo "$prefix-h$1v"; }
host_port() { echo "$prefix-h$1b"; }

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

down() {
    local ns
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^$prefix-(sw|h[0-9]+)$" || true); do
        ip netns del "$ns"
    done
}

up() {
    local n=$1 i
    [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= max_hosts)) || die "N must be 1..$max_hosts, not '$n'"
    down
    ip netns add "$sw"
    ip -n "$sw" link set lo up
    ip -n "$sw" link add "$br" type bridge
    ip -n "$sw" link set "$br" type bridge forward_delay 0 stp_state 0 || true
    ip -n "$sw" link set "$br" up
    # The bridge models a switch: with br_netfilter loaded, every IPv4 frame
    # crossing it would also run the iptables hooks (~0.5 us a frame here),
    # which non-IP frames skip. Per namespace: the host's setting is kept.
    ip netns exec "$sw" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
        net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 \
        >/dev/null 2>&1 || true
    for ((i = 1; i <= n; i++)); do
        local ns
        ns=$(host_ns "$i")
        ip netns add "$ns"
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || true
        ip -n "$ns" link set lo up
        ip -n "$ns" link add "$(host_if "$i")" type veth peer name "$(host_port "$i")" netns "$sw"
        ip -n "$sw" link set "$(host_port "$i")" master "$br"
        ip -n "$sw" link set "$(host_port "$i")" up
        ip -n "$ns" link set "$(host_if "$i")" up
        # af_packet sees every frame; checksums are ours to compute.
        ip netns exec "$ns" ethtool -K "$(host_if "$i")" tx off rx off >/dev/null 2>&1 || true
    done
}

addr() {
    local i=$1
    [[ $i =~ ^[0-9]+$ ]] && ((i >= 1 && i <= max_hosts)) || die "I must be 1..$max_hosts, not '$i'"
    ns_exists "$(host_ns "$i")" || die "no namespace $(host_ns "$i"); run 'up' first"
    ip -n "$(host_ns "$i")" addr replace "198.18.0.$i/15" dev "$(host_if "$i")"
}

case "${1:-}" in
up) up "${2:-2}" ;;
down) down ;;
addr) addr "${2:-}" ;;
ip) echo "198.18.0.${2:?host index}" ;;
*) echo "usage: netns.sh up N | addr I | ip I | down" >&2; exit 2 ;;
esac
