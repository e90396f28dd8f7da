"""Simulated users follow a release switch like the page does: a request failing like a dead backend makes them
re-read build-info.json; a GET is re-sent once to a new API base (its first failure kept as `recovered`), a
write never is. Against a real local web server standing in for nginx in front of two releases."""

from __future__ import annotations

import asyncio
import csv
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import QuietServer, dead_url
from radiology_ops.checks import FAILED, FROZEN, OK
from radiology_ops.load import LoadConfig, run_load
from radiology_ops.recorder import Recorder
from radiology_ops.stats import RECOVERED
from radiology_ops.user import Shared, User, backend_gone

LIST = {"data": [], "total": 0, "page": 1, "page_size": 20, "filters": {}}
STATISTICS = {
    "data": {"total": 0, "by_status": {}, "by_source": {}, "by_item": {}, "by_month": {}},
    "filters": {},
}
API_PATH = re.compile(r"^/(legacy|imaging)/api/v1(/[^?]*)")


class Releases:
    """nginx with two releases: /build-info.json names the API base of `current` (a path, or any URL in
    `api_base`); /legacy/api/v1/* and /imaging/api/v1/* answer like the contract (X-Backend), except a base in
    `dead`: 502 with nginx's HTML page and no X-Backend, as when the service behind it has stopped."""

    def __init__(self) -> None:
        self.current = "imaging"
        self.api_base: str | None = None  # overrides /<current>/api/v1 in build-info.json
        self.dead: set[str] = set()
        self.frozen: set[str] = set()  # writes answer 503 writes_frozen
        self.hits: Counter[tuple[str, str, int]] = Counter()  # (method, base or "build-info", status)
        self.lock = threading.Lock()
        releases = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with releases.lock:
                    status, headers, content, base = releases.answer(self.command, self.path, body)
                    releases.hits[(self.command, base, status)] += 1
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_DELETE = _answer

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def rollback(self) -> None:
        """The new service died and the automatic rollback flipped `current` back to legacy."""
        with self.lock:
            self.dead.add("imaging")
            self.current, self.api_base = "legacy", None

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes, str]:
        as_json = {"Content-Type": "application/json"}
        if path == "/build-info.json":
            info = {"api_base": self.api_base or f"/{self.current}/api/v1", "build_id": self.current}
            return 200, as_json, json.dumps(info).encode(), "build-info"
        m = API_PATH.match(path)
        if not m:
            return 404, {"Content-Type": "text/html"}, b"<h1>404 Not Found</h1>", "none"
        base, rest = m[1], m[2]
        if base in self.dead:
            return 502, {"Content-Type": "text/html"}, b"<html><h1>502 Bad Gateway</h1></html>", base
        headers = {**as_json, "X-Backend": base}
        if method != "GET" and base in self.frozen:
            error = {"error": {"code": "writes_frozen", "message": "Writes are paused.", "details": []}}
            return 503, {**headers, "Retry-After": "1"}, json.dumps(error).encode(), base
        if method == "POST":
            task = {"task_id": f"{base}-{self.hits.total()}", "status": "queued", "result": None}
            return 201, headers, json.dumps(task).encode(), base
        if method == "DELETE":
            return 204, {"X-Backend": base}, b"", base
        if rest.startswith("/analysis/tasks/"):
            task = {"task_id": rest.rsplit("/", 1)[1], "status": "done", "result": {}}
            return 200, headers, json.dumps(task).encode(), base
        return 200, headers, json.dumps(STATISTICS if rest == "/statistics" else LIST).encode(), base

    def count(self, method: str, base: str, status: int | None = None) -> int:
        return sum(n for (m, b, s), n in self.hits.items() if m == method and b == base and status in (None, s))


