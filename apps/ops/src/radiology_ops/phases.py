"""phases.json: the record of a cutover or rollback run, one entry per phase, appended as phases end.

Schema (a JSON list; written by the Ansible callback `radiology_phases` or by `append_phase`):

    {"phase": "switch",                       # short name; "playbook cutover" marks a whole playbook run
     "title": "Phase switch: flip current",   # optional, the play's full name
     "host": "web1" | "hosts": ["web1", ...], # either form
     "started": "2025-07-02T09:00:00.123456Z",# ISO 8601, UTC (Z or +00:00); naive values are read as UTC
     "ended": "..." | null,                   # null while running or when the run was interrupted
     "status": "ok" | "failed" | "skipped" | "running" | "changed",
     "detail": {...},                         # free-form evidence (counts, checksums, timings, messages)
     "failures": [{"host", "task", "message"}]}  # optional
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

PHASES_JSON = "phases.json"
REQUIRED_KEYS = ("phase", "started")


class PhaseRecordError(ValueError):
    """A phase record lacks a required key or has a timestamp that does not parse."""


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 timestamp (naive = UTC), or None for null/unparsable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def read_phases(run_dir: Path | str) -> list[dict[str, Any]]:
    """The phase records of a run folder; [] when phases.json is missing. Raises on a damaged file."""
    path = Path(run_dir) / PHASES_JSON
    if not path.exists():
        return []
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise PhaseRecordError(f"{path} is not JSON: {e}") from e
    if not isinstance(payload, list):
        raise PhaseRecordError(f"{path} must hold a JSON list of phase records")
    return [p for p in payload if isinstance(p, dict)]


def append_phase(run_dir: Path | str, record: dict[str, Any]) -> Path:
    """Append one phase record to <run_dir>/phases.json (created if missing), atomically. Returns the path.

    `started` defaults to now; `status` to "ok"; `detail` to {}. The record is validated first.
    """
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"started": utc_now(), "ended": None, "status": "ok", "detail": {}, **record}
    for key in REQUIRED_KEYS:
        if not entry.get(key):
            raise PhaseRecordError(f"phase record needs {key!r}: {record!r}")
    for key in ("started", "ended"):
        if entry.get(key) is not None and parse_time(entry[key]) is None:
            raise PhaseRecordError(f"phase record {entry['phase']!r}: {key} {entry[key]!r} is not ISO 8601")
    phases = read_phases(folder)
    phases.append(entry)
    path = folder / PHASES_JSON
    tmp = path.with_name(f"{PHASES_JSON}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(phases, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
