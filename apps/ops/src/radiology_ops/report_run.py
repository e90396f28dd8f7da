"""run.json (who ran what, written when a cutover or rollback starts) and state-end.json (where the users were
when it ended, read from the hosts). Both are optional; a missing one is said, never guessed.

    run.json        {"playbook": "cutover" | "rollback", "run_id", "operator", "change_id" | null,
                     "check_mode": bool, "artifact_id" | null, "releases": {"legacy", "imaging"},
                     "backup": "db1: pgBackRest incr backup; db1:/var/backups/...dump" | null (what the run takes),
                     "load": null | {"users": 100, "folder": "load"}}
    backup.json     the backup the cutover took before the target was replaced, on the primary:
                    {"host", "pgbackrest": null | {"stanza", "label", "type", "database_bytes", "stored_bytes",
                     "started", "stopped" (epoch seconds), "lsn_start", "lsn_stop"}, "dump": null | path}
    warm-counts.json  what `imaging-api warm_counts` counted at the end of stage 1: {"cache": "on" | "off",
                    "data_version", "seconds", "warmed": [{"what", "seconds", "answered": {"counted": n, ...}}]},
                    or {"failed": true, "rc", "stderr"}
    carry-back.json   what `radiology-migrate carry-back --json` did in a rollback: {"ok", "error", "failed_step",
                    "steps": {"freeze-barrier": {"waited_s", "step_seconds"}, "export-tasks": {"tasks", ...},
                    "push-tasks": {"result": {"received", "inserted", "updated"}, ...}}}
    state-end.json  {"read_at", "serving": "imaging" | "legacy" | "mixed" | "none",
                     "web": {host: {"backend", "release"}},
                     "writes": {"legacy": {host: {"reachable", "writes_frozen"}}, "imaging": {host: {...}}},
                     "lock": null | {"run_id", "operator", "started", "playbook"}, "problems": [...]}

The lock's "token" (what lets a run release only its own lock) is left out of the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RUN_JSON = "run.json"
BACKUP_JSON = "backup.json"
WARM_JSON = "warm-counts.json"
CARRY_BACK_JSON = "carry-back.json"
MIB = 1048576
STATE_END_JSON = "state-end.json"
BACKENDS = ("legacy", "imaging")
SERVING = (*BACKENDS, "mixed", "none")
STATUS_HINT = "run `make status` (playbooks/status.yml)"
NOT_READ = f"not read at the end of the run — {STATUS_HINT}"


def _read_object(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        problems.append(f"{path.name}: unreadable ({e})")
        return None
    if not isinstance(doc, dict):
        problems.append(f"{path.name}: not a JSON object")
        return None
    return doc


def read_run(run_dir: Path, problems: list[str]) -> dict[str, Any] | None:
    """run.json, or None when the run folder has none (or an unreadable one, listed in problems)."""
    doc = _read_object(run_dir / RUN_JSON, problems)
    if doc is None:
        return None
    if doc.get("playbook") not in ("cutover", "rollback"):
        problems.append(f"run.json: playbook {doc.get('playbook')!r} is neither cutover nor rollback")
    if not isinstance(doc.get("check_mode"), bool):
        problems.append("run.json: check_mode is not true or false; whether this was a dry run is unknown")
        doc["check_mode"] = None
    load = doc.get("load")
    if load is not None and not (isinstance(load, dict) and isinstance(load.get("folder"), str)):
        problems.append(f"run.json: load {load!r} names no folder")
        doc["load"] = None
    return doc


def read_backup(run_dir: Path, problems: list[str]) -> dict[str, Any] | None:
    """backup.json, or None when the run took no backup (or left an unusable record, listed in problems)."""
    doc = _read_object(run_dir / BACKUP_JSON, problems)
    if doc is None:
        return None
    pgbackrest = doc.get("pgbackrest")
    if pgbackrest is not None and not (isinstance(pgbackrest, dict) and isinstance(pgbackrest.get("label"), str)):
        problems.append(f"backup.json: the pgBackRest backup {pgbackrest!r} has no label")
        doc["pgbackrest"] = None
    if doc.get("pgbackrest") is None and not isinstance(doc.get("dump"), str):
        problems.append("backup.json: names neither a pgBackRest backup nor a dump")
        return None
    return doc


def backup_text(backup: dict[str, Any]) -> str:
    """One line: which backup, where, how big and how long; what to restore it with."""
    host = backup.get("host") or "host not recorded"
    parts = []
    bk = backup.get("pgbackrest")
    if bk:
        took = ""
        if isinstance(bk.get("started"), int | float) and isinstance(bk.get("stopped"), int | float):
            took = f", {bk['stopped'] - bk['started']:.0f} s"
        size = ""
        if isinstance(bk.get("database_bytes"), int | float) and isinstance(bk.get("stored_bytes"), int | float):
            size = f": database {bk['database_bytes'] / MIB:,.1f} MiB, stored {bk['stored_bytes'] / MIB:,.1f} MiB"
        stanza = bk.get("stanza") or "not recorded"
        parts.append(
            f"pgBackRest {bk.get('type') or ''} backup `{bk['label']}` of stanza {stanza} on {host}{size}{took} "
            f"(restore: `pgbackrest --stanza={stanza} --set={bk['label']} restore`)"
        )
    if backup.get("dump"):
        parts.append(f"pg_dump `{host}:{backup['dump']}`")
    return "; ".join(parts)


def read_warm(run_dir: Path, problems: list[str]) -> dict[str, Any] | None:
    """warm-counts.json, or None when the run warmed nothing (or left an unusable record, listed in problems)."""
    doc = _read_object(run_dir / WARM_JSON, problems)
    if doc is None:
        return None
    if not doc.get("failed") and not isinstance(doc.get("warmed"), list):
        problems.append(f"{WARM_JSON}: neither a failure nor a list of what was warmed")
        return None
    return doc


def warm_text(warm: dict[str, Any]) -> str:
    """One line: what the new service's shared count cache held before the switch."""
    if warm.get("failed"):
        stderr = str(warm.get("stderr") or "").strip().splitlines()
        return f"the warm-up failed (rc {warm.get('rc')}): {stderr[-1] if stderr else 'no message'}"
    if warm.get("cache") == "off":
        return "not warmed: the count cache is off (IMAGING_COUNT_CACHE_SECONDS=0)"
    answered: dict[str, int] = {}
    for item in warm["warmed"]:
        for how, n in (item.get("answered") or {}).items():
            answered[how] = answered.get(how, 0) + int(n)
    took = f" in {warm['seconds']:.1f} s" if isinstance(warm.get("seconds"), int | float) else ""
    how = ", ".join(f"{n} {k}" for k, n in sorted(answered.items())) or "nothing answered"
    moved = "; the data changed meanwhile" if warm.get("version_moved") else ""
    return f"{len(warm['warmed'])} sets warmed{took} ({how}) at data version {warm.get('data_version')}{moved}"


