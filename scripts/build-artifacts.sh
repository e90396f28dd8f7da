#!/usr/bin/env bash
# Builds, once on the controller, everything the roles install on target hosts (which need no route to
# any package index):
#   artifacts/wheelhouse/            wheels of the four Python programs + every runtime dependency locked in
#                                    requirements/apps.lock (Python 3.11, x86_64; each download checked against the
#                                    lock's sha256, anything else refused), with SHA256SUMS; per program
#                                    the exact set it installs (<program>.lock) and that set as <program>.tar
#   artifacts/frontend/<id>-legacy/  the frontend built with REACT_APP_API_BASE=/legacy/api/v1
#   artifacts/frontend/<id>-imaging/ the frontend built with REACT_APP_API_BASE=/imaging/api/v1
#   artifacts/data/examinations.xlsx the generated 1,250-row lab workbook
#   artifacts/MANIFEST.json          versions, release ids, input hashes, sha256 and size of every file
# Idempotent: each part records a hash of its inputs and is skipped when they have not changed.
# Reproducible: the same sources give byte-identical wheels of the four programs, hence the same locks,
# archives and artifact ids (see SOURCE_DATE_EPOCH below), whenever they are built with the same toolchain.
# Usage: scripts/build-artifacts.sh [--force]      (ARTIFACTS_DIR overrides the output directory, APPS_LOCK the lock)
set -euo pipefail
umask 022

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${ARTIFACTS_DIR:-$root/artifacts}"
venv="${VENV:-$root/.venv}"
py="$venv/bin/python"
apps_lock="${APPS_LOCK:-$root/requirements/apps.lock}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

py_apps=(apps/contract apps/legacy_api apps/imaging_api apps/migration)

# Every timestamp written into a wheel (setuptools/wheel honour SOURCE_DATE_EPOCH) or an archive is this one.
# Fixed on purpose, not the time of the newest commit: a program's wheel then changes only when its own sources
# do, so a commit touching one program does not give the others new artifact ids (and their services a
# restart). 315532800 is 1980-01-01T00:00:00Z, the earliest time a zip file can record. An exported
# SOURCE_DATE_EPOCH takes precedence (and is part of the wheelhouse's input hash).
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-315532800}"
frontend="$root/apps/frontend"

[[ -x "$py" ]] || { echo "build-artifacts: no virtualenv at $venv (run: make venv)" >&2; exit 1; }
[[ -f "$apps_lock" ]] || { echo "build-artifacts: no lock $apps_lock (run: make lock)" >&2; exit 1; }
command -v npm >/dev/null || { echo "build-artifacts: npm not found (Node.js 20 is needed for the frontend)" >&2; exit 1; }
mkdir -p "$out"
# Molecule scenarios may call this script at the same time: one build at a time.
exec 9>"$out/.lock"
flock 9
workdir="$(mktemp -d "${TMPDIR:-/tmp}/build-artifacts.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT

# Hash of a set of source paths (file names and contents; caches and build leftovers excluded).
hash_inputs() {
  (cd "$root" && find "$@" -type f \
      -not -path '*/__pycache__/*' -not -path '*.egg-info/*' -not -path '*/node_modules/*' \
      -not -path '*/build/*' -not -path '*/dist/*' -not -path '*/.pytest_cache/*' -not -path '*/e2e-artifacts/*' \
      -not -path '*/tests/*' -not -path '*/e2e/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) \
    | sha256sum | cut -c1-16
}

# up_to_date STAMP HASH: true when the part was built from the same inputs and --force was not given.
up_to_date() { [[ $force -eq 0 && -f "$1" && "$(cat "$1")" == "$2" ]]; }

built=()

# 1. Wheelhouse -------------------------------------------------------------------------------------------
py_tag="$("$py" -c 'import sys, platform; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}")')"
wheel_hash="$( { hash_inputs requirements/apps.txt "${py_apps[@]}"; sha256sum < "$apps_lock"; echo "$py_tag $SOURCE_DATE_EPOCH"; } \
  | sha256sum | cut -c1-16)"
