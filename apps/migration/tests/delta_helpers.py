"""Snapshot pairs for the delta-load tests: S1 and an S2 derived from it with known changes, both with metadata."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
from radiology_contract.tables import TABLES
from radiology_migration.snapshot import read_facts, write_meta

SOURCE = {"kind": "file", "database": "/var/lib/radiology/medical_imaging.duckdb"}


def with_meta(path: Path, snapshot_at: str, source: dict[str, Any] | None = None) -> Path:
    """Write <path>.meta.json as `radiology-migrate snapshot` does (same source unless told)."""
    write_meta(path, read_facts(path), source or SOURCE, snapshot_at)
    return path


def derive(s1: Path, s2: Path, statements: list[str], snapshot_at: str = "2026-01-01T01:00:00") -> Path:
    """S2: a copy of S1 changed by `statements` (DuckDB SQL), checkpointed, with its metadata."""
    shutil.copyfile(s1, s2)
    con = duckdb.connect(str(s2))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()
    return with_meta(s2, snapshot_at)


# Changes of every kind in every table; examinations with reports are changed (their reports are not), so the
# delta must delete and copy again a row that unchanged rows reference.
CHANGES = [
    # examinations: 3 changed (parents of reports), 2 added, 1 deleted with its one report
    "UPDATE medical_examinations_fact SET exam_description = 'amended', check_in_datetime = "
    "check_in_datetime + INTERVAL 1 SECOND WHERE exam_id IN "
    "(SELECT DISTINCT exam_id FROM exam_reports ORDER BY exam_id LIMIT 3)",
    "INSERT INTO medical_examinations_fact SELECT * REPLACE ('NEW-' || exam_id AS exam_id) "
    "FROM medical_examinations_fact ORDER BY exam_id LIMIT 2",
    "CREATE TEMP TABLE gone AS SELECT exam_id FROM exam_reports GROUP BY exam_id HAVING count(*) = 1 "
    "ORDER BY exam_id DESC LIMIT 1",
    "DELETE FROM exam_reports WHERE exam_id IN (SELECT exam_id FROM gone)",
    "DELETE FROM medical_examinations_fact WHERE exam_id IN (SELECT exam_id FROM gone)",
    # reports: NULL <-> '' (a change only the NULL marker tells), a longer text, one added on a new examination
    "UPDATE exam_reports SET impression = CASE WHEN impression IS NULL THEN '' ELSE NULL END "
    "WHERE report_id = (SELECT min(report_id) FROM exam_reports)",
    "UPDATE exam_reports SET report_text = report_text || ' addendum' "
    "WHERE report_id = (SELECT max(report_id) FROM exam_reports)",
    "INSERT INTO exam_reports SELECT * REPLACE ('NEW-' || report_id AS report_id, "
    "(SELECT min(exam_id) FROM medical_examinations_fact WHERE exam_id LIKE 'NEW-%') AS exam_id) "
    "FROM exam_reports ORDER BY report_id LIMIT 1",
    # analysis tasks: one whose JSON is only re-spaced, one removed, one tombstoned, one added
    "UPDATE analysis_tasks SET filters = replace(filters, ':', ': ') "
    "WHERE task_id = (SELECT task_id FROM analysis_tasks ORDER BY task_id DESC LIMIT 1 OFFSET 1)",
    "DELETE FROM analysis_tasks WHERE task_id = (SELECT max(task_id) FROM analysis_tasks)",
    "UPDATE analysis_tasks SET deleted_at = TIMESTAMP '2026-01-01 00:30:00' "
    "WHERE task_id = (SELECT min(task_id) FROM analysis_tasks WHERE deleted_at IS NULL)",
    "INSERT INTO analysis_tasks SELECT * REPLACE ('00000000-0000-4000-8000-000000000001' AS task_id, "
    "'added after S1' AS name, NULL AS deleted_at) FROM analysis_tasks ORDER BY task_id LIMIT 1",
]
EXPECTED = {
    "examinations": {"added": 2, "changed": 3, "deleted": 1},
    "reports": {"added": 1, "changed": 2, "deleted": 1},
    "analysis_tasks": {"added": 1, "changed": 2, "deleted": 1},
}


def every_row(pg_rows: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered by key (to compare two PostgreSQL databases exactly)."""
    return {t.kind: pg_rows(f"SELECT * FROM {t.postgres} ORDER BY {t.key}") for t in TABLES}
