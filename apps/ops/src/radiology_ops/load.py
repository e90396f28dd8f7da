"""The bounded load generator: N simulated staff for at most D seconds and M requests, then summary files.

Outputs in the run's folder: requests.csv (every request, written as it completes), summary.json (figures)
and tasks.json (every analysis task the load created and deleted, with the backend that accepted it).
The first SIGINT/SIGTERM stops new actions (writes waiting out a freeze finish within their budget); a
second one abandons everything in flight. Results are written in every case.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from radiology_contract.frontdoor import LOGIN_REFUSED, FrontDoor

from .login import OriginLogin
from .recorder import Recorder, RequestBudgetExhaustedError
from .stats import Summary, summarize
from .targets import check_url
from .user import Shared, User

REQUESTS_CSV = "requests.csv"
SUMMARY_JSON = "summary.json"
TASKS_JSON = "tasks.json"
FLUSH_SECONDS = 1.0


@dataclass
class LoadConfig:
    web: str  # the web server nginx serves the frontend on, e.g. https://127.0.0.1:8443
    out: Path
    users: int = 100
    duration: float = 60.0  # seconds of new actions
    max_requests: int | None = None  # hard cap on requests sent (retries included)
    write_ratio: float = 0.1  # share of actions that create an analysis task
    api_base: str | None = None  # skip build-info.json and use this API base (path or absolute URL)
    allow_hosts: tuple[str, ...] = ()
    think_time: float = 1.0  # mean pause between a user's actions, seconds
    write_retry_budget: float = 90.0  # how long a frozen write is retried before it counts as failed
    timeout: float = 10.0  # per request
    reload_every: int = 25  # a user reloads the page (re-reads build-info.json) every N actions
    seed: int = 1
    handle_signals: bool = True  # install SIGINT/SIGTERM handlers (main thread only)
    ca_file: Path | None = None  # CA bundle nginx's certificate is verified with; None: the system trust store
    credentials_file: Path | None = None  # user:password of nginx's login (read at start, never written out)

    def validate(self) -> None:
        if self.users < 1 or self.duration <= 0:
            raise ValueError("--users must be at least 1 and --duration positive")
        if self.max_requests is not None and self.max_requests < 1:
            raise ValueError("--max-requests must be at least 1")
        if not 0 <= self.write_ratio <= 1:
            raise ValueError("--write-ratio must be between 0 and 1")
        check_url(self.web, self.allow_hosts)
        if self.api_base is not None:
            check_url(self.api_url_override() or "", self.allow_hosts)
        door = self.front_door()  # a bad CA or credentials file fails here, before any request
        door.ssl_context()
        door.check_url(self.web)  # the login goes to --web only (OriginLogin), and never in the clear

    def front_door(self) -> FrontDoor:
        return FrontDoor.from_files(self.ca_file, self.credentials_file)

    def api_url_override(self) -> str | None:
        if self.api_base is None:
            return None
        from .buildinfo import BuildInfo  # noqa: PLC0415

        return BuildInfo(self.api_base, None, None).api_url(self.web)

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


@dataclass
class _Control:
    stop: asyncio.Event
    reason: str = "duration"
    signals: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def request_stop(self, reason: str) -> None:
        if not self.stop.is_set():
            self.reason = reason
            self.stop.set()

    def on_signal(self) -> None:
        self.signals += 1
        self.request_stop("signal")
        if self.signals > 1:
            for task in self.tasks:
                task.cancel()


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _write_json(path: Path, payload: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


async def _user_loop(user: User, control: _Control, shared: Shared) -> None:
    try:
        while not control.stop.is_set():
            await user.act()
            if shared.recorder.exhausted:
                control.request_stop("max_requests")
            await user.think()
    except RequestBudgetExhaustedError:
        control.request_stop("max_requests")
        if user.in_write:
            shared.writes["abandoned"] += 1
    except asyncio.CancelledError:
        if user.in_write:
            shared.writes["abandoned"] += 1


async def _flusher(recorder: Recorder, control: _Control) -> None:
    while not control.stop.is_set():
        recorder.flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(control.stop.wait(), timeout=FLUSH_SECONDS)


async def _run(config: LoadConfig, front_door: FrontDoor) -> Summary:
    config.out.mkdir(parents=True, exist_ok=True)
    for stale in (SUMMARY_JSON, TASKS_JSON):
        (config.out / stale).unlink(missing_ok=True)
    control = _Control(asyncio.Event())
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if config.handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, control.on_signal)
                installed.append(sig)
    limits = httpx.Limits(max_connections=config.users + 10, max_keepalive_connections=config.users + 10)
    try:
        with Recorder(config.out / REQUESTS_CSV, config.max_requests) as recorder:
            async with httpx.AsyncClient(
                limits=limits,
                timeout=config.timeout,
                follow_redirects=False,
                verify=front_door.ssl_context(),
                auth=OriginLogin(front_door, config.web),
            ) as client:
                shared = Shared(
                    client=client,
                    recorder=recorder,
                    web=config.web.rstrip("/"),
                    api_base_override=config.api_url_override(),
                    allow_hosts=config.allow_hosts,
                    write_ratio=config.write_ratio,
                    think_time=config.think_time,
                    write_retry_budget=config.write_retry_budget,
                    reload_every=max(1, config.reload_every),
                    stop=control.stop,
                    front_door=front_door,
                )
                users = [User(shared, n, config.seed) for n in range(config.users)]
                control.tasks = [asyncio.create_task(_user_loop(u, control, shared)) for u in users]
                flusher = asyncio.create_task(_flusher(recorder, control))
                hard_limit = config.duration + config.write_retry_budget + config.timeout + 5
                _, pending = await asyncio.wait(control.tasks, timeout=config.duration)
                control.request_stop("duration")
                if pending:
                    _, pending = await asyncio.wait(pending, timeout=hard_limit - config.duration)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*control.tasks, flusher, return_exceptions=True)
            elapsed = recorder.now()
            summary = summarize(
                recorder.records,
                recorder.failures,
                started_at=_utc(recorder.started_epoch),
                started_epoch=recorder.started_epoch,
                duration_s=elapsed,
                stopped_by=control.reason,
                config=config.as_dict(),
                writes=dict(shared.writes),
            )
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    _write_json(config.out / TASKS_JSON, _tasks_document(shared))
    _write_json(config.out / SUMMARY_JSON, summary.as_dict())
    return summary


def _tasks_document(shared: Shared) -> dict[str, Any]:
    """The ledger of the tasks written: `live` must be on the backend serving afterwards, `deleted` gone, and
    `delete_unsure` (a delete that got no answer saying whether it was applied) either."""
    unsure_ids = {d["task_id"] for d in shared.delete_unsure}
    gone_or_unsure = {d["task_id"] for d in shared.deleted} | unsure_ids
    return {
        "created": shared.created,
        "deleted": shared.deleted,
        "delete_unsure": shared.delete_unsure,
        "live": sorted(c["task_id"] for c in shared.created if c["task_id"] not in gone_or_unsure),
        "writes": shared.writes,
    }


def run_load(config: LoadConfig) -> Summary:
    """Run the load to its end (duration, max requests or a signal) and write its files into config.out."""
    config.validate()
    return asyncio.run(_run(config, config.front_door()))


def refused_logins(summary: dict[str, Any]) -> str | None:
    """How many requests of a summary.json nginx refused to let in, and why; None when it refused none."""
    count = summary.get("failure_reasons", {}).get(LOGIN_REFUSED, 0)
    if not count:
        return None
    reasons = (str(f.get("reason")) for f in summary.get("failures", []))
    reason = next((r for r in reasons if r.startswith(LOGIN_REFUSED)), LOGIN_REFUSED)
    return f"{count} request(s) refused: {reason}"
