#!/usr/bin/env bash
# Detection with the default fault mix: each unsafe mode of the built-in store
# with only its mode flag and workload changed from the defaults, over N seeds;
# then the safe store with the same defaults (every run should be valid).
# usage: ci/detect-defaults.sh [BIN] [SEEDS] [SAFE_SEEDS] [JOBS]
#        (defaults: target/release/faultline 10 20 1)
set -u
BIN=${1:-target/release/faultline}
SEEDS=${2:-10}
SAFE=${3:-20}
JOBS=${4:-1}
OUT=$(mktemp -d /tmp/faultline-detect-defaults.XXXX)
MODES=(
  "async|--replication async --workload set"
  "fsync-never|--fsync never --workload set"
  "follower|--reads follower"
  "no-fencing|--no-fencing"
  "lease|--reads lease"
  "safe-set|--workload set"
  "safe-register|"
)
one() { # mode args seed
  local d="$OUT/$1-$3"
  # shellcheck disable=SC2086
  "$BIN" test --seed "$3" --store-dir "$d" $2 >"$d.out" 2>&1
  echo "$1 seed $3 exit $? $(grep -E '^  [a-z_]+ +INVALID' "$d.out" | awk '{print $1}' | tr '\n' ' ')"
}
export -f one; export BIN OUT
for m in "${MODES[@]}"; do
  name=${m%%|*}; args=${m#*|}
  n=$SEEDS; [[ $name == safe-* ]] && n=$SAFE
  seq 1 "$n" | xargs -P "$JOBS" -I{} bash -c "one '$name' '$args' {}"
done | tee "$OUT/summary.txt"
for m in "${MODES[@]}"; do
  name=${m%%|*}
  awk -v n="$name" '$1==n {t++; if ($5==1) i++; if ($5==0) v++} END {printf "SUMMARY %s: %d/%d invalid, %d valid, %d other\n", n, i, t, v, t-i-v}' "$OUT/summary.txt"
done
echo "runs in $OUT"
