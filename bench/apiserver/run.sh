#!/usr/bin/env bash
# Runs the API server benchmark against a fresh real etcd 3.4 on loopback, under the machine-wide
# benchmark lock. Usage: bench/apiserver/run.sh [ops-per-kind] [concurrency] [watchers]
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=$(mktemp -d /tmp/trireme-bench-apiserver-XXXXXX)
etcd_pid=""
cleanup() { [ -n "$etcd_pid" ] && kill "$etcd_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
dotnet build -c Release bench/apiserver -nologo -clp:ErrorsOnly >/dev/null
dotnet build -c Release src/Trireme.Cli -nologo -clp:ErrorsOnly >/dev/null
dotnet src/Trireme.Cli/bin/Release/net10.0/trireme.dll pki init --dir "$dir/pki" >/dev/null
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
peer=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
etcd --data-dir "$dir/etcd" --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" --initial-cluster "default=http://127.0.0.1:$peer" \
  >"$dir/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$port/health" | grep -q true && break; sleep 0.2; done
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
timeout 600 dotnet bench/apiserver/bin/Release/net10.0/Trireme.ApiServer.Bench.dll "http://127.0.0.1:$port" "$dir/pki" "${1:-2000}" "${2:-16}" "${3:-1000}"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
