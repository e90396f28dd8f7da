"""Opening the DuckDB file: refuse loudly when it is missing, corrupt or not the contract's schema."""

from __future__ import annotations

from pathlib import Path

import duckdb
from radiology_contract.duckdb_schema import create_schema, schema_problems
from radiology_contract.tables import TABLES, Table


class StartupError(Exception):
    """The database cannot be served. The message names the file and what is wrong with it."""


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")
    return con


def open_existing(path: Path) -> duckdb.DuckDBPyConnection:
    """Open a database that must already exist with the contract tables."""
    if not path.exists():
        raise StartupError(f"database {path} does not exist (create it with `legacy-api import` or `generate`)")
    if not path.is_file():
        raise StartupError(f"database {path} is not a file")
    if path.stat().st_size == 0:
        raise StartupError(f"database {path} is an empty file, not a DuckDB database")
    try:
        con = connect(path)
    except duckdb.Error as e:
        raise StartupError(f"database {path} cannot be opened as DuckDB: {e}") from e
    try:
        problems = schema_problems(con)
    except duckdb.Error as e:
        con.close()
        raise StartupError(f"database {path} cannot be read: {e}") from e
    if problems:
        con.close()
        raise StartupError(f"database {path} does not hold the contract schema: {'; '.join(problems)}")
    return con


def open_or_create(path: Path) -> duckdb.DuckDBPyConnection:
    """For the importer: create the file and tables if needed, refuse a file with a different schema."""
    try:
        con = connect(path)
    except duckdb.Error as e:
        raise StartupError(f"database {path} cannot be opened as DuckDB: {e}") from e
    create_schema(con)
    problems = schema_problems(con)
    if problems:
        con.close()
        raise StartupError(f"database {path} does not hold the contract schema: {'; '.join(problems)}")
    return con


def count(con: duckdb.DuckDBPyConnection, table: Table, where: str = "") -> int:
    row = con.execute(f"SELECT count(*) FROM {table.duckdb} {where}").fetchone()
    assert row is not None
    return int(row[0])


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t.kind: count(con, t) for t in TABLES}


def checksum(con: duckdb.DuckDBPyConnection, table: Table) -> tuple[int, str | None]:
    """Row count and an order-independent digest of every column: equal before/after means unchanged."""
    columns = ", ".join(table.columns)
    row = con.execute(
        f"SELECT count(*), CAST(sum(CAST(hash({columns}) AS HUGEINT)) AS VARCHAR) FROM {table.duckdb}"
    ).fetchone()
    assert row is not None
    return int(row[0]), row[1]
