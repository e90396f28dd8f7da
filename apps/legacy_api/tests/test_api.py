"""Endpoints over a real DuckDB file: filters, pagination, envelope, errors, freeze, admin."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from legacy_api import admin, store
from legacy_api.app import create_app
from legacy_api.cli import render_openapi
from legacy_api.database import StartupError
from legacy_api.freeze import freeze, unfreeze
from legacy_api.settings import Settings
from radiology_contract import analysis, query, responses
from radiology_contract.duckdb_schema import create_schema

ROWS = 300  # conftest.ROWS

API = "/api/v1"
BASE_URL = "http://localhost"  # a Host the service answers for by default (LEGACY_ALLOWED_HOSTS)
REPO = Path(__file__).resolve().parents[3]


def sql(db_con: duckdb.DuckDBPyConnection, text: str, params: list | None = None) -> list[tuple]:
    return db_con.execute(text, params or []).fetchall()


def test_envelope_order_and_headers(client: TestClient) -> None:
    r = client.get(f"{API}/studies/search", params={"page_size": 5})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-backend"] == "legacy" and r.headers["x-request-id"]
    body = r.json()
    assert list(body) == ["data", "total", "page", "page_size", "filters"]
    assert body["total"] == ROWS and body["page_size"] == 5 and len(body["data"]) == 5
    keys = [(row["order_datetime"], row["exam_id"]) for row in body["data"]]
    assert keys == sorted(keys, key=lambda k: (k[0], [-ord(c) for c in k[1]]), reverse=True)
    assert r.content == responses.render(body)
    # What the query cost, apart from its wait for a turn on DuckDB (the cutover's API diff paces itself by it).
    worked = responses.server_timing_seconds(r.headers["server-timing"])
    assert worked is not None and 0 < worked < 30


def test_request_id_is_echoed(client: TestClient) -> None:
    assert client.get(f"{API}/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_every_study_filter_matches_sql(client: TestClient) -> None:
    con = client.app.state.service.con
    status, source, item, modality = sql(
        con, "SELECT exam_status, exam_source, exam_item, modality FROM medical_examinations_fact LIMIT 1"
    )[0]
    for name, value in (("exam_status", status), ("exam_source", source), ("exam_item", item), ("modality", modality)):
        expected = sql(con, f"SELECT count(*) FROM medical_examinations_fact WHERE {name} = ?", [value])[0][0]
        body = client.get(f"{API}/studies/search", params={name: value, "page_size": 100}).json()
        assert body["total"] == expected > 0
        assert all(row[name] == value for row in body["data"])
        assert body["filters"][name] == value


def test_date_range_is_inclusive_start_exclusive_end(client: TestClient) -> None:
    con = client.app.state.service.con
    expected = sql(
        con,
        "SELECT count(*) FROM medical_examinations_fact WHERE order_datetime >= '2024-03-01' "
        "AND order_datetime < '2024-04-01'",
    )[0][0]
    body = client.get(f"{API}/studies/search", params={"date_from": "2024-03-01", "date_to": "2024-03-31"}).json()
    assert body["total"] == expected > 0


def test_q_is_case_insensitive_and_literal(client: TestClient) -> None:
    con = client.app.state.service.con
    r = client.get(f"{API}/studies/search", params={"q": "o'BRIEN", "page_size": 100}).json()
    expected = sql(con, "SELECT count(*) FROM medical_examinations_fact WHERE certified_physician LIKE '%O''Brien%'")
    assert r["total"] == expected[0][0] > 0
    # % is literal: only descriptions containing "50%" match "0%", never everything
    pct = client.get(f"{API}/studies/search", params={"q": "0%"}).json()["total"]
    assert 0 < pct < ROWS
    assert client.get(f"{API}/studies/search", params={"q": "protocol_b"}).json()["total"] > 0
    assert client.get(f"{API}/studies/search", params={"q": "protocolXb"}).json()["total"] == 0
    assert client.get(f"{API}/studies/search", params={"q": "C:\\imports"}).json()["total"] > 0


def test_pagination_edges(client: TestClient) -> None:
    last = client.get(f"{API}/studies/search", params={"page": 3, "page_size": 100}).json()
    assert len(last["data"]) == ROWS - 200 and last["total"] == ROWS
    past = client.get(f"{API}/studies/search", params={"page": 99, "page_size": 100}).json()
    assert past["data"] == [] and past["total"] == ROWS
    pages = [
        client.get(f"{API}/studies/search", params={"page": p, "page_size": 100}).json()["data"] for p in (1, 2, 3)
    ]
    ids = [row["exam_id"] for page in pages for row in page]
    assert len(ids) == len(set(ids)) == ROWS


@pytest.mark.parametrize(
    ("params", "field"),
    [({"page": "0"}, "page"), ({"page_size": "101"}, "page_size"), ({"page": "x"}, "page"),
     ({"exam_status": "done"}, "exam_status"), ({"date_from": "2024-13-01"}, "date_from"),
     ({"date_from": "2024-02-02", "date_to": "2024-02-01"}, "date_to")],
)  # fmt: skip
def test_validation_errors(client: TestClient, params: dict, field: str) -> None:
    r = client.get(f"{API}/studies/search", params=params)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert field in [d["field"] for d in r.json()["error"]["details"]]


def test_last_repeated_value_counts_and_unknown_ignored(client: TestClient) -> None:
    r = client.get(f"{API}/studies/search?page_size=3&page_size=2&bogus=1")
    assert r.status_code == 200 and r.json()["page_size"] == 2


def test_reports_search(client: TestClient) -> None:
    con = client.app.state.service.con
    exam_id = sql(con, "SELECT exam_id FROM exam_reports LIMIT 1")[0][0]
    body = client.get(f"{API}/reports/search", params={"exam_id": exam_id}).json()
    assert body["total"] == 1 and body["data"][0]["exam_id"] == exam_id
    total = sql(con, "SELECT count(*) FROM exam_reports WHERE report_text ILIKE '%nodule%'")[0][0]
    assert client.get(f"{API}/reports/search", params={"q": "NODULE"}).json()["total"] == total > 0
    rows = client.get(f"{API}/reports/search", params={"page_size": 50}).json()["data"]
    keys = [r["report_datetime"] for r in rows]
    assert keys == sorted(keys, reverse=True)


def test_statistics(client: TestClient) -> None:
    body = client.get(f"{API}/statistics", params={"exam_source": "emergency"}).json()
    con = client.app.state.service.con
    total = sql(con, "SELECT count(*) FROM medical_examinations_fact WHERE exam_source = 'emergency'")[0][0]
    data = body["data"]
    assert list(data) == ["total", "by_status", "by_source", "by_item", "by_month"]
    assert data["total"] == total
    assert data["by_source"] == [{"key": "emergency", "count": total}]
    assert sum(b["count"] for b in data["by_month"]) == total
    months = [b["key"] for b in data["by_month"]]
    assert months == sorted(months) and all(len(m) == 7 for m in months)


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "chest"}, {"q": "CT", "exam_status": "certified"}, {"q": "no such text anywhere"}, {"modality": "MR"}],
)
def test_statistics_one_scan_equals_each_grouping(client: TestClient, params: dict[str, str]) -> None:
    """The groupings from one GROUPING SETS scan are each grouping's own GROUP BY (the query a task runs)."""
    con = client.app.state.service.con
    filters = query.parse_statistics_query(list(params.items())).filters
    where = store.study_where(filters)
    data = client.get(f"{API}/statistics", params=params).json()["data"]
    for key, grouping in analysis.STATISTICS_GROUPINGS:
        assert data[key] == analysis.grouped(grouping, store.grouped_pairs(con.cursor(), grouping, where)), key
    total = con.execute(f"SELECT count(*) FROM medical_examinations_fact{where.sql()}", where.params).fetchone()[0]
    assert data["total"] == total == sum(b["count"] for b in data["by_month"])
    assert (total == 0) == (params.get("q") == "no such text anywhere")


