"""report.md: the cutover report for people — phases with durations, gates, load figures, final state."""

from __future__ import annotations

from typing import Any

from .fmt import NOT_MEASURED, compact, flag, md_cell, number, seconds
from .report_figures import figure_table
from .report_text import (
    end_state_lines,
    failures_note,
    load_lines,
    load_note,
    task_check_line,
    verify_findings,
    watch_line,
)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def _phases(report: dict[str, Any]) -> list[str]:
    lines = ["## Phases", ""]
    if not report["phases"]:
        return [*lines, "No phases.json in the run folder.", ""]
    rows = [
        [
            p["phase"],
            ", ".join(p["hosts"]) or "–",
            p["started"] or "not recorded",
            p["ended"] or "(not ended)",
            seconds(p["duration_s"], "not ended" if p["ended"] is None else "not recorded"),
            p["status"],
            compact(p["detail"]),
        ]
        for p in report["phases"]
    ]
    lines += _table(["phase", "hosts", "started (UTC)", "ended (UTC)", "duration", "status", "detail"], rows)
    for p in report["phases"]:
        lines += [
            f"- **{p['phase']}** failed on {f.get('host')}, task “{f.get('task')}”: {f.get('message')}"
            for f in p["failures"]
        ]
    return [*lines, ""]


def _verify(gate: dict[str, Any]) -> list[str]:
    summary = gate.get("summary") or {}
    lines = []
    counts = summary.get("counts") or {}
    source, target = counts.get("source") or {}, counts.get("target") or {}
    checksums = summary.get("checksums") or {}
    tables = sorted(set(source) | set(target) | set(checksums))
    if tables:
        rows = []
        for t in tables:
            agg = (checksums.get(t) or {}).get("aggregate") or {}
            unread = agg.get("mode") or ("not computed" if t in checksums else "not reached")
            agg_source, agg_target = agg.get("snapshot", unread), agg.get("postgres", unread)
            rows.append(
                [
                    t,
                    number(source.get(t), "not read"),
                    number(target.get(t), "not read"),
                    flag((checksums.get(t) or {}).get("ok")) if t in checksums else "not reached",
                    str(agg_source),
                    str(agg_target),
                ]
            )
        lines += _table(
            ["table", "rows (source)", "rows (target)", "checksums", "checksum (source)", "checksum (target)"], rows
        )
    lines += [f"- {line}" for line in verify_findings(summary)]
    if lines and lines[-1].startswith("- "):
        lines.append("")
    gates = ", ".join(f"{g['gate']} {flag(g['ok'])}" for g in summary.get("gates", []))
    unmeasured = "not measured (the verify stopped at a failing gate)" if gate["ok"] is False else NOT_MEASURED
    lines.append(
        f"Gates: {gates or 'none reached'}; rows verified: {number(summary.get('rows_verified'), unmeasured)}; "
        f"time: {seconds(summary.get('seconds'), NOT_MEASURED)}."
    )
    return [*lines, ""]


def _api_diff(gate: dict[str, Any]) -> list[str]:
    s = gate.get("summary") or {}
    listed = f" ({len(s.get('differences') or [])} listed)" if (s.get("difference_count") or 0) > 10 else ""
    lines = [
        f"{number(s.get('requests'), NOT_MEASURED)} requests, {number(s.get('write_steps'), NOT_MEASURED)} write "
        f"steps, {number(s.get('difference_count'), 'an unknown number of')} difference(s){listed}; legacy status "
        f"codes {compact(s.get('legacy_status_counts')) or NOT_MEASURED}."
    ]
    lines += [
        f"- DIFF {d.get('request')} {d.get('path')} ({d.get('kind')}): legacy={d.get('legacy')!r} new={d.get('new')!r}"
        for d in s.get("differences") or []
    ]
    return [*lines, ""]


def _gates(report: dict[str, Any]) -> list[str]:
    lines = ["## Migration gates", ""]
    if not report["gates"]:
        return [*lines, "No verify.json or api-diff.json in the run folder.", ""]
    for gate in report["gates"]:
        lines += [f"### {gate['file']}: {flag(gate['ok'])}", ""]
        if gate.get("error"):
            lines += [f"Error: {gate['error']}", ""]
        lines += _verify(gate) if gate["kind"] == "verify" else _api_diff(gate)
    return lines


