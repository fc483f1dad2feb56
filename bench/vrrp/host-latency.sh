#!/usr/bin/env bash
# Per-event host latency of `trireme vip`, measured inside the process — the part of failover the host
# adds on top of the protocol's timers, and far less sensitive to machine load than end-to-end failover.
#
#   flock /tmp/trireme-bench.lock bench/vrrp/host-latency.sh
#   DLLS="before/trireme.dll after/trireme.dll" ROUNDS=3 SECS=10 bench/vrrp/host-latency.sh   # compare builds
#
# Two instances in loopback mode (no root, no namespaces) on 127.77.9.11 (priority 150) and .12 (100),
# VRRPv3 at ADVERT seconds (default 0.01, so each second gives the master ~100 advert-timer events and the
# backup ~100 received adverts), for SECS seconds; then SIGTERM (backup first, so the master's goodbye does
# not make it master) and each instance's own summary line, logged at stop:
#   timer:  from an Adver_Timer deadline until the advert was sent;
#   packet: from the kernel's receive stamp of an advert until the router had stepped it.
# With DLLS, the builds alternate round by round so load drift hits them alike.
# Output: "# ..." progress on stderr, then "=== vrrp host latency ===" and one line per build and round.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
DLLS=${DLLS:-$repo/src/Trireme.Cli/bin/Release/net10.0/trireme.dll}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-10}
ADVERT=${ADVERT:-0.01}
work=$(mktemp -d /tmp/trvl-XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

config() { # i priority port
  cat > "$work/vi$1.yaml" <<YAML
name: lat$1
mode: loopback
virtualRouterId: 61
priority: $2
version: 3
advertInterval: $ADVERT
sourceIp: 127.77.9.1$1
unicastPeers: [127.77.9.1$((3 - $1))]
loopbackPort: $3
virtualIps: [127.77.9.100]
YAML
}

summary() { sed -n 's/.*host latency ms: //p' "$1" | tail -n 1; }

results=()
for round in $(seq "$ROUNDS"); do
  for dll in $DLLS; do
    port=$((20000 + RANDOM % 40000))
    config 1 150 "$port"; config 2 100 "$port"
    dotnet "$dll" vip --config "$work/vi1.yaml" > "$work/m.log" 2>&1 & m=$!; pids+=($m)
    dotnet "$dll" vip --config "$work/vi2.yaml" > "$work/b.log" 2>&1 & b=$!; pids+=($b)
    sleep "$SECS"
    kill -TERM "$b"; for _ in $(seq 100); do kill -0 "$b" 2>/dev/null || break; sleep 0.05; done
    kill -TERM "$m"; for _ in $(seq 100); do kill -0 "$m" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$m" "$b" 2>/dev/null
    line="build=$dll round=$round loadavg=$(cut -d' ' -f1 /proc/loadavg) master[$(summary "$work/m.log")] backup[$(summary "$work/b.log")]"
    echo "# $line" >&2
    results+=("$line")
  done
done
echo "=== vrrp host latency ==="
printf '%s\n' "${results[@]}"
