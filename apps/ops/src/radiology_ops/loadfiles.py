"""Reading a load run back: summary.json when the run has ended, else figures from its requests.csv so far."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .checks import FAILED, FROZEN, OK
from .load import REQUESTS_CSV, SUMMARY_JSON
from .stats import RECOVERED, failures_seen, latency_figures, read_requests_csv, timeline


def load_figures(path: Path) -> dict[str, Any] | None:
    """Requests, ok, frozen, failed, recovered and error rate of a load: `path` is summary.json or the load's folder.

    Returns None when neither summary.json nor requests.csv exists.
    """
    folder = path if path.is_dir() else path.parent
    summary_path = path if path.is_file() else folder / SUMMARY_JSON
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        return {"source": str(summary_path), "complete": True, **summary}
    csv_path = folder / REQUESTS_CSV
    if not csv_path.is_file():
        return None
    records = read_requests_csv(csv_path)
    failed = sum(r.outcome == FAILED for r in records)
    return {
        "source": str(csv_path),
        "complete": False,
        "requests": len(records),
        "ok": sum(r.outcome == OK for r in records),
        "frozen": sum(r.outcome == FROZEN for r in records),
        "failed": failed,
        "recovered": sum(r.outcome == RECOVERED for r in records),
        "error_rate": round(failed / len(records), 6) if records else 0.0,
        "latency_ms": latency_figures(records),
        "timeline": timeline(records),
        "failures_seen": failures_seen(records),
    }
