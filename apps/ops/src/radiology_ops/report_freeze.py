"""The write-freeze windows of a run: when, and for how long, users could not write.

A window opens at the start of a freeze phase ("freeze": both services before the migration; "rollback-freeze":
the new service before switching back) and closes at the end of the phase that gives users their writes back
("unfreeze": the new service after the switch; "rollback-unfreeze": the legacy after switching back). A cutover
stopped before the switch gives the legacy its writes back in the rescue of the failed phase (a migrate or gates
play, playbooks/tasks/abort_unfrozen.yml): that window closed, at the latest, when that phase ended, unless the
phase says the rescue cannot have run or failed (an unreachable host, a failed unfreeze task) or the end state
shows the legacy still frozen. Any other window stays open here, and the end state (state-end.json) says whether
the users could write again when the run ended.

The "stage" phase of a two-stage cutover (stage 1: a live snapshot, load and gates while the legacy takes writes)
runs before the freeze: it neither opens nor closes a window. When it fails, its rescue stops the cutover before
anything froze the legacy, so the run has no window at all (and it is no abort phase: it cannot close one).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .fmt import seconds

FREEZE_PHASES = ("freeze", "rollback-freeze")
UNFREEZE_PHASES = ("unfreeze", "rollback-unfreeze")
ABORT_PHASES = ("migrate", "gates")  # their plays give the legacy its writes back when they fail (a rescue)
# ("stage" is not one: it runs before the freeze, so no window is open when it fails)
UNREACHABLE = "host unreachable"  # the callback's message: a rescue does not run for an unreachable host
DONE = ("ok", "changed")


def _clock(epoch: float, date: bool = True) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if date else "%H:%M:%S UTC")


def _close(window: dict[str, Any], phase: dict[str, Any], closed_by: str, at_latest: bool) -> None:
    window.update(
        end=phase["ended"],
        end_epoch=phase["ended_epoch"],
        closed_by=closed_by,
        end_at_latest=at_latest,
        seconds=round(phase["ended_epoch"] - window["start_epoch"], 3),
    )


def _aborted(p: dict[str, Any], legacy_writable: bool | None) -> tuple[bool, str]:
    """Whether a failed phase gave the legacy its writes back (its rescue ran and unfroze), and why not."""
    if p["phase"] not in ABORT_PHASES or p["status"] != "failed" or p["ended_epoch"] is None:
        return False, ""
    if any(f.get("message") == UNREACHABLE for f in p["failures"]):
        return False, f"the {p['phase']} phase lost a host, so its abort may not have unfrozen the legacy"
    if any("unfreeze" in str(f.get("task", "")).lower() for f in p["failures"]):
        return False, f"the abort in the {p['phase']} phase failed to unfreeze the legacy"
    if legacy_writable is False:
        return False, f"the {p['phase']} phase aborted, but the end state shows the legacy still frozen"
    return True, ""


def freeze_windows(phases: list[dict[str, Any]], legacy_writable: bool | None = None) -> list[dict[str, Any]]:
    """The windows in phase order; an open one has end None. `legacy_writable`: the end state of the legacy's
    writes (state-end.json; None when not read)."""
    windows: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for p in phases:
        if p["is_playbook"] or p["status"] == "skipped":
            continue
        name = p["phase"]
        if name in FREEZE_PHASES:
            if current is None and p["started_epoch"] is not None:
                current = {
                    "start": p["started"],
                    "start_epoch": p["started_epoch"],
                    "opened_by": name,
                    "end": None,
                    "end_epoch": None,
                    "closed_by": None,
                    "end_at_latest": False,
                    "seconds": None,
                    "notes": [],
                }
                windows.append(current)
            continue
        if current is None:
            continue
        if name in UNFREEZE_PHASES:
            if p["status"] in DONE and p["ended_epoch"] is not None:
                _close(current, p, f"end of the {name} phase", at_latest=False)
                current = None
            else:
                current["notes"].append(f"the {name} phase {p['status']}")
        else:
            aborted, why_not = _aborted(p, legacy_writable)
            if aborted:
                _close(current, p, f"the legacy unfrozen by the abort in the failed {name} phase", at_latest=True)
                current = None
            elif why_not:
                current["notes"].append(why_not)
    return windows


def _window_text(w: dict[str, Any], users: dict[str, Any]) -> tuple[str, bool]:
    """The text of one window and whether its length is known (exactly or as an upper bound)."""
    start = _clock(w["start_epoch"])
    if w["end_epoch"] is not None:
        same_day = _clock(w["start_epoch"])[:10] == _clock(w["end_epoch"])[:10]
        end = _clock(w["end_epoch"], date=not same_day)
        if w["end_at_latest"]:
            return f"{start} → {end} at the latest ({seconds(w['seconds'])} at most; {w['closed_by']})", True
        return f"{start} → {end} ({seconds(w['seconds'])}; {w['opened_by']} → {w['closed_by']})", True
    notes = f" ({'; '.join(w['notes'])})" if w["notes"] else ""
    text = f"from {start}, end not determined{notes}"
    if users.get("read_at") is None:
        return f"{text}: the end state was not read — run `make status`", False
    if users.get("writable") is True:
        return f"{text}: users could write again when the end state was read ({users['read_at']})", False
    if users.get("writable") is False:
        return f"{text}: users still could not write when the end state was read ({users['read_at']})", False
    return f"{text}: at the end, {users['text']}", False


def freeze_summary(
    phases: list[dict[str, Any]], windows: list[dict[str, Any]], users: dict[str, Any], dry_run: bool | None
) -> dict[str, Any]:
    """The windows, their total length when every end is known, and the headline text."""
    if not phases:
        return {"windows": windows, "seconds": None, "text": "not measured (no phases.json)"}
    if not windows:
        why = "a dry run freezes nothing" if dry_run else "no freeze phase ran in this run"
        return {"windows": windows, "seconds": 0.0, "text": f"none: writes were never frozen ({why})"}
    texts, known = zip(*(_window_text(w, users) for w in windows), strict=True)
    total = round(sum(w["seconds"] for w in windows), 3) if all(known) else None
    upper = any(w["end_at_latest"] for w in windows)
    if len(windows) == 1:
        text = texts[0]
    else:
        length = f"{seconds(total)}{' at most' if upper else ''} in all" if total is not None else "length unknown"
        text = f"{len(windows)} windows, {length}: " + "; ".join(texts)
    return {"windows": windows, "seconds": total, "seconds_at_most": upper, "text": text}
