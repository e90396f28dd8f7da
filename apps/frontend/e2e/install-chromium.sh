#!/usr/bin/env bash
# Make sure Debian's Chromium is present for the browser checks (the one system package they need).
# Idempotent: does nothing when /usr/bin/chromium exists. Needs root (apt-get).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-chromium: /usr/bin/chromium is missing and this is not root: run 'apt-get install -y chromium' as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q chromium
/usr/bin/chromium --version
