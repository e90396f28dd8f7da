"""The headline figures of a run: each a number with its start, end and length, in report.json (`figures`), report.md,
report.html and `radiology-ops figures`, all read from here.

Every figure is {"start": ISO | None, "end": ISO | None, "seconds": float | None, "text": str, ...}: seconds 0.0 is
measured and none (a load without a failure, a rollback in the old order); seconds None is not measured or not
applicable, and "reason" says why (no load ran, no rollback in this run, an end not determined).

    write_freeze               the write-freeze windows for users (report_freeze.py), their total length
    user_errors                the first failed answer a user saw to the last (+ failed); for an older load summary,
                               the first second of the load with a failed request to the end of the last one
    user_errors_after_switch   the same from the start of the switch phase on: what the switch and the watch (and an
                               automatic rollback) cost users, apart from a slow legacy's timeouts before it
    rollback_writes_refused    start of rollback-freeze to end of rollback-unfreeze
    rollback_wall              the first rollback phase to the end of the last before rollback-verify-history
                               (standalone: from rollback-preflight; inside a cutover, which always reads the state in
                               rollback-preflight: from the next one): users back on the legacy, writable and watched
    rollback_history_verify    the rollback-verify-history phase, which follows with users back and writable: the
                               examinations and reports, which neither service writes, verified against the snapshot
                               of the frozen legacy (the playbook ends after it)
    tasks_missing_for_readers  start of rollback-switch to end of carry-back: readers already on the legacy before the
                               tasks written on the new service were carried there (0 when carry-back ended first)
    switch, rollback_switch    the switch phases
    rows_per_second            the migration stages (report_stages.py), each with rows, seconds, rows_per_second;
                               a two-stage cutover's stage 1 (live) before its stage 2 (frozen)
    standby_lag                (a database with standbys: standby.json of the gate before the switch) the largest
                               replay lag of a standby when all had replayed the load; the text gives each standby's
                               bytes behind when the gate began, and how long the gate took; absent without a standby
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from .fmt import seconds
from .report_final import is_rollback_phase
from .report_stages import FROZEN_STEPS, NOT_RECORDED, STAGE_ONE, Key, migration_stages, stage_ran

LABELS = {
    "write_freeze": "write freeze",
    "user_errors": "user errors",
    "user_errors_after_switch": "user errors after the switch",
    "rollback_writes_refused": "rollback writes refused",
    "rollback_wall": "rollback wall",
    "rollback_history_verify": "rollback history verify",
    "tasks_missing_for_readers": "tasks missing for readers",
    "switch": "switch",
    "rollback_switch": "rollback switch",
    "rows_per_second": "rows/s",
    "standby_lag": "standby lag at the switch",
}
NO_ROLLBACK = "no rollback in this run"
# Runs after the legacy takes writes again and its watch: an audit of rows nobody writes, not part of the rollback's
# wall (its own figure, rollback_history_verify).
HISTORY_PHASE = "rollback-verify-history"
DONE = ("ok", "changed")


def iso(epoch: float | None) -> str | None:
    """UTC ISO 8601 with Z, to the millisecond (to the second for a time recorded to the second)."""
    if epoch is None:
        return None
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    if epoch == int(epoch):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _figure(start: float | None, end: float | None, text: str, **extra: Any) -> dict[str, Any]:
    length = round(end - start, 3) if start is not None and end is not None else None
    return {"start": iso(start), "end": iso(end), "seconds": length, "text": text, **extra}


def _none(text: str, **extra: Any) -> dict[str, Any]:
    """Measured, and nothing: zero seconds."""
    return {"start": None, "end": None, "seconds": 0.0, "text": f"none: {text}", **extra}


def _unknown(reason: str, **extra: Any) -> dict[str, Any]:
    """Not measured or not applicable: seconds None, with the reason."""
    return {"start": None, "end": None, "seconds": None, "text": reason, "reason": reason, **extra}


def _between(start: float, end: float | None, what: str) -> str:
    if end is None:
        return f"from {iso(start)}, end not determined: {what}"
    return f"{seconds(round(end - start, 3))}: {what}"


# -- the figures ---------------------------------------------------------------------------------------------------
def write_freeze(freeze: dict[str, Any]) -> dict[str, Any]:
    """final_state's freeze (report_freeze.py): from the first window's start to the last one's end."""
    windows = freeze["windows"]
    ends = [w["end_epoch"] for w in windows]
    return {
        "start": iso(windows[0]["start_epoch"]) if windows else None,
        "end": iso(ends[-1]) if windows and None not in ends else None,
        "seconds": freeze["seconds"],
        "text": freeze["text"],
        "seconds_at_most": bool(freeze.get("seconds_at_most")),
        "windows": [
            {
                "start": iso(w["start_epoch"]),
                "end": iso(w["end_epoch"]),
                "seconds": w["seconds"],
                "opened_by": w["opened_by"],
                "closed_by": w["closed_by"],
            }
            for w in windows
        ],
    }


