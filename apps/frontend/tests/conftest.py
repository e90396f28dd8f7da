"""Shared fixtures: paths, and node_modules installed from the committed lockfile (npm ci) when missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parent.parent
REPO = FRONTEND.parent.parent


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not on PATH: Node.js 20 and npm are needed to build and test apps/frontend")
    return npm


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """node_modules as `npm ci` makes it from package-lock.json; reinstalled when the lockfile is newer."""
    installed = FRONTEND / "node_modules" / ".package-lock.json"
    lock = FRONTEND / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        result = subprocess.run([_npm(), "ci"], check=False, cwd=FRONTEND, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            pytest.fail(f"npm ci failed in {FRONTEND}:\n{result.stdout}\n{result.stderr}")
    return FRONTEND / "node_modules"


@pytest.fixture(scope="session")
def npm() -> str:
    return _npm()


@pytest.fixture(scope="session")
def node_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("REACT_APP_API_BASE", None)
    env["NO_COLOR"] = "1"
    return env
