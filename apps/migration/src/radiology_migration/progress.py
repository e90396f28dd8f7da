"""Progress of the long steps (snapshot, load, verify, api-diff), appended to a file operators follow with `tail -f`.

`radiology-migrate snapshot|load|verify|api-diff --progress FILE` appends lines such as

    2026-11-29T13:05:01Z load started (pid 4242)
    2026-11-29T13:05:03Z load examinations 0/1000000 rows
    2026-11-29T13:05:05Z load examinations 250000/1000000 rows 41,200 rows/s
    2026-11-29T13:05:27Z load examinations 1000000/1000000 rows 41,150 rows/s in 24.3s
    2026-11-29T13:05:27Z load rebuilding 14 indexes and constraints
    2026-11-29T13:05:37Z load rebuilding 14 indexes and constraints (10s)
    2026-11-29T13:05:41Z load done 1234567 rows in 40.2s

and, whatever happens (a finally block), a last line `<step> done ...` or `<step> failed: <reason>` (FINAL_LINE), so
a follower knows the step ended. A count is written when an item (a table, a request run) starts and ends and in
between at most every `interval` seconds: the hot loop only adds and reads the clock. A long single operation (one
SQL statement, the service writing its copy) says every `heartbeat` seconds, from a thread, that it is still running.

Each line is a single append write (O_APPEND), so several writers of one file (the playbooks' callback appends to the
run's progress.log too) never interleave inside a line. Progress never fails a step: a file that cannot be opened or
written is reported once on stderr and progress is switched off.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .outcome import Outcome

# The last line of a step: `<time> <step> done ...` or `<time> <step> failed: <reason>`.
FINAL_LINE = re.compile(r"^\S+ (?P<step>\S+) (?:done(?: |$)|failed: )")
DEFAULT_INTERVAL_S = 2.0
DEFAULT_HEARTBEAT_S = 10.0
REASON_CHARS = 500


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_line(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= REASON_CHARS else flat[:REASON_CHARS] + "…"


class Progress:
    """The progress lines of one step; without a path every method does nothing (and costs next to nothing)."""

    def __init__(
        self,
        path: Path | None,
        step: str,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        heartbeat: float = DEFAULT_HEARTBEAT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.step = step
        self.interval = interval
        self.heartbeat = heartbeat
        self._clock = clock
        self._lock = threading.Lock()
        self._fd: int | None = None
        if path is not None:
            try:
                self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as e:
                self._warn(f"cannot open {path}: {e.strerror}")
        self._started = clock()
        self.totals: dict[str, int] = {}  # unit -> units done in finished items (the final line's summary)
        self._item = ""
        self._unit = "rows"
        self._total: int | None = None
        self._done = 0
        self._item_started = self._last = self._started

    @property
    def enabled(self) -> bool:
        return self._fd is not None

    # -- lines ------------------------------------------------------------------------------------------
    def line(self, text: str) -> None:
        """Append `<time> <step> <text>` now."""
        if self._fd is None:
            return
        data = f"{_stamp()} {self.step} {text}\n".encode()
        with self._lock:
            if self._fd is None:
                return
            try:
                os.write(self._fd, data)
            except OSError as e:  # a full disk must not fail the load: stop writing progress
                self._warn(f"cannot write to {self.path}: {e.strerror}")
                self._close_fd()

    def close(self) -> None:
        with self._lock:
            self._close_fd()

    # -- counted items: a table's rows, a run of requests ----------------------------------------------------
    def start(self, item: str, total: int | None = None, unit: str = "rows") -> None:
        self._item, self._total, self._unit, self._done = item, total, unit, 0
        self._item_started = self._last = self._clock()
        self.line(f"{item} {self._count()}")

    def advance(self, n: int = 1) -> None:
        """Count `n` more; writes a line when `interval` seconds passed since the last one."""
        self._done += n
        if self._fd is not None and self._clock() - self._last >= self.interval:
            self._report()

    def due(self) -> bool:
        """A line is due: for callers that only work out the count when it is written (see report)."""
        return self._fd is not None and self._clock() - self._last >= self.interval

    def report(self, done: int) -> None:
        self._done = done
        self._report()

    def end(self, done: int | None = None) -> None:
        """The item is finished (`done`: its exact count, when the running count was an estimate)."""
        if done is not None:
            self._done = done
        elapsed = self._clock() - self._item_started
        self.totals[self._unit] = self.totals.get(self._unit, 0) + self._done
        self.line(f"{self._item} {self._count()}{self._rate(elapsed)} in {elapsed:.1f}s")

    def tally(self, n: int, unit: str = "rows") -> None:
        """Add to the final line's summary without an item (rows counted, not copied one by one)."""
        self.totals[unit] = self.totals.get(unit, 0) + n

    def _count(self) -> str:
        if self._total is None:
            return f"{self._done} {self._unit}"
        return f"{min(self._done, self._total)}/{self._total} {self._unit}"

    def _rate(self, elapsed: float) -> str:
        return f" {round(self._done / elapsed):,} {self._unit}/s" if elapsed > 0 and self._done else ""

    def _report(self) -> None:
        now = self._clock()
        self._last = now
        self.line(f"{self._item} {self._count()}{self._rate(now - self._item_started)}")

    # -- long single operations ----------------------------------------------------------------------------
    @contextmanager
    def waiting(self, what: str, detail: Callable[[], str] | None = None, *, announce: bool = True) -> Iterator[None]:
        """While the block runs, write `what (<seconds>s[, detail])` every `heartbeat` seconds (and `what` at once)."""
        if self._fd is None:
            yield
            return
        started = self._clock()
        if announce:
            self.line(what)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat):
                extra = ""
                if detail is not None:
                    try:
                        extra = ", " + detail()
                    except Exception as e:  # a detail (a file size) is never worth failing for
                        extra = f", ({type(e).__name__})"
                self.line(f"{what} ({self._clock() - started:.0f}s{extra})")

        thread = threading.Thread(target=beat, name=f"progress-{self.step}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    # -- the whole step ------------------------------------------------------------------------------------
    @contextmanager
    def running(self, outcome: Outcome) -> Iterator[None]:
        """`<step> started`, then whatever happens inside, `<step> done ...` or `<step> failed: <reason>`."""
        self.line(f"started (pid {os.getpid()})")
        failure: str | None = "ended unexpectedly"
        try:
            yield
            failure = None if outcome.ok else (outcome.error or "not ok")
        except BaseException as e:
            failure = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            raise
        finally:
            if failure is None:
                self.line(self._summary())
            else:
                self.line(f"failed: {_one_line(failure)}")
            self.close()

    def _summary(self) -> str:
        counted = " ".join(f"{n} {unit}" for unit, n in self.totals.items())
        return f"done {counted + ' ' if counted else ''}in {self._clock() - self._started:.1f}s"

    # -- helpers -------------------------------------------------------------------------------------------
    def _close_fd(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None

    def _warn(self, message: str) -> None:
        sys.stderr.write(f"radiology-migrate {self.step}: progress switched off: {message}\n")


def disabled(step: str = "") -> Progress:
    return Progress(None, step)
