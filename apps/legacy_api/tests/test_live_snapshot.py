"""The live snapshot: a copy of the database at one instant, taken without the freeze while writes go on.

The copy runs in ONE DuckDB transaction on a cursor of its own and never takes the service's write lock, so
analysis-task writes through the API keep being answered while it runs, and none that commits after the copy's
transaction began is in it. One test holds the copy inside its transaction (a Gate, no sleeping) and writes
meanwhile; another runs a stream of real concurrent writes and checks each snapshot against the exact sequence
of writes the service acknowledged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from gates import PATIENCE, Gate
from legacy_api import admin

API = "/api/v1"
TASKS = f"{API}/analysis/tasks"
SNAPSHOT = f"{API}/admin/snapshot"
ADMIN = {"X-Admin-Token": "s3cret"}
TABLES = ("medical_examinations_fact", "exam_reports", "analysis_tasks")
WARM_UP = 10  # writes acknowledged before the first copy is asked for


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    cur = con.cursor()
    try:
        return cur.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        cur.close()


def snapshot_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return rows(con, table)
    finally:
        con.close()


def new_task(name: str) -> dict[str, str]:
    return {"name": name, "task_type": "status_distribution"}


def live(path: Path) -> dict[str, Any]:
    return {"path": str(path), "live": True}


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def test_a_live_snapshot_needs_no_freeze_and_holds_every_row(client: TestClient, tmp_path: Path) -> None:
    con = client.app.state.service.con
    target = tmp_path / "live.duckdb"
    r = client.post(SNAPSHOT, json=live(target), headers=ADMIN)
    assert r.status_code == 200, r.text
    result = r.json()
    assert list(result) == ["path", "examinations", "reports", "analysis_tasks", "snapshot_at", "live"]
    assert result["live"] is True and result["path"] == str(target)
    for table in TABLES:
        assert snapshot_rows(target, table) == rows(con, table)
    assert sorted(p.name for p in tmp_path.glob("live*")) == ["live.duckdb"]  # no .partial, no write-ahead log
    assert client.get(f"{API}/health").json()["writes_frozen"] is False
    assert client.post(TASKS, json=new_task("after")).status_code == 201  # writes were never stopped

    again = client.post(SNAPSHOT, json=live(target), headers=ADMIN)
    assert again.status_code == 409 and "already exists" in again.json()["error"]["message"]
    bad = client.post(SNAPSHOT, json={"path": str(tmp_path / "x.duckdb"), "live": "yes"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "live"
    frozen_only = client.post(SNAPSHOT, json={"path": str(tmp_path / "y.duckdb"), "live": False}, headers=ADMIN)
    assert frozen_only.status_code == 409  # the frozen snapshot still needs the freeze


def test_writes_go_on_while_a_live_snapshot_copies_and_stay_out_of_it(
    client: TestClient, tmp_path: Path, pool: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = client.app.state.service
    con = service.con
    live_ids = [t["task_id"] for t in client.get(TASKS, params={"page_size": 2}).json()["data"]]
    assert client.post(TASKS, json=new_task("before")).status_code == 201
    gate = Gate()  # create_schema runs inside the copy's transaction, after its first read of the source
    monkeypatch.setattr(admin, "create_schema", gate.hold(admin.create_schema))
    target = tmp_path / "live.duckdb"

    snap = pool.submit(client.post, SNAPSHOT, json=live(target), headers=ADMIN)
    assert gate.entered.wait(PATIENCE)
    at_the_instant = {table: rows(con, table) for table in TABLES}
    assert service.write_lock.acquire(blocking=False)  # the copy does not hold the service's write lock
    service.write_lock.release()
    during = [client.post(TASKS, json=new_task(f"during {i}")) for i in range(5)]
    deleted = client.delete(f"{TASKS}/{live_ids[0]}")
    second = client.post(SNAPSHOT, json=live(tmp_path / "second.duckdb"), headers=ADMIN)
    assert [r.status_code for r in during] == [201] * 5 and deleted.status_code == 204
    assert second.status_code == 409 and "another live snapshot" in second.json()["error"]["message"]
    assert not snap.done()  # all of that was answered while the copy's transaction stayed open

    gate.release.set()
    answer = snap.result(PATIENCE)
    assert answer.status_code == 200, answer.text
    for table in TABLES:
        assert snapshot_rows(target, table) == at_the_instant[table], table
    assert answer.json()["analysis_tasks"] == len(at_the_instant["analysis_tasks"])
    names = {r[1] for r in snapshot_rows(target, "analysis_tasks")}
    assert "before" in names and not any(n.startswith("during") for n in names)
    tombstones = {r[0]: r[-1] for r in snapshot_rows(target, "analysis_tasks")}
    assert tombstones[live_ids[0]] is None  # deleted after the instant: still live in the copy
    assert client.get(f"{TASKS}/{live_ids[0]}").status_code == 404  # and deleted in the service


class Writer:
    """Creates and deletes tasks one after the other through the API, recording each acknowledged write in order.

    One writer, so the order of acknowledgements is the order of commits: any consistent copy holds the initial
    tasks changed by exactly the first k writes, for some k.
    """

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.stop = threading.Event()
        self.running = threading.Event()  # set once WARM_UP writes were acknowledged
        self.done: list[tuple[str, str]] = []  # ("create" | "delete", task_id), in commit order
        self.failures: list[str] = []

    def run(self) -> None:
        created: list[str] = []
        i = 0
        while not self.stop.is_set():
            i += 1
            if i % 3 == 0 and created:
                task_id = created.pop(0)
                r = self.client.delete(f"{TASKS}/{task_id}")
                if r.status_code != 204:
                    self.failures.append(f"DELETE {task_id}: {r.status_code} {r.text}")
                self.done.append(("delete", task_id))
            else:
                r = self.client.post(TASKS, json=new_task(f"stream {i}"))
                if r.status_code != 201:
                    self.failures.append(f"POST: {r.status_code} {r.text}")
                    continue
                created.append(r.json()["task_id"])
                self.done.append(("create", created[-1]))
            if len(self.done) >= WARM_UP:
                self.running.set()


def task_states(task_rows: list[tuple[Any, ...]]) -> dict[str, bool]:
    """task_id -> deleted?"""
    return {r[0]: r[-1] is not None for r in task_rows}


def writes_in(initial: dict[str, bool], done: list[tuple[str, str]], copy: dict[str, bool]) -> int:
    """The k for which `copy` is `initial` changed by exactly the first k writes (AssertionError if none)."""
    state = dict(initial)
    for k in range(len(done) + 1):
        if state == copy:
            return k
        if k < len(done):
            op, task_id = done[k]
            state[task_id] = op == "delete"
    raise AssertionError("the copy is not the database at any one instant of the write sequence")


def test_a_live_snapshot_under_a_stream_of_writes_is_the_database_at_one_instant(
    client: TestClient, tmp_path: Path
) -> None:
    con = client.app.state.service.con
    initial = task_states(rows(con, "analysis_tasks"))
    writer = Writer(client)
    thread = threading.Thread(target=writer.run, name="writer")
    thread.start()
    taken: list[tuple[Path, dict[str, Any]]] = []
    try:
        assert writer.running.wait(PATIENCE), writer.failures  # the stream runs before the first copy starts
        for n in range(4):
            target = tmp_path / f"live-{n}.duckdb"
            before = len(writer.done)
            r = client.post(SNAPSHOT, json=live(target), headers=ADMIN)
            assert r.status_code == 200, r.text
            taken.append((target, {**r.json(), "acknowledged_before": before, "acknowledged_after": len(writer.done)}))
    finally:
        writer.stop.set()
        thread.join(PATIENCE)
    assert not writer.failures, writer.failures
    assert len(writer.done) > WARM_UP
    instants = []
    for target, answer in taken:
        copy = snapshot_rows(target, "analysis_tasks")
        k = writes_in(initial, writer.done, task_states(copy))
        # Every write acknowledged before the request is in the copy; none acknowledged after the answer is.
        assert answer["acknowledged_before"] <= k <= answer["acknowledged_after"] + 1, (k, answer)
        assert answer["analysis_tasks"] == len(copy)
        for table in TABLES[:2]:  # examinations and reports never change through the API
            assert snapshot_rows(target, table) == rows(con, table)
        instants.append(k)
    assert instants == sorted(instants)
    print("writes acknowledged:", len(writer.done), "writes in each copy:", instants)
