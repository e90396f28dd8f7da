"""The headline of the report, as plain text lines that report.md and report.html both show (`code` in
backticks): verdict, dry run, where users are now (and, for a failed run, what to do next), the write-freeze
window, who ran what, and the load figure — each either measured or saying why not.
"""

from __future__ import annotations

from typing import Any

from .fmt import seconds
from .report_run import backup_text, carry_back_text, warm_text


def _backup_line(run: dict[str, Any], backup: dict[str, Any] | None) -> str:
    if backup is not None:
        return f"Backup: {backup_text(backup)}"
    if run.get("backup"):
        return f"Backup: {run['backup']} planned, but no backup.json says it was taken"
    return "Backup: none taken in this run (run.json records no backup)"


def _run_lines(run: dict[str, Any] | None, backup: dict[str, Any] | None = None) -> list[str]:
    if run is None:
        return [
            "Run: not recorded (no run.json): operator, change id, dry run or not, artifact, releases and backup "
            "are unknown"
        ]
    releases = run.get("releases") if isinstance(run.get("releases"), dict) else {}
    release_text = ", ".join(f"{b} {releases.get(b) or 'not recorded'}" for b in ("legacy", "imaging"))
    started = f", started {run['started']}" if run.get("started") else ""
    took_over = f"; took the lock over from {run['lock_taken_over_from']}" if run.get("lock_taken_over_from") else ""
    return [
        f"Run: {run.get('playbook') or 'playbook not recorded'} {run.get('run_id') or '(run id not recorded)'} "
        f"by {run.get('operator') or 'an operator not recorded'}{started}; change id: "
        f"{run.get('change_id') or 'none given'}{took_over}",
        f"Artifact: {run.get('artifact_id') or 'not recorded'}; releases: {release_text}",
        _backup_line(run, backup),
    ]


def headline(
    final: dict[str, Any],
    run: dict[str, Any] | None,
    total_seconds: float | None,
    backup: dict[str, Any] | None = None,
    warm: dict[str, Any] | None = None,
    *,
    carried: dict[str, Any] | None = None,
) -> list[str]:
    lines = [
        f"Verdict: {final['verdict'].upper()}" + (f" ({final['reasons'][0]})" if final["verdict"] == "unknown" else "")
    ]
    if final["dry_run"]:
        lines.append("DRY RUN (--check): nothing was changed")
    if final["now_next"]:
        lines.append(final["now_next"])
    serving = f"Serving backend: {final['users']['text']}"
    if final["lock"] is not None:
        serving += f"; lock: {final['lock']}"
    lines.append(serving)
    lines.append(f"Write freeze for users: {final['freeze']['text']}")
    lines += _run_lines(run, backup)
    if warm is not None:
        lines.append(f"New service's shared counts before the switch: {warm_text(warm)}")
    if carried is not None:
        lines.append(f"Tasks carried back to the legacy: {carry_back_text(carried)}")
    rolled_back = "yes" if final["rolled_back"] else "no" if final["last_phase"] else "not known (no phase record)"
    lines.append(
        f"Rolled back: {rolled_back}; total time "
        f"{seconds(total_seconds, 'not measured (no timestamps in the run folder)')}; "
        f"failed requests under load: {final['failed_requests_text']}"
    )
    return lines
