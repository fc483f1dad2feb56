#!/usr/bin/env bash
# Side-by-side put benchmark: a 3-member Trireme store and a 3-member etcd 3.4, both on loopback with
# fsync on, heartbeat 100 ms / election 1000 ms, driven by the same C# load client (256-byte values,
# 1/16/256 concurrent clients). Run it under the machine-wide lock:
#   flock /tmp/trireme-bench.lock bench/store/run.sh
# Env: SECONDS_PER_RUN (default 10), CONC (default 1,16,256), CONFIG (Release).
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-Release}; SECS=${SECONDS_PER_RUN:-10}; CONC=${CONC:-1,16,256}
dotnet build src/Trireme.Cli -c "$CONFIG" -nologo -clp:ErrorsOnly >/dev/null
dotnet build bench/store/Trireme.Bench.Store -c "$CONFIG" -nologo -clp:ErrorsOnly >/dev/null
TRIREME=src/Trireme.Cli/bin/$CONFIG/net10.0/trireme
BENCH=bench/store/Trireme.Bench.Store/bin/$CONFIG/net10.0/Trireme.Bench.Store
work=$(mktemp -d /tmp/trireme-bench-store-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

tc="t1=http://127.0.0.31:2380,t2=http://127.0.0.32:2380,t3=http://127.0.0.33:2380"
ec="e1=http://127.0.0.41:2380,e2=http://127.0.0.42:2380,e3=http://127.0.0.43:2380"
for i in 1 2 3; do
  "$TRIREME" store --name t$i --data-dir "$work/t$i" --listen-client-urls http://127.0.0.3$i:2379 \
    --listen-peer-urls http://127.0.0.3$i:2380 --initial-cluster "$tc" --initial-cluster-token bench-t \
    --log-level warning >"$work/t$i.log" 2>&1 & pids+=($!)
  etcd --name e$i --data-dir "$work/e$i" --listen-client-urls http://127.0.0.4$i:2379 \
    --advertise-client-urls http://127.0.0.4$i:2379 --listen-peer-urls http://127.0.0.4$i:2380 \
    --initial-advertise-peer-urls http://127.0.0.4$i:2380 --initial-cluster "$ec" \
    --initial-cluster-token bench-e --log-level error >"$work/e$i.log" 2>&1 & pids+=($!)
done
export ETCDCTL_API=3
for ep in 127.0.0.31:2379,127.0.0.32:2379,127.0.0.33:2379 127.0.0.41:2379,127.0.0.42:2379,127.0.0.43:2379; do
  for _ in $(seq 1 120); do etcdctl --endpoints "$ep" put warmup x >/dev/null 2>&1 && break; sleep 0.5; done
done
echo "| store | clients | puts/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|"
"$BENCH" --label "etcd 3.4.23" --endpoints 127.0.0.41:2379,127.0.0.42:2379,127.0.0.43:2379 --seconds "$SECS" --conc "$CONC"
"$BENCH" --label trireme --endpoints 127.0.0.31:2379,127.0.0.32:2379,127.0.0.33:2379 --seconds "$SECS" --conc "$CONC"