def read_carry_back(run_dir: Path, problems: list[str]) -> dict[str, Any] | None:
    """carry-back.json, or None when the run carried nothing back (or left an unusable record, listed in problems)."""
    doc = _read_object(run_dir / CARRY_BACK_JSON, problems)
    if doc is None:
        return None
    if not isinstance(doc.get("steps"), dict) or not all(isinstance(v, dict) for v in doc["steps"].values()):
        problems.append(f"{CARRY_BACK_JSON}: no steps")
        return None
    return doc


def carry_back_text(carried: dict[str, Any]) -> str:
    """One line: how many task rows the rollback carried back to the legacy, and each step's time (in the order the
    steps ran: the order of the record)."""
    steps: dict[str, dict[str, Any]] = carried["steps"]
    timed = [(n, s["step_seconds"]) for n, s in steps.items() if isinstance(s.get("step_seconds"), int | float)]
    took = f" in {sum(t for _, t in timed):.1f} s: " + ", ".join(f"{n} {t:.1f} s" for n, t in timed) if timed else ""
    if carried.get("ok") is not True:
        step, error = carried.get("failed_step") or "an unknown step", carried.get("error") or "no message"
        return f"failed at {step}: {error}" + (f"; steps ran{took}" if took else "")
    result = (steps.get("push-tasks") or {}).get("result") or {}
    counts = [result.get(k) for k in ("received", "inserted", "updated")]
    if not all(isinstance(n, int) for n in counts):
        return f"done, counts not recorded{took}"
    received, inserted, updated = counts
    return f"{received:,} task rows ({inserted:,} new to the legacy, {updated:,} replaced){took}"


