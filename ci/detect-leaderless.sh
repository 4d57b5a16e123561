#!/usr/bin/env bash
# Detection counts for the leaderless store (README's leaderless table): runs each
# configuration over N seeds and counts runs whose named checker answered EXPECT
# (INVALID: the anomaly was found; valid: nothing was found).
# usage: ci/detect-leaderless.sh [BIN] [SEEDS] [TIME_LIMIT] [MODE...]
#        (defaults: target/release/faultline 10 30, every mode)
set -u
BIN=${1:-target/release/faultline}
SEEDS=${2:-10}
T=${3:-30}
shift 3 2>/dev/null || shift $#
OUT=$(mktemp -d /tmp/faultline-detect-ll.XXXX)
L="--topology leaderless"
declare -A MODES=(
  [lww-clock]="set INVALID --workload set $L --conflict lww --nemesis clock,partition --nemesis-interval 3"
  [siblings-clock]="set valid --workload set $L --conflict siblings --nemesis clock,partition --nemesis-interval 3"
  [crdt-clock]="set valid --workload set $L --conflict crdt --nemesis clock,partition --nemesis-interval 3"
  [w1r1-partition]="stale INVALID --workload register $L --n 3 --w 1 --r 1 --nemesis partition --nemesis-interval 2"
  [no-repair]="convergence INVALID --workload register $L --anti-entropy-ms 0 --read-repair off --nemesis partition --nemesis-interval 2"
  [ae-on]="convergence valid --workload register $L --anti-entropy-ms 500 --nemesis partition --nemesis-interval 2"
)
ORDER=(lww-clock siblings-clock crdt-clock w1r1-partition no-repair ae-on)
[ $# -gt 0 ] && ORDER=("$@")
for mode in "${ORDER[@]}"; do
  read -r checker expect args <<<"${MODES[$mode]}"
  hit=0
  for seed in $(seq 1 "$SEEDS"); do
    d="$OUT/$mode-$seed"
    # shellcheck disable=SC2086
    "$BIN" test --time-limit "$T" --seed "$seed" --store-dir "$d" $args >"$d.out" 2>&1
    rc=$?
    line=$(grep -E "^  $checker +" "$d.out" | head -1)
    if grep -Eq "^  $checker +$expect " "$d.out"; then hit=$((hit + 1)); fi
    echo "$mode seed $seed exit $rc:$line"
  done
  echo "SUMMARY $mode: $checker $expect in $hit/$SEEDS seeds (time limit ${T}s)"
done
echo "runs in $OUT"
