"""Browser end-to-end on this machine: e2e/local.sh against a real legacy service, in real Chromium.

Generates 1,250 examinations, imports them into DuckDB, serves the legacy service, builds the frontend
against it, serves the build statically and runs e2e/run.mjs (every page with data, backend "legacy") and
e2e/states.mjs (write freeze, validation error, not found). Screenshots stay in
apps/frontend/e2e-artifacts/local/ as test artifacts.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

FRONTEND = Path(__file__).resolve().parent.parent
SCREENSHOTS = FRONTEND / "e2e-artifacts" / "local"
PAGES = ("studies", "studies-filtered", "reports", "study-reports", "statistics", "tasks", "task", "task-deleted")
STATES = ("writes-frozen-create", "writes-frozen-delete", "invalid-filter", "not-found")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_every_page_shows_legacy_data_in_a_real_browser(node_modules, node_env, tmp_path):
    for old in SCREENSHOTS.glob("before*"):
        old.unlink()
    env = {
        **node_env,
        "E2E_SCREENSHOTS": str(SCREENSHOTS),
        "E2E_LABEL": "before",
        "E2E_WORK": str(tmp_path / "work"),
        "E2E_SKIP_NPM_CI": "1",  # the node_modules fixture ran npm ci when needed
    }
    result = subprocess.run(
        ["bash", str(FRONTEND / "e2e" / "local.sh")],
        check=False,
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "8 passed, 0 failed" in result.stdout
    assert "4 passed, 0 failed" in result.stdout

    report = json.loads((SCREENSHOTS / "before-report.json").read_text(encoding="utf-8"))
    assert report["passed"] is True
    assert report["expected_backend"] == "legacy"
    assert report["problems"] == []
    assert [p["page"] for p in report["pages"]] == list(PAGES)
    studies = report["pages"][0]["facts"]
    assert studies["total"] == 1250, studies
    assert studies["rows"] == 20, studies
    assert all(p["facts"]["backend"] == "legacy" for p in report["pages"])

    for name in [f"before-{p}" for p in PAGES] + [f"before-states-{s}" for s in STATES]:
        shot = SCREENSHOTS / f"{name}.png"
        assert shot.is_file(), f"missing screenshot {shot}"
        data = shot.read_bytes()
        assert data.startswith(PNG_SIGNATURE), shot
        assert len(data) > 20_000, f"{shot} is suspiciously small ({len(data)} bytes)"
    assert not list(SCREENSHOTS.glob("*FAILED*.png"))
    assert not (tmp_path / "work" / "medical_imaging.duckdb.freeze").exists(), "writes were left frozen"
    assert os.access(FRONTEND / "e2e" / "local.sh", os.X_OK)