@pytest.fixture
def releases() -> Iterator[Releases]:
    r = Releases()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def run_users(
    releases: Releases, tmp_path: Path, story: Any, *, users: int = 1, follow_interval: float = 2.0
) -> Recorder:
    """Run `story(users...)` with users of one shared client and recorder; returns the recorder."""

    async def main() -> None:
        with Recorder(tmp_path / "requests.csv", None) as recorder:
            async with httpx.AsyncClient(timeout=5) as client:
                shared = Shared(
                    client=client,
                    recorder=recorder,
                    web=releases.url,
                    api_base_override=None,
                    allow_hosts=(),
                    write_ratio=0.0,
                    think_time=0.0,
                    write_retry_budget=3.0,
                    reload_every=25,
                    follow_interval=follow_interval,
                )
                people = [User(shared, n, seed=1) for n in range(users)]
                for person in people:
                    await person.load_page()
                await story(*people)
            holder.append(recorder)

    holder: list[Recorder] = []
    asyncio.run(main())
    return holder[0]


def outcomes(recorder: Recorder) -> list[tuple[str, str, str, int]]:
    """(method, endpoint, outcome, status) of every API request, in the order recorded."""
    return [(r.method, r.endpoint, r.outcome, r.status) for r in recorder.records if r.endpoint != "/build-info.json"]


def search(user: User) -> Any:
    return user.get("/studies/search", "/studies/search", "list")


def test_backend_gone_is_502_503_504_but_not_writes_frozen():
    frozen = {"error": {"code": "writes_frozen", "message": "paused", "details": []}}
    unavailable = {"error": {"code": "service_unavailable", "message": "down", "details": []}}
    assert backend_gone(httpx.Response(502, text="<html>502 Bad Gateway</html>"))
    assert backend_gone(httpx.Response(504, text=""))
    assert backend_gone(httpx.Response(503, json=unavailable))
    assert not backend_gone(httpx.Response(503, json=frozen))
    assert not backend_gone(httpx.Response(500, json={"error": {"code": "internal_error", "message": "x"}}))
    assert not backend_gone(httpx.Response(404, json={"error": {"code": "not_found", "message": "x"}}))


def test_a_get_follows_the_rollback_and_recovers_a_write_stays_failed(releases: Releases, tmp_path):
    seen: dict[str, Any] = {}

    async def story(reader: User, writer: User) -> None:
        assert reader.api == writer.api == releases.url + "/imaging/api/v1"
        assert (await search(reader)).verdict.outcome == OK
        releases.rollback()
        seen["read"] = await search(reader)
        seen["reader_api"] = reader.api
        body = {"name": "n", "task_type": "monthly_volume", "filters": {}}
        seen["write"] = await writer.write(
            "POST", "/analysis/tasks", "/analysis/tasks", "task", expected=201, body=body
        )
        seen["writer_api"] = writer.api
        seen["after"] = await search(writer)

    recorder = run_users(releases, tmp_path, story, users=2)

    legacy = releases.url + "/legacy/api/v1"
    assert seen["read"].verdict.outcome == OK and seen["read"].backend == "legacy"  # what the user saw: the retry
    assert seen["reader_api"] == seen["writer_api"] == legacy
    assert seen["write"].verdict.outcome == FAILED and seen["write"].status == 502
    assert seen["after"].verdict.outcome == OK and seen["after"].backend == "legacy"
    assert outcomes(recorder) == [
        ("GET", "/studies/search", OK, 200),
        ("GET", "/studies/search", RECOVERED, 502),  # the first failure stays on record
        ("GET", "/studies/search", OK, 200),
        ("POST", "/analysis/tasks", FAILED, 502),
        ("GET", "/studies/search", OK, 200),
    ]
    assert releases.count("POST", "imaging") == 1 and releases.count("POST", "legacy") == 0  # never re-sent
    assert releases.count("GET", "build-info") == 4  # 2 page loads + 1 follow per user
    assert [f.status for f in recorder.failures] == [502]  # recovered is not a failure...
    rows = list(csv.DictReader((tmp_path / "requests.csv").open()))
    assert [r["outcome"] for r in rows].count(RECOVERED) == 1  # ...but it is in requests.csv