wheelhouse="$out/wheelhouse"
if up_to_date "$wheelhouse/.inputs" "$wheel_hash"; then
  echo "wheelhouse: up to date ($wheel_hash)"
else
  echo "wheelhouse: building for $py_tag (inputs $wheel_hash)"
  # Build from clean copies so the source trees get no build/ or egg-info directories. The copies' modes are
  # normalized (a wheel records each file's mode), so a checkout's umask does not change the wheels.
  srcs=()
  for app in "${py_apps[@]}"; do
    mkdir -p "$workdir/src/$app"
    (cd "$root/$app" && tar --exclude=__pycache__ --exclude='*.egg-info' --exclude=build --exclude=tests -cf - .) \
      | tar -C "$workdir/src/$app" -xf -
    srcs+=("$workdir/src/$app")
  done
  chmod -R u=rwX,go=rX "$workdir/src"
  # Every third-party wheel exactly as locked: pip refuses a file whose sha256 the lock does not list, and
  # --no-deps fetches nothing the lock does not name.
  "$py" -m pip wheel --quiet --require-hashes --no-deps --wheel-dir "$workdir/wheels" -r "$apps_lock"
  # The four programs from source, with the virtualenv's locked setuptools (no build isolation: nothing unpinned).
  "$py" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$workdir/wheels" "${srcs[@]}"
  # Prove the set is complete: an offline resolution of every program must succeed from it alone.
  "$py" -m pip install --quiet --dry-run --ignore-installed --no-index --find-links "$workdir/wheels" \
    --target "$workdir/dry-run" radiology-contract legacy-api imaging-api radiology-migration -r "$root/requirements/apps.txt"
  (cd "$workdir/wheels" && LC_ALL=C sha256sum -- *.whl > SHA256SUMS)
  # Per program, the exact set of wheels it installs ("<sha256>  <file>", as in SHA256SUMS): a role copies
  # only these to its hosts and installs them by file name, without resolving anything there.
  for program in legacy-api imaging-api radiology-migration; do
    "$py" -m pip install --quiet --dry-run --ignore-installed --no-index --find-links "$workdir/wheels" \
      --target "$workdir/dry-run" --report "$workdir/$program.json" "$program"
    "$py" - "$workdir/$program.json" "$workdir/wheels/SHA256SUMS" > "$workdir/wheels/$program.lock" <<'PY'
import json, sys
from pathlib import Path
from urllib.parse import unquote, urlparse

sums = dict(reversed(line.split(None, 1)) for line in Path(sys.argv[2]).read_text().splitlines())
files = sorted(Path(unquote(urlparse(i["download_info"]["url"]).path)).name for i in json.load(open(sys.argv[1]))["install"])
print("".join(f"{sums[f]}  {f}\n" for f in files), end="")
PY
    # ... and the same set as one deterministic archive: a role copies one file instead of dozens.
    (cd "$workdir/wheels" && tar --format=gnu --sort=name --mtime="@$SOURCE_DATE_EPOCH" --mode=u=rw,go=r \
      --owner=0 --group=0 --numeric-owner -cf "$program.tar" "$program.lock" $(awk '{print $2}' "$program.lock"))
  done
  echo "$wheel_hash" > "$workdir/wheels/.inputs"
  rm -rf "$wheelhouse.new" && mv "$workdir/wheels" "$wheelhouse.new"
  rm -rf "$wheelhouse" && mv "$wheelhouse.new" "$wheelhouse"
  built+=(wheelhouse)
fi

