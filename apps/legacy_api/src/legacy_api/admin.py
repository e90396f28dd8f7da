"""Operator-only operations for the cutover tooling: consistent snapshots (frozen or live) and carrying tasks back.

DuckDB allows one writer process, so while the service runs no other process can open the file; these
operations run inside the service instead. Access control lives in app.py (loopback + token).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
from radiology_contract.duckdb_schema import create_schema
from radiology_contract.fields import ANALYSIS_TASK_FIELDS, ANALYSIS_TASK_KEY
from radiology_contract.query import ErrorDetail
from radiology_contract.responses import format_datetime
from radiology_contract.tables import ANALYSIS_TASKS, TABLES
from radiology_contract.workbook import ValueProblem, convert

from .store import TASK_COLUMNS


class AdminConflict(Exception):
    """The operation is refused in the current state (HTTP 409)."""


class AdminInvalid(Exception):
    """The request body is wrong (HTTP 422), with every problem listed."""

    def __init__(self, details: list[ErrorDetail]) -> None:
        super().__init__("; ".join(f"{d.field}: {d.message}" for d in details))
        self.details = details


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextlib.contextmanager
def _snapshot_file(target: str) -> Iterator[tuple[Path, Path]]:
    """The snapshot file asked for and the <target>.partial it is written as (left-overs removed): the partial is
    renamed over the target when the body succeeds, and removed (with its write-ahead log) when it fails."""
    path = Path(target)
    if not path.is_absolute():
        raise AdminInvalid([ErrorDetail("path", "must be an absolute path")])
    try:
        exists, folder = path.exists(), path.parent.is_dir()
    except OSError as e:  # a folder the service may not look into
        raise AdminInvalid([ErrorDetail("path", f"{path.parent}: {e.strerror} (for the service's user)")]) from None
    if exists:
        raise AdminConflict(f"snapshot target {path} already exists; refusing to overwrite it")
    if not folder:
        raise AdminInvalid([ErrorDetail("path", f"directory {path.parent} does not exist")])
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise AdminInvalid([ErrorDetail("path", f"directory {path.parent} is not writable by the service's user")])
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        yield path, partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        Path(f"{partial}.wal").unlink(missing_ok=True)
        raise


def _write_ahead_log_empty(db_path: Path) -> bool:
    wal = Path(f"{db_path}.wal")
    return not wal.exists() or wal.stat().st_size == 0


CHECKPOINT_RETRY_SECONDS = 0.1


def _checkpoint(cur: duckdb.DuckDBPyConnection, wait_seconds: float) -> dict[str, Any]:
    """CHECKPOINT, asked again every CHECKPOINT_RETRY_SECONDS for at most `wait_seconds` while DuckDB refuses it.

    DuckDB refuses a checkpoint while a transaction that began before the last committed UPDATE is still open (a
    task's deletion is one; "there are other write transactions active"): under the freeze that is a user's read
    begun before the last write, which ends within its request. {"done", "attempts", "waited_seconds", "refused"}:
    `refused` holds DuckDB's last refusal when the wait ran out."""
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            cur.execute("CHECKPOINT")
            refused = None
        except duckdb.TransactionException as e:
            refused = str(e)
            if time.monotonic() - started < wait_seconds:
                time.sleep(CHECKPOINT_RETRY_SECONDS)
                continue
        waited = round(time.monotonic() - started, 3)
        return {"done": refused is None, "attempts": attempts, "waited_seconds": waited, "refused": refused}


def snapshot(
    con: duckdb.DuckDBPyConnection, target: str, db_path: Path, checkpoint_wait_seconds: float
) -> dict[str, Any]:
    """CHECKPOINT, then copy the whole database `db_path` (the file `con` serves) into a new DuckDB file at
    `target`, written as <target>.partial and renamed only after its row counts match the source.

    The caller holds the write lock with writes frozen, so nothing writes meanwhile. Once the checkpoint has
    emptied the write-ahead log, the database file holds every committed row and nothing changes it (reads do
    not write to it): it is copied as a file (`"copy": "file"`, about a second for a million examinations
    instead of the 10 to 20 s of copying every table). The checkpoint waits at most `checkpoint_wait_seconds`
    for the reads DuckDB makes it wait for (`_checkpoint`; `"checkpoint"` in the result says how long). Should
    it still be refused, or the log still hold anything, every table is copied through SQL, as DuckDB sees it
    (`"copy": "tables"`).
    """
    with _snapshot_file(target) as (path, partial), contextlib.closing(con.cursor()) as cur:
        checkpoint = _checkpoint(cur, checkpoint_wait_seconds)
        source = cur.execute("SELECT current_database()").fetchone()
        assert source is not None
        source_counts = {t.kind: _count(cur, f'"{source[0]}".main.{t.duckdb}') for t in TABLES}
        method = "file" if checkpoint["done"] and _write_ahead_log_empty(db_path) else "tables"
        if method == "file":
            shutil.copyfile(db_path, partial)
        read_only = " (READ_ONLY)" if method == "file" else ""  # the file copy is only counted
        cur.execute(f"ATTACH {_quote_literal(str(partial))} AS legacy_snapshot{read_only}")
        try:
            if method == "tables":
                # Tables in foreign-key order with the contract's DDL (COPY FROM DATABASE orders them by name,
                # which breaks the reports -> examinations foreign key).
                cur.execute("USE legacy_snapshot")
                create_schema(cur)
                for t in TABLES:
                    cur.execute(
                        f'INSERT INTO legacy_snapshot.main.{t.duckdb} SELECT * FROM "{source[0]}".main.{t.duckdb}'
                    )
            copied = {t.kind: _count(cur, f"legacy_snapshot.main.{t.duckdb}") for t in TABLES}
        finally:
            cur.execute(f'USE "{source[0]}"')
            cur.execute("DETACH legacy_snapshot")
        if copied != source_counts:
            raise RuntimeError(f"snapshot {partial} counts {copied} differ from the source {source_counts}")
    return {
        "path": str(path),
        **copied,
        "snapshot_at": format_datetime(dt.datetime.now().replace(microsecond=0)),
        "copy": method,
        "checkpoint": checkpoint,
    }


def live_snapshot(con: duckdb.DuckDBPyConnection, target: str) -> dict[str, Any]:
    """Copy the database into a new DuckDB file at `target` WITHOUT the freeze or the write lock.

    Consistency comes from DuckDB's MVCC instead: the target is attached first, then ONE transaction reads
    every source table (its first read fixes the view it sees for the rest of the transaction), creates the
    schema in the target, copies each table with INSERT ... SELECT and counts both sides before it commits.
    Writes through the API go on meanwhile on their own cursors (they commit; this transaction does not see
    them and never conflicts with them, since it writes only to the target). The copy is the database as it
    was at one instant, the start of the transaction; `snapshot_at` is taken just before it.
    """
    alias = f"legacy_live_snapshot_{uuid.uuid4().hex}"  # ATTACH is process-wide: a name of its own
    with _snapshot_file(target) as (path, partial), contextlib.closing(con.cursor()) as cur:
        source = cur.execute("SELECT current_database()").fetchone()
        assert source is not None
        src = f'"{source[0]}".main'
        cur.execute(f"ATTACH {_quote_literal(str(partial))} AS {alias}")
        try:
            cur.execute(f"USE {alias}")  # this cursor's default database: create_schema's tables land there
            taken_at = dt.datetime.now().replace(microsecond=0)
            cur.execute("BEGIN TRANSACTION")
            try:
                source_counts = {t.kind: _count(cur, f"{src}.{t.duckdb}") for t in TABLES}  # fixes the view
                create_schema(cur)
                for t in TABLES:  # foreign-key order, as in `snapshot`
                    cur.execute(f"INSERT INTO {alias}.main.{t.duckdb} SELECT * FROM {src}.{t.duckdb}")
                copied = {t.kind: _count(cur, f"{alias}.main.{t.duckdb}") for t in TABLES}
                again = {t.kind: _count(cur, f"{src}.{t.duckdb}") for t in TABLES}
                if not copied == source_counts == again:
                    raise RuntimeError(
                        f"live snapshot {partial} counts {copied} differ from the source {source_counts} "
                        f"(read again in the same transaction: {again})"
                    )
                cur.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                raise
        finally:
            cur.execute(f'USE "{source[0]}"')
            cur.execute(f"DETACH {alias}")  # checkpoints the copy: no write-ahead log is left next to it
    return {"path": str(path), **copied, "snapshot_at": format_datetime(taken_at), "live": True}


def _count(cur: duckdb.DuckDBPyConnection, table: str) -> int:
    row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def parse_task_rows(payload: Any) -> list[tuple[Any, ...]]:
    """{"tasks": [full stored task rows]} -> typed tuples in column order; every problem listed."""
    if not isinstance(payload, dict) or not isinstance(payload.get("tasks"), list):
        raise AdminInvalid([ErrorDetail("tasks", "body must be a JSON object with a list `tasks`")])
    rows: list[tuple[Any, ...]] = []
    details: list[ErrorDetail] = []
    seen: set[str] = set()
    names = {f.name for f in ANALYSIS_TASK_FIELDS}
    for index, item in enumerate(payload["tasks"]):
        where = f"tasks[{index}]"
        if not isinstance(item, dict):
            details.append(ErrorDetail(where, "must be an object"))
            continue
        unknown = sorted(set(item) - names)
        if unknown:
            details.append(ErrorDetail(where, "unknown field(s): " + ", ".join(unknown)))
        values: list[Any] = []
        for f in ANALYSIS_TASK_FIELDS:
            try:
                values.append(convert(f, item.get(f.name)))
            except ValueProblem as e:
                details.append(ErrorDetail(f"{where}.{f.name}", e.message))
                values.append(None)
        key = values[0]
        if isinstance(key, str):
            if key in seen:
                details.append(ErrorDetail(f"{where}.{ANALYSIS_TASK_KEY}", f"{key!r} appears more than once"))
            seen.add(key)
        rows.append(tuple(values))
    if details:
        raise AdminInvalid(details[:100])
    return rows


def _json_value(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def sync_tasks(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """Upsert task rows by task_id in one transaction; counts of inserted and updated rows.

    Set-based: the rows are staged from a JSON-lines file (read by DuckDB itself with the table's own column
    types), then one DELETE and one INSERT replace them. Row by row, a rollback carrying 10,000 task rows spent
    a minute here; binding them as statement parameters still took seconds.
    """
    names = [f.name for f in ANALYSIS_TASK_FIELDS]
    table = ANALYSIS_TASKS.duckdb
    cur = con.cursor()
    try:
        types = {str(r[0]): str(r[1]) for r in cur.execute(f"DESCRIBE {table}").fetchall()}
        columns = "{" + ", ".join(f"'{n}': '{types[n]}'" for n in names) + "}"
        with tempfile.TemporaryDirectory(prefix="legacy-tasks-sync-") as folder:
            staged = Path(folder) / "tasks.jsonl"
            with staged.open("w", encoding="utf-8") as out:
                for row in rows:
                    out.write(json.dumps(dict(zip(names, row, strict=True)), default=_json_value) + "\n")
            cur.execute("BEGIN TRANSACTION")
            cur.execute(
                f"CREATE TEMP TABLE carried_tasks AS SELECT {TASK_COLUMNS} FROM "
                f"read_json(?, format = 'newline_delimited', columns = {columns})",
                [str(staged)],
            )
            (updated,) = cur.execute(f"SELECT count(*) FROM {table} JOIN carried_tasks USING (task_id)").fetchone()
            cur.execute(f"DELETE FROM {table} WHERE task_id IN (SELECT task_id FROM carried_tasks)")
            cur.execute(f"INSERT INTO {table} ({TASK_COLUMNS}) SELECT {TASK_COLUMNS} FROM carried_tasks")
            cur.execute("DROP TABLE carried_tasks")
            cur.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()
    return {"received": len(rows), "inserted": len(rows) - updated, "updated": updated}
