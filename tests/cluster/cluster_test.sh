#!/usr/bin/env bash
# cluster_test.sh TRANSPORT CASE BUILD_DIR NETNS_SH - one end-to-end case on a
# real three-member cluster of nicraftd (issue 6, SPEC sections 2 and 4),
# over kernel UDP on loopback (udp) or DPDK net_af_packet in network
# namespaces (dpdk). tests/cluster/meson.build registers each (transport,
# case) pair. Prints `N passed, M failed` last; exit 0 only when M is 0,
# 77 when skipped (never under CI).
#
# Cases:
#   kill-restart     acknowledged puts are read back from every member after
#                    each member in turn is killed with SIGKILL and restarted
#   restart-flags    a restart with another token, then another member list,
#                    starts, warns that the flags are ignored, serves the data
#   join-mismatch    a joining node whose peer URL matches no member is
#                    refused, naming its name=URL and the cluster's members
#   other-cluster    client frames with another cluster ID are dropped and
#                    counted (other_cluster_drops) while the cluster serves
#   ctl-malformed    garbage, non-object and unknown-command control
#                    requests get "ok": false; the node keeps serving
#   snapshot         with --snapshot-count 100, a member stopped while 1000
#                    keys are written catches up by an installed snapshot
#   sigterm-handoff  SIGTERM to the leader hands leadership over within about
#                    an election timeout; writes continue
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=cluster_lib.sh
. "$here/cluster_lib.sh"
# shellcheck disable=SC2154 # cl_failed and CL_* come from cluster_lib.sh

