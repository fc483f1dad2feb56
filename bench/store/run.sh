#!/usr/bin/env bash
# Side-by-side store benchmark: a 3-member Trireme store and a 3-member etcd 3.4, both on loopback with
# fsync on and the same heartbeat/election settings, driven by the same C# load client
# (bench/store/Trireme.Bench.Store). One run reports, for both, with Trireme/etcd ratios:
#   puts (256-byte values over 1000 keys, the anchors' method) at 1/16/256 clients; linearizable and serializable single-key range at 64
#   clients; watch delivery to 100 watchers while 16 writers put; leader failover (SIGKILL of the
#   leader -> first successful put through the survivors); graceful leader stop (SIGTERM -> same).
# Server CPU per operation (utime+stime of the 3 members from /proc) is reported beside each load row:
# on a shared machine it is steadier than wall-clock throughput.
# Run it under the machine-wide lock:   flock /tmp/trireme-bench.lock bench/store/run.sh
# Before the first row each store gets WARMUP_SECONDS of puts at 16 clients, not reported: rows compare
# steady states (a fresh .NET process is still JIT-compiling for its first seconds; etcd is AOT Go).
# Each load row also starts with BENCH_ROW_WARMUP_SECONDS (6) of its own load inside the load client's
# process, not reported: the client is .NET too, and a row used to measure the client's own warm-up
# (and, at 1 client, the Trireme server's JIT recompiling the paths that load shape makes hot).
# Env: SECONDS_PER_RUN (10), WARMUP_SECONDS (10), CONC (1,16,256), RANGE_CONC (64), WATCHERS (100), WATCH_WRITERS (16),
#      FAILOVER_RUNS (5), TERM_RUNS (3), HEARTBEAT_MS (100), ELECTION_MS (1000), CONFIG (Release),
#      STORES ("etcd trireme"), TESTS ("put range watch failover term"), TRIREME_BIN (this tree's build),
#      LOG_DIR (keep the members' logs and the raw results there).
# Bounded: every load row runs SECONDS_PER_RUN; a failover gives up after 30 s; each restart waits at
# most 60 s for health. With the defaults a run takes about 6-8 minutes after the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${CONFIG:-Release}; SECS=${SECONDS_PER_RUN:-10}; CONC=${CONC:-1,16,256}; WARMUP=${WARMUP_SECONDS:-10}
RANGE_CONC=${RANGE_CONC:-64}; WATCHERS=${WATCHERS:-100}; WATCH_WRITERS=${WATCH_WRITERS:-16}
FAILOVER_RUNS=${FAILOVER_RUNS:-5}; TERM_RUNS=${TERM_RUNS:-3}
HB=${HEARTBEAT_MS:-100}; EL=${ELECTION_MS:-1000}
STORES=${STORES:-"etcd trireme"}; TESTS=${TESTS:-"put range watch failover term"}
dotnet build src/Trireme.Cli -c "$CONFIG" -nologo -clp:ErrorsOnly >/dev/null
dotnet build bench/store/Trireme.Bench.Store -c "$CONFIG" -nologo -clp:ErrorsOnly >/dev/null
TRIREME=${TRIREME_BIN:-src/Trireme.Cli/bin/$CONFIG/net10.0/trireme}  # TRIREME_BIN: compare another build
BENCH=bench/store/Trireme.Bench.Store/bin/$CONFIG/net10.0/Trireme.Bench.Store
work=$(mktemp -d /tmp/trireme-bench-store-XXXXXX)
results=$work/results.tsv
declare -A pid=()   # "t1" / "e2" -> PID of the running member
cleanup() {
  for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pid[@]}"; do for _ in $(seq 1 100); do [ -e /proc/$p ] || break; sleep 0.05; done; done
  if [ -n "${LOG_DIR:-}" ]; then mkdir -p "$LOG_DIR" && cp "$work"/*.log "$work"/results.tsv "$LOG_DIR"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

tc="t1=http://127.0.0.31:2380,t2=http://127.0.0.32:2380,t3=http://127.0.0.33:2380"
ec="e1=http://127.0.0.41:2380,e2=http://127.0.0.42:2380,e3=http://127.0.0.43:2380"
start_member() { # store index
  local i=$2
  if [ "$1" = trireme ]; then
    "$TRIREME" store --name t$i --data-dir "$work/t$i" --listen-client-urls http://127.0.0.3$i:2379 \
      --advertise-client-urls http://127.0.0.3$i:2379 --listen-peer-urls http://127.0.0.3$i:2380 \
      --initial-advertise-peer-urls http://127.0.0.3$i:2380 --initial-cluster "$tc" \
      --initial-cluster-token bench-t --heartbeat-interval "$HB" --election-timeout "$EL" \
      --log-level warning >>"$work/t$i.log" 2>&1 &
    pid[t$i]=$!; disown
  else
    etcd --name e$i --data-dir "$work/e$i" --listen-client-urls http://127.0.0.4$i:2379 \
      --advertise-client-urls http://127.0.0.4$i:2379 --listen-peer-urls http://127.0.0.4$i:2380 \
      --initial-advertise-peer-urls http://127.0.0.4$i:2380 --initial-cluster "$ec" \
      --initial-cluster-token bench-e --heartbeat-interval "$HB" --election-timeout "$EL" \
      --log-level error >>"$work/e$i.log" 2>&1 &
    pid[e$i]=$!; disown
  fi
}
endpoints() { [ "$1" = trireme ] && echo 127.0.0.31:2379,127.0.0.32:2379,127.0.0.33:2379 || echo 127.0.0.41:2379,127.0.0.42:2379,127.0.0.43:2379; }
pids() { local s=${1:0:1}; echo "${pid[${s}1]},${pid[${s}2]},${pid[${s}3]}"; }
label() { [ "$1" = trireme ] && echo trireme || echo "etcd-3.4.23"; }
bench() { # store mode args...
  local s=$1; shift
  "$BENCH" "$1" --label "$(label "$s")" --endpoints "$(endpoints "$s")" --pids "$(pids "$s")" --seconds "$SECS" "${@:2}" \
    | tee -a "$results"
}
healthy() { "$BENCH" health --endpoints "$(endpoints "$1")" --timeout 60 >/dev/null; }

echo "# $(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg); heartbeat ${HB} ms, election ${EL} ms, ${SECS} s per row" >&2
for s in $STORES; do for i in 1 2 3; do start_member "$s" $i; done; done
for s in $STORES; do healthy "$s" || { echo "# $s did not become healthy" >&2; tail -5 "$work"/*.log >&2; exit 1; }; done

for s in $STORES; do
  [ "$WARMUP" -gt 0 ] && "$BENCH" put --label warmup --endpoints "$(endpoints "$s")" --seconds "$WARMUP" --conc 16 >/dev/null
  case " $TESTS " in *" put "*) bench "$s" put --conc "$CONC" ;; esac
  case " $TESTS " in *" range "*)
    bench "$s" range --conc "$RANGE_CONC"
    bench "$s" range --conc "$RANGE_CONC" --serializable ;; esac
  case " $TESTS " in *" watch "*) bench "$s" watch --watchers "$WATCHERS" --writers "$WATCH_WRITERS" ;; esac
done

failovers() { # store signal runs
  local s=$1 sig=$2 runs=$3 r line victim
  for ((r = 0; r < runs; r++)); do
    line=$("$BENCH" failover --label "$(label "$s")" --endpoints "$(endpoints "$s")" --pids "$(pids "$s")" --signal "$sig") || {
      echo "# $s failover run $r: no leader" >&2; healthy "$s" || true; continue; }
    echo "$line" | tee -a "$results"
    victim=$(echo "$line" | tr '\t' '\n' | sed -n 's/^victim=//p')
    local key=${s:0:1}$((victim + 1))
    for _ in $(seq 1 100); do [ -e "/proc/${pid[$key]}" ] || break; sleep 0.05; done
    start_member "$s" $((victim + 1))
    healthy "$s" || { echo "# $s not healthy after restarting member $((victim + 1))" >&2; exit 1; }
  done
}
for s in $STORES; do
  case " $TESTS " in *" failover "*) failovers "$s" KILL "$FAILOVER_RUNS" ;; esac
  case " $TESTS " in *" term "*) failovers "$s" TERM "$TERM_RUNS" ;; esac
done

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH" report --file "$results"
