"""Decisions the playbooks take once per run, kept here where they can be tested:

- radiology_tag_problem: whether a --tags/--skip-tags selection is one the playbook can run safely;
- radiology_serving: which backend serves, from where `current` points on every web host;
- radiology_secret_problems: secrets that are placeholders, too short, or the same as another secret;
- radiology_db_connections: the database connections the new service's gunicorn threads may hold, per app host;
- radiology_state: where users are (serving backend, write freezes, run lock) from tasks/read_state.yml's reads;
- radiology_short_diff_scope: which paths the cutover's last API diff must compare after a delta load;
- radiology_status_services, radiology_status_table: playbooks/status.yml's figures and its printed table.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The cutover's phases in order. From the stage on, every phase needs the ones before it in the same run: a delta
# load without this run's stage 1, a switch without this run's gates, an unfreeze without a switch or a freeze left
# without its switch would leave users on unverified data or with writes frozen for good.
CUTOVER_CHAIN = ("stage", "freeze", "migrate", "gates", "switch", "unfreeze", "watch")
# Phases that may run alone: checks, and the provisioning that site.yml also does.
CUTOVER_OPTIONAL = ("preflight", "provision")
VALID_SETS = {
    "cutover": [
        "(no --tags): the whole cutover",
        "--skip-tags provision (or preflight, or both): the whole cutover without them",
        "--tags preflight",
        "--tags provision",
        "--tags preflight,provision",
    ],
    "rollback": ["(no --tags and no --skip-tags): the rollback runs whole or not at all"],
}
PLACEHOLDER_WORDS = (
    "change-me",
    "changeme",
    "change_me",
    "placeholder",
    "example",
    "dummy",
    "insecure",
    "password",
    "xxxx",
    "todo",
)


def _selected(run_tags: Iterable[str], skip_tags: Iterable[str], phases: Sequence[str]) -> set[str]:
    run = set(run_tags) or {"all"}
    skip = set(skip_tags)
    chosen = set(phases) if "all" in run else run & set(phases)
    return chosen - skip


def radiology_tag_problem(run_tags: Iterable[str], skip_tags: Iterable[str], playbook: str) -> str:
    """'' when the selection is safe for `playbook`, else why not and the valid sets."""
    run_tags, skip_tags = list(run_tags or []), list(skip_tags or [])
    valid = "Valid selections: " + "; ".join(VALID_SETS.get(playbook, ["any"])) + "."
    if "always" in skip_tags:
        return f"--skip-tags always would skip the safety checks and the automatic rollback. {valid}"
    if playbook == "rollback":
        if set(run_tags) - {"all"} or skip_tags:
            return f"rollback.yml takes no --tags or --skip-tags (given: {run_tags}, skipped: {skip_tags}). {valid}"
        return ""
    if playbook != "cutover":
        return ""
    unknown = (set(run_tags) | set(skip_tags)) - set(CUTOVER_CHAIN) - set(CUTOVER_OPTIONAL) - {"all", "always"}
    if unknown:
        phases = list(CUTOVER_OPTIONAL + CUTOVER_CHAIN)
        return f"unknown tags {sorted(unknown)}: the cutover's phases are {phases}. {valid}"
    chain = _selected(run_tags, skip_tags, CUTOVER_CHAIN)
    if chain and chain != set(CUTOVER_CHAIN):
        missing = [p for p in CUTOVER_CHAIN if p not in chain]
        return (
            f"phases {[p for p in CUTOVER_CHAIN if p in chain]} cannot run without {missing} in the same run "
            "(a switch needs this run's stage 1, freeze, migration and gates; an unfreeze and the watch need the "
            "switch). " + valid
        )
    return ""


# The paths users change while the legacy serves (tasks, and the counts in /health). Stage 1 compares the rest of the
# battery against its live snapshot; under the freeze only these need comparing again, unless the delta load
# changed other tables too.
WRITTEN_PATHS = ("/analysis/tasks", "/health")
WRITTEN_TABLES = frozenset({"analysis_tasks"})


def radiology_short_diff_scope(load: Mapping[str, Any] | str | None) -> list[str]:
    """`radiology-migrate api-diff` options for the API diff after the load whose JSON document is `load` (parsed,
    or as the command printed it).

    After a delta load that changed rows of the task table only: `--only` each of WRITTEN_PATHS (what stage 1 could
    not compare). Anything else (a full load, a delta that touched examinations or reports, no load in a dry run,
    a document that is not a load's): [] for the whole battery, never less than is safe.
    """
    doc: Any = load
    if isinstance(load, str):
        try:
            doc = json.loads(load) if load else None
        except ValueError:
            return []
    if not isinstance(doc, dict) or doc.get("mode") != "delta" or not isinstance(doc.get("delta"), dict):
        return []
    for table, counts in doc["delta"].items():
        if not isinstance(counts, dict):
            return []
        changed = sum(v for v in counts.values() if isinstance(v, int) and not isinstance(v, bool))
        if table not in WRITTEN_TABLES and changed != 0:
            return []
    return [arg for path in WRITTEN_PATHS for arg in ("--only", path)]


def _backend_of(read: Mapping[str, Any] | None) -> str | None:
    if not read:
        return None
    backend = read.get("backend")
    return str(backend) if backend else None


def radiology_serving(reads: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Which backend the users get, from each web host's `current` (its release metadata).

    reads: host -> {"current": release metadata of current or None, "fact": the recorded local fact or None}.
    Returns {"serving": legacy | imaging | none | mixed, "hosts": {host: backend or None}, "problems": [...]}.
    A host whose recorded fact disagrees with its `current`, or hosts that disagree with each other, are
    problems: the run must stop and name them. A host with no `current` yet (new or rebuilt) serves nothing
    and takes the others' backend when provisioned.
    """
    problems: list[str] = []
    hosts: dict[str, str | None] = {}
    for host, read in sorted(reads.items()):
        current, fact = read.get("current"), read.get("fact")
        backend = _backend_of(current)
        hosts[host] = backend
        recorded = _backend_of(fact)
        if recorded is not None and backend != recorded:
            release = (current or {}).get("release") or "nothing"
            problems.append(
                f"{host}: current points at {release} (backend {backend or 'none'}) but the recorded fact "
                f"says {recorded} ({(fact or {}).get('release', '?')}): a run was interrupted between the two"
            )
    backends = {b for b in hosts.values() if b}
    if len(backends) > 1:
        problems.append(
            "web hosts serve different backends: " + ", ".join(f"{h}={b or 'none'}" for h, b in hosts.items())
        )
    serving = "mixed" if len(backends) > 1 else (backends.pop() if backends else "none")
    return {"serving": serving, "hosts": hosts, "problems": problems}


def radiology_secret_problems(secrets: Iterable[Mapping[str, Any]]) -> list[str]:
    """Problems of the given secrets ({var, value, min}), naming variables, never values."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for secret in secrets:
        var, value, minimum = str(secret["var"]), str(secret.get("value") or ""), int(secret["min"])
        lowered = value.lower()
        if len(value) < minimum:
            problems.append(f"{var} is missing or shorter than {minimum} characters")
            continue
        word = next((w for w in PLACEHOLDER_WORDS if w in lowered), None)
        if word or len(set(value)) < 6:
            why = f"contains {word!r}" if word else "too few distinct characters"
            problems.append(f"{var} looks like a placeholder ({why})")
        if value in seen:
            problems.append(f"{var} is the same as {seen[value]}: every secret must be different")
        seen.setdefault(value, var)
    return problems


def radiology_web_user_secret(user: Mapping[str, Any]) -> dict[str, Any]:
    """A user of the front door's basic mode ({name, password}) as a secret for radiology_secret_problems."""
    name = str(user.get("name") or "?")
    return {
        "var": f"the password of web user {name!r} (radiology_web_users)",
        "value": user.get("password") or "",
        "min": 12,
        "env": "RADIOLOGY_WEB_PASSWORD",
        "vault": "vault_radiology_web_users",
    }


# gunicorn's rule for the new service (imaging_api.gunicorn_conf): workers = 2 x CPUs + 1 unless set; threads
# per worker as the imaging_api role sets them (IMAGING_THREADS). Each thread holds at most one connection.
DEFAULT_THREADS = 4


def radiology_db_connections(app_hosts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per app host (its hostvars): workers, threads and the connections they may hold, with a readable label."""
    budget: list[dict[str, Any]] = []
    for host in app_hosts:
        workers = int(host.get("imaging_api_workers") or 0) or 2 * int(host.get("ansible_processor_vcpus") or 1) + 1
        threads = int(host.get("imaging_api_threads") or DEFAULT_THREADS)
        name = str(host.get("inventory_hostname", "?"))
        connections = workers * threads
        budget.append(
            {
                "host": name,
                "workers": workers,
                "threads": threads,
                "connections": connections,
                "label": f"{name}: {workers} workers x {threads} threads = {connections}",
            }
        )
    return budget


def _slurped(result: Mapping[str, Any] | None) -> Any:
    """The JSON document an ansible.builtin.slurp result holds, or None (missing file, unreachable host)."""
    content = (result or {}).get("content")
    if not content:
        return None
    try:
        return json.loads(base64.b64decode(content))
    except ValueError:
        return {"unreadable": True}


def _files(reads: Mapping[str, Any], host: str) -> Mapping[str, Any] | None:
    """What radiology_read_files answered on host (tasks/read_state.yml), or None (unreachable, or not in the play)."""
    files = (reads.get(host) or {}).get("files")
    return files if isinstance(files, Mapping) else None


def _freeze(files: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    if files is None or not isinstance(files.get(name), Mapping):
        return {"reachable": False, "writes_frozen": None}
    return {"reachable": True, "writes_frozen": bool(files[name].get("exists"))}


def _public_lock(lock: Any) -> Any:
    """The lock as reports and status show it: without the token that tells runs apart."""
    return {k: v for k, v in lock.items() if k != "token"} if isinstance(lock, Mapping) else lock


def radiology_state(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Where users are, from the reads of tasks/read_state.yml: {web, legacy, app} (the hosts of each group), reads
    (per host, its radiology_read_files result) and read_at."""
    reads = raw["reads"]
    web_reads = {
        host: {
            "current": _slurped((_files(reads, host) or {}).get("current")),
            "fact": _slurped((_files(reads, host) or {}).get("fact")),
        }
        for host in raw["web"]
    }
    serving = radiology_serving(web_reads)
    web = {
        host: {"backend": (read["current"] or {}).get("backend"), "release": (read["current"] or {}).get("release")}
        for host, read in web_reads.items()
    }
    lock_host = raw["legacy"][0] if raw["legacy"] else None
    return {
        "read_at": raw["read_at"],
        "serving": serving["serving"],
        "problems": serving["problems"],
        "web": web,
        "writes": {
            "legacy": {host: _freeze(_files(reads, host), "legacy_freeze") for host in raw["legacy"]},
            "imaging": {host: _freeze(_files(reads, host), "imaging_freeze") for host in raw["app"]},
        },
        "lock": _public_lock(_slurped((_files(reads, lock_host) or {}).get("lock") if lock_host else None)),
    }


def radiology_rollback_pending(read: Mapping[str, Any]) -> Any:
    """What an unfinished rollback recorded on the legacy host (its run id and when it switched), or None; read is the
    legacy host's radiology_read_files result."""
    files = read.get("files") if isinstance(read, Mapping) else None
    return _slurped((files or {}).get("rollback_pending")) if isinstance(files, Mapping) else None


def radiology_status_services(health: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per service and host: does it answer, its row counts and write freeze (status.yml's health loop)."""
    out: dict[str, dict[str, Any]] = {"legacy": {}, "imaging": {}}
    for host, registered in health.items():
        for result in (registered or {}).get("results") or []:
            service = result.get("radiology_status_service")
            body = result.get("json") if isinstance(result.get("json"), Mapping) else {}
            answer: dict[str, Any] = {"status": result.get("status", -1) if "status" in result else None}
            if result.get("status") == 200:
                answer.update({k: body.get(k) for k in ("examinations", "reports", "analysis_tasks", "writes_frozen")})
            else:
                error = body.get("error") if isinstance(body.get("error"), Mapping) else {}
                answer["error"] = str(error.get("message") or result.get("msg") or "no answer")
            out.setdefault(str(service), {})[host] = answer
    return out


def _writes(frozen: Mapping[str, Any] | None) -> str:
    flag = (frozen or {}).get("writes_frozen")
    return "unknown" if flag is None else ("FROZEN" if flag else "open")


def radiology_status_table(status: Mapping[str, Any]) -> list[str]:
    """The short table `make status` prints."""
    web = status.get("web") or {}
    lines = [
        f"serving: {status.get('serving')}  ("
        + ", ".join(f"{h}: {w.get('backend') or 'nothing'} {w.get('release') or ''}".rstrip() for h, w in web.items())
        + ")"
    ]
    lines.append(f"{'service':<8} {'host':<16} {'writes':<8} {'examinations':>12} {'reports':>8} {'tasks':>6}  health")
    services = status.get("services") or {}
    for service in ("legacy", "imaging"):
        for host, frozen in ((status.get("writes") or {}).get(service) or {}).items():
            answer = (services.get(service) or {}).get(host) or {}
            counts = [answer.get(k) for k in ("examinations", "reports", "analysis_tasks")]
            shown = ["-" if c is None else str(c) for c in counts]
            error = f"{answer.get('status')} {answer.get('error', '')}".strip()
            health = "ok" if answer.get("status") == 200 else error
            row = f"{service:<8} {host:<16} {_writes(frozen):<8} {shown[0]:>12} {shown[1]:>8} {shown[2]:>6}"
            lines.append(f"{row}  {health}")
    version = status.get("data_version")
    lines.append(f"data version (new service): {'unknown' if version is None else version}")
    last = status.get("last_run")
    lines.append(
        "last run: none recorded"
        if not last
        else f"last run: {last.get('playbook')} {last.get('run_id')} {last.get('verdict')} by {last.get('operator')}, "
        f"ended {last.get('ended')}; report {last.get('controller')}:{last.get('report')}"
    )
    pending = status.get("rollback_pending")
    if pending:
        lines.append(
            f"rollback: UNFINISHED ({pending.get('run_id')} switched users back at {pending.get('switched_at')}; "
            "the legacy refuses writes until rollback.yml has carried the tasks back and verified them)"
        )
    lock = status.get("lock")
    lines.append(
        "run lock: free"
        if not lock
        else f"run lock: HELD by {lock.get('playbook')} {lock.get('run_id')} "
        f"({lock.get('operator')}, since {lock.get('started')})"
    )
    lines.extend(f"problem: {p}" for p in status.get("problems") or [])
    return lines


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "radiology_tag_problem": radiology_tag_problem,
            "radiology_serving": radiology_serving,
            "radiology_secret_problems": radiology_secret_problems,
            "radiology_web_user_secret": radiology_web_user_secret,
            "radiology_db_connections": radiology_db_connections,
            "radiology_state": radiology_state,
            "radiology_rollback_pending": radiology_rollback_pending,
            "radiology_status_services": radiology_status_services,
            "radiology_status_table": radiology_status_table,
            "radiology_short_diff_scope": radiology_short_diff_scope,
        }
