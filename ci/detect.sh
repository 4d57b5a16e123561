#!/usr/bin/env bash
# Detection counts of the unsafe store modes: runs each mode over N seeds and
# counts runs whose named checker answered invalid.
# usage: ci/detect.sh [BIN] [SEEDS] [TIME_LIMIT]   (defaults: target/release/faultline 10 15)
set -u
BIN=${1:-target/release/faultline}
SEEDS=${2:-10}
T=${3:-15}
OUT=$(mktemp -d /tmp/faultline-detect.XXXX)
declare -A MODES=(
  [async]="set --workload set --replication async --nemesis kill-leader,partition-leader --nemesis-interval 1"
  [follower]="stale --workload register --reads follower --nemesis partition --nemesis-interval 2"
  [no-fencing]="split_brain --workload register --no-fencing --nemesis partition-leader --nemesis-interval 2"
  [fsync-never]="set --workload set --fsync never --nemesis kill-all --nemesis-interval 2"
)
for mode in async follower no-fencing fsync-never; do
  read -r checker args <<<"${MODES[$mode]}"
  hit=0
  for seed in $(seq 1 "$SEEDS"); do
    d="$OUT/$mode-$seed"
    # shellcheck disable=SC2086
    "$BIN" test --time-limit "$T" --seed "$seed" --store-dir "$d" $args >"$d.out" 2>&1
    rc=$?
    if grep -Eq "^  $checker +INVALID" "$d.out"; then hit=$((hit + 1)); r=caught; else r=missed; fi
    echo "$mode seed $seed exit $rc $checker $r"
  done
  echo "SUMMARY $mode: $checker invalid in $hit/$SEEDS seeds (time limit ${T}s)"
done
echo "runs in $OUT"
