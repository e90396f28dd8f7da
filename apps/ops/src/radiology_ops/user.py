"""One simulated member of staff: loads the page (build-info.json), then searches, reads statistics and now
and then creates an analysis task, reads it back and sometimes deletes it — and behaves like the frontend
when writes are frozen: re-reads build-info.json and retries after min(Retry-After, 1 s) within a budget.

Like the frontend (src/lib/release.js) it follows a release switch: when a request fails like a dead backend
(no answer, or 502/503/504 other than writes_frozen), the user re-reads build-info.json (at most once a second)
and from then on uses the API base it names. A GET that failed so is re-sent once to a new API base, its first
failure recorded as `recovered`; a write is never re-sent (it may or may not have been applied): it stays failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from radiology_contract.frontdoor import FrontDoor
from radiology_contract.responses import BACKEND_HEADER

from . import scenario
from .buildinfo import BuildInfoError, build_info_from, build_info_url
from .checks import FAILED, FROZEN, OK, WRITES_FROZEN, Verdict, classify, error_code, parse_json, retry_after
from .recorder import Recorder, RequestBudgetExhaustedError
from .stats import NO_BACKEND, RECOVERED
from .targets import TargetRefusedError, check_url

FROZEN_RETRY_CAP_SECONDS = 1.0
MIN_RETRY_SECONDS = 0.1
BUILD_INFO_ENDPOINT = "/build-info.json"
WEB = "web"  # the backend column of requests nginx answers itself (build-info.json)
FOLLOW_RELEASE_INTERVAL_SECONDS = 1.0  # a user re-reads build-info.json after a failure at most this often
GONE_STATUSES = frozenset({502, 503, 504})


@dataclass
class Shared:
    """What every user of one run shares: the client, the recorder, the stop flags and the task ledger."""

    client: httpx.AsyncClient
    recorder: Recorder
    web: str
    api_base_override: str | None
    allow_hosts: tuple[str, ...]
    write_ratio: float
    think_time: float
    write_retry_budget: float
    reload_every: int
    follow_interval: float = FOLLOW_RELEASE_INTERVAL_SECONDS
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    front_door: FrontDoor = field(default_factory=FrontDoor)  # for the message of a refused login
    allowed_api_urls: set[str] = field(default_factory=set)
    created: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    # Deletes that got no answer saying whether they were applied (see delete_outcome_unknown): either way is right.
    delete_unsure: list[dict[str, Any]] = field(default_factory=list)
    writes: dict[str, int] = field(
        default_factory=lambda: {"attempted": 0, "created": 0, "deleted": 0, "failed": 0, "abandoned": 0}
    )


@dataclass
class Answer:
    verdict: Verdict
    backend: str
    status: int
    url: str
    t: float  # seconds since the run started, when the request was sent
    latency_ms: float
    retry_after: float = 0.0  # seconds to wait before retrying a frozen write
    gone: bool = False  # failed like a dead backend: the release may have switched (see backend_gone)


def delete_outcome_unknown(answer: Answer) -> bool:
    """A failed write that may still have been applied: no answer at all (a timeout, a dropped connection: the
    request may have reached the service, which may commit after the client gave up) or a 5xx, which nginx also
    sends when the backend took the request and did not answer in time. A 4xx was refused before writing, and so
    was a write still frozen when its retry budget ran out (a 503 that is not a gone backend)."""
    frozen = answer.status in GONE_STATUSES and not answer.gone
    return answer.status == 0 or (answer.status >= 500 and not frozen)


def backend_gone(response: httpx.Response) -> bool:
    """A 502/503/504 that is not the contract's writes_frozen: what nginx answers for a stopped backend."""
    if response.status_code not in GONE_STATUSES:
        return False
    body, _ = parse_json(response)
    return error_code(body) != WRITES_FROZEN


