"""The key gate: every table's key is present (not NULL) and distinct, on either side.

Where the side's own catalog shows a constraint that already guarantees it (a single-column PRIMARY KEY, or a
UNIQUE constraint on a NOT NULL column: DuckDB enforces both, PostgreSQL with a valid unique index), the gate
reads that constraint instead of scanning the table: the database would have refused any row that breaks it, and
the scan of a million keys costs seconds of the write freeze. Without such a constraint (a snapshot written
without keys, a table whose key was dropped) the gate counts NULL and repeated keys as before. Either way the
gate says, per side and table, how it knows (`proof`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import psycopg
from radiology_contract.tables import TABLES, Table

from .normalise import quote_ident

LISTED = 50


@dataclass
class KeyProblem:
    side: str  # "snapshot" or "postgres"
    table: str  # table kind
    key: str  # key column
    null_keys: int = 0
    duplicate_count: int = 0  # number of distinct keys that occur more than once
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # [{"key": k, "count": n}], first LISTED

    def describe(self) -> str:
        parts = []
        if self.null_keys:
            parts.append(f"{self.null_keys} row(s) with NULL {self.key}")
        if self.duplicate_count:
            listed = ", ".join(f"{d['key']} x{d['count']}" for d in self.duplicates)
            more = " …" if self.duplicate_count > len(self.duplicates) else ""
            parts.append(f"{self.duplicate_count} duplicated {self.key}(s): {listed}{more}")
        return f"{self.side} {self.table}: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "table": self.table,
            "key": self.key,
            "null_keys": self.null_keys,
            "duplicate_count": self.duplicate_count,
            "duplicates": self.duplicates,
        }


def _queries(table: Table, name: str) -> tuple[str, str]:
    key = quote_ident(table.key)
    summary = f"SELECT count(*) FILTER (WHERE {key} IS NULL), count({key}) - count(DISTINCT {key}) FROM {name}"
    listing = (
        f"SELECT {key}, count(*) AS n FROM {name} WHERE {key} IS NOT NULL GROUP BY {key} HAVING count(*) > 1 "
        f"ORDER BY n DESC, {key} LIMIT {LISTED}"
    )
    return summary, listing


SCANNED = "scan"


def enforced_duckdb(con: duckdb.DuckDBPyConnection, table: Table) -> str | None:
    """The DuckDB constraint that keeps `table`'s key present and distinct, named, or None."""
    rows = con.execute(
        "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = ? AND database_name = current_database() AND schema_name = current_schema() "
        "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'NOT NULL')",
        [table.duckdb],
    ).fetchall()
    on_key = {kind for kind, columns in rows if list(columns) == [table.key]}
    if "PRIMARY KEY" in on_key:
        return f"PRIMARY KEY ({table.key})"
    if {"UNIQUE", "NOT NULL"} <= on_key:
        return f"UNIQUE ({table.key}), NOT NULL"
    return None


# A constraint of the table whose index is valid, on the key column alone, that column NOT NULL.
_PG_ENFORCED = """
SELECT c.conname, c.contype FROM pg_constraint c
JOIN pg_index i ON i.indexrelid = c.conindid
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.conrelid = to_regclass(%s) AND c.contype IN ('p', 'u') AND cardinality(c.conkey) = 1
  AND a.attname = %s AND a.attnotnull AND i.indisvalid AND i.indpred IS NULL
ORDER BY c.contype, c.conname LIMIT 1
"""


def enforced_postgres(conn: psycopg.Connection, table: Table) -> str | None:
    """The PostgreSQL constraint that keeps `table`'s key present and distinct, named, or None."""
    row = conn.execute(_PG_ENFORCED, [quote_ident(table.postgres), table.key]).fetchone()
    if row is None:
        return None
    if row[1] == "p":
        return f"PRIMARY KEY {row[0]} ({table.key})"
    return f"UNIQUE {row[0]} ({table.key}), NOT NULL"


def _check(side: str, table: Table, fetch: Any, name: str) -> KeyProblem | None:
    summary, listing = _queries(table, name)
    nulls, extra = fetch(summary)[0]
    if not nulls and not extra:
        return None
    problem = KeyProblem(side, table.kind, table.key, null_keys=int(nulls))
    if extra:
        rows = fetch(listing)
        count_sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM {name} WHERE {quote_ident(table.key)} IS NOT NULL "
            f"GROUP BY {quote_ident(table.key)} HAVING count(*) > 1) d"
        )
        problem.duplicate_count = int(fetch(count_sql)[0][0])
        problem.duplicates = [{"key": str(k), "count": int(n)} for k, n in rows]
    return problem


def _side(
    side: str,
    enforced: Callable[[Table], str | None],
    fetch: Callable[[str], list[tuple[Any, ...]]],
    name: Callable[[Table], str],
    proof: dict[str, str] | None,
    *,
    tables: Sequence[Table],
) -> list[KeyProblem]:
    """One side's key problems; `proof` gets, per table, the constraint relied on or "scan"."""
    problems: list[KeyProblem] = []
    proof = {} if proof is None else proof
    for t in tables:
        proof[t.kind] = enforced(t) or SCANNED
        found = _check(side, t, fetch, quote_ident(name(t))) if proof[t.kind] == SCANNED else None
        problems += [found] if found else []
    return problems


def duplicate_keys_duckdb(
    con: duckdb.DuckDBPyConnection, proof: dict[str, str] | None = None, tables: Sequence[Table] = TABLES
) -> list[KeyProblem]:
    """The snapshot's key problems; `proof` gets, per table, the constraint relied on or "scan"."""
    return _side(
        "snapshot",
        lambda t: enforced_duckdb(con, t),
        lambda q: con.execute(q).fetchall(),
        lambda t: t.duckdb,
        proof,
        tables=tables,
    )


def duplicate_keys_postgres(
    conn: psycopg.Connection, proof: dict[str, str] | None = None, tables: Sequence[Table] = TABLES
) -> list[KeyProblem]:
    """PostgreSQL's key problems; `proof` gets, per table, the constraint relied on or "scan"."""
    return _side(
        "postgres",
        lambda t: enforced_postgres(conn, t),
        lambda q: conn.execute(q).fetchall(),
        lambda t: t.postgres,
        proof,
        tables=tables,
    )