def test_an_unchanged_api_base_is_not_retried_and_build_info_is_read_at_most_every_interval(
    releases: Releases, tmp_path
):
    seen: list[Any] = []

    async def story(user: User) -> None:
        releases.dead.add("imaging")  # the new service died, no rollback yet
        seen.append(await search(user))
        releases.rollback()
        seen.append(await search(user))  # within the interval: no build-info.json read, the failure stands
        await asyncio.sleep(0.6)
        seen.append(await search(user))  # now the user follows and recovers

    recorder = run_users(releases, tmp_path, story, follow_interval=0.5)

    assert [a.verdict.outcome for a in seen] == [FAILED, FAILED, OK]
    assert outcomes(recorder) == [
        ("GET", "/studies/search", FAILED, 502),
        ("GET", "/studies/search", FAILED, 502),
        ("GET", "/studies/search", RECOVERED, 502),
        ("GET", "/studies/search", OK, 200),
    ]
    assert releases.count("GET", "build-info") == 3  # page load, follow (same base), follow (new base)
    assert releases.count("GET", "imaging") == 3 and releases.count("GET", "legacy") == 1


def test_a_refused_connection_is_followed_too(releases: Releases, tmp_path):
    releases.api_base = dead_url() + "/api/v1"  # the page loaded while build-info named a service now gone
    seen: list[Any] = []

    async def story(user: User) -> None:
        releases.rollback()
        seen.append(await search(user))

    recorder = run_users(releases, tmp_path, story)

    assert seen[0].verdict.outcome == OK and seen[0].backend == "legacy"
    assert outcomes(recorder) == [("GET", "/studies/search", RECOVERED, 0), ("GET", "/studies/search", OK, 200)]


def test_writes_frozen_is_not_a_release_switch(releases: Releases, tmp_path):
    releases.frozen.add("imaging")
    seen: list[Any] = []

    async def story(user: User) -> None:
        body = {"name": "n", "task_type": "monthly_volume", "filters": {}}
        answer = await user._send("POST", user.api + "/analysis/tasks", "task", 201, write=True, body=body)
        seen.append(answer)
        seen.append(await user.follow_release(answer))

    run_users(releases, tmp_path, story)

    assert seen[0].verdict.outcome == FROZEN and not seen[0].gone
    assert seen[1] is False
    assert releases.count("GET", "build-info") == 1  # the page load only


def test_a_load_through_a_rollback_counts_recovered_reads_and_failed_writes(releases: Releases, tmp_path):
    users = 10
    timer = threading.Timer(1.5, releases.rollback)
    timer.start()
    try:
        config = LoadConfig(
            web=releases.url, out=tmp_path, users=users, duration=3.5, think_time=0.1, write_ratio=0.3, seed=3
        )
        summary = run_load(config)
    finally:
        timer.cancel()

    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["recovered"] == summary.recovered >= 1
    # each user meets the dead base once, then follows: a read recovers, a write stays failed (never re-sent)
    assert summary.failed + summary.recovered <= users
    assert all(f["method"] in ("POST", "DELETE") and f["status"] == 502 for f in summary.failures)
    assert summary.failed == releases.count("POST", "imaging", 502) + releases.count("DELETE", "imaging", 502)
    assert summary.requests == summary.ok + summary.failed + summary.recovered
    assert sum(s["recovered"] for s in summary.timeline) == summary.recovered
    assert sum(b["recovered"] for b in summary.per_backend.values()) == summary.recovered
    rows = list(csv.DictReader((tmp_path / "requests.csv").open()))
    recovered = [r for r in rows if r["outcome"] == RECOVERED]
    assert len(recovered) == summary.recovered
    assert {(r["method"], r["status"]) for r in recovered} == {("GET", "502")}
    assert summary.per_backend["legacy"]["ok"] > 0 and summary.per_backend["legacy"]["failed"] == 0
    assert "recovered" in summary.human()
