#!/usr/bin/env bash
# End-to-end proof on one machine, all on loopback: generate 1,250 synthetic examinations → import them
# into a fresh DuckDB file → serve the legacy service → build the frontend against it → serve the build
# with a static file server → run the browser checks (e2e/run.mjs) with --expect-backend legacy.
#
#   apps/frontend/e2e/local.sh                 # screenshots in apps/frontend/e2e-artifacts/local
#
# Environment (all optional):
#   E2E_SCREENSHOTS   where screenshots and the JSON report go (default apps/frontend/e2e-artifacts/local)
#   E2E_LABEL         screenshot prefix (default before)
#   E2E_WORK          scratch directory (default a new temporary directory, removed afterwards)
#   E2E_ROWS          examinations to generate (default 1250)
#   E2E_SKIP_NPM_CI   1 = use the existing node_modules instead of running npm ci
#   PYTHON_BIN        Python of the project's virtualenv (default <repo>/.venv/bin/python)
set -euo pipefail

FRONTEND="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(cd "$FRONTEND/../.." && pwd)"
PYTHON_BIN="${PYTHON_BIN:-$REPO/.venv/bin/python}"
LEGACY_API="$(dirname "$PYTHON_BIN")/legacy-api"
SCREENSHOTS="${E2E_SCREENSHOTS:-$FRONTEND/e2e-artifacts/local}"
LABEL="${E2E_LABEL:-before}"
ROWS="${E2E_ROWS:-1250}"

log() { printf '[e2e-local %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { printf '[e2e-local] FAILED: %s\n' "$*" >&2; exit 1; }

[[ -x "$PYTHON_BIN" ]] || die "no Python at $PYTHON_BIN (create the virtualenv, or set PYTHON_BIN)"
[[ -x "$LEGACY_API" ]] || die "the legacy-api command is not installed next to $PYTHON_BIN (pip install -e apps/legacy_api)"
command -v npm >/dev/null || die "npm is not on PATH"
[[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]] || die "no Chromium at ${CHROMIUM_PATH:-/usr/bin/chromium} (apt-get install -y chromium)"

if [[ -n "${E2E_WORK:-}" ]]; then
  WORK="$E2E_WORK"; mkdir -p "$WORK"; KEEP_WORK=1
else
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/radiology-e2e.XXXXXX")"; KEEP_WORK=0
fi
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 ]]; then
    for f in "$WORK/legacy.log" "$WORK/static.log"; do
      [[ -f "$f" ]] && { echo "---- last lines of $f" >&2; tail -n 30 "$f" >&2; }
    done
  fi
  [[ $KEEP_WORK -eq 1 ]] || rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PYTHON_BIN" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() {  # wait_http URL SECONDS NAME PID
  local url=$1 deadline=$((SECONDS + $2)) name=$3 pid=$4
  until "$PYTHON_BIN" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || die "$name exited before answering $url"
    (( SECONDS < deadline )) || die "$name did not answer $url within $2 s"
    sleep 0.2
  done
}

API_PORT="$(free_port)"
STATIC_PORT="$(free_port)"
while [[ "$STATIC_PORT" == "$API_PORT" ]]; do STATIC_PORT="$(free_port)"; done
STATIC_ORIGIN="http://127.0.0.1:$STATIC_PORT"
API_BASE="http://127.0.0.1:$API_PORT/api/v1"

log "generate $ROWS examinations → $WORK/examinations.xlsx"
"$LEGACY_API" generate --format xlsx --rows "$ROWS" --out "$WORK/examinations.xlsx"
log "import → $WORK/medical_imaging.duckdb"
"$LEGACY_API" import --db "$WORK/medical_imaging.duckdb" "$WORK/examinations.xlsx"

log "serve legacy on 127.0.0.1:$API_PORT (CORS origin $STATIC_ORIGIN)"
LEGACY_CORS_ORIGINS="$STATIC_ORIGIN" "$LEGACY_API" serve --db "$WORK/medical_imaging.duckdb" \
  --host 127.0.0.1 --port "$API_PORT" --log-level warning >"$WORK/legacy.log" 2>&1 &
PIDS+=($!)
wait_http "$API_BASE/health" 60 "legacy-api serve" "${PIDS[-1]}"

cd "$FRONTEND"
if [[ "${E2E_SKIP_NPM_CI:-0}" != 1 ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "build with REACT_APP_API_BASE=$API_BASE"
build_start=$SECONDS
REACT_APP_API_BASE="$API_BASE" REACT_APP_BUILD_ID="e2e-local-$LABEL" npx vite build --outDir "$WORK/dist" --logLevel warn
log "built in $((SECONDS - build_start)) s, $(du -sh "$WORK/dist" | cut -f1)"

log "serve $WORK/dist on $STATIC_ORIGIN"
"$PYTHON_BIN" -m http.server "$STATIC_PORT" --bind 127.0.0.1 --directory "$WORK/dist" >"$WORK/static.log" 2>&1 &
PIDS+=($!)
wait_http "$STATIC_ORIGIN/build-info.json" 30 "static server" "${PIDS[-1]}"

log "browser checks → $SCREENSHOTS"
node "$FRONTEND/e2e/run.mjs" --url "$STATIC_ORIGIN/" --expect-backend legacy --screenshots "$SCREENSHOTS" --label "$LABEL"

log "freeze writes, then check the error states → $SCREENSHOTS"
"$LEGACY_API" freeze --db "$WORK/medical_imaging.duckdb" --reason "frontend e2e error-state check"
node "$FRONTEND/e2e/states.mjs" --url "$STATIC_ORIGIN/" --screenshots "$SCREENSHOTS" --label "$LABEL-states"
"$LEGACY_API" unfreeze --db "$WORK/medical_imaging.duckdb"
log "all browser checks passed"
