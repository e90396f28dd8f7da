"""Request records, their CSV file and the figures computed from them (counts, percentiles, timeline)."""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .checks import FAILED, FROZEN, OK

CSV_COLUMNS = ("t", "method", "endpoint", "status", "latency_ms", "backend", "outcome")
MAX_LISTED_FAILURES = 50
NO_BACKEND = "none"  # no X-Backend header: transport errors and the web server's own files
# A GET that failed like a dead backend (no answer, 502/503/504 but writes_frozen) after which the user re-read
# build-info.json, found another API base and re-sent it there: the user saw the retry's outcome (its own
# record), but this first failure stays on record under its own name, apart from ok, frozen and failed.
RECOVERED = "recovered"


@dataclass(frozen=True)
class RequestRecord:
    t: float  # seconds since the load started
    method: str
    endpoint: str  # template, e.g. "GET /analysis/tasks/{id}" is method + this
    status: int  # 0 when no response arrived
    latency_ms: float
    backend: str
    outcome: str  # ok | frozen | failed | recovered

    def row(self) -> list[str]:
        return [
            f"{self.t:.3f}",
            self.method,
            self.endpoint,
            str(self.status),
            f"{self.latency_ms:.1f}",
            self.backend,
            self.outcome,
        ]


@dataclass(frozen=True)
class Failure:
    t: float
    method: str
    endpoint: str
    url: str
    status: int
    backend: str
    reason: str


def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return round(sorted_values[rank - 1], 1)


def latency_figures(records: Iterable[RequestRecord]) -> dict[str, float | None]:
    values = sorted(r.latency_ms for r in records if r.status)
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": round(values[-1], 1) if values else None,
    }


def _outcomes(records: Sequence[RequestRecord]) -> dict[str, int]:
    counts = Counter(r.outcome for r in records)
    return {
        "requests": len(records),
        OK: counts[OK],
        FROZEN: counts[FROZEN],
        FAILED: counts[FAILED],
        RECOVERED: counts[RECOVERED],
    }


def failures_seen(records: Iterable[RequestRecord]) -> dict[str, float] | None:
    """When users saw the first and the last failed answer (a request's start plus its latency), in seconds since the
    load started; None without a failure. The user-visible error window, to the millisecond."""
    seen = [r.t + r.latency_ms / 1000 for r in records if r.outcome == FAILED]
    if not seen:
        return None
    return {"first_s": round(min(seen), 3), "last_s": round(max(seen), 3)}


def timeline(records: Iterable[RequestRecord]) -> list[dict[str, Any]]:
    """One entry per second of the run (seconds without requests included): counts, p50/p99, backend mix."""
    per_second: dict[int, list[RequestRecord]] = defaultdict(list)
    for r in records:
        per_second[int(r.t)].append(r)
    if not per_second:
        return []
    out = []
    for second in range(max(per_second) + 1):
        bucket = per_second.get(second, [])
        lat = latency_figures(bucket)
        out.append(
            {
                "second": second,
                "count": len(bucket),
                "ok": sum(r.outcome == OK for r in bucket),
                "frozen": sum(r.outcome == FROZEN for r in bucket),
                "failed": sum(r.outcome == FAILED for r in bucket),
                "recovered": sum(r.outcome == RECOVERED for r in bucket),
                "p50": lat["p50"],
                "p99": lat["p99"],
                "backends": dict(sorted(Counter(r.backend for r in bucket).items())),
            }
        )
    return out


@dataclass
class Summary:
    """The figures of one load run; `as_dict()` is summary.json."""

    started_at: str  # UTC, ISO 8601 with Z
    started_epoch: float
    duration_s: float
    stopped_by: str  # duration | max_requests | signal
    config: dict[str, Any]
    requests: int
    ok: int
    frozen: int
    failed: int
    rps: float
    latency_ms: dict[str, float | None]
    per_backend: dict[str, dict[str, Any]]
    failure_reasons: dict[str, int]
    failures: list[dict[str, Any]]
    writes: dict[str, int]
    timeline: list[dict[str, Any]] = field(default_factory=list)
    recovered: int = 0  # first failures of GETs that succeeded after following a release switch (RECOVERED)
    failures_seen: dict[str, float] | None = None  # first and last failed answer seen (failures_seen)

    @property
    def error_rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "error_rate": round(self.error_rate, 6)}

    def human(self) -> str:
        lat = self.latency_ms
        lines = [
            f"load: {self.requests} requests in {self.duration_s:.1f}s ({self.rps:.1f}/s), "
            f"stopped by {self.stopped_by}",
            f"  ok {self.ok}  frozen {self.frozen}  failed {self.failed}  recovered {self.recovered}  "
            f"(error rate {self.error_rate:.4%})",
            f"  latency ms p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}",
        ]
        for backend, figures in self.per_backend.items():
            lines.append(
                f"  {backend:<8} {figures['requests']:>7} requests  failed {figures['failed']:>4}  "
                f"p50 {figures['p50']}  p99 {figures['p99']}"
            )
        lines.append("  writes: " + ", ".join(f"{k} {v}" for k, v in self.writes.items()))
        lines += [f"  FAILED {reason}: {n}" for reason, n in list(self.failure_reasons.items())[:10]]
        return "\n".join(lines)


def reason_key(reason: str) -> str:
    """A failure reason without its variable tail, for counting (e.g. 'HTTP 500 internal_error')."""
    return reason.split(":", maxsplit=1)[0].strip()[:120]


def summarize(
    records: Sequence[RequestRecord],
    failures: Sequence[Failure],
    *,
    started_at: str,
    started_epoch: float,
    duration_s: float,
    stopped_by: str,
    config: dict[str, Any],
    writes: dict[str, int],
) -> Summary:
    counts = _outcomes(records)
    by_backend: dict[str, list[RequestRecord]] = defaultdict(list)
    for r in records:
        by_backend[r.backend].append(r)
    per_backend = {b: {**_outcomes(rs), **latency_figures(rs)} for b, rs in sorted(by_backend.items())}
    return Summary(
        started_at=started_at,
        started_epoch=round(started_epoch, 3),
        duration_s=round(duration_s, 3),
        stopped_by=stopped_by,
        config=config,
        requests=counts["requests"],
        ok=counts[OK],
        frozen=counts[FROZEN],
        failed=counts[FAILED],
        rps=round(len(records) / duration_s, 2) if duration_s > 0 else 0.0,
        latency_ms=latency_figures(records),
        per_backend=per_backend,
        failure_reasons=dict(Counter(reason_key(f.reason) for f in failures).most_common()),
        failures=[asdict(f) for f in failures[:MAX_LISTED_FAILURES]],
        writes=writes,
        timeline=timeline(records),
        recovered=counts[RECOVERED],
        failures_seen=failures_seen(records),
    )


def write_csv_header(stream: TextIO) -> Any:
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    return writer


def read_requests_csv(path: Path) -> list[RequestRecord]:
    """Records of a requests.csv; a truncated last line (a run still writing) is skipped."""
    records = []
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            try:
                records.append(
                    RequestRecord(
                        float(row["t"]),
                        row["method"],
                        row["endpoint"],
                        int(row["status"]),
                        float(row["latency_ms"]),
                        row["backend"],
                        row["outcome"],
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue
    return records
