"""Text lines that report.md and report.html both show: what a failed verify found (key lists cut to a count
and a few examples), load and watch figures (each measured or saying why not), the end state."""

from __future__ import annotations

from typing import Any

from .fmt import NOT_MEASURED, compact, flag, key_text, number, percent, seconds
from .report_run import writes_of


def verify_findings(summary: dict[str, Any]) -> list[str]:
    """What a failed verify found, each key list cut to a count and a few examples (shared with report.html)."""
    lines = [
        f"counts differ in {table}: snapshot {number(v.get('snapshot'))}, PostgreSQL {number(v.get('postgres'))}"
        for table, v in (summary.get("counts_mismatched") or {}).items()
        if isinstance(v, dict)
    ]
    for p in summary.get("key_problems") or []:
        parts = []
        if p.get("null_keys"):
            parts.append(f"{number(p['null_keys'])} row(s) with a NULL {p.get('key')}")
        if p["duplicates"]["count"]:
            parts.append("duplicated " + key_text(p["duplicates"]))
        lines.append(f"keys of {p.get('side')} {p.get('table')}: {'; '.join(parts) or 'a problem without details'}")
    for table, t in (summary.get("checksums") or {}).items():
        if t.get("ok") is not False:
            continue
        parts = [f"{number(t.get('mismatching_rows'), 'an unknown number of')} mismatching row(s)"]
        for key, label in (
            ("missing_in_postgres", "missing in PostgreSQL"),
            ("extra_in_postgres", "only in PostgreSQL"),
            ("differing", "differing"),
        ):
            if t.get(key, {}).get("count"):
                parts.append(f"{label}: {key_text(t[key])}")
        if t.get("differing_fields"):
            parts.append("fields " + ", ".join(t["differing_fields"]))
        lines.append(f"checksums of {table}: " + "; ".join(parts))
    return lines


def load_note(report: dict[str, Any]) -> str:
    """What run.json says about a load during the run (shared with report.html)."""
    run = report.get("run")
    if run is None:
        return "Whether a load ran during this run is not recorded (no run.json)."
    if not run.get("load"):
        return "No load ran during this run (run.json): its figures are not measured."
    load = run["load"]
    return f"A load of {load.get('users', '?')} users ran during this run into {load['folder']}/ (run.json)."


def load_lines(load: dict[str, Any]) -> list[str]:
    """The figures of one load as text lines, each measured or saying why not (shared with report.html)."""
    lat = load.get("latency_ms") or {}
    no_latency = "not measured (no answered request)"
    lines = [
        f"requests {number(load.get('requests'))}: ok {number(load.get('ok'))}, frozen "
        f"{number(load.get('frozen'))} (writes paused by design), failed {number(load.get('failed'))} "
        f"(error rate {percent(load.get('error_rate'), NOT_MEASURED)})",
        f"throughput {number(load.get('rps'), 'not measured (no summary.json)')} requests/s over "
        f"{seconds(load.get('duration_s'), 'a duration not measured (no summary.json)')}, latency p50 "
        + (
            f"{number(lat.get('p50'))} ms, p95 {number(lat.get('p95'))} ms, p99 {number(lat.get('p99'))} ms"
            if lat.get("p50") is not None
            else no_latency
        ),
    ]
    if load.get("config"):
        c = load["config"]
        lines.append(f"{c.get('users')} users, write ratio {c.get('write_ratio')}, target {c.get('web')}")
    if load.get("tasks"):
        t = load["tasks"]
        unsure = t.get("delete_unsure", 0)
        lines.append(
            f"analysis tasks: created {t['created']}, deleted {t['deleted']}, live {t['live']}"
            + (f", {unsure} delete(s) unanswered (live or deleted are both right)" if unsure else "")
            + f"; by backend {compact(t['by_backend'])}"
        )
    return lines


def failures_note(load: dict[str, Any], shown: int) -> str:
    failed = int(load.get("failed") or 0)
    return f"{shown} of {failed:,} failed requests listed:" if failed > shown else ""


def watch_line(w: dict[str, Any]) -> str:
    """One watch's figures (shared with report.html)."""
    lat = w.get("latency_ms") or {}
    return (
        f"{w['file']}: {flag(w.get('ok'))} expecting {w.get('expect_backend')}: {number(w.get('polls'))} "
        f"polls, {number(w.get('requests'))} requests, {number(w.get('failed_requests'))} failed, backends "
        f"{compact(w.get('backends_seen')) or 'none seen'}, p99 "
        f"{number(lat.get('p99'), 'not measured (no answered request)')}"
        f"{' ms' if lat.get('p99') is not None else ''} over {seconds(w.get('duration_s'), NOT_MEASURED)}"
    )


def end_state_lines(report: dict[str, Any]) -> list[str]:
    """state-end.json as text lines: web hosts, writes per host, lock (shared with report.html)."""
    state = report.get("state_end")
    final = report["final_state"]
    if state is None:
        return [f"state-end.json not found: {final['users']['text']}."]
    lines = [f"Read at {state.get('read_at') or 'a time not recorded'}: serving {state['serving']}."]
    web = state.get("web") if isinstance(state.get("web"), dict) else {}
    for host, raw in sorted(web.items()):
        f = raw if isinstance(raw, dict) else {}
        lines.append(f"web {host}: {f.get('backend') or 'not read'}, release {f.get('release') or 'not read'}")
    for backend in ("legacy", "imaging"):
        writes = writes_of(state, backend)
        if writes["frozen_on"] or writes["open_on"] or writes["unknown"]:
            lines.append(f"{backend} writes: {writes['text']}")
    lines.append(f"lock: {final['lock']}")
    lines += [f"problem: {p}" for p in state["problems"]]
    return lines


def task_check_line(check: dict[str, Any]) -> str:
    """One check that the tasks written under load are on the serving backend, id lists cut to samples."""
    missing, back = check["missing"], check["resurrected"]
    live, deleted = number(check.get("live_checked"), NOT_MEASURED), number(check.get("deleted_checked"), NOT_MEASURED)
    return (
        f"{check['file']}: {flag(check['ok'])} on {check.get('backend') or 'a backend not recorded'}: "
        f"{live} live and {deleted} deleted tasks checked; "
        f"missing: {key_text(missing, 'task') if missing['count'] else 'none'}; "
        f"back after deletion: {key_text(back, 'task') if back['count'] else 'none'}"
    )
