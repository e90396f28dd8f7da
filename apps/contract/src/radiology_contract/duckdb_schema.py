"""The legacy DuckDB table layout, derived from the record schemas.

Columns are exactly the contract fields in order, with PRIMARY KEY on the key, NOT NULL on required fields
and CHECK constraints for choices, ranges and lengths, so the database refuses what the contract refuses.
The legacy service, its importer and the synthetic generator create tables only through this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fields import Field, FieldType
from .tables import EXAMINATIONS, REPORTS, TABLES, Table

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

DUCKDB_TYPES = {
    FieldType.STR: "VARCHAR",
    FieldType.TEXT: "VARCHAR",
    FieldType.INT: "INTEGER",
    FieldType.DATETIME: "TIMESTAMP",
    FieldType.JSON: "VARCHAR",  # JSON text; the API parses it back into an object
}

# child table -> (column, parent table): reports belong to an examination.
FOREIGN_KEYS: dict[str, tuple[str, Table]] = {REPORTS.duckdb: ("exam_id", EXAMINATIONS)}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def column_ddl(f: Field, key: str) -> str:
    parts = [f.name, DUCKDB_TYPES[f.type]]
    if f.name == key:
        parts.append("PRIMARY KEY")
    elif f.required:
        parts.append("NOT NULL")
    checks: list[str] = []
    if f.choices:
        checks.append(f"{f.name} IN ({', '.join(_quote(c) for c in f.choices)})")
    if f.min_value is not None:
        checks.append(f"{f.name} >= {f.min_value}")
    if f.max_value is not None:
        checks.append(f"{f.name} <= {f.max_value}")
    if f.max_length is not None and f.type in (FieldType.STR, FieldType.TEXT):
        checks.append(f"length({f.name}) <= {f.max_length}")
    if checks:
        parts.append(f"CHECK ({' AND '.join(checks)})")
    return " ".join(parts)


def table_ddl(table: Table) -> str:
    lines = [column_ddl(f, table.key) for f in table.fields]
    if table.duckdb in FOREIGN_KEYS:
        column, parent = FOREIGN_KEYS[table.duckdb]
        lines.append(f"FOREIGN KEY ({column}) REFERENCES {parent.duckdb} ({parent.key})")
    body = ",\n  ".join(lines)
    return f"CREATE TABLE IF NOT EXISTS {table.duckdb} (\n  {body}\n)"


def create_statements() -> list[str]:
    """CREATE TABLE IF NOT EXISTS for every table, in foreign-key order."""
    return [table_ddl(t) for t in TABLES]


def create_schema(con: DuckDBPyConnection) -> None:
    """Create every table on a DuckDB connection (idempotent)."""
    for statement in create_statements():
        con.execute(statement)


def schema_problems(con: DuckDBPyConnection) -> list[str]:
    """What differs between the tables in a DuckDB database and the contract (empty list: it matches)."""
    problems: list[str] = []
    for table in TABLES:
        rows = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main' "
            "ORDER BY ordinal_position",
            [table.duckdb],
        ).fetchall()
        columns = tuple(r[0] for r in rows)
        if not columns:
            problems.append(f"table {table.duckdb} is missing")
        elif columns != table.columns:
            expected = list(table.columns)
            problems.append(f"table {table.duckdb} has columns {list(columns)}, the contract says {expected}")
    return problems
