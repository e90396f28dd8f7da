"""Delta load: bring PostgreSQL from snapshot S1 (the one it was loaded from) to snapshot S2 by applying only the
rows that differ between the two, in ONE transaction.

Stage 1 of a two-stage cutover loads a live snapshot S1 (`snapshot --live`) while the legacy service still takes
writes; stage 2, under the freeze, takes S2 and runs `radiology-migrate load --snapshot S2 --since S1`:

1. both snapshots are checked as `load` checks one (contract tables, no write-ahead log, row counts equal to
   their metadata, keys present and distinct); both metadata files must name the same source, and S2 must not
   be older than S1;
2. the difference is computed in DuckDB alone: an in-memory database ATTACHes S1 and S2 read-only and joins
   them by key on a 64-bit hash of every stored row (`normalise.stored_row_hash`: DuckDB's own, fast, backed by
   the verify's md5 of every row). A key only in S2 is added, only in S1 deleted, in both with another hash
   changed. The keys are kept in tables of that in-memory database;
3. one PostgreSQL transaction, begun exactly as `load` begins one (`load.begin`: client_connection_check_interval,
   the migration advisory lock, the tables locked against writes): PostgreSQL's row counts must equal S1's
   (otherwise it does not hold S1: run a full load); DELETE the changed and deleted keys, children before
   parents (reports reference examinations), every batch checked to have found each of its keys; COPY the added
   and changed rows of S2 through the same CSV pipe as `load` (its SELECT restricted to those keys); reset the
   sequences; check that the row counts equal S2's; commit once.

A kill at any point leaves PostgreSQL exactly as it was (one transaction; the DuckDB files are only read). When
nothing changed between S1 and S2 nothing is committed, and the outcome says so.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from radiology_contract.tables import TABLES, Table

from . import duck, load, pg, schema_objects
from .keys import duplicate_keys_duckdb
from .normalise import quote_ident, stored_row_hash
from .outcome import MigrationError, Outcome
from .progress import Progress, disabled
from .snapshot import check_meta_matches, meta_path

DELETE_BATCH = 10_000  # keys per DELETE ... WHERE key = ANY(%s)
LISTED_KEYS = 20
ANALYZE_SHARE = 0.1  # ANALYZE a table whose delta rewrote more than this share of its rows
SINCE_DB = "delta_since"  # S1 attached read-only in the in-memory DuckDB database
SNAPSHOT_DB = "delta_snapshot"  # S2 attached read-only


@dataclass(frozen=True)
class DeltaOptions:
    check: bool = False  # compute and report the delta, check PostgreSQL holds S1, change nothing
    lock_timeout_s: float = 60.0
    analyze: bool = True  # ANALYZE the tables the delta rewrote a large share of


@dataclass(frozen=True)
class Snapshot:
    """One checked snapshot file: its row counts and metadata."""

    path: Path
    counts: dict[str, int]
    meta: dict[str, Any]

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


@dataclass
class TableDelta:
    """Keys of one table that differ from S1 to S2; the keys themselves are in DuckDB table `keys_table`."""

    table: Table
    added: int = 0
    changed: int = 0
    deleted: int = 0

    @property
    def keys_table(self) -> str:
        return quote_ident(f"delta_{self.table.kind}")

    @property
    def rows(self) -> int:
        return self.added + self.changed + self.deleted

    @property
    def to_delete(self) -> int:
        return self.changed + self.deleted

    @property
    def to_copy(self) -> int:
        return self.added + self.changed

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "changed": self.changed, "deleted": self.deleted}


@dataclass(frozen=True)
class Job:
    """One delta load: the two snapshots, their differences (key tables in `con`) and how to apply them."""

    since: Snapshot
    snapshot: Snapshot
    deltas: dict[str, TableDelta]
    con: duckdb.DuckDBPyConnection  # the in-memory DuckDB database with S1, S2 and the key tables
    workdir: Path  # for the named pipes of the COPY
    opts: DeltaOptions
    progress: Progress
    read_seconds: float  # checking and counting both snapshots
    diff_seconds: float  # comparing them in DuckDB

    def total(self, what: str) -> int:
        return sum(int(getattr(d, what)) for d in self.deltas.values())


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def read_snapshot(path: Path, role: str, progress: Progress) -> Snapshot:
    """Open, check and count one snapshot (role: "--snapshot" or "--since"), as `load` checks its snapshot."""
    with progress.waiting(f"reading {role} snapshot {path}: counts and keys"):
        con = duck.open_snapshot(path)
        try:
            counts = {t.kind: duck.count(con, t) for t in TABLES}
            meta = check_meta_matches(path, counts)
            problems = duplicate_keys_duckdb(con)
        finally:
            con.close()
    if meta is None:
        raise MigrationError(
            f"{role} snapshot {path} has no metadata file {meta_path(path)}: a delta load needs the metadata of "
            "both snapshots (their source and time); take the snapshot with `radiology-migrate snapshot`"
        )
    if problems:
        described = "; ".join(p.describe() for p in problems)
        raise MigrationError(f"{role} snapshot {path} has duplicate or null keys: {described}")
    return Snapshot(path, counts, meta)


def source_of(meta: dict[str, Any]) -> tuple[str, str]:
    """What a snapshot was taken from: ("service", its API URL) or ("file", the database file)."""
    source = meta.get("source") if isinstance(meta.get("source"), dict) else {}
    kind = str(source.get("kind"))
    where = source.get("url") if kind == "service" else source.get("database")
    return kind, str(where)


def check_pair(since: Snapshot, snapshot: Snapshot) -> None:
    """S1 and S2 must be two snapshots of the same legacy database, S2 not older than S1."""
    if since.path.resolve() == snapshot.path.resolve():
        raise MigrationError(f"--since names the same file as --snapshot ({snapshot.path}): nothing to compare")
    s1, s2 = source_of(since.meta), source_of(snapshot.meta)
    if s1 != s2:
        raise MigrationError(
            f"the snapshots disagree about their source: {since.path} comes from {s1[0]} {s1[1]}, "
            f"{snapshot.path} from {s2[0]} {s2[1]}; a delta applies only between two snapshots of the same legacy "
            f"database: run a full load (radiology-migrate load --snapshot {snapshot.path})"
        )
    at1, at2 = str(since.meta.get("snapshot_at") or ""), str(snapshot.meta.get("snapshot_at") or "")
    if at1 and at2 and at2 < at1:
        raise MigrationError(
            f"--snapshot {snapshot.path} (taken at {at2}) is older than --since {since.path} (taken at {at1}): "
            "swap them, or run a full load"
        )


def compute(con: duckdb.DuckDBPyConnection, since: Snapshot, snapshot: Snapshot) -> dict[str, TableDelta]:
    """Attach S1 and S2 read-only to the in-memory database `con` and keep, per table, the differing keys."""
    con.execute(f"ATTACH {_sql_path(since.path)} AS {SINCE_DB} (READ_ONLY)")
    con.execute(f"ATTACH {_sql_path(snapshot.path)} AS {SNAPSHOT_DB} (READ_ONLY)")
    deltas: dict[str, TableDelta] = {}
    for table in TABLES:
        key, row, name = quote_ident(table.key), stored_row_hash(table), quote_ident(table.duckdb)
        delta = TableDelta(table)
        con.execute(
            f"CREATE TABLE {delta.keys_table} AS "
            f"WITH a AS (SELECT {key} AS k, {row} AS h FROM {SINCE_DB}.main.{name}), "
            f"b AS (SELECT {key} AS k, {row} AS h FROM {SNAPSHOT_DB}.main.{name}) "
            "SELECT coalesce(a.k, b.k) AS k, "
            "CASE WHEN a.k IS NULL THEN 'added' WHEN b.k IS NULL THEN 'deleted' ELSE 'changed' END AS op "
            "FROM a FULL OUTER JOIN b ON a.k = b.k WHERE a.k IS NULL OR b.k IS NULL OR a.h <> b.h"
        )
        for op, n in con.execute(f"SELECT op, count(*) FROM {delta.keys_table} GROUP BY op").fetchall():
            setattr(delta, str(op), int(n))
        deltas[table.kind] = delta
    return deltas


def _keys(con: duckdb.DuckDBPyConnection, delta: TableDelta, ops: tuple[str, ...]) -> Iterator[list[str]]:
    """The keys of `delta` with one of `ops`, in batches of DELETE_BATCH."""
    cur = con.cursor()
    try:
        placeholders = ", ".join("?" for _ in ops)
        cur.execute(f"SELECT k FROM {delta.keys_table} WHERE op IN ({placeholders}) ORDER BY k", list(ops))
        while batch := cur.fetchmany(DELETE_BATCH):
            yield [str(r[0]) for r in batch]
    finally:
        cur.close()


def _delete(conn: psycopg.Connection, con: duckdb.DuckDBPyConnection, delta: TableDelta, since: Snapshot) -> int:
    """DELETE the changed and deleted keys of one table; every key must be found (PostgreSQL holds S1)."""
    table = delta.table
    key = quote_ident(table.key)
    sql = f"DELETE FROM {quote_ident(table.postgres)} WHERE {key} = ANY(%s::text[]) RETURNING {key}"
    deleted = 0
    for batch in _keys(con, delta, ("changed", "deleted")):
        found = {str(r[0]) for r in conn.execute(sql, [batch]).fetchall()}
        deleted += len(found)
        missing = [k for k in batch if k not in found]
        if missing:
            shown = ", ".join(missing[:LISTED_KEYS]) + (" …" if len(missing) > LISTED_KEYS else "")
            raise MigrationError(
                f"PostgreSQL does not hold {since.path}: {len(missing)} {table.postgres} row(s) of it, changed or "
                f"deleted since, are missing in PostgreSQL ({table.key} {shown}); nothing was changed: run a full "
                "load instead"
            )
    return deleted


def _copy(
    conn: psycopg.Connection, con: duckdb.DuckDBPyConnection, delta: TableDelta, workdir: Path, progress: Progress
) -> int:
    """COPY the added and changed rows of one table from S2, through the full load's CSV pipe."""
    table = delta.table
    select = (
        f"SELECT {duck.column_list(table)} FROM {SNAPSHOT_DB}.main.{quote_ident(table.duckdb)} "
        f"WHERE {quote_ident(table.key)} IN (SELECT k FROM {delta.keys_table} WHERE op <> 'deleted')"
    )
    return load.copy_table(conn, con, table, workdir, progress, select=select, freeze=False)


