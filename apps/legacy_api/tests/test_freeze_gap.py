"""The freeze has no gap: a write held open across the freeze and the admin snapshot, over a real DuckDB file.

Synchronisation is by events only: a write is stopped at a chosen point (inside the write lock, or after the
first freeze check but before the lock) by a Gate, and the snapshot is known to be waiting when the write lock
reports contention. Nothing sleeps to let another thread get somewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from gates import PATIENCE, ContendedLock, Gate
from legacy_api import store
from legacy_api.app import create_app
from legacy_api.cli import main
from legacy_api.freeze import freeze
from legacy_api.settings import Settings
from radiology_contract import responses

API = "/api/v1"
TASKS = f"{API}/analysis/tasks"
SNAPSHOT = f"{API}/admin/snapshot"
ADMIN = {"X-Admin-Token": "s3cret"}

BASE_URL = "http://localhost"  # a Host the service answers for by default (LEGACY_ALLOWED_HOSTS)


def task_names(db: Path, con: duckdb.DuckDBPyConnection | None = None) -> set[str]:
    if con is not None:
        return {r[0] for r in con.execute("SELECT name FROM analysis_tasks").fetchall()}
    snap = duckdb.connect(str(db), read_only=True)
    try:
        return task_names(db, snap)
    finally:
        snap.close()


def new_task(name: str) -> dict[str, str]:
    return {"name": name, "task_type": "status_distribution"}


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def test_snapshot_waits_for_the_write_in_flight(
    client: TestClient, seeded_db: Path, tmp_path: Path, pool: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = client.app.state.service
    service.write_lock = lock = ContendedLock()
    gate = Gate()
    monkeypatch.setattr(store, "insert_task", gate.hold(store.insert_task))
    target = tmp_path / "snap.duckdb"

    write = pool.submit(client.post, TASKS, json=new_task("in flight"))
    assert gate.entered.wait(PATIENCE)  # the write holds the write lock, nothing inserted yet
    freeze(seeded_db, "cutover")
    snap = pool.submit(client.post, SNAPSHOT, json={"path": str(target)}, headers=ADMIN)
    assert lock.contended.wait(PATIENCE)  # the snapshot is waiting for the write lock
    assert not snap.done() and not target.exists()

    gate.release.set()
    created, snapped = write.result(PATIENCE), snap.result(PATIENCE)
    assert created.status_code == 201, created.text
    assert snapped.status_code == 200, snapped.text
    assert "in flight" in task_names(target)


def test_write_after_the_freeze_is_refused(client: TestClient, seeded_db: Path) -> None:
    con = client.app.state.service.con
    live = client.get(TASKS, params={"page_size": 1}).json()["data"][0]["task_id"]
    before = con.execute("SELECT count(*), count(deleted_at) FROM analysis_tasks").fetchall()
    freeze(seeded_db, "cutover")
    for r in (client.post(TASKS, json=new_task("after freeze")), client.delete(f"{TASKS}/{live}")):
        assert r.status_code == 503 and r.json()["error"]["code"] == "writes_frozen"
        assert r.headers["retry-after"] == str(responses.RETRY_AFTER_SECONDS)
    assert con.execute("SELECT count(*), count(deleted_at) FROM analysis_tasks").fetchall() == before


def test_write_past_the_first_check_but_late_for_the_lock_is_refused(
    client: TestClient, seeded_db: Path, tmp_path: Path, pool: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The gap of a check-then-lock freeze: the write looks (not frozen), the freeze and the snapshot happen,
    # then the write takes the lock. It must not be acknowledged, since the snapshot does not hold it.
    service = client.app.state.service
    gate = Gate()
    monkeypatch.setattr(service, "ready", gate.hold(service.ready))  # after the first check, before the lock
    target = tmp_path / "snap.duckdb"

    late = pool.submit(client.post, TASKS, json=new_task("late"))
    assert gate.entered.wait(PATIENCE)
    freeze(seeded_db, "cutover")
    snapped = client.post(SNAPSHOT, json={"path": str(target)}, headers=ADMIN)
    assert snapped.status_code == 200, snapped.text

    gate.release.set()
    answer = late.result(PATIENCE)
    assert answer.status_code == 503, f"acknowledged after the snapshot: {answer.status_code} {answer.text}"
    assert answer.json()["error"]["code"] == "writes_frozen"
    assert "late" not in task_names(target)
    assert "late" not in task_names(seeded_db, service.con)


@pytest.fixture
def impatient_client(seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("LEGACY_ADMIN_TOKEN", "s3cret")
    monkeypatch.setenv("LEGACY_SNAPSHOT_WAIT_SECONDS", "0.2")
    app = create_app(Settings.from_env(seeded_db))
    with TestClient(app, base_url=BASE_URL, client=("127.0.0.1", 50000)) as c:
        yield c
    app.state.service.con.close()


def test_snapshot_gives_up_on_a_write_held_too_long(
    impatient_client: TestClient,
    seeded_db: Path,
    tmp_path: Path,
    pool: ThreadPoolExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = impatient_client
    gate = Gate()
    monkeypatch.setattr(store, "insert_task", gate.hold(store.insert_task))
    target = tmp_path / "snap.duckdb"

    write = pool.submit(client.post, TASKS, json=new_task("slow"))
    assert gate.entered.wait(PATIENCE)
    freeze(seeded_db, "cutover")
    refused = client.post(SNAPSHOT, json={"path": str(target)}, headers=ADMIN)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "conflict"
    assert "writes were still in flight after 0.2 s; no snapshot was written" in error["message"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("snap")) == []

    gate.release.set()
    assert write.result(PATIENCE).status_code == 201  # it was in flight, so it is kept and acknowledged
    retried = client.post(SNAPSHOT, json={"path": str(target)}, headers=ADMIN)
    assert retried.status_code == 200, retried.text
    assert "slow" in task_names(target)


def test_a_bad_snapshot_wait_is_refused(seeded_db: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    for raw in ("soon", "0", "-1", "inf"):
        monkeypatch.setenv("LEGACY_SNAPSHOT_WAIT_SECONDS", raw)
        with pytest.raises(SystemExit) as exit_info:
            main(["unfreeze", "--db", str(seeded_db)])
        assert exit_info.value.code == 2
        assert "LEGACY_SNAPSHOT_WAIT_SECONDS" in capsys.readouterr().err
