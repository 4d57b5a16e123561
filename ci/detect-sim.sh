#!/usr/bin/env bash
# Detection counts in the simulator for every mode of the README's tables
# (single-leader and leaderless): `faultline sim --seeds 1..N` per mode, counting
# the seeds whose named checker answered invalid (unsafe modes) or the seeds with
# any anomaly at all (safe modes, which must show none). An unsafe mode counts
# every invalid seed (its safe counterpart below shows none).
# usage: ci/detect-sim.sh [BIN] [SEEDS] [SAFE_SEEDS] [MODE...]
#        (defaults: target/release/faultline 1000 10000, every mode)
# Unsafe modes run 30 s simulated tests; safe modes run `--time-limit 5`.
set -u
BIN=${1:-target/release/faultline}
SEEDS=${2:-1000}
SAFE=${3:-10000}
shift 3 2>/dev/null || shift $#
L="--topology leaderless"
LEASE="--reads lease --nemesis clock-drift:leader,partition-leader --nemesis-interval 2 --op-timeout-ms 300 --concurrency 20"
declare -A MODES=(
  # name = "checker | flags" (unsafe: the checker must say invalid)
  [async]="set|--workload set --replication async --nemesis kill-leader,partition-leader --nemesis-interval 1"
  [async-default]="set|--workload set --replication async"
  [follower-default]="stale|--workload register --reads follower"
  [no-fencing-default]="split_brain|--workload register --no-fencing"
  [fsync-never-default]="set|--workload set --fsync never"
  [lease-default]="linearizable|--workload register --reads lease"
  [follower]="stale|--workload register --reads follower --nemesis partition --nemesis-interval 2"
  [no-fencing]="split_brain|--workload register --no-fencing --nemesis partition-leader --nemesis-interval 2"
  [fsync-never]="set|--workload set --fsync never --nemesis kill-all --nemesis-interval 2"
  [lease]="linearizable|--workload register $LEASE"
  [ll-lww]="set|--workload set $L --conflict lww --nemesis clock,partition --nemesis-interval 3"
  [ll-w1r1]="stale|--workload register $L --n 3 --w 1 --r 1 --nemesis partition --nemesis-interval 2"
  [ll-sloppy]="stale|--workload register $L --sloppy-quorum --n 3 --w 2 --r 2 --nemesis partition --nemesis-interval 2"
  [ll-no-repair]="convergence|--workload register $L --anti-entropy-ms 0 --read-repair off --nemesis partition --nemesis-interval 2"
  # safe modes: "- | flags" (no checker may say invalid)
  [safe-register]="-|--workload register"
  [safe-set]="-|--workload set"
  [safe-lease]="-|--workload register --reads lease --nemesis partition,kill,pause"
  [safe-linearizable-lease-faults]="-|--workload register --nemesis clock-drift:leader,partition-leader --nemesis-interval 2"
  [safe-ll-siblings]="-|--workload set $L --conflict siblings --nemesis clock,partition --nemesis-interval 3"
  [safe-ll-crdt]="-|--workload set $L --conflict crdt --nemesis clock,partition --nemesis-interval 3"
  [safe-ll-sloppy-siblings]="-|--workload set $L --sloppy-quorum --conflict siblings --nemesis partition --nemesis-interval 2"
  # strict quorums promise no certainly-stale read, not linearizability (README: new-old inversions)
  [safe-ll-quorum]="-|--workload register $L --checker stale,convergence --nemesis partition --nemesis-interval 2"
)
ORDER=(async async-default follower follower-default no-fencing no-fencing-default fsync-never
  fsync-never-default lease lease-default ll-lww ll-w1r1 ll-sloppy ll-no-repair
  safe-register safe-set safe-lease safe-linearizable-lease-faults safe-ll-siblings safe-ll-crdt
  safe-ll-sloppy-siblings safe-ll-quorum)
[ $# -gt 0 ] && ORDER=("$@")
OUT=$(mktemp -d /tmp/faultline-detect-sim.XXXX)
for mode in "${ORDER[@]}"; do
  IFS='|' read -r checker args <<<"${MODES[$mode]}"
  if [ "$checker" = "-" ]; then n=$SAFE; t=5; else n=$SEEDS; t=30; fi
  start=$(date +%s)
  # shellcheck disable=SC2086
  "$BIN" sim --seeds "1..$n" --time-limit "$t" --store-dir "$OUT/$mode" $args >"$OUT/$mode.out" 2>&1
  secs=$(($(date +%s) - start))
  if [ "$checker" = "-" ]; then
    bad=$(grep -cE "^seed [0-9]+: INVALID" "$OUT/$mode.out")
    echo "SUMMARY $mode: anomalies in $bad/$n seeds (--time-limit $t, ${secs}s wall)"
  else
    # A sweep names the first checker that failed; the mode's own checker
    # may come after another (a split brain also breaks linearizability).
    hit=$(grep -cE "^seed [0-9]+: INVALID" "$OUT/$mode.out")
    own=$(grep -E "^seed [0-9]+: INVALID" "$OUT/$mode.out" | grep -c "[: ]$checker:")
    echo "SUMMARY $mode: invalid in $hit/$n seeds ($own named $checker first; --time-limit $t, ${secs}s wall)"
  fi
done
echo "outputs in $OUT"
