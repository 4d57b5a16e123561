#!/usr/bin/env bash
# Detection counts for the multi-leader store (README's multi-leader table): runs each
# configuration over N seeds and counts runs whose named checker answered EXPECT
# (INVALID: the anomaly was found; valid: nothing was found). Each line also shows the
# `convergence` summary (time from the final heal until every replica agreed).
# usage: ci/detect-multileader.sh [BIN] [SEEDS] [TIME_LIMIT] [MODE...]
#        (defaults: target/release/faultline 10 30, every mode)
set -u
BIN=${1:-target/release/faultline}
SEEDS=${2:-10}
T=${3:-30}
shift 3 2>/dev/null || shift $#
OUT=$(mktemp -d /tmp/faultline-detect-ml.XXXX)
M="--topology multi-leader --datacenters 3"
declare -A MODES=(
  [lww-dc]="set INVALID --workload set $M --conflict lww --nemesis partition:dc --nemesis-interval 3"
  [siblings-dc]="set valid --workload set $M --conflict siblings --nemesis partition:dc --nemesis-interval 3"
  [crdt-dc]="set valid --workload set $M --conflict crdt --nemesis partition:dc --nemesis-interval 3"
  [lww-default]="set INVALID --workload set $M --conflict lww"
  [lww-prefix]="session INVALID --workload causal $M --nodes 3 --conflict lww --dc-lag-ms 100 --nemesis none --concurrency 6"
  [siblings-prefix]="session valid --workload causal $M --nodes 3 --conflict siblings --dc-lag-ms 100 --nemesis none --concurrency 6"
)
ORDER=(lww-dc siblings-dc crdt-dc lww-default lww-prefix siblings-prefix)
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
    conv=$(grep -E "^  convergence +" "$d.out" | head -1 | sed 's/^  convergence *//')
    if grep -Eq "^  $checker +$expect " "$d.out"; then hit=$((hit + 1)); fi
    echo "$mode seed $seed exit $rc:$line | convergence: $conv"
  done
  echo "SUMMARY $mode: $checker $expect in $hit/$SEEDS seeds (time limit ${T}s)"
done
echo "runs in $OUT"
