"""report.html: one self-contained page (inline CSS and SVG, no scripts, nothing fetched from elsewhere)."""

from __future__ import annotations

import re
from html import escape
from typing import Any

from .fmt import NOT_MEASURED, compact, flag, number, seconds
from .report_figures import figure_table
from .report_svg import render_plot
from .report_text import (
    end_state_lines,
    failures_note,
    load_lines,
    load_note,
    task_check_line,
    verify_findings,
    watch_line,
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1080px;color:#1f2937;
padding:0 16px}
h1{font-size:1.5rem;margin-bottom:4px}h2{font-size:1.15rem;margin-top:28px;border-bottom:1px solid #e5e7eb}
h3{font-size:1rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:8px 0}
th,td{border:1px solid #e5e7eb;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f3f4f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff}
.ok{background:#15803d}.failed{background:#b91c1c}.other{background:#6b7280}
.detail{font-family:ui-monospace,monospace;font-size:.75rem;color:#374151;word-break:break-all}
.muted{color:#6b7280}ul{margin:4px 0}
.headline li{margin:3px 0}.next{background:#fef2f2;border-left:4px solid #b91c1c;padding:6px 10px;list-style:none}
.dry{background:#fefce8;border-left:4px solid #ca8a04;padding:6px 10px;list-style:none;font-weight:600}
code{font-family:ui-monospace,monospace;background:#f3f4f6;padding:0 3px;border-radius:3px}
"""
DRY_RUN_PREFIX = "DRY RUN"
NOW_PREFIX = "Users now:"


def _badge(status: str) -> str:
    cls = (
        "ok"
        if status in ("ok", "success", "PASSED", "changed")
        else "failed"
        if status in ("failed", "FAILED")
        else "other"
    )
    return f'<span class="badge {cls}">{escape(status)}</span>'


def text(line: str) -> str:
    """A plain text line as HTML: escaped, with `code` in backticks shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(line))


def _lines(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{text(line)}</li>" for line in lines) + "</ul>" if lines else ""


def _table(header: list[str], rows: list[list[str]], numeric: frozenset[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if i in numeric else ''}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _phases(report: dict[str, Any]) -> str:
    if not report["phases"]:
        return '<p class="muted">No phases.json in the run folder.</p>'
    rows = [
        [
            escape(p["phase"]),
            escape(", ".join(p["hosts"]) or "–"),
            escape(p["started"] or "not recorded"),
            escape(p["ended"] or "(not ended)"),
            seconds(p["duration_s"], "not ended" if p["ended"] is None else "not recorded"),
            _badge(p["status"]),
            f'<span class="detail">{escape(compact(p["detail"]))}</span>'
            + "".join(
                f"<div>failed on {escape(str(f.get('host')))}, task “{escape(str(f.get('task')))}”: "
                f"{escape(str(f.get('message')))}</div>"
                for f in p["failures"]
            ),
        ]
        for p in report["phases"]
    ]
    return _table(
        ["phase", "hosts", "started (UTC)", "ended (UTC)", "duration", "status", "detail"], rows, frozenset({4})
    )


def _gate(gate: dict[str, Any]) -> str:
    s = gate.get("summary") or {}
    html = f"<h3>{escape(gate['file'])} {_badge(flag(gate['ok']))}</h3>"
    if gate.get("error"):
        html += f"<p>Error: {escape(str(gate['error']))}</p>"
    if gate["kind"] == "verify":
        counts = s.get("counts") or {}
        source, target, sums = counts.get("source") or {}, counts.get("target") or {}, s.get("checksums") or {}
        rows = []
        for t in sorted(set(source) | set(target) | set(sums)):
            agg = (sums.get(t) or {}).get("aggregate") or {}
            unread = agg.get("mode") or ("not computed" if t in sums else "not reached")
            rows.append(
                [
                    escape(t),
                    number(source.get(t), "not read"),
                    number(target.get(t), "not read"),
                    _badge(flag((sums.get(t) or {}).get("ok"))) if t in sums else "not reached",
                    f'<span class="detail">{escape(str(agg.get("snapshot", unread)))}</span>',
                    f'<span class="detail">{escape(str(agg.get("postgres", unread)))}</span>',
                ]
            )
        if rows:
            html += _table(
                ["table", "rows (source)", "rows (target)", "checksums", "checksum (source)", "checksum (target)"],
                rows,
                frozenset({1, 2}),
            )
        html += _lines(verify_findings(s))
        unmeasured = "not measured (the verify stopped at a failing gate)" if gate["ok"] is False else NOT_MEASURED
        html += (
            f"<p>Rows verified: {number(s.get('rows_verified'), unmeasured)}; time: "
            f"{seconds(s.get('seconds'), NOT_MEASURED)}; gates: "
            + escape(", ".join(f"{g['gate']} {flag(g['ok'])}" for g in s.get("gates", [])) or "none reached")
            + "</p>"
        )
    else:
        listed = f" ({len(s.get('differences') or [])} listed)" if (s.get("difference_count") or 0) > 10 else ""
        html += (
            f"<p>{number(s.get('requests'), NOT_MEASURED)} requests, {number(s.get('write_steps'), NOT_MEASURED)} "
            f"write steps, <b>{number(s.get('difference_count'), 'an unknown number of')} difference(s)</b>{listed}; "
            f"legacy status codes {escape(compact(s.get('legacy_status_counts')) or NOT_MEASURED)}</p>"
        )
        diffs = s.get("differences") or []
        if diffs:
            html += (
                "<ul>"
                + "".join(
                    f"<li>{escape(str(d.get('request')))} {escape(str(d.get('path')))}: legacy="
                    f"{escape(repr(d.get('legacy')))} new={escape(repr(d.get('new')))}</li>"
                    for d in diffs
                )
                + "</ul>"
            )
    return html


def _load(load: dict[str, Any]) -> str:
    html = f"<h3>{escape(load['name'])}{'' if load.get('complete') else ' (incomplete: from requests.csv)'}</h3>"
    html += _lines(load_lines(load))
    per_backend = load.get("per_backend") or {}
    if per_backend:
        html += _table(
            ["backend", "requests", "ok", "frozen", "failed", "p50 ms", "p99 ms"],
            [
                [
                    escape(b),
                    number(f.get("requests")),
                    number(f.get("ok")),
                    number(f.get("frozen")),
                    number(f.get("failed")),
                    number(f.get("p50"), NOT_MEASURED),
                    number(f.get("p99"), NOT_MEASURED),
                ]
                for b, f in per_backend.items()
            ],
            frozenset(range(1, 7)),
        )
    failures = (load.get("failures") or [])[:10]
    if failures:
        html += f"<p>{escape(failures_note(load, len(failures)))}</p>" if failures_note(load, len(failures)) else ""
        html += (
            "<ul>"
            + "".join(
                f"<li>at {f.get('t')}s {escape(str(f.get('method')))} {escape(str(f.get('url')))} → "
                f"{f.get('status')}: {escape(str(f.get('reason')))}</li>"
                for f in failures
            )
            + "</ul>"
        )
    return html


def _watch(w: dict[str, Any]) -> str:
    html = f"<p>{_badge(flag(w.get('ok')))} {escape(watch_line(w))}</p>"
    if w.get("reason"):
        html += f"<p>Reason: {escape(str(w['reason']))}</p>"
    f = w.get("first_failure")
    if f:
        html += (
            f"<p>First failure: {escape(str(f.get('check')))} {escape(str(f.get('url')))} → {f.get('status')}: "
            f"{escape(str(f.get('reason')))}<br><span class=detail>{escape(str(f.get('body'))[:300])}</span></p>"
        )
    return html


def _headline(report: dict[str, Any]) -> str:
    first, *rest = report["headline"]
    classes = {NOW_PREFIX: ' class="next"', DRY_RUN_PREFIX: ' class="dry"'}
    items = []
    for line in rest:
        cls = next((c for prefix, c in classes.items() if line.startswith(prefix)), "")
        items.append(f"<li{cls}>{text(line)}</li>")
    verdict = report["final_state"]["verdict"]
    return f"<p>{_badge(verdict)} <b>{escape(first)}</b></p><ul class=headline>{''.join(items)}</ul>"


def _figures(report: dict[str, Any]) -> str:
    header, rows = figure_table(report["figures"])
    return _table(header, [[escape(cell) for cell in row] for row in rows], frozenset({1}))


def render_html(report: dict[str, Any]) -> str:
    final = report["final_state"]
    name = report["run_dir"].rsplit("/", 1)[-1]
    kind = "Rollback" if final["playbook"] == "rollback" else "Cutover"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{kind} report {escape(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>{kind} report: {escape(name)}</h1>",
        _headline(report),
        "<h2>Headline figures</h2>",
        _figures(report),
    ]
    problems = [
        f"{label}: {'; '.join(final[key])}"
        for key, label in (
            ("failed_phases", "Failed phases"),
            ("unfinished_phases", "Unfinished phases"),
            ("failed_gates", "Failed gates"),
            ("failed_watches", "Failed watches"),
            ("failed_task_checks", "Failed task checks"),
            ("failed_task_checks", "Failed task checks"),
            ("state_problems", "End state"),
        )
        if final[key]
    ]
    parts += [f"<p><b>{escape(p)}</b></p>" for p in problems]
    parts += ["<h2>State at the end of the run</h2>", _lines(end_state_lines(report))]
    parts += ["<h2>Latency and errors through the run</h2>", render_plot(report["series"], report["markers"])]
    parts += ["<h2>Phases</h2>", _phases(report), "<h2>Migration gates</h2>"]
    parts += [_gate(g) for g in report["gates"]] or ['<p class="muted">No verify.json or api-diff.json.</p>']
    parts += ["<h2>Load during the run</h2>", f"<p>{escape(load_note(report))}</p>"]
    parts += [_lines([task_check_line(c) for c in report["task_checks"]])]
    parts += [_load(x) for x in report["loads"]] or ['<p class="muted">No load results.</p>']
    parts += ["<h2>Post-switch watch</h2>"]
    parts += [_watch(w) for w in report["watches"]] or [
        '<p class="muted">No watch*.json: the service after the switch was not watched.</p>'
    ]
    missing = [f"{n} not found" for n in report["missing"]] + report["problems"]
    if missing:
        parts += ["<h2>Missing pieces</h2><ul>", *[f"<li>{escape(m)}</li>" for m in missing], "</ul>"]
    parts.append(f'<p class="muted">Generated {escape(report["generated_at"])} from {escape(report["run_dir"])}.</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
