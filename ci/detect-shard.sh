#!/usr/bin/env bash
# Detection for the sharded store (issue 15): rebalancing as a fault with and
# without fencing, cross-shard transactions split by the router, and a 3-shard
# quorum cluster behind the router under partitions and kills; N seeds each.
# usage: ci/detect-shard.sh [BIN] [SEEDS] [TIME_LIMIT_S] [JOBS]
#        (defaults: target/release/faultline 10 30 1)
#        ONLY=REGEX runs only the modes whose names match (e.g. ONLY=adds).
set -u
BIN=${1:-target/release/faultline}
SEEDS=${2:-10}
T=${3:-30}
JOBS=${4:-1}
OUT=$(mktemp -d /tmp/faultline-detect-shard.XXXX)
# A rebalance every T/10 s: 10 moves per run (the first one half an interval in).
IV=$(awk -v t="$T" 'BEGIN {printf "%.2f", t / 10.5}')
REB="--shards 2 --nodes 3 --workload set --nemesis rebalance --nemesis-interval $IV"
# One group growing live to three (the first rebalance adds a group, later ones
# add the second or move a range, as their seeds draw).
ADD="--shards 1 --nodes 3 --shard-adds 2 --workload set --nemesis rebalance --nemesis-interval $IV"
ALL_MODES=(
  "rebalance-fenced|$REB"
  "rebalance-unfenced|$REB --no-shard-fencing"
  "rebalance-adds-fenced|$ADD"
  "rebalance-adds-unfenced|$ADD --no-shard-fencing"
  "cross-shard-split|--shards 3 --nodes 1 --workload append --nemesis none --cross-shard split"
  "quorum-3-shards|--shards 3 --nodes 3 --replication quorum --workload register --nemesis partition,kill"
)
MODES=()
for m in "${ALL_MODES[@]}"; do
  [[ ${m%%|*} =~ ${ONLY:-.} ]] && MODES+=("$m")
done
one() { # mode args seed
  local d="$OUT/$1-$3"
  # shellcheck disable=SC2086
  "$BIN" test --seed "$3" --time-limit "$T" --store-dir "$d" $2 >"$d.out" 2>&1
  echo "$1 seed $3 exit $? $(grep -E '^  [a-z_]+ +INVALID' "$d.out" | awk '{print $1}' | tr '\n' ' ')"
}
export -f one; export BIN OUT T
for m in "${MODES[@]}"; do
  name=${m%%|*}; args=${m#*|}
  seq 1 "$SEEDS" | xargs -P "$JOBS" -I{} bash -c "one '$name' '$args' {}"
done | tee "$OUT/summary.txt"
for m in "${MODES[@]}"; do
  name=${m%%|*}
  awk -v n="$name" '$1==n {t++; if ($5==1) i++; if ($5==0) v++} END {printf "SUMMARY %s: %d/%d invalid, %d valid, %d other\n", n, i, t, v, t-i-v}' "$OUT/summary.txt"
done
echo "runs in $OUT"
