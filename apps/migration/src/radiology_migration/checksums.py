"""The checksum gate: field-by-field equality of every row, proven with per-row md5 over normalised values.

Each side computes, in its own SQL, md5 of the normalised row (see normalise.py) and sums two 60-bit slices
of it per table: an order-independent aggregate that both sides must agree on. Only when they disagree is
the table split into 256 buckets by md5 of the key; the differing buckets are fetched row by row (key and row
hash) to find the keys, and for those keys the normalised fields are fetched to name the fields that differ.
Tables with JSON fields (analysis tasks, a small table) are compared row by row with JSON canonicalised in
Python.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import duckdb
import psycopg
from radiology_contract.fields import Field
from radiology_contract.tables import Table

from .normalise import (
    Dialect,
    canonical_json,
    decode,
    encode_python,
    field_text,
    hash_part,
    json_fields,
    key_bucket,
    quote_ident,
    row_hash,
    sql_fields,
)

LISTED_KEYS = 50
MAX_BUCKETS_FETCHED = 16
SHOWN_CHARS = 200

Fetch = Callable[[str, list[Any] | None], list[tuple[Any, ...]]]


@dataclass
class TableChecksum:
    table: str
    rows: int
    ok: bool = True
    aggregate: dict[str, str] = field(default_factory=dict)
    differing_buckets: int = 0
    missing_in_postgres: list[str] = field(default_factory=list)
    extra_in_postgres: list[str] = field(default_factory=list)
    differences: list[dict[str, Any]] = field(default_factory=list)  # [{"key", "fields", "values"}]
    mismatching_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows": self.rows,
            "ok": self.ok,
            "aggregate": self.aggregate,
            "differing_buckets": self.differing_buckets,
            "mismatching_rows": self.mismatching_rows,
            "missing_in_postgres": self.missing_in_postgres,
            "extra_in_postgres": self.extra_in_postgres,
            "differences": self.differences,
        }

    def describe(self) -> str:
        parts: list[str] = []
        if self.missing_in_postgres:
            parts.append("missing in PostgreSQL: " + ", ".join(self.missing_in_postgres))
        if self.extra_in_postgres:
            parts.append("only in PostgreSQL: " + ", ".join(self.extra_in_postgres))
        for d in self.differences:
            parts.append(f"{d['key']} differs in {', '.join(d['fields'])}")
        return f"{self.table}: {self.mismatching_rows} mismatching row(s)" + (": " + "; ".join(parts) if parts else "")


class Side:
    """One database of the comparison, able to run the normalisation SQL in its dialect."""

    def __init__(self, name: str, dialect: Dialect, fetch: Fetch, table_name: Callable[[Table], str]) -> None:
        self.name = name
        self.dialect = dialect
        self.fetch = fetch
        self.table_name = table_name

    def key_filter(self, table: Table) -> str:
        key = quote_ident(table.key)
        if self.dialect is Dialect.DUCKDB:
            return f"CAST({key} AS VARCHAR) IN (SELECT unnest(CAST(? AS VARCHAR[])))"
        return f"CAST({key} AS TEXT) = ANY(%s)"

    def aggregate(self, table: Table) -> tuple[int, int]:
        h = row_hash(table, self.dialect)
        sql = (
            f"SELECT count(*), coalesce(sum({hash_part('h', self.dialect)}), 0) "
            f"FROM (SELECT {h} AS h FROM {self.table_name(table)}) s"
        )
        n, a = self.fetch(sql, None)[0]
        return int(n), int(a)

    def buckets(self, table: Table) -> dict[str, tuple[int, int]]:
        h = row_hash(table, self.dialect)
        sql = (
            f"SELECT b, count(*), sum({hash_part('h', self.dialect)}) "
            f"FROM (SELECT {key_bucket(table, self.dialect)} AS b, {h} AS h FROM {self.table_name(table)}) s GROUP BY b"
        )
        return {r[0]: (int(r[1]), int(r[2])) for r in self.fetch(sql, None)}

    def row_hashes(self, table: Table, buckets: list[str]) -> dict[str, str]:
        bucket = key_bucket(table, self.dialect)
        if self.dialect is Dialect.DUCKDB:
            cond = f"{bucket} IN (SELECT unnest(CAST(? AS VARCHAR[])))"
        else:
            cond = f"{bucket} = ANY(%s)"
        sql = (
            f"SELECT CAST({quote_ident(table.key)} AS {'VARCHAR' if self.dialect is Dialect.DUCKDB else 'TEXT'}), "
            f"{row_hash(table, self.dialect)} FROM {self.table_name(table)} WHERE {cond}"
        )
        return {str(k): h for k, h in self.fetch(sql, [buckets])}

    def encoded_rows(self, table: Table, keys: list[str] | None) -> dict[str, tuple[str, ...]]:
        """key -> encoded value of every field (JSON canonicalised in Python), for `keys` or for all rows."""
        cast = "VARCHAR" if self.dialect is Dialect.DUCKDB else "TEXT"
        plain = sql_fields(table)
        jsons = json_fields(table)
        cols = [f"CAST({quote_ident(table.key)} AS {cast})"]
        cols += [field_text(f, self.dialect) for f in plain]
        cols += [f"CAST({quote_ident(f.name)} AS {cast})" for f in jsons]
        sql = f"SELECT {', '.join(cols)} FROM {self.table_name(table)}"
        params: list[Any] | None = None
        if keys is not None:
            sql += f" WHERE {self.key_filter(table)}"
            params = [keys]
        out: dict[str, tuple[str, ...]] = {}
        by_position = {f.name: i for i, f in enumerate((*plain, *jsons))}
        for row in self.fetch(sql, params):
            values = list(row[1 : 1 + len(plain)])
            values += [encode_python(None if raw is None else canonical_json(raw)) for raw in row[1 + len(plain) :]]
            out[str(row[0])] = tuple(values[by_position[f.name]] for f in table.fields)
        return out


def _shown(encoded: str) -> str | None:
    text = decode(encoded)
    if text is None:
        return None
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def _field_differences(
    fields: tuple[Field, ...], left: tuple[str, ...], right: tuple[str, ...]
) -> tuple[list[str], dict[str, Any]]:
    names: list[str] = []
    values: dict[str, Any] = {}
    for f, a, b in zip(fields, left, right, strict=True):
        if a != b:
            names.append(f.name)
            values[f.name] = {"snapshot": _shown(a), "postgres": _shown(b)}
    return names, values


def _compare_rows(result: TableChecksum, table: Table, source: Side, target: Side, keys: list[str]) -> None:
    shown = keys[:LISTED_KEYS]
    left = source.encoded_rows(table, shown)
    right = target.encoded_rows(table, shown)
    for key in shown:
        names, values = _field_differences(table.fields, left[key], right[key])
        result.differences.append({"key": key, "fields": names, "values": values})


def _both(source: Side, target: Side, job: Callable[[Side], Any]) -> tuple[Any, Any]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        a = pool.submit(job, source)
        b = pool.submit(job, target)
        return a.result(), b.result()


def _diff_maps(result: TableChecksum, left: dict[str, Any], right: dict[str, Any]) -> list[str]:
    missing = sorted(set(left) - set(right))
    extra = sorted(set(right) - set(left))
    changed = sorted(k for k in set(left) & set(right) if left[k] != right[k])
    result.mismatching_rows += len(missing) + len(extra) + len(changed)
    result.missing_in_postgres = missing[:LISTED_KEYS]
    result.extra_in_postgres = extra[:LISTED_KEYS]
    return changed


def compare_table(table: Table, source: Side, target: Side, rows: int) -> TableChecksum:
    result = TableChecksum(table.kind, rows)
    if json_fields(table):
        left, right = _both(source, target, lambda s: s.encoded_rows(table, None))
        changed = _diff_maps(result, left, right)
        for key in changed[:LISTED_KEYS]:
            names, values = _field_differences(table.fields, left[key], right[key])
            result.differences.append({"key": key, "fields": names, "values": values})
        result.ok = result.mismatching_rows == 0
        result.aggregate = {"mode": "row-by-row (JSON canonicalised)"}
        return result
    agg_left, agg_right = _both(source, target, lambda s: s.aggregate(table))
    result.aggregate = {"snapshot": f"{agg_left[0]}:{agg_left[1]:x}", "postgres": f"{agg_right[0]}:{agg_right[1]:x}"}
    if agg_left == agg_right:
        return result
    result.ok = False
    b_left, b_right = _both(source, target, lambda s: s.buckets(table))
    differing = sorted(b for b in set(b_left) | set(b_right) if b_left.get(b) != b_right.get(b))
    result.differing_buckets = len(differing)
    fetched = differing[:MAX_BUCKETS_FETCHED]
    h_left, h_right = _both(source, target, lambda s: s.row_hashes(table, fetched))
    changed = _diff_maps(result, h_left, h_right)
    _compare_rows(result, table, source, target, changed)
    return result


def duckdb_side(con: duckdb.DuckDBPyConnection) -> Side:
    def fetch(sql: str, params: list[Any] | None) -> list[tuple[Any, ...]]:
        cur = con.cursor()  # a cursor per call: the two sides run in parallel threads
        try:
            return cur.execute(sql, params).fetchall() if params is not None else cur.execute(sql).fetchall()
        finally:
            cur.close()

    return Side("snapshot", Dialect.DUCKDB, fetch, lambda t: quote_ident(t.duckdb))


def postgres_side(conn: psycopg.Connection) -> Side:
    conn.execute("SET DateStyle = 'ISO, MDY'")  # timestamps print as YYYY-MM-DD HH:MM:SS[.ffffff]

    def fetch(sql: str, params: list[Any] | None) -> list[tuple[Any, ...]]:
        return conn.execute(sql, params).fetchall()

    return Side("postgres", Dialect.POSTGRES, fetch, lambda t: quote_ident(t.postgres))
