"""Reading a cutover run folder: phases, gate outputs, load results and the watch, each optional.

Layout of a run folder (every piece may be missing; the report says which):

    phases.json            phase records (see phases.py)
    verify*.json           `radiology-migrate verify --json` outputs (e.g. verify.json, verify-rollback.json)
    api-diff*.json         `radiology-migrate api-diff --json` outputs
    load*/summary.json     `radiology-ops load` results (+ requests.csv, tasks.json), e.g. load/, load-rollback/
    watch*.json            `radiology-ops watch --json` results
    tasks-check*.json      whether every task written under load is on the serving backend (molecule's
                           check_tasks.py: live_checked, deleted_checked, missing[_count], resurrected[_count], ok)
    run.json               who ran what: playbook, run id, operator, change, dry run, releases, backup, load
    state-end.json         where the users were when the run ended, read from the hosts

(run.json and state-end.json are read by report_run.py.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .checks import FAILED
from .fmt import cut, key_sample
from .load import REQUESTS_CSV
from .loadfiles import load_figures
from .phases import PhaseRecordError, parse_time, read_phases
from .stats import read_requests_csv

SWITCH_WORDS = ("switch", "rollback", "flip")
LISTED_KEYS = 50  # `radiology-migrate verify` lists at most this many keys per list (its checksums.LISTED_KEYS)


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


def _checksum_table(table: dict[str, Any]) -> dict[str, Any]:
    out = {"rows": table.get("rows"), "ok": table.get("ok"), "aggregate": table.get("aggregate")}
    if table.get("ok") is False:  # the key lists, cut to a count and a few examples
        diffs = [d for d in table.get("differences") or [] if isinstance(d, dict)]
        out.update(
            mismatching_rows=table.get("mismatching_rows"),
            differing_buckets=table.get("differing_buckets"),
            missing_in_postgres=key_sample(table.get("missing_in_postgres"), cap=LISTED_KEYS),
            extra_in_postgres=key_sample(table.get("extra_in_postgres"), cap=LISTED_KEYS),
            differing=key_sample([d.get("key") for d in diffs], cap=LISTED_KEYS),
            differing_fields=sorted({str(f) for d in diffs for f in d.get("fields") or []}),
        )
    return out


def _key_problem(problem: dict[str, Any]) -> dict[str, Any]:
    duplicates = [f"{d.get('key')} x{d.get('count')}" for d in problem.get("duplicates") or [] if isinstance(d, dict)]
    return {
        "side": problem.get("side"),
        "table": problem.get("table"),
        "key": problem.get("key"),
        "null_keys": problem.get("null_keys"),
        "duplicates": key_sample(duplicates, total=problem.get("duplicate_count")),
    }


def _verify_summary(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: doc.get(k) for k in ("rows_verified", "seconds", "rows_per_second", "snapshot")}
    for gate in doc.get("gates") or []:
        if not isinstance(gate, dict):
            continue
        if gate.get("gate") == "counts":
            out["counts"] = {"source": gate.get("snapshot"), "target": gate.get("postgres"), "ok": gate.get("ok")}
            out["counts_mismatched"] = gate.get("mismatched") or {}
        elif gate.get("gate") == "keys":
            out["keys_ok"] = gate.get("ok")
            out["key_problems"] = [_key_problem(p) for p in gate.get("problems") or [] if isinstance(p, dict)]
            out["keys_proof"] = gate.get("proof") or {}  # per side and table: the constraint relied on, or "scan"
        elif gate.get("gate") == "checksums":
            tables = gate.get("tables") or {}
            out["checksums"] = {name: _checksum_table(t) for name, t in tables.items() if isinstance(t, dict)}
    out["gates"] = [{"gate": g.get("gate"), "ok": g.get("ok")} for g in doc.get("gates") or [] if isinstance(g, dict)]
    return out


def _api_diff_summary(doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("requests", "write_steps", "difference_count", "legacy_status_counts", "noise_runs")
    out: dict[str, Any] = {k: doc.get(k) for k in keys}
    out["differences"] = (doc.get("differences") or [])[:10]
    out["differences_listed"] = len(doc.get("differences") or [])
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
                    error=cut(doc.get("error"), where=path.name) if doc.get("error") is not None else None,
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
        figures["failed_seen_epochs"] = _failed_seen_epochs(folder, figures)
        tasks_path = folder / "tasks.json"
        if tasks_path.is_file():
            tasks = _read_json(tasks_path, problems) or {}
            figures["tasks"] = {
                "created": len(tasks.get("created", [])),
                "deleted": len(tasks.get("deleted", [])),
                "live": len(tasks.get("live", [])),
                "delete_unsure": len(tasks.get("delete_unsure", [])),
                "by_backend": _by_backend(tasks),
            }
        if not figures.get("complete"):
            problems.append(f"{folder.name}/: summary.json missing, figures computed from requests.csv")
        loads.append(figures)
    return loads


def _failed_seen_epochs(folder: Path, figures: dict[str, Any]) -> list[float] | None:
    """When each failed answer reached its user (epoch seconds), from the load's requests.csv; None without it or
    without the load's start."""
    csv_path, start = folder / REQUESTS_CSV, figures.get("started_epoch")
    if start is None or not csv_path.is_file():
        return None
    return sorted(
        round(float(start) + r.t + r.latency_ms / 1000, 3) for r in read_requests_csv(csv_path) if r.outcome == FAILED
    )


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


def _failure(failure: dict[str, Any]) -> dict[str, Any]:
    return {**failure, "message": cut(failure.get("message"), where="phases.json")}


def read_task_checks(run_dir: Path, problems: list[str]) -> list[dict[str, Any]]:
    """The checks that every task written under load is where it belongs, their id lists cut to samples."""
    checks = []
    for path in sorted(run_dir.glob("tasks-check*.json")):
        doc = _read_json(path, problems)
        if not isinstance(doc, dict):
            continue
        checks.append(
            {
                "file": path.name,
                "ok": doc.get("ok") if isinstance(doc.get("ok"), bool) else None,
                "backend": doc.get("backend"),
                "live_checked": doc.get("live_checked"),
                "deleted_checked": doc.get("deleted_checked"),
                "missing": key_sample(doc.get("missing"), total=doc.get("missing_count")),
                "resurrected": key_sample(doc.get("resurrected"), total=doc.get("resurrected_count")),
            }
        )
    return checks


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
                "failures": [_failure(f) for f in rec.get("failures") or [] if isinstance(f, dict)],
            }
        )
    return rows
