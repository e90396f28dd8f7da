"""The write freeze: a marker file next to the database. While it exists POST/DELETE answer 503.

A file (not process memory) so that the freeze survives restarts and the cutover tooling can set it
with the CLI whether or not the service is running.

The marker alone leaves a gap: a write that looked before the marker appeared could still commit after a
snapshot. So the service looks at the marker again INSIDE its write lock (`Service.write_unless_frozen`
raises WritesFrozenError, nothing written), and the admin snapshot takes that same lock, waiting at most
`Settings.snapshot_wait_seconds` for writes in flight (WritesInFlightError otherwise). A write acknowledged
before the snapshot is in it; any later write is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from radiology_contract.responses import format_datetime

from .settings import freeze_marker


class WritesFrozenError(Exception):
    """A write found the freeze marker once it held the write lock; nothing was written (HTTP 503)."""


class WritesInFlightError(Exception):
    """The write lock stayed taken for the whole wait: writes were still in flight."""

    def __init__(self, waited_seconds: float) -> None:
        super().__init__(f"writes were still in flight after {waited_seconds:g} s; no snapshot was written")
        self.waited_seconds = waited_seconds


@dataclass(frozen=True)
class FreezeState:
    reason: str
    frozen_at: str


def read_freeze(db_path: Path) -> FreezeState | None:
    marker = freeze_marker(db_path)
    try:
        text = marker.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        payload = json.loads(text)
        return FreezeState(str(payload["reason"]), str(payload["frozen_at"]))
    except (ValueError, KeyError, TypeError):
        # An unreadable marker still freezes: refusing writes is the safe reading of a damaged file.
        return FreezeState(f"unreadable freeze marker {marker}", "")


def is_frozen(db_path: Path) -> bool:
    return freeze_marker(db_path).exists()


def freeze(db_path: Path, reason: str) -> FreezeState:
    if not reason.strip():
        raise ValueError("a freeze needs a reason")
    state = FreezeState(reason.strip(), format_datetime(dt.datetime.now().replace(microsecond=0)) or "")
    marker = freeze_marker(db_path)
    partial = marker.with_name(marker.name + ".partial")
    partial.write_text(json.dumps({"reason": state.reason, "frozen_at": state.frozen_at}) + "\n", encoding="utf-8")
    os.replace(partial, marker)
    return state


def unfreeze(db_path: Path) -> bool:
    """Remove the marker; True if there was one."""
    try:
        freeze_marker(db_path).unlink()
    except FileNotFoundError:
        return False
    return True
