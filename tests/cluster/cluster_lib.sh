# shellcheck shell=bash disable=SC2034 # variables are read by the sourcing test
# cluster_lib.sh - sourced by the cluster tests: a real three-member nicraft
# cluster over kernel UDP (loopback) or DPDK net_af_packet (veths in network
# namespaces made by deploy/netns.sh, 198.18.0.0/15; SPEC section 6).
#
#   cl_init TRANSPORT BUILD_DIR NETNS_SH   udp|dpdk; sets up namespaces and a
#                                          temporary folder, removed on exit
#   cl_start I [FLAG...]                   start member I (1..3) with its flags
#                                          (and extra ones, which win)
#   cl_start_all [FLAG...]                 the three, then a leader within 20 s
#   cl_kill I [SIGNAL]                     signal member I (default KILL), wait
#                                          for it to exit (bounded)
#   cl_ctl I ARG...                        nicraftctl on member I's socket, run
#                                          where the client URLs are reachable
#   cl_field I NAME                        a field of `endpoint status -w json`
#   cl_wait_serving I / cl_wait_leader / cl_wait_applied I INDEX
#   cl_put_keys I FROM TO TAG / cl_check_keys I FROM TO TAG
#   check NAME RC / cl_summary             counting; `N passed, M failed` last
#
# Every wait is bounded; every process started here is killed, every
# namespace, data folder and DPDK runtime folder removed on exit (trap).
# Without root or namespaces the UDP tests run on the host's loopback with
# free ports; the DPDK tests skip (77), or fail under CI (CONVENTIONS 7).

CL_TRANSPORT=""
CL_BIN=""
CL_NETNS=""
CL_TMP=""
CL_PREFIX=""
CL_NS_USED=false
CL_IC=""
CL_TOKEN=""
CL_CLUSTER_ID=""
CL_QUOTA=16777216
CL_ELECTION_MS=1000
declare -a CL_PIDS=() CL_NAMES=() CL_PEER=() CL_CLIENT=() CL_NS=() CL_CLIENT_EXEC=()
declare -a CL_EXTRA_PIDS=() CL_DEAD=("" "" "" "")
cl_passed=0
cl_failed=0
cl_is_ci=false
case "${CI:-}" in "" | false | 0) ;; *) cl_is_ci=true ;; esac

cl_log() { printf '%s\n' "$*"; }

check() { # check NAME RC: RC 0 passes
    if [[ $2 == 0 ]]; then
        cl_passed=$((cl_passed + 1))
        echo "ok: $1"
    else
        cl_failed=$((cl_failed + 1))
        echo "FAIL: $1"
    fi
}

cl_summary() {
    echo "$cl_passed passed, $cl_failed failed"
    [[ $cl_failed == 0 ]]
}

# Skips (77) outside CI, fails under CI (CONVENTIONS section 7).
cl_skip_or_fail() {
    echo "cluster test: $*"
    if ! $cl_is_ci; then
        echo "0 passed, 0 failed (skipped)"
        exit 77
    fi
    echo "0 passed, 1 failed"
    exit 1
}

# Stops one pid: TERM, then KILL after 3 s; never waits unbounded.
cl_stop_pid() {
    local p=$1 i
    kill -0 "$p" 2>/dev/null || return 0
    kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < 30; i++)); do
        kill -0 "$p" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null
    sleep 0.1
}

