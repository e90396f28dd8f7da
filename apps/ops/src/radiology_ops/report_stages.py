"""Rows per second of the migration stages (snapshot, load, verify, and any other step whose evidence carries rows
and seconds), from what the run folder holds, best first:

    verify*.json            `radiology-migrate verify --json` (read by rundir.read_gates): rows_verified, seconds
                            (verify-rollback-history.json: the stage "rollback history-verify")
    load*.json              `radiology-migrate load --json`: rows, seconds (the whole command)
    progress.log            `[host ]<time> <step> started (pid …)` … `<step> done 3019 rows in 0.9s`: when a step
                            started and ended (to the second), and its rows and seconds (to 0.1 s) when no JSON says
    snapshot/*.meta.json    a snapshot's row counts, when its progress lines are missing

rows_per_second is rows / seconds of the whole step (as radiology_migration.bench measures it); the evidence's own
rows_per_second is kept beside it as evidence_rows_per_second (load.json's counts its timed transaction parts only;
verify.json's divides by the unrounded seconds). A stage belongs to
the rollback when it started during the rollback's phases (progress.log), or its file or snapshot is named
`…rollback…`. A stage the run should have and no evidence shows is "not recorded".

A two-stage cutover first loads a live snapshot in its "stage" phase, before the freeze (stage 1: progress steps
stage-snapshot, stage-load, stage-verify; evidence load-stage.json, verify-stage.json and
snapshot/cutover-<run>-stage.duckdb.meta.json, see is_stage_one), then the delta under the freeze (stage 2: the
steps snapshot, load, verify as before). In such a run the labels say which is which ("stage 1 load (live)",
"stage 2 load (frozen)"); a run without stage 1 keeps the plain labels ("load").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .fmt import cut, seconds
from .phases import parse_time

PROGRESS_LOG = "progress.log"
EVIDENCE_PATTERNS = ("load*.json",)  # verify*.json come from the gates
STAGE_PHASE = "stage"  # the phase of stage 1 (phases.json), before the freeze
STAGE_ONE = "stage-"  # the prefix of stage 1's steps: stage-snapshot, stage-load, stage-verify
FROZEN_STEPS = ("snapshot", "load", "verify")  # stage 2 of a two-stage cutover (the only stage of an older one)
# A rollback's verification of the examinations and reports after the legacy takes writes again
# (verify-rollback-history.json), apart from its verification of the tasks before (verify-rollback.json).
HISTORY_VERIFY = "history-verify"  # also its step name in progress.log
STEP_ORDER = (*(STAGE_ONE + step for step in FROZEN_STEPS), *FROZEN_STEPS, HISTORY_VERIFY)
NOT_RECORDED = "not recorded"
LINE = re.compile(r"^(?:(?P<host>\S+) )?(?P<stamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (?P<step>\S+) (?P<text>.*)$")
DONE = re.compile(r"^done (?:(?P<counts>.*) )?in (?P<seconds>\d+(?:\.\d+)?)s$")
ROWS = re.compile(r"(?:^| )(\d+) rows(?: |$)")

Key = tuple[str, bool]  # (step, rollback)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rows_of(entry: dict[str, Any] | None) -> bool:
    return entry is not None and entry.get("rows") is not None


def _named_rollback(*names: Any) -> bool:
    return any("rollback" in Path(str(name)).name for name in names if name)


def is_stage_one(name: Any) -> bool:
    """Whether a file of the run folder is stage 1's evidence (the live load before the freeze), by its name:
    load-stage.json, verify-stage.json, api-diff-stage.json, snapshot/cutover-<run>-stage.duckdb.meta.json."""
    return Path(str(name)).name.split(".", 1)[0].endswith("-stage")


def stage_ran(phases: list[dict[str, Any]]) -> bool:
    """Whether the run has a stage 1: a "stage" phase in phases.json that was not skipped."""
    return any(p["phase"] == STAGE_PHASE and p["status"] != "skipped" for p in phases)


def _step_of(step: str, file: str) -> str:
    """The step a piece of evidence belongs to: stage 1's own (stage-load, …) when its file name says stage 1, the
    rollback's history verify when it says history."""
    if step == "verify" and Path(str(file)).name.split(".", 1)[0].endswith("-history"):
        return HISTORY_VERIFY
    return STAGE_ONE + step if is_stage_one(file) else step


