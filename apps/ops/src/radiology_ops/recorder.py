"""Collects what the simulated users saw: every request as it completes, to memory and to requests.csv."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .checks import FAILED, Verdict
from .stats import Failure, RequestRecord, write_csv_header


class RequestBudgetExhaustedError(Exception):
    """--max-requests is reached: no more requests may be sent."""


class Recorder:
    def __init__(self, csv_path: Path, max_requests: int | None) -> None:
        self.started = time.monotonic()
        self.started_epoch = time.time()
        self.max_requests = max_requests
        self.sent = 0
        self.records: list[RequestRecord] = []
        self.failures: list[Failure] = []
        self._stream = csv_path.open("w", encoding="utf-8", newline="")
        self._writer = write_csv_header(self._stream)

    def now(self) -> float:
        return time.monotonic() - self.started

    def reserve(self) -> None:
        """Count one request about to be sent; refuse it when the request budget is spent."""
        if self.max_requests is not None and self.sent >= self.max_requests:
            raise RequestBudgetExhaustedError
        self.sent += 1

    @property
    def exhausted(self) -> bool:
        return self.max_requests is not None and self.sent >= self.max_requests

    def add(
        self,
        *,
        t: float,
        method: str,
        endpoint: str,
        url: str,
        status: int,
        latency_ms: float,
        backend: str,
        verdict: Verdict,
    ) -> None:
        record = RequestRecord(round(t, 3), method, endpoint, status, round(latency_ms, 1), backend, verdict.outcome)
        self.records.append(record)
        self._writer.writerow(record.row())
        if verdict.outcome == FAILED:
            self.failures.append(Failure(round(t, 3), method, endpoint, url, status, backend, verdict.reason))

    def flush(self) -> None:
        if not self._stream.closed:
            self._stream.flush()

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
