"""The hashed locks: complete, in step with the top-level pins, and enforced by the wheelhouse build."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQ = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def _lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a lock written by `make lock` (uv pip compile --generate-hashes)."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        if m := PIN.match(line):
            current = _name(m[1])
            entries[current] = (m[2], [])
        elif current and (h := re.search(r"--hash=sha256:([0-9a-f]{64})", line)):
            entries[current][1].append(h[1])
        elif line and not line.startswith((" ", "#")):
            raise AssertionError(f"{path.name}: line not pinned with ==: {line!r}")
    return entries


def _pins(path: Path) -> dict[str, str]:
    return {_name(m[1]): m[2] for line in path.read_text().splitlines() if (m := PIN.match(line))}


def test_every_locked_package_is_pinned_with_hashes():
    for name in ("apps.lock", "controller.lock"):
        entries = _lock(REQ / name)
        assert len(entries) > 10, name
        unhashed = [pkg for pkg, (_, hashes) in entries.items() if not hashes]
        assert unhashed == [], f"{name}: no sha256 for {unhashed}"


def test_locks_follow_the_top_level_pins_and_agree():
    apps, controller = _lock(REQ / "apps.lock"), _lock(REQ / "controller.lock")
    for source, lock in (("apps.txt", apps), ("apps.txt", controller), ("controller.txt", controller)):
        for pkg, version in _pins(REQ / source).items():
            assert pkg in lock, f"{pkg} of {source} is missing from the lock: run make lock"
            assert lock[pkg][0] == version, f"{pkg}: {source} pins {version}, the lock {lock[pkg][0]}: run make lock"
    shared = apps.keys() & controller.keys()
    differ = {p: (apps[p][0], controller[p][0]) for p in shared if apps[p][0] != controller[p][0]}
    assert differ == {}, f"the hosts and the controller would run other versions: {differ}"
    assert "locust" not in controller and "duckdb-extension-postgres" not in apps


def test_the_wheelhouse_build_refuses_a_file_whose_hash_the_lock_does_not_list(tmp_path):
    # A real wheel in a local folder, offered to the build under a lock whose hash is not the wheel's.
    # Built from a copy: a build without isolation writes build/ and egg-info into the tree it builds.
    skip = shutil.ignore_patterns("*.egg-info", "build")
    source = shutil.copytree(ROOT / "apps" / "contract", tmp_path / "contract", ignore=skip)
    links = tmp_path / "links"
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "--wheel-dir", str(links), str(source)], check=True)
    lock = tmp_path / "broken.lock"
    lock.write_text("radiology-contract==1.0.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    env = {
        **os.environ,
        "ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "APPS_LOCK": str(lock),
        "VENV": str(Path(sys.executable).parent.parent),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(links),
    }
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-artifacts.sh"), "--force"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "DO NOT MATCH THE HASHES" in out and "radiology-contract" in out, out[-2000:]
    assert not (tmp_path / "artifacts" / "wheelhouse").exists()