def _label(step: str, rollback: bool, two_stage: bool) -> str:
    if rollback:
        return f"rollback {step}"
    if step.startswith(STAGE_ONE):
        return f"stage 1 {step.removeprefix(STAGE_ONE)} (live)"
    if two_stage and step in FROZEN_STEPS:
        return f"stage 2 {step} (frozen)"
    return step


def _progress_entry(match: re.Match[str], epoch: float) -> dict[str, Any]:
    return {"host": match["host"], "start_epoch": epoch, "end_epoch": None, "rows": None, "seconds": None, "ok": None}


def _close_entry(entry: dict[str, Any], text: str, epoch: float) -> None:
    entry["end_epoch"] = epoch
    done = DONE.match(text)
    if done is None:
        entry["ok"] = False
        entry["error"] = text.removeprefix("failed:").strip()
        return
    rows = ROWS.search(done["counts"] or "")
    entry.update(ok=True, seconds=float(done["seconds"]), rows=int(rows.group(1)) if rows else None)


def progress_steps(run_dir: Path, problems: list[str]) -> list[dict[str, Any]]:
    """The steps progress.log shows, in the order they started: step, host, start/end epochs, rows, seconds, ok."""
    path = run_dir / PROGRESS_LOG
    if not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        problems.append(f"{PROGRESS_LOG}: unreadable ({e})")
        return []
    steps: list[dict[str, Any]] = []
    running: dict[tuple[str | None, str], dict[str, Any]] = {}
    for line in lines:
        match = LINE.match(line)
        epoch = parse_time(match["stamp"]) if match else None
        if match is None or epoch is None:
            continue
        key, text = (match["host"], match["step"]), match["text"]
        if text.startswith("started"):
            running[key] = {"step": match["step"], **_progress_entry(match, epoch)}
            steps.append(running[key])
        elif key in running and (text.startswith("done") or text.startswith("failed:")):
            _close_entry(running.pop(key), text, epoch)
    return steps


def _json_evidence(run_dir: Path, gates: list[dict[str, Any]], problems: list[str]) -> dict[Key, dict[str, Any]]:
    found: dict[Key, dict[str, Any]] = {}
    for gate in gates:
        summary = gate.get("summary") or {}
        if gate["kind"] == "verify" and _count(summary.get("rows_verified")) is not None:
            key = (_step_of("verify", gate["file"]), _named_rollback(gate["file"], summary.get("snapshot")))
            found[key] = {"file": gate["file"], "rows": summary["rows_verified"], "seconds": summary.get("seconds")}
            if _number(summary.get("rows_per_second")) is not None:
                found[key]["evidence_rows_per_second"] = summary["rows_per_second"]
    for path in sorted(p for pattern in EVIDENCE_PATTERNS for p in run_dir.glob(pattern) if p.is_file()):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            problems.append(f"{path.name}: unreadable ({e})")
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("command"), str) or _count(doc.get("rows")) is None:
            continue
        key = (_step_of(doc["command"], path.name), _named_rollback(path.name, doc.get("snapshot")))
        found[key] = {"file": path.name, "rows": doc["rows"], "seconds": doc.get("seconds")}
        if isinstance(doc.get("mode"), str):  # "delta": a load of the rows changed since stage 1's snapshot
            found[key]["mode"] = doc["mode"]
        if _number(doc.get("rows_per_second")) is not None:
            found[key]["evidence_rows_per_second"] = doc["rows_per_second"]
    return found