if [[ $# -ne 4 ]]; then
    echo "usage: cluster_test.sh udp|dpdk CASE BUILD_DIR NETNS_SH"
    echo "0 passed, 1 failed"
    exit 2
fi
transport=$1
case_name=$2

# Member I's log holds PATTERN (grep -E) in what it wrote since its last start.
log_since_start_has() {
    awk '/^--- start /{buf=""} {buf = buf $0 "\n"} END{printf "%s", buf}' "$(cl_logf "$1")" |
        grep -Eq -- "$2"
}

# Waits until member I applied what the others applied, then reads keys.
catch_up_and_check() { # I FROM TO TAG
    local i=$1 want rc got
    want=$(cl_max_applied)
    cl_wait_applied "$i" "$want" 30
    rc=$?
    got=$(cl_field "$i" applied_index)
    check "member $i applied up to $want (it reports ${got:-nothing})" $rc
    cl_check_keys "$i" "$2" "$3" "$4"
    check "member $i serves key-$2..key-$3 = $4-N" $?
}

case_kill_restart() {
    local per=20 last i j rc
    cl_start_all || { check "cluster starts" 1; return; }
    cl_put_keys "$CL_LEADER" 1 "$per" v
    check "put key-1..key-$per (acknowledged)" $?
    last=$per
    for i in 1 2 3; do
        cl_kill "$i" KILL
        echo "--- member $i killed (SIGKILL)"
        # Another member takes the writes while $i is down.
        j=$((i % 3 + 1))
        cl_wait_leader 20 >/dev/null
        check "a leader while member $i is down" $?
        cl_put_keys "$j" $((last + 1)) $((last + per)) v
        check "put key-$((last + 1))..key-$((last + per)) through member $j while member $i is down" $?
        last=$((last + per))
        cl_start "$i"
        cl_wait_serving "$i" 60
        check "member $i restarted with the same flags and serves" $?
        for j in 1 2 3; do
            catch_up_and_check "$j" 1 "$last" v
        done
    done
    # The cluster still takes load from the benchmark harness. The warm-up
    # second absorbs each client's first request to a restarted DPDK member
    # (its reply is dropped until the member has ARPed for the client).
    cl_bench --cluster-id "$CL_CLUSTER_ID" --clients 4 --duration 2 --warmup 1 --keys 100 \
        --check >"$CL_TMP/bench.out" 2>&1
    rc=$?
    sed 's/^/  /' "$CL_TMP/bench.out" | head -5
    check "nicraft-bench --check after the restarts" $rc
}

case_restart_flags() {
    local cid mid i=2 rc
    cl_start_all || { check "cluster starts" 1; return; }
    cl_put_keys 1 1 10 f
    check "put key-1..key-10" $?
    cid=$(cl_field $i cluster_id)
    mid=$(cl_field $i id)
    local -a variants=(
        "token:--initial-cluster-token other-$CL_TOKEN"
        "list:--initial-cluster ${CL_NAMES[$i]}=${CL_PEER[$i]},zz=udp://127.0.0.2:2380"
    )
    local v label
    for v in "${variants[@]}"; do
        label=${v%%:*}
        cl_kill $i TERM
        # shellcheck disable=SC2086 # the flag and its value are two words
        cl_start $i ${v#*:}
        cl_wait_serving $i 60
        check "restart with another $label starts" $?
        log_since_start_has $i "warning: .*are ignored on a restart"
        check "restart with another $label logs that the initial-cluster flags are ignored" $?
        grep -E "ignored on a restart" "$(cl_logf $i)" | tail -1 | cut -c1-200 | sed 's/^/  /'
        [[ $(cl_field $i cluster_id) == "$cid" && $(cl_field $i id) == "$mid" ]]
        check "restart with another $label keeps cluster $cid and member $mid" $?
        catch_up_and_check $i 1 10 f
    done
    cl_kill $i TERM
    cl_start $i
    cl_wait_serving $i 60
    ! log_since_start_has $i "ignored on a restart"
    check "a restart with the original flags does not warn" $?
    cl_put_keys $i 11 12 f
    rc=$?
    check "put through the restarted member" $rc
}

case_join_mismatch() {
    local log="$CL_TMP/joiner.log" rc i url pre=()
    cl_start_all || { check "cluster starts" 1; return; }
    # A URL no `member add` announced: port 4 on member 1's host.
    url=${CL_PEER[1]%:*}:47380
    local curl=${CL_CLIENT[1]%:*}:47379
    [[ -n ${CL_NS[1]} ]] && pre=(ip netns exec "${CL_NS[1]}")
    local -a f=(--name "${CL_PREFIX}d" --data-dir "$CL_TMP/d4"
        --initial-cluster "$CL_IC,${CL_PREFIX}d=$url" --initial-cluster-state existing
        --initial-cluster-id "$CL_CLUSTER_ID" --listen-peer-urls "$url"
        --listen-client-urls "$curl" --control-socket "$CL_TMP/c4.sock"
        --quota-backend-bytes "$CL_QUOTA")
    if [[ $transport == dpdk ]]; then
        echo "join-mismatch runs over udp only"
        check "transport" 1
        return
    fi
    timeout 30 "${pre[@]}" "$CL_BIN/node/nicraftd" "${f[@]}" >"$log" 2>&1
    rc=$?
    sed 's/^/  [joiner] /' "$log" | tail -5 | cut -c1-600
    [[ $rc != 0 && $rc != 124 ]]
    check "the joining node exits with an error (exit $rc) within 30 s" $?
    grep -q "unmatched member" "$log"
    check "the error says unmatched member" $?
    grep -qF "${CL_PREFIX}d=$url" "$log"
    check "the error names this node: ${CL_PREFIX}d=$url" $?
    for i in 1 2 3; do
        grep -qF "${CL_NAMES[$i]}=${CL_PEER[$i]}" "$log"
        check "the error names member ${CL_NAMES[$i]}=${CL_PEER[$i]}" $?
    done
    # nr_err holds 255 bytes; the refusal ends with its advice (member add,
    # or the name and URL it printed): a cut one lost it.
    grep -q "unmatched member.*it printed" "$log"
    rc=$?
    local len
    len=$(grep "unmatched member" "$log" | head -1 | sed 's/.*cannot start: //' | tr -d '\n' | wc -c)
    check "the refusal is whole, its advice included (the message has $len bytes)" $rc
    [[ ! -S $CL_TMP/c4.sock ]]
    check "the refused node never opened its control socket" $?
    [[ $(cl_ctl 1 -w json member list | grep -o '"id"' | wc -l) == 3 ]]
    check "the cluster still has 3 members" $?
    cl_put_keys 1 1 3 j && cl_check_keys 1 1 3 j
    check "the cluster keeps serving" $?
}

drops_sum() {
    local i d s=0
    for i in 1 2 3; do
        d=$(cl_field $i other_cluster_drops)
        [[ $d =~ ^[0-9]+$ ]] || { echo "x"; return; }
        s=$((s + d))
    done
    echo $s
}

case_other_cluster() {
    local before after wrong rc i
    cl_start_all || { check "cluster starts" 1; return; }
    before=$(drops_sum)
    [[ $before =~ ^[0-9]+$ ]]
    check "every member reports other_cluster_drops ($before)" $?
    # Another cluster's ID: the real one with its bits flipped.
    wrong=$(printf '%016x' $((0x$CL_CLUSTER_ID ^ 0x5a5a5a5a5a5a5a5a)))
    cl_bench --cluster-id "$wrong" --clients 4 --duration 1 --warmup 0 --target all \
        --timeout-ms 100 --max-tries 1 >"$CL_TMP/bench.out" 2>&1
    rc=$?
    sed 's/^/  /' "$CL_TMP/bench.out" | head -3
    grep -Eq '(^| )ops=0( |$)' "$CL_TMP/bench.out"
    check "no request of cluster $wrong was answered" $?
    after=$(drops_sum)
    echo "  other_cluster_drops: $before before, $after after"
    [[ $after =~ ^[0-9]+$ ]] && ((after > before))
    check "other_cluster_drops rose" $?
    for i in 1 2 3; do
        cl_alive $i
        check "member $i still runs" $?
    done
    cl_put_keys 2 1 5 o && cl_check_keys 3 1 5 o
    check "the cluster keeps serving" $?
    cl_bench --cluster-id "$CL_CLUSTER_ID" --clients 4 --duration 1 --warmup 0 --check \
        >"$CL_TMP/bench2.out" 2>&1
    check "nicraft-bench with the right cluster ID succeeds" $?
    : "$rc"
}

# Sends each line of stdin on one control connection; prints one response
# line per request (or "NO RESPONSE").
ctl_raw() {
    timeout 20 python3 -c '
import socket, sys
lines = sys.stdin.buffer.read().split(b"\n")[:-1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rb")
for line in lines:
    s.sendall(line + b"\n")
    try:
        resp = f.readline()
    except OSError:
        resp = b""
    print(resp.decode(errors="replace").rstrip("\n") if resp else "NO RESPONSE")
    sys.stdout.flush()
' "$1"
}

case_ctl_malformed() {
    local out n i line
    cl_start_all || { check "cluster starts" 1; return; }
    # One request a line, each answered {"ok": false, ...} on one connection.
    local -a bad=(
        'garbage'
        '{"cmd": "endpoint status"'
        '[1, 2, 3]'
        '"endpoint status"'
        '42'
        'null'
        '{"cmd": "no such command"}'
        '{"cmd": 5}'
        '{"args": {}}'
        '{"cmd": "endpoint status", "extra": 1}'
        '{"cmd": "endpoint status", "args": [1]}'
        "$(head -c 200000 /dev/zero | tr '\0' 'x')"
    )
    out=$(printf '%s\n' "${bad[@]}" '{"cmd": "endpoint status", "id": 7}' | ctl_raw "$(cl_sock 1)")
    n=${#bad[@]}
    for ((i = 0; i < n; i++)); do
        line=$(sed -n "$((i + 1))p" <<<"$out")
        python3 -c 'import json,sys
r = json.loads(sys.argv[1])
sys.exit(0 if r.get("ok") is False and isinstance(r.get("error"), str) and r["error"] else 1)' \
            "$line" 2>/dev/null
        check "request $((i + 1)) (${bad[$i]:0:40}) gets an ok:false error: ${line:0:120}" $?
    done
    line=$(sed -n "$((n + 1))p" <<<"$out")
    [[ $line == *'"ok": true'* || $line == *'"ok":true'* ]]
    check "the same connection still serves endpoint status: ${line:0:80}" $?
    cl_alive 1
    check "member 1 still runs" $?
    cl_ctl 1 endpoint status >/dev/null
    check "nicraftctl endpoint status afterwards" $?
    cl_put_keys 1 1 3 m && cl_check_keys 1 1 3 m
    check "a put through member 1 afterwards" $?
}

case_snapshot() {
    local n=1000 f i
    cl_start_all --snapshot-count 100 || { check "cluster starts" 1; return; }
    # A follower stops; the others write past several snapshots.
    f=$((CL_LEADER % 3 + 1))
    cl_kill $f TERM
    echo "--- member $f stopped"
    i=$((f % 3 + 1))
    [[ $i == "$f" ]] && i=$((i % 3 + 1))
    cl_put_keys "$CL_LEADER" 1 $n s
    check "put key-1..key-$n while member $f is down" $?
    cl_start $f --snapshot-count 100
    cl_wait_serving $f 60
    check "member $f restarted" $?
    catch_up_and_check $f 1 $n s
    log_since_start_has $f "installed snapshot"
    check "member $f installed a snapshot from the leader" $?
    grep -E "installed snapshot|snapshot" "$(cl_logf $f)" | tail -3 | cut -c1-200 | sed 's/^/  /'
    cl_put_keys $f $((n + 1)) $((n + 5)) s && cl_check_keys $i $((n + 1)) $((n + 5)) s
    check "writes through member $f continue" $?
}

case_sigterm_handoff() {
    local l t0 t1 term0 new ms st i
    cl_start_all || { check "cluster starts" 1; return; }
    l=$CL_LEADER
    cl_put_keys "$l" 1 10 h
    check "put key-1..key-10" $?
    term0=$(cl_field "$l" raft_term)
    t0=$(date +%s%N)
    kill -TERM "${CL_PIDS[$l]}"
    new=""
    local end=$((SECONDS + 10))
    while ((SECONDS < end)) && [[ -z $new ]]; do
        for i in 1 2 3; do
            [[ $i == "$l" ]] && continue
            [[ $(cl_field "$i" is_leader) == true ]] && new=$i
        done
    done
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    [[ -n $new ]]
    check "member ${new:-none} leads ${ms} ms after SIGTERM to leader $l" $?
    # About one election timeout (1000 ms), with room for a loaded machine.
    ((ms <= CL_ELECTION_MS * 2))
    check "the hand-off took ${ms} ms, within 2 election timeouts (${CL_ELECTION_MS} ms each)" $?
    cl_kill "$l" TERM
    st=$CL_LAST_STATUS
    check "the old leader exited cleanly (status $st)" "$st"
    log_since_start_has "$l" "handing leadership"
    check "the old leader logged its hand-off" $?
    grep -h "handing leadership" "$(cl_logf "$l")" | tail -1 | cut -c1-160 | sed 's/^/  /'
    [[ -n $new ]] && (($(cl_field "$new" raft_term) > term0))
    check "the term rose past $term0" $?
    [[ -n $new ]] || new=$((l % 3 + 1))
    cl_put_keys "$new" 11 20 h
    check "writes continue through the new leader" $?
    cl_start "$l"
    cl_wait_serving "$l" 60
    catch_up_and_check "$l" 1 20 h
}

cl_init "$transport" "$3" "$4"
start=$SECONDS
case "$case_name" in
kill-restart) case_kill_restart ;;
restart-flags) case_restart_flags ;;
join-mismatch) case_join_mismatch ;;
other-cluster) case_other_cluster ;;
ctl-malformed) case_ctl_malformed ;;
snapshot) case_snapshot ;;
sigterm-handoff) case_sigterm_handoff ;;
*) echo "unknown case '$case_name'"; check "case name" 1 ;;
esac
# shellcheck disable=SC2154 # cl_failed: cluster_lib.sh
if ((cl_failed > 0)); then
    cl_dump_logs
fi
for i in 1 2 3; do
    st=${CL_DEAD[$i]}
    if [[ -z $st && -n ${CL_PIDS[$i]} ]] && ! kill -0 "${CL_PIDS[$i]}" 2>/dev/null; then
        wait "${CL_PIDS[$i]}" 2>/dev/null
        st=$?
    fi
    [[ -z $st ]] || check "member $i, started by this test, stopped before the end (exit status $st)" 1
done
echo "case $case_name over $transport took $((SECONDS - start)) s"
cl_summary
