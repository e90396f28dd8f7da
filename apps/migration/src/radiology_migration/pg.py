"""PostgreSQL side: connections and checks that the target schema (made by the Django migrations) is in place."""

from __future__ import annotations

import psycopg
from radiology_contract.tables import TABLES, Table

from .normalise import quote_ident
from .outcome import MigrationError


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, autocommit=autocommit, application_name="radiology-migrate")
    except psycopg.Error as e:
        raise MigrationError(f"cannot connect to PostgreSQL ({describe_dsn(dsn)}): {e}") from e


def describe_dsn(dsn: str) -> str:
    """Host, port and database of a DSN without its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "unparseable DSN"
    return f"host={info.get('host', '?')} port={info.get('port', '5432')} dbname={info.get('dbname', '?')}"


def columns_of(conn: psycopg.Connection, table_name: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s ORDER BY ordinal_position",
        [table_name],
    ).fetchall()
    return [r[0] for r in rows]


def check_tables(conn: psycopg.Connection) -> None:
    problems: list[str] = []
    for table in TABLES:
        present = columns_of(conn, table.postgres)
        if not present:
            problems.append(f"table {table.postgres} is missing")
            continue
        missing = [c for c in table.columns if c not in present]
        if missing:
            problems.append(f"table {table.postgres} lacks column(s) {', '.join(missing)}")
    if problems:
        raise MigrationError(
            "the PostgreSQL schema does not match the contract (run the imaging_api Django migrations first): "
            + "; ".join(problems)
        )


def count(conn: psycopg.Connection, table: Table) -> int:
    row = conn.execute(f"SELECT count(*) FROM {quote_ident(table.postgres)}").fetchone()
    assert row is not None
    return int(row[0])


def column_list(table: Table) -> str:
    return ", ".join(quote_ident(c) for c in table.columns)
