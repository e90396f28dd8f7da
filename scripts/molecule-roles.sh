#!/usr/bin/env bash
# Runs every role's molecule scenario (`molecule test`), MOLECULE_JOBS at a time (default 2): each scenario has its
# own containers, network and ephemeral folder, so two never meet. Output and failures as scripts/in-parallel.sh
# prints them.
#   scripts/molecule-roles.sh [roles/<role>/molecule/<scenario> ...]      (make molecule; default: every scenario)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ "$#" -gt 0 ]; then scenarios=("$@"); else mapfile -t scenarios < <(ls -d roles/*/molecule/*/ | sed 's:/$::'); fi

# An order that packs two at a time: the two longest run one after the other beside the three shorter ones, so
# that no scenario runs alone at the end. Measured by .ci/run on two cores, two at a time (s): python_service
# 457, postgresql 409, imaging_api 337, frontend 289, nginx 277; in this order they end after ~900 s, longest
# first after ~975 s. A scenario not listed here runs after these.
ordered=()
for role in python_service imaging_api frontend postgresql nginx; do
  for s in "${scenarios[@]}"; do [[ "$s" == roles/"$role"/* ]] && ordered+=("$s"); done
done
for s in "${scenarios[@]}"; do [[ " ${ordered[*]} " == *" $s "* ]] || ordered+=("$s"); done
jobs=()
for s in "${ordered[@]}"; do
  dir="${s%/}" role_dir="${s%/molecule/*}"
  jobs+=("molecule $role_dir ($(basename "$dir"))"
    "cd $(printf '%q' "$role_dir") && molecule test -s $(printf '%q' "$(basename "$dir")")")
done
exec scripts/in-parallel.sh "${MOLECULE_JOBS:-2}" molecule "${jobs[@]}"
