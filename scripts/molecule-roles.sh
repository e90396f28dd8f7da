#!/usr/bin/env bash
# Runs every role's molecule scenario (`molecule test`), MOLECULE_JOBS at a time (default 2): each scenario has its
# own containers, network and ephemeral folder, so two never meet. Output and failures as scripts/in-parallel.sh
# prints them.
#   scripts/molecule-roles.sh [roles/<role>/molecule/<scenario> ...]      (make molecule; default: every scenario)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ "$#" -gt 0 ]; then scenarios=("$@"); else mapfile -t scenarios < <(ls -d roles/*/molecule/*/ | sed 's:/$::'); fi

# The slowest first (postgresql's four hosts with a standby and the drill, then python_service), so that the short
# ones fill in beside them instead of one slow scenario running alone at the end; the rest in the order given.
ordered=()
for slow in postgresql python_service; do
  for s in "${scenarios[@]}"; do [[ "$s" == roles/"$slow"/* ]] && ordered+=("$s"); done
done
for s in "${scenarios[@]}"; do [[ " ${ordered[*]} " == *" $s "* ]] || ordered+=("$s"); done
jobs=()
for s in "${ordered[@]}"; do
  dir="${s%/}" role_dir="${s%/molecule/*}"
  jobs+=("molecule $role_dir ($(basename "$dir"))"
    "cd $(printf '%q' "$role_dir") && molecule test -s $(printf '%q' "$(basename "$dir")")")
done
exec scripts/in-parallel.sh "${MOLECULE_JOBS:-2}" molecule "${jobs[@]}"
