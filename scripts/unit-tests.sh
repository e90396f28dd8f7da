#!/usr/bin/env bash
# Runs every Python test folder (apps/*/tests and tests/) with pytest, UNIT_JOBS at a time (default 2). Each folder
# is its own pytest process with its own servers on free ports (PostgreSQL clusters, uvicorn, nginx, Chromium), so
# two never meet; alone, one keeps about one core busy (they wait on servers much of the time), so two at a time
# use the machine. `-p no:cacheprovider`: two processes never write one .pytest_cache. Output and failures as
# scripts/in-parallel.sh prints them.
#   scripts/unit-tests.sh [folder ...]      (make unit; default: every test folder)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ "$#" -gt 0 ]; then folders=("$@"); else mapfile -t folders < <(ls -d apps/*/tests tests); fi

# The slowest first (measured: migration ~200 s, imaging_api ~160 s, frontend ~100 s, tests ~75 s), so that the
# short ones fill in beside them instead of one slow folder running alone at the end; the rest in the order given.
ordered=()
for slow in apps/migration/tests apps/imaging_api/tests apps/frontend/tests tests; do
  for f in "${folders[@]}"; do [ "${f%/}" == "$slow" ] && ordered+=("$f"); done
done
for f in "${folders[@]}"; do [[ " ${ordered[*]} " == *" $f "* ]] || ordered+=("$f"); done
jobs=()
for f in "${ordered[@]}"; do jobs+=("pytest $f" "pytest -q -p no:cacheprovider $(printf '%q' "$f")"); done
exec scripts/in-parallel.sh "${UNIT_JOBS:-2}" unit "${jobs[@]}"
