"""Sample databases for the benchmark and the tests: contract-shaped tables and a fast DuckDB SQL generator.

The real legacy database is created by apps/legacy_api and the real PostgreSQL schema by the imaging_api
Django migrations; these helpers only build the same contract columns when a test or the benchmark needs a
database of a given size quickly (1,000,000 examinations in a few seconds, generated inside DuckDB).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
from radiology_contract.fields import EXAM_SOURCES, EXAM_STATUSES, GENDERS, MODALITIES, TASK_TYPES, FieldType
from radiology_contract.tables import ANALYSIS_TASKS, EXAMINATIONS, REPORTS, TABLES, Table

from .normalise import quote_ident

_DUCK_TYPES = {
    FieldType.STR: "VARCHAR",
    FieldType.TEXT: "VARCHAR",
    FieldType.INT: "INTEGER",
    FieldType.DATETIME: "TIMESTAMP",
    FieldType.JSON: "VARCHAR",
}
_PG_TYPES = {
    FieldType.STR: "varchar",
    FieldType.TEXT: "text",
    FieldType.INT: "integer",
    FieldType.DATETIME: "timestamp without time zone",
    FieldType.JSON: "text",
}


def _columns(table: Table, types: dict[FieldType, str], postgres: bool) -> str:
    cols = []
    for f in table.fields:
        kind = types[f.type]
        if postgres and f.type is FieldType.STR and f.max_length:
            kind = f"varchar({f.max_length})"
        cols.append(f"{quote_ident(f.name)} {kind}{' NOT NULL' if f.required else ''}")
    return ", ".join(cols)


def create_duckdb_tables(con: duckdb.DuckDBPyConnection, *, keys: bool = True) -> None:
    """Contract tables in DuckDB; keys=False leaves out the primary keys (to seed duplicates in tests)."""
    for t in TABLES:
        pk = f", PRIMARY KEY ({quote_ident(t.key)})" if keys else ""
        con.execute(f"CREATE TABLE {quote_ident(t.duckdb)} ({_columns(t, _DUCK_TYPES, False)}{pk})")


def create_postgres_tables(conn: psycopg.Connection) -> None:
    """Contract tables in PostgreSQL with keys, a foreign key and a few indexes (when Django's are absent)."""
    for t in TABLES:
        conn.execute(
            f"CREATE TABLE {quote_ident(t.postgres)} ({_columns(t, _PG_TYPES, True)}, "
            f"CONSTRAINT {quote_ident(t.postgres + '_pkey')} PRIMARY KEY ({quote_ident(t.key)}))"
        )
    conn.execute(
        f"ALTER TABLE {quote_ident(REPORTS.postgres)} ADD CONSTRAINT reports_exam_fk FOREIGN KEY (exam_id) "
        f"REFERENCES {quote_ident(EXAMINATIONS.postgres)} (exam_id)"
    )
    conn.execute(f"CREATE INDEX exams_order_idx ON {quote_ident(EXAMINATIONS.postgres)} (order_datetime DESC, exam_id)")
    conn.execute(f"CREATE INDEX reports_exam_idx ON {quote_ident(REPORTS.postgres)} (exam_id)")


def _pick(values: tuple[str, ...], expr: str) -> str:
    items = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"([{items}])[1 + ({expr}) % {len(values)}]"


ITEMS = (
    "Chest X-ray PA",
    "CT Head without contrast",
    "MRI Lumbar Spine",
    "Ultrasound Abdomen",
    "Mammography bilateral",
    "CT Thorax (contrast)",
    "MRI Knee – left",
    "PET-CT whole body",
)


def fill_duckdb(con: duckdb.DuckDBPyConnection, examinations: int, seed: int = 7, tasks: int = 20) -> dict[str, int]:
    """Insert `examinations` rows (and a report for every certified exam, and `tasks` tasks) with pure SQL."""
    h = f"CAST(hash(i * 2654435761 + {seed}) % 4000000007 AS BIGINT)"
    exams = quote_ident(EXAMINATIONS.duckdb)
    con.execute(
        f"""
        INSERT INTO {exams}
        SELECT
            'EX' || lpad(CAST(i AS VARCHAR), 9, '0'),
            'MRN' || lpad(CAST({h} % 400000 AS VARCHAR), 7, '0'),
            CASE WHEN {h} % 17 = 0 THEN NULL ELSE CAST({h} % 100 AS INTEGER) END,
            CASE WHEN {h} % 23 = 0 THEN NULL ELSE {_pick(GENDERS, f"{h} // 7")} END,
            {_pick(EXAM_SOURCES, f"{h} // 11")},
            {_pick(ITEMS, f"{h} // 13")},
            CASE WHEN {h} % 5 = 0 THEN NULL WHEN {h} % 31 = 0 THEN '' ELSE
                'Indication: follow-up "' || CAST({h} % 1000 AS VARCHAR) || '" – patient''s history, 50% chance_' END,
            {_pick(MODALITIES, f"{h} // 19")},
            'Scanner ' || CAST({h} % 12 AS VARCHAR),
            {_pick(EXAM_STATUSES, f"{h} // 29")},
            TIMESTAMP '2022-01-01 00:00:00' + to_seconds(CAST({h} % 94608000 AS BIGINT)),
            CASE WHEN {h} % 3 = 0 THEN NULL ELSE
                TIMESTAMP '2022-01-01 00:00:00' + to_seconds(CAST({h} % 94608000 + 900 AS BIGINT)) END,
            CASE WHEN {h} % 2 = 0 THEN NULL ELSE
                TIMESTAMP '2022-01-01 00:00:00' + to_seconds(CAST({h} % 94608000 + 86400 AS BIGINT)) END,
            CASE WHEN {h} % 2 = 0 THEN NULL ELSE 'Dr. Müller ' || CAST({h} % 40 AS VARCHAR) END
        FROM range(1, {examinations} + 1) r(i)
        """
    )
    con.execute(
        f"""
        INSERT INTO {quote_ident(REPORTS.duckdb)}
        SELECT 'RP' || substr(exam_id, 3), exam_id,
               'Findings for ' || exam_item || E'.\\nNo acute abnormality; "stable".',
               CASE WHEN hash(exam_id) % 4 = 0 THEN NULL ELSE 'Impression: normal' END,
               certified_physician,
               report_certified_datetime
        FROM {exams} WHERE report_certified_datetime IS NOT NULL
        """
    )
    for n in range(tasks):
        task_type = TASK_TYPES[n % len(TASK_TYPES)]
        deleted = "TIMESTAMP '2024-06-02 10:00:00'" if n % 5 == 4 else "NULL"
        con.execute(
            f"INSERT INTO {quote_ident(ANALYSIS_TASKS.duckdb)} VALUES "
            f"(uuid()::VARCHAR, ?, ?, ?, 'completed', ?, TIMESTAMP '2024-06-01 09:00:00' + to_seconds({n}), "
            f"TIMESTAMP '2024-06-01 09:00:00' + to_seconds({n}), {deleted})",
            [
                f"Task {n} – “quarterly”",
                task_type,
                '{"q": null, "exam_status": "completed", "exam_source": null, "exam_item": null, '
                '"modality": null, "date_from": null, "date_to": null}',
                '{"total": 3, "buckets": [{"key": "a", "count": 2}, {"key": "b", "count": 1}]}',
            ],
        )
    return {t.kind: int(con.execute(f"SELECT count(*) FROM {quote_ident(t.duckdb)}").fetchone()[0]) for t in TABLES}  # type: ignore[index]


def make_duckdb(path: Path, examinations: int, seed: int = 7, tasks: int = 20, keys: bool = True) -> dict[str, int]:
    """A new DuckDB file with contract tables and generated rows; returns the row count per table."""
    con = duckdb.connect(str(path))
    try:
        create_duckdb_tables(con, keys=keys)
        counts = fill_duckdb(con, examinations, seed=seed, tasks=tasks)
        con.execute("CHECKPOINT")
        return counts
    finally:
        con.close()