def run(
    outcome: Outcome,
    snapshot_path: Path,
    since_path: Path,
    dsn: str,
    options: DeltaOptions | None = None,
    *,
    progress: Progress | None = None,
) -> None:
    opts = options or DeltaOptions()
    tell = progress or disabled("load")
    started = time.perf_counter()
    outcome.data.update({"mode": "delta", "snapshot": str(snapshot_path), "since": str(since_path)})
    since = read_snapshot(since_path, "--since", tell)
    snapshot = read_snapshot(snapshot_path, "--snapshot", tell)
    check_pair(since, snapshot)
    read_s = time.perf_counter() - started
    outcome.data.update(
        {
            "snapshot_at": snapshot.meta.get("snapshot_at"),
            "since_snapshot_at": since.meta.get("snapshot_at"),
            "source_counts": snapshot.counts,
            "since_counts": since.counts,
        }
    )
    outcome.say(
        f"delta from {since.path} (taken at {since.meta.get('snapshot_at')}) "
        f"to {snapshot.path} (taken at {snapshot.meta.get('snapshot_at')})"
    )
    con = duck.connect()  # in memory: the key tables must be seen by the export cursors (not TEMP tables)
    try:
        t0 = time.perf_counter()
        with tell.waiting("comparing the two snapshots row by row (a hash of every stored row)"):
            deltas = compute(con, since, snapshot)
        diff_s = time.perf_counter() - t0
        outcome.data["delta"] = {kind: d.as_dict() for kind, d in deltas.items()}
        conn = pg.connect(dsn)
        try:
            with tempfile.TemporaryDirectory(prefix="radiology-migrate-") as tmp:
                job = Job(since, snapshot, deltas, con, Path(tmp), opts, tell, read_s, diff_s)
                _transaction(outcome, conn, job)
        except (psycopg.Error, duckdb.Error) as e:
            detail = str(e).strip().replace("\n", " ")
            hint = ""
            if isinstance(e, psycopg.errors.UniqueViolation):
                hint = f" (PostgreSQL already holds a row that {since.path} does not: run a full load instead)"
            raise MigrationError(
                f"the delta load was rolled back, PostgreSQL is unchanged: {type(e).__name__}: {detail}{hint}"
            ) from e
        finally:
            conn.close()
    finally:
        con.close()
    seconds = time.perf_counter() - started
    applied = sum(d.rows for d in deltas.values())
    outcome.data.update(
        {
            "seconds": round(seconds, 3),
            "rows_applied": applied,
            "rows_per_second": round(applied / seconds) if seconds > 0 and applied else None,
            "snapshot_rows_per_second": round(snapshot.rows / seconds) if seconds > 0 else None,
        }
    )
    if outcome.data.get("loaded"):
        outcome.say(
            f"  applied {applied:,} rows in {seconds:.2f}s ({applied / seconds:,.0f} rows/s; PostgreSQL now holds "
            f"the {snapshot.rows:,} rows of the snapshot: {snapshot.rows / seconds:,.0f} rows/s)"
        )


