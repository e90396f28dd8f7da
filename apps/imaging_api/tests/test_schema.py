"""The PostgreSQL schema the migrations create: contract columns in order, integrity, indexes."""

import psycopg
import pytest
from radiology_contract import tables
from radiology_contract.fields import FieldType
from radiology_testkit.postgres import PgServer

PG_TYPES = {
    FieldType.STR: "character varying",
    FieldType.TEXT: "text",
    FieldType.INT: "integer",
    FieldType.DATETIME: "timestamp without time zone",
    FieldType.JSON: "text",
}


@pytest.fixture(scope="module")
def conn(pg: PgServer, imaging_env: dict[str, str]):
    with psycopg.connect(pg.dsn(imaging_env["IMAGING_DB_NAME"])) as connection:
        yield connection


@pytest.mark.parametrize("table", tables.TABLES, ids=lambda t: t.kind)
def test_columns_are_the_contract_fields_in_order(conn, table: tables.Table) -> None:
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable, character_maximum_length, collation_name "
        "FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        [table.postgres],
    ).fetchall()
    assert [r[0] for r in rows] == list(table.columns)
    for f, (_, data_type, nullable, max_length, collation) in zip(table.fields, rows, strict=True):
        assert data_type == PG_TYPES[f.type], f.name
        assert (nullable == "NO") == f.required, f.name
        if f.type is FieldType.STR:
            assert max_length == f.max_length, f.name
        if f.name == table.key:
            assert collation == "C", f"{f.name} must sort byte by byte like DuckDB"


def test_integrity_is_enforced_by_the_database(conn) -> None:
    row = conn.execute("SELECT * FROM examinations ORDER BY exam_id LIMIT 1").fetchone()
    columns = ", ".join(tables.EXAMINATIONS.columns)
    placeholders = ", ".join(["%s"] * len(row))
    insert = f"INSERT INTO examinations ({columns}) VALUES ({placeholders})"
    status_at = tables.EXAMINATIONS.columns.index("exam_status")
    age_at = tables.EXAMINATIONS.columns.index("patient_age")
    cases = {
        "duplicate exam_id": (list(row), psycopg.errors.UniqueViolation),
        "unknown status": (
            ["EX-NEW-1", *row[1:status_at], "lost", *row[status_at + 1 :]],
            psycopg.errors.CheckViolation,
        ),
        "age out of range": (["EX-NEW-2", *row[1:age_at], 131, *row[age_at + 1 :]], psycopg.errors.CheckViolation),
        "missing required": (["EX-NEW-3", None, *row[2:]], psycopg.errors.NotNullViolation),
    }
    for name, (values, error) in cases.items():
        with pytest.raises(error), conn.transaction():
            conn.execute(insert, values)
            pytest.fail(f"{name} was accepted")
    with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
        conn.execute(
            "INSERT INTO exam_reports (report_id, exam_id, report_text, report_datetime) "
            "VALUES ('RP-NEW', 'EX-NOT-THERE', 'text', now())"
        )
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_search_indexes_exist(conn) -> None:
    assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone()
    indexes = dict(conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'").fetchall())
    for table, prefix in ((tables.EXAMINATIONS, "exam"), (tables.REPORTS, "report")):
        trigram = [d for d in indexes.values() if f".{table.postgres} USING gin" in d and "gin_trgm_ops" in d]
        assert len(trigram) == sum(1 for f in table.fields if f.searchable), prefix
    assert "(order_datetime DESC, exam_id)" in indexes["exam_order_idx"]
    assert "(report_datetime DESC, report_id)" in indexes["report_order_idx"]
    assert "(created_at DESC, task_id)" in indexes["task_order_idx"]


def test_key_order_is_byte_order(conn) -> None:
    # 'Z' < '_' < 'a' in bytes; a linguistic collation would order them differently
    got = conn.execute(
        "SELECT x FROM (VALUES ('a'), ('_'), ('Z'), ('é'), ('e')) v(x) ORDER BY x COLLATE \"C\""
    ).fetchall()
    assert [r[0] for r in got] == ["Z", "_", "a", "e", "é"]
    keys = [r[0] for r in conn.execute("SELECT exam_id FROM examinations ORDER BY exam_id").fetchall()]
    assert keys == sorted(keys, key=lambda k: k.encode())


def test_committed_migrations_match_the_models(imaging_env: dict[str, str]) -> None:
    from .conftest import imaging

    result = imaging(["makemigrations", "--check", "--dry-run"], imaging_env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
