"""The cutover report of one run folder: report.json (everything), report.md and report.html.

`build_report(run_dir)` is what the Ansible callback calls when a playbook ends; `radiology-ops report`
does the same from the command line. Missing pieces are listed, never fatal.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from .report_figures import figures
from .report_final import final_state
from .report_headline import headline
from .report_html import render_html
from .report_md import render_markdown
from .report_run import (
    BACKUP_JSON,
    RUN_JSON,
    STATE_END_JSON,
    read_backup,
    read_carry_back,
    read_run,
    read_state_end,
    read_warm,
)
from .report_stages import stage_ran
from .rundir import SWITCH_WORDS, phase_rows, read_gates, read_loads, read_task_checks, read_watches

REPORT_FILES = ("report.json", "report.md", "report.html")


def expected_files(final: dict[str, Any], run: dict[str, Any] | None, phases: list[dict[str, Any]]) -> list[str]:
    """The files this kind of run leaves in its folder when it runs to its end."""
    names = ["phases.json", RUN_JSON, STATE_END_JSON]
    if final["playbook"] != "rollback":
        if not final["dry_run"] and stage_ran(phases):  # a two-stage cutover's gates of stage 1 (live)
            names += ["verify-stage.json", "api-diff-stage.json"]
        names += ["verify.json", "api-diff.json"]
    if final["playbook"] == "rollback" or final["rolled_back"]:
        names += ["verify-rollback.json", "verify-rollback-history.json"]
    if run is None:
        names.append("load/summary.json")  # whether a load ran is unknown: say so when none is there
    else:
        if run.get("load"):
            names.append(f"{run['load']['folder']}/summary.json")
        if run.get("backup"):
            names.append(BACKUP_JSON)
    if not final["dry_run"]:
        if final["playbook"] != "rollback":
            names.append("watch.json")
        if final["playbook"] == "rollback" or final["rolled_back"]:
            names.append("watch-rollback.json")
    return names


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


def collect(run_dir: Path) -> dict[str, Any]:
    """Everything the report shows, as one JSON-ready document."""
    problems: list[str] = []
    phases = phase_rows(run_dir, problems)
    gates = read_gates(run_dir, problems)
    loads = read_loads(run_dir, problems)
    watches = read_watches(run_dir, problems)
    task_checks = read_task_checks(run_dir, problems)
    run = read_run(run_dir, problems)
    state = read_state_end(run_dir, problems)
    backup = read_backup(run_dir, problems)
    warm = read_warm(run_dir, problems)
    carried = read_carry_back(run_dir, problems)
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
    final = final_state(phases, gates, loads, watches, task_checks=task_checks, run=run, state=state)
    total_seconds = round(max(ends) - origin, 3) if ends and origin is not None else None
    figs = figures(run_dir, phases=phases, gates=gates, loads=loads, series=series, final=final, problems=problems)
    return {
        "run_dir": str(run_dir.resolve()),
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "origin_epoch": origin,
        "total_seconds": total_seconds,
        "missing": [name for name in expected_files(final, run, phases) if not (run_dir / name).exists()],
        "problems": problems,
        "headline": headline(final, run, total_seconds, backup, warm, carried=carried),
        "figures": figs,
        "final_state": final,
        "run": run,
        "backup": backup,
        "warm_counts": warm,
        "carry_back": carried,
        "state_end": state,
        "phases": phases,
        "gates": gates,
        "loads": [{k: v for k, v in load.items() if k not in ("timeline", "failed_seen_epochs")} for load in loads],
        "watches": watches,
        "task_checks": task_checks,
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
