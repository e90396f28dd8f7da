"""Consistent snapshots of the legacy DuckDB database, and the metadata file written next to each.

Two ways: ask the running legacy service (its writes frozen) to checkpoint and copy its database through
the operator-only admin endpoint, or copy the file of a stopped service after a checkpoint. Either way the
copy is written under a temporary name and renamed into place only once it is complete and its row counts
are known, so a snapshot file that exists is a whole one.

A live snapshot (`--live`, stage 1 of a two-stage cutover) asks the service for a copy WITHOUT the freeze: the
service copies inside one DuckDB transaction, so the copy is the database at one instant while writes go on.
Its metadata says `"live": true`; the final snapshot is still taken under the freeze, and `load --since`
applies only what changed between the two (delta.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from radiology_contract.tables import ANALYSIS_TASKS, TABLES

from . import duck
from .http import HttpError, get_json, post_json
from .normalise import quote_ident
from .outcome import MigrationError, Outcome
from .progress import Progress, disabled

META_SUFFIX = ".meta.json"
META_FORMAT = 1


def meta_path(snapshot: str | Path) -> Path:
    return Path(str(snapshot) + META_SUFFIX)


def api_base(url: str) -> str:
    base = url.rstrip("/")
    return base if base.endswith("/api/v1") else base + "/api/v1"


@dataclass(frozen=True)
class SnapshotFacts:
    counts: dict[str, int]
    max_task_created_at: str | None
    sha256: str
    size_bytes: int


def read_facts(path: Path) -> SnapshotFacts:
    con = duck.open_snapshot(path)
    try:
        counts = {t.kind: duck.count(con, t) for t in TABLES}
        row = con.execute(f"SELECT max(created_at) FROM {quote_ident(ANALYSIS_TASKS.duckdb)}").fetchone()
        latest = row[0] if row else None
    finally:
        con.close()
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return SnapshotFacts(
        counts=counts,
        max_task_created_at=latest.isoformat(timespec="seconds") if isinstance(latest, dt.datetime) else None,
        sha256=digest.hexdigest(),
        size_bytes=path.stat().st_size,
    )


def write_meta(
    path: Path, facts: SnapshotFacts, source: dict[str, Any], snapshot_at: str, *, live: bool = False
) -> dict[str, Any]:
    meta = {
        "format": META_FORMAT,
        "snapshot": str(path.resolve()),
        "snapshot_at": snapshot_at,
        "live": live,
        "source": source,
        "counts": facts.counts,
        "max_task_created_at": facts.max_task_created_at,
        "sha256": facts.sha256,
        "size_bytes": facts.size_bytes,
        "duckdb_version": duckdb.__version__,
    }
    target = meta_path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return meta


def read_meta(snapshot: str | Path) -> dict[str, Any] | None:
    p = meta_path(snapshot)
    if not p.exists():
        return None
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except ValueError as e:
        raise MigrationError(f"snapshot metadata {p} is not valid JSON: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != META_FORMAT or not isinstance(meta.get("counts"), dict):
        raise MigrationError(f"snapshot metadata {p} is not a format-{META_FORMAT} metadata document")
    return meta


def check_meta_matches(snapshot: Path, counts: dict[str, int]) -> dict[str, Any] | None:
    """The metadata of a snapshot, after checking the file still holds the rows it recorded (of the tables in
    `counts`: a verify of some tables counts only those)."""
    meta = read_meta(snapshot)
    if meta is None:
        return None
    recorded = meta["counts"]
    wrong = [f"{k}: file {n} != recorded {recorded[k]}" for k, n in counts.items() if recorded.get(k, n) != n]
    if wrong:
        raise MigrationError(f"snapshot {snapshot} no longer matches {meta_path(snapshot)}: " + "; ".join(wrong))
    return meta


def _now() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat()


def _prepare_out(out: Path, overwrite: bool) -> Path:
    out = out.resolve()
    if not out.parent.is_dir():
        raise MigrationError(f"directory {out.parent} for the snapshot does not exist")
    if out.exists() and not overwrite:
        raise MigrationError(f"snapshot {out} already exists (use --overwrite to replace it)")
    partial = out.with_name(out.name + ".partial")
    for leftover in (partial, Path(str(partial) + ".wal")):
        leftover.unlink(missing_ok=True)
    return partial


def _written(partial: Path) -> Callable[[], str]:
    """The bytes written so far of a copy in progress (the service writes <partial>.partial and its WAL first)."""

    def size() -> str:
        total = 0
        for p in (partial, Path(f"{partial}.partial"), Path(f"{partial}.partial.wal")):
            with contextlib.suppress(FileNotFoundError):
                total += p.stat().st_size
        return f"{total:,} bytes written"

    return size


def _finish(
    outcome: Outcome,
    partial: Path,
    out: Path,
    source: dict[str, Any],
    snapshot_at: str,
    *,
    progress: Progress,
    live: bool = False,
) -> None:
    with progress.waiting(f"reading the copy: row counts and sha256 of {partial}"):
        facts = read_facts(partial)
    for kind, n in facts.counts.items():
        progress.line(f"{kind} {n} rows")
        progress.tally(n)
    expected = source.get("reported_counts")
    if isinstance(expected, dict):
        wrong = [
            f"{k}: service said {v}, file has {facts.counts.get(k)}"
            for k, v in expected.items()
            if facts.counts.get(k) != v
        ]
        if wrong:
            partial.unlink(missing_ok=True)
            raise MigrationError(
                f"snapshot copy {partial} does not hold what the service reported: " + "; ".join(wrong)
            )
    os.replace(partial, out)
    meta = write_meta(out, facts, source, snapshot_at, live=live)
    outcome.data.update(
        {
            "snapshot": str(out),
            "meta": str(meta_path(out)),
            **{k: meta[k] for k in ("snapshot_at", "live", "counts", "max_task_created_at", "sha256")},
        }
    )
    kind = "live snapshot (writes went on)" if live else "snapshot"
    outcome.say(f"{kind} {out} ({facts.size_bytes:,} bytes) taken at {snapshot_at}")
    for kind, n in facts.counts.items():
        outcome.say(f"  {kind:<16} {n:>12,} rows")
    outcome.say(f"  latest analysis task created_at: {facts.max_task_created_at}")
    outcome.say(f"metadata: {meta_path(out)}")


def from_file(
    outcome: Outcome, db: Path, out: Path, overwrite: bool = False, *, progress: Progress | None = None
) -> None:
    """Snapshot the database file of a STOPPED legacy service: checkpoint it, then copy it."""
    tell = progress or disabled("snapshot")
    if not db.is_file():
        raise MigrationError(f"legacy database {db} does not exist")
    partial = _prepare_out(out, overwrite)
    try:
        con = duckdb.connect(str(db))
    except duckdb.Error as e:
        raise MigrationError(f"cannot open {db} for a checkpoint (is the legacy service still running?): {e}") from e
    try:
        duck.check_tables(con, db)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    snapshot_at = _now()
    with tell.waiting(f"copying {db} ({db.stat().st_size:,} bytes)", _written(partial)):
        shutil.copyfile(db, partial)
    source = {"kind": "file", "database": str(db.resolve())}
    _finish(outcome, partial, out.resolve(), source, snapshot_at, progress=tell)


def legacy_health(base: str) -> dict[str, Any]:
    try:
        status, body = get_json(base + "/health")
    except HttpError as e:
        raise MigrationError(f"legacy service {base} is not reachable: {e}") from e
    if not isinstance(body, dict) or "writes_frozen" not in body:
        raise MigrationError(f"legacy service {base}/health answered {status} without writes_frozen: {body!r}")
    return body


def legacy_cli() -> str:
    """The `legacy-api` command: next to this interpreter (same virtualenv) or on PATH."""
    beside = Path(sys.executable).parent / "legacy-api"
    found = str(beside) if beside.is_file() else shutil.which("legacy-api")
    if found is None:
        raise MigrationError("--freeze needs the `legacy-api` command (the legacy service's CLI) installed")
    return found


def freeze_with_cli(db: Path, reason: str) -> None:
    command = [legacy_cli(), "freeze", "--db", str(db), "--reason", reason]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    if result.returncode != 0:
        raise MigrationError(f"`{' '.join(command)}` failed ({result.returncode}): {result.stderr.strip()}")


def from_service(
    outcome: Outcome,
    legacy_url: str,
    token: str,
    out: Path,
    *,
    freeze_db: Path | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    live: bool = False,
) -> None:
    """Ask the running legacy service, its writes frozen, for a consistent copy of its database; with `live`,
    a copy consistent at one instant while its writes go on (no freeze)."""
    tell = progress or disabled("snapshot")
    base = api_base(legacy_url)
    health = legacy_health(base)
    if live:
        if freeze_db is not None:
            raise MigrationError("--live takes the snapshot without freezing writes: do not combine it with --freeze")
        outcome.say(
            f"live snapshot of {base}: writes are {'frozen' if health['writes_frozen'] else 'NOT frozen'}; "
            "the copy is the database at one instant (take the final snapshot under the freeze)"
        )
    elif not health["writes_frozen"]:
        if freeze_db is None:
            raise MigrationError(
                f"writes of the legacy service {base} are not frozen: run `legacy-api freeze --db ...` first "
                "(or pass --freeze --legacy-db PATH)"
            )
        freeze_with_cli(freeze_db, "snapshot for migration to PostgreSQL")
        health = legacy_health(base)
        if not health["writes_frozen"]:
            raise MigrationError(f"froze {freeze_db} but {base}/health still reports writes_frozen=false")
        outcome.say(f"froze writes of {base} (marker next to {freeze_db})")
    if not live:
        outcome.say(f"legacy writes frozen at {base}")
    partial = _prepare_out(out, overwrite)
    request: dict[str, Any] = {"path": str(partial), **({"live": True} if live else {})}
    copy = "a live (one-transaction) copy" if live else "a consistent copy"
    try:
        with tell.waiting(f"the service at {base} writes {copy} to {partial}", _written(partial)):
            status, body = post_json(base + "/admin/snapshot", request, {"X-Admin-Token": token}, timeout=600)
    except HttpError as e:
        raise MigrationError(f"snapshot request to {base}/admin/snapshot failed: {e}") from e
    if status != 200 or not isinstance(body, dict):
        partial.unlink(missing_ok=True)
        raise MigrationError(f"{base}/admin/snapshot answered {status}: {body!r}")
    if not partial.is_file():
        raise MigrationError(f"{base}/admin/snapshot answered 200 but {partial} was not written")
    if live and body.get("live") is not True:  # a service without live snapshots, asked while frozen
        outcome.say(f"{base} took a frozen snapshot (its answer does not say live): recorded as not live")
        live = False
    reported = {t.kind: body[t.kind] for t in TABLES if isinstance(body.get(t.kind), int)}
    snapshot_at = str(body.get("snapshot_at") or _now())
    # How the service copied a frozen snapshot: the file after a checkpoint, or every table (the checkpoint refused).
    copied = {k: body[k] for k in ("copy", "checkpoint") if k in body}
    if copied:
        outcome.data["service_copy"] = copied
        waited = copied.get("checkpoint", {})
        if isinstance(waited, dict) and int(waited.get("attempts") or 1) > 1:
            outcome.say(
                f"its checkpoint waited {waited.get('waited_seconds')}s for reads older than the last update"
                + ("" if waited.get("done") else f", then every table was copied: {waited.get('refused')}")
            )
    source = {"kind": "service", "url": base, "reported_counts": reported}
    _finish(outcome, partial, out.resolve(), source, snapshot_at, progress=tell, live=live)
