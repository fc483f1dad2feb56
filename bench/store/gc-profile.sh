#!/usr/bin/env bash
# Where a Trireme store leader's garbage-collection pauses come from under put load: starts a 3-member
# Trireme store on 127.0.0.31-33 (the addresses run.sh uses; do not run both at once), warms it up with 16
# clients, then runs the put load at CONC clients while bench/tools/Trireme.Bench.GcWatch attaches to the
# leader over EventPipe. Prints the load client's RESULT line, then every GC of the leader (generation,
# pause, bytes promoted) and a summary with the types allocated most. Diagnosis, not a comparison: there
# is no etcd here. Run it alone:   flock /tmp/trireme-bench.lock bench/store/gc-profile.sh
# Env: CONC (256), SECONDS_PER_RUN (10), WARMUP_SECONDS (8), TOP (25 types), CONFIG (Release),
#      TRIREME_BIN (this tree's build). Bounded: each phase runs its seconds; health waits at most 60 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-Release}; CONC=${CONC:-256}; SECS=${SECONDS_PER_RUN:-10}; WARMUP=${WARMUP_SECONDS:-8}; TOP=${TOP:-25}
dotnet build src/Trireme.Cli -c "$CONFIG" -nologo -clp:ErrorsOnly >/dev/null
dotnet build bench/store/Trireme.Bench.Store -c "$CONFIG" -nologo -clp:ErrorsOnly >/dev/null
dotnet build bench/tools/Trireme.Bench.GcWatch -c "$CONFIG" -nologo -clp:ErrorsOnly >/dev/null
TRIREME=${TRIREME_BIN:-src/Trireme.Cli/bin/$CONFIG/net10.0/trireme}
BENCH=bench/store/Trireme.Bench.Store/bin/$CONFIG/net10.0/Trireme.Bench.Store
GCWATCH=bench/tools/Trireme.Bench.GcWatch/bin/$CONFIG/net10.0/Trireme.Bench.GcWatch
work=$(mktemp -d /tmp/trireme-gc-profile-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do for _ in $(seq 1 100); do [ -e /proc/$p ] || break; sleep 0.05; done; done
  rm -rf "$work"
}
trap cleanup EXIT
cluster="t1=http://127.0.0.31:2380,t2=http://127.0.0.32:2380,t3=http://127.0.0.33:2380"
for i in 1 2 3; do
  "$TRIREME" store --name t$i --data-dir "$work/t$i" --listen-client-urls http://127.0.0.3$i:2379 \
    --advertise-client-urls http://127.0.0.3$i:2379 --listen-peer-urls http://127.0.0.3$i:2380 \
    --initial-advertise-peer-urls http://127.0.0.3$i:2380 --initial-cluster "$cluster" \
    --initial-cluster-token gc-profile --log-level warning >>"$work/t$i.log" 2>&1 &
  pids+=($!); disown
done
endpoints=127.0.0.31:2379,127.0.0.32:2379,127.0.0.33:2379
"$BENCH" health --endpoints "$endpoints" --timeout 60 >/dev/null || { tail -5 "$work"/*.log >&2; exit 1; }
[ "$WARMUP" -gt 0 ] && "$BENCH" put --label warmup --endpoints "$endpoints" --seconds "$WARMUP" --conc 16 >/dev/null
leader=""
for i in 1 2 3; do
  status=$(ETCDCTL_API=3 etcdctl --endpoints "127.0.0.3$i:2379" endpoint status -w json)
  if [ "$(echo "$status" | jq -r '.[0].Status.leader == .[0].Status.header.member_id')" = true ]; then leader=$i; fi
done
[ -n "$leader" ] || { echo "# no leader found" >&2; exit 1; }
echo "# leader t$leader (pid ${pids[$((leader - 1))]}); $CONC clients for $SECS s" >&2
"$GCWATCH" "${pids[$((leader - 1))]}" "$SECS" "$TOP" >"$work/gc.txt" &
watcher=$!
"$BENCH" put --label trireme --endpoints "$endpoints" --pids "$(IFS=,; echo "${pids[*]}")" --seconds "$SECS" --conc "$CONC"
wait "$watcher"
cat "$work/gc.txt"