cl_cleanup() {
    local p i
    trap - EXIT INT TERM
    for p in "${CL_PIDS[@]}" "${CL_EXTRA_PIDS[@]}"; do
        [[ -n $p ]] && kill -KILL "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if $CL_NS_USED; then
        NICRAFT_NETNS_PREFIX=$CL_PREFIX "$CL_NETNS" down >/dev/null 2>&1
    fi
    # EAL runtime folders, named by nicraftd after the member (nicraft-NAME).
    for ((i = 1; i <= ${#CL_NAMES[@]}; i++)); do
        [[ -n ${CL_NAMES[$i]:-} ]] && rm -rf "/var/run/dpdk/nicraft-${CL_NAMES[$i]}"
    done
    [[ -n $CL_TMP && -d $CL_TMP ]] && rm -rf "$CL_TMP"
}

# Prints N consecutive free UDP ports on 127.0.0.1 (host mode only).
cl_free_ports() {
    python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit(1)
EOF
}

cl_init() {
    CL_TRANSPORT=$1
    CL_BIN=$2
    CL_NETNS=$3
    local i have_ns=false
    for b in node/nicraftd control/nicraftctl bench/nicraft-bench; do
        [[ -x $CL_BIN/$b ]] || { echo "cluster test: $CL_BIN/$b is not built"; echo "0 passed, 1 failed"; exit 1; }
    done
    # One prefix per test run: namespaces, member names (nicraftd names its
    # EAL runtime folder after the member), so that runs side by side differ.
    CL_PREFIX="ct$(($$ % 10000))"
    CL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/nicraft-cluster.XXXXXX")
    trap cl_cleanup EXIT
    trap 'exit 1' INT TERM
    if [[ $(id -u) == 0 ]] && ip netns add "$CL_PREFIX-h99" 2>/dev/null; then
        ip netns del "$CL_PREFIX-h99"
        have_ns=true
    fi
    CL_TOKEN="tok-$CL_PREFIX"
    CL_NAMES=(x "${CL_PREFIX}a" "${CL_PREFIX}b" "${CL_PREFIX}c")
    CL_PIDS=("" "" "" "")
    local ncpu
    ncpu=$(nproc)
    case "$CL_TRANSPORT" in
    udp)
        if $have_ns; then
            # A namespace of our own: its loopback, fixed ports, nothing
            # shared with other clusters on this host.
            CL_NS_USED=true
            NICRAFT_NETNS_PREFIX=$CL_PREFIX "$CL_NETNS" up 1 >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
            for i in 1 2 3; do
                CL_NS[$i]="$CL_PREFIX-h1"
                CL_PEER[$i]="udp://127.0.0.1:${i}2380"
                CL_CLIENT[$i]="udp://127.0.0.1:${i}2379"
            done
            CL_CLIENT_EXEC=(ip netns exec "$CL_PREFIX-h1")
        else
            local base
            base=$(cl_free_ports 6) || { echo "cluster test: no free UDP ports"; echo "0 passed, 1 failed"; exit 1; }
            for i in 1 2 3; do
                CL_NS[$i]=""
                CL_PEER[$i]="udp://127.0.0.1:$((base + 2 * i - 2))"
                CL_CLIENT[$i]="udp://127.0.0.1:$((base + 2 * i - 1))"
            done
            CL_CLIENT_EXEC=()
        fi
        ;;
    dpdk)
        [[ $(id -u) == 0 ]] || cl_skip_or_fail "DPDK over net_af_packet needs root"
        $have_ns || cl_skip_or_fail "network namespaces unavailable"
        CL_NS_USED=true
        # Hosts 1..3 are the members (DPDK owns their veths); host 4 is a
        # kernel-side client (nicraftctl, nicraft-bench) with 198.18.0.4.
        NICRAFT_NETNS_PREFIX=$CL_PREFIX "$CL_NETNS" up 4 >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
        NICRAFT_NETNS_PREFIX=$CL_PREFIX "$CL_NETNS" addr 4
        for i in 1 2 3; do
            CL_NS[$i]="$CL_PREFIX-h$i"
            CL_PEER[$i]="udp://198.18.0.$i:2380"
            CL_CLIENT[$i]="udp://198.18.0.$i:2379"
        done
        CL_CLIENT_EXEC=(ip netns exec "$CL_PREFIX-h4")
        ;;
    *)
        echo "cluster test: transport '$CL_TRANSPORT' is neither udp nor dpdk"
        echo "0 passed, 1 failed"
        exit 1
        ;;
    esac
    CL_IC="${CL_NAMES[1]}=${CL_PEER[1]},${CL_NAMES[2]}=${CL_PEER[2]},${CL_NAMES[3]}=${CL_PEER[3]}"
    CL_NCPU=$ncpu
    echo "cluster: transport=$CL_TRANSPORT members=$CL_IC tmp=$CL_TMP"
}

cl_sock() { echo "$CL_TMP/c$1.sock"; }
cl_logf() { echo "$CL_TMP/n$1.log"; }

