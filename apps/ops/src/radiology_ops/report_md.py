"""report.md: the cutover report for people — phases with durations, gates, load figures, final state."""

from __future__ import annotations

from typing import Any

from .fmt import compact, flag, md_cell, number, percent, seconds


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
            p["started"] or "–",
            p["ended"] or "(not ended)",
            seconds(p["duration_s"]),
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
            agg_source, agg_target = agg.get("snapshot", "–"), agg.get("postgres", "–")
            rows.append(
                [
                    t,
                    number(source.get(t)),
                    number(target.get(t)),
                    flag((checksums.get(t) or {}).get("ok")) if t in checksums else "not reached",
                    str(agg_source),
                    str(agg_target),
                ]
            )
        lines += _table(
            ["table", "rows (source)", "rows (target)", "checksums", "checksum (source)", "checksum (target)"], rows
        )
    gates = ", ".join(f"{g['gate']} {flag(g['ok'])}" for g in summary.get("gates", []))
    lines.append(
        f"Gates: {gates or '–'}; rows verified {number(summary.get('rows_verified'))} "
        f"in {seconds(summary.get('seconds'))}."
    )
    return [*lines, ""]


def _api_diff(gate: dict[str, Any]) -> list[str]:
    s = gate.get("summary") or {}
    lines = [
        f"{number(s.get('requests'))} requests, {number(s.get('write_steps'))} write steps, "
        f"{number(s.get('difference_count'))} difference(s); legacy status codes "
        f"{compact(s.get('legacy_status_counts'))}."
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
    lines = ["## Load during the run", ""]
    if not report["loads"]:
        return [*lines, "No load results (load/summary.json) in the run folder.", ""]
    for load in report["loads"]:
        lat = load.get("latency_ms") or {}
        lines += [
            f"### {load['name']}{'' if load.get('complete') else ' (incomplete: from requests.csv)'}",
            "",
            f"- requests {number(load.get('requests'))}: ok {number(load.get('ok'))}, frozen "
            f"{number(load.get('frozen'))} (writes paused by design), **failed {number(load.get('failed'))}** "
            f"(error rate {percent(load.get('error_rate'))})",
            f"- throughput {number(load.get('rps'))} requests/s over {seconds(load.get('duration_s'))}, "
            f"latency p50 {number(lat.get('p50'))} ms, p95 {number(lat.get('p95'))} ms, "
            f"p99 {number(lat.get('p99'))} ms",
        ]
        if load.get("config"):
            c = load["config"]
            lines.append(f"- {c.get('users')} users, write ratio {c.get('write_ratio')}, target {c.get('web')}")
        if load.get("tasks"):
            t = load["tasks"]
            lines.append(
                f"- analysis tasks: created {t['created']}, deleted {t['deleted']}, live {t['live']}; "
                f"by backend {compact(t['by_backend'])}"
            )
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
                        number(f.get("p50")),
                        number(f.get("p99")),
                    ]
                    for b, f in per_backend.items()
                ],
            )
        lines += [
            f"- FAILED at {f.get('t')}s {f.get('method')} {f.get('url')} → {f.get('status')}: {f.get('reason')}"
            for f in (load.get("failures") or [])[:10]
        ]
        lines.append("")
    return lines


def _watches(report: dict[str, Any]) -> list[str]:
    lines = ["## Post-switch watch", ""]
    if not report["watches"]:
        return [*lines, "No watch.json in the run folder.", ""]
    for w in report["watches"]:
        lat = w.get("latency_ms") or {}
        lines.append(
            f"- {w['file']}: **{flag(w.get('ok'))}** expecting {w.get('expect_backend')}: {w.get('polls')} "
            f"polls, {w.get('requests')} requests, {w.get('failed_requests')} failed, backends "
            f"{compact(w.get('backends_seen'))}, p99 {number(lat.get('p99'))} ms over "
            f"{seconds(w.get('duration_s'))}"
        )
        if w.get("reason"):
            lines.append(f"  - reason: {w['reason']}")
        if w.get("first_failure"):
            f = w["first_failure"]
            lines.append(
                f"  - first failure: {f.get('check')} {f.get('url')} → {f.get('status')}: {f.get('reason')}; "
                f"body `{md_cell(str(f.get('body'))[:200])}`"
            )
    return [*lines, ""]


def render_markdown(report: dict[str, Any]) -> str:
    final = report["final_state"]
    lines = [
        f"# Cutover report: {report['run_dir'].rsplit('/', 1)[-1]}",
        "",
        f"**Verdict: {final['verdict'].upper()}** — serving backend: {final['serving_backend'] or 'unknown'}; "
        f"rolled back: {'yes' if final['rolled_back'] else 'no'}; total time {seconds(report['total_seconds'])}; "
        f"failed requests under load: {final['failed_requests']}.",
        "",
    ]
    if final["last_phase"]:
        lines += [f"Last phase: {final['last_phase']['phase']} ({final['last_phase']['status']}).", ""]
    for key, label in (
        ("failed_phases", "Failed phases"),
        ("unfinished_phases", "Unfinished phases"),
        ("failed_gates", "Failed gates"),
        ("failed_watches", "Failed watches"),
    ):
        if final[key]:
            lines += [f"{label}: {', '.join(final[key])}.", ""]
    lines += _phases(report) + _gates(report) + _loads(report) + _watches(report)
    if report["missing"] or report["problems"]:
        lines += ["## Missing pieces", ""]
        lines += [f"- {name} not found" for name in report["missing"]]
        lines += [f"- {p}" for p in report["problems"]]
        lines.append("")
    lines.append(f"Generated {report['generated_at']} from {report['run_dir']}.")
    return "\n".join(lines) + "\n"
