"""Reading a DuckDB snapshot: open it read-only and check it holds the contract's tables and columns."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
from radiology_contract.tables import TABLES, Table

from .normalise import quote_ident
from .outcome import MigrationError


def threads_beside_the_service() -> int:
    """DuckDB threads for the migration's work on the legacy host: every core this process may use but one.

    The legacy service keeps serving users while the migration reads the snapshots (stage 1's load and verify,
    stage 2's delta and verify under the freeze), and it runs at a lower priority (radiology_service_nice): with
    DuckDB on every core its users' requests wait while each step runs, and at a million examinations under 50
    users the queued ones come close to their clients' timeout. With one core left the verify takes no longer:
    PostgreSQL's side is the slower one (on the lab at a million, idle: 5.9 s for PostgreSQL's checksums of the
    examinations and reports, 2.5 s for DuckDB's on one thread, 1.2 s on two)."""
    return max(1, len(os.sched_getaffinity(0)) - 1)


def connect(database: str = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for the migration's work, on `threads_beside_the_service()` threads."""
    return duckdb.connect(database, read_only=read_only, config={"threads": threads_beside_the_service()})


def open_snapshot(path: str | Path) -> duckdb.DuckDBPyConnection:
    p = Path(path)
    if not p.is_file():
        raise MigrationError(f"snapshot {p} does not exist")
    if Path(str(p) + ".wal").exists():
        raise MigrationError(f"snapshot {p} has a write-ahead log {p}.wal: it was not checkpointed, take it again")
    try:
        con = connect(str(p), read_only=True)
    except duckdb.Error as e:
        raise MigrationError(f"snapshot {p} is not a readable DuckDB file: {e}") from e
    check_tables(con, p)
    return con


def columns_of(con: duckdb.DuckDBPyConnection, table_name: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main' "
        "ORDER BY ordinal_position",
        [table_name],
    ).fetchall()
    return [r[0] for r in rows]


def check_tables(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    problems: list[str] = []
    for table in TABLES:
        present = columns_of(con, table.duckdb)
        if not present:
            problems.append(f"table {table.duckdb} is missing")
            continue
        missing = [c for c in table.columns if c not in present]
        if missing:
            problems.append(f"table {table.duckdb} lacks column(s) {', '.join(missing)}")
    if problems:
        raise MigrationError(f"snapshot {path} does not match the contract: " + "; ".join(problems))


def count(con: duckdb.DuckDBPyConnection, table: Table) -> int:
    row = con.execute(f"SELECT count(*) FROM {quote_ident(table.duckdb)}").fetchone()
    assert row is not None
    return int(row[0])


def column_list(table: Table) -> str:
    return ", ".join(quote_ident(c) for c in table.columns)
