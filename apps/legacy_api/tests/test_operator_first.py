"""Users' queries take turns on DuckDB, first come first served, and the operator goes first: the admin endpoints do
not queue behind users' requests, and users' reads that have not started wait for the tasks sync (a rollback's
carry-back, which users wait on with writes refused)."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from legacy_api import app as app_module
from legacy_api import store
from legacy_api.cli import main
from legacy_api.freeze import freeze
from legacy_api.settings import Settings
from radiology_contract import query

API = "/api/v1"
ADMIN = {"X-Admin-Token": "s3cret"}


def test_a_tasks_sync_and_a_snapshot_run_while_every_users_turn_is_taken(
    client: TestClient, seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One user's turn on DuckDB and one thread in the pool, and a user's search holding both until the admin requests
    # have been answered.
    release, searching = threading.Event(), threading.Event()
    gave_up: list[bool] = []
    search = store.search_studies

    def held_search(*args: object) -> object:
        searching.set()
        if not release.wait(10):
            gave_up.append(True)  # the admin requests waited for this thread
        return search(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "search_studies", held_search)
    # The route holds the function it was built with: rebuild the app over the patched store.
    service = client.app.state.service  # type: ignore[attr-defined]
    app = app_module.create_app(dataclasses.replace(service.settings, query_slots=1), service.con)
    with TestClient(app, base_url=str(client.base_url), client=("127.0.0.1", 50001)) as c:
        c.portal.call(lambda: setattr(anyio.to_thread.current_default_thread_limiter(), "total_tokens", 1))
        user = threading.Thread(target=lambda: c.get(f"{API}/studies/search"))
        user.start()
        try:
            assert searching.wait(30)
            existing = service.read(store.list_tasks, query.parse_task_list_query([("page_size", "1")]))["data"][0]
            r = c.post(f"{API}/admin/tasks/sync", json={"tasks": [existing]}, headers=ADMIN)
            assert r.status_code == 200 and r.json()["updated"] == 1, r.text
            freeze(seeded_db, "snapshot")
            r = c.post(f"{API}/admin/snapshot", json={"path": str(tmp_path / "s.duckdb")}, headers=ADMIN)
            assert r.status_code == 200, r.text
            assert not gave_up, "the admin requests were answered only once the user's search let its thread go"
        finally:
            release.set()
            user.join(30)


def test_a_users_read_waits_for_the_operator_then_runs(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]
    answered: list[float] = []

    def user() -> None:
        started = time.monotonic()
        assert client.get(f"{API}/statistics").status_code == 200
        answered.append(time.monotonic() - started)

    with service.operator_first():
        reader = threading.Thread(target=user)
        reader.start()
        time.sleep(0.5)
        assert not answered, "a user's read started while the operator went first"
    reader.join(30)
    assert answered and 0.4 < answered[0] < app_module.OPERATOR_FIRST_MAX_WAIT_SECONDS

    # Never longer than OPERATOR_FIRST_MAX_WAIT_SECONDS: a sync that takes longer shares the cores again.
    monkeypatch.setattr(app_module, "OPERATOR_FIRST_MAX_WAIT_SECONDS", 0.3)
    answered.clear()
    with service.operator_first():
        user()
    assert 0.3 <= answered[0] < 5


def test_users_scans_take_turns_first_come_first_served_and_lookups_take_none(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two turns, both held by searches; two more searches wait in order; the health check and the tasks answer.
    release = threading.Event()
    running: list[str] = []
    search = store.search_studies

    def held_search(cur: object, q: query.StudyQuery) -> object:
        label = q.filters.as_dict()["q"]
        running.append(label)
        if label in ("a", "b"):
            release.wait(20)
        return search(cur, q)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "search_studies", held_search)
    service = client.app.state.service  # type: ignore[attr-defined]
    app = app_module.create_app(dataclasses.replace(service.settings, query_slots=2), service.con)
    answered: dict[str, int] = {}
    with TestClient(app, base_url=str(client.base_url)) as c:

        def user(label: str) -> None:
            answered[label] = c.get(f"{API}/studies/search", params={"q": label}).status_code

        users = []
        for label in ("a", "b", "c", "d"):
            users.append(threading.Thread(target=user, args=(label,)))
            users[-1].start()
            deadline = time.monotonic() + 10
            while label in ("a", "b") and label not in running and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.1)
        try:
            assert running == ["a", "b"], "a third query ran while both turns were taken"
            health = c.get(f"{API}/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            tasks = c.get(f"{API}/analysis/tasks", params={"page_size": "1"})
            assert tasks.status_code == 200, tasks.text
            task = c.get(f"{API}/analysis/tasks/{tasks.json()['data'][0]['task_id']}")
            assert task.status_code == 200, task.text
            assert running == ["a", "b"] and not answered
        finally:
            release.set()
            for u in users:
                u.join(30)
    assert running == ["a", "b", "c", "d"], "the waiting queries ran out of their order of arrival"
    assert answered == {"a": 200, "b": 200, "c": 200, "d": 200}


def test_the_query_slots_come_from_the_environment_and_a_bad_value_is_refused(
    seeded_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEGACY_QUERY_SLOTS", "3")
    assert Settings.from_env(seeded_db).query_slots == 3
    for raw in ("many", "0", "-2", "2.5"):
        monkeypatch.setenv("LEGACY_QUERY_SLOTS", raw)
        with pytest.raises(SystemExit) as exit_info:
            main(["unfreeze", "--db", str(seeded_db)])
        assert exit_info.value.code == 2
        assert f"LEGACY_QUERY_SLOTS={raw!r}" in capsys.readouterr().err
