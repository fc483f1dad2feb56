#!/usr/bin/env bash
# Proxy CPU per request and per connection, HAProxy 2.6 beside `trireme lb`, alternating short wrk runs
# through each (so both see the same background load), from /proc/<pid>/stat utime+stime and wrk's
# request count. Throughput on a shared machine is noise; CPU per request is what a change moves.
# With STRACE=1 it also attaches `strace -c -f` to each proxy for one extra run per mode and prints
# syscalls per request.
# Run under the machine-wide lock:  flock /tmp/trireme-bench.lock bench/balancer/cpu.sh
# Knobs: WRK_SECS=3 CONNS=64 MODES="close keepalive" ROUNDS=3 BASE_PORT=19180 STRACE=0 NOBUILD=0
set -euo pipefail
cd "$(dirname "$0")"
REPO=$(cd ../.. && pwd)
WRK_SECS=${WRK_SECS:-3}
CONNS=${CONNS:-64}
MODES=${MODES:-"close keepalive"}
ROUNDS=${ROUNDS:-3}
BASE=${BASE_PORT:-19180}
STRACE=${STRACE:-0}
ulimit -n "$(ulimit -Hn)"

# strace writes its tables outside $tmp: trireme watches its config's directory, and writes there would
# wake its file watcher and show up as thread-pool work that has nothing to do with the requests.
traces=$(mktemp -d /tmp/trireme-lb-strace-XXXXXX)
source ./procs.sh
bench_setup cpu "$traces"

tick_us=$((1000000 / $(getconf CLK_TCK)))
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }
# wrk once through port $1 for $WRK_SECS; prints "<requests> <user ticks> <system ticks>" for pid $2.
measure() {
  local u0 s0 u1 s1 out reqs
  u0=$(user_ticks "$2"); s0=$(sys_ticks "$2")
  out=$(wrk -t2 -c"$CONNS" -d"${WRK_SECS}s" "${hdr[@]}" "http://127.0.0.1:$1/" 2>&1)
  u1=$(user_ticks "$2"); s1=$(sys_ticks "$2")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$out" | grep -E 'Socket errors|Non-2xx' >&2 || true
  echo "$reqs $((u1 - u0)) $((s1 - s0))"
}

wrk -t2 -c64 -d3s "http://127.0.0.1:$TRIREME_PORT/" > /dev/null   # JIT warm-up
echo "# loadavg before: $(cat /proc/loadavg)" >&2
echo "| mode | conns | proxy | requests | CPU s | CPU µs per request | of which user µs |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for mode in $MODES; do
  hdr=(); [ "$mode" = close ] && hdr=(-H "Connection: close")
  declare -A reqs=([haproxy]=0 [trireme]=0) uticks=([haproxy]=0 [trireme]=0) sticks=([haproxy]=0 [trireme]=0)
  for _ in $(seq "$ROUNDS"); do
    for target in haproxy trireme; do
      case $target in haproxy) port=$HAPROXY_PORT; pid=$HAPROXY_PID;; trireme) port=$TRIREME_PORT; pid=$TRIREME_PID;; esac
      read -r r u k < <(measure "$port" "$pid")
      reqs[$target]=$((reqs[$target] + r)); uticks[$target]=$((uticks[$target] + u)); sticks[$target]=$((sticks[$target] + k))
    done
  done
  for target in haproxy trireme; do
    awk -v r="${reqs[$target]}" -v ut="${uticks[$target]}" -v st="${sticks[$target]}" -v u="$tick_us" -v m="$mode" -v c="$CONNS" -v p="$target" \
      'BEGIN{t=ut+st; printf "| %s | %s | %s | %d | %.2f | %.1f | %.1f |\n", m, c, p, r, t*u/1e6, t*u/r, ut*u/r}'
  done
  if [ "$STRACE" = 1 ]; then
    for target in haproxy trireme; do
      case $target in haproxy) port=$HAPROXY_PORT; pid=$HAPROXY_PID;; trireme) port=$TRIREME_PORT; pid=$TRIREME_PID;; esac
      strace -c -f -p "$pid" -o "$traces/strace.$target" & spid=$!
      sleep 1
      read -r r _ _ < <(measure "$port" "$pid")
      kill -INT "$spid"; wait "$spid" || true
      echo "# $mode $target under strace: $r requests; syscalls per request:" >&2
      awk -v r="$r" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {printf "#   %-16s %.2f\n", $NF, $4/r}' "$traces/strace.$target" | sort -k3 -nr >&2
    done
  fi
done
echo "# loadavg after: $(cat /proc/loadavg)" >&2
