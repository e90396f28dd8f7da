"""Reading a DuckDB snapshot: open it read-only and check it holds the contract's tables and columns."""

from __future__ import annotations

from pathlib import Path

import duckdb
from radiology_contract.tables import TABLES, Table

from .normalise import quote_ident
from .outcome import MigrationError


def open_snapshot(path: str | Path) -> duckdb.DuckDBPyConnection:
    p = Path(path)
    if not p.is_file():
        raise MigrationError(f"snapshot {p} does not exist")
    if Path(str(p) + ".wal").exists():
        raise MigrationError(f"snapshot {p} has a write-ahead log {p}.wal: it was not checkpointed, take it again")
    try:
        con = duckdb.connect(str(p), read_only=True)
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
