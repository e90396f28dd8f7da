"""Synchronisation helpers for the concurrency tests: a Gate that holds a call, a lock that says it was waited for.

Nothing sleeps to let another thread get somewhere: a test waits for `Gate.entered` or `ContendedLock.contended`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

PATIENCE = 30  # seconds before a test gives up on an event that should come at once (a hang, not a wait)


class Gate:
    """Stops the first call of a wrapped function until `release` is set; `entered` says it got there."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self._armed = True
        self._lock = threading.Lock()

    def hold(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any) -> Any:
            with self._lock:
                first, self._armed = self._armed, False
            if first:
                self.entered.set()
                assert self.release.wait(PATIENCE), "the test never released the held call"
            return fn(*args)

        return held


class ContendedLock:
    """A threading.Lock that says (`contended`) when someone had to wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.contended = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        self.contended.set()
        return self._lock.acquire(blocking, timeout) if blocking else False

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
