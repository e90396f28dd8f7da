"""Workbook -> DuckDB, all or nothing.

The workbook is read and validated first (radiology_contract.workbook, which also reports keys already in
the database); then every table is loaded inside one transaction through a typed CSV staging file (DuckDB's
bulk path), and each table's COUNT(*) is checked against what the file held before COMMIT. Any problem
rolls everything back; a database file created by a failed import is removed.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from radiology_contract.duckdb_schema import DUCKDB_TYPES
from radiology_contract.import_summary import TableSummary
from radiology_contract.tables import TABLES, Table
from radiology_contract.workbook import WorkbookData, WorkbookError, read_workbook

from .database import StartupError, count, open_or_create


class ImportFailedError(Exception):
    """The import did not happen; the database is as it was. `summary` tells how far each table got."""

    def __init__(self, message: str, summary: list[TableSummary]) -> None:
        super().__init__(message)
        self.summary = summary


def _csv_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return value


def _stage(rows: list[tuple[Any, ...]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for row in rows:
            writer.writerow([_csv_value(v) for v in row])


def _load(cur: duckdb.DuckDBPyConnection, table: Table, rows: list[tuple[Any, ...]], staging: Path) -> None:
    _stage(rows, staging)
    columns = "{" + ", ".join(f"'{f.name}': '{DUCKDB_TYPES[f.type]}'" for f in table.fields) + "}"
    cur.execute(
        f"INSERT INTO {table.duckdb} ({', '.join(table.columns)}) "
        f"SELECT * FROM read_csv(?, auto_detect = false, header = false, delim = ',', quote = '\"', "
        f"escape = '\"', new_line = '\\n', nullstr = '', columns = {columns})",
        [str(staging)],
    )


def existing_keys(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    return {t.kind: {r[0] for r in con.execute(f"SELECT {t.key} FROM {t.duckdb}").fetchall()} for t in TABLES}


@dataclass
class ImportReport:
    tables: list[TableSummary]
    read_seconds: float  # reading and validating the workbook
    load_seconds: float  # the transaction: staging, INSERT, COUNT(*) checks, COMMIT

    @property
    def rows(self) -> int:
        return sum(s.imported for s in self.tables)


def import_workbook(db_path: Path, workbook_path: Path) -> ImportReport:
    """Validate `workbook_path` and load it into `db_path` in one transaction, or raise and change nothing."""
    created = not db_path.exists()
    try:
        con = open_or_create(db_path)
    except StartupError as e:
        raise ImportFailedError(str(e), []) from e
    summary = [TableSummary(t.duckdb) for t in TABLES]
    try:
        try:
            started = time.perf_counter()
            data = read_workbook(workbook_path, existing=existing_keys(con))
            read_seconds = time.perf_counter() - started
        except WorkbookError as e:
            for s, t in zip(summary, TABLES, strict=True):
                s.errors = sum(1 for p in e.problems if p.sheet == t.kind)
            raise
        started = time.perf_counter()
        _insert_all(con, data, summary, read_seconds)
        load_seconds = time.perf_counter() - started
    except BaseException:
        con.close()
        if created:
            db_path.unlink(missing_ok=True)
            Path(f"{db_path}.wal").unlink(missing_ok=True)
        raise
    con.execute("CHECKPOINT")
    con.close()
    return ImportReport(summary, read_seconds, load_seconds)


def _insert_all(
    con: duckdb.DuckDBPyConnection, data: WorkbookData, summary: list[TableSummary], read_seconds: float
) -> None:
    total_read = sum(len(data.rows(t.kind)) for t in TABLES) or 1
    with tempfile.TemporaryDirectory(prefix="legacy-import-") as tmp:
        con.execute("BEGIN TRANSACTION")
        try:
            for s, table in zip(summary, TABLES, strict=True):
                rows = data.rows(table.kind)
                s.read = len(rows)
                started = time.perf_counter()
                before = count(con, table)
                if rows:
                    _load(con, table, rows, Path(tmp) / f"{table.duckdb}.csv")
                after = count(con, table)
                if after - before != len(rows):
                    s.errors = 1
                    raise ImportFailedError(
                        f"{table.duckdb}: COUNT(*) went from {before} to {after}, expected +{len(rows)} "
                        f"rows from {data.path}; nothing was imported",
                        summary,
                    )
                # reading/validation time is shared out by row share, so per-table times add up
                s.seconds = time.perf_counter() - started + read_seconds * len(rows) / total_read
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            for s in summary:
                s.imported = 0
            raise
    for s in summary:
        s.imported = s.read
