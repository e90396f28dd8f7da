"""Production behaviour of the new service over real HTTP: logs, CORS, errors, health, cached totals."""

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from imaging_api.studies import counts
from radiology_contract.locks import COUNT_LOCK_CLASS
from radiology_testkit.postgres import PgServer
from radiology_testkit.servers import free_port, serve

from .conftest import HEALTH, IMAGING, imaging, migrated_database, service_env

ORIGIN = "https://radiology.hospital.example"


@dataclass(frozen=True)
class Running:
    url: str
    log: Path


def _any_answer(status: int, _body: bytes) -> bool:
    return status in (200, 503)


@contextmanager
def running(env: dict[str, str], log: Path) -> Iterator[Running]:
    port = free_port()
    cmd = [IMAGING, "serve", "--bind", f"127.0.0.1:{port}"]
    with serve(cmd, port, HEALTH, env, timeout=60, ready=_any_answer, output_path=log) as url:
        yield Running(url, log)


def log_entries(log: Path) -> list[dict]:
    entries = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries


@pytest.fixture(scope="module")
def scratch_env(pg: PgServer, workbook: Path) -> dict[str, str]:
    env = migrated_database(pg, "imaging_scratch")
    imaging(["import_excel", str(workbook)], env)
    return env


@pytest.fixture(scope="module")
def service(scratch_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    log = tmp_path_factory.mktemp("scratch") / "server.log"
    env = {**scratch_env, "IMAGING_LOG_LEVEL": "INFO", "IMAGING_CORS_ORIGINS": ORIGIN}
    with running(env, log) as service:
        yield service


def test_every_request_is_logged_as_json_with_its_id_and_timing(service: Running) -> None:
    response = httpx.get(service.url + "/api/v1/studies/search?q=chest", headers={"X-Request-ID": "trace-42"})
    assert response.status_code == 200
    httpx.get(service.url + "/api/v1/nothing")
    entries = [e for e in log_entries(service.log) if e.get("logger") == "imaging_api.access"]
    mine = [e for e in entries if e.get("request_id") == "trace-42"]
    assert len(mine) == 1
    assert mine[0]["path"] == "/api/v1/studies/search"
    assert mine[0]["status"] == 200
    assert mine[0]["duration_ms"] >= 0
    assert any(e["path"] == "/api/v1/nothing" and e["status"] == 404 for e in entries)
    # a request id the client did not send is generated, and a hostile one is replaced
    hostile = httpx.get(service.url + "/api/v1/health", headers={"X-Request-ID": "x y; drop"})
    assert hostile.headers["X-Request-ID"] != "x y; drop"
    assert len(hostile.headers["X-Request-ID"]) == 32


def test_cors_allows_only_listed_origins(service: Running) -> None:
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = httpx.options(service.url + "/api/v1/studies/search", headers={"Origin": ORIGIN, **preflight})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    other = httpx.options(
        service.url + "/api/v1/studies/search", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers
    simple = httpx.get(service.url + "/api/v1/health", headers={"Origin": ORIGIN})
    assert "X-Backend" in simple.headers["access-control-expose-headers"]


def test_totals_follow_writes_made_outside_the_service(pg: PgServer, service: Running) -> None:
    """Totals are cached per data version; a write by any client (a bulk load, psql) must show at once."""
    url = service.url + "/api/v1/studies/search?exam_status=scheduled&page_size=1"
    first = httpx.get(url).json()["total"]
    assert httpx.get(url).json()["total"] == first  # served from the cache now
    with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
        conn.execute(
            "INSERT INTO examinations (exam_id, medical_record_no, exam_source, exam_item, modality, exam_status, "
            "order_datetime) VALUES ('EX-CACHE-1', 'MRN-C', 'outpatient', 'US Thyroid', 'US', 'scheduled', "
            "'2020-01-01 00:00:00')"
        )
    for _ in range(6):  # every worker process, whichever answers
        assert httpx.get(url).json()["total"] == first + 1
    with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
        conn.execute("DELETE FROM examinations WHERE exam_id = 'EX-CACHE-1'")
    for _ in range(6):
        assert httpx.get(url).json()["total"] == first


def _warm(env: dict[str, str]) -> dict:
    return json.loads(imaging(["warm_counts"], env).stdout)


def test_warmed_counts_are_shared_by_every_worker(pg: PgServer, scratch_env: dict[str, str], service: Running) -> None:
    """warm_counts counts the common filter sets once; every worker then answers from the shared tier."""
    with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
        conn.execute("UPDATE imaging_data_version SET version = version + 1")  # a version nobody has counted yet
    first = _warm(scratch_env)
    assert first["cache"] == "on" and not first["version_moved"]
    assert [w["what"] for w in first["warmed"]][:4] == [
        f"statistics {g}" for g in ("exam_status", "exam_source", "exam_item", "month")
    ]
    assert all(w["answered"] == {"counted": 1} for w in first["warmed"][:4]), first
    again = _warm(scratch_env)  # another process: nothing left to count
    assert all("counted" not in w["answered"] for w in again["warmed"]), again
    # Prove the workers read the shared tier: change what it holds for the unfiltered total.
    with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
        real = conn.execute("SELECT count(*) FROM examinations").fetchone()[0]
        changed = conn.execute(
            "UPDATE imaging_count_cache SET value = '424242' WHERE version = %s AND value = to_jsonb(%s::bigint)",
            [first["data_version"], real],
        ).rowcount
    assert changed >= 1  # the studies total and the row count of examinations
    for _ in range(6):  # every worker process, whichever answers
        assert httpx.get(service.url + "/api/v1/studies/search?page_size=1").json()["total"] == 424242
    with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
        conn.execute("UPDATE imaging_data_version SET version = version + 1")  # what a load does: a new version
    for _ in range(6):
        assert httpx.get(service.url + "/api/v1/studies/search?page_size=1").json()["total"] == real


def test_the_shared_counts_keep_only_the_live_version_within_the_ttl(pg: PgServer, scratch_env: dict[str, str]) -> None:
    with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
        conn.execute("UPDATE imaging_data_version SET version = version + 1")
        version = conn.execute("SELECT version FROM imaging_data_version").fetchone()[0]
        conn.execute(
            "INSERT INTO imaging_count_cache (version, key, value, created_at) VALUES (%s, 'old version', '1', now()),"
            " (%s, 'expired', '1', now() - interval '1 hour')",
            [version - 1, version],
        )
    warmed = _warm(scratch_env)  # a new process: it prunes with its first shared write
    assert warmed["data_version"] == version
    with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
        rows = conn.execute("SELECT version, key FROM imaging_count_cache").fetchall()
    assert rows and {v for v, _ in rows} == {version}
    assert not {k for _, k in rows} & {"old version", "expired"}


def _wait_for_a_count_lock_waiter(conn: psycopg.Connection) -> None:
    """Until PostgreSQL shows a session waiting for a count lock (a state, polled)."""
    deadline = time.monotonic() + 30
    query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = %s"
    while conn.execute(query, [COUNT_LOCK_CLASS]).fetchone()[0] == 0:
        assert time.monotonic() < deadline, "no request waited for the count lock"
        time.sleep(0.01)


def test_one_session_counts_a_total_the_others_wait_and_read_it(pg: PgServer, service: Running) -> None:
    """A total nobody has counted at this version: while another session counts it (holds its count lock), a
    request waits, then answers what that session stored instead of counting again; never longer than
    COUNT_WAIT_SECONDS, after which it counts itself."""
    key = ("rows", "examinations")  # /health's examination count
    with psycopg.connect(pg.dsn("imaging_scratch"), autocommit=True) as other, ThreadPoolExecutor(1) as pool:
        real = other.execute("SELECT count(*) FROM examinations").fetchone()[0]
        other.execute("UPDATE imaging_data_version SET version = version + 1")
        version = other.execute("SELECT version FROM imaging_data_version").fetchone()[0]
        other.execute("SELECT pg_advisory_lock(%s, %s)", counts.count_lock(key))
        health = pool.submit(httpx.get, service.url + "/api/v1/health", timeout=30)
        _wait_for_a_count_lock_waiter(other)
        assert not health.done()
        other.execute(
            "INSERT INTO imaging_count_cache (version, key, value) VALUES (%s, %s, '424242')",
            [version, counts.key_digest(key)],
        )
        other.execute("SELECT pg_advisory_unlock(%s, %s)", counts.count_lock(key))
        assert health.result().json()["examinations"] == 424242  # read, not counted

        other.execute("UPDATE imaging_data_version SET version = version + 1")
        other.execute("SELECT pg_advisory_lock(%s, %s)", counts.count_lock(key))
        started = time.monotonic()
        answer = httpx.get(service.url + "/api/v1/health", timeout=30)
        waited = time.monotonic() - started
        other.execute("SELECT pg_advisory_unlock(%s, %s)", counts.count_lock(key))
    assert answer.json()["examinations"] == real
    assert counts.COUNT_WAIT_SECONDS <= waited < counts.COUNT_WAIT_SECONDS + 5


STATISTICS_OF_TASKS = {
    "status_distribution": "by_status",
    "source_distribution": "by_source",
    "item_distribution": "by_item",
    "monthly_volume": "by_month",
}


@pytest.mark.parametrize("filters", [{"modality": "CT"}, {"q": "chest", "exam_status": "completed"}, {"q": "zz-none"}])
def test_statistics_from_one_scan_equal_each_grouping_counted_apart(
    pg: PgServer, service: Running, filters: dict[str, str]
) -> None:
    """With filters /statistics counts every grouping in one GROUPING SETS scan; a task counts one GROUP BY."""
    with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
        conn.execute("UPDATE imaging_data_version SET version = version + 1")  # nothing cached for either
    statistics = httpx.get(service.url + "/api/v1/statistics", params=filters).json()["data"]
    with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
        conn.execute("UPDATE imaging_data_version SET version = version + 1")  # the tasks count afresh
    for task_type, key in STATISTICS_OF_TASKS.items():
        body = {"name": f"apart {task_type}", "task_type": task_type, "filters": filters}
        created = httpx.post(service.url + "/api/v1/analysis/tasks", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["result"]["buckets"] == statistics[key], (task_type, filters)
        assert created.json()["result"]["total"] == statistics["total"]


def test_warm_counts_with_the_cache_off_counts_nothing(scratch_env: dict[str, str]) -> None:
    assert _warm({**scratch_env, "IMAGING_COUNT_CACHE_SECONDS": "0"}) == {"cache": "off", "warmed": []}


def test_unhandled_errors_are_logged_and_hidden(pg: PgServer, service: Running) -> None:
    """Break the schema under the running service: the client gets the contract's 500, the log the traceback."""
    with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
        conn.execute("ALTER TABLE examinations RENAME COLUMN certified_physician TO certified_physician_x")
    try:
        response = httpx.get(service.url + "/api/v1/studies/search?q=zz-unique", headers={"X-Request-ID": "boom-1"})
    finally:
        with psycopg.connect(pg.dsn("imaging_scratch")) as conn:
            conn.execute("ALTER TABLE examinations RENAME COLUMN certified_physician_x TO certified_physician")
    assert response.status_code == 500
    assert response.content == (
        b'{"error":{"code":"internal_error","message":"An internal error occurred. It has been logged.","details":[]}}'
    )
    errors = [e for e in log_entries(service.log) if e.get("level") == "ERROR" and e.get("request_id") == "boom-1"]
    assert errors, "the 500 was not logged"
    assert "Traceback" in errors[0]["exception"]
    assert "certified_physician" in errors[0]["exception"]


def test_empty_database_is_not_served(pg: PgServer, tmp_path: Path) -> None:
    env = migrated_database(pg, "imaging_empty")
    with running(env, tmp_path / "server.log") as service:
        health = httpx.get(service.url + HEALTH)
        search = httpx.get(service.url + "/api/v1/studies/search")
    expected = (
        b'{"error":{"code":"service_unavailable","message":"The examination database is empty; '
        b'import data before serving.","details":[]}}'
    )
    assert (health.status_code, health.content) == (503, expected)
    assert (search.status_code, search.content) == (503, expected)


def test_unreachable_database_answers_503(pg: PgServer, tmp_path: Path) -> None:
    env = service_env(pg, "no_such_database")
    with running(env, tmp_path / "server.log") as service:
        health = httpx.get(service.url + HEALTH)
        search = httpx.get(service.url + "/api/v1/studies/search")
    for response in (health, search):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"
        assert "no_such_database" not in response.text  # no internals to clients
    assert "no_such_database" in (tmp_path / "server.log").read_text()  # but the log names it