# The flags member I always gets (a restart repeats them).
cl_flags() {
    local i=$1
    local -a f=(--name "${CL_NAMES[$i]}" --data-dir "$CL_TMP/d$i"
        --initial-cluster "$CL_IC" --initial-cluster-token "$CL_TOKEN"
        --listen-peer-urls "${CL_PEER[$i]}" --listen-client-urls "${CL_CLIENT[$i]}"
        --control-socket "$(cl_sock "$i")" --idle adaptive
        --quota-backend-bytes "$CL_QUOTA" --election-ms "$CL_ELECTION_MS")
    if [[ $CL_TRANSPORT == dpdk ]]; then
        f+=(--transport dpdk
            --dpdk-args "--no-huge --no-pci --vdev=net_af_packet0,iface=$CL_PREFIX-h${i}v -m 256"
            --lcores "0@(0-$((CL_NCPU - 1)))")
    fi
    printf '%s\0' "${f[@]}"
}

# cl_start I [FLAG...]: later flags win over the standard ones.
cl_start() {
    local i=$1
    shift
    local -a f=() pre=()
    mapfile -d '' f < <(cl_flags "$i")
    [[ -n ${CL_NS[$i]} ]] && pre=(ip netns exec "${CL_NS[$i]}")
    echo "--- start $(date +%T.%N | cut -c1-12) ${*:-}" >>"$(cl_logf "$i")"
    "${pre[@]}" "$CL_BIN/node/nicraftd" "${f[@]}" "$@" >>"$(cl_logf "$i")" 2>&1 </dev/null &
    CL_PIDS[$i]=$!
}

