"""The outcome of a run: its verdict and why, where the users are at the end (state-end.json only, never guessed
from phases or load), and, for a failed run, one line saying where the users are and what the operator does next.
"""

from __future__ import annotations

from typing import Any

from .fmt import cut
from .report_freeze import freeze_summary, freeze_windows
from .report_run import STATUS_HINT, lock_text, users_now, writes_of

RUNBOOK = f"{STATUS_HINT} and follow the runbook's rollback section"
NOT_A_ROLLBACK = ("preflight", "unfreeze", "watch")
STAGES = ("completed", "before-switch", "after-switch", "rolled-back", "during-rollback", "interrupted")


def is_rollback_phase(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("rollback") or lowered == "carry-back"


def playbook_of(run: dict[str, Any] | None, phases: list[dict[str, Any]]) -> str | None:
    if run and run.get("playbook") in ("cutover", "rollback"):
        return str(run["playbook"])
    names = [p["phase"].split(" ", 1)[1] for p in phases if p["is_playbook"]]
    return names[0] if names else None


def _did_roll_back(steps: list[dict[str, Any]]) -> bool:
    # A rollback happened when one of its phases did work beyond reading the state, lifting a leftover freeze and
    # watching (rollback_phases.yml's plays also run after every successful cutover, as no-ops, and by hand with the
    # legacy already active only lift its freeze).
    return any(
        is_rollback_phase(p["phase"])
        and not any(word in p["phase"].lower() for word in NOT_A_ROLLBACK)
        and p["status"] != "skipped"
        for p in steps
    )


def _bad(p: dict[str, Any]) -> bool:
    return p["status"] == "failed" or p["ended"] is None


def _stage(phases: list[dict[str, Any]], rolled_back: bool) -> tuple[str, dict[str, Any] | None]:
    """Where the run stopped (one of STAGES) and the first failed or unfinished phase."""
    steps = [p for p in phases if not p["is_playbook"]]
    bad = [p for p in steps if _bad(p)]
    if any(is_rollback_phase(p["phase"]) for p in bad):
        return "during-rollback", next(p for p in bad if is_rollback_phase(p["phase"]))
    first = bad[0] if bad else None
    if rolled_back:
        return "rolled-back", first
    if first is not None:
        switched = any(p["phase"] == "switch" and p["status"] != "skipped" for p in steps[: steps.index(first) + 1])
        return ("after-switch" if switched else "before-switch"), first
    if any(p["is_playbook"] and p["ended"] is None for p in phases):
        return "interrupted", None
    return "completed", None


def _expected_backend(stage: str, playbook: str | None, dry_run: bool | None) -> str | None:
    """The backend this way of ending leaves the users on (None: no expectation, e.g. a dry run)."""
    if dry_run is not False:
        return None
    if stage in ("before-switch", "rolled-back"):
        return "legacy"
    if stage == "completed":
        return {"cutover": "imaging", "rollback": "legacy"}.get(playbook or "")
    return None


def _state_problems(users: dict[str, Any], expected: str | None) -> list[str]:
    serving = users["serving"]
    if serving is None:
        return []
    if serving in ("mixed", "none"):
        return [f"at the end {users['text']}"]
    if expected is not None and serving != expected:
        return [f"at the end users are on {serving}, not {expected}"]
    if expected is not None and users["writable"] is not True:
        return [f"at the end users on {serving} cannot write everywhere: {users['writes']['text']}"]
    return []


def _load_figures(loads: list[dict[str, Any]], run: dict[str, Any] | None) -> dict[str, Any]:
    declared = (run or {}).get("load")
    if not loads:
        if declared:
            why = (
                f"run.json says a load of {declared.get('users', '?')} users ran into {declared['folder']}/, "
                "which holds no results"
            )
        elif run is not None:
            why = "no load ran during this run"
        else:
            why = "no load results in this run folder"
        return {"failed": None, "requests": None, "complete": None, "text": f"not measured ({why})"}
    failed = sum(int(load.get("failed") or 0) for load in loads)
    requests = sum(int(load.get("requests") or 0) for load in loads)
    complete = all(load.get("complete") for load in loads)
    text = f"{failed:,} of {requests:,}" + ("" if complete else " so far (a load without summary.json)")
    return {"failed": failed, "requests": requests, "complete": complete, "text": text}


def _cause(phase: dict[str, Any] | None) -> str:
    if phase is None:
        return "see the phases below"
    failures = phase["failures"]
    if not failures:
        return f"phase {phase['phase']} {'failed' if phase['status'] == 'failed' else 'did not end'}"
    last = failures[-1]  # an abort's own message names the cause it stopped for
    return f"phase {phase['phase']} on {last.get('host')}: {cut(last.get('message'), 200, 'phases.json')}"


def _next_step(
    stage: str,
    first: dict[str, Any] | None,
    users: dict[str, Any],
    *,
    state_problems: list[str],
    reasons: list[str],
    dry_run: bool | None,
) -> str:
    if users["serving"] is None:
        return f"the end state was not read: {RUNBOOK}"
    if stage in ("during-rollback", "after-switch", "interrupted") or state_problems:
        return RUNBOOK
    again = "cutover.yml --check" if dry_run else "cutover.yml"
    if stage == "before-switch":
        return f"fix the cause named in the failed {_cause(first)} — and run {again} again"
    if stage == "rolled-back":
        return (
            f"keep this run folder as evidence, investigate the failure ({_cause(first)}), and run {again} again later"
        )
    return f"every phase completed, but {'; '.join(reasons)}: investigate (sections below), then {STATUS_HINT}"


def _lock_advice(lock: str | None, mine: bool | None, run: dict[str, Any] | None) -> str:
    if lock is None or lock == "free":
        return ""
    if mine:
        return (
            f" The run's lock is still held: the next run takes it over with "
            f"`-e radiology_lock_takeover={(run or {}).get('run_id')}`."
        )
    return f" The lock is {lock}: once that run has ended, take it over with `-e radiology_lock_takeover=<its run_id>`."


def final_state(
    phases: list[dict[str, Any]],
    gates: list[dict[str, Any]],
    loads: list[dict[str, Any]],
    watches: list[dict[str, Any]],
    *,
    task_checks: list[dict[str, Any]],
    run: dict[str, Any] | None,
    state: dict[str, Any] | None,
) -> dict[str, Any]:
    steps = [p for p in phases if not p["is_playbook"]]
    dry_run = run.get("check_mode") if run else None
    playbook = playbook_of(run, phases)
    rolled_back = _did_roll_back(steps)
    stage, first = _stage(phases, rolled_back)
    users = users_now(state)
    lock, lock_mine = lock_text(state, run)
    load = _load_figures(loads, run)
    legacy_writable = writes_of(state, "legacy")["writable"] if state is not None else None
    failed_phases = [p["phase"] for p in phases if p["status"] == "failed"]
    unfinished = [p["phase"] for p in phases if p["ended"] is None]
    failed_gates = [g["file"] for g in gates if g["ok"] is False]
    failed_watches = [w["file"] for w in watches if w.get("ok") is False]
    failed_task_checks = [c["file"] for c in task_checks if c["ok"] is False]
    state_problems = _state_problems(users, _expected_backend(stage, playbook, dry_run))
    if state is not None and dry_run is False:
        state_problems += [f"the end state names a problem: {p}" for p in state["problems"]]
    reasons = [f"phase {name} failed" for name in failed_phases] + [f"phase {n} did not end" for n in unfinished]
    reasons += [f"gate {name} failed" for name in failed_gates] + [f"watch {name} failed" for name in failed_watches]
    reasons += [f"task check {name} failed" for name in failed_task_checks]
    if load["failed"]:
        reasons.append(f"{load['failed']:,} request(s) failed under load")
    reasons += state_problems
    ok = not reasons
    verdict = "success" if ok else "failed"
    if ok and not phases:
        verdict, reasons = "unknown", ["no phases.json: what the run did was not recorded"]
    now_next = None
    if verdict == "failed":
        step = _next_step(stage, first, users, state_problems=state_problems, reasons=reasons, dry_run=dry_run)
        now_next = f"Users now: {users['text']}. Next: {step}." + _lock_advice(lock, lock_mine, run)
    return {
        "verdict": verdict,
        "reasons": reasons,
        "playbook": playbook,
        "dry_run": dry_run,
        "stage": stage,
        "serving_backend": users["serving"],
        "users": users,
        "lock": lock,
        "lock_is_this_run": lock_mine,
        "now_next": now_next,
        "rolled_back": rolled_back,
        "freeze": freeze_summary(phases, freeze_windows(phases, legacy_writable), users, dry_run),
        "last_phase": ({"phase": steps[-1]["phase"], "status": steps[-1]["status"]} if steps else None),
        "failed_phases": failed_phases,
        "unfinished_phases": unfinished,
        "failed_gates": failed_gates,
        "failed_requests": load["failed"],
        "requests_under_load": load["requests"],
        "load_complete": load["complete"],
        "failed_requests_text": load["text"],
        "failed_watches": failed_watches,
        "failed_task_checks": failed_task_checks,
        "state_problems": state_problems,
    }