def _transaction(outcome: Outcome, conn: psycopg.Connection, job: Job) -> None:
    since, snapshot, deltas, opts, progress = job.since, job.snapshot, job.deltas, job.opts, job.progress
    try:
        load.begin(conn, opts.lock_timeout_s, check=opts.check, progress=progress)
        with progress.waiting("counting the rows PostgreSQL holds"):
            before = {t.kind: pg.count(conn, t) for t in TABLES}
        outcome.data["target_counts_before"] = before
        for t in TABLES:
            d = deltas[t.kind]
            outcome.say(
                f"  {t.kind:<16} postgres {before[t.kind]:>10,} rows (--since {since.counts[t.kind]:>10,}) -> "
                f"{snapshot.counts[t.kind]:>10,}: +{d.added:,} added, ~{d.changed:,} changed, -{d.deleted:,} deleted"
            )
        wrong = [f"{k}: postgres {before[k]} != {since.counts[k]}" for k in before if before[k] != since.counts[k]]
        if wrong:
            hint = " (its counts are those of --snapshot: it may hold it already, see verify)"
            raise MigrationError(
                f"PostgreSQL does not hold what {since.path} loaded: "
                + "; ".join(wrong)
                + (hint if before == snapshot.counts else "")
                + f"; run a full load instead: radiology-migrate load --snapshot {snapshot.path}"
            )
        if job.total("rows") == 0:
            conn.rollback()
            outcome.data.update({"loaded": False, "committed": False, "nothing_changed": True})
            outcome.say("nothing changed between the two snapshots: PostgreSQL holds --snapshot already; no commit")
            return
        if opts.check:
            conn.rollback()
            outcome.say(
                f"check mode: would delete {job.total('to_delete'):,} and copy {job.total('to_copy'):,} rows; "
                "nothing changed"
            )
            return
        _apply(outcome, conn, job)
    except BaseException:
        conn.rollback()
        raise


