"""Load a DuckDB snapshot into PostgreSQL: COPY inside one transaction, all or nothing, safe to re-run.

One transaction does everything: take the advisory lock, lock the target tables against writes, refuse if
the target holds rows the snapshot does not (writes made on the new service since), drop the indexes and
key constraints, TRUNCATE, COPY every table from CSV that DuckDB writes, rebuild the indexes and constraints
from their own definitions, reset sequences, check the row counts, ANALYZE, and commit once. A crash or a
kill at any point before the commit leaves the target exactly as it was (PostgreSQL rolls the transaction
back, DDL included); running again replaces the contents, so rows are never duplicated.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from radiology_contract.locks import LOAD_LOCK_KEY
from radiology_contract.tables import ANALYSIS_TASKS, TABLES, Table

from . import duck, pg, schema_objects
from .keys import duplicate_keys_duckdb
from .normalise import quote_ident
from .outcome import MigrationError, Outcome
from .pipe import csv_stream
from .progress import Progress, disabled
from .snapshot import check_meta_matches

LISTED_KEYS = 50


@dataclass(frozen=True)
class LoadOptions:
    check: bool = False  # report what would happen, change nothing
    force_overwrite: bool = False  # replace target rows newer than the snapshot
    lock_timeout_s: float = 60.0
    maintenance_work_mem: str = "512MB"
    # max_parallel_maintenance_workers for the index rebuild: None keeps the server's setting (2 by default); 0
    # builds each index in one process, leaving the other cores to users while the legacy still serves (stage 1).
    index_workers: int | None = None
    analyze: bool = True


@dataclass
class Conflicts:
    """Rows on the target that a load would destroy: written there after the snapshot."""

    extra_keys: dict[str, list[str]] = field(default_factory=dict)  # table kind -> keys not in the snapshot
    extra_counts: dict[str, int] = field(default_factory=dict)
    deleted_after: list[str] = field(default_factory=list)  # tasks deleted on the target, live in the snapshot

    def any(self) -> bool:
        return bool(self.extra_counts) or bool(self.deleted_after)

    def as_dict(self) -> dict[str, Any]:
        return {
            "extra_keys": self.extra_keys,
            "extra_counts": self.extra_counts,
            "tasks_deleted_on_target": self.deleted_after,
        }

    def describe(self) -> str:
        parts = [
            f"{self.extra_counts[kind]} {kind} row(s) not in the snapshot: {', '.join(keys)}"
            + (" …" if self.extra_counts[kind] > len(keys) else "")
            for kind, keys in self.extra_keys.items()
        ]
        if self.deleted_after:
            parts.append(f"analysis task(s) deleted on the target after the snapshot: {', '.join(self.deleted_after)}")
        return "; ".join(parts)


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _target_keys_csv(conn: psycopg.Connection, table: Table, columns: list[str], path: Path) -> None:
    cols = ", ".join(quote_ident(c) for c in columns)
    with (
        path.open("wb") as fh,
        conn.cursor() as cur,
        cur.copy(f"COPY (SELECT {cols} FROM {quote_ident(table.postgres)}) TO STDOUT (FORMAT csv)") as cp,
    ):
        for chunk in cp:
            fh.write(chunk)


def find_conflicts(
    conn: psycopg.Connection, con: duckdb.DuckDBPyConnection, target_counts: dict[str, int], workdir: Path
) -> Conflicts:
    conflicts = Conflicts()
    for table in TABLES:
        if target_counts[table.kind] == 0:
            continue
        with_deleted = table is ANALYSIS_TASKS
        columns = [table.key, "deleted_at"] if with_deleted else [table.key]
        path = workdir / f"target-{table.kind}.csv"
        _target_keys_csv(conn, table, columns, path)
        spec = "{'k': 'VARCHAR'" + (", 'deleted_at': 'TIMESTAMP'" if with_deleted else "") + "}"
        reader = (
            f"read_csv({_sql_path(path)}, columns={spec}, header=false, auto_detect=false, quote='\"', escape='\"')"
        )
        key = quote_ident(table.key)
        src = quote_ident(table.duckdb)
        extra = con.execute(
            f"SELECT t.k FROM {reader} t WHERE NOT EXISTS (SELECT 1 FROM {src} s WHERE s.{key} = t.k) ORDER BY t.k"
        ).fetchall()
        if extra:
            conflicts.extra_counts[table.kind] = len(extra)
            conflicts.extra_keys[table.kind] = [r[0] for r in extra[:LISTED_KEYS]]
        if with_deleted:
            rows = con.execute(
                f"SELECT t.k FROM {reader} t JOIN {src} s ON s.{key} = t.k "
                "WHERE t.deleted_at IS NOT NULL AND s.deleted_at IS NULL ORDER BY t.k"
            ).fetchall()
            conflicts.deleted_after = [r[0] for r in rows[:LISTED_KEYS]]
        path.unlink()
    return conflicts


def copy_table(
    conn: psycopg.Connection,
    con: duckdb.DuckDBPyConnection,
    table: Table,
    workdir: Path,
    progress: Progress,
    *,
    select: str | None = None,
    freeze: bool = True,
) -> int:
    """COPY one table: DuckDB streams CSV through a FIFO straight into PostgreSQL's COPY FROM STDIN.

    `select` (default: every row of the table in the snapshot) must yield the table's columns in contract order.
    `freeze` writes the rows frozen (COPY FREEZE), which PostgreSQL allows only into a table truncated in the
    same transaction: the full load's case, not the delta load's.

    The rows sent so far are estimated for the progress lines only when one is due: bytes sent times the newlines
    per byte of the chunks looked at then (a quoted newline inside a field makes it an estimate; the table's last
    line has PostgreSQL's exact count). Counting newlines in every chunk would cost more than the progress is worth.
    """
    select = select or f"SELECT {duck.column_list(table)} FROM {quote_ident(table.duckdb)}"
    options = "FORMAT csv, FREEZE true" if freeze else "FORMAT csv"
    copy_sql = f"COPY {quote_ident(table.postgres)} ({pg.column_list(table)}) FROM STDIN ({options})"
    sent = sampled_bytes = sampled_rows = 0
    with conn.cursor() as cur:
        with csv_stream(con, select, workdir / f"{table.kind}.fifo") as chunks, cur.copy(copy_sql) as cp:
            for chunk in chunks:
                cp.write(chunk)
                sent += len(chunk)
                if progress.due():
                    sampled_bytes += len(chunk)
                    sampled_rows += chunk.count(b"\n")
                    progress.report(sent * sampled_rows // sampled_bytes)
        return cur.rowcount


def take_migration_lock(conn: psycopg.Connection, lock_timeout_s: float, wait: bool) -> None:
    if not wait:
        row = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOAD_LOCK_KEY]).fetchone()
        if not (row and row[0]):
            raise MigrationError("another `radiology-migrate load` holds the migration lock on this database")
        return
    conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOAD_LOCK_KEY])
    except psycopg.errors.LockNotAvailable as e:
        raise MigrationError(
            f"another `radiology-migrate load` held the migration lock for more than {lock_timeout_s:g}s"
        ) from e


def begin(conn: psycopg.Connection, lock_timeout_s: float, *, check: bool, progress: Progress) -> None:
    """The start of every load transaction (full or delta): a dead client noticed within a second, the schema
    checked, the migration advisory lock, and the target tables locked against writes (not in check mode)."""
    conn.execute("SET LOCAL client_connection_check_interval = '1s'")  # a killed client aborts the load fast
    pg.check_tables(conn)
    with progress.waiting("waiting for the migration lock and the table locks"):
        take_migration_lock(conn, lock_timeout_s, wait=not check)
        if not check:
            conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
            names = ", ".join(quote_ident(t.postgres) for t in TABLES)
            conn.execute(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")


def run(
    outcome: Outcome,
    snapshot: Path,
    dsn: str,
    options: LoadOptions | None = None,
    *,
    progress: Progress | None = None,
) -> None:
    opts = options or LoadOptions()
    tell = progress or disabled("load")
    started = time.perf_counter()
    con = duck.open_snapshot(snapshot)
    try:
        with tell.waiting(f"reading snapshot {snapshot}: counts and keys"):
            counts = {t.kind: duck.count(con, t) for t in TABLES}
            meta = check_meta_matches(snapshot, counts)
            problems = duplicate_keys_duckdb(con)
        if problems:
            described = "; ".join(p.describe() for p in problems)
            raise MigrationError(f"snapshot {snapshot} has duplicate or null keys: {described}")
        outcome.data["mode"] = "full"
        outcome.data["snapshot"] = str(snapshot)
        outcome.data["snapshot_at"] = meta.get("snapshot_at") if meta else None
        outcome.data["source_counts"] = counts
        outcome.say(f"snapshot {snapshot}" + (f" taken at {meta['snapshot_at']}" if meta else " (no metadata file)"))
        conn = pg.connect(dsn)
        try:
            with tempfile.TemporaryDirectory(prefix="radiology-migrate-") as tmp:
                _transaction(outcome, conn, con, Path(tmp), counts=counts, opts=opts, progress=tell)
        except (psycopg.Error, duckdb.Error) as e:
            detail = str(e).strip().replace("\n", " ")
            raise MigrationError(
                f"the load was rolled back, the target is unchanged: {type(e).__name__}: {detail}"
            ) from e
        finally:
            conn.close()
    finally:
        con.close()
    outcome.data["seconds"] = round(time.perf_counter() - started, 3)


def _transaction(
    outcome: Outcome,
    conn: psycopg.Connection,
    con: duckdb.DuckDBPyConnection,
    workdir: Path,
    *,
    counts: dict[str, int],
    opts: LoadOptions,
    progress: Progress,
) -> None:
    names = [t.postgres for t in TABLES]
    check = opts.check
    try:
        begin(conn, opts.lock_timeout_s, check=check, progress=progress)
        with progress.waiting("looking for target rows newer than the snapshot"):
            target_before = {t.kind: pg.count(conn, t) for t in TABLES}
            outcome.data["target_counts_before"] = target_before
            conflicts = find_conflicts(conn, con, target_before, workdir)
        outcome.data["conflicts"] = conflicts.as_dict()
        objects = schema_objects.capture(conn, names)
        plan = {
            "replace_rows": target_before,
            "load_rows": counts,
            "rebuild": {
                "indexes": [i.name for i in objects.indexes],
                "key_constraints": [k.name for k in objects.keys],
                "foreign_keys": [f.name for f in objects.foreign_keys],
            },
        }
        outcome.data["plan"] = plan
        for t in TABLES:
            outcome.say(
                f"  {t.kind:<16} target now {target_before[t.kind]:>10,} rows -> snapshot {counts[t.kind]:>10,} rows"
            )
        if conflicts.any():
            message = "the target holds writes newer than the snapshot: " + conflicts.describe()
            if not opts.force_overwrite:
                raise MigrationError(message + " (re-take the snapshot after carrying them back, or --force-overwrite)")
            outcome.say("WARNING (--force-overwrite): " + message)
        if check:
            outcome.say(f"check mode: would rebuild {objects.count()} indexes/constraints; nothing changed")
            conn.rollback()
            return
        _load(outcome, conn, con, workdir, counts=counts, objects=objects, opts=opts, progress=progress)
    except BaseException:
        conn.rollback()
        raise


def _load(
    outcome: Outcome,
    conn: psycopg.Connection,
    con: duckdb.DuckDBPyConnection,
    workdir: Path,
    *,
    counts: dict[str, int],
    objects: schema_objects.SchemaObjects,
    opts: LoadOptions,
    progress: Progress,
) -> None:
    names = [t.postgres for t in TABLES]
    timings: dict[str, float] = {}
    conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", [opts.maintenance_work_mem])
    if opts.index_workers is not None:
        conn.execute("SELECT set_config('max_parallel_maintenance_workers', %s, true)", [str(opts.index_workers)])
    t0 = time.perf_counter()
    with progress.waiting(f"dropping {objects.count()} indexes and constraints, emptying the tables"):
        schema_objects.drop(conn, objects)
        conn.execute("TRUNCATE " + ", ".join(quote_ident(n) for n in names))
    timings["prepare"] = time.perf_counter() - t0
    tables: dict[str, Any] = {}
    copy_seconds = 0.0
    for table in TABLES:
        t1 = time.perf_counter()
        progress.start(table.kind, counts[table.kind])
        copied = copy_table(conn, con, table, workdir, progress)
        progress.end(copied)
        t3 = time.perf_counter()
        if copied != counts[table.kind]:
            raise MigrationError(
                f"COPY into {table.postgres} took {copied} rows, the snapshot has {counts[table.kind]}"
            )
        tables[table.kind] = {"rows": copied, "seconds": round(t3 - t1, 3)}
        copy_seconds += t3 - t1
        outcome.say(f"  copied {table.kind:<16} {copied:>10,} rows in {t3 - t1:6.2f}s")
    timings["export_and_copy"] = copy_seconds
    t4 = time.perf_counter()
    with progress.waiting(f"rebuilding {objects.count()} indexes and constraints"):
        schema_objects.rebuild(conn, objects)
    timings["rebuild_indexes_constraints"] = time.perf_counter() - t4
    row = conn.execute("SELECT current_setting('max_parallel_maintenance_workers')::int").fetchone()
    index_workers = row[0] if row else None
    sequences = schema_objects.reset_sequences(conn, names)
    with progress.waiting("counting the loaded rows"):
        after = {t.kind: pg.count(conn, t) for t in TABLES}
    wrong = [f"{k}: {after[k]} != {counts[k]}" for k in counts if after[k] != counts[k]]
    if wrong:
        raise MigrationError("row counts after the load do not match the snapshot: " + "; ".join(wrong))
    if opts.analyze:
        t5 = time.perf_counter()
        with progress.waiting("analyzing the loaded tables"):
            for n in names:
                conn.execute(f"ANALYZE {quote_ident(n)}")
        timings["analyze"] = time.perf_counter() - t5
    t6 = time.perf_counter()
    with progress.waiting("committing"):
        conn.commit()
    timings["commit"] = time.perf_counter() - t6
    total_rows = sum(counts.values())
    total = sum(timings.values())
    outcome.data.update(
        {
            "loaded": True,
            "tables": tables,
            "target_counts_after": after,
            "sequences_reset": sequences,
            "rebuilt_objects": objects.count(),
            "index_workers": index_workers,  # parallel workers each index rebuild was allowed
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "rows": total_rows,
            "rows_per_second": round(total_rows / total) if total > 0 else None,
            "copy_rows_per_second": round(total_rows / copy_seconds) if copy_seconds > 0 else None,
        }
    )
    outcome.say(
        f"  rebuilt {objects.count()} indexes/constraints in {timings['rebuild_indexes_constraints']:.2f}s; "
        f"committed {total_rows:,} rows in {total:.2f}s ({total_rows / total if total else 0:,.0f} rows/s)"
    )