def _snapshot_rows(run_dir: Path, problems: list[str]) -> dict[Key, dict[str, Any]]:
    found: dict[Key, dict[str, Any]] = {}
    for path in sorted((run_dir / "snapshot").glob("*.meta.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            problems.append(f"snapshot/{path.name}: unreadable ({e})")
            continue
        counts = doc.get("counts") if isinstance(doc, dict) else None
        if isinstance(counts, dict) and all(_count(v) is not None for v in counts.values()):
            found[(_step_of("snapshot", path.name), _named_rollback(path.name))] = {
                "file": f"snapshot/{path.name}",
                "rows": sum(counts.values()),
            }
    return found


def _stage(
    key: Key, progress: dict[str, Any] | None, evidence: dict[str, Any] | None, *, two_stage: bool
) -> dict[str, Any]:
    step, rollback = key
    progress, evidence = progress or {}, evidence or {}
    rows = _count(evidence.get("rows")) if evidence.get("rows") is not None else progress.get("rows")
    timed_by_evidence = _number(evidence.get("seconds")) is not None
    secs = _number(evidence.get("seconds")) if timed_by_evidence else progress.get("seconds")
    stage: dict[str, Any] = {
        "stage": step,
        "rollback": rollback,
        "label": _label(step, rollback, two_stage),
        "start_epoch": progress.get("start_epoch"),
        "end_epoch": progress.get("end_epoch"),
        "seconds": secs,
        "rows": rows,
        "rows_per_second": round(rows / secs) if rows is not None and secs else None,
        "sources": [s for s in (evidence.get("file"), PROGRESS_LOG if progress else None) if s],
        "seconds_from": evidence.get("file") if timed_by_evidence else PROGRESS_LOG if secs is not None else None,
    }
    for extra in ("evidence_rows_per_second", "mode"):
        if extra in evidence:
            stage[extra] = evidence[extra]
    stage["text"] = _stage_text(stage, progress)
    return stage


def _stage_text(stage: dict[str, Any], progress: dict[str, Any]) -> str:
    if progress.get("ok") is False:
        return f"failed: {cut(progress.get('error') or 'no reason given', 200, PROGRESS_LOG)}"
    if stage["rows_per_second"] is not None:
        rough = f", time to 0.1 s from {PROGRESS_LOG}" if stage["seconds_from"] == PROGRESS_LOG else ""
        return f"{stage['rows_per_second']:,} rows/s ({stage['rows']:,} rows in {seconds(stage['seconds'])}{rough})"
    if stage["rows"] is not None:
        return f"{stage['rows']:,} rows, time {NOT_RECORDED}"
    if progress:
        return f"started, end {NOT_RECORDED} (no last line in {PROGRESS_LOG})"
    return NOT_RECORDED


def migration_stages(
    run_dir: Path,
    gates: list[dict[str, Any]],
    *,
    rollback_from: float | None,
    expected: list[Key],
    problems: list[str],
) -> list[dict[str, Any]]:
    """One entry per stage: the `expected` ones (each measured or "not recorded") and any other with rows.
    `rollback_from`: when the rollback's first phase started (None: no rollback phase ran)."""
    progress: dict[Key, dict[str, Any]] = {}
    for entry in progress_steps(run_dir, problems):
        rollback = rollback_from is not None and entry["start_epoch"] >= int(rollback_from)
        progress[(entry["step"], rollback)] = entry  # a step run twice: its last run
    evidence = {**_snapshot_rows(run_dir, problems), **_json_evidence(run_dir, gates, problems)}
    found = [k for k in {**progress, **evidence} if _rows_of(evidence.get(k)) or _rows_of(progress.get(k))]
    keys = list(dict.fromkeys([*expected, *found]))
    keys.sort(key=lambda k: (k[1], STEP_ORDER.index(k[0]) if k[0] in STEP_ORDER else len(STEP_ORDER), k[0]))
    two_stage = any(step.startswith(STAGE_ONE) and not rollback for step, rollback in keys)
    return [_stage(k, progress.get(k), evidence.get(k), two_stage=two_stage) for k in keys]
