"""The cutover report of one run folder: report.json (everything), report.md and report.html.

`build_report(run_dir)` is what the Ansible callback calls when a playbook ends; `radiology-ops report`
does the same from the command line. Missing pieces are listed, never fatal.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from .report_html import render_html
from .report_md import render_markdown
from .rundir import SWITCH_WORDS, phase_rows, read_gates, read_loads, read_watches

EXPECTED = ("phases.json", "verify.json", "api-diff.json", "load/summary.json", "watch.json")
REPORT_FILES = ("report.json", "report.md", "report.html")
REAL_BACKENDS = ("legacy", "imaging")


def _series(loads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-second latency and error points of every load, on the absolute (epoch) time axis."""
    points = []
    for load in loads:
        start = load.get("started_epoch")
        if start is None:  # figures from a requests.csv still being written: the file's own clock is unknown
            continue
        for sec in load.get("timeline") or []:
            points.append({"epoch": float(start) + sec["second"], "load": load["name"], **sec})
    return sorted(points, key=lambda p: p["epoch"])


def _final_state(
    phases: list[dict[str, Any]],
    gates: list[dict[str, Any]],
    loads: list[dict[str, Any]],
    watches: list[dict[str, Any]],
    series: list[dict[str, Any]],
) -> dict[str, Any]:
    steps = [p for p in phases if not p["is_playbook"]]
    failed_phases = [p["phase"] for p in phases if p["status"] == "failed"]
    unfinished = [p["phase"] for p in phases if p["ended"] is None]
    failed_gates = [g["file"] for g in gates if g["ok"] is False]
    failed_requests = sum(int(load.get("failed") or 0) for load in loads)
    failed_watches = [w["file"] for w in watches if w.get("ok") is False]
    backend = None
    for point in reversed(series):
        mix = {b: n for b, n in (point.get("backends") or {}).items() if b in REAL_BACKENDS}
        if mix:
            backend = max(mix, key=lambda b: mix[b])
            break
    if watches and watches[-1].get("ok"):
        backend = watches[-1].get("expect_backend") or backend
    # A rollback happened when one of its phases did work beyond reading the state (rollback.yml's plays also
    # run, as no-ops, after every successful cutover).
    rolled_back = any(
        "rollback" in p["phase"].lower() and "preflight" not in p["phase"].lower() and p["status"] != "skipped"
        for p in steps
    )
    ok = not (failed_phases or unfinished or failed_gates or failed_requests or failed_watches)
    return {
        "verdict": "success" if ok else "failed",
        "serving_backend": backend,
        "rolled_back": rolled_back,
        "last_phase": ({"phase": steps[-1]["phase"], "status": steps[-1]["status"]} if steps else None),
        "failed_phases": failed_phases,
        "unfinished_phases": unfinished,
        "failed_gates": failed_gates,
        "failed_requests": failed_requests,
        "failed_watches": failed_watches,
    }


def collect(run_dir: Path) -> dict[str, Any]:
    """Everything the report shows, as one JSON-ready document."""
    problems: list[str] = []
    phases = phase_rows(run_dir, problems)
    gates = read_gates(run_dir, problems)
    loads = read_loads(run_dir, problems)
    watches = read_watches(run_dir, problems)
    series = _series(loads)
    starts = [p["started_epoch"] for p in phases if p["started_epoch"] is not None] + [s["epoch"] for s in series]
    origin = min(starts) if starts else None
    for point in series:
        point["t"] = round(point["epoch"] - origin, 3) if origin is not None else None
    markers = [
        {
            "t": round(p["started_epoch"] - origin, 3),
            "phase": p["phase"],
            "status": p["status"],
            "kind": next((w for w in SWITCH_WORDS if w in p["phase"].lower()), "phase"),
        }
        for p in phases
        if origin is not None and p["started_epoch"] is not None and not p["is_playbook"] and p["status"] != "skipped"
    ]
    ends = [p["ended_epoch"] for p in phases if p["ended_epoch"] is not None] + [s["epoch"] + 1 for s in series]
    return {
        "run_dir": str(run_dir.resolve()),
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "origin_epoch": origin,
        "total_seconds": round(max(ends) - origin, 3) if ends and origin is not None else None,
        "missing": [name for name in EXPECTED if not (run_dir / name).exists()],
        "problems": problems,
        "final_state": _final_state(phases, gates, loads, watches, series),
        "phases": phases,
        "gates": gates,
        "loads": [{k: v for k, v in load.items() if k != "timeline"} for load in loads],
        "watches": watches,
        "series": series,
        "markers": markers,
    }


def build_report(run_dir: Path | str) -> dict[str, Path]:
    """Write report.json, report.md and report.html into run_dir; return their paths by name."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"run folder {folder} does not exist")
    report = collect(folder)
    paths = {name: folder / name for name in REPORT_FILES}
    texts = {
        "report.json": json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n",
        "report.md": render_markdown(report),
        "report.html": render_html(report),
    }
    for name, text in texts.items():
        tmp = paths[name].with_name(name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(paths[name])
    return paths
