#!/usr/bin/env bash
# The floor under a replicated put: a single-member Trireme store and a single-member etcd 3.4 (no
# peers, so no replication), fsync on, driven by the same load client, rows alternating. A 3-member
# put cannot be faster than one member's put (it is that plus a round trip to a follower and the
# follower's fsync), so this bounds what run.sh's 1-client row can reach on this machine.
# Run under the machine-wide lock:  flock /tmp/trireme-bench.lock bench/store/single-member.sh
# Env: ROUNDS (3), SECONDS_PER_RUN (8), CONC (1), WARMUP_SECONDS (6, at 16 clients), CONFIG (Release),
#      TRIREME_BIN (this tree's build). Loopback only (127.0.0.36 and 127.0.0.46); every process
#      started here is stopped by PID and its data directory removed on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-Release}; ROUNDS=${ROUNDS:-3}; SECS=${SECONDS_PER_RUN:-8}; CONC=${CONC:-1}; WARMUP=${WARMUP_SECONDS:-6}
dotnet build src/Trireme.Cli -c "$CONFIG" -nologo -clp:ErrorsOnly >/dev/null
dotnet build bench/store/Trireme.Bench.Store -c "$CONFIG" -nologo -clp:ErrorsOnly >/dev/null
TRIREME=${TRIREME_BIN:-src/Trireme.Cli/bin/$CONFIG/net10.0/trireme}
BENCH=bench/store/Trireme.Bench.Store/bin/$CONFIG/net10.0/Trireme.Bench.Store
work=$(mktemp -d /tmp/trireme-bench-single-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do for _ in $(seq 1 100); do [ -e "/proc/$p" ] || break; sleep 0.05; done; done
  rm -rf "$work"
}
trap cleanup EXIT

"$TRIREME" store --name t1 --data-dir "$work/t1" --listen-client-urls http://127.0.0.36:2379 \
  --advertise-client-urls http://127.0.0.36:2379 --listen-peer-urls http://127.0.0.36:2380 \
  --initial-advertise-peer-urls http://127.0.0.36:2380 --initial-cluster t1=http://127.0.0.36:2380 \
  --log-level warning > "$work/t1.log" 2>&1 &
pids+=($!); disown
etcd --name e1 --data-dir "$work/e1" --listen-client-urls http://127.0.0.46:2379 \
  --advertise-client-urls http://127.0.0.46:2379 --listen-peer-urls http://127.0.0.46:2380 \
  --initial-advertise-peer-urls http://127.0.0.46:2380 --initial-cluster e1=http://127.0.0.46:2380 \
  --log-level error > "$work/e1.log" 2>&1 &
pids+=($!); disown
for ep in 127.0.0.36 127.0.0.46; do
  "$BENCH" health --endpoints "$ep:2379" --timeout 60 >/dev/null || { echo "# $ep did not become healthy" >&2; tail -5 "$work"/*.log >&2; exit 1; }
  [ "$WARMUP" -gt 0 ] && "$BENCH" put --label warmup --endpoints "$ep:2379" --seconds "$WARMUP" --conc 16 >/dev/null
done

echo "# $(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg); $CONC client(s), ${SECS} s per row" >&2
for r in $(seq "$ROUNDS"); do
  for target in 127.0.0.36:trireme-1-member 127.0.0.46:etcd-3.4.23-1-member; do
    "$BENCH" put --label "${target#*:}" --endpoints "${target%%:*}:2379" --seconds "$SECS" --conc "$CONC"
  done
done
