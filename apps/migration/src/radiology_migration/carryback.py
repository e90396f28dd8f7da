"""Carrying analysis tasks written on the new service back to the legacy one, for a rollback.

`freeze_barrier` waits, once the new service's freeze marker exists on every app host, until every write that
began before it has committed (the new service's writes hold FREEZE_LOCK_KEY shared; see
imaging_api.studies.freeze). `export_tasks` then reads every stored task row from PostgreSQL (tombstones included:
a task deleted on the new service must be deleted on the legacy one too) into a JSON file. `push_tasks` sends that
file to the legacy service's loopback-only admin endpoint, which upserts the rows by task_id in one transaction.
`radiology-migrate carry-back` runs the three in one process. After them, `verify` against a fresh legacy snapshot
proves that nothing was lost.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import psycopg
from radiology_contract.fields import ANALYSIS_TASK_FIELDS, FieldType
from radiology_contract.locks import FREEZE_LOCK_KEY, freeze_barrier_lock_timeout
from radiology_contract.responses import format_datetime, parse_datetime
from radiology_contract.tables import ANALYSIS_TASKS

from . import http, pg
from .outcome import MigrationError, Outcome

SYNC_PATH = "/api/v1/admin/tasks/sync"


def _json_value(kind: FieldType, value: Any) -> Any:
    if value is None:
        return None
    if kind is FieldType.DATETIME:
        return format_datetime(value.replace(microsecond=0))
    if kind is FieldType.JSON:
        return json.loads(value) if isinstance(value, (str, bytes)) else value
    return str(value) if kind in (FieldType.STR, FieldType.TEXT) else value


def freeze_barrier(outcome: Outcome, dsn: str, timeout_seconds: float) -> None:
    """Take the new service's freeze lock exclusively (waiting at most `timeout_seconds`) and let it go: from then
    on every write either has committed or sees the freeze marker and writes nothing."""
    if not 0 < timeout_seconds < float("inf"):
        raise MigrationError(f"the freeze barrier's timeout must be more than 0 seconds, not {timeout_seconds}")
    started = time.monotonic()
    try:
        with pg.connect(dsn) as conn, conn.transaction():
            # lock_timeout for this transaction only
            conn.execute("SELECT set_config('lock_timeout', %s, true)", [freeze_barrier_lock_timeout(timeout_seconds)])
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [FREEZE_LOCK_KEY])
    except psycopg.errors.LockNotAvailable as e:
        raise MigrationError(
            f"writes still in flight on the new service after {timeout_seconds:g} s ({pg.describe_dsn(dsn)}): the "
            "freeze barrier did not pass; do not export yet"
        ) from e
    waited = time.monotonic() - started
    outcome.data.update(waited_s=round(waited, 3), timeout_s=timeout_seconds)
    outcome.say(f"freeze barrier passed after {waited:.3f} s: no write in flight, later writes are refused")


def export_tasks(outcome: Outcome, dsn: str, out: Path, since: str | None) -> None:
    """Write {"tasks": [...]} with every stored task row; count those changed after `since`."""
    cutoff = parse_datetime(since) if since else None
    columns = pg.column_list(ANALYSIS_TASKS)
    with pg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {columns} FROM {ANALYSIS_TASKS.postgres} ORDER BY created_at, task_id")
        rows = cur.fetchall()
    tasks = [{f.name: _json_value(f.type, v) for f, v in zip(ANALYSIS_TASK_FIELDS, row, strict=True)} for row in rows]
    created_after = deleted_after = 0
    if cutoff is not None:
        created_after = sum(1 for t in tasks if parse_datetime(t["created_at"]) > cutoff)
        deleted_after = sum(1 for t in tasks if t["deleted_at"] and parse_datetime(t["deleted_at"]) > cutoff)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps({"tasks": tasks}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)
    live = sum(1 for t in tasks if t["deleted_at"] is None)
    outcome.data.update(
        file=str(out),
        tasks=len(tasks),
        live=live,
        deleted=len(tasks) - live,
        since=since,
        created_after=created_after,
        deleted_after=deleted_after,
        exported_at=format_datetime(dt.datetime.now().replace(microsecond=0)),
    )
    outcome.say(f"exported {len(tasks)} task rows ({live} live, {len(tasks) - live} deleted) to {out}")
    if since:
        outcome.say(f"since {since}: {created_after} created, {deleted_after} deleted on the new service")


def push_tasks(outcome: Outcome, tasks_file: Path, legacy_url: str, token: str) -> None:
    """Upsert the exported rows into the legacy database through its admin endpoint."""
    try:
        payload = json.loads(tasks_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MigrationError(f"cannot read the task export {tasks_file}: {e}") from e
    url = legacy_url.rstrip("/") + SYNC_PATH
    try:
        status, body = http.post_json(url, payload, headers={"X-Admin-Token": token}, timeout=120)
    except http.HttpError as e:
        raise MigrationError(f"the legacy service did not answer the task sync: {e}") from e
    if status != 200:
        raise MigrationError(f"the legacy service refused the task sync ({url} answered {status}): {body}")
    outcome.data.update(url=url, result=body, tasks=len(payload.get("tasks", [])))
    outcome.say(f"legacy service at {legacy_url} took {len(payload.get('tasks', []))} task rows: {body}")