# 2. Frontend: two builds of the same sources, one per backend -------------------------------------------
front_hash="$(hash_inputs apps/frontend)"
front_version="$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' "$frontend/package.json")"
release_id="${front_version}-${front_hash:0:8}"
frontend_out="$out/frontend"
mkdir -p "$frontend_out"
if [[ ! -f "$frontend/node_modules/.installed" || "$frontend/package-lock.json" -nt "$frontend/node_modules/.installed" ]]; then
  echo "frontend: npm ci"
  (cd "$frontend" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed)
fi
for backend in legacy imaging; do
  release="${release_id}-${backend}"
  if up_to_date "$frontend_out/$release/.inputs" "$front_hash"; then
    echo "frontend $release: up to date"
    continue
  fi
  echo "frontend $release: building (REACT_APP_API_BASE=/$backend/api/v1)"
  (cd "$frontend" && REACT_APP_API_BASE="/$backend/api/v1" REACT_APP_BUILD_ID="$release" \
    npx --no-install vite build --logLevel error --outDir "$workdir/frontend-$backend" --emptyOutDir)
  echo "$front_hash" > "$workdir/frontend-$backend/.inputs"
  rm -rf "$frontend_out/$release" && mv "$workdir/frontend-$backend" "$frontend_out/$release"
  built+=("frontend/$release")
done
# Only the two current releases are artifacts; the hosts keep their own history of releases.
find "$frontend_out" -mindepth 1 -maxdepth 1 -type d -not -name "${release_id}-legacy" -not -name "${release_id}-imaging" \
  -exec rm -rf {} +

# 3. The lab workbook ---------------------------------------------------------------------------------------
data_hash="$(hash_inputs apps/contract apps/legacy_api)"
workbook="$out/data/examinations.xlsx"
if up_to_date "$out/data/.inputs" "$data_hash" && [[ -f "$workbook" ]]; then
  echo "data: up to date"
else
  echo "data: generating the lab workbook"
  mkdir -p "$out/data"
  "$venv/bin/legacy-api" generate --out "$workdir/examinations.xlsx" >/dev/null
  mv "$workdir/examinations.xlsx" "$workbook"
  echo "$data_hash" > "$out/data/.inputs"
  built+=(data/examinations.xlsx)
fi

# 4. Manifest (rewritten only when its content changes) ---------------------------------------------------
"$py" - "$out" "$release_id" "$wheel_hash" "$front_hash" "$data_hash" "$py_tag" <<'PY'
import hashlib, json, re, sys
from pathlib import Path

out, release_id, wheel_hash, front_hash, data_hash, py_tag = sys.argv[1:]
out = Path(out)
files = {}
for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name not in {"MANIFEST.json", ".inputs", ".lock"}):
    files[path.relative_to(out).as_posix()] = {
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
    }
versions = {}
for name in files:
    m = re.match(r"wheelhouse/([^-]+)-([^-]+)-.*\.whl$", name)
    if m:
        versions[m.group(1).replace("_", "-").lower()] = m.group(2)
manifest = {
    "python": py_tag,
    "versions": versions,
    "wheelhouse_id": hashlib.sha256((out / "wheelhouse" / "SHA256SUMS").read_bytes()).hexdigest()[:16],
    "frontend": {"release_id": release_id, "releases": {b: f"{release_id}-{b}" for b in ("legacy", "imaging")}},
    "inputs": {"wheelhouse": wheel_hash, "frontend": front_hash, "data": data_hash},
    "files": files,
}
text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
target = out / "MANIFEST.json"
if not target.exists() or target.read_text() != text:
    target.write_text(text)
    print("MANIFEST.json: written")
else:
    print("MANIFEST.json: unchanged")
PY

echo
if ((${#built[@]})); then echo "built: ${built[*]}"; else echo "built: nothing (all inputs unchanged)"; fi
echo "artifacts in $out:"
du -sh "$out/wheelhouse" "$out/frontend/"* "$out/data/examinations.xlsx" | sed 's|'"$out"'/||; s/^/  /'
echo "  $(ls "$out/wheelhouse"/*.whl | wc -l) wheels; frontend release id $release_id"
