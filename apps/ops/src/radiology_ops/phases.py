"""phases.json: the record of a cutover or rollback run, one entry per phase, appended as phases end.

Schema (a JSON list, written by the Ansible callback `radiology_phases`):

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
from pathlib import Path
from typing import Any

PHASES_JSON = "phases.json"


class PhaseRecordError(ValueError):
    """A phase record lacks a required key or has a timestamp that does not parse."""


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
