"""report.html: one self-contained page (inline CSS and SVG, no scripts, nothing fetched from elsewhere)."""

from __future__ import annotations

from html import escape
from typing import Any

from .fmt import compact, flag, number, percent, seconds
from .report_svg import render_plot

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
"""


def _badge(status: str) -> str:
    cls = (
        "ok"
        if status in ("ok", "success", "PASSED", "changed")
        else "failed"
        if status in ("failed", "FAILED")
        else "other"
    )
    return f'<span class="badge {cls}">{escape(status)}</span>'


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
            escape(p["started"] or "–"),
            escape(p["ended"] or "(not ended)"),
            seconds(p["duration_s"]),
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
            rows.append(
                [
                    escape(t),
                    number(source.get(t)),
                    number(target.get(t)),
                    _badge(flag((sums.get(t) or {}).get("ok"))) if t in sums else "not reached",
                    f'<span class="detail">{escape(str(agg.get("snapshot", "–")))}</span>',
                    f'<span class="detail">{escape(str(agg.get("postgres", "–")))}</span>',
                ]
            )
        if rows:
            html += _table(
                ["table", "rows (source)", "rows (target)", "checksums", "checksum (source)", "checksum (target)"],
                rows,
                frozenset({1, 2}),
            )
        html += (
            f"<p>Rows verified {number(s.get('rows_verified'))} in {seconds(s.get('seconds'))}; gates: "
            + escape(", ".join(f"{g['gate']} {flag(g['ok'])}" for g in s.get("gates", [])))
            + "</p>"
        )
    else:
        html += (
            f"<p>{number(s.get('requests'))} requests, {number(s.get('write_steps'))} write steps, "
            f"<b>{number(s.get('difference_count'))} difference(s)</b>; legacy status codes "
            f"{escape(compact(s.get('legacy_status_counts')))}</p>"
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
    lat = load.get("latency_ms") or {}
    html = f"<h3>{escape(load['name'])}{'' if load.get('complete') else ' (incomplete: from requests.csv)'}</h3>"
    html += _table(
        ["requests", "ok", "frozen (by design)", "failed", "error rate", "requests/s", "p50 ms", "p95 ms", "p99 ms"],
        [
            [
                number(load.get("requests")),
                number(load.get("ok")),
                number(load.get("frozen")),
                f"<b>{number(load.get('failed'))}</b>",
                percent(load.get("error_rate")),
                number(load.get("rps")),
                number(lat.get("p50")),
                number(lat.get("p95")),
                number(lat.get("p99")),
            ]
        ],
        frozenset(range(9)),
    )
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
                    number(f.get("p50")),
                    number(f.get("p99")),
                ]
                for b, f in per_backend.items()
            ],
            frozenset(range(1, 7)),
        )
    if load.get("tasks"):
        t = load["tasks"]
        html += (
            f"<p>Analysis tasks: created {t['created']}, deleted {t['deleted']}, live {t['live']}; by backend "
            f"{escape(compact(t['by_backend']))}</p>"
        )
    failures = (load.get("failures") or [])[:10]
    if failures:
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
    lat = w.get("latency_ms") or {}
    html = (
        f"<p>{escape(w['file'])} {_badge(flag(w.get('ok')))} expecting {escape(str(w.get('expect_backend')))}: "
        f"{w.get('polls')} polls, {w.get('requests')} requests, {w.get('failed_requests')} failed, backends "
        f"{escape(compact(w.get('backends_seen')))}, p99 {number(lat.get('p99'))} ms over "
        f"{seconds(w.get('duration_s'))}</p>"
    )
    if w.get("reason"):
        html += f"<p>Reason: {escape(str(w['reason']))}</p>"
    f = w.get("first_failure")
    if f:
        html += (
            f"<p>First failure: {escape(str(f.get('check')))} {escape(str(f.get('url')))} → {f.get('status')}: "
            f"{escape(str(f.get('reason')))}<br><span class=detail>{escape(str(f.get('body'))[:300])}</span></p>"
        )
    return html


def render_html(report: dict[str, Any]) -> str:
    final = report["final_state"]
    name = report["run_dir"].rsplit("/", 1)[-1]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Cutover report {escape(name)}</title><style>{CSS}</style></head><body>",
        f"<h1>Cutover report: {escape(name)}</h1>",
        f"<p>{_badge(final['verdict'])} serving backend: <b>{escape(str(final['serving_backend'] or 'unknown'))}</b>"
        f" · rolled back: {'yes' if final['rolled_back'] else 'no'} · total time {seconds(report['total_seconds'])}"
        f" · failed requests under load: <b>{final['failed_requests']}</b></p>",
    ]
    problems = [
        f"{label}: {', '.join(final[key])}"
        for key, label in (
            ("failed_phases", "Failed phases"),
            ("unfinished_phases", "Unfinished phases"),
            ("failed_gates", "Failed gates"),
            ("failed_watches", "Failed watches"),
        )
        if final[key]
    ]
    parts += [f"<p><b>{escape(p)}</b></p>" for p in problems]
    parts += ["<h2>Latency and errors through the run</h2>", render_plot(report["series"], report["markers"])]
    parts += ["<h2>Phases</h2>", _phases(report), "<h2>Migration gates</h2>"]
    parts += [_gate(g) for g in report["gates"]] or ['<p class="muted">No verify.json or api-diff.json.</p>']
    parts += ["<h2>Load during the run</h2>"]
    parts += [_load(x) for x in report["loads"]] or ['<p class="muted">No load results.</p>']
    parts += ["<h2>Post-switch watch</h2>"]
    parts += [_watch(w) for w in report["watches"]] or ['<p class="muted">No watch.json.</p>']
    missing = [f"{n} not found" for n in report["missing"]] + report["problems"]
    if missing:
        parts += ["<h2>Missing pieces</h2><ul>", *[f"<li>{escape(m)}</li>" for m in missing], "</ul>"]
    parts.append(f'<p class="muted">Generated {escape(report["generated_at"])} from {escape(report["run_dir"])}.</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