class User:
    def __init__(self, shared: Shared, number: int, seed: int) -> None:
        self.s = shared
        self.number = number
        self.rng = random.Random(seed * 1000 + number)  # noqa: S311 (simulated behaviour, not security)
        self.api: str | None = None
        self.serial = 0
        self.in_write = False  # a write (with its frozen retries) is under way: stopping now abandons it
        self.followed_at = -float("inf")  # monotonic time of the last build-info.json read after a failure

    # -- requests ------------------------------------------------------------------------------------------
    async def _send(
        self,
        method: str,
        url: str,
        kind: str,
        expected: int,
        *,
        write: bool = False,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Answer:
        """Send one request and classify the answer; the caller records it (it may still change the verdict)."""
        rec = self.s.recorder
        rec.reserve()
        t = rec.now()
        started = time.perf_counter()
        try:
            response = await self.s.client.request(method, url, params=params, json=body)
        except httpx.HTTPError as e:
            latency = (time.perf_counter() - started) * 1000
            verdict = Verdict(FAILED, f"{type(e).__name__}: {e or 'no detail'}")
            return Answer(verdict, NO_BACKEND, 0, url, t, latency, gone=isinstance(e, httpx.TransportError))
        latency = (time.perf_counter() - started) * 1000
        verdict = classify(response, expected, kind, write=write, front_door=self.s.front_door)
        backend = response.headers.get(BACKEND_HEADER, NO_BACKEND)
        wait = retry_after(response, FROZEN_RETRY_CAP_SECONDS) if verdict.outcome == FROZEN else 0.0
        gone = verdict.outcome == FAILED and backend_gone(response)
        return Answer(verdict, backend, response.status_code, str(response.url), t, latency, wait, gone)

    def _record(self, method: str, endpoint: str, answer: Answer) -> None:
        self.s.recorder.add(
            t=answer.t,
            method=method,
            endpoint=endpoint,
            url=answer.url,
            status=answer.status,
            latency_ms=answer.latency_ms,
            backend=answer.backend,
            verdict=answer.verdict,
        )

    async def load_page(self) -> None:
        """GET build-info.json and take its API base, as the browser does when the page loads."""
        if self.s.api_base_override is not None:
            self.api = self.s.api_base_override
            return
        url = build_info_url(self.s.web)
        answer = await self._send("GET", url, "build-info", 200)
        if answer.verdict.outcome == OK:
            try:
                api = build_info_from(answer.verdict.body, url).api_url(self.s.web)
                if api not in self.s.allowed_api_urls:
                    check_url(api, self.s.allow_hosts)
                    self.s.allowed_api_urls.add(api)
                self.api = api
            except (BuildInfoError, TargetRefusedError) as e:
                answer.verdict = Verdict(FAILED, str(e))
        answer.backend = WEB
        self._record("GET", BUILD_INFO_ENDPOINT, answer)

    async def follow_release(self, answer: Answer) -> bool:
        """After a request failed like a dead backend, re-read build-info.json (at most once per
        follow_interval), as the page does; True when it names another API base, which the user now uses."""
        now = time.monotonic()
        if not answer.gone or now - self.followed_at < self.s.follow_interval:
            return False
        self.followed_at = now
        before = self.api
        await self.load_page()
        return self.api != before

    async def get(
        self, path: str, endpoint: str, kind: str, params: dict[str, str] | None = None, *, record: bool = True
    ) -> Answer:
        """A read; one that failed like a dead backend is re-sent once when build-info.json names another API
        base. The user sees the retry's outcome; the first failure is recorded as RECOVERED (always, even with
        record=False, whose caller records the answer returned)."""
        assert self.api is not None
        answer = await self._send("GET", self.api + path, kind, 200, params=params)
        if answer.gone:
            retry = None
            try:
                if await self.follow_release(answer):
                    retry = await self._send("GET", self.api + path, kind, 200, params=params)
            except BaseException:  # the request budget is spent or the run stops: the failure stands
                self._record("GET", endpoint, answer)
                raise
            if retry is not None:
                answer.verdict = Verdict(RECOVERED, answer.verdict.reason)
                self._record("GET", endpoint, answer)
                answer = retry
        if record:
            self._record("GET", endpoint, answer)
        return answer

    async def write(
        self, method: str, path: str, endpoint: str, kind: str, *, expected: int, body: dict[str, Any] | None = None
    ) -> Answer:
        """A write that is retried while frozen, re-reading build-info.json before each retry."""
        deadline = time.monotonic() + self.s.write_retry_budget
        attempts = 0
        while True:
            assert self.api is not None
            url = self.api + path
            attempts += 1
            answer = await self._send(method, url, kind, expected, write=True, body=body)
            if answer.verdict.outcome != FROZEN:
                self._record(method, endpoint, answer)
                # later requests go to the new API base; this one is not re-sent. A spent request budget stops the
                # user at its next request: this write has ended (failed), it is not abandoned.
                with contextlib.suppress(RequestBudgetExhaustedError):
                    await self.follow_release(answer)
                return answer
            wait = max(answer.retry_after, MIN_RETRY_SECONDS)
            if time.monotonic() + wait > deadline:
                answer.verdict = Verdict(
                    FAILED,
                    f"write still frozen after the {self.s.write_retry_budget:.0f}s retry budget "
                    f"({attempts} attempts): {method} {url}",
                )
                self._record(method, endpoint, answer)
                return answer
            self._record(method, endpoint, answer)
            await asyncio.sleep(wait)
            await self.load_page()

    # -- what staff do ---------------------------------------------------------------------------------------
    async def act(self) -> None:
        if self.api is None or (self.serial and self.serial % self.s.reload_every == 0):
            await self.load_page()
            if self.api is None:
                return
        self.serial += 1
        roll = self.rng.random()
        if roll < self.s.write_ratio:
            await self.task_flow()
        elif roll < 0.55:
            await self.get("/studies/search", "/studies/search", "list", scenario.study_params(self.rng))
        elif roll < 0.8:
            await self.get("/reports/search", "/reports/search", "list", scenario.report_params(self.rng))
        else:
            await self.get("/statistics", "/statistics", "statistics", scenario.statistics_params(self.rng))

    async def task_flow(self) -> None:
        s = self.s
        s.writes["attempted"] += 1
        body = scenario.task_body(self.rng, self.number, self.serial)
        self.in_write = True
        created = await self.write("POST", "/analysis/tasks", "/analysis/tasks", "task", expected=201, body=body)
        self.in_write = False
        if created.verdict.outcome != OK:
            s.writes["failed"] += 1
            return
        task_id = str(created.verdict.body["task_id"])
        s.writes["created"] += 1
        s.created.append(
            {
                "task_id": task_id,
                "backend": created.backend,
                "api": self.api,
                "t": round(s.recorder.now(), 3),
                "name": body["name"],
            }
        )
        read = await self.get(f"/analysis/tasks/{task_id}", "/analysis/tasks/{id}", "task", record=False)
        if read.verdict.outcome == OK and read.verdict.body.get("task_id") != task_id:
            read.verdict = Verdict(FAILED, f"read back task {task_id} but got {read.verdict.body.get('task_id')}")
        self._record("GET", "/analysis/tasks/{id}", read)
        if self.rng.random() < 0.5:
            self.in_write = True
            deleted = await self.write(
                "DELETE", f"/analysis/tasks/{task_id}", "/analysis/tasks/{id}", "empty", expected=204
            )
            self.in_write = False
            if deleted.verdict.outcome == OK:
                s.writes["deleted"] += 1
                s.deleted.append(
                    {"task_id": task_id, "backend": deleted.backend, "api": self.api, "t": round(s.recorder.now(), 3)}
                )
            else:
                s.writes["failed"] += 1
                if delete_outcome_unknown(deleted):
                    s.delete_unsure.append(
                        {"task_id": task_id, "status": deleted.status, "api": self.api, "t": round(deleted.t, 3)}
                    )

    async def think(self) -> None:
        if self.s.think_time <= 0:
            await asyncio.sleep(0)
            return
        pause = self.rng.uniform(0.5, 1.5) * self.s.think_time
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.s.stop.wait(), timeout=pause)
