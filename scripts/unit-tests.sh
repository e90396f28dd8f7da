#!/usr/bin/env bash
# Runs every Python test folder (apps/*/tests and tests/) with pytest, UNIT_JOBS at a time (default 2). Each folder
# is its own pytest process with its own servers on free ports (PostgreSQL clusters, uvicorn, nginx, Chromium), so
# two never meet; alone, one keeps about one core busy (they wait on servers much of the time), so two at a time
# use the machine. A folder's whole output is printed when it ends, never interleaved with another's; the exit
# status is non-zero when any failed, and the failed ones are named.
#   scripts/unit-tests.sh [folder ...]      (make unit; default: every test folder)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${UNIT_JOBS:-2}"
if [ "$#" -gt 0 ]; then folders=("$@"); else mapfile -t folders < <(ls -d apps/*/tests tests); fi
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

run_one() {  # <folder>: runs its tests, then prints its log under a lock
  local dir="$1" name start rc=0
  name="$(echo "$dir" | tr / _)"
  start=$(date +%s)
  pytest -q -p no:cacheprovider "$dir" > "$logs/$name.log" 2>&1 || rc=$?
  {
    flock 9
    echo "== pytest $dir"
    cat "$logs/$name.log"
    echo "== pytest $dir: $([ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $(( $(date +%s) - start )) s"
    [ "$rc" -eq 0 ] || echo "$dir" >> "$logs/failed"
  } 9> "$logs/print.lock"
}
export -f run_one
export logs

# The slowest first (measured: migration ~200 s, imaging_api ~160 s, frontend ~100 s, tests ~75 s), so that the
# short ones fill in beside them instead of one slow folder running alone at the end; the rest in the order given.
ordered=()
for slow in apps/migration/tests apps/imaging_api/tests apps/frontend/tests tests; do
  for f in "${folders[@]}"; do [ "${f%/}" == "$slow" ] && ordered+=("$f"); done
done
for f in "${folders[@]}"; do [[ " ${ordered[*]} " == *" $f "* ]] || ordered+=("$f"); done
printf '%s\n' "${ordered[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}
if [ -s "$logs/failed" ]; then
  echo "unit: failed: $(paste -sd, "$logs/failed")"
  exit 1
fi
echo "unit: ${#folders[@]} test folders passed"
