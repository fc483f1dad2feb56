#!/usr/bin/env bash
# Runs every test project in the solution and prints one line: "N passed, N failed, N skipped",
# summed over all projects from their TRX results (the per-project dotnet summaries are not summed
# by dotnet itself). Tests that need a tool or root skip with a reason when it is missing;
# `.ci/run` installs those tools first.
#
# Environment:
#   TRIREME_SIM_SEEDS=<n>   run more simulator seeds than the default CI count
#   TRIREME_SIM_SEED=<s>    replay one simulator seed
#   TRIREME_SOAK=1          also run the long soaks (see docs/testing.md)
#   TEST_FILTER=<expr>      passed to dotnet test --filter
set -uo pipefail
cd "$(dirname "$0")"

results=$(mktemp -d "${TMPDIR:-/tmp}/trireme-test-XXXXXX")
trap 'rm -rf "$results"' EXIT

dotnet build Trireme.slnx -c Release -nologo -clp:ErrorsOnly || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

args=(test Trireme.slnx -c Release --no-build --nologo --results-directory "$results"
      --logger "trx;LogFilePrefix=run" --logger "console;verbosity=normal")
[ -n "${TEST_FILTER:-}" ] && args+=(--filter "$TEST_FILTER")
dotnet "${args[@]}"
status=$?

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get total) - $(get executed)))
done

projects=$(dotnet sln Trireme.slnx list | grep -c '^tests/.*\.Tests\.csproj$' || true)
if [ "$files" -lt "$projects" ]; then
  # A test host that crashed writes no TRX: count it as a failure rather than lose it silently.
  echo "test.sh: only $files of $projects test projects reported results" >&2
  failed=$((failed + projects - files))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "test.sh: dotnet test exited $status with no failed test counted" >&2
  failed=1
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