def test_text_search_pages_past_the_end_keep_the_total(client: TestClient) -> None:
    first = client.get(f"{API}/studies/search", params={"q": "chest", "page_size": 5}).json()
    past = client.get(f"{API}/studies/search", params={"q": "chest", "page": 1000, "page_size": 5}).json()
    assert first["total"] == past["total"] > 5 and len(first["data"]) == 5 and past["data"] == []


def test_task_lifecycle(client: TestClient) -> None:
    r = client.post(f"{API}/analysis/tasks", json={"name": "CT by status", "task_type": "status_distribution",
                                                   "filters": {"modality": "CT"}})  # fmt: skip
    assert r.status_code == 201
    task = r.json()
    assert "deleted_at" not in task and task["status"] == "completed"
    assert task["created_at"] == task["completed_at"]
    con = client.app.state.service.con
    ct = sql(con, "SELECT count(*) FROM medical_examinations_fact WHERE modality = 'CT'")[0][0]
    assert task["result"]["total"] == ct
    assert client.get(f"{API}/analysis/tasks/{task['task_id']}").json() == task
    listed = client.get(f"{API}/analysis/tasks", params={"task_type": "status_distribution"}).json()
    assert task["task_id"] in [t["task_id"] for t in listed["data"]]
    d = client.delete(f"{API}/analysis/tasks/{task['task_id']}")
    assert d.status_code == 204 and d.content == b""
    assert client.get(f"{API}/analysis/tasks/{task['task_id']}").status_code == 404
    assert client.delete(f"{API}/analysis/tasks/{task['task_id']}").status_code == 404
    assert sql(con, "SELECT deleted_at IS NOT NULL FROM analysis_tasks WHERE task_id = ?", [task["task_id"]]) == [
        (True,)
    ]
    assert client.get(f"{API}/analysis/tasks/not-a-uuid").json()["error"]["code"] == "not_found"


