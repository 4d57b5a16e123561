#!/usr/bin/env bash
# Figures for `--hosts`: ops/s and the time to set up and tear down an N-host run over SSH
# against the same run on local processes (`--net netns`), for the built-in store, etcd and
# Redis + Sentinel.
#
# The hosts are network namespaces on 10.77.60.0/24 behind one bridge (no default route),
# each running Debian's sshd with a throwaway key, as in tests/support/sshhosts.rs; faultline
# runs inside a control namespace, so no test traffic leaves the namespaces. Everything is
# removed on exit. Needs root, iproute2, openssh-server, nftables, etcd, redis-server,
# redis-sentinel, faketime (see .ci/setup).
#
#   ci/hosts-bench.sh [N_HOSTS=5] [TIME_LIMIT_S=10] [TARGETS="builtin etcd redis"] [SEEDS="1 2 3"]
#
# setup    = from the harness's start to "cluster healthy" (SSH: connect + preflight +
#            upload/cache check + nft tables + start + health; local: namespaces + start + health)
# teardown = from "client phase done" to "torn down" (kill, logs brought back, tables and
#            directories removed), with --recovery 0 and a workload without final reads
# ops/s    = ok client ops / client phase seconds (history.jsonl, results.json)
set -euo pipefail
N=${1:-5}
T=${2:-10}
TARGETS=${3:-builtin etcd redis}
SEEDS=${4:-1 2 3}
BIN=${FAULTLINE:-$(cd "$(dirname "$0")/.." && pwd)/target/release/faultline}
[ -x "$BIN" ] || { echo "build first: cargo build --release (or set FAULTLINE)" >&2; exit 3; }
P=flb$$
D=$(mktemp -d)
NSS=()
SSHD=()

cleanup() {
  for p in "${SSHD[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns exec "$P-ctl" "$BIN" cleanup --hosts "$D/hosts.toml" >/dev/null 2>&1 || true
  for ((i = ${#NSS[@]} - 1; i >= 0; i--)); do
    for p in $(ip netns pids "${NSS[$i]}" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "${NSS[$i]}" 2>/dev/null || true
  done
  rm -rf "$D"
}
trap cleanup EXIT

addns() { ip netns add "$1"; NSS+=("$1"); ip -n "$1" link set lo up; }
attach() { # role port addr
  addns "$P-$1"
  ip -n "$P-hub" link add "$2" type veth peer name eth0 netns "$P-$1"
  ip -n "$P-hub" link set "$2" master br0 up
  ip -n "$P-$1" addr add "$3/24" dev eth0
  ip -n "$P-$1" link set eth0 up
}

for k in id host_key; do ssh-keygen -q -t ed25519 -N "" -f "$D/$k"; done
cp "$D/id.pub" "$D/authorized_keys"
mkdir -p /run/sshd
addns "$P-hub"
ip -n "$P-hub" link add br0 type bridge
ip -n "$P-hub" link set br0 up
attach ctl vctl 10.77.60.2
printf 'identity = "%s/id"\nknown_hosts = "%s/known_hosts"\n' "$D" "$D" > "$D/hosts.toml"
for ((i = 1; i <= N; i++)); do
  a=10.77.60.$((10 + i))
  attach "h$i" "vh$i" "$a"
  mkdir -p "$D/h$i"
  cat > "$D/sshd$i.conf" <<EOF
Port 22
ListenAddress $a
HostKey $D/host_key
AuthorizedKeysFile $D/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $D/sshd$i.pid
LogLevel ERROR
EOF
  ip netns exec "$P-h$i" /usr/sbin/sshd -D -e -f "$D/sshd$i.conf" &
  SSHD+=($!)
  printf '[[host]]\nname = "h%d"\naddress = "%s"\ndir = "%s/h%d"\n' "$i" "$a" "$D" "$i" >> "$D/hosts.toml"
done
for ((i = 1; i <= N; i++)); do
  for _ in $(seq 100); do
    ip netns exec "$P-h$i" ss -ltn | grep -q "10.77.60.$((10 + i)):22" && break
    sleep 0.05
  done
done

# One run; prints "wall setup teardown ok ops_per_s verdict".
run() { # where target seed
  local where=$1 target=$2 seed=$3 log=$D/run.log
  local args=(test --target "$target" --workload register --nemesis none --time-limit "$T"
    --recovery 0 --seed "$seed" --store-dir "$D/store")
  if [ "$where" = ssh ]; then args+=(--hosts "$D/hosts.toml"); else args+=(--net netns --nodes "$N"); fi
  local t0 code=0
  t0=$(date +%s.%N)
  ip netns exec "$P-ctl" "$BIN" "${args[@]}" 2>&1 >/dev/null |
    while IFS= read -r l; do echo "$(date +%s.%N) $l"; done > "$log" || code=$?
  local t1 dir
  t1=$(date +%s.%N)
  dir=$(readlink -f "$D/store/latest")
  python3 - "$log" "$dir" "$t0" "$t1" <<'EOF'
import json, sys
log, d, t0, t1 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
at = {}
for line in open(log):
    ts, _, msg = line.partition(" ")
    for key in ("cluster healthy", "client phase done", "torn down"):
        if key in msg and key not in at:
            at[key] = float(ts)
r = json.load(open(d + "/results.json"))
ok = sum(1 for l in open(d + "/history.jsonl")
         if (o := json.loads(l))["type"] == "ok" and o["process"] != "nemesis")
secs = r["duration_ms"] / 1000
print(f"{t1 - t0:6.2f} {at['cluster healthy'] - t0:6.2f} {at['torn down'] - at['client phase done']:6.2f}"
      f" {ok:6d} {ok / secs:8.1f} {r['valid']}")
EOF
}

echo "# $N hosts, time limit $T s, nemesis none, register; $(uptime)"
echo "# target where seed  wall_s setup_s teardown_s ok_ops ops_per_s verdict"
for target in $TARGETS; do
  for seed in $SEEDS; do
    for where in ssh local; do
      echo "$target $where $seed $(run "$where" "$target" "$seed")"
    done
  done
done
echo "# $(uptime)"
