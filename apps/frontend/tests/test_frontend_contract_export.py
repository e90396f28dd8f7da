"""The generated contract module of the frontend must match radiology_contract exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from radiology_contract import analysis, fields, query, responses

FRONTEND = Path(__file__).resolve().parent.parent

SCRIPT = FRONTEND / "scripts" / "export_contract.py"
GENERATED = FRONTEND / "src" / "contract.generated.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], check=False, capture_output=True, text=True, timeout=60)


def test_committed_file_is_up_to_date():
    result = run("--check")
    assert result.returncode == 0, result.stderr


def test_generated_values_are_the_contract_values():
    doc = json.loads(GENERATED.read_text(encoding="utf-8"))
    assert doc["exam_statuses"] == list(fields.EXAM_STATUSES)
    assert doc["exam_sources"] == list(fields.EXAM_SOURCES)
    assert doc["modalities"] == list(fields.MODALITIES)
    assert doc["task_types"] == list(fields.TASK_TYPES)
    assert doc["max_page_size"] == query.MAX_PAGE_SIZE
    assert doc["default_page_size"] == query.DEFAULT_PAGE_SIZE
    assert doc["study_filter_names"] == list(query.STUDY_FILTER_NAMES)
    assert doc["report_filter_names"] == list(query.ReportFilters().as_dict())
    assert [f["name"] for f in doc["examination_fields"]] == [f.name for f in fields.EXAMINATION_FIELDS]
    assert [g["key"] for g in doc["statistics_groupings"]] == [k for k, _ in analysis.STATISTICS_GROUPINGS]
    assert doc["backend_header"] == responses.BACKEND_HEADER
    assert doc["retry_after_seconds"] == responses.RETRY_AFTER_SECONDS


def test_check_detects_a_stale_file(tmp_path):
    stale = tmp_path / "contract.generated.json"
    doc = json.loads(GENERATED.read_text(encoding="utf-8"))
    doc["modalities"] = [*doc["modalities"], "XX"]
    stale.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    result = run("--check", "--output", str(stale))
    assert result.returncode == 1
    assert "is stale" in result.stderr
    missing = run("--check", "--output", str(tmp_path / "absent.json"))
    assert missing.returncode == 1


def test_write_then_check_round_trips(tmp_path):
    out = tmp_path / "fresh.json"
    assert run("--output", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8") == GENERATED.read_text(encoding="utf-8")
    assert run("--check", "--output", str(out)).returncode == 0
