"""Bulk-load a contract DuckDB file into the new PostgreSQL schema with COPY (benchmarks and tests).

The production data paths are the migration tool (apps/migration) and `import_excel`; this loader exists
so that tests and benchmarks can fill PostgreSQL with exactly the rows a legacy DuckDB file holds, fast.
"""

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql
from radiology_contract import tables

COPY_CHUNK_BYTES = 1 << 20


class LoadError(RuntimeError):
    """The copy did not arrive complete."""


@dataclass(frozen=True)
class LoadedTable:
    table: str
    rows: int
    seconds: float


def _secondary_indexes(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes that do not back a constraint."""
    rows = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.schemaname) || '.' || "
        "quote_ident(i.indexname))::regclass)",
        [table],
    ).fetchall()
    return [(str(name), str(definition)) for name, definition in rows]


def _foreign_keys(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the foreign keys declared on `table`."""
    rows = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    ).fetchall()
    return [(str(name), str(definition)) for name, definition in rows]


def copy_duckdb_into_postgres(duckdb_path: Path, dsn: str) -> list[LoadedTable]:
    """Copy every contract table from `duckdb_path` into the migrated, empty database at `dsn`.

    One PostgreSQL transaction for all tables, row counts verified before commit. Like pg_restore, the
    secondary indexes and foreign keys are dropped for the COPY and rebuilt after it (rebuilding checks
    every foreign key in one pass). VACUUM ANALYZE afterwards, so the planner has statistics and
    index-only scans work.
    """
    loaded: list[LoadedTable] = []
    with tempfile.TemporaryDirectory(prefix="imaging-pgload-") as tmp:
        source = duckdb.connect(str(duckdb_path), read_only=True)
        try:
            exports = {}
            for table in tables.TABLES:
                csv_path = Path(tmp) / f"{table.kind}.csv"
                columns = ", ".join(table.columns)
                source.execute(
                    f"COPY (SELECT {columns} FROM {table.duckdb}) TO '{csv_path}' "
                    "(FORMAT csv, HEADER false, TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S')"
                )
                expected = source.execute(f"SELECT count(*) FROM {table.duckdb}").fetchone()
                exports[table.kind] = (csv_path, int(expected[0]) if expected else 0)
        finally:
            source.close()
        with psycopg.connect(dsn) as conn:
            conn.execute("SET maintenance_work_mem = '512MB'")
            rebuild: list[sql.Composable] = []
            for table in reversed(tables.TABLES):
                for name, definition in _foreign_keys(conn, table.postgres):
                    conn.execute(
                        sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                            *map(sql.Identifier, (table.postgres, name))
                        )
                    )
                    rebuild.append(
                        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                            *map(sql.Identifier, (table.postgres, name))
                        )
                        + sql.SQL(definition)  # type: ignore[arg-type]  (text from pg_get_constraintdef)
                    )
                for name, definition in _secondary_indexes(conn, table.postgres):
                    conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
                    rebuild.insert(0, sql.SQL(definition))  # type: ignore[arg-type]  (text from pg_indexes)
            for table in tables.TABLES:
                csv_path, expected = exports[table.kind]
                started = time.perf_counter()
                copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
                    sql.Identifier(table.postgres), sql.SQL(", ").join(map(sql.Identifier, table.columns))
                )
                with conn.cursor() as cur, cur.copy(copy_sql) as copy, csv_path.open("rb") as data:
                    while chunk := data.read(COPY_CHUNK_BYTES):
                        copy.write(chunk)
                counted = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table.postgres)))
                got = int(counted.fetchone()[0])  # type: ignore[index]
                if got != expected:
                    raise LoadError(f"{table.postgres}: copied {got} rows, {duckdb_path} holds {expected}")
                loaded.append(LoadedTable(table.postgres, got, time.perf_counter() - started))
            started = time.perf_counter()
            for statement in rebuild:
                conn.execute(statement)
            loaded.append(LoadedTable("(indexes and foreign keys)", len(rebuild), time.perf_counter() - started))
        with psycopg.connect(dsn, autocommit=True) as conn:
            for table in tables.TABLES:
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table.postgres)))
    return loaded
