#!/usr/bin/env bash
# Prints the lab's secrets as environment assignments, creating them once (random) in .lab/secrets.env.
# Real hosts take these from ansible-vault instead (inventories/production/group_vars/all/vault.yml.example).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
file="$root/.lab/secrets.env"
if [ ! -s "$file" ]; then
  mkdir -p "$root/.lab"
  umask 077
  rand() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }
  {
    echo "IMAGING_DB_PASSWORD=$(rand 32)"
    echo "IMAGING_SECRET_KEY=$(rand 64)"
    echo "LEGACY_ADMIN_TOKEN=$(rand 40)"
  } > "$file"
fi
cat "$file"
