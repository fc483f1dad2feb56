#!/usr/bin/env bash
# Side-by-side benchmark: nginx backends (1 worker, 3 ports), HAProxy 2.6 (mode tcp, roundrobin,
# check inter 2s rise 2 fall 3, nbthread 1) and `trireme lb` with the same settings, then wrk through
# each and straight to one backend: keep-alive and a new connection per request, 64 and 512
# connections. Then memory per 10,000 idle connections for both proxies (RSS before/after).
# Run under the machine-wide lock:  flock /tmp/trireme-bench.lock bench/balancer/run.sh
# Knobs: WRK_SECS=8 CONNS="64 512" MODES="keepalive close" REPEATS=1 BASE_PORT=19080 IDLE=8000 NOBUILD=0
# Everything runs on 127.0.0.1; every process started here is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")"
REPO=$(cd ../.. && pwd)
WRK_SECS=${WRK_SECS:-8}
CONNS=${CONNS:-"64 512"}
MODES=${MODES:-"keepalive close"}
REPEATS=${REPEATS:-1}
BASE=${BASE_PORT:-19080}
IDLE=${IDLE:-8000}
# The hard limit here is 20000 open files (no CAP_SYS_RESOURCE): a proxy holds two per idle
# client, so IDLE stays below 10000 and the table scales the measured figure to 10,000.
ulimit -n "$(ulimit -Hn)"

source ./procs.sh
bench_setup bench

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# Memory first, while both proxies are fresh: after load the GC heap has grown and would hide
# the per-connection cost.
echo "| proxy | RSS before MB | RSS with idle conns MB | KiB per connection | MB per 10,000 idle |"
echo "| --- | --- | --- | --- | --- |"
for target in haproxy trireme; do
  case $target in haproxy) port=$HAPROXY_PORT; pid=$HAPROXY_PID;; trireme) port=$TRIREME_PORT; pid=$TRIREME_PID;; esac
  before=$(rss_kb "$pid")
  python3 idle.py 127.0.0.1 "$port" "$IDLE" 6 > "$tmp/idle.out" &
  ipid=$!; pids+=($ipid)
  for _ in $(seq 120); do grep -q open= "$tmp/idle.out" 2>/dev/null && break; sleep 0.5; done
  sleep 2
  after=$(rss_kb "$pid")
  opened=$(grep -o 'open=[0-9]*' "$tmp/idle.out" | cut -d= -f2)
  wait "$ipid" || true
  awk -v b="$before" -v a="$after" -v n="$opened" -v t="$target" 'BEGIN{printf "| %s | %.1f | %.1f (%d conns) | %.2f | %.1f |\n", t, b/1024, a/1024, n, (a-b)/n, (a-b)/n*10000/1024}'
  sleep 2
done
echo

# Warm up the JIT (tiered compilation) and nginx before measuring.
wrk -t2 -c64 -d3s "http://127.0.0.1:$TRIREME_PORT/" > /dev/null
wrk -t2 -c64 -d2s "http://127.0.0.1:$HAPROXY_PORT/" > /dev/null

echo "# loadavg before: $(cat /proc/loadavg)" >&2
echo "| mode | conns | target | req/s | p50 ms | p99 ms | ratio to direct | ratio to haproxy | proxy CPU % | proxy CPU µs per request |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for mode in $MODES; do
  hdr=(); [ "$mode" = close ] && hdr=(-H "Connection: close")
  for c in $CONNS; do
    declare -A rps=()
    for target in direct haproxy trireme; do
      case $target in direct) port=$DIRECT_PORT; pid="";; haproxy) port=$HAPROXY_PORT; pid=$HAPROXY_PID;; trireme) port=$TRIREME_PORT; pid=$TRIREME_PID;; esac
      best=""; p50=""; p99=""; cpu=""; per=""
      for r in $(seq "$REPEATS"); do
        c0=0; [ -n "$pid" ] && c0=$(cpu_ticks "$pid")
        out=$(wrk -t2 -c"$c" -d"${WRK_SECS}s" --latency "${hdr[@]}" "http://127.0.0.1:$port/" 2>&1)
        c1=0; [ -n "$pid" ] && c1=$(cpu_ticks "$pid")
        rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        errs=$(echo "$out" | awk '/Socket errors|Non-2xx/ {print}' | tr '\n' ' ')
        [ -n "$errs" ] && echo "# $mode c=$c $target: $errs" >&2
        if [ -z "$best" ] || awk -v a="$rate" -v b="$best" 'BEGIN{exit !(a>b)}'; then
          best=$rate
          p50=$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")
          p99=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
          cpu=$([ -n "$pid" ] && awk -v t=$((c1-c0)) -v s="$WRK_SECS" 'BEGIN{printf "%.0f", t/s}' || echo "")
          reqs=$(echo "$out" | awk '/requests in/ {print $1}')
          per=$([ -n "$pid" ] && awk -v t=$((c1-c0)) -v r="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", t*1e6/hz/r}' || echo "")
        fi
      done
      rps[$target]=$best
      rd=$(awk -v a="$best" -v b="${rps[direct]}" 'BEGIN{printf "%.3f", a/b}')
      rh=""; [ "$target" = trireme ] && rh=$(awk -v a="$best" -v b="${rps[haproxy]}" 'BEGIN{printf "%.3f", a/b}')
      echo "| $mode | $c | $target | $best | $p50 | $p99 | $rd | $rh | $cpu | $per |"
    done
  done
done

echo "# loadavg after: $(cat /proc/loadavg)" >&2
