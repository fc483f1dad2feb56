#!/usr/bin/env bash
# Long seed sweep of the Raft simulator, outside the test suite (docs/simulation.md, "Seeds run").
# Usage: scripts/sim-sweep.sh FIRST_SEED COUNT [STEPS]   e.g. scripts/sim-sweep.sh 200000 100000
# Runs chunks of 1000 consecutive seeds, alternating 3- and 5-node clusters, every fault on, and prints
# one line per chunk plus every failing seed's replay command; exits 1 if any seed failed.
set -euo pipefail
cd "$(dirname "$0")/.."
first=${1:?first seed}; count=${2:?seed count}; steps=${3:-3000}
bin=${SIM_BIN:-src/Trireme.Cli/bin/Release/net10.0/trireme}
[ -x "$bin" ] || dotnet build src/Trireme.Cli -c Release -nologo -clp:ErrorsOnly
failed=0; start=$(date +%s)
for ((seed = first, chunk = 0; seed < first + count; seed += 1000, chunk++)); do
  n=$(( first + count - seed < 1000 ? first + count - seed : 1000 ))
  nodes=$(( chunk % 2 == 0 ? 3 : 5 ))
  out=$("$bin" sim --nodes "$nodes" --seed "$seed" --steps "$steps" --seeds "$n") || true
  summary=$(echo "$out" | tail -1)
  echo "$(date -u +%H:%M:%S) seeds $seed..$((seed + n - 1)) nodes $nodes: $summary"
  if ! echo "$summary" | grep -q ' 0 failed'; then
    failed=1; echo "$out" | grep -E 'FAILED|replay:'
  fi
done
echo "total: $count seeds from $first in $(( $(date +%s) - start )) s; $([ $failed = 0 ] && echo 'no failure' || echo 'FAILURES above')"
exit $failed