def read_state_end(run_dir: Path, problems: list[str]) -> dict[str, Any] | None:
    """state-end.json, or None when the run folder has none (or an unusable one, listed in problems)."""
    doc = _read_object(run_dir / STATE_END_JSON, problems)
    if doc is None:
        return None
    if doc.get("serving") not in SERVING:
        problems.append(f"state-end.json: serving {doc.get('serving')!r} is none of {', '.join(SERVING)}")
        return None
    if isinstance(doc.get("lock"), dict):
        doc["lock"] = {k: v for k, v in doc["lock"].items() if k != "token"}
    if not isinstance(doc.get("problems"), list):
        doc["problems"] = []
    return doc


def _hosts(state: dict[str, Any], backend: str) -> dict[str, Any]:
    writes = state.get("writes") if isinstance(state.get("writes"), dict) else {}
    hosts = writes.get(backend)
    return hosts if isinstance(hosts, dict) else {}


def writes_of(state: dict[str, Any], backend: str) -> dict[str, Any]:
    """Whether users can write to `backend`: writable True (writes open on every host), False (frozen on every
    host), None (frozen on some, or hosts unreachable or not read), with the hosts of each kind and a text."""
    frozen, open_, unknown = [], [], []
    for host, raw in sorted(_hosts(state, backend).items()):
        facts = raw if isinstance(raw, dict) else {}
        if facts.get("reachable") is not True:
            unknown.append(f"{host} unreachable")
        elif facts.get("writes_frozen") is True:
            frozen.append(host)
        elif facts.get("writes_frozen") is False:
            open_.append(host)
        else:
            unknown.append(f"{host} not read")
    if open_ and not frozen and not unknown:
        writable, text = True, "writable"
    elif frozen and not open_ and not unknown:
        writable, text = False, f"read-only (writes frozen on {', '.join(frozen)})"
    elif frozen:
        writable = None
        text = f"partly read-only (writes frozen on {', '.join(frozen)}" + (
            f"; open on {', '.join(open_)})" if open_ else ")"
        )
    elif open_:
        writable, text = None, f"writable on {', '.join(open_)}"
    else:
        writable, text = None, "writes not read"
    if unknown:
        text += f"; {', '.join(unknown)}"
    return {"writable": writable, "frozen_on": frozen, "open_on": open_, "unknown": unknown, "text": text}


def _web_text(state: dict[str, Any]) -> str:
    web = state.get("web") if isinstance(state.get("web"), dict) else {}
    parts = []
    for host, raw in sorted(web.items()):
        facts = raw if isinstance(raw, dict) else {}
        release = f" release {facts['release']}" if facts.get("release") else ""
        parts.append(f"{host} → {facts.get('backend') or 'not read'}{release}")
    return ", ".join(parts)


def users_now(state: dict[str, Any] | None) -> dict[str, Any]:
    """Where the users were at the end of the run, from state-end.json only."""
    if state is None:
        return {"serving": None, "writable": None, "read_at": None, "text": NOT_READ}
    serving = state["serving"]
    web = _web_text(state)
    read_at = state.get("read_at")
    where = f" (read {read_at}{'; ' + web if web else ''})" if read_at or web else ""
    if serving in BACKENDS:
        writes = writes_of(state, serving)
        return {
            "serving": serving,
            "writable": writes["writable"],
            "read_at": read_at,
            "writes": writes,
            "text": f"{serving}, {writes['text']}{where}",
        }
    what = "mixed: the web hosts point at different backends" if serving == "mixed" else "no backend serves"
    writable = False if serving == "none" else None
    return {"serving": serving, "writable": writable, "read_at": read_at, "text": what + where}


def lock_text(state: dict[str, Any] | None, run: dict[str, Any] | None) -> tuple[str | None, bool | None]:
    """What the end state says about the run lock, and whether it is this run's (None: cannot tell)."""
    if state is None:
        return None, None
    lock = state.get("lock")
    if not isinstance(lock, dict):
        return "free", False
    run_id = (run or {}).get("run_id")
    mine = None if run_id is None else lock.get("run_id") == run_id
    holder = (
        f"{lock.get('run_id')}: {lock.get('playbook') or 'playbook not recorded'} by "
        f"{lock.get('operator') or 'an operator not recorded'}, since {lock.get('started') or 'a time not recorded'}"
    )
    return f"held by {'this run' if mine else 'another run' if mine is False else 'run'} ({holder})", mine
