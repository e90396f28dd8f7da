"""`load`: one transaction, re-runnable, refuses to destroy newer writes, leaves the schema as Django made it."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import duckdb
import psycopg
import pytest
from mig_helpers import migrate, pg_execute
from radiology_contract.locks import LOAD_LOCK_KEY
from radiology_contract.tables import TABLES

SCHEMA_SQL = (
    "SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
    "UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
)


def counts(dsn: str) -> dict[str, int]:
    return {t.kind: pg_execute(dsn, f"SELECT count(*) FROM {t.postgres}")[0][0] for t in TABLES}


def snapshot_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t.kind: con.execute(f"SELECT count(*) FROM {t.duckdb}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def unconstrained_copy(source: Path, dest: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB file with the same rows as `source` but no keys or foreign keys (to seed broken data)."""
    con = duckdb.connect(str(dest))
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    for t in TABLES:
        con.execute(f"CREATE TABLE {t.duckdb} AS SELECT * FROM src.{t.duckdb}")
    con.execute("DETACH src")
    return con


def test_load_verify_and_rerun_give_the_same_rows(snapshot: Path, target_dsn: str) -> None:
    code, doc = migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 0, doc
    expected = snapshot_counts(snapshot)
    assert doc["loaded"] is True and doc["target_counts_after"] == expected
    assert doc["rows"] == sum(expected.values()) and doc["rows_per_second"] > 0
    assert migrate("verify", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0
    code, again = migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 0, again
    assert again["target_counts_before"] == expected and counts(target_dsn) == expected
    code, verified = migrate("verify", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 0 and [g["gate"] for g in verified["gates"]] == ["counts", "keys", "checksums"]


def test_the_schema_django_made_is_intact_after_the_load(snapshot: Path, target_dsn: str) -> None:
    before = pg_execute(target_dsn, SCHEMA_SQL)
    assert any("gin_trgm_ops" in row[2] for row in before)  # the real Django schema, trigram indexes included
    assert migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0
    assert pg_execute(target_dsn, SCHEMA_SQL) == before


def test_index_workers_limit_the_rebuild_of_this_load_only(snapshot: Path, target_dsn: str) -> None:
    server = pg_execute(target_dsn, "SELECT current_setting('max_parallel_maintenance_workers')::int")[0][0]
    code, doc = migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn, "--index-workers", "0")
    assert code == 0, doc
    assert doc["index_workers"] == 0 and server > 0  # stage 1's setting, where the server allows parallel builds
    code, doc = migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 0, doc
    assert doc["index_workers"] == server  # the transaction's setting did not outlive it


def test_index_workers_must_be_a_count(snapshot: Path, target_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn, "--index-workers", "-1")
    assert exit_info.value.code == 2
    assert "--index-workers: must be 0 or more: -1" in capsys.readouterr().err


def test_check_mode_reports_and_changes_nothing(snapshot: Path, target_dsn: str) -> None:
    code, doc = migrate("load", "--check", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 0, doc
    assert doc["check_mode"] is True and "loaded" not in doc
    assert doc["plan"]["load_rows"] == snapshot_counts(snapshot)
    assert doc["plan"]["rebuild"]["indexes"]  # it names the indexes it would rebuild
    assert counts(target_dsn) == {t.kind: 0 for t in TABLES}


def test_refuses_to_overwrite_writes_made_on_the_new_service(snapshot: Path, target_dsn: str) -> None:
    assert migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0
    new_task = str(uuid.uuid4())
    pg_execute(
        target_dsn,
        "INSERT INTO analysis_tasks (task_id, name, task_type, filters, status, result, created_at, completed_at) "
        "SELECT %s, 'made on the new service', task_type, filters, status, result, now()::timestamp(0), "
        "now()::timestamp(0) FROM analysis_tasks LIMIT 1",
        [new_task],
    )
    deleted = pg_execute(
        target_dsn, "SELECT task_id FROM analysis_tasks WHERE deleted_at IS NULL AND task_id <> %s LIMIT 1", [new_task]
    )[0][0]
    pg_execute(target_dsn, "UPDATE analysis_tasks SET deleted_at = now()::timestamp(0) WHERE task_id = %s", [deleted])
    before = counts(target_dsn)

    code, doc = migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 1
    assert new_task in doc["error"] and deleted in doc["error"]
    assert doc["conflicts"]["extra_keys"] == {"analysis_tasks": [new_task]}
    assert doc["conflicts"]["tasks_deleted_on_target"] == [deleted]
    assert counts(target_dsn) == before  # nothing changed

    code, check = migrate("load", "--check", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 1 and new_task in check["error"]

    code, forced = migrate("load", "--force-overwrite", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 0, forced
    assert counts(target_dsn) == snapshot_counts(snapshot)
    assert migrate("verify", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0


def test_a_failure_late_in_the_load_leaves_the_target_as_it_was(
    snapshot: Path, target_dsn: str, tmp_path: Path
) -> None:
    assert migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0
    broken = tmp_path / "broken.duckdb"
    con = unconstrained_copy(snapshot, broken)
    # A report whose examination does not exist: every COPY succeeds, the foreign key rebuild then fails.
    con.execute(
        "INSERT INTO exam_reports SELECT 'RP-ORPHAN', 'EX-MISSING', report_text, impression, "
        "reporting_physician, report_datetime FROM exam_reports LIMIT 1"
    )
    con.close()
    code, doc = migrate("load", "--snapshot", str(broken), "--dsn", target_dsn)
    assert code == 1
    assert "foreign key" in doc["error"].lower() or "violates" in doc["error"].lower(), doc["error"]
    code, verified = migrate("verify", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 0, verified["error"]  # still exactly the first snapshot


def test_missing_schema_is_named(snapshot: Path, pg_server) -> None:
    dsn = pg_server.create_database("no_schema")
    code, doc = migrate("load", "--snapshot", str(snapshot), "--dsn", dsn)
    assert code == 1
    assert "table examinations is missing" in doc["error"] and "Django migrations" in doc["error"]


def test_a_second_load_waits_for_the_lock_and_gives_up(snapshot: Path, target_dsn: str) -> None:
    with psycopg.connect(target_dsn) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [LOAD_LOCK_KEY])
        code, doc = migrate("load", "--lock-timeout", "1", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 1 and "migration lock" in doc["error"]
    assert counts(target_dsn) == {t.kind: 0 for t in TABLES}


def test_duplicate_keys_in_the_snapshot_are_refused_by_name(snapshot: Path, target_dsn: str, tmp_path: Path) -> None:
    dup = tmp_path / "dup.duckdb"
    con = unconstrained_copy(snapshot, dup)
    victim, twin = con.execute(
        "SELECT exam_id FROM medical_examinations_fact WHERE exam_id NOT IN (SELECT exam_id FROM exam_reports) "
        "ORDER BY exam_id LIMIT 2"
    ).fetchall()
    con.execute("UPDATE medical_examinations_fact SET exam_id = ? WHERE exam_id = ?", [twin[0], victim[0]])
    con.close()
    code, doc = migrate("load", "--snapshot", str(dup), "--dsn", target_dsn)
    assert code == 1
    assert f"{twin[0]} x2" in doc["error"]
    assert counts(target_dsn) == {t.kind: 0 for t in TABLES}


def test_missing_snapshot_is_named(target_dsn: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.duckdb"
    code, doc = migrate("load", "--snapshot", str(missing), "--dsn", target_dsn)
    assert code == 1 and str(missing) in doc["error"]


def test_a_bad_value_in_the_middle_of_a_copy_fails_fast_and_changes_nothing(
    snapshot: Path, target_dsn: str, tmp_path: Path
) -> None:
    assert migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0
    bad = tmp_path / "bad.duckdb"
    con = unconstrained_copy(snapshot, bad)
    key = con.execute("SELECT exam_id FROM medical_examinations_fact ORDER BY exam_id LIMIT 1 OFFSET 40").fetchone()[0]
    con.execute("UPDATE medical_examinations_fact SET exam_status = 'bogus' WHERE exam_id = ?", [key])
    con.close()
    started = time.monotonic()
    code, doc = migrate("load", "--snapshot", str(bad), "--dsn", target_dsn)
    assert code == 1 and "rolled back" in doc["error"] and "check constraint" in doc["error"].lower()
    assert time.monotonic() - started < 30  # neither end of the pipe is left waiting for the other
    assert migrate("verify", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0
