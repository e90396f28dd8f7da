"""Workbook -> PostgreSQL, all or nothing (service used by `import_excel`).

The workbook is read and validated by the contract's one reader (radiology_contract.workbook), which also
names keys that are already in the database; then every table is loaded with COPY inside one transaction,
and each table's COUNT(*) is checked against what the file held before COMMIT. Any problem rolls
everything back.
"""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from psycopg import sql
from radiology_contract.import_summary import TableSummary
from radiology_contract.tables import TABLES, Table
from radiology_contract.workbook import WorkbookData, WorkbookError, read_workbook


class ImportFailedError(Exception):
    """The import did not happen; the database is as it was. `summary` tells how far each table got."""

    def __init__(self, message: str, summary: list["TableSummary"]) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class ImportReport:
    tables: list[TableSummary]
    read_seconds: float  # reading and validating the workbook
    load_seconds: float  # the transaction: COPY, COUNT(*) checks, COMMIT

    @property
    def rows(self) -> int:
        return sum(s.imported for s in self.tables)


def _count(table: Table) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.postgres)).as_string())
        return int(cursor.fetchone()[0])


def existing_keys() -> dict[str, set[str]]:
    """Every key already stored, per sheet kind (the reader reports clashes and resolves report references)."""
    keys: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            statement = sql.SQL("SELECT {} FROM {}").format(sql.Identifier(table.key), sql.Identifier(table.postgres))
            cursor.execute(statement.as_string())
            keys[table.kind] = {row[0] for row in cursor.fetchall()}
    return keys


def _copy(table: Table, rows: list[tuple[Any, ...]]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.postgres), sql.SQL(", ").join(map(sql.Identifier, table.columns))
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def import_workbook(workbook_path: Path) -> ImportReport:
    """Validate `workbook_path` and load it in one transaction, or raise and change nothing."""
    summary = [TableSummary(t.postgres) for t in TABLES]
    started = time.perf_counter()
    try:
        data = read_workbook(workbook_path, existing=existing_keys())
    except WorkbookError as e:
        for s, t in zip(summary, TABLES, strict=True):
            s.errors = sum(1 for p in e.problems if p.sheet == t.kind)
        raise
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    _insert_all(data, summary, read_seconds)
    return ImportReport(summary, read_seconds, time.perf_counter() - started)


def _insert_all(data: WorkbookData, summary: list[TableSummary], read_seconds: float) -> None:
    total_read = sum(len(data.rows(t.kind)) for t in TABLES) or 1
    try:
        with transaction.atomic():
            for s, table in zip(summary, TABLES, strict=True):
                rows = data.rows(table.kind)
                s.read = len(rows)
                started = time.perf_counter()
                before = _count(table)
                if rows:
                    _copy(table, rows)
                after = _count(table)
                if after - before != len(rows):
                    s.errors = 1
                    raise ImportFailedError(
                        f"{table.postgres}: COUNT(*) went from {before} to {after}, expected +{len(rows)} "
                        f"rows from {data.path}; nothing was imported",
                        summary,
                    )
                # reading/validation time is shared out by row share, so per-table times add up
                s.seconds = time.perf_counter() - started + read_seconds * len(rows) / total_read
    except BaseException:
        for s in summary:
            s.imported = 0
        raise
    for s in summary:
        s.imported = s.read
