#!/usr/bin/env bash
# driver_selftest.sh DRIVER WORKDIR [VECTORS] - proves that the conformance
# driver can fail (CONVENTIONS section 7: every test can fail).
#
# In a temporary folder under WORKDIR (the build folder) it writes small
# vector files of our own (not upstream's) and checks the driver's verdict:
#   1. correct cases pass, exit 0;
#   2. one altered expected line: that case fails, named by file and line;
#   3. malformed data (idx 0, an unclosed list): failed, named, the rest runs;
#   4. no cases at all: exit 1;
#   5. a missing folder: skip (77) with --skip-if-missing, unless CI is set;
#   6. if VECTORS exists: a copy of one upstream file with one expected line
#      altered fails exactly that case (the copy lives only under WORKDIR).
# Registered by tests/conformance/meson.build (suite conformance).
set -euo pipefail

if [[ $# -lt 2 || ! -x "$1" || ! -d "$2" ]]; then
    echo "usage: $0 DRIVER WORKDIR [VECTORS]; got: ${*:-nothing}" >&2
    exit 2
fi
driver=$1
vectors=${3:-}
tmp=$(mktemp -d "$2/conformance-selftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n_failed=0

# expect NAME STATUS LAST_LINE [PATTERN] -- DRIVER_ARGS...: runs the driver,
# checks its exit status, its last line and (if given) a pattern in its output.
expect() {
    local name=$1 want_rc=$2 want_last=$3 pattern=$4
    shift 5
    local out line rc=0
    out=$("$driver" "$@" 2>&1) || rc=$?
    local last=${out##*$'\n'}
    if [[ $rc -ne $want_rc || "$last" != "$want_last" ]] ||
        { [[ -n "$pattern" ]] && ! grep -qE -- "$pattern" <<<"$out"; }; then
        printf "FAIL: %s: want exit %s, last line '%s'" "$name" "$want_rc" "$want_last"
        [[ -z "$pattern" ]] || printf " and output matching '%s'" "$pattern"
        printf '; got exit %s:\n' "$rc"
        while IFS= read -r line; do printf '    %s\n' "$line"; done <<<"$out"
        n_failed=$((n_failed + 1))
        return
    fi
    echo "ok: $name"
}

good=$tmp/good
mkdir -p "$good/quorum" "$good/confchange"
cat >"$good/quorum/ours.txt" <<'VEC'
# Voter 2 has not reported: it counts as 0, so 7 is the committed index.
committed cfg=(1,2,3) idx=(7,_,9)
----
       idx
x>       7    (id=1)
?        0    (id=2)
xx>      9    (id=3)
7

# Joint: the outgoing half (2,3) still waits for voter 3.
vote cfg=(1,2) cfgj=(2,3) votes=(y,y,_)
----
VotePending
VEC
cat >"$good/confchange/ours.txt" <<'VEC'
simple
v1 l2
----
voters=(1) learners=(2)
1: StateProbe match=0 next=1
2: StateProbe match=0 next=1 learner

# Demoting 1 while it is an outgoing voter stages it in learners_next.
enter-joint autoleave=true
v3 l1
----
voters=(3)&&(1) learners=(2) learners_next=(1) autoleave
1: StateProbe match=0 next=1
2: StateProbe match=0 next=1 learner
3: StateProbe match=0 next=1

leave-joint
----
voters=(3) learners=(1 2)
1: StateProbe match=0 next=1 learner
2: StateProbe match=0 next=1 learner
3: StateProbe match=0 next=1

# A record made in the fourth case starts at next=3 (the case counter).
simple
v4
----
voters=(3 4) learners=(1 2)
1: StateProbe match=0 next=1 learner
2: StateProbe match=0 next=1 learner
3: StateProbe match=0 next=1
4: StateProbe match=0 next=3
VEC
expect "correct cases pass" 0 "6 passed, 0 failed" "" -- "$good"

# 2. The committed index of the first quorum case altered from 7 to 8.
altered=$tmp/altered
cp -r "$good" "$altered"
sed -i '8s/^7$/8/' "$altered/quorum/ours.txt"
expect "an altered expected line fails" 1 "5 passed, 1 failed" \
    "^FAIL .*/quorum/ours\.txt:2: committed cfg=\(1,2,3\) idx=\(7,_,9\)$" -- "$altered"

# 3. Malformed cases fail with file and line; the cases after them still run.
malformed=$tmp/malformed
cp -r "$good" "$malformed"
cat >>"$malformed/quorum/ours.txt" <<'VEC'

committed cfg=(1) idx=(0)
----
0

vote cfg=(1 votes=(y)
----
VoteWon

vote cfg=(1) votes=(n)
----
VoteLost
VEC
expect "malformed data fails, named" 1 "7 passed, 2 failed" \
    "^FAIL .*/quorum/ours\.txt:15: committed cfg=\(1\) idx=\(0\)$" -- "$malformed"
expect "malformed data says why" 1 "7 passed, 2 failed" \
    "^  malformed test data: argument cfg: no \`\)\` closes its list$" -- "$malformed"

# 4. No case at all is not a pass.
mkdir -p "$tmp/empty/quorum" "$tmp/empty/confchange"
expect "no cases fails" 1 "0 passed, 0 failed" "" -- "$tmp/empty"

# 5. A missing folder: skipped on a developer machine, failed in CI.
CI='' expect "missing vectors skip" 77 "0 passed, 0 failed" "^skip: " -- \
    --skip-if-missing "$tmp/none"
CI=true expect "missing vectors fail in CI" 1 "0 passed, 1 failed" "" -- \
    --skip-if-missing "$tmp/none"
CI='' expect "missing vectors fail without the flag" 1 "0 passed, 1 failed" "" -- "$tmp/none"

# 6. One upstream file, copied here only for this run, with its first
#    `VoteWon` result changed to `VoteLost`.
src=$vectors/quorum/majority_vote.txt
if [[ -f "$src" ]]; then
    copy=$tmp/upstream
    mkdir -p "$copy/quorum" "$copy/confchange"
    awk '!done && $0 == "VoteWon" { print "VoteLost"; done = 1; next } { print }' "$src" \
        >"$copy/quorum/majority_vote.txt"
    n_cases=$(grep -c '^----$' "$src")
    expect "an altered upstream vector fails" 1 "$((n_cases - 1)) passed, 1 failed" \
        "^FAIL .*/quorum/majority_vote\.txt:[0-9]+: vote" -- "$copy"
else
    echo "note: $src not found; the upstream-copy check did not run"
fi

if [[ $n_failed -ne 0 ]]; then
    echo "driver self-test: $n_failed checks failed"
    exit 1
fi
echo "driver self-test: all checks passed"