def _failures_seen(loads: list[dict[str, Any]]) -> tuple[float, float] | None:
    """From the first failed answer a user saw to the last, over every load (epoch seconds); None when a load with
    failures does not say when they were seen (a summary written before loads kept it)."""
    spans = []
    for load in loads:
        seen, start = load.get("failures_seen"), load.get("started_epoch")
        if not load.get("failed"):
            continue
        if not seen or start is None:
            return None
        spans.append((float(start) + seen["first_s"], float(start) + seen["last_s"]))
    return (min(a for a, _ in spans), max(b for _, b in spans)) if spans else None


def user_errors(series: list[dict[str, Any]], loads: list[dict[str, Any]], final: dict[str, Any]) -> dict[str, Any]:
    """From the first failed answer a user saw to the last (a request's start plus its latency); for a load that
    did not keep those, from the start of its first second with a failed request to the end of its last."""
    if not loads:
        return _unknown(final["failed_requests_text"], failed=None, requests=None)
    if not series:
        why = "not placed in time (the load's start is unknown: no summary.json)"
        return _unknown(why, failed=final["failed_requests"], requests=final["requests_under_load"])
    requests = sum(int(p.get("count") or 0) for p in series)
    failing = [p for p in series if p.get("failed")]
    if not failing:
        return _none(f"0 of {requests:,} requests failed", failed=0, requests=requests, seconds_with_failures=0)
    failed = sum(int(p["failed"]) for p in failing)
    seen = _failures_seen(loads)
    if seen is not None:
        start, end = seen
        text = f"{failed:,} of {requests:,} requests failed: first to last failed answer a user saw"
    else:
        start, end = failing[0]["epoch"], failing[-1]["epoch"] + 1
        text = f"{failed:,} of {requests:,} requests failed, in {len(failing)} second(s) of the load"
    return _figure(
        start,
        end,
        _between(start, end, text),
        failed=failed,
        requests=requests,
        seconds_with_failures=len(failing),
    )


def user_errors_after_switch(steps: list[dict[str, Any]], loads: list[dict[str, Any]]) -> dict[str, Any]:
    """From the first failed answer a user saw at or after the start of the switch phase to the last one."""
    switches = _named(steps, "switch")
    if not switches:
        return _unknown("no switch phase ran in this run")
    if not loads:
        return _unknown("not measured (no load ran during this run)")
    if any(load.get("failed_seen_epochs") is None for load in loads):
        return _unknown("not measured (a load without its requests.csv)")
    at = switches[0]["started_epoch"]
    requests = sum(int(load.get("requests") or 0) for load in loads)  # of the whole run, as user_errors
    seen = sorted(e for load in loads for e in load["failed_seen_epochs"] if e >= at)
    if not seen:
        return _none(f"0 requests failed from {iso(at)} (the switch) on", failed=0, requests=requests)
    what = f"{len(seen):,} failed answers seen from the switch on: first to last"
    return _figure(seen[0], seen[-1], _between(seen[0], seen[-1], what), failed=len(seen), requests=requests)


