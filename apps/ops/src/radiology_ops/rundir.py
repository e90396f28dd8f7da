"""Reading a cutover run folder: phases, gate outputs, load results and the watch, each optional.

Layout of a run folder (every piece may be missing; the report says which):

    phases.json            phase records (see phases.py)
    verify*.json           `radiology-migrate verify --json` outputs (e.g. verify.json, verify-rollback.json)
    api-diff*.json         `radiology-migrate api-diff --json` outputs
    load*/summary.json     `radiology-ops load` results (+ requests.csv, tasks.json), e.g. load/, load-rollback/
    watch*.json            `radiology-ops watch --json` results
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .loadfiles import load_figures
from .phases import PhaseRecordError, parse_time, read_phases

SWITCH_WORDS = ("switch", "rollback", "flip")


def _read_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        problems.append(f"{path.name}: unreadable ({e})")
        return None


def gate_flag(doc: Any) -> bool | None:
    """The verdict of a gate output: its "ok" or "passed" flag (None when it has neither)."""
    if not isinstance(doc, dict):
        return None
    for key in ("ok", "passed"):
        if isinstance(doc.get(key), bool):
            return bool(doc[key])
    return None


def _verify_summary(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: doc.get(k) for k in ("rows_verified", "seconds", "rows_per_second", "snapshot")}
    for gate in doc.get("gates") or []:
        if not isinstance(gate, dict):
            continue
        if gate.get("gate") == "counts":
            out["counts"] = {"source": gate.get("snapshot"), "target": gate.get("postgres"), "ok": gate.get("ok")}
        elif gate.get("gate") == "keys":
            out["keys_ok"] = gate.get("ok")
        elif gate.get("gate") == "checksums":
            tables = gate.get("tables") or {}
            out["checksums"] = {
                name: {"rows": t.get("rows"), "ok": t.get("ok"), "aggregate": t.get("aggregate")}
                for name, t in tables.items()
                if isinstance(t, dict)
            }
    out["gates"] = [{"gate": g.get("gate"), "ok": g.get("ok")} for g in doc.get("gates") or [] if isinstance(g, dict)]
    return out


def _api_diff_summary(doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("requests", "write_steps", "difference_count", "legacy_status_counts", "noise_runs")
    out: dict[str, Any] = {k: doc.get(k) for k in keys}
    out["differences"] = (doc.get("differences") or [])[:10]
    return out


def read_gates(run_dir: Path, problems: list[str]) -> list[dict[str, Any]]:
    gates = []
    for kind, pattern, summarise in (
        ("verify", "verify*.json", _verify_summary),
        ("api-diff", "api-diff*.json", _api_diff_summary),
    ):
        for path in sorted(run_dir.glob(pattern)):
            doc = _read_json(path, problems)
            if doc is None:
                continue
            entry = {"file": path.name, "kind": kind, "ok": gate_flag(doc)}
            if isinstance(doc, dict):
                entry.update(
                    command=doc.get("command"),
                    error=doc.get("error"),
                    check_mode=doc.get("check_mode"),
                    summary=summarise(doc),
                )
            gates.append(entry)
    return gates


def read_loads(run_dir: Path, problems: list[str]) -> list[dict[str, Any]]:
    loads = []
    for folder in sorted(p for p in run_dir.glob("load*") if p.is_dir()):
        figures = load_figures(folder)
        if figures is None:
            problems.append(f"{folder.name}/: no summary.json or requests.csv")
            continue
        figures["name"] = folder.name
        tasks_path = folder / "tasks.json"
        if tasks_path.is_file():
            tasks = _read_json(tasks_path, problems) or {}
            figures["tasks"] = {
                "created": len(tasks.get("created", [])),
                "deleted": len(tasks.get("deleted", [])),
                "live": len(tasks.get("live", [])),
                "by_backend": _by_backend(tasks),
            }
        if not figures.get("complete"):
            problems.append(f"{folder.name}/: summary.json missing, figures computed from requests.csv")
        loads.append(figures)
    return loads


def _by_backend(tasks: dict[str, Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for verb in ("created", "deleted"):
        for entry in tasks.get(verb, []):
            backend = str(entry.get("backend"))
            out.setdefault(backend, {"created": 0, "deleted": 0})[verb] += 1
    return out


def read_watches(run_dir: Path, problems: list[str]) -> list[dict[str, Any]]:
    watches = []
    for path in sorted(run_dir.glob("watch*.json")):
        doc = _read_json(path, problems)
        if isinstance(doc, dict):
            doc = {k: v for k, v in doc.items() if k != "poll_log"}
            watches.append({"file": path.name, **doc})
    return watches


def phase_rows(run_dir: Path, problems: list[str]) -> list[dict[str, Any]]:
    try:
        records = read_phases(run_dir)
    except PhaseRecordError as e:
        problems.append(str(e))
        return []
    rows = []
    for rec in records:
        started, ended = parse_time(rec.get("started")), parse_time(rec.get("ended"))
        hosts = rec.get("hosts") if isinstance(rec.get("hosts"), list) else [rec["host"]] if rec.get("host") else []
        name = str(rec.get("phase", "?"))
        status = rec.get("status") or ("running" if ended is None else "ok")
        if status == "ok" and not hosts and not name.startswith("playbook "):
            status = "skipped"  # the play ended on every host before running a task (e.g. a rollback not wanted)
        rows.append(
            {
                "phase": name,
                "title": rec.get("title"),
                "hosts": [str(h) for h in hosts],
                "started": rec.get("started"),
                "ended": rec.get("ended"),
                "started_epoch": started,
                "ended_epoch": ended,
                "duration_s": round(ended - started, 3) if started is not None and ended is not None else None,
                "status": status,
                "is_playbook": name.startswith("playbook "),
                "is_switch": any(w in name.lower() for w in SWITCH_WORDS),
                "detail": rec.get("detail") or {},
                "failures": rec.get("failures") or [],
            }
        )
    return rows
