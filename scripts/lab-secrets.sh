#!/usr/bin/env bash
# Prints the lab's secrets as environment assignments, creating each once (random) in .lab/secrets.env; a secret
# added by a newer version of the project is appended to an existing file. Real hosts take these from ansible-vault
# instead (inventories/production/group_vars/all/vault.yml.example).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
file="$root/.lab/secrets.env"
mkdir -p "$root/.lab"
umask 077
touch "$file"
rand() { head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$1"; }
while read -r name length; do
  grep -q "^$name=" "$file" || echo "$name=$(rand "$length")" >> "$file"
done <<'SECRETS'
IMAGING_DB_PASSWORD 32
IMAGING_DB_OWNER_PASSWORD 32
IMAGING_SECRET_KEY 64
LEGACY_ADMIN_TOKEN 40
SECRETS
cat "$file"
