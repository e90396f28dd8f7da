"""Exact totals and group counts without scanning a million rows on every request.

Examinations and reports change only through bulk loads (import_excel, the migration), never through the
API. Every statement that writes to those tables bumps one counter, `imaging_data_version.version`
(statement-level triggers, migration 0002, enabled ALWAYS so they fire under session_replication_role =
replica too). A total (or a grouping) is cached per worker process under (data version, key): the first
request of a filter set pays the COUNT, later ones reuse it until any write bumps the version. A TTL bounds the
life of an entry anyway (IMAGING_COUNT_CACHE_SECONDS, default 300; 0 turns the cache off).
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection

VERSION_TABLE = "imaging_data_version"
MAX_ENTRIES = 4096
T = TypeVar("T")


def data_version() -> int:
    """The current data version (bumped by every write statement on examinations and reports)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {VERSION_TABLE}")
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"{VERSION_TABLE} has no row: migration studies.0002 was not applied correctly")
    return int(row[0])


class VersionedCache:
    """A bounded LRU of exact query results keyed by (data version, key), with a time-to-live."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[int, Hashable], tuple[float, Any]] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T], version: int | None = None) -> T:
        """The cached result of `compute` for `key` at the data version (read now unless given)."""
        ttl = settings.COUNT_CACHE_SECONDS
        if ttl <= 0:
            return compute()
        entry_key = (data_version() if version is None else version, key)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(entry_key)
            if hit is not None and now - hit[0] < ttl:
                self._entries.move_to_end(entry_key)
                return hit[1]
        value = compute()
        with self._lock:
            self._entries[entry_key] = (now, value)
            self._entries.move_to_end(entry_key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


cache = VersionedCache()
