#!/usr/bin/env bash
# Hollow-node load: a fresh 3-member `trireme store` cluster on loopback, one `trireme apiserver` on it,
# and the driver simulating N kubelets for DURATION. Prints the driver's table plus each process's CPU
# seconds (a cheap profile: which process the 2 cores went to). Stops everything it started by PID.
# Usage (under the machine-wide lock): flock /tmp/trireme-bench.lock bench/hollow/run.sh N DURATION
# (DURATION is the measured window, after HOLLOW_WARMUP, default 20s, of the same load unmeasured;
# HOLLOW_APISERVER_ARGS adds flags to the API server, e.g. --max-mutating-requests-inflight 1000.)
set -euo pipefail
cd "$(dirname "$0")/../.."
nodes=${1:-500}
duration=${2:-60s}
dir=$(mktemp -d /tmp/trireme-bench-hollow-XXXXXX)
pids=()
# Stop in reverse start order (driver, apiserver, then the store members) so the apiserver can still
# reach the store while it shuts down; each gets 15 s after SIGTERM, then SIGKILL.
stop_pid() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 1 30); do kill -0 "$1" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  for ((n=${#pids[@]}-1; n>=0; n--)); do stop_pid "${pids[$n]}"; done
  rm -rf "$dir"
}
trap cleanup EXIT
dotnet build -c Release src/Trireme.Cli -nologo -clp:ErrorsOnly >/dev/null
dotnet build -c Release bench/hollow -nologo -clp:ErrorsOnly >/dev/null
trireme=src/Trireme.Cli/bin/Release/net10.0/trireme
"$trireme" pki init --dir "$dir/pki" >/dev/null
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
declare -a client peer
cluster=""
for i in 1 2 3; do
  client[$i]=$(free_port); peer[$i]=$(free_port)
  cluster+="${cluster:+,}m$i=http://127.0.0.1:${peer[$i]}"
done
for i in 1 2 3; do
  "$trireme" store --name "m$i" --data-dir "$dir/m$i" \
    --listen-client-urls "http://127.0.0.1:${client[$i]}" --advertise-client-urls "http://127.0.0.1:${client[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${peer[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${peer[$i]}" \
    --initial-cluster "$cluster" --initial-cluster-token "hollow-$$" --log-level warning >"$dir/m$i.log" 2>&1 &
  pids+=($!)
done
endpoints="http://127.0.0.1:${client[1]},http://127.0.0.1:${client[2]},http://127.0.0.1:${client[3]}"
for _ in $(seq 1 300); do
  ETCDCTL_API=3 etcdctl --endpoints "$endpoints" --command-timeout=2s endpoint health >/dev/null 2>&1 && break; sleep 0.5
done
# HOLLOW_PERF=FILE: record on-CPU samples of the API server with perf (JIT symbols from a perf map).
[ -n "${HOLLOW_PERF:-}" ] && export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
"$trireme" apiserver --etcd-servers "$endpoints" --bind-address 127.0.0.1 --secure-port 0 \
  --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
  --client-ca-file "$dir/pki/ca.crt" ${HOLLOW_APISERVER_ARGS:-} >"$dir/apiserver.log" 2>&1 &
apiserver=$!
pids+=($apiserver)
unset DOTNET_PerfMapEnabled DOTNET_EnableWriteXorExecute
url=""
for _ in $(seq 1 240); do
  url=$(grep -o 'apiserver listening on https://[^ ]*' "$dir/apiserver.log" | awk '{print $4}' || true)
  [ -n "$url" ] && break
  kill -0 "$apiserver" 2>/dev/null || { cat "$dir/apiserver.log"; exit 1; }
  sleep 0.5
done
[ -n "$url" ] || { echo "apiserver did not start"; tail -20 "$dir/apiserver.log"; exit 1; }
cpu() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$1/stat" 2>/dev/null || echo "?"; }
# Idle cost first (watch caches, endpoint reconciler, Raft heartbeats, GC): measured over a quiet
# window so it can be subtracted from the loaded run's CPU.
idle_seconds=${HOLLOW_IDLE_SECONDS:-10}
declare -A idle0 idle
for p in "${pids[@]}"; do idle0[$p]=$(cpu "$p"); done
sleep "$idle_seconds"
for p in "${pids[@]}"; do idle[$p]=$(awk "BEGIN{print ($(cpu "$p")-${idle0[$p]})/$idle_seconds}"); done
echo "idle CPU (cores) over ${idle_seconds} s: store m1 ${idle[${pids[0]}]}, m2 ${idle[${pids[1]}]}, m3 ${idle[${pids[2]}]}, apiserver ${idle[$apiserver]}"
declare -A before
for p in "${pids[@]}"; do before[$p]=$(cpu "$p"); done
t0=$(date +%s.%N)
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# HOLLOW_TRACE=FILE: also record a CPU-sampling trace of the API server for the run (dotnet-trace).
if [ -n "${HOLLOW_TRACE:-}" ]; then
  "${DOTNET_TRACE:-$HOME/.dotnet/tools/dotnet-trace}" collect -p "$apiserver" --profile dotnet-sampled-thread-time,dotnet-common \
    --duration "00:00:00:$(printf '%02d' "${HOLLOW_TRACE_SECONDS:-30}")" -o "$HOLLOW_TRACE" >"$HOLLOW_TRACE.log" 2>&1 &
  tracer=$!
fi
if [ -n "${HOLLOW_PERF:-}" ]; then
  perf record -F 499 -g -p "$apiserver" -o "$HOLLOW_PERF" -- sleep "${HOLLOW_TRACE_SECONDS:-30}" >"$HOLLOW_PERF.log" 2>&1 &
  tracer=$!
fi
# The driver stops by itself (duration + bounded drain); timeout is only a backstop.
# At each MARK line of the driver, note every server's CPU seconds: the measured window's cost.
mark_cpu() {
  for _ in $(seq 1 18000); do
    line=$(grep -m1 "^MARK $1 " "$dir/driver.out" 2>/dev/null || true)
    if [ -n "$line" ]; then
      echo "$(echo "$line" | grep -o 'requests=[0-9]*' | cut -d= -f2) $(echo "$line" | grep -o 'driver_cpu_s=[0-9.]*' | cut -d= -f2) $(cpu "${pids[0]}") $(cpu "${pids[1]}") $(cpu "${pids[2]}") $(cpu "$apiserver")" >"$dir/mark-$1"
      return
    fi
    sleep 0.2
  done
}
: >"$dir/driver.out"
mark_cpu measure-start & marker1=$!
mark_cpu measure-end & marker2=$!
timeout 1800 dotnet bench/hollow/bin/Release/net10.0/Trireme.Hollow.Bench.dll \
  --server "$url" --pki "$dir/pki" --nodes "$nodes" --duration "$duration" --warmup "${HOLLOW_WARMUP:-20s}" | tee "$dir/driver.out" &
driver=$!
pids+=($driver)
wait "$driver" || echo "driver exited with $?"
wait "$marker1" "$marker2" 2>/dev/null || true
[ -n "${tracer:-}" ] && { wait "$tracer" || echo "dotnet-trace exited with $? (see $HOLLOW_TRACE.log)"; }
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
elapsed=$(awk "BEGIN{print $(date +%s.%N)-$t0}")
# CPU used during the run, less the idle rate over the same wall time.
used() { awk "BEGIN{v=$(cpu "$1")-${before[$1]}-${idle[$1]}*$elapsed; print (v<0?0:v)}"; }
m1=$(used "${pids[0]}"); m2=$(used "${pids[1]}"); m3=$(used "${pids[2]}"); api=$(used "$apiserver")
# Which member led (the leader does most of the store's work).
ETCDCTL_API=3 etcdctl --endpoints "$endpoints" --command-timeout=5s endpoint status 2>/dev/null \
  | awk -F', ' '{print "store member " $1 " is_leader=" $5}' || true
echo "CPU seconds above idle during setup+steady phase (${elapsed%.*} s): store m1 $m1, m2 $m2, m3 $m3, apiserver $api"
# CPU-ms per request (every request the driver sent, creates included), per process: the cost
# measure that CPU contention from other work on the machine does not distort much.
requests=$(grep '^RESULT ' "$dir/driver.out" | grep -o 'requests=[0-9]*' | cut -d= -f2 || true)
driver_cpu=$(grep '^RESULT ' "$dir/driver.out" | grep -o 'driver_cpu_s=[0-9.]*' | cut -d= -f2 || true)
if [ -n "$requests" ] && [ "$requests" -gt 0 ]; then
  awk -v n="$requests" -v a="$m1" -v b="$m2" -v c="$m3" -v s="$api" -v d="${driver_cpu:-0}" 'BEGIN{
    printf "CPU-ms per request (%d requests): store m1 %.2f, m2 %.2f, m3 %.2f, apiserver %.2f, driver %.2f, servers total %.2f\n",
      n, a*1000/n, b*1000/n, c*1000/n, s*1000/n, d*1000/n, (a+b+c+s)*1000/n }'
fi
if [ -s "$dir/mark-measure-start" ] && [ -s "$dir/mark-measure-end" ]; then
  # Steady state: CPU over the measured window only (after warm-up), per request started in it;
  # gross, and above the idle rate measured again once the load has stopped (startup excluded).
  read -r r0 d0 a0 b0 c0 s0 <"$dir/mark-measure-start"
  read -r r1 d1 a1 b1 c1 s1 <"$dir/mark-measure-end"
  window=$(awk "BEGIN{print $(grep -o 'measured [0-9.]* s' "$dir/driver.out" | head -1 | awk '{print $2}')+0}")
  declare -A after0 after
  for p in "${pids[@]:0:3}" "$apiserver"; do after0[$p]=$(cpu "$p"); done
  sleep "$idle_seconds"
  for p in "${pids[@]:0:3}" "$apiserver"; do after[$p]=$(awk "BEGIN{print ($(cpu "$p")-${after0[$p]})/$idle_seconds}"); done
  echo "idle CPU (cores) after the load, over ${idle_seconds} s: store m1 ${after[${pids[0]}]}, m2 ${after[${pids[1]}]}, m3 ${after[${pids[2]}]}, apiserver ${after[$apiserver]}"
  awk -v n="$((r1-r0))" -v w="$window" -v a="$(awk "BEGIN{print $a1-$a0}")" -v b="$(awk "BEGIN{print $b1-$b0}")" -v c="$(awk "BEGIN{print $c1-$c0}")" \
      -v s="$(awk "BEGIN{print $s1-$s0}")" -v d="$(awk "BEGIN{print $d1-$d0}")" \
      -v ia="${after[${pids[0]}]}" -v ib="${after[${pids[1]}]}" -v ic="${after[${pids[2]}]}" -v is="${after[$apiserver]}" 'BEGIN{ if (n > 0) {
    printf "steady-state CPU-ms per request (measured window %d s, %d requests): store m1 %.2f, m2 %.2f, m3 %.2f, apiserver %.2f, driver %.2f, servers total %.2f\n",
      w, n, a*1000/n, b*1000/n, c*1000/n, s*1000/n, d*1000/n, (a+b+c+s)*1000/n
    printf "steady-state CPU-ms per request above idle: store m1 %.2f, m2 %.2f, m3 %.2f, apiserver %.2f, servers total %.2f\n",
      (a-ia*w)*1000/n, (b-ib*w)*1000/n, (c-ic*w)*1000/n, (s-is*w)*1000/n, (a+b+c+s-(ia+ib+ic+is)*w)*1000/n } }'
fi
curl -sk --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" "$url/metrics" | grep -E '^apiserver_dropped_requests_total|^apiserver_request_total.*(leases|nodes).*code="(4|5)' || true
