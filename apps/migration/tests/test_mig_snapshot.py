"""`snapshot`: from the running legacy service (writes frozen) and from a stopped service's file."""

from __future__ import annotations

import itertools
import json
import threading
import urllib.request
from pathlib import Path

import duckdb
import pytest
from mig_helpers import LEGACY_TOKEN as TOKEN
from mig_helpers import create_task, delete_task, migrate
from radiology_contract.tables import TABLES
from radiology_migration import duck


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


def test_the_migrations_duckdb_leaves_the_legacy_service_a_core(
    legacy_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "threads.duckdb"
    code, doc = migrate("snapshot", "--from-file", str(legacy_db), "--out", str(out))
    assert code == 0, doc["error"]
    for cores, threads in (({0, 1, 2, 3}, 3), ({0, 1}, 1), ({5}, 1)):
        monkeypatch.setattr(duck.os, "sched_getaffinity", lambda _pid, cores=cores: cores)
        for con in (duck.open_snapshot(out), duck.connect()):  # the snapshots' reads; the delta's comparison
            try:
                assert con.execute("SELECT current_setting('threads')").fetchone() == (threads,)
            finally:
                con.close()


def test_snapshot_from_file_refuses_a_database_in_use(legacy_url: str, legacy_db: Path, tmp_path: Path) -> None:
    code, doc = migrate("snapshot", "--from-file", str(legacy_db), "--out", str(tmp_path / "x.duckdb"))
    assert code == 1 and str(legacy_db) in doc["error"]


def task_states(path: Path) -> dict[str, bool]:
    """task_id -> deleted? in a DuckDB file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {k: d is not None for k, d in con.execute("SELECT task_id, deleted_at FROM analysis_tasks").fetchall()}
    finally:
        con.close()


class Writer(threading.Thread):
    """Creates and deletes tasks one after the other over HTTP; `done` lists each acknowledged write in order
    (one writer: the order of acknowledgements is the order of commits)."""

    def __init__(self, url: str) -> None:
        super().__init__(name="writer", daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.warm = threading.Event()
        self.done: list[tuple[str, str]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        created: list[str] = []
        try:
            for i in itertools.count(1):
                if self.stop.is_set():
                    return
                if i % 3 == 0:
                    task_id = created.pop(0)
                    delete_task(self.url, task_id)
                    self.done.append(("delete", task_id))
                else:
                    created.append(create_task(self.url, f"stream {i}"))
                    self.done.append(("create", created[-1]))
                if i >= 10:
                    self.warm.set()
        except BaseException as e:  # reported by the test
            self.error = e
            self.warm.set()


def writes_in(initial: dict[str, bool], done: list[tuple[str, str]], copy: dict[str, bool]) -> int:
    """The k for which `copy` is `initial` changed by exactly the first k writes (AssertionError if none)."""
    state = dict(initial)
    for k in range(len(done) + 1):
        if state == copy:
            return k
        if k < len(done):
            op, task_id = done[k]
            state[task_id] = op == "delete"
    raise AssertionError("the live snapshot is not the database at any one instant of the write sequence")


def test_two_stage_cutover_live_snapshot_then_delta_under_the_freeze(
    legacy_url: str, legacy_db: Path, tmp_path: Path, target_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEGACY_ADMIN_TOKEN", TOKEN)
    s1, s2, first = tmp_path / "s1.duckdb", tmp_path / "s2.duckdb", tmp_path / "first.duckdb"
    code, doc = migrate("snapshot", "--live", "--freeze", "--legacy-db", str(legacy_db), "--legacy-url", legacy_url,
                        "--out", str(s1))  # fmt: skip
    assert code == 1 and "--live" in doc["error"] and "--freeze" in doc["error"]
    code, doc = migrate("snapshot", "--live", "--legacy-url", legacy_url, "--out", str(first))
    assert code == 0, doc["error"]
    initial = task_states(first)  # the tasks before the stream of writes starts

    # Stage 1, writes going on: a live snapshot, the full load, verify.
    writer = Writer(legacy_url)
    writer.start()
    assert writer.warm.wait(30) and writer.error is None, writer.error
    before = len(writer.done)
    code, doc = migrate("snapshot", "--live", "--legacy-url", legacy_url, "--out", str(s1))
    after = len(writer.done)
    writer.stop.set()
    writer.join(30)
    assert writer.error is None, writer.error  # every write was answered 201/204 while the copy ran
    assert code == 0, doc["error"]
    assert doc["live"] is True and json.loads(Path(f"{s1}.meta.json").read_text())["live"] is True
    k = writes_in(initial, writer.done, task_states(s1))
    assert before <= k <= after + 1, (before, k, after)  # the database at one instant during the request
    print(f"writes acknowledged before the live snapshot {before}, in it {k}, when it answered {after}")
    assert doc["counts"]["analysis_tasks"] == len(initial) + sum(op == "create" for op, _ in writer.done[:k])
    assert migrate("load", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0
    assert migrate("verify", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0

    # Writes after S1, then stage 2 under the freeze: a fresh snapshot, only the changes applied, verify every row.
    late = create_task(legacy_url, "after the live snapshot")
    victim = next(t for t, deleted in sorted(initial.items()) if not deleted)
    delete_task(legacy_url, victim)
    code, doc = migrate(
        "snapshot", "--freeze", "--legacy-db", str(legacy_db), "--legacy-url", legacy_url, "--out", str(s2)
    )
    assert code == 0, doc["error"]
    assert doc["live"] is False
    code, doc = migrate("load", "--snapshot", str(s2), "--since", str(s1), "--dsn", target_dsn)
    assert code == 0, doc["error"]
    in_s1 = task_states(s1)
    touched = {task_id for _, task_id in writer.done[k:]} | {late, victim}
    assert doc["delta"]["analysis_tasks"] == {
        "added": sum(t not in in_s1 for t in touched),
        "changed": sum(t in in_s1 for t in touched),
        "deleted": 0,
    }
    assert doc["delta"]["examinations"] == doc["delta"]["reports"] == {"added": 0, "changed": 0, "deleted": 0}
    assert doc["rows_applied"] == len(touched)
    code, verified = migrate("verify", "--snapshot", str(s2), "--dsn", target_dsn)
    assert code == 0, verified["error"]
    assert task_states(s2)[late] is False and task_states(s2)[victim] is True
