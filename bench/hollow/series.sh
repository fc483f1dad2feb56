#!/usr/bin/env bash
# The hollow-node series: run.sh for N = 500, 1000, 2000, 3000, 5000 (or HOLLOW_SERIES), stopping at
# the first N that misses (mutating p99 >= 1 s, schedule not held, or any error). Each N is a fresh
# cluster. Usage (holding the machine-wide lock for the whole series):
#   flock /tmp/trireme-bench.lock bench/hollow/series.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-30s}
for n in ${HOLLOW_SERIES:-500 1000 2000 3000 5000}; do
  echo "=== N=$n ($(date -u +%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg))"
  log=$(mktemp /tmp/trireme-hollow-series-XXXXXX)
  bench/hollow/run.sh "$n" "$duration" 2>&1 | tee "$log"
  if ! grep -q "slo_met=yes" "$log"; then
    rm -f "$log"
    echo "=== series stopped: N=$n missed"
    exit 0
  fi
  rm -f "$log"
done
echo "=== series complete: every N held"
