#!/usr/bin/env bash
# Prints the lab's secrets as environment assignments, creating each once (random) in .lab/secrets.env; a secret
# added by a newer version of the project is appended to an existing file. Real hosts take these from ansible-vault
# instead (inventories/production/group_vars/all/vault.yml.example). Also keeps .lab/web.credentials (the lab user's
# "user:password", 0600) for the controller's tools and prints where it and the lab's CA are.
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
RADIOLOGY_WEB_PASSWORD 32
RADIOLOGY_DB_REPLICATION_PASSWORD 32
RADIOLOGY_BACKUP_CIPHER_PASS 48
SECRETS
# The lab's one web user (radiology_web_user in inventories/_common/project.yml).
web_user=operator
web_password="$(sed -n 's/^RADIOLOGY_WEB_PASSWORD=//p' "$file")"
credentials="$root/.lab/web.credentials"
if [ "$(cat "$credentials" 2>/dev/null)" != "$web_user:$web_password" ]; then
  printf '%s:%s\n' "$web_user" "$web_password" > "$credentials.tmp" && mv "$credentials.tmp" "$credentials"
fi
cat "$file"
echo "RADIOLOGY_WEB_CREDENTIALS_FILE=$credentials"
echo "RADIOLOGY_WEB_CA_FILE=${RADIOLOGY_PKI_DIR:-$root/.lab/pki}/ca.crt"
