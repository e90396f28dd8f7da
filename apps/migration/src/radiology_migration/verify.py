"""`verify`: the gates, in order, stopping at the first that fails: counts, keys, checksums. Read-only."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from radiology_contract.tables import TABLES, Table

from . import duck, pg
from .checksums import compare_table, duckdb_side, postgres_side
from .keys import duplicate_keys_duckdb, duplicate_keys_postgres
from .outcome import Outcome
from .progress import Progress, disabled
from .snapshot import check_meta_matches


def run(
    outcome: Outcome,
    snapshot: Path,
    dsn: str,
    *,
    progress: Progress | None = None,
    tables: Sequence[Table] = TABLES,
) -> None:
    """The gates over `tables` (default every table): a rollback verifies the tasks, which users wrote, before the
    legacy takes writes again, and the examinations and reports, which nobody writes, against the same snapshot
    once it does."""
    started = time.perf_counter()
    gates: list[dict[str, Any]] = []
    outcome.data["gates"] = gates
    outcome.data["snapshot"] = str(snapshot)
    outcome.data["tables"] = [t.kind for t in tables]
    con = duck.open_snapshot(snapshot)
    conn = pg.connect(dsn)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        pg.check_tables(conn)
        _gates(outcome, gates, con, conn, snapshot, tables=tables, progress=progress or disabled("verify"))
    finally:
        conn.rollback()
        conn.close()
        con.close()
    seconds = time.perf_counter() - started
    outcome.data["seconds"] = round(seconds, 3)
    rows = outcome.data.get("rows_verified", 0)
    outcome.data["rows_per_second"] = round(rows / seconds) if seconds > 0 and rows else None
    if outcome.ok:
        outcome.say(f"verified {rows:,} rows in {seconds:.2f}s")
    else:
        outcome.say(f"stopped at the first failing gate after {seconds:.2f}s")


def _gates(
    outcome: Outcome,
    gates: list[dict[str, Any]],
    con: Any,
    conn: psycopg.Connection,
    snapshot: Path,
    *,
    tables: Sequence[Table],
    progress: Progress,
) -> None:
    # Gate 1: exact row counts.
    with progress.waiting("gate counts: counting the rows on both sides"):
        source = {t.kind: duck.count(con, t) for t in tables}
        target = {t.kind: pg.count(conn, t) for t in tables}
    check_meta_matches(snapshot, source)
    mismatched = {k: {"snapshot": source[k], "postgres": target[k]} for k in source if source[k] != target[k]}
    gates.append(
        {"gate": "counts", "ok": not mismatched, "snapshot": source, "postgres": target, "mismatched": mismatched}
    )
    for t in tables:
        mark = "ok " if source[t.kind] == target[t.kind] else "BAD"
        outcome.say(f"[counts]    {mark} {t.kind:<16} snapshot {source[t.kind]:>10,}  postgres {target[t.kind]:>10,}")
    if mismatched:
        outcome.fail(
            "row counts differ: "
            + "; ".join(f"{k} snapshot {v['snapshot']} != postgres {v['postgres']}" for k, v in mismatched.items())
        )
        return
    # Gate 2: keys present and distinct on both sides.
    proof: dict[str, dict[str, str]] = {"snapshot": {}, "postgres": {}}
    with progress.waiting("gate keys: present and distinct on both sides"):
        problems = duplicate_keys_duckdb(con, proof["snapshot"], tables) + duplicate_keys_postgres(
            conn, proof["postgres"], tables
        )
    gates.append({"gate": "keys", "ok": not problems, "problems": [p.as_dict() for p in problems], "proof": proof})
    if problems:
        for p in problems:
            outcome.say(f"[keys]      BAD {p.describe()}")
        outcome.fail("duplicate or null keys: " + "; ".join(p.describe() for p in problems))
        return
    for t in tables:
        outcome.say(
            f"[keys]      ok  {t.kind:<16} snapshot: {proof['snapshot'][t.kind]}; postgres: {proof['postgres'][t.kind]}"
        )
    # Gate 3: field-by-field equality through per-row checksums.
    results = []
    for t in tables:  # one SQL aggregate per side and table: the count moves when the table is done
        progress.start(t.kind, source[t.kind])
        with progress.waiting(f"{t.kind} checksums", announce=False):
            results.append(compare_table(t, duckdb_side(con), postgres_side(conn), source[t.kind]))
        progress.end(source[t.kind])
    bad = [r for r in results if not r.ok]
    gates.append({"gate": "checksums", "ok": not bad, "tables": {r.table: r.as_dict() for r in results}})
    for r in results:
        outcome.say(
            f"[checksums] {'ok ' if r.ok else 'BAD'} {r.table:<16} {r.rows:>10,} rows"
            + ("" if r.ok else " - " + r.describe())
        )
    if bad:
        outcome.fail("rows differ: " + " | ".join(r.describe() for r in bad))
        return
    outcome.data["rows_verified"] = sum(source.values())
