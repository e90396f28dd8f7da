"""The freeze has no gap: a write held open across the freeze file and the freeze barrier, on real PostgreSQL.

The views run in this process (Django's test client, one thread per request, each with its own database
connection), so a write can be stopped at a chosen point by a Gate: inside its transaction (after its INSERT,
before COMMIT), or after the view's first freeze check but before the transaction. The barrier is the real
`imaging-api freeze_barrier` command in a subprocess; it is known to be waiting when PostgreSQL shows its
advisory lock request not granted. Nothing sleeps to let another party get somewhere.
"""

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from radiology_contract.locks import FREEZE_LOCK_KEY
from radiology_testkit.postgres import PgServer

from .conftest import IMAGING, imaging, migrated_database

TASKS = "/api/v1/analysis/tasks"
DBNAME = "imaging_freeze_gap"
PATIENCE = 30  # seconds before the test gives up on something that should happen at once (a hang, not a wait)


class Gate:
    """Stops the first call of a wrapped function until `release` is set; `entered` says it got there."""

    def __init__(self, *, before: bool) -> None:
        self.before = before  # stop before calling the function (else after it returned)
        self.entered = threading.Event()
        self.release = threading.Event()
        self._armed = True
        self._lock = threading.Lock()

    def _stop(self) -> None:
        with self._lock:
            first, self._armed = self._armed, False
        if first:
            self.entered.set()
            assert self.release.wait(PATIENCE), "the test never released the held call"

    def hold(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            if self.before:
                self._stop()
            result = fn(*args, **kwargs)
            if not self.before:
                self._stop()
            return result

        return held


@pytest.fixture(scope="module")
def freeze_env(pg: PgServer, workbook: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A database of its own, and Django configured in this process for it (the environment is put back)."""
    env = migrated_database(pg, DBNAME)
    imaging(["import_excel", str(workbook)], env)
    freeze_file = tmp_path_factory.mktemp("freeze_gap") / "imaging.freeze"
    env = {**env, "IMAGING_FREEZE_FILE": str(freeze_file), "IMAGING_ALLOWED_HOSTS": "testserver"}
    env["IMAGING_LOG_LEVEL"] = "CRITICAL"  # the views log nothing we look at; keep the output clean
    with mock.patch.dict(os.environ, {**env, "DJANGO_SETTINGS_MODULE": "imaging_api.settings"}):
        import django
        from django.conf import settings

        django.setup()
        assert settings.DATABASES["default"]["NAME"] == DBNAME, "Django was configured before this module"
    return env


@pytest.fixture
def freeze_file(freeze_env: dict[str, str]) -> Iterator[Path]:
    path = Path(freeze_env["IMAGING_FREEZE_FILE"])
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def request(pool: ThreadPoolExecutor, method: str, path: str, body: dict[str, str] | None = None) -> Future[Any]:
    """One request in its own thread (and database connection, closed when it is answered)."""
    from django.db import connections
    from django.test import Client

    def send() -> Any:
        try:
            client = Client()
            if method == "POST":
                return client.post(path, body, content_type="application/json")
            return client.generic(method, path)
        finally:
            connections.close_all()

    return pool.submit(send)


def freeze(path: Path) -> None:
    path.write_text("cutover test\n", encoding="utf-8")


def barrier(env: dict[str, str], timeout: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [IMAGING, "freeze_barrier", "--timeout", str(timeout)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def freeze_and_barrier(env: dict[str, str], freeze_file: Path, timeout: float) -> tuple[int, str, str]:
    """Freeze, then run the barrier to its end: its exit status, stdout and stderr."""
    freeze(freeze_file)
    done = barrier(env, timeout)
    out, err = done.communicate(timeout=PATIENCE)
    return done.returncode, out, err


def wait_until_barrier_waits(pg: PgServer) -> None:
    """Until PostgreSQL shows an exclusive request for the freeze lock waiting (a state, polled)."""
    deadline = time.monotonic() + PATIENCE
    with pg.connect(DBNAME) as conn:
        conn.autocommit = True
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND mode = 'ExclusiveLock' AND ((classid::bigint << 32) | objid::bigint) = %s",
                [FREEZE_LOCK_KEY],
            ).fetchone()
            if row and row[0] > 0:
                return
            assert time.monotonic() < deadline, "the barrier never asked for the freeze lock"
            time.sleep(0.01)  # polling a state PostgreSQL shows, not waiting for it to happen


def tasks_named(pg: PgServer, name: str) -> list[tuple[Any, ...]]:
    """The export's view of the task table: committed rows only, read by another connection."""
    with pg.connect(DBNAME) as conn:
        return conn.execute("SELECT task_id, deleted_at FROM analysis_tasks WHERE name = %s", [name]).fetchall()


def new_task(name: str) -> dict[str, str]:
    return {"name": name, "task_type": "status_distribution"}


def hold_inside_the_write(monkeypatch: pytest.MonkeyPatch) -> Gate:
    """Stop the next task INSERT after it ran, inside the write's transaction (nothing committed yet)."""
    from imaging_api.studies.models import AnalysisTask

    gate = Gate(before=False)
    monkeypatch.setattr(AnalysisTask.objects, "create", gate.hold(AnalysisTask.objects.create))
    return gate


def test_barrier_waits_for_the_write_in_flight(
    pg: PgServer, freeze_env: dict[str, str], freeze_file: Path, pool: ThreadPoolExecutor, monkeypatch
) -> None:
    gate = hold_inside_the_write(monkeypatch)
    write = request(pool, "POST", TASKS, new_task("in flight"))
    assert gate.entered.wait(PATIENCE)  # inserted, holding the freeze lock shared, not committed
    freeze(freeze_file)
    waiting = barrier(freeze_env, timeout=PATIENCE)
    try:
        wait_until_barrier_waits(pg)
        assert waiting.poll() is None and not write.done()
        assert tasks_named(pg, "in flight") == []  # an export now would miss it: the barrier must not pass
        gate.release.set()
        created = write.result(PATIENCE)
        out, err = waiting.communicate(timeout=PATIENCE)
    finally:
        gate.release.set()
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert created.status_code == 201, created.content
    assert waiting.returncode == 0, err
    assert out.startswith("freeze barrier passed after ")
    rows = tasks_named(pg, "in flight")
    assert [str(r[0]) for r in rows] == [created.json()["task_id"]]


def test_write_after_the_freeze_is_refused(
    pg: PgServer, freeze_env: dict[str, str], freeze_file: Path, pool: ThreadPoolExecutor
) -> None:
    made = request(pool, "POST", TASKS, new_task("before freeze")).result(PATIENCE)
    assert made.status_code == 201
    freeze(freeze_file)
    done = barrier(freeze_env, timeout=PATIENCE)
    assert done.wait(PATIENCE) == 0, done.communicate()[1]
    refused = [
        request(pool, "POST", TASKS, new_task("after freeze")).result(PATIENCE),
        request(pool, "DELETE", f"{TASKS}/{made.json()['task_id']}").result(PATIENCE),
    ]
    for r in refused:
        assert r.status_code == 503 and r.json()["error"]["code"] == "writes_frozen"
        assert r.headers["Retry-After"] == "30"
    assert tasks_named(pg, "after freeze") == []
    assert [r[1] for r in tasks_named(pg, "before freeze")] == [None]  # not tombstoned


def test_write_past_the_first_check_but_late_for_the_lock_is_refused(
    pg: PgServer, freeze_env: dict[str, str], freeze_file: Path, pool: ThreadPoolExecutor, monkeypatch
) -> None:
    # The gap of a check-then-write freeze: the write looks (no file), the freeze and the barrier happen, then
    # the write opens its transaction. It must not be acknowledged: the export after the barrier lacks it.
    from imaging_api.studies import selectors

    gate = Gate(before=True)
    monkeypatch.setattr(selectors, "ready", gate.hold(selectors.ready))  # after the view's check, before the write
    late = request(pool, "POST", TASKS, new_task("late"))
    assert gate.entered.wait(PATIENCE)
    freeze(freeze_file)
    passed = barrier(freeze_env, timeout=PATIENCE)
    assert passed.wait(PATIENCE) == 0, passed.communicate()[1]
    exported = tasks_named(pg, "late")

    gate.release.set()
    answer = late.result(PATIENCE)
    assert answer.status_code == 503, f"acknowledged after the barrier: {answer.status_code} {answer.content!r}"
    assert answer.json()["error"]["code"] == "writes_frozen"
    assert exported == [] and tasks_named(pg, "late") == []


def test_barrier_gives_up_on_a_write_held_too_long(
    pg: PgServer, freeze_env: dict[str, str], freeze_file: Path, pool: ThreadPoolExecutor, monkeypatch
) -> None:
    gate = hold_inside_the_write(monkeypatch)
    write = request(pool, "POST", TASKS, new_task("slow"))
    try:
        assert gate.entered.wait(PATIENCE)
        rc, out, err = freeze_and_barrier(freeze_env, freeze_file, timeout=0.5)
        assert rc == 1 and out == ""
        assert "writes still in flight after 0.5 s" in err
        assert not write.done()
    finally:
        gate.release.set()
    assert write.result(PATIENCE).status_code == 201  # it was in flight: kept, acknowledged, and...
    again = barrier(freeze_env, timeout=PATIENCE)
    assert again.wait(PATIENCE) == 0, again.communicate()[1]
    assert len(tasks_named(pg, "slow")) == 1  # ...in what an export after a passed barrier reads


def test_barrier_refuses_without_the_freeze_file(freeze_env: dict[str, str], freeze_file: Path) -> None:
    result = imaging(["freeze_barrier", "--timeout", "5"], freeze_env, check=False)
    assert result.returncode == 1
    assert f"writes are not frozen: {freeze_file} does not exist" in result.stderr
    unset = imaging(["freeze_barrier"], {**freeze_env, "IMAGING_FREEZE_FILE": ""}, check=False)
    assert unset.returncode == 1 and "IMAGING_FREEZE_FILE is not set" in unset.stderr
    bad = imaging(["freeze_barrier", "--timeout", "0"], freeze_env, check=False)
    assert bad.returncode != 0 and "--timeout" in bad.stderr


def test_barrier_does_not_wait_for_a_task_still_counting(
    pg: PgServer, freeze_env: dict[str, str], freeze_file: Path, pool: ThreadPoolExecutor, monkeypatch
) -> None:
    # A new task's count reads only the examinations (seconds at a million of them, under load). It runs before
    # the write's transaction: a freeze barrier passes at once, and the write, once counted, sees the freeze.
    from imaging_api.studies import selectors

    gate = Gate(before=True)
    monkeypatch.setattr(selectors, "grouped_counts", gate.hold(selectors.grouped_counts))
    counting = request(pool, "POST", TASKS, new_task("still counting"))
    try:
        assert gate.entered.wait(PATIENCE)
        rc, out, err = freeze_and_barrier(freeze_env, freeze_file, timeout=5)
        assert rc == 0, f"the barrier waited for a count, not for a write: {err}"
        assert out.startswith("freeze barrier passed after ")
    finally:
        gate.release.set()
    answer = counting.result(PATIENCE)
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "writes_frozen"
    assert tasks_named(pg, "still counting") == []


# Django runs in this process only in this module; the count lock's release on a failed count is proven here too.


def test_a_failed_count_raises_its_own_error_and_leaves_its_lock_free(pg: PgServer, freeze_env: dict[str, str]) -> None:
    # The count fails inside a transaction: the session can no longer unlock (its transaction is aborted). The
    # count's error is raised, not the unlock's, and the lock is free for the next session all the same.
    from django.db import ProgrammingError, connection, transaction
    from imaging_api.studies import counts

    key = ("test", "failed count")
    with (
        pytest.raises(ProgrammingError, match="no_such_table"),
        transaction.atomic(),
        counts.counting_alone(key),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT count(*) FROM no_such_table")
    with pg.connect(DBNAME) as other:
        taken = other.execute("SELECT pg_try_advisory_lock(%s, %s)", counts.count_lock(key)).fetchone()
        assert taken == (True,), "the failed count's session kept the count lock"
