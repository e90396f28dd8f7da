"""The post-switch watch: is the release nginx serves now answered by the expected backend, healthy, and
is the error rate low — for a window of time? Stops at the first definitive failure with its evidence (a
wrong backend, nginx refusing the login, a certificate that does not verify).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from radiology_contract.frontdoor import FrontDoor
from radiology_contract.responses import BACKEND_HEADER

from .buildinfo import BuildInfo, BuildInfoError, build_info_from, build_info_url
from .checks import FAILED, OK, Verdict, classify, excerpt
from .loadfiles import load_figures
from .login import OriginLogin, certificate_refused, login_challenge
from .stats import latency_figures
from .targets import TargetRefusedError, check_url

MAX_LISTED_POLLS = 2000


@dataclass
class WatchConfig:
    web: str
    expect_backend: str
    duration: float = 30.0
    interval: float = 0.5
    max_error_rate: float = 0.01
    max_consecutive_failures: int = 3
    api_base: str | None = None  # skip build-info.json and use this API base
    allow_hosts: tuple[str, ...] = ()
    load_summary: Path | None = None
    max_load_error_rate: float | None = None  # default: max_error_rate
    timeout: float = 5.0
    ca_file: Path | None = None  # CA bundle nginx's certificate is verified with; None: the system trust store
    credentials_file: Path | None = None  # user:password of nginx's login


@dataclass
class Evidence:
    t: float
    check: str
    url: str
    status: int
    backend: str | None
    reason: str
    body: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class WatchResult:
    config: WatchConfig
    started_at: str
    ok: bool = True
    reason: str | None = None
    first_failure: Evidence | None = None
    polls: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    failed_requests: int = 0
    latencies: list[float] = field(default_factory=list)
    backends: dict[str, int] = field(default_factory=dict)
    build_ids: list[str] = field(default_factory=list)
    consecutive: int = 0
    most_consecutive: int = 0
    duration_s: float = 0.0
    load: dict[str, Any] | None = None

    @property
    def error_rate(self) -> float:
        return self.failed_requests / self.requests if self.requests else 0.0

    def fail(self, reason: str) -> None:
        if self.ok:
            self.ok, self.reason = False, reason

    def as_dict(self) -> dict[str, Any]:
        c = self.config
        return {
            "ok": self.ok,
            "verdict": "passed" if self.ok else "failed",
            "reason": self.reason,
            "web": c.web,
            "ca_file": str(c.ca_file) if c.ca_file else None,
            "credentials_file": str(c.credentials_file) if c.credentials_file else None,
            "expect_backend": c.expect_backend,
            "limits": {
                "duration": c.duration,
                "interval": c.interval,
                "max_error_rate": c.max_error_rate,
                "max_consecutive_failures": c.max_consecutive_failures,
                "max_load_error_rate": _load_limit(c),
            },
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "polls": len(self.polls),
            "failed_polls": sum(not p["ok"] for p in self.polls),
            "requests": self.requests,
            "failed_requests": self.failed_requests,
            "error_rate": round(self.error_rate, 6),
            "most_consecutive_failures": self.most_consecutive,
            "backends_seen": self.backends,
            "build_ids_seen": self.build_ids,
            "latency_ms": latency_figures_of(self.latencies),
            "first_failure": self.first_failure.as_dict() if self.first_failure else None,
            "load": self.load,
            "poll_log": self.polls[:MAX_LISTED_POLLS],
        }

    def human(self) -> str:
        d = self.as_dict()
        lines = [
            f"watch {self.config.web} expecting {self.config.expect_backend}: {d['polls']} polls, "
            f"{self.requests} requests, {self.failed_requests} failed ({self.error_rate:.2%}), "
            f"backends {self.backends}, p99 {d['latency_ms']['p99']} ms over {self.duration_s:.1f}s",
        ]
        if self.load is not None:
            lines.append(
                f"load: {self.load.get('requests')} requests, {self.load.get('failed')} failed "
                f"({self.load.get('source')})"
            )
        if self.first_failure:
            f = self.first_failure
            lines.append(f"first failure at {f.t:.1f}s: {f.check} {f.url} -> {f.status}: {f.reason}; body: {f.body!r}")
        lines.append("PASSED: watch" if self.ok else f"FAILED: watch: {self.reason}")
        return "\n".join(lines)


def _load_limit(c: WatchConfig) -> float:
    return c.max_error_rate if c.max_load_error_rate is None else c.max_load_error_rate


def latency_figures_of(values: list[float]) -> dict[str, float | None]:
    from .stats import RequestRecord  # noqa: PLC0415

    return latency_figures([RequestRecord(0, "", "", 200, v, "", OK) for v in values])


class _Watcher:
    def __init__(self, config: WatchConfig, client: httpx.Client, front_door: FrontDoor) -> None:
        self.c = config
        self.client = client
        self.front_door = front_door
        self.started = time.monotonic()
        self.result = WatchResult(config, dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))

    def _get(
        self,
        check: str,
        url: str,
        kind: str,
        poll: dict[str, Any],
        params: dict[str, str] | None = None,
    ) -> tuple[Verdict, httpx.Response | None]:
        r = self.result
        r.requests += 1
        t = time.monotonic() - self.started
        try:
            response = self.client.get(url, params=params)
        except httpx.HTTPError as e:
            verdict = Verdict(FAILED, f"{type(e).__name__}: {e or 'no detail'}")
            self._failed(Evidence(round(t, 3), check, url, 0, None, verdict.reason, ""), poll)
            if certificate_refused(e):
                r.fail(f"TLS: the certificate of {url} does not verify against {self.front_door.trust()}: {e}")
            return verdict, None
        r.latencies.append(response.elapsed.total_seconds() * 1000)
        verdict = classify(response, 200, kind, front_door=self.front_door)
        if login_challenge(response):
            r.fail(verdict.reason)
        backend = response.headers.get(BACKEND_HEADER)
        if backend:
            r.backends[backend] = r.backends.get(backend, 0) + 1
            poll["backend"] = backend
        poll[f"{check}_status"] = response.status_code
        evidence = Evidence(
            round(t, 3),
            check,
            str(response.url),
            response.status_code,
            backend,
            verdict.reason,
            excerpt(response.content),
        )
        if verdict.outcome != OK:
            self._failed(evidence, poll)
        elif backend is not None and backend != self.c.expect_backend:
            evidence.reason = f"answered by {backend}, expected {self.c.expect_backend}"
            self._failed(evidence, poll)
            r.fail(f"wrong backend: {evidence.url} {evidence.reason}")
            verdict = Verdict(FAILED, evidence.reason)
        return verdict, response

    def _failed(self, evidence: Evidence, poll: dict[str, Any]) -> None:
        self.result.failed_requests += 1
        poll["ok"] = False
        poll.setdefault("reasons", []).append(f"{evidence.check}: {evidence.reason}")
        if self.result.first_failure is None:
            self.result.first_failure = evidence

    def api_url(self, poll: dict[str, Any]) -> str | None:
        if self.c.api_base is not None:
            return BuildInfo(self.c.api_base, None, None).api_url(self.c.web)
        url = build_info_url(self.c.web)
        verdict, _ = self._get("build_info", url, "build-info", poll)
        if verdict.outcome != OK:
            return None
        try:
            info = build_info_from(verdict.body, url)
        except BuildInfoError as e:
            self._failed(
                Evidence(
                    round(time.monotonic() - self.started, 3),
                    "build_info",
                    url,
                    200,
                    None,
                    str(e),
                    json.dumps(verdict.body)[:300],
                ),
                poll,
            )
            return None
        if info.build_id and info.build_id not in self.result.build_ids:
            self.result.build_ids.append(info.build_id)
        api = info.api_url(self.c.web)
        try:
            check_url(api, self.c.allow_hosts)
        except TargetRefusedError as e:
            self.result.fail(str(e))
            return None
        poll["api"] = api
        return api

    def poll(self) -> None:
        poll: dict[str, Any] = {"t": round(time.monotonic() - self.started, 3), "ok": True}
        api = self.api_url(poll)
        if api is not None and self.result.ok:
            verdict, _ = self._get("health", api + "/health", "health", poll)
            if verdict.outcome == OK and verdict.body.get("backend") != self.c.expect_backend:
                self.result.fail(
                    f"wrong backend: {api}/health names {verdict.body.get('backend')!r}, "
                    f"expected {self.c.expect_backend}"
                )
            if self.result.ok:
                self._get("search", api + "/studies/search", "list", poll, {"page_size": "5"})
        self.result.polls.append(poll)
        r = self.result
        r.consecutive = 0 if poll["ok"] else r.consecutive + 1
        r.most_consecutive = max(r.most_consecutive, r.consecutive)
        if r.consecutive > self.c.max_consecutive_failures:
            reasons = "; ".join(poll.get("reasons", []))
            r.fail(f"{r.consecutive} consecutive failed polls (limit {self.c.max_consecutive_failures}): {reasons}")

    def run(self) -> WatchResult:
        deadline = self.started + self.c.duration
        while self.result.ok:
            began = time.monotonic()
            self.poll()
            if began + self.c.interval >= deadline:
                break
            time.sleep(max(0.0, min(self.c.interval - (time.monotonic() - began), deadline - time.monotonic())))
        r = self.result
        r.duration_s = time.monotonic() - self.started
        if r.ok and r.error_rate > self.c.max_error_rate:
            r.fail(
                f"error rate {r.error_rate:.2%} over the window exceeds {self.c.max_error_rate:.2%} "
                f"({r.failed_requests} of {r.requests} requests)"
            )
        self._check_load()
        return r

    def _check_load(self) -> None:
        if self.c.load_summary is None:
            return
        figures = load_figures(self.c.load_summary)
        r = self.result
        if figures is None:
            r.fail(f"load results not found at {self.c.load_summary} (no summary.json or requests.csv)")
            return
        r.load = {k: figures.get(k) for k in ("source", "complete", "requests", "ok", "frozen", "failed", "error_rate")}
        rate = float(figures.get("error_rate") or 0.0)
        if rate > _load_limit(self.c):
            r.fail(
                f"load error rate {rate:.2%} exceeds {_load_limit(self.c):.2%} "
                f"({figures.get('failed')} of {figures.get('requests')} requests, {figures['source']})"
            )


def run_watch(config: WatchConfig) -> WatchResult:
    if config.expect_backend not in ("legacy", "imaging"):
        raise ValueError("--expect-backend must be legacy or imaging")
    check_url(config.web, config.allow_hosts)
    if config.api_base is not None:
        check_url(BuildInfo(config.api_base, None, None).api_url(config.web), config.allow_hosts)
    door = FrontDoor.from_files(config.ca_file, config.credentials_file)
    door.check_url(config.web)  # the login goes to --web only (OriginLogin), and never in the clear
    verify = door.ssl_context()
    with httpx.Client(timeout=config.timeout, verify=verify, auth=OriginLogin(door, config.web)) as client:
        return _Watcher(config, client, door).run()
