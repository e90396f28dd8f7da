"""The write freeze of the new service: a marker file on every app host, closed by a PostgreSQL advisory lock.

The marker (IMAGING_FREEZE_FILE, created by Ansible on every app host) alone leaves a gap: a write that looked
before the file appeared could still commit after the snapshot/export. So every write transaction first takes
FREEZE_LOCK_KEY shared (`pg_advisory_xact_lock_shared`, held until COMMIT/ROLLBACK, writes never wait for
each other) and only then looks at the marker; frozen, it raises WritesFrozenError and writes nothing.

`imaging-api freeze_barrier --timeout N` (or `radiology-migrate freeze-barrier`, from any host that reaches the
database), run once after the marker exists on every app host, takes the same key exclusively and lets it go: it
can have it only when every write that took the shared lock before it has committed or rolled back, and every
write after it sees the marker. Its wait is bounded by `lock_timeout` (WritesInFlightError past it).
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import OperationalError, connection, transaction
from radiology_contract.locks import FREEZE_LOCK_KEY, freeze_barrier_lock_timeout

LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock wait cut by lock_timeout


class WritesFrozenError(Exception):
    """The freeze marker exists; the write was refused before writing anything (HTTP 503 writes_frozen)."""


class WritesInFlightError(Exception):
    """The barrier could not take the freeze lock within its timeout: writes were still in flight."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__(f"writes still in flight after {timeout_seconds:g} s")
        self.timeout_seconds = timeout_seconds


def freeze_file() -> Path | None:
    return Path(settings.FREEZE_FILE) if settings.FREEZE_FILE else None


def writes_frozen() -> bool:
    marker = freeze_file()
    return marker is not None and marker.exists()


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction for one user write: the freeze lock shared, then the marker checked, then the body."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [FREEZE_LOCK_KEY])
        if writes_frozen():
            raise WritesFrozenError
        yield


def barrier(timeout_seconds: float) -> float:
    """Wait (at most `timeout_seconds`) until no write holds the freeze lock; the seconds it waited."""
    if not timeout_seconds > 0:
        raise ValueError("the barrier's timeout must be positive (0 would mean no limit in PostgreSQL)")
    lock_timeout = freeze_barrier_lock_timeout(timeout_seconds)
    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])  # this transaction only
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FREEZE_LOCK_KEY])
    except OperationalError as e:
        if getattr(e.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise WritesInFlightError(timeout_seconds) from e
        raise
    return time.monotonic() - started