def _loads(report: dict[str, Any]) -> list[str]:
    lines = ["## Load during the run", "", load_note(report), ""]
    lines += [f"- {task_check_line(c)}" for c in report["task_checks"]]
    lines += [""] if report["task_checks"] else []
    if not report["loads"]:
        return [*lines, "No load results (load*/summary.json or requests.csv) in the run folder.", ""]
    for load in report["loads"]:
        lines += [f"### {load['name']}{'' if load.get('complete') else ' (incomplete: from requests.csv)'}", ""]
        lines += [f"- {line}" for line in load_lines(load)]
        per_backend = load.get("per_backend") or {}
        if per_backend:
            lines.append("")
            lines += _table(
                ["backend", "requests", "ok", "frozen", "failed", "p50 ms", "p99 ms"],
                [
                    [
                        b,
                        number(f.get("requests")),
                        number(f.get("ok")),
                        number(f.get("frozen")),
                        number(f.get("failed")),
                        number(f.get("p50"), NOT_MEASURED),
                        number(f.get("p99"), NOT_MEASURED),
                    ]
                    for b, f in per_backend.items()
                ],
            )
        failures = (load.get("failures") or [])[:10]
        if failures_note(load, len(failures)):
            lines.append(failures_note(load, len(failures)))
        lines += [
            f"- FAILED at {f.get('t')}s {f.get('method')} {f.get('url')} → {f.get('status')}: {f.get('reason')}"
            for f in failures
        ]
        lines.append("")
    return lines


def _watches(report: dict[str, Any]) -> list[str]:
    lines = ["## Post-switch watch", ""]
    if not report["watches"]:
        return [*lines, "No watch*.json in the run folder: the service after the switch was not watched.", ""]
    for w in report["watches"]:
        lines.append(f"- {watch_line(w)}")
        if w.get("reason"):
            lines.append(f"  - reason: {w['reason']}")
        if w.get("first_failure"):
            f = w["first_failure"]
            lines.append(
                f"  - first failure: {f.get('check')} {f.get('url')} → {f.get('status')}: {f.get('reason')}; "
                f"body `{md_cell(str(f.get('body'))[:200])}`"
            )
    return [*lines, ""]


def _figures(report: dict[str, Any]) -> list[str]:
    header, rows = figure_table(report["figures"])
    return ["## Headline figures", "", *_table(header, rows)]


def _end_state(report: dict[str, Any]) -> list[str]:
    return ["## State at the end of the run", "", *[f"- {line}" for line in end_state_lines(report)], ""]


def render_markdown(report: dict[str, Any]) -> str:
    final = report["final_state"]
    kind = "Rollback" if final["playbook"] == "rollback" else "Cutover"
    first, *rest = report["headline"]
    lines = [f"# {kind} report: {report['run_dir'].rsplit('/', 1)[-1]}", "", f"**{first}**", ""]
    lines += [f"- {line}" for line in rest] + [""]
    lines += _figures(report)
    if final["last_phase"]:
        lines += [f"Last phase: {final['last_phase']['phase']} ({final['last_phase']['status']}).", ""]
    for key, label in (
        ("failed_phases", "Failed phases"),
        ("unfinished_phases", "Unfinished phases"),
        ("failed_gates", "Failed gates"),
        ("failed_watches", "Failed watches"),
        ("failed_task_checks", "Failed task checks"),
        ("state_problems", "End state"),
    ):
        if final[key]:
            lines += [f"{label}: {'; '.join(final[key])}.", ""]
    lines += _end_state(report) + _phases(report) + _gates(report) + _loads(report) + _watches(report)
    if report["missing"] or report["problems"]:
        lines += ["## Missing pieces", ""]
        lines += [f"- {name} not found" for name in report["missing"]]
        lines += [f"- {p}" for p in report["problems"]]
        lines.append("")
    lines.append(f"Generated {report['generated_at']} from {report['run_dir']}.")
    return "\n".join(lines) + "\n"
