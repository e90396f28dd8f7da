"""Exact totals and group counts without scanning a million rows on every request.

Examinations and reports change only through bulk loads (import_excel, the migration), never through the
API. Every statement that writes to those tables bumps one counter, `imaging_data_version.version`
(statement-level triggers, migration 0002, enabled ALWAYS so they fire under session_replication_role =
replica too). A total (or a grouping) is cached under (data version, key) in two tiers:

1. in the worker process (an LRU, no round trip);
2. in PostgreSQL, shared by every worker of every app host (`imaging_count_cache`, an UNLOGGED table,
   migration 0003): a filter set is counted once per data version, not once per worker, and `warm_counts`
   can count the commonest ones before users arrive (the cutover runs it before its switch).

A miss in both counts and stores in both, one session at a time per key: the others wait for it (at most
COUNT_WAIT_SECONDS) and read what it stored. Without that, the entries warm_counts made all expire at once, and
every request for the unfiltered statistics in flight at that moment counted a million rows again: under 50 users
that was a burst of timeouts every TTL. Any write to the data bumps the version, so no tier can serve a
total of older data. A TTL bounds the life of an entry anyway (IMAGING_COUNT_CACHE_SECONDS, default 300, by
the database's clock for the shared tier; 0 turns both tiers off). The shared tier is pruned of older versions
and expired rows now and then by the workers that write to it.
"""

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from radiology_contract.locks import COUNT_LOCK_CLASS

from .freeze import LOCK_NOT_AVAILABLE

VERSION_TABLE = "imaging_data_version"
SHARED_TABLE = "imaging_count_cache"
MAX_ENTRIES = 4096
PRUNE_EVERY = 256  # shared writes of one worker between two prunings (and at every new data version)
# The longest a request waits for another session counting the same key before it counts too.
COUNT_WAIT_SECONDS = 5.0
T = TypeVar("T")


def data_version() -> int:
    """The current data version (bumped by every write statement on examinations and reports)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {VERSION_TABLE}")
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"{VERSION_TABLE} has no row: migration studies.0002 was not applied correctly")
    return int(row[0])


def key_digest(key: Hashable) -> str:
    """The shared tier's name of a cache key: the same in every process running the same code."""
    return hashlib.sha256(repr(key).encode()).hexdigest()


def count_lock(key: Hashable) -> list[int]:
    """The advisory lock (class, object) a session holds while it counts `key`."""
    return [COUNT_LOCK_CLASS, int.from_bytes(bytes.fromhex(key_digest(key)[:8]), "big", signed=True)]


