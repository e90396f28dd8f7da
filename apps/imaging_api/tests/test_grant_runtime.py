"""`imaging-api grant_runtime ROLE`: the web process connects as a role that owns nothing and may only do what
the service does at runtime. Real PostgreSQL: an owner role migrates and imports, a runtime role is granted,
then used by psql-like connections and by the real service (gunicorn)."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import errors, sql
from radiology_testkit.postgres import PgServer

from .conftest import HEALTH, imaging, service_env
from .test_service import log_entries, running

DATABASE = "imaging_grants"
OWNER = "grants_owner"
RUNTIME = "grants_web"
MEMBER = "grants_member"
PASSWORDS = {name: secrets.token_hex(12) for name in (OWNER, RUNTIME, MEMBER)}
API = "/api/v1"


def _role(pg: PgServer, name: str, *extra: str) -> None:
    with pg.connect() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} " + " ".join(extra)).format(
                sql.Identifier(name), sql.Literal(PASSWORDS[name])
            )
        )


def as_role(pg: PgServer, name: str, dbname: str = DATABASE, **extra: str) -> dict[str, str]:
    return {**service_env(pg, dbname, **extra), "IMAGING_DB_USER": name, "IMAGING_DB_PASSWORD": PASSWORDS[name]}


@pytest.fixture(scope="module")
def owner_env(pg: PgServer, workbook: Path) -> Iterator[dict[str, str]]:
    """A database owned by a non-superuser owner role that migrated and imported it; a bare runtime role."""
    _role(pg, OWNER)
    _role(pg, RUNTIME)
    _role(pg, MEMBER, "IN ROLE", OWNER)
    pg.create_database(DATABASE, owner=OWNER)
    env = as_role(pg, OWNER)
    imaging(["migrate", "--verbosity", "0"], env)
    imaging(["import_excel", str(workbook)], env)
    yield env
    pg.drop_database(DATABASE)
    with pg.connect() as conn:
        for name in (MEMBER, RUNTIME):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def grant(env: dict[str, str], *args: str) -> tuple[int, list[str], str]:
    result = imaging(["grant_runtime", *args], env, check=False)
    return result.returncode, result.stdout.strip().splitlines(), result.stderr


def connect(pg: PgServer, name: str) -> psycopg.Connection:
    return psycopg.connect(pg.dsn(DATABASE, user=name, password=PASSWORDS[name]), autocommit=True)


def owner_sql(pg: PgServer, *statements: str) -> None:
    with connect(pg, OWNER) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture(scope="module")
def granted(owner_env: dict[str, str]) -> dict[str, str]:
    code, lines, err = grant(owner_env, RUNTIME, "--check")
    assert code == 1, err
    assert lines[-1] == "grant_runtime: would change"
    code, lines, err = grant(owner_env, RUNTIME)
    assert code == 0, err
    assert lines[0] == f"grant_runtime: role {RUNTIME} on database {DATABASE}, schema public"
    assert lines[-1] == "grant_runtime: changed"
    assert sorted(lines[1:-1]) == sorted(
        [
            f"GRANT CONNECT ON DATABASE {DATABASE} TO {RUNTIME}",
            f"GRANT USAGE ON SCHEMA public TO {RUNTIME}",
            f"GRANT SELECT ON TABLE examinations TO {RUNTIME}",
            f"GRANT SELECT ON TABLE exam_reports TO {RUNTIME}",
            f"GRANT SELECT ON TABLE imaging_data_version TO {RUNTIME}",
            f"GRANT SELECT, INSERT, DELETE ON TABLE imaging_count_cache TO {RUNTIME}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE analysis_tasks TO {RUNTIME}",
        ]
    )
    return owner_env


def test_a_check_before_the_grant_changed_nothing_and_a_rerun_is_ok(pg: PgServer, granted: dict[str, str]) -> None:
    for args in ((RUNTIME,), (RUNTIME, "--check")):
        code, lines, err = grant(granted, *args)
        assert (code, lines[-1]) == (0, "grant_runtime: ok"), err
        assert len(lines) == 2


def test_the_runtime_role_can_do_what_the_service_does(pg: PgServer, granted: dict[str, str]) -> None:
    with connect(pg, RUNTIME) as conn:
        assert conn.execute("SELECT count(*) FROM examinations").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM exam_reports").fetchone()[0] > 0
        assert conn.execute("SELECT version FROM imaging_data_version").fetchone()[0] >= 1
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock_shared(7265646102)")  # the freeze lock: no grant needed
        conn.execute(
            "INSERT INTO analysis_tasks (task_id, name, task_type, filters, status, result, created_at) VALUES "
            "('00000000-0000-4000-8000-0000000000aa', 'runtime', 'monthly_volume', '{}', 'completed', '{}', now())"
        )
        conn.execute(
            "UPDATE analysis_tasks SET deleted_at = now() WHERE task_id = '00000000-0000-4000-8000-0000000000aa'"
        )
        conn.execute("DELETE FROM analysis_tasks WHERE task_id = '00000000-0000-4000-8000-0000000000aa'")
        # the shared count cache: read, shared, pruned
        conn.execute("INSERT INTO imaging_count_cache (version, key, value) VALUES (0, 'runtime', '1')")
        assert conn.execute("SELECT value FROM imaging_count_cache WHERE version = 0").fetchone()[0] == 1
        conn.execute("DELETE FROM imaging_count_cache WHERE version = 0")


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE examinations",
        "DROP TABLE examinations",
        "ALTER TABLE examinations ADD COLUMN extra text",
        "DELETE FROM examinations",
        "UPDATE examinations SET exam_status = exam_status",
        "INSERT INTO exam_reports (report_id) VALUES ('x')",
        "TRUNCATE analysis_tasks",
        "DROP TABLE analysis_tasks",
        "UPDATE imaging_data_version SET version = version + 1",
        "UPDATE imaging_count_cache SET value = '0'",
        "TRUNCATE imaging_count_cache",
        "SELECT * FROM django_migrations",
        "CREATE TABLE intruder (id int)",
        "CREATE INDEX intruder_idx ON examinations (exam_id)",
        "ALTER TABLE examinations DISABLE TRIGGER ALL",
        "CREATE SCHEMA intruder",
    ],
)
def test_the_runtime_role_cannot_change_the_schema_or_the_examinations(
    pg: PgServer, granted: dict[str, str], statement: str
) -> None:
    with connect(pg, RUNTIME) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement)


def test_privileges_beyond_the_runtime_are_revoked(pg: PgServer, granted: dict[str, str]) -> None:
    owner_sql(
        pg,
        f"GRANT INSERT, TRUNCATE, REFERENCES ON examinations TO {RUNTIME}",
        f"GRANT UPDATE (exam_status) ON examinations TO {RUNTIME}",
        f"GRANT SELECT ON django_migrations TO {RUNTIME}",
        f"GRANT ALL ON SEQUENCE django_migrations_id_seq TO {RUNTIME}",
        f"GRANT TRUNCATE ON analysis_tasks TO {RUNTIME}",
        f"GRANT SELECT ON exam_reports TO {RUNTIME} WITH GRANT OPTION",
        f"GRANT CREATE ON SCHEMA public TO {RUNTIME}",
        f"GRANT CREATE, TEMPORARY ON DATABASE {DATABASE} TO {RUNTIME}",
    )
    extras = (
        f"SELECT has_column_privilege('{RUNTIME}', 'examinations', 'exam_status', 'UPDATE'),"
        f" has_table_privilege('{RUNTIME}', 'analysis_tasks', 'TRUNCATE'),"
        f" has_sequence_privilege('{RUNTIME}', 'django_migrations_id_seq', 'UPDATE'),"
        f" has_schema_privilege('{RUNTIME}', 'public', 'CREATE'),"
        f" has_database_privilege('{RUNTIME}', '{DATABASE}', 'CREATE'),"
        f" has_table_privilege('{RUNTIME}', 'exam_reports', 'SELECT WITH GRANT OPTION')"
    )
    with connect(pg, OWNER) as conn:
        assert conn.execute(extras).fetchone() == (True, True, True, True, True, True)
    code, lines, err = grant(granted, RUNTIME, "--check")
    assert (code, lines[-1]) == (1, "grant_runtime: would change"), err
    with connect(pg, OWNER) as conn:  # --check changed nothing
        assert conn.execute(extras).fetchone() == (True, True, True, True, True, True)
    code, lines, err = grant(granted, RUNTIME)
    assert (code, lines[-1]) == (0, "grant_runtime: changed"), err
    assert sorted(lines[1:-1]) == sorted(
        [
            f"REVOKE CREATE, TEMPORARY ON DATABASE {DATABASE} FROM {RUNTIME}",
            f"REVOKE CREATE ON SCHEMA public FROM {RUNTIME}",
            f"REVOKE INSERT, TRUNCATE, REFERENCES ON TABLE examinations FROM {RUNTIME}",
            f"REVOKE UPDATE (exam_status) ON TABLE examinations FROM {RUNTIME}",
            f"REVOKE SELECT ON TABLE django_migrations FROM {RUNTIME}",
            f"REVOKE USAGE, SELECT, UPDATE ON SEQUENCE django_migrations_id_seq FROM {RUNTIME}",
            f"REVOKE TRUNCATE ON TABLE analysis_tasks FROM {RUNTIME}",
            f"REVOKE GRANT OPTION FOR SELECT ON TABLE exam_reports FROM {RUNTIME}",
        ]
    )
    with connect(pg, OWNER) as conn:
        assert conn.execute(extras).fetchone() == (False, False, False, False, False, False)
    with connect(pg, RUNTIME) as conn:
        assert conn.execute("SELECT count(*) FROM exam_reports").fetchone()[0] > 0  # SELECT itself is kept
    for statement in (
        "UPDATE examinations SET exam_status = exam_status WHERE false",
        "TRUNCATE analysis_tasks",
        "SELECT * FROM django_migrations",
        "CREATE TABLE intruder (id int)",
    ):
        with connect(pg, RUNTIME) as conn, pytest.raises(errors.InsufficientPrivilege):
            conn.execute(statement)
    assert grant(granted, RUNTIME, "--check")[1][-1] == "grant_runtime: ok"


def test_a_missing_runtime_grant_is_put_back(pg: PgServer, granted: dict[str, str]) -> None:
    owner_sql(pg, f"REVOKE DELETE, UPDATE ON analysis_tasks FROM {RUNTIME}")
    code, lines, _ = grant(granted, RUNTIME)
    assert (code, lines[1:]) == (
        0,
        [f"GRANT UPDATE, DELETE ON TABLE analysis_tasks TO {RUNTIME}", "grant_runtime: changed"],
    )


def test_privileges_through_public_are_refused_not_hidden(pg: PgServer, granted: dict[str, str]) -> None:
    owner_sql(pg, "GRANT DELETE ON examinations TO PUBLIC")
    try:
        code, _lines, err = grant(granted, RUNTIME)
        assert code == 1
        assert "would still have DELETE on table examinations through PUBLIC or a role it is a member of" in err
        code, _lines, err = grant(granted, RUNTIME, "--check")
        assert code == 1 and "DELETE on table examinations" in err
    finally:
        owner_sql(pg, "REVOKE DELETE ON examinations FROM PUBLIC")
    assert grant(granted, RUNTIME)[1][-1] == "grant_runtime: ok"


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("no_such_role", "role 'no_such_role' does not exist"),
        ("postgres", "role 'postgres' is a superuser"),
        (OWNER, f"role '{OWNER}' is the role this command connects as"),
        (MEMBER, f"role '{MEMBER}' owns, or has the privileges of the owner of"),
    ],
)
def test_unsafe_roles_are_refused(granted: dict[str, str], role: str, message: str) -> None:
    code, _lines, err = grant(granted, role)
    assert code == 1 and message in err, err


def test_the_service_runs_as_the_runtime_role(pg: PgServer, granted: dict[str, str], tmp_path: Path) -> None:
    """Every endpoint, the write freeze and its barrier, with the runtime role's connection only."""
    freeze = tmp_path / "imaging.freeze"
    env = as_role(pg, RUNTIME, IMAGING_FREEZE_FILE=str(freeze), IMAGING_LOG_LEVEL="INFO")
    log = tmp_path / "server.log"
    with running(env, log) as service, httpx.Client(base_url=service.url + API, timeout=30) as client:
        assert client.get(HEALTH.removeprefix(API)).json()["status"] == "ok"
        search = client.get("/studies/search", params={"q": "chest", "page_size": 5})
        assert search.status_code == 200 and search.json()["total"] > 0
        assert client.get("/studies/search", params={"q": "chest", "page_size": 5}).json() == search.json()  # cached
        exam_id = client.get("/reports/search", params={"page_size": 1}).json()["data"][0]["exam_id"]
        detail = client.get("/reports/search", params={"exam_id": exam_id})
        assert detail.status_code == 200 and detail.json()["total"] >= 1
        assert client.get("/studies/search", params={"exam_status": "reported"}).status_code == 200
        assert client.get("/statistics").json()["data"]["total"] > 0
        created = client.post("/analysis/tasks", json={"name": "as runtime", "task_type": "monthly_volume"})
        assert created.status_code == 201, created.text
        task_id = created.json()["task_id"]
        assert client.get(f"/analysis/tasks/{task_id}").status_code == 200
        assert task_id in [
            t["task_id"] for t in client.get("/analysis/tasks", params={"page_size": 100}).json()["data"]
        ]
        assert client.delete(f"/analysis/tasks/{task_id}").status_code == 204
        assert client.get(f"/analysis/tasks/{task_id}").status_code == 404
        freeze.write_text("cutover\n")
        frozen = client.post("/analysis/tasks", json={"name": "frozen", "task_type": "monthly_volume"})
        assert frozen.status_code == 503 and frozen.json()["error"]["code"] == "writes_frozen"
        barrier = imaging(["freeze_barrier", "--timeout", "10"], env)
        assert "freeze barrier passed" in barrier.stdout
    problems = [e for e in log_entries(log) if e.get("level") in ("ERROR", "CRITICAL")]
    assert not problems, problems
