"""`snapshot`: from the running legacy service (writes frozen) and from a stopped service's file."""

from __future__ import annotations

import json
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from mig_helpers import migrate
from radiology_contract.tables import TABLES
from radiology_testkit.ports import free_port
from radiology_testkit.servers import serve

TOKEN = "test-admin-token-0123456789"
LEGACY = str(Path(sys.executable).parent / "legacy-api")


@pytest.fixture
def legacy_db(base_snapshot: Path, tmp_path: Path) -> Path:
    db = tmp_path / "legacy" / "medical_imaging.duckdb"
    db.parent.mkdir()
    shutil.copyfile(base_snapshot, db)
    return db


@pytest.fixture
def legacy_url(legacy_db: Path) -> Iterator[str]:
    port = free_port()
    cmd = [LEGACY, "serve", "--db", str(legacy_db), "--port", str(port)]
    with serve(cmd, port, "/api/v1/health", {"LEGACY_ADMIN_TOKEN": TOKEN}) as url:
        yield url


def db_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t.kind: con.execute(f"SELECT count(*) FROM {t.duckdb}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def post_task(url: str) -> int:
    body = json.dumps({"name": "probe", "task_type": "status_distribution"}).encode()
    req = urllib.request.Request(url + "/api/v1/analysis/tasks", data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def test_snapshot_from_the_running_service(
    legacy_url: str, legacy_db: Path, tmp_path: Path, target_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEGACY_ADMIN_TOKEN", TOKEN)
    out = tmp_path / "snap.duckdb"
    code, doc = migrate("snapshot", "--legacy-url", legacy_url, "--out", str(out))
    assert code == 1 and "not frozen" in doc["error"] and not out.exists()

    progress = tmp_path / "progress.log"
    code, doc = migrate(
        "snapshot",
        *("--legacy-url", legacy_url, "--out", str(out), "--freeze", "--legacy-db", str(legacy_db)),
        *("--progress", str(progress)),
    )
    assert code == 0, doc["error"]
    said = [line.split(" ", 1)[1] for line in progress.read_text().splitlines()]
    asked = f"snapshot the service at {legacy_url}/api/v1 writes a consistent copy"
    assert any(line.startswith(asked) for line in said), said
    assert said[-1].startswith(f"snapshot done {sum(doc['counts'].values())} rows in ")
    assert post_task(legacy_url) == 503  # writes are frozen, reads go on
    meta = json.loads(Path(str(out) + ".meta.json").read_text())
    assert meta["counts"] == db_counts(out) == doc["counts"]
    assert meta["source"]["kind"] == "service" and meta["max_task_created_at"]
    assert not list(tmp_path.glob("*.partial*"))

    code, again = migrate("snapshot", "--legacy-url", legacy_url, "--out", str(out))
    assert code == 1 and "already exists" in again["error"]

    monkeypatch.setenv("LEGACY_ADMIN_TOKEN", "wrong-token")
    code, wrong = migrate("snapshot", "--legacy-url", legacy_url, "--out", str(tmp_path / "other.duckdb"))
    assert code == 1 and "/admin/snapshot answered 40" in wrong["error"]

    assert migrate("load", "--snapshot", str(out), "--dsn", target_dsn)[0] == 0
    code, verified = migrate("verify", "--snapshot", str(out), "--dsn", target_dsn)
    assert code == 0, verified["error"]


def test_snapshot_from_a_stopped_service_file(legacy_db: Path, tmp_path: Path, target_dsn: str) -> None:
    out = tmp_path / "file-snap.duckdb"
    code, doc = migrate("snapshot", "--from-file", str(legacy_db), "--out", str(out))
    assert code == 0, doc["error"]
    assert doc["counts"] == db_counts(legacy_db)
    assert json.loads(Path(str(out) + ".meta.json").read_text())["source"]["kind"] == "file"

    # A snapshot changed after it was taken no longer matches its metadata: load refuses it.
    con = duckdb.connect(str(out))
    con.execute("DELETE FROM analysis_tasks WHERE task_id = (SELECT min(task_id) FROM analysis_tasks)")
    con.close()
    code, doc = migrate("load", "--snapshot", str(out), "--dsn", target_dsn)
    assert code == 1 and "no longer matches" in doc["error"] and "analysis_tasks" in doc["error"]


def test_snapshot_from_file_refuses_a_database_in_use(legacy_url: str, legacy_db: Path, tmp_path: Path) -> None:
    code, doc = migrate("snapshot", "--from-file", str(legacy_db), "--out", str(tmp_path / "x.duckdb"))
    assert code == 1 and str(legacy_db) in doc["error"]
