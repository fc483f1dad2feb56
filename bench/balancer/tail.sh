#!/usr/bin/env bash
# Latency tail, HAProxy 2.6 beside `trireme lb`: ROUNDS rounds of wrk runs through each target in
# turn (the order rotates every round, so all see the same background load), every round's req/s, p50,
# p90 and p99 printed, then the median of each over the rounds with ratios to HAProxy and to direct.
# run.sh keeps one run per target (the best of REPEATS by rate), so its p99 is a single sample; on
# this machine one sample moves by ±5 % between runs, which is more than this script exists to judge.
# TARGETS may add `direct` (wrk straight to one nginx port) and `sockmap`: kernel-bound/
# sockmap-forward.c, compiled here with gcc, a forwarder whose bytes stay in the kernel (BPF sockmap
# redirect) — the best any proxy could do on this machine (keep-alive only; needs root).
# Run under the machine-wide lock:  flock /tmp/trireme-bench.lock bench/balancer/tail.sh
# Knobs: WRK_SECS=5 CONNS="64 512" MODES=keepalive ROUNDS=6 TARGETS="haproxy trireme" WARMUP_SECS=3 (load
# through trireme before the first round, for its JIT) BASE_PORT=19280 NOBUILD=0
set -euo pipefail
cd "$(dirname "$0")"
REPO=$(cd ../.. && pwd)
WRK_SECS=${WRK_SECS:-5}
CONNS=${CONNS:-"64 512"}
MODES=${MODES:-keepalive}
ROUNDS=${ROUNDS:-6}
TARGETS=${TARGETS:-"haproxy trireme"}
BASE=${BASE_PORT:-19280}
ulimit -n "$(ulimit -Hn)"

source ./procs.sh
bench_setup tail
SOCKMAP_PORT=$((BASE+30))
if [[ " $TARGETS " == *" sockmap "* ]]; then
  gcc -O2 -Wall -o "$tmp/sockmap-forward" kernel-bound/sockmap-forward.c
  "$tmp/sockmap-forward" "$SOCKMAP_PORT" $((BASE+1)) $((BASE+2)) $((BASE+3)) 2> "$tmp/sockmap.log" & pids+=($!)
  for _ in $(seq 20); do grep -q listening "$tmp/sockmap.log" && break; sleep 0.25; done
  grep -q listening "$tmp/sockmap.log" || { cat "$tmp/sockmap.log" >&2; exit 1; }
fi

median() { sort -g | awk '{a[NR]=$1} END { if (NR == 0) exit; if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'; }

# Warm up the JIT (tiered compilation) and nginx before measuring.
wrk -t2 -c64 -d"${WARMUP_SECS:-3}s" "http://127.0.0.1:$TRIREME_PORT/" > /dev/null
wrk -t2 -c64 -d2s "http://127.0.0.1:$HAPROXY_PORT/" > /dev/null

echo "# loadavg before: $(cat /proc/loadavg)" >&2
echo "| mode | conns | round | target | req/s | p50 ms | p90 ms | p99 ms |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
: > "$tmp/rows"
for mode in $MODES; do
  hdr=(); [ "$mode" = close ] && hdr=(-H "Connection: close")
  for c in $CONNS; do
    for r in $(seq "$ROUNDS"); do
      # Rotate the order, so no target always runs right after the same other one.
      read -ra all <<< "$TARGETS"
      k=$(( (r - 1) % ${#all[@]} ))
      for target in "${all[@]:k}" "${all[@]:0:k}"; do
        case $target in haproxy) port=$HAPROXY_PORT;; trireme) port=$TRIREME_PORT;; direct) port=$DIRECT_PORT;; sockmap) port=$SOCKMAP_PORT;;
          *) echo "unknown target $target" >&2; exit 2;; esac
        out=$(wrk -t2 -c"$c" -d"${WRK_SECS}s" --latency "${hdr[@]}" "http://127.0.0.1:$port/" 2>&1)
        errs=$(echo "$out" | awk '/Socket errors|Non-2xx/ {print}' | tr '\n' ' ')
        [ -n "$errs" ] && echo "# $mode c=$c $target: $errs" >&2
        rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        p50=$(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')")
        p90=$(to_ms "$(echo "$out" | awk '$1=="90%" {print $2}')")
        p99=$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")
        echo "| $mode | $c | $r | $target | $rate | $p50 | $p90 | $p99 |"
        echo "$mode $c $target $rate $p50 $p90 $p99" >> "$tmp/rows"
      done
    done
  done
done
echo "# loadavg after: $(cat /proc/loadavg)" >&2

echo
echo "Medians over $ROUNDS rounds:"
echo
echo "| mode | conns | target | req/s | p50 ms | p90 ms | p99 ms | req/s to haproxy | p99 to haproxy | req/s to direct |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
med() { awk -v m="$1" -v c="$2" -v t="$3" -v i="$4" '$1==m && $2==c && $3==t {print $i}' "$tmp/rows" | median; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }
for mode in $MODES; do
  for c in $CONNS; do
    h_rate=$(med "$mode" "$c" haproxy 4); h_p99=$(med "$mode" "$c" haproxy 7); d_rate=$(med "$mode" "$c" direct 4)
    for target in $TARGETS; do
      rate=$(med "$mode" "$c" "$target" 4); p99=$(med "$mode" "$c" "$target" 7)
      echo "| $mode | $c | $target | $rate | $(med "$mode" "$c" "$target" 5) | $(med "$mode" "$c" "$target" 6) | $p99 | $(ratio "$rate" "$h_rate" || true) | $(ratio "$p99" "$h_p99" || true) | $(ratio "$rate" "$d_rate" || true) |"
    done
  done
done
