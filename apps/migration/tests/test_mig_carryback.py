"""Rollback carry-back: tasks created and deleted on the new service reach the legacy database, proven by
`verify` against a fresh snapshot of the running legacy service; the freeze barrier waits for a write in flight."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from mig_helpers import migrate, pg_execute
from radiology_contract.locks import FREEZE_LOCK_KEY
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

    # What rollback.yml runs on the legacy host: barrier, export and push in one process.
    export = tmp_path / "tasks.json"
    code, doc = migrate(
        *("carry-back", "--dsn", target_dsn, "--out", str(export), "--since", cutover_at, "--legacy-url", url)
    )
    assert code == 0, doc["error"]
    assert list(doc["steps"]) == ["freeze-barrier", "export-tasks", "push-tasks"]
    assert all(0 < step["step_seconds"] < 60 for step in doc["steps"].values()), doc["steps"]
    assert doc["steps"]["freeze-barrier"]["waited_s"] < 5
    assert (doc["steps"]["export-tasks"]["created_after"], doc["steps"]["export-tasks"]["deleted_after"]) == (1, 1)
    assert doc["steps"]["push-tasks"]["result"]["inserted"] == 1
    assert json.loads(export.read_text())["tasks"], "the export file holds the task rows"

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


def hold_the_freeze_lock_shared(dsn: str, seconds: float, held: threading.Event) -> None:
    """A write of the new service in flight: the freeze lock held shared for `seconds`, then committed."""
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", [FREEZE_LOCK_KEY])
        held.set()
        time.sleep(seconds)


def test_the_barrier_waits_for_a_write_in_flight(target_dsn: str) -> None:
    held = threading.Event()
    writer = threading.Thread(target=hold_the_freeze_lock_shared, args=(target_dsn, 1.5, held))
    writer.start()
    try:
        assert held.wait(10)
        code, doc = migrate("freeze-barrier", "--dsn", target_dsn, "--timeout", "20")
    finally:
        writer.join()
    assert code == 0, doc["error"]
    assert 0.5 < doc["waited_s"] < 20, doc


def test_carry_back_stops_at_the_barrier_when_writes_stay_in_flight(
    legacy: tuple[str, Path], target_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = legacy
    monkeypatch.setenv("LEGACY_ADMIN_TOKEN", TOKEN)
    export = tmp_path / "tasks.json"
    held = threading.Event()
    writer = threading.Thread(target=hold_the_freeze_lock_shared, args=(target_dsn, 3.0, held))
    writer.start()
    try:
        assert held.wait(10)
        code, doc = migrate(
            *("carry-back", "--dsn", target_dsn, "--out", str(export), "--legacy-url", url, "--barrier-timeout", "0.5")
        )
    finally:
        writer.join()
    assert code == 1
    assert doc["failed_step"] == "freeze-barrier"
    assert "writes still in flight on the new service after 0.5 s" in doc["error"]
    assert list(doc["steps"]) == ["freeze-barrier"], "nothing exported or pushed after a failed barrier"
    assert not export.exists()


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "soon"])
def test_the_barrier_refuses_a_timeout_that_is_no_limit(timeout: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        migrate("freeze-barrier", "--dsn", "postgresql://unused", "--timeout", timeout)
    assert exc.value.code == 2
    assert "--timeout" in capsys.readouterr().err
