#!/usr/bin/env python3
"""Summarise the end-to-end scenario's evidence: per step, the playbook runs, the phases, the load, the tasks.

    summarize.py REPORTS_DIR      (reports/molecule-cutover; one folder per step)

Writes REPORTS_DIR/summary.json and summary.md and prints the Markdown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def step_figures(folder: Path) -> dict[str, Any]:
    report = _read(folder / "report.json") or {}
    load = _read(folder / "load" / "summary.json") or {}
    tasks = _read(folder / "tasks-check.json") or {}
    phases: dict[str, float] = {}
    for p in report.get("phases", []):
        if p["is_playbook"] or p["status"] == "skipped" or p["duration_s"] is None:
            continue
        phases[p["phase"]] = round(phases.get(p["phase"], 0.0) + p["duration_s"], 1)
    return {
        "step": folder.name,
        "runs": _read(folder / "runs.json") or [],
        "phases_s": phases,
        "verdict": (report.get("final_state") or {}).get("verdict"),
        "rolled_back": (report.get("final_state") or {}).get("rolled_back"),
        "load": {k: load.get(k) for k in ("requests", "ok", "frozen", "failed")}
        | {"p99_ms": (load.get("latency_ms") or {}).get("p99")},
        "tasks": {k: tasks.get(k) for k in ("backend", "live_checked", "deleted_checked", "missing_count", "ok")},
        "failover": _read(folder / "failover.json"),
    }


def markdown(steps: list[dict[str, Any]]) -> str:
    lines = [
        "| step | runs (rc, s) | requests | failed | frozen | p99 ms | tasks live/deleted checked | key phases (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        runs = ", ".join(f"{r['playbook']} rc={r['rc']} {r['seconds']}s" for r in s["runs"])
        keys = (
            "stage",
            "freeze",
            "migrate",
            "gates",
            "switch",
            "watch",
            "carry-back",
            "rollback-verify",
            "rollback-switch",
        )
        phases = ", ".join(f"{k} {s['phases_s'][k]}" for k in keys if k in s["phases_s"])
        t = s["tasks"]
        lines.append(
            f"| {s['step']} | {runs} | {s['load']['requests']} | {s['load']['failed']} | {s['load']['frozen']} | "
            f"{s['load']['p99_ms']} | {t['backend']}: {t['live_checked']}/{t['deleted_checked']} "
            f"(missing {t['missing_count']}) | {phases} |"
        )
    for s in steps:
        f = s.get("failover")
        if f:
            reaction = f["failover_started_epoch"] - f["lost_epoch"]
            lines.append(
                f"\n{s['step']}: the primary lost, the failover started {reaction:.1f} s later and took "
                f"{f['failover_seconds']} s; users' error window {f['error_window_seconds']} s "
                f"(last failed request {f['last_failed_after_failover_end_seconds']} s after the failover ended), "
                f"{f['failed_requests']} of {f['requests']} requests failed"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[0])
    steps = [step_figures(f) for f in sorted(root.iterdir()) if f.is_dir() and (f / "runs.json").is_file()]
    (root / "summary.json").write_text(json.dumps(steps, indent=2) + "\n", encoding="utf-8")
    text = markdown(steps)
    (root / "summary.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
