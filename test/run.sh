#!/usr/bin/env bash
# Runs every test file with an explicit list (node --test expands no globs and finds no .ts files
# by itself) and fails when no test ran. Pass a subset as arguments: test/run.sh unit integration
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(unit integration e2e)
files=()
for k in "${kinds[@]}"; do
  while IFS= read -r f; do files+=("$f"); done < <(find "test/$k" -name '*.test.ts' 2>/dev/null | sort)
done
if [ ${#files[@]} -eq 0 ]; then
  echo "test/run.sh: no test files found under: ${kinds[*]}" >&2
  exit 1
fi
echo "test/run.sh: ${#files[@]} test files"
out=$(mktemp)
# Every test's temporary files go under one directory of this run (tmpdir() follows TMPDIR):
# what a test leaves behind is counted and removed, pass or fail, so /tmp does not fill up.
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/multisect-test-run.XXXXXX")
sweep() {
  local left
  # tsx-<uid> is tsx's compile cache (the runner's, not a test's).
  left=$(find "$run_tmp" -mindepth 1 -maxdepth 1 ! -name 'tsx-*' 2>/dev/null | wc -l)
  if [ "$left" -gt 0 ]; then
    echo "test/run.sh: FAIL: tests left $left temporary entries in $run_tmp (removed now); by name:"
    find "$run_tmp" -mindepth 1 -maxdepth 1 ! -name 'tsx-*' -printf '%f\n' | sed -E 's/[-.][A-Za-z0-9]{6,}$//' | sort | uniq -c | sort -rn | head -40
    leaked=1
  fi
  rm -rf "$run_tmp" "$out"
}
leaked=0
trap sweep EXIT
export TMPDIR="$run_tmp"
set +e
# Two files at a time (one per core): the end-to-end tests start many processes. Each test
# sets its own timeout; the runner's default (70 min) only catches a test that set none.
node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT_MS:-4200000}" --test-reporter=spec "${files[@]}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
pass=$(grep -E '^ℹ pass [0-9]+' "$out" | tail -1 | awk '{print $3}')
fail=$(grep -E '^ℹ fail [0-9]+' "$out" | tail -1 | awk '{print $3}')
skipped=$(grep -E '^ℹ skipped [0-9]+' "$out" | tail -1 | awk '{print $3}')
echo "${pass:-0} passed, ${fail:-0} failed, ${skipped:-0} skipped"
if [ "${pass:-0}" -eq 0 ]; then
  echo "test/run.sh: zero tests passed: failing" >&2
  exit 1
fi
# What a test makes, it removes (test/helpers/temp-dirs.ts), pass or fail: a leftover fails the run.
sweep
trap - EXIT
[ "$leaked" -eq 0 ] || exit 1
exit "$rc"