def _check_deferrable(conn: psycopg.Connection, deltas: dict[str, TableDelta]) -> None:
    """A changed row that other rows reference is deleted and copied again: its foreign keys must wait for the
    commit. Refuse, before changing anything, when one of them cannot."""
    replaced = [d.table.postgres for d in deltas.values() if d.changed]
    if not replaced:
        return
    rows = conn.execute(
        "SELECT conname, conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
        "WHERE contype = 'f' AND NOT condeferrable AND confrelid = ANY(CAST(%s AS text[])::regclass[])",
        [replaced],
    ).fetchall()
    if rows:
        described = ", ".join(f"{name} on {child} (references {parent})" for name, child, parent in rows)
        raise MigrationError(
            f"foreign key(s) {described} are not DEFERRABLE: a delta cannot replace changed rows that other rows "
            "reference; run a full load instead"
        )


def _apply(outcome: Outcome, conn: psycopg.Connection, job: Job) -> None:
    con, workdir, since, snapshot, deltas, progress = (
        job.con, job.workdir, job.since, job.snapshot, job.deltas, job.progress
    )  # fmt: skip
    timings: dict[str, float] = {"read_snapshots": job.read_seconds, "diff": job.diff_seconds}
    tables: dict[str, dict[str, Any]] = {kind: {**d.as_dict(), "seconds": 0.0} for kind, d in deltas.items()}
    _check_deferrable(conn, deltas)
    # Foreign keys are checked at commit (Django makes them DEFERRABLE), so a changed examination can be deleted
    # and copied again while its unchanged reports still reference it.
    conn.execute("SET CONSTRAINTS ALL DEFERRED")
    t0 = time.perf_counter()
    for table in reversed(TABLES):  # children before parents
        d = deltas[table.kind]
        if not d.to_delete:
            continue
        t1 = time.perf_counter()
        progress.start(f"{table.kind} delete", d.to_delete)
        removed = _delete(conn, con, d, since)
        progress.end(removed)
        tables[table.kind].update({"deleted_rows": removed})
        tables[table.kind]["seconds"] += time.perf_counter() - t1
    timings["delete"] = time.perf_counter() - t0
    t2 = time.perf_counter()
    for table in TABLES:  # parents before children
        d = deltas[table.kind]
        if not d.to_copy:
            continue
        t3 = time.perf_counter()
        progress.start(table.kind, d.to_copy)
        copied = _copy(conn, con, d, workdir, progress)
        progress.end(copied)
        if copied != d.to_copy:
            raise MigrationError(
                f"COPY into {table.postgres} took {copied} rows, {snapshot.path} has {d.to_copy} added or changed"
            )
        tables[table.kind]["copied_rows"] = copied
        tables[table.kind]["seconds"] += time.perf_counter() - t3
        outcome.say(f"  copied {table.kind:<16} {copied:>10,} rows in {time.perf_counter() - t3:6.2f}s")
    timings["copy"] = time.perf_counter() - t2
    t4 = time.perf_counter()
    names = [t.postgres for t in TABLES]
    sequences = schema_objects.reset_sequences(conn, names)
    after = {t.kind: pg.count(conn, t) for t in TABLES}
    wrong = [f"{k}: {after[k]} != {snapshot.counts[k]}" for k in after if after[k] != snapshot.counts[k]]
    if wrong:
        raise MigrationError(f"row counts after the delta do not match {snapshot.path}: " + "; ".join(wrong))
    timings["check"] = time.perf_counter() - t4
    analyzed = [
        t.postgres for t in TABLES if job.opts.analyze and deltas[t.kind].rows > ANALYZE_SHARE * snapshot.counts[t.kind]
    ]
    if analyzed:
        t5 = time.perf_counter()
        with progress.waiting("analyzing the tables the delta rewrote much of"):
            for name in analyzed:
                conn.execute(f"ANALYZE {quote_ident(name)}")
        timings["analyze"] = time.perf_counter() - t5
    t6 = time.perf_counter()
    with progress.waiting("committing"):
        conn.commit()  # the deferred foreign keys are checked here
    timings["commit"] = time.perf_counter() - t6
    outcome.data.update(
        {
            "loaded": True,
            "committed": True,
            "nothing_changed": False,
            "tables": {k: {**v, "seconds": round(v["seconds"], 3)} for k, v in tables.items()},
            "target_counts_after": after,
            "sequences_reset": sequences,
            "analyzed": analyzed,
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "rows": job.total("rows"),
        }
    )
