"""Rollback carry-back: tasks created and deleted on the new service reach the legacy database, proven by
`verify` against a fresh snapshot of the running legacy service."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mig_helpers import migrate, pg_execute
from radiology_testkit.ports import free_port
from radiology_testkit.servers import serve

TOKEN = "test-admin-token-carry-back-42"
LEGACY = str(Path(sys.executable).parent / "legacy-api")


@pytest.fixture
def legacy(base_snapshot: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "legacy" / "medical_imaging.duckdb"
    db.parent.mkdir()
    shutil.copyfile(base_snapshot, db)
    port = free_port()
    cmd = [LEGACY, "serve", "--db", str(db), "--port", str(port)]
    with serve(cmd, port, "/api/v1/health", {"LEGACY_ADMIN_TOKEN": TOKEN}) as url:
        yield url, db


def test_tasks_written_on_the_new_service_are_carried_back(
    legacy: tuple[str, Path], base_snapshot: Path, target_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, db = legacy
    code, doc = migrate("load", "--snapshot", str(base_snapshot), "--dsn", target_dsn)
    assert code == 0, doc["error"]
    cutover_at = "2030-01-01T00:00:00"
    new_id = str(uuid.uuid4())
    pg_execute(
        target_dsn,
        "INSERT INTO analysis_tasks (task_id, name, task_type, filters, status, result, created_at, completed_at)"
        " VALUES (%s, 'written after the switch', 'monthly_volume', %s, 'completed', %s,"
        " '2030-01-02 10:00:00', '2030-01-02 10:00:00')",
        [new_id, json.dumps({"q": "ct"}), json.dumps({"total": 0, "buckets": []})],
    )
    (deleted_id,) = pg_execute(
        target_dsn, "SELECT task_id FROM analysis_tasks WHERE deleted_at IS NULL ORDER BY task_id LIMIT 1"
    )[0]
    pg_execute(
        target_dsn, "UPDATE analysis_tasks SET deleted_at = '2030-01-03 11:00:00' WHERE task_id = %s", [deleted_id]
    )

    # Before the carry-back the legacy database misses both changes: verify must say so.
    subprocess.run([LEGACY, "freeze", "--db", str(db), "--reason", "rollback test"], check=True)
    monkeypatch.setenv("LEGACY_ADMIN_TOKEN", TOKEN)
    before = tmp_path / "before.duckdb"
    code, doc = migrate("snapshot", "--legacy-url", url, "--out", str(before))
    assert code == 0, doc["error"]
    code, doc = migrate("verify", "--snapshot", str(before), "--dsn", target_dsn)
    assert code == 1
    assert "analysis_tasks" in json.dumps(doc)

    export = tmp_path / "tasks.json"
    code, doc = migrate("export-tasks", "--dsn", target_dsn, "--out", str(export), "--since", cutover_at)
    assert code == 0, doc["error"]
    assert (doc["created_after"], doc["deleted_after"]) == (1, 1)
    code, doc = migrate("push-tasks", "--tasks-file", str(export), "--legacy-url", url)
    assert code == 0, doc["error"]
    assert doc["result"]["inserted"] == 1

    after = tmp_path / "after.duckdb"
    code, doc = migrate("snapshot", "--legacy-url", url, "--out", str(after))
    assert code == 0, doc["error"]
    code, doc = migrate("verify", "--snapshot", str(after), "--dsn", target_dsn)
    assert code == 0, doc["error"]


def test_push_refused_without_the_right_token(
    legacy: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = legacy
    export = tmp_path / "tasks.json"
    export.write_text(json.dumps({"tasks": []}))
    monkeypatch.setenv("LEGACY_ADMIN_TOKEN", "not-the-token")
    code, doc = migrate("push-tasks", "--tasks-file", str(export), "--legacy-url", url)
    assert code == 1
    assert "refused" in doc["error"]
