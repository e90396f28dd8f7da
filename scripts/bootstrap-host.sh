#!/usr/bin/env bash
# Prepares this machine (the Ansible controller and the lab host) for `make test` and `make cutover`:
# installs the system packages the project needs and starts the Docker engine. Safe to run again.
# It stops at once, saying what to install, where it cannot do that itself.
set -euo pipefail

need_packages=(docker.io debootstrap postgresql chromium libnss3-tools nginx-light rsync)
need_commands=(docker dockerd debootstrap chromium certutil rsync node npm)
pg_bin_hint="/usr/lib/postgresql/*/bin/initdb"

missing_packages() {
  local p out=()
  for p in "${need_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out+=("$p")
  done
  echo "${out[@]:-}"
}

if [ ! -r /etc/debian_version ]; then
  echo "bootstrap: this machine is not Debian-like. Install by hand: Docker engine, debootstrap, PostgreSQL server" >&2
  echo "  (initdb/pg_ctl), Chromium, rsync, Node.js 20 with npm 11, Python 3.11+ with venv; then run make again." >&2
  exit 1
fi

missing="$(missing_packages)"
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing system packages: $missing" >&2
    echo "  run as root, or install them first: sudo apt-get install -y $missing" >&2
    exit 1
  fi
  echo "bootstrap: installing $missing"
  apt-get update -qq
  # A package's service must not start at install time in a container or CI machine without systemd.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

for c in "${need_commands[@]}"; do
  command -v "$c" >/dev/null || { echo "bootstrap: command '$c' not found after installing packages; install it" >&2; exit 1; }
done
# shellcheck disable=SC2086
ls $pg_bin_hint >/dev/null 2>&1 || { echo "bootstrap: PostgreSQL server binaries ($pg_bin_hint) not found" >&2; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || { echo "bootstrap: Node.js >= 20 is needed (found $(node --version))" >&2; exit 1; }

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: the Docker engine is not running and this user cannot start it: sudo systemctl start docker" >&2
    exit 1
  fi
  if [ "$(ps -o comm= -p 1)" = "systemd" ] && systemctl start docker 2>/dev/null; then
    echo "bootstrap: started docker.service"
  else
    echo "bootstrap: starting dockerd (log: /var/log/dockerd-radiology.log)"
    nohup dockerd >/var/log/dockerd-radiology.log 2>&1 &
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "bootstrap: dockerd did not come up; see /var/log/dockerd-radiology.log" >&2; tail -n 20 /var/log/dockerd-radiology.log >&2; exit 1; }
fi
echo "bootstrap: host ready (docker $(docker version -f '{{.Server.Version}}'))"
