"""The bench's delta figure: after the full load of S1, a second snapshot S2 with N rows changed, added or deleted,
applied with `load --since` and verified, so the stage-2 (frozen) time is printed next to the full load's.

Half of the N rows are changed examinations (half of those with a report, so the deferred foreign key is
exercised), a fifth added examinations, a fifth changed reports, a tenth deleted reports.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb

from . import delta, verify
from .outcome import MigrationError, Outcome
from .snapshot import read_facts, write_meta


def _meta(path: Path, source: Path, snapshot_at: dt.datetime) -> None:
    write_meta(path, read_facts(path), {"kind": "bench", "database": str(source)}, snapshot_at.isoformat())


def derive(s1: Path, s2: Path, rows: int) -> dict[str, int]:
    """S2: a copy of S1 with `rows` rows changed, added or deleted (metadata written for both)."""
    now = dt.datetime.now().replace(microsecond=0)
    _meta(s1, s1, now - dt.timedelta(minutes=1))
    shutil.copyfile(s1, s2)
    parts = {
        "examinations_changed": rows // 2,
        "examinations_added": rows // 5,
        "reports_changed": rows // 5,
        "reports_deleted": rows - rows // 2 - 2 * (rows // 5),
    }
    con = duckdb.connect(str(s2))
    try:
        half = parts["examinations_changed"] // 2
        con.execute(
            "UPDATE medical_examinations_fact SET exam_description = coalesce(exam_description, '') || ' (amended)' "
            "WHERE exam_id IN (SELECT exam_id FROM exam_reports ORDER BY md5(exam_id) LIMIT ?) "
            "OR exam_id IN (SELECT exam_id FROM medical_examinations_fact WHERE exam_id NOT IN "
            "(SELECT exam_id FROM exam_reports) ORDER BY md5(exam_id) LIMIT ?)",
            [half, parts["examinations_changed"] - half],
        )
        con.execute(
            "INSERT INTO medical_examinations_fact SELECT * REPLACE ('D-' || exam_id AS exam_id) "
            "FROM medical_examinations_fact ORDER BY md5(exam_id || 'added') LIMIT ?",
            [parts["examinations_added"]],
        )
        con.execute(
            "UPDATE exam_reports SET impression = coalesce(impression, '') || ' addendum' "
            "WHERE report_id IN (SELECT report_id FROM exam_reports ORDER BY md5(report_id) LIMIT ?)",
            [parts["reports_changed"]],
        )
        con.execute(
            "DELETE FROM exam_reports WHERE report_id IN "
            "(SELECT report_id FROM exam_reports ORDER BY md5(report_id || 'deleted') LIMIT ?)",
            [parts["reports_deleted"]],
        )
    finally:
        con.close()
    _meta(s2, s1, now)
    return parts


def run(s1: Path, s2: Path, target: str, rows: int) -> dict[str, Any]:
    """Derive S2, apply it to `target` (which holds S1) with the delta load, verify it; the figures."""
    t0 = time.perf_counter()
    parts = derive(s1, s2, rows)
    derive_s = time.perf_counter() - t0
    outcome = Outcome("load")
    delta.run(outcome, s2, s1, target)
    if not outcome.ok:
        raise MigrationError(f"delta load failed: {outcome.error}")
    checked = Outcome("verify")
    verify.run(checked, s2, target)
    if not checked.ok:
        raise MigrationError(f"verify after the delta load failed: {checked.error}")
    return {
        "delta_rows_asked": rows,
        "delta_changes": parts,
        "delta_derive_seconds": round(derive_s, 3),
        "delta": outcome.data["delta"],
        "delta_rows_applied": outcome.data["rows_applied"],
        "delta_seconds": outcome.data["seconds"],
        "delta_rows_per_second": outcome.data["rows_per_second"],
        "delta_snapshot_rows_per_second": outcome.data["snapshot_rows_per_second"],
        "delta_timings": outcome.data.get("timings"),
        "verify_after_delta_seconds": checked.data["seconds"],
    }