def _ran(phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The phases that did something: no playbook records, no plays skipped on every host."""
    return [p for p in phases if not p["is_playbook"] and p["status"] != "skipped"]


def _named(steps: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [p for p in steps if p["phase"] == name and p["started_epoch"] is not None]


def phase_span(steps: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """From the start of the first phase `name` to the end of the last (a phase of several plays)."""
    runs = _named(steps, name)
    if not runs:
        return _unknown(f"no {name} phase ran in this run")
    end = runs[-1]["ended_epoch"]
    status = "failed" if any(p["status"] == "failed" for p in runs) else runs[-1]["status"]
    what = f"the {name} phase ({status})" if end is not None else f"the {name} phase did not end"
    return _figure(runs[0]["started_epoch"], end, _between(runs[0]["started_epoch"], end, what), status=status)


def rollback_writes_refused(steps: list[dict[str, Any]]) -> dict[str, Any]:
    freezes = _named(steps, "rollback-freeze")
    if not freezes:
        return _unknown(f"{NO_ROLLBACK} (no rollback-freeze phase ran)")
    start = freezes[0]["started_epoch"]
    unfreezes = [p for p in _named(steps, "rollback-unfreeze") if p["started_epoch"] >= start]
    last = unfreezes[-1] if unfreezes else None
    if last is None or last["status"] not in DONE or last["ended_epoch"] is None:
        why = "no rollback-unfreeze phase ran" if last is None else f"the rollback-unfreeze phase {last['status']}"
        return _figure(start, None, _between(start, None, why))
    end = last["ended_epoch"]
    return _figure(start, end, _between(start, end, "start of rollback-freeze → end of rollback-unfreeze"))


def _rollback_phases(steps: list[dict[str, Any]], final: dict[str, Any]) -> list[dict[str, Any]]:
    phases = [p for p in steps if is_rollback_phase(p["phase"]) and p["started_epoch"] is not None]
    if final["playbook"] == "rollback":
        return phases
    if not final["rolled_back"]:
        return []
    while phases and phases[0]["phase"] == "rollback-preflight":  # runs after every cutover: reads the state
        phases = phases[1:]
    return phases


def rollback_wall(steps: list[dict[str, Any]], final: dict[str, Any]) -> dict[str, Any]:
    phases = [p for p in _rollback_phases(steps, final) if p["phase"] != HISTORY_PHASE]
    if not phases:
        return _unknown(NO_ROLLBACK)
    first, last = phases[0], phases[-1]
    end = last["ended_epoch"] if all(p["ended_epoch"] is not None for p in phases) else None
    what = f"start of {first['phase']} → end of {last['phase']}"
    return _figure(
        first["started_epoch"],
        end,
        _between(first["started_epoch"], end, what if end is not None else f"{what}: a rollback phase did not end"),
        first_phase=first["phase"],
        last_phase=last["phase"],
    )


def tasks_missing_for_readers(steps: list[dict[str, Any]], final: dict[str, Any]) -> dict[str, Any]:
    switches, carries = _named(steps, "rollback-switch"), _named(steps, "carry-back")
    if not switches:
        if final["rolled_back"] or carries:
            return _none("the rollback did not switch users to the legacy")
        return _unknown(NO_ROLLBACK)
    start = switches[0]["started_epoch"]
    if not carries:
        return _figure(start, None, _between(start, None, "no carry-back phase ran after users were switched back"))
    carry = carries[-1]
    if carry["ended_epoch"] is not None and carry["ended_epoch"] <= start:
        return _none("carry-back ended before rollback-switch started", order="carry-back first")
    if carry["status"] not in DONE or carry["ended_epoch"] is None:
        why = f"the carry-back phase {'did not end' if carry['ended_epoch'] is None else carry['status']}"
        return _figure(start, None, _between(start, None, why), order="switch first")
    end = carry["ended_epoch"]
    what = "start of rollback-switch → end of carry-back"
    return _figure(start, end, _between(start, end, what), order="switch first")


def _expected_stages(final: dict[str, Any], steps: list[dict[str, Any]]) -> list[Key]:
    expected: list[Key] = []
    if final["playbook"] == "cutover":
        if stage_ran(steps):  # a two-stage cutover: stage 1 (live) before the frozen stage 2
            expected += [(STAGE_ONE + step, False) for step in FROZEN_STEPS]
        expected += [(step, False) for step in FROZEN_STEPS]
    if final["rolled_back"]:
        expected += [("snapshot", True), ("verify", True)]
    return expected


def rows_per_second(stages: list[dict[str, Any]]) -> dict[str, Any]:
    timed = [s for s in stages if s["start_epoch"] is not None]
    ended = [s["end_epoch"] for s in timed if s["end_epoch"] is not None]
    lengths = [s["seconds"] for s in stages if s["seconds"] is not None]
    text = "; ".join(f"{s['label']} {s['text']}" for s in stages) or f"no migration stage in this run ({NOT_RECORDED})"
    return {
        "start": iso(min(s["start_epoch"] for s in timed)) if timed else None,
        "end": iso(max(ended)) if ended else None,
        "seconds": round(sum(lengths), 3) if lengths else None,
        "text": text,
        "stages": [
            {
                "stage": s["stage"],
                "rollback": s["rollback"],
                "label": s["label"],
                "start": iso(s["start_epoch"]),
                "end": iso(s["end_epoch"]),
                **{k: v for k, v in s.items() if k not in ("stage", "rollback", "label", "start_epoch", "end_epoch")},
            }
            for s in stages
        ],
    }


def standby_lag(run_dir: Path, problems: list[str]) -> dict[str, Any] | None:
    """From standby.json (the gate that waits for every standby to replay the load), or None without a standby."""
    path = run_dir / "standby.json"
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        behind = {s["standby"]: s["behind_bytes"] for s in doc["at_start"]}
        standbys = [{**s, "behind_bytes_at_gate": behind.get(s["standby"])} for s in doc["at_catch_up"]]
    except (ValueError, KeyError, TypeError) as e:
        problems.append(f"standby.json unreadable: {e}")
        return _unknown("standby.json unreadable")
    text = "; ".join(
        f"{s['standby']} ({s['sync_state']}): {s['behind_bytes_at_gate'] or 0:,.0f} bytes behind when the gate began, "
        f"replay lag {s['replay_lag_ms']} ms"
        for s in standbys
    )
    gate = _figure(doc["started_epoch"], doc["caught_up_epoch"], "")
    worst = max((float(s["replay_lag_ms"] or 0) for s in standbys), default=None)
    return {
        **gate,
        "seconds": round(worst / 1000, 4) if worst is not None else None,
        "gate_seconds": gate["seconds"],
        "text": f"{text or 'no standby streamed'}; the gate took {seconds(gate['seconds'])}",
        "standbys": standbys,
    }


def figures(
    run_dir: Path,
    *,
    phases: list[dict[str, Any]],
    gates: list[dict[str, Any]],
    loads: list[dict[str, Any]],
    series: list[dict[str, Any]],
    final: dict[str, Any],
    problems: list[str],
) -> dict[str, dict[str, Any]]:
    steps = _ran(phases)
    rollback_starts = [p["started_epoch"] for p in steps if is_rollback_phase(p["phase"]) and p["started_epoch"]]
    stages = migration_stages(
        run_dir,
        gates,
        rollback_from=min(rollback_starts) if rollback_starts else None,
        expected=_expected_stages(final, steps),
        problems=problems,
    )
    figs = {
        "write_freeze": write_freeze(final["freeze"]),
        "user_errors": user_errors(series, loads, final),
        "user_errors_after_switch": user_errors_after_switch(steps, loads),
        "rollback_writes_refused": rollback_writes_refused(steps),
        "rollback_wall": rollback_wall(steps, final),
        "rollback_history_verify": phase_span(steps, HISTORY_PHASE),
        "tasks_missing_for_readers": tasks_missing_for_readers(steps, final),
        "switch": phase_span(steps, "switch"),
        "rollback_switch": phase_span(steps, "rollback-switch"),
        "rows_per_second": rows_per_second(stages),
    }
    standby = standby_lag(run_dir, problems)
    if standby is not None:
        figs["standby_lag"] = standby
    return figs


# -- as text: report.md and report.html (a table) and `radiology-ops figures` (aligned lines) --------------------
def _rows(figs: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(label, figure) in order, the rows-per-second figure as one row per stage."""
    rows = [(LABELS.get(key, key), fig) for key, fig in figs.items() if key != "rows_per_second"]
    stages = (figs.get("rows_per_second") or {}).get("stages") or []
    return rows + [(f"{LABELS['rows_per_second']} {s['label']}", s) for s in stages]


def figure_table(figs: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows for report.md and report.html: figure, duration, start, end, what it says."""
    header = ["figure", "duration", "start (UTC)", "end (UTC)", "what"]
    rows = [[label, seconds(f["seconds"]), f["start"] or "–", f["end"] or "–", f["text"]] for label, f in _rows(figs)]
    return header, rows


def _value(fig: dict[str, Any]) -> str:
    if "standbys" in fig and fig["seconds"] is not None:  # replay lags are milliseconds
        return f"{fig['seconds'] * 1000:.1f} ms"
    if "rows_per_second" in fig:  # a stage
        return f"{fig['rows_per_second']:,} rows/s" if fig["rows_per_second"] is not None else "–"
    return f"{fig['seconds']:.1f} s" if fig["seconds"] is not None else "–"


def _detail(fig: dict[str, Any]) -> str:
    if fig["start"] is None or fig["end"] is None:
        return fig["text"]
    # Why there is no number (e.g. a stage that failed), or what the number is made of (each standby's lag).
    extra = [fig["text"]] if _value(fig) == "–" or "standbys" in fig else []
    if len(fig.get("windows") or []) > 1:
        extra.append(f"{len(fig['windows'])} windows")
    if fig.get("failed"):
        extra.append(f"{fig['failed']:,} of {fig['requests']:,} requests failed")
    if "rows_per_second" in fig and fig["rows"] is not None:
        extra.append(f"{fig['rows']:,} rows in {seconds(fig['seconds'], 'a time not recorded')}")
    return f"{fig['start']} → {fig['end']}" + "".join(f"; {e}" for e in extra)


def figure_lines(figs: dict[str, dict[str, Any]]) -> list[str]:
    """One aligned line per figure, e.g. `write freeze   31.6 s  (2026-11-29T17:41:46.642Z → …Z)`."""
    rows = _rows(figs)
    width = max(len(label) for label, _ in rows)
    values = [_value(f) for _, f in rows]
    value_width = max(len(v) for v in values)
    return [
        f"{label:<{width}}  {value:>{value_width}}  ({_detail(f)})"
        for (label, f), value in zip(rows, values, strict=True)
    ]
