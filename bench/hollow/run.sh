#!/usr/bin/env bash
# Hollow-node load: a fresh 3-member `trireme store` cluster on loopback, one `trireme apiserver` on it,
# and the driver simulating N kubelets for DURATION. Prints the driver's table plus each process's CPU
# seconds (a cheap profile: which process the 2 cores went to). Stops everything it started by PID.
# Usage (under the machine-wide lock): flock /tmp/trireme-bench.lock bench/hollow/run.sh N DURATION
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
"$trireme" apiserver --etcd-servers "$endpoints" --bind-address 127.0.0.1 --secure-port 0 \
  --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
  --client-ca-file "$dir/pki/ca.crt" >"$dir/apiserver.log" 2>&1 &
apiserver=$!
pids+=($apiserver)
url=""
for _ in $(seq 1 240); do
  url=$(grep -o 'apiserver listening on https://[^ ]*' "$dir/apiserver.log" | awk '{print $4}' || true)
  [ -n "$url" ] && break
  kill -0 "$apiserver" 2>/dev/null || { cat "$dir/apiserver.log"; exit 1; }
  sleep 0.5
done
[ -n "$url" ] || { echo "apiserver did not start"; tail -20 "$dir/apiserver.log"; exit 1; }
cpu() { awk '{printf "%.1f", ($14+$15)/100}' "/proc/$1/stat" 2>/dev/null || echo "?"; }
declare -A before
for p in "${pids[@]}"; do before[$p]=$(cpu "$p"); done
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# The driver stops by itself (duration + bounded drain); timeout is only a backstop.
timeout 1800 dotnet bench/hollow/bin/Release/net10.0/Trireme.Hollow.Bench.dll \
  --server "$url" --pki "$dir/pki" --nodes "$nodes" --duration "$duration" &
driver=$!
pids+=($driver)
wait "$driver" || echo "driver exited with $?"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU seconds during setup+steady phase: store m1 $(awk "BEGIN{print $(cpu ${pids[0]})-${before[${pids[0]}]}}"), m2 $(awk "BEGIN{print $(cpu ${pids[1]})-${before[${pids[1]}]}}"), m3 $(awk "BEGIN{print $(cpu ${pids[2]})-${before[${pids[2]}]}}"), apiserver $(awk "BEGIN{print $(cpu $apiserver)-${before[$apiserver]}}")"
curl -sk --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" "$url/metrics" | grep -E '^apiserver_dropped_requests_total|^apiserver_request_total.*(leases|nodes).*code="(4|5)' || true