def _take_count_lock(lock: list[int]) -> bool:
    """Wait for the count lock at most COUNT_WAIT_SECONDS; True once held (a session lock: kept after COMMIT)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # lock_timeout for this wait only
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{round(COUNT_WAIT_SECONDS * 1000)}ms"])
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", lock)
    except OperationalError as e:
        if getattr(e.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        return False
    return True


@contextmanager
def counting_alone(key: Hashable) -> Iterator[None]:
    """Hold the count lock of `key` (every worker of every app host takes the same one) while counting it; when
    another session has held it for COUNT_WAIT_SECONDS, count without it."""
    lock = count_lock(key)
    if not _take_count_lock(lock):
        yield
        return
    try:
        yield
    except BaseException:
        # The count's own error is the one to raise. After it the session may be unable to unlock (its transaction
        # aborted, its connection lost): then the session ends here, and its lock with it, rather than stay open
        # (persistent connections) holding the lock every other session would wait for.
        try:
            _release_count_lock(lock)
        except DatabaseError:
            connection.close()
        raise
    _release_count_lock(lock)


def _release_count_lock(lock: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", lock)


def _encode(value: Any) -> str | None:
    """JSON of a total (int) or of (key, count) pairs; None when JSON would not give the same value back."""
    try:
        text = json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return text if _decode(json.loads(text)) == value else None


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [tuple(item) if isinstance(item, list) else item for item in value]
    return value


class SharedCounts:
    """The second tier: (version, key) -> value rows in PostgreSQL, read and written by every worker."""

    def __init__(self) -> None:
        self._writes = 0
        self._pruned_version: int | None = None
        self._lock = threading.Lock()

    def get(self, version: int, key: Hashable, ttl: int) -> tuple[Any, float] | None:
        """(value, age in seconds) of a live entry, or None."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT value::text, extract(epoch FROM now() - created_at)::float8 FROM {SHARED_TABLE}"
                " WHERE version = %s AND key = %s AND created_at > now() - make_interval(secs => %s)",
                [version, key_digest(key), ttl],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        return _decode(json.loads(row[0])), max(0.0, float(row[1]))

    def put(self, version: int, key: Hashable, value: Any, ttl: int) -> bool:
        """Share a value (the first writer of a key wins; all of them computed the same). False: not shareable."""
        text = _encode(value)
        if text is None:
            return False
        with self._lock:
            self._writes += 1
            prune = self._pruned_version != version or self._writes % PRUNE_EVERY == 0
            if prune:
                self._pruned_version = version
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SHARED_TABLE} (version, key, value) VALUES (%s, %s, %s::jsonb)"
                " ON CONFLICT (version, key) DO NOTHING",
                [version, key_digest(key), text],
            )
            if prune:
                self.prune(cursor, version, ttl)
        return True

    @staticmethod
    def prune(cursor: Any, version: int, ttl: int) -> None:
        cursor.execute(
            f"DELETE FROM {SHARED_TABLE} WHERE version <> %s OR created_at <= now() - make_interval(secs => %s)",
            [version, ttl],
        )


class VersionedCache:
    """Exact query results keyed by (data version, key): a bounded LRU per process over the shared tier."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[int, Hashable], tuple[float, Any]] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self.shared = SharedCounts()
        # how each get() was answered: by this process, by the shared tier, or counted
        self.answered = {"process": 0, "shared": 0, "counted": 0}

    def get(self, key: Hashable, compute: Callable[[], T], version: int | None = None) -> T:
        """The cached result of `compute` for `key` at the data version (read now unless given)."""
        if settings.COUNT_CACHE_SECONDS <= 0:
            return compute()
        version = data_version() if version is None else version
        hit = self.peek(key, version)
        if hit is not None:
            return hit[0]
        with counting_alone(key):
            hit = self.peek(key, version)  # counted by another session while this one waited
            if hit is not None:
                return hit[0]
            value = compute()
            self.store(key, value, version)
        return value

    def peek(self, key: Hashable, version: int) -> tuple[Any] | None:
        """(value,) of a live entry of this process or of the shared tier; None on a miss (or the cache off)."""
        ttl = settings.COUNT_CACHE_SECONDS
        if ttl <= 0:
            return None
        entry_key = (version, key)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(entry_key)
            if hit is not None and now - hit[0] < ttl:
                self._entries.move_to_end(entry_key)
                self.answered["process"] += 1
                return (hit[1],)
        shared = self.shared.get(version, key, ttl)
        if shared is None:
            return None
        value, age = shared
        self._remember(entry_key, now - age, value, "shared")
        return (value,)

    def store(self, key: Hashable, value: Any, version: int) -> None:
        """Keep a value just counted at `version`, here and in the shared tier."""
        ttl = settings.COUNT_CACHE_SECONDS
        if ttl <= 0:
            return
        self.shared.put(version, key, value, ttl)
        self._remember((version, key), time.monotonic(), value, "counted")

    def _remember(self, entry_key: tuple[int, Hashable], since: float, value: Any, answered: str) -> None:
        with self._lock:
            self.answered[answered] += 1
            self._entries[entry_key] = (since, value)
            self._entries.move_to_end(entry_key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget this process's entries (the shared tier keeps its own: it is pruned by version and TTL)."""
        with self._lock:
            self._entries.clear()


cache = VersionedCache()
