"""`api-diff`: the same request battery against both live services; every difference listed by request and path.

The battery (battery.py) is generated from the contract and the legacy service's data. Each response is
compared on status, Content-Type, Retry-After and body: JSON structurally (values, types, missing or extra
keys, key order, list lengths) and, when nothing is ignored for that request, byte for byte. Noise is
measured first by sending the battery to the legacy service twice: paths that differ between two legacy
runs are reported as noisy and a difference there does not fail the diff. The ignore list is explicit (IGNORED).
`only` / `skip` restrict the battery by API path (battery.select); the write steps run only when /analysis/tasks
is kept. A battery's requests go out `concurrency` at a time (default CONCURRENCY: the stage-2 diff runs under the
write freeze), answers compared in the battery's order; paced (`pause_ratio`), one at a time.
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from radiology_contract import responses

from . import battery
from .http import HttpError, Response, request
from .jsondiff import Difference, compare, drop_paths
from .outcome import MigrationError, Outcome
from .progress import Progress, disabled
from .snapshot import api_base

COMPARED_HEADERS = ("content-type", "retry-after")
SHOWN = 40
# Requests in flight at once per battery when it is not paced: about a third of the stage-2 diff's time at a million
# examinations on the lab, with the legacy serving 50 users (105 requests: 2.5 s one at a time).
CONCURRENCY = 4
WRITES_PATH = "/analysis/tasks"  # the write steps create, read and delete a task there


@dataclass(frozen=True)
class Ignore:
    applies_to: str  # request label or path prefix
    paths: tuple[str, ...]
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"applies_to": self.applies_to, "paths": list(self.paths), "reason": self.reason}


# The documented ignore list: everything else must be equal.
IGNORED: tuple[Ignore, ...] = (
    Ignore("GET /api/v1/health", ("$.backend",), "names the backend that answered; differs by design"),
    Ignore(
        "GET /api/v1/health",
        ("$.writes_frozen",),
        "the write freeze is per service; the legacy is frozen during a cutover",
    ),
    Ignore(
        "created task (--with-writes)",
        ("$.task_id", "$.created_at", "$.completed_at"),
        "a new task gets a fresh UUID and the current time on each service",
    ),
)
HEALTH_IGNORES = tuple(p for i in IGNORED if i.applies_to == "GET /api/v1/health" for p in i.paths)
TASK_IGNORES = tuple(p for i in IGNORED if i.applies_to.startswith("created task") for p in i.paths)


def _origin(url: str) -> str:
    base = api_base(url)
    return base[: -len(battery.API)]


def _send(origin: str, req: battery.Request, timeout: float) -> Response:
    headers = {"Content-Type": "application/json"} if req.body is not None else {}
    try:
        return request(req.method, origin + req.target, req.body, headers, timeout=timeout)
    except HttpError as e:
        raise MigrationError(f"{req} to {origin} failed: {e}") from e


def _json(resp: Response) -> Any:
    if not resp.body:
        return None
    try:
        return json.loads(resp.body)
    except ValueError:
        return resp.body.decode("utf-8", "replace")


def compare_responses(a: Response, b: Response, ignore: tuple[str, ...] = ()) -> list[Difference]:
    diffs: list[Difference] = []
    if a.status != b.status:
        diffs.append(Difference("status", "status", a.status, b.status))
    for h in COMPARED_HEADERS:
        if a.headers.get(h) != b.headers.get(h):
            diffs.append(Difference(f"header {h}", "header", a.headers.get(h), b.headers.get(h)))
    ja, jb = drop_paths(_json(a), ignore), drop_paths(_json(b), ignore)
    body_diffs = compare(ja, jb)
    diffs += body_diffs
    if not body_diffs and not ignore and a.body != b.body:
        diffs.append(Difference("$", "bytes", a.body.decode("utf-8", "replace"), b.body.decode("utf-8", "replace")))
    return diffs


def _ignores_for(req: battery.Request) -> tuple[str, ...]:
    return HEALTH_IGNORES if req.target.split("?")[0] == battery.API + "/health" else ()


def _run_battery(
    origin: str,
    requests: list[battery.Request],
    timeout: float,
    progress: Progress,
    label: str,
    *,
    pause_ratio: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    concurrency: int = 1,
) -> list[Response]:
    """Send `requests` one after the other; with pause_ratio R, wait R times as long as the service worked on each
    before the next (R = 1: the battery keeps the service busy at most half of the time, leaving the rest to its
    users). With `concurrency` N > 1 (never paced), N at a time; the answers come back in the order of `requests`."""
    progress.start(label, len(requests), unit="requests")
    answers = []
    if concurrency > 1:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"api-diff-{label}") as pool:
            # Each request in a copy of this context: the front door (TLS CA, login) is a context variable.
            pending = [pool.submit(contextvars.copy_context().run, _send, origin, r, timeout) for r in requests]
            for sent in pending:
                answers.append(sent.result())
                progress.advance()
        progress.end()
        return answers
    for r in requests:
        began = time.monotonic()
        answers.append(_send(origin, r, timeout))
        progress.advance()
        if pause_ratio > 0:
            sleep(pause_ratio * _work_seconds(answers[-1], time.monotonic() - began))
    progress.end()
    return answers


def _work_seconds(answer: Response, took: float) -> float:
    """How long the service worked on a request: what its Server-Timing says (the legacy's reads: their query,
    without their wait for a turn behind users' queries), else the whole time it took. Paced by the
    whole time, each request of the battery waited its turn and then as long again: on the lab at a million
    examinations under 50 users, 3.2 s per request to the legacy (stage 1's diff: 18 minutes), 2.1 s paced by the
    work."""
    worked = responses.server_timing_seconds(answer.headers.get(responses.SERVER_TIMING_HEADER.lower()))
    return took if worked is None else min(worked, took)


def _writes(legacy: str, new: str, timeout: float) -> list[tuple[str, list[Difference]]]:
    """Create, read and delete one task on each service, plus invalid writes; compare each step."""
    results: list[tuple[str, list[Difference]]] = []
    body = json.dumps(
        {"name": "api-diff probe", "task_type": "status_distribution", "filters": {"exam_status": "completed"}}
    ).encode()
    create = battery.Request("POST", battery.API + "/analysis/tasks", body)
    ra, rb = _send(legacy, create, timeout), _send(new, create, timeout)
    results.append((str(create), compare_responses(ra, rb, TASK_IGNORES)))
    ids = []
    for resp, origin in ((ra, legacy), (rb, new)):
        doc = _json(resp)
        if resp.status != 201 or not isinstance(doc, dict) or "task_id" not in doc:
            raise MigrationError(f"POST /analysis/tasks on {origin} answered {resp.status}: {resp.body[:300]!r}")
        ids.append(str(doc["task_id"]))
    steps = [("GET", TASK_IGNORES), ("DELETE", ()), ("GET", ()), ("DELETE", ())]
    for method, ignore in steps:
        a = _send(legacy, battery.Request(method, f"{battery.API}/analysis/tasks/{ids[0]}"), timeout)
        b = _send(new, battery.Request(method, f"{battery.API}/analysis/tasks/{ids[1]}"), timeout)
        results.append((f"{method} {battery.API}/analysis/tasks/{{created task}}", compare_responses(a, b, ignore)))
    for req in (
        battery.Request(
            "POST", battery.API + "/analysis/tasks", b'{"name": "", "task_type": "nope", "filters": {"x": 1}}'
        ),
        battery.Request("POST", battery.API + "/analysis/tasks", b"not json"),
        battery.Request("PUT", battery.API + "/studies/search", b"{}"),
        battery.Request("DELETE", battery.API + "/health"),
    ):
        results.append((str(req), compare_responses(_send(legacy, req, timeout), _send(new, req, timeout))))
    return results


def _selection(only: Sequence[str], skip: Sequence[str]) -> str:
    """' (only /analysis/tasks, /health; skip /analysis/tasks/)' for the summary line; '' for the whole battery."""
    parts = [f"{name} {', '.join(paths)}" for name, paths in (("only", only), ("skip", skip)) if paths]
    return f" ({'; '.join(parts)})" if parts else ""


def run(
    outcome: Outcome,
    legacy_url: str,
    new_url: str,
    *,
    with_writes: bool = False,
    noise_runs: int = 2,
    max_requests: int = 2000,
    timeout: float = 30.0,
    progress: Progress | None = None,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    pause_ratio: float = 0.0,
    concurrency: int | None = None,
) -> None:
    """`concurrency`: requests in flight at once per battery; None: CONCURRENCY, or 1 when paced (pause_ratio > 0)."""
    if pause_ratio < 0:
        raise MigrationError(f"--pause-ratio must be 0 or more, not {pause_ratio}")
    at_once = concurrency if concurrency is not None else (1 if pause_ratio > 0 else CONCURRENCY)
    if at_once < 1:
        raise MigrationError(f"--concurrency must be 1 or more, not {at_once}")
    if pause_ratio > 0 and at_once > 1:
        raise MigrationError(
            f"--pause-ratio {pause_ratio:g} paces one request at a time: it cannot go with --concurrency {at_once}"
        )
    tell = progress or disabled("api-diff")
    outcome.data.update({"only": list(only), "skip": list(skip), "pause_ratio": pause_ratio, "concurrency": at_once})
    legacy, new = _origin(legacy_url), _origin(new_url)
    try:
        with tell.waiting(f"reading sample values from the legacy service {legacy}"):
            samples = battery.collect(legacy, timeout)
    except (ValueError, KeyError, HttpError) as e:
        raise MigrationError(f"cannot read sample values from the legacy service {legacy}: {e}") from e
    full = battery.build(samples)
    requests = battery.select(full, only, skip)[:max_requests]
    writes = with_writes and battery.keeps(WRITES_PATH, only, skip)
    count = max(1, noise_runs)
    runs = [
        _run_battery(
            legacy, requests, timeout, tell, f"legacy-{i + 1}-of-{count}", pause_ratio=pause_ratio, concurrency=at_once
        )
        for i in range(count)
    ]
    noisy: dict[str, set[str]] = {}
    for other in runs[1:]:
        for req, a, b in zip(requests, runs[0], other, strict=True):
            for d in compare_responses(a, b, _ignores_for(req)):
                noisy.setdefault(str(req), set()).add(d.path)
    answers = _run_battery(new, requests, timeout, tell, "new", concurrency=at_once)
    differences: list[dict[str, Any]] = []
    noisy_differences: list[dict[str, Any]] = []
    for req, a, b in zip(requests, runs[0], answers, strict=True):
        for d in compare_responses(a, b, _ignores_for(req)):
            item = {"request": str(req), "status": [a.status, b.status], **d.as_dict()}
            (noisy_differences if d.path in noisy.get(str(req), set()) else differences).append(item)
    write_steps = 0
    if with_writes and not writes:
        tell.line(f"writes: not run, {WRITES_PATH} is left out by --only/--skip")
    if writes:
        tell.line("writes: create, read and delete a task on each service")
        for label, diffs in _writes(legacy, new, timeout):
            write_steps += 1
            differences += [{"request": label, **d.as_dict()} for d in diffs]
    statuses: dict[int, int] = {}
    for a in runs[0]:
        statuses[a.status] = statuses.get(a.status, 0) + 1
    outcome.data.update(
        {
            "legacy": legacy,
            "new": new,
            "battery_requests": len(full),
            "requests": len(requests),
            "write_steps": write_steps,
            "legacy_status_counts": {str(k): v for k, v in sorted(statuses.items())},
            "noise_runs": len(runs),
            "noisy": [{"request": r, "paths": sorted(p)} for r, p in sorted(noisy.items())],
            "ignored": [i.as_dict() for i in IGNORED],
            "difference_count": len(differences),
            "differences": differences,
            "noisy_differences": noisy_differences,
        }
    )
    outcome.say(
        f"api-diff {legacy} (legacy) vs {new} (new): "
        + (f"{len(requests)} of {len(full)}" if only or skip else str(len(requests)))
        + " requests"
        + _selection(only, skip)
        + (f" + {write_steps} write steps" if writes else "")
    )
    if with_writes and not writes:
        outcome.say(f"writes: not run, {WRITES_PATH} is left out by --only/--skip")
    outcome.say(f"legacy status codes: {outcome.data['legacy_status_counts']}")
    outcome.say(
        f"noise: {len(noisy)} request(s) differ between {len(runs)} legacy runs"
        + ("" if not noisy else ": " + ", ".join(sorted(noisy)[:10]))
    )
    outcome.say("ignored: " + "; ".join(f"{i.applies_to} {', '.join(i.paths)}" for i in IGNORED))
    for d in differences[:SHOWN]:
        outcome.say(f"  DIFF {d['request']}  {d['path']} ({d['kind']}): legacy={d['legacy']!r} new={d['new']!r}")
    if len(differences) > SHOWN:
        outcome.say(f"  … {len(differences) - SHOWN} more (see --json)")
    if differences:
        outcome.fail(f"{len(differences)} difference(s) between the legacy and the new service")
    else:
        outcome.say("no differences")
