"""The key gate: every table's key is present (not NULL) and distinct, on either side."""

from __future__ import annotations

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


def duplicate_keys_duckdb(con: duckdb.DuckDBPyConnection) -> list[KeyProblem]:
    found = (_check("snapshot", t, lambda q: con.execute(q).fetchall(), quote_ident(t.duckdb)) for t in TABLES)
    return [p for p in found if p is not None]


def duplicate_keys_postgres(conn: psycopg.Connection) -> list[KeyProblem]:
    found = (_check("postgres", t, lambda q: conn.execute(q).fetchall(), quote_ident(t.postgres)) for t in TABLES)
    return [p for p in found if p is not None]