# cl_kill I [SIGNAL]: sends SIGNAL (KILL), waits up to 15 s for the exit.
cl_kill() {
    local i=$1 sig=${2:-KILL} p=${CL_PIDS[$1]} k
    [[ -n $p ]] || return 0
    kill -"$sig" "$p" 2>/dev/null
    for ((k = 0; k < 150; k++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
        echo "member $i (pid $p) still runs 15 s after SIG$sig; killing it"
        kill -KILL "$p" 2>/dev/null
    fi
    wait "$p" 2>/dev/null
    CL_LAST_STATUS=$?
    CL_PIDS[$i]=""
}

cl_alive() { [[ -n ${CL_PIDS[$1]} ]] && kill -0 "${CL_PIDS[$1]}" 2>/dev/null; }

cl_ctl() {
    local i=$1
    shift
    timeout 20 "${CL_CLIENT_EXEC[@]}" "$CL_BIN/control/nicraftctl" --socket "$(cl_sock "$i")" "$@"
}

# cl_field I NAME: one field of member I's `endpoint status -w json`.
cl_field() {
    cl_ctl "$1" -w json --command-timeout 2s endpoint status 2>/dev/null |
        python3 -c 'import json,sys
v = json.load(sys.stdin).get(sys.argv[1])
print(str(v).lower() if isinstance(v, bool) else v)' "$2" 2>/dev/null
}

# cl_wait FOR_SECONDS COMMAND...: polls COMMAND every 0.1 s.
cl_wait() {
    local secs=$1 end
    shift
    end=$((SECONDS + secs))
    while ((SECONDS < end)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

cl_serving() { [[ -S $(cl_sock "$1") ]] && cl_ctl "$1" --command-timeout 1s endpoint status >/dev/null 2>&1; }
cl_wait_serving() { cl_wait "${2:-30}" cl_serving "$1"; }

# Prints the index (1..3) of the member that says it leads, or fails.
cl_leader() {
    local i
    for i in 1 2 3; do
        cl_alive "$i" || continue
        [[ $(cl_field "$i" is_leader) == true ]] && { echo "$i"; return 0; }
    done
    return 1
}

cl_wait_leader() { # prints the leader's index; bounded by $1 seconds (20)
    local end=$((SECONDS + ${1:-20})) l
    while ((SECONDS < end)); do
        l=$(cl_leader) && { echo "$l"; return 0; }
        sleep 0.2
    done
    return 1
}

cl_applied_at_least() {
    local a
    a=$(cl_field "$1" applied_index)
    [[ $a =~ ^[0-9]+$ ]] && ((a >= $2))
}

# cl_wait_applied I INDEX [SECONDS]
cl_wait_applied() { cl_wait "${3:-30}" cl_applied_at_least "$1" "$2"; }

cl_start_all() {
    local i
    for i in 1 2 3; do cl_start "$i" "$@"; done
    for i in 1 2 3; do
        cl_wait_serving "$i" 60 || { echo "member $i is not serving after 60 s"; cl_dump_logs; return 1; }
    done
    CL_LEADER=$(cl_wait_leader 20) || { echo "no leader after 20 s"; cl_dump_logs; return 1; }
    CL_CLUSTER_ID=$(cl_field 1 cluster_id)
    echo "cluster ${CL_CLUSTER_ID} up, leader member $CL_LEADER"
}

# The highest applied index among the members that run: what a caught-up
# member must reach.
cl_max_applied() {
    local i a m=0
    for i in 1 2 3; do
        cl_alive "$i" || continue
        a=$(cl_field "$i" applied_index)
        [[ $a =~ ^[0-9]+$ ]] && ((a > m)) && m=$a
    done
    echo "$m"
}

# One put or get by one nicraftctl; run by xargs, so exported. A line on
# stdout is a failure.
cl__put_one() {
    local o rc
    o=$(timeout 20 ${CLX_NS:+ip netns exec "$CLX_NS"} "$CLX_CTL" --socket "$CLX_SOCK" \
        put "key-$1" "$CLX_TAG-$1" 2>&1)
    rc=$?
    [[ $rc == 0 && $o == OK ]] || echo "put key-$1: exit $rc: ${o//$'\n'/ }"
}
cl__get_one() {
    local o rc
    o=$(timeout 20 ${CLX_NS:+ip netns exec "$CLX_NS"} "$CLX_CTL" --socket "$CLX_SOCK" \
        get "key-$1" --serializable 2>&1)
    rc=$?
    [[ $rc == 0 && $o == "key-$1"$'\n'"$CLX_TAG-$1" ]] ||
        echo "get key-$1: exit $rc: got [${o//$'\n'/ }], want [key-$1 $CLX_TAG-$1]"
}
export -f cl__put_one cl__get_one

# cl__each put|get I FROM TO TAG: 4 nicraftctl processes at a time.
cl__each() {
    local op=$1 i=$2 from=$3 to=$4 tag=$5 out
    local ns=""
    [[ ${#CL_CLIENT_EXEC[@]} -gt 0 ]] && ns=${CL_CLIENT_EXEC[3]}
    out=$(seq "$from" "$to" | CLX_NS=$ns CLX_CTL=$CL_BIN/control/nicraftctl \
        CLX_SOCK=$(cl_sock "$i") CLX_TAG=$tag xargs -P 4 -n 1 bash -c "cl__${op}_one \"\$1\"" _)
    [[ -z $out ]] && return 0
    echo "$out" | sort -V | head -5 | sed 's/^/  /'
    echo "  ($(echo "$out" | wc -l) of $((to - from + 1)) ${op}s failed on member $i)"
    return 1
}

# cl_put_keys I FROM TO TAG: puts key-N = TAG-N through member I; each put
# must be acknowledged (exit 0 and OK); prints the first that were not.
cl_put_keys() { cl__each put "$@"; }

# cl_check_keys I FROM TO TAG: every key-N reads TAG-N on member I
# (serializable: the member's own state); prints the first mismatches.
cl_check_keys() { cl__each get "$@"; }

cl_bench() { # cl_bench ARG...: nicraft-bench against all three client URLs
    timeout 60 "${CL_CLIENT_EXEC[@]}" "$CL_BIN/bench/nicraft-bench" \
        --endpoints "${CL_CLIENT[1]},${CL_CLIENT[2]},${CL_CLIENT[3]}" "$@"
}

cl_dump_logs() {
    local i st
    for i in 1 2 3; do
        if [[ -n ${CL_PIDS[$i]} ]] && ! kill -0 "${CL_PIDS[$i]}" 2>/dev/null; then
            wait "${CL_PIDS[$i]}" 2>/dev/null
            st=$?
            # 137: SIGKILL that this test did not send (another process,
            # the OOM killer); 134: abort (an assertion); 139: SIGSEGV.
            echo "--- member $i (pid ${CL_PIDS[$i]}) exited with status $st without being told to" \
                "$( ((st > 128)) && echo "(signal $(kill -l $((st - 128)) 2>/dev/null))")"
            CL_PIDS[$i]=""
            CL_DEAD[$i]=$st
        fi
        [[ -f $(cl_logf "$i") ]] || continue
        echo "--- member $i (${CL_NAMES[$i]}) log, last 25 lines:"
        tail -n 25 "$(cl_logf "$i")" | sed 's/^/  /'
    done
}