def test_task_counts_outside_the_write_lock(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A task's counting (a scan of the examinations) never holds the one writer: at a million rows a slow
    count under the lock queued every other write behind it until the users' requests timed out."""
    service = client.app.state.service
    held: list[bool] = []
    counted = store.task_result

    def spy(cur: store.Cursor, body: query.TaskCreate) -> dict[str, Any]:
        held.append(service.write_lock.locked())
        return counted(cur, body)

    monkeypatch.setattr(store, "task_result", spy)
    r = client.post(f"{API}/analysis/tasks", json={"name": "n", "task_type": "monthly_volume", "filters": {}})
    assert r.status_code == 201 and held == [False]
    assert (
        sum(b["count"] for b in r.json()["result"]["buckets"])
        == client.get(f"{API}/statistics").json()["data"]["total"]
    )


def test_task_create_validation(client: TestClient) -> None:
    r = client.post(f"{API}/analysis/tasks", content=b"not json")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "body"
    r = client.post(f"{API}/analysis/tasks", json={"name": "x", "task_type": "nope", "filters": {"typo": "1"}})
    assert {d["field"] for d in r.json()["error"]["details"]} == {"task_type", "filters"}
    # a NUL in the name (the new service's PostgreSQL cannot store it) and an unpaired surrogate escape
    r = client.post(f"{API}/analysis/tasks", json={"name": "a\x00b", "task_type": "monthly_volume"})
    assert r.status_code == 422 and r.json()["error"]["details"] == [
        {"field": "name", "message": "must not contain NUL characters"}
    ]
    r = client.post(f"{API}/analysis/tasks", content=rb'{"name": "a\ud800", "task_type": "monthly_volume"}')
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "body"


def test_unknown_path_and_wrong_method(client: TestClient) -> None:
    r = client.get(f"{API}/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.put(f"{API}/studies/search")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers["x-backend"] == "legacy"


def test_unhandled_error_is_500_without_trace(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import legacy_api.store as store

    def boom(cur, q):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(store, "search_reports", boom)
    app = create_app(client.app.state.service.settings, con=client.app.state.service.con)
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as c:
        r = c.get(f"{API}/reports/search")
    assert r.status_code == 500
    assert r.content == responses.render(responses.internal_error()[1])
    assert r.headers["x-backend"] == "legacy"


def test_cors(client: TestClient) -> None:
    r = client.get(f"{API}/health", headers={"Origin": "http://localhost:3000"})
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "X-Backend" in r.headers["access-control-expose-headers"]
    r = client.get(f"{API}/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_freeze_blocks_writes_and_survives_restart(client: TestClient, seeded_db: Path) -> None:
    freeze(seeded_db, "cutover rehearsal")
    r = client.post(f"{API}/analysis/tasks", json={"name": "x", "task_type": "status_distribution"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "writes_frozen"
    assert r.headers["retry-after"] == str(responses.RETRY_AFTER_SECONDS)
    assert client.delete(f"{API}/analysis/tasks/00000000-0000-4000-8000-000000000000").status_code == 503
    assert client.get(f"{API}/studies/search").status_code == 200
    assert client.get(f"{API}/health").json()["writes_frozen"] is True
    # a new app over the same file (a restart) is still frozen
    client.app.state.service.con.close()
    restarted = create_app(Settings.from_env(seeded_db))
    with TestClient(restarted, base_url=BASE_URL) as c:
        assert (
            c.post(f"{API}/analysis/tasks", json={"name": "x", "task_type": "status_distribution"}).status_code == 503
        )
        unfreeze(seeded_db)
        assert (
            c.post(f"{API}/analysis/tasks", json={"name": "x", "task_type": "status_distribution"}).status_code == 201
        )
    restarted.state.service.con.close()
    client.app.state.service.con = duckdb.connect(":memory:")  # the fixture closes this one


def test_freeze_cli(seeded_db: Path) -> None:
    from legacy_api.cli import main

    assert main(["freeze", "--db", str(seeded_db), "--reason", "migrating"]) == 0
    marker = json.loads(Path(f"{seeded_db}.freeze").read_text())
    assert marker["reason"] == "migrating" and marker["frozen_at"]
    assert main(["unfreeze", "--db", str(seeded_db)]) == 0
    assert not Path(f"{seeded_db}.freeze").exists()


def test_freeze_cli_loads_no_database_or_web_stack(seeded_db: Path) -> None:
    # `legacy-api freeze` and `unfreeze` run while users wait on the write freeze, on a busy host: in a fresh
    # interpreter they must leave duckdb, openpyxl and the web stack unloaded (a third of a second of CPU).
    heavy = ("duckdb", "openpyxl", "fastapi", "uvicorn", "legacy_api.app", "legacy_api.database")
    script = (
        "import sys; from legacy_api.cli import main; "
        f"rc = main(['freeze', '--db', {str(seeded_db)!r}, '--reason', 'cutover']) "
        f"+ main(['unfreeze', '--db', {str(seeded_db)!r}]); "
        f"print(rc, sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m in {heavy!r}))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[-2] == "0 []", out
    assert not Path(f"{seeded_db}.freeze").exists()


ADMIN = {"X-Admin-Token": "s3cret"}


def test_admin_refused_without_token_or_from_afar(client: TestClient, seeded_db: Path, tmp_path: Path) -> None:
    body = {"path": str(tmp_path / "snap.duckdb")}
    assert client.post(f"{API}/admin/snapshot", json=body).status_code == 404
    assert client.post(f"{API}/admin/snapshot", json=body, headers={"X-Admin-Token": "wrong"}).status_code == 404
    remote = TestClient(client.app, base_url=BASE_URL, client=("10.1.2.3", 40000))
    assert remote.post(f"{API}/admin/snapshot", json=body, headers=ADMIN).status_code == 404
    assert not (tmp_path / "snap.duckdb").exists()


def test_admin_disabled_without_env(seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEGACY_ADMIN_TOKEN", raising=False)
    app = create_app(Settings.from_env(seeded_db))
    with TestClient(app, base_url=BASE_URL, client=("127.0.0.1", 1)) as c:
        r = c.post(f"{API}/admin/tasks/sync", json={"tasks": []}, headers={"X-Admin-Token": ""})
        assert r.status_code == 404
    app.state.service.con.close()


def test_snapshot_requires_freeze_and_is_consistent(client: TestClient, seeded_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "snap.duckdb"
    r = client.post(f"{API}/admin/snapshot", json={"path": str(target)}, headers=ADMIN)
    assert r.status_code == 409 and not target.exists()
    created = client.post(f"{API}/analysis/tasks", json={"name": "late", "task_type": "monthly_volume"}).json()
    freeze(seeded_db, "snapshot")
    r = client.post(f"{API}/admin/snapshot", json={"path": str(target)}, headers=ADMIN)
    assert r.status_code == 200, r.text
    result = r.json()
    assert list(result) == ["path", "examinations", "reports", "analysis_tasks", "snapshot_at", "copy", "checkpoint"]
    assert result["copy"] == "file"  # checkpointed and frozen: the database file itself, copied
    assert result["checkpoint"]["done"] and result["checkpoint"]["attempts"] == 1  # nothing held it up
    con = client.app.state.service.con
    snap = duckdb.connect(str(target), read_only=True)
    try:
        for table in ("medical_examinations_fact", "exam_reports", "analysis_tasks"):
            assert sql(snap, f"SELECT * FROM {table} ORDER BY 1") == sql(con, f"SELECT * FROM {table} ORDER BY 1")
        assert sql(snap, "SELECT name FROM analysis_tasks WHERE task_id = ?", [created["task_id"]]) == [("late",)]
    finally:
        snap.close()
    assert result["examinations"] == ROWS
    again = client.post(f"{API}/admin/snapshot", json={"path": str(target)}, headers=ADMIN)
    assert again.status_code == 409


def test_a_snapshot_into_a_folder_the_service_may_not_write_is_refused_by_name(
    client: TestClient, seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # These tests run as root, who may write anywhere: the service's user is given what it would find.
    freeze(seeded_db, "snapshot")
    theirs = tmp_path / "not-the-services"
    theirs.mkdir()
    monkeypatch.setattr(admin.os, "access", lambda path, mode: Path(path) != theirs)
    r = client.post(f"{API}/admin/snapshot", json={"path": str(theirs / "snap.duckdb")}, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"] == [
        {"field": "path", "message": f"directory {theirs} is not writable by the service's user"}
    ]
    unreadable = Path.exists

    def exists(path: Path) -> bool:
        if path.parent == theirs:
            raise PermissionError(13, "Permission denied", str(path))
        return unreadable(path)

    monkeypatch.setattr(Path, "exists", exists)
    r = client.post(f"{API}/admin/snapshot", json={"path": str(theirs / "snap.duckdb")}, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["message"] == f"{theirs}: Permission denied (for the service's user)"
    assert not list(theirs.iterdir())


def test_tasks_sync_upserts(client: TestClient) -> None:
    existing = client.get(f"{API}/analysis/tasks", params={"page_size": 1}).json()["data"][0]
    changed = {**existing, "name": "renamed on the new service", "deleted_at": "2025-08-01T10:00:00"}
    new = {**existing, "task_id": "11111111-2222-4333-8444-555555555555", "name": "made on the new service",
           "deleted_at": None}  # fmt: skip
    r = client.post(f"{API}/admin/tasks/sync", json={"tasks": [changed, new]}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 2, "inserted": 1, "updated": 1}
    assert client.get(f"{API}/analysis/tasks/{existing['task_id']}").status_code == 404  # carried deletion
    got = client.get(f"{API}/analysis/tasks/{new['task_id']}").json()
    assert got == {k: v for k, v in new.items() if k != "deleted_at"}
    bad = client.post(f"{API}/admin/tasks/sync", json={"tasks": [{"task_id": "x"}]}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


def test_tasks_sync_many_rows_existing_and_new(client: TestClient) -> None:
    # A rollback carries thousands of rows: some replace existing tasks, the rest are new; all land, exactly.
    existing = client.get(f"{API}/analysis/tasks", params={"page_size": 100}).json()["data"]
    template = existing[0]
    new = [
        {**template, "task_id": f"00000000-0000-4000-8000-{n:012d}", "name": f"carried {n}", "deleted_at": None}
        for n in range(1201)
    ]
    renamed = [{**t, "name": f"renamed {t['task_id']}", "deleted_at": None} for t in existing]
    r = client.post(f"{API}/admin/tasks/sync", json={"tasks": renamed + new}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": len(renamed) + len(new), "inserted": len(new), "updated": len(renamed)}
    for task in (new[0], new[600], new[-1], renamed[-1]):
        assert client.get(f"{API}/analysis/tasks/{task['task_id']}").json()["name"] == task["name"]


def test_startup_refuses_missing_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="does not exist"):
        create_app(Settings(db_path=tmp_path / "missing.duckdb"))
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StartupError, match="cannot be opened"):
        create_app(Settings(db_path=corrupt))
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE x (a INTEGER)").close()
    with pytest.raises(StartupError, match="contract schema"):
        create_app(Settings(db_path=other))


def test_serve_cli_exits_nonzero_on_missing_db(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "legacy_api.cli", "serve", "--db", str(tmp_path / "none.duckdb"), "--port", "1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "refusing to start" in proc.stderr and "none.duckdb" in proc.stderr


def test_empty_database_is_unavailable_not_empty(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(db))
    create_schema(con)
    con.close()
    app = create_app(Settings(db_path=db))
    with TestClient(app, base_url=BASE_URL) as c:
        assert c.get(f"{API}/health").status_code == 503
        r = c.get(f"{API}/studies/search")
        assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
        assert c.get(f"{API}/statistics").status_code == 503
    app.state.service.con.close()


def test_openapi_documents_the_contract_answers() -> None:
    """Statuses and bodies as the contract sends them (schemathesis checks the answers against this document)."""
    document = json.loads(render_openapi())
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert all("414" in op["responses"] for op in operations)
    create = document["paths"][f"{API}/analysis/tasks"]["post"]
    assert sorted(create["responses"]) == ["201", "413", "414", "422", "503"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TaskCreate"}
    assert "HTTPValidationError" not in json.dumps(document)  # FastAPI's own 422 body is never sent
    assert set(document["components"]["schemas"]) >= {"Examination", "Report", "AnalysisTask", "Error422"}


def test_openapi_matches_committed_contract() -> None:
    committed = (REPO / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert render_openapi() == committed, "the service's schema drifted: run `legacy-api export-openapi`"


def _a_read_open_across_a_deletion(client: TestClient) -> duckdb.DuckDBPyConnection:
    """A user's read begun before the last committed UPDATE (a task's deletion), still running: DuckDB refuses a
    CHECKPOINT until it ends ("there are other write transactions active")."""
    created = client.post(f"{API}/analysis/tasks", json={"name": "gone", "task_type": "monthly_volume"}).json()
    reader = client.app.state.service.con.cursor()
    reader.execute("BEGIN TRANSACTION")
    reader.execute("SELECT count(*) FROM medical_examinations_fact").fetchall()
    assert client.delete(f"{API}/analysis/tasks/{created['task_id']}").status_code == 204
    return reader


def test_a_snapshot_waits_for_the_reads_older_than_the_last_deletion(
    client: TestClient, seeded_db: Path, tmp_path: Path
) -> None:
    reader = _a_read_open_across_a_deletion(client)
    freeze(seeded_db, "snapshot")
    ends = threading.Timer(0.5, reader.execute, ["COMMIT"])  # the read ends within its request
    ends.start()
    r = client.post(f"{API}/admin/snapshot", json={"path": str(tmp_path / "s.duckdb")}, headers=ADMIN)
    ends.join()
    assert r.status_code == 200, r.text
    checkpoint = r.json()["checkpoint"]
    assert checkpoint["done"] and checkpoint["refused"] is None and r.json()["copy"] == "file"
    assert checkpoint["attempts"] > 1 and checkpoint["waited_seconds"] >= 0.4


def test_a_snapshot_copies_the_tables_when_the_checkpoint_stays_refused(
    client: TestClient, seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = client.app.state.service
    monkeypatch.setattr(service, "settings", dataclasses.replace(service.settings, snapshot_wait_seconds=0.3))
    reader = _a_read_open_across_a_deletion(client)
    freeze(seeded_db, "snapshot")
    target = tmp_path / "s.duckdb"
    try:
        r = client.post(f"{API}/admin/snapshot", json={"path": str(target)}, headers=ADMIN)
    finally:
        reader.execute("COMMIT")
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["copy"] == "tables" and not result["checkpoint"]["done"]
    assert "Cannot CHECKPOINT" in result["checkpoint"]["refused"]
    snap = duckdb.connect(str(target), read_only=True)
    try:  # every row as the service sees it, the deletion's tombstone too
        for table in ("medical_examinations_fact", "exam_reports", "analysis_tasks"):
            every_row = f"SELECT * FROM {table} ORDER BY 1"
            assert sql(snap, every_row) == sql(service.con, every_row)
    finally:
        snap.close()


def test_a_snapshot_copies_every_table_when_the_write_ahead_log_is_not_empty(
    client: TestClient, seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback: should the checkpoint leave anything in the log, the file alone would miss it."""
    monkeypatch.setattr(admin, "_write_ahead_log_empty", lambda _db: False)
    freeze(seeded_db, "snapshot")
    target = tmp_path / "tables.duckdb"
    r = client.post(f"{API}/admin/snapshot", json={"path": str(target)}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["copy"] == "tables" and r.json()["examinations"] == ROWS
    con = client.app.state.service.con
    snap = duckdb.connect(str(target), read_only=True)
    try:
        for table in ("medical_examinations_fact", "exam_reports", "analysis_tasks"):
            assert sql(snap, f"SELECT * FROM {table} ORDER BY 1") == sql(con, f"SELECT * FROM {table} ORDER BY 1")
    finally:
        snap.close()
