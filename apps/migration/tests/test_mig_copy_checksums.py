"""`checksum-sql`: the restore drill's per-table checksums agree on a copy and catch any changed value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from mig_helpers import migrate, pg_execute
from radiology_testkit.postgres import PgServer

TABLES = ["examinations", "exam_reports", "analysis_tasks", "django_migrations"]


@pytest.fixture
def original_and_copy(snapshot: Path, target_dsn: str, pg_server: PgServer) -> tuple[str, str]:
    code, doc = migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 0, doc
    source = target_dsn.rsplit("/", 1)[1]
    copy = f"{source}_copy"
    with pg_server.connect() as conn:
        conn.execute(f"CREATE DATABASE {copy} TEMPLATE {source}")
    return target_dsn, pg_server.dsn(copy)


def checksums(dsn: str) -> dict[str, tuple[str, int, int]]:
    code, doc = migrate("checksum-sql", "--tables", ",".join(TABLES))
    assert code == 0, doc
    queries: dict[str, Any] = doc["queries"]
    with psycopg.connect(dsn) as conn:
        for statement in queries["session"]:
            conn.execute(statement)
        return {q["table"]: tuple(conn.execute(q["sql"]).fetchone()) for q in queries["tables"]}


def test_a_copy_has_the_same_checksums(original_and_copy: tuple[str, str]) -> None:
    original, copy = original_and_copy
    ours = checksums(original)
    assert ours == checksums(copy)
    assert ours["examinations"][:2] == ("examinations", 1250) and ours["examinations"][2] != 0
    assert ours["django_migrations"][1] > 0


@pytest.mark.parametrize(
    ("table", "change"),
    [
        (
            "examinations",
            "UPDATE examinations SET exam_item = exam_item || ' ' WHERE exam_id = "
            "(SELECT min(exam_id) FROM examinations)",
        ),
        ("exam_reports", "DELETE FROM exam_reports WHERE ctid = (SELECT min(ctid) FROM exam_reports)"),
        (
            "django_migrations",
            "UPDATE django_migrations SET applied = applied + interval '1 microsecond' "
            "WHERE id = (SELECT min(id) FROM django_migrations)",
        ),
    ],
)
def test_a_changed_value_changes_its_table_only(original_and_copy: tuple[str, str], table: str, change: str) -> None:
    original, copy = original_and_copy
    pg_execute(copy, change)
    ours, theirs = checksums(original), checksums(copy)
    assert ours[table] != theirs[table]
    assert {t: v for t, v in ours.items() if t != table} == {t: v for t, v in theirs.items() if t != table}


def test_json_fields_count(original_and_copy: tuple[str, str]) -> None:
    original, _ = original_and_copy
    task = {"name": "drill", "type": "status_distribution"}
    pg_execute(
        original,
        "INSERT INTO analysis_tasks (task_id, name, task_type, filters, status, result, created_at) "
        "VALUES ('drill-1', %s, %s, %s, 'completed', '{\"rows\": 1}', now())",
        [task["name"], task["type"], '{"modality": "CT"}'],
    )
    ours = checksums(original)
    pg_execute(original, "UPDATE analysis_tasks SET result = '{\"rows\": 2}' WHERE task_id = 'drill-1'")
    assert checksums(original)["analysis_tasks"] != ours["analysis_tasks"]
    assert checksums(original)["analysis_tasks"][1] == ours["analysis_tasks"][1]


def test_a_name_with_a_quote_is_one_literal(pg_server: PgServer, target_dsn: str) -> None:
    pg_execute(target_dsn, 'CREATE TABLE "it\'s" (v int)')
    code, doc = migrate("checksum-sql", "--tables", "it's")
    assert code == 0, doc
    assert pg_execute(target_dsn, doc["queries"]["tables"][0]["sql"]) == [("it's", 0, "0")]


def test_no_table_is_refused() -> None:
    code, doc = migrate("checksum-sql", "--tables", ",")
    assert code == 1 and "names no table" in doc["error"]
