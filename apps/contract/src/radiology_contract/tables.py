"""Where each record kind is stored on each backend.

Column names and order are the field names and order of `fields`; only the table names differ. The
migration and the verification gates iterate over TABLES, so a new table is added here once.
"""

from __future__ import annotations

from dataclasses import dataclass

from .fields import (
    ANALYSIS_TASK_FIELDS,
    ANALYSIS_TASK_KEY,
    EXAMINATION_FIELDS,
    EXAMINATION_KEY,
    REPORT_FIELDS,
    REPORT_KEY,
    Field,
)


@dataclass(frozen=True)
class Table:
    kind: str  # logical name used in reports and CLI output
    duckdb: str  # table in the legacy DuckDB file
    postgres: str  # table in the new PostgreSQL database (Django models set db_table to this)
    fields: tuple[Field, ...]
    key: str

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


EXAMINATIONS = Table("examinations", "medical_examinations_fact", "examinations", EXAMINATION_FIELDS, EXAMINATION_KEY)
REPORTS = Table("reports", "exam_reports", "exam_reports", REPORT_FIELDS, REPORT_KEY)
ANALYSIS_TASKS = Table("analysis_tasks", "analysis_tasks", "analysis_tasks", ANALYSIS_TASK_FIELDS, ANALYSIS_TASK_KEY)

# Load order respects foreign keys (reports reference examinations).
TABLES: tuple[Table, ...] = (EXAMINATIONS, REPORTS, ANALYSIS_TASKS)
