#!/usr/bin/env bash
# Runs every role's molecule scenario (`molecule test`), MOLECULE_JOBS at a time (default 2): each scenario has its
# own containers, network and ephemeral folder, so two never meet. A scenario's whole output is printed when it ends,
# never interleaved with another's; the exit status is non-zero when any failed, and the failed ones are named.
#   scripts/molecule-roles.sh [roles/<role>/molecule/<scenario> ...]      (make molecule; default: every scenario)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${MOLECULE_JOBS:-2}"
if [ "$#" -gt 0 ]; then scenarios=("$@"); else mapfile -t scenarios < <(ls -d roles/*/molecule/*/ | sed 's:/$::'); fi
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

run_one() {  # <scenario dir>: runs it, then prints its log under a lock
  local dir="$1" role_dir="${1%/molecule/*}" scenario name start rc=0
  scenario="$(basename "$dir")"
  name="$(basename "$role_dir")-$scenario"
  start=$(date +%s)
  (cd "$role_dir" && molecule test -s "$scenario") > "$logs/$name.log" 2>&1 || rc=$?
  {
    flock 9
    echo "== molecule $role_dir ($scenario)"
    cat "$logs/$name.log"
    echo "== molecule $role_dir ($scenario): $([ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)") in $(( $(date +%s) - start )) s"
    [ "$rc" -eq 0 ] || echo "$role_dir ($scenario)" >> "$logs/failed"
  } 9> "$logs/print.lock"
}
export -f run_one
export logs

# The slowest first (postgresql's four hosts with a standby and the drill, then python_service), so that the short
# ones fill in beside them instead of one slow scenario running alone at the end; the rest in the order given.
ordered=()
for slow in postgresql python_service; do
  for s in "${scenarios[@]}"; do [[ "$s" == roles/"$slow"/* ]] && ordered+=("$s"); done
done
for s in "${scenarios[@]}"; do [[ " ${ordered[*]} " == *" $s "* ]] || ordered+=("$s"); done
printf '%s\n' "${ordered[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}
if [ -s "$logs/failed" ]; then
  echo "molecule: failed: $(paste -sd, "$logs/failed")"
  exit 1
fi
echo "molecule: ${#scenarios[@]} role scenarios passed"
