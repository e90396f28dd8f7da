"""`api-diff` against real HTTP servers: two legacy services, an altering proxy, the real new service
serving the data that `load` migrated, and HTTPS front doors that want a login."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
import re
import secrets
import shutil
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mig_helpers import migrate
from radiology_contract.frontdoor import CA_FILE_ENV, CREDENTIALS_FILE_ENV
from radiology_migration import apidiff, cli
from radiology_migration.http import Response
from radiology_migration.progress import disabled
from radiology_testkit.ports import free_port
from radiology_testkit.servers import serve
from radiology_testkit.tls import Pki, make_pki, server_context

BIN = Path(sys.executable).parent
HEALTH = "/api/v1/health"
Alter = Callable[[str, dict[str, Any]], dict[str, Any]]


def legacy_server(db: Path) -> Any:
    port = free_port()
    return serve([str(BIN / "legacy-api"), "serve", "--db", str(db), "--port", str(port)], port, HEALTH, {})


@pytest.fixture(scope="module")
def legacy_pair(base_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("pair")
    first, second = root / "a.duckdb", root / "b.duckdb"
    shutil.copyfile(base_snapshot, first)
    shutil.copyfile(base_snapshot, second)
    with legacy_server(first) as a, legacy_server(second) as b:
        yield a, b


class _Proxy(BaseHTTPRequestHandler):
    upstream = ""
    alter: Alter = staticmethod(lambda path, doc: doc)

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        req = urllib.request.Request(self.upstream + self.path, data=body, method=self.command)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, headers, payload = resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            status, headers, payload = e.code, dict(e.headers), e.read()
        if payload and headers.get("content-type", headers.get("Content-Type", "")).startswith("application/json"):
            doc = self.alter(self.path, json.loads(payload))
            payload = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(status)
        for name in ("Content-Type", "Retry-After", "X-Backend"):
            value = headers.get(name) or headers.get(name.lower())
            if value:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = do_PUT = _forward

    def log_message(self, *_args: Any) -> None:
        pass


def proxy(upstream: str, alter: Alter) -> Any:
    handler = type("Proxy", (_Proxy,), {"upstream": upstream, "alter": staticmethod(alter)})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def api_diff(legacy: str, new: str, *extra: str) -> tuple[int, dict[str, Any]]:
    return migrate("api-diff", "--legacy", legacy, "--new", new, *extra)


def test_identical_services_have_no_differences(legacy_pair: tuple[str, str], tmp_path: Path) -> None:
    progress = tmp_path / "progress.log"
    code, doc = api_diff(*legacy_pair, "--with-writes", "--progress", str(progress))
    assert code == 0, doc["differences"][:5]
    assert doc["requests"] > 150 and doc["write_steps"] == 9
    assert doc["noisy"] == [] and doc["difference_count"] == 0
    assert doc["only"] == [] and doc["skip"] == [] and doc["battery_requests"] == doc["requests"]
    assert set(doc["legacy_status_counts"]) >= {"200", "404", "422"}  # valid, unknown and invalid requests
    # --progress: each run of the battery counted in requests, then the last line (the playbooks' follower waits for it)
    lines = [line.split(" ", 1)[1] for line in progress.read_text().splitlines()]
    n = doc["requests"]
    for run in ("legacy-1-of-2", "legacy-2-of-2", "new"):
        assert f"api-diff {run} 0/{n} requests" in lines
        assert any(line.startswith(f"api-diff {run} {n}/{n} requests ") for line in lines), lines
    assert lines[-1].startswith(f"api-diff done {3 * n} requests in ")


def test_a_changed_field_is_named_by_request_and_path(legacy_pair: tuple[str, str]) -> None:
    def alter(path: str, doc: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/studies/search?page=2":
            doc["data"][3]["exam_status"] = "cancelled" if doc["data"][3]["exam_status"] != "cancelled" else "reported"
        return doc

    server = proxy(legacy_pair[1], alter)
    try:
        code, doc = api_diff(legacy_pair[0], f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    assert code == 1
    assert [(d["request"], d["path"], d["kind"]) for d in doc["differences"]] == [
        ("GET /api/v1/studies/search?page=2", "$.data[3].exam_status", "value")
    ]


def test_byte_level_differences_are_caught(legacy_pair: tuple[str, str]) -> None:
    def alter(path: str, doc: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/statistics":
            doc = {"filters": doc["filters"], "data": doc["data"]}  # same JSON, other key order
        return doc

    server = proxy(legacy_pair[1], alter)
    try:
        code, doc = api_diff(legacy_pair[0], f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    assert code == 1
    assert [(d["request"], d["path"], d["kind"]) for d in doc["differences"]] == [
        ("GET /api/v1/statistics", "$", "key_order")
    ]


def test_noise_on_the_legacy_is_measured_and_reported(legacy_pair: tuple[str, str]) -> None:
    rng = random.Random(7)

    def noisy(path: str, doc: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/statistics":
            doc["generated"] = rng.random()
        return doc

    server = proxy(legacy_pair[0], noisy)
    try:
        code, doc = api_diff(f"http://127.0.0.1:{server.server_port}", legacy_pair[1])
    finally:
        server.shutdown()
    assert doc["noisy"] == [{"request": "GET /api/v1/statistics", "paths": ["$.generated"]}]
    assert [d["path"] for d in doc["noisy_differences"]] == ["$.generated"]
    assert code == 0 and doc["difference_count"] == 0


def test_the_migrated_new_service_answers_like_the_legacy(
    legacy_pair: tuple[str, str], base_snapshot: Path, target_dsn: str, pg_server: Any
) -> None:
    """The cutover gate for real: load the legacy's data into PostgreSQL and diff the two services."""
    code, doc = migrate("load", "--snapshot", str(base_snapshot), "--dsn", target_dsn)
    assert code == 0, doc
    port = free_port()
    env = {
        "IMAGING_SECRET_KEY": secrets.token_hex(32),
        "IMAGING_DATABASE_URL": target_dsn,
        "IMAGING_WORKERS": "2",
        "IMAGING_LOG_LEVEL": "WARNING",
    }
    cmd = [str(BIN / "imaging-api"), "serve", "--bind", f"127.0.0.1:{port}"]
    with serve(cmd, port, HEALTH, env, timeout=60) as new:
        code, doc = api_diff(legacy_pair[0], new, "--with-writes")
    assert code == 0, json.dumps(doc["differences"][:10], indent=1, ensure_ascii=False)


# -- --only / --skip: the two stages of the cutover -----------------------------------------------------------
TOP_LEVEL = "/health, /studies/search, /reports/search, /statistics, /analysis/tasks"


class _Recorder(_Proxy):
    seen: list[tuple[str, str]]  # (method, path and query) of every request forwarded

    def _recorded(self) -> None:
        self.seen.append((self.command, self.path))
        self._forward()

    do_GET = do_POST = do_DELETE = do_PUT = _recorded


@contextlib.contextmanager
def recorder(upstream: str, alter: Alter = lambda path, doc: doc) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A proxy in front of `upstream` (the new service) that records what api-diff sends it."""
    seen: list[tuple[str, str]] = []
    handler = type("Recorder", (_Recorder,), {"upstream": upstream, "alter": staticmethod(alter), "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def api_path(target: str) -> str:
    return target.split("?")[0].removeprefix("/api/v1")


def test_only_runs_the_freeze_stage_paths_with_the_write_steps(legacy_pair: tuple[str, str]) -> None:
    with recorder(legacy_pair[1]) as (new, seen):
        code, doc = api_diff(legacy_pair[0], new, "--only", "/analysis/tasks", "--only", "/health", "--with-writes")
    assert code == 0, doc["error"] or doc["differences"][:5]
    assert doc["only"] == ["/analysis/tasks", "/health"] and doc["skip"] == []
    assert doc["write_steps"] == 9 and doc["check_mode"] is False
    assert 20 < doc["requests"] < doc["battery_requests"] - 100
    gets = [api_path(t) for m, t in seen if m == "GET"]
    assert len(gets) == doc["requests"] + 2  # the battery once, plus the write steps' two reads of the new task
    assert {p.split("/")[1] for p in gets} == {"analysis", "health"}
    assert "/analysis/tasksx" not in gets and "/analysis/tasks" in gets and "/health" in gets
    assert any(p.startswith("/analysis/tasks/") for p in gets)
    assert ("POST", "/api/v1/analysis/tasks") in seen


def test_skip_runs_the_live_stage_without_tasks_health_or_writes(legacy_pair: tuple[str, str]) -> None:
    with recorder(legacy_pair[1]) as (new, seen):
        code, doc = api_diff(
            *(legacy_pair[0], new, "--skip", "/analysis/tasks", "--skip", "/health", "--with-writes"),
            *("--pause-ratio", "0.5"),
        )
    assert code == 0, doc["error"] or doc["differences"][:5]
    assert doc["only"] == [] and doc["skip"] == ["/analysis/tasks", "/health"] and doc["pause_ratio"] == 0.5
    assert doc["write_steps"] == 0 and doc["check_mode"] is True  # nothing was written
    assert len(seen) == doc["requests"] > 100 and {m for m, _ in seen} == {"GET"}
    paths = {api_path(t) for _, t in seen}
    assert not any(p == "/health" or p.startswith("/analysis") for p in paths)
    assert {"/studies/search", "/reports/search", "/statistics", "/studies"} <= paths


def test_a_difference_counts_only_inside_the_selection(legacy_pair: tuple[str, str]) -> None:
    def alter(path: str, doc: dict[str, Any]) -> dict[str, Any]:
        if path == "/api/v1/studies/search?page=2":
            doc["data"][3]["exam_status"] = "cancelled" if doc["data"][3]["exam_status"] != "cancelled" else "reported"
        return doc

    with recorder(legacy_pair[1], alter) as (new, _seen):
        code, doc = api_diff(legacy_pair[0], new, "--skip", "/studies/search")
        assert code == 0 and doc["difference_count"] == 0
        code, doc = api_diff(legacy_pair[0], new, "--only", "/studies/search", "--max-requests", "5")
    assert code == 1 and doc["requests"] == 5  # --max-requests cuts the selection, not the battery
    assert [(d["request"], d["path"]) for d in doc["differences"]] == [
        ("GET /api/v1/studies/search?page=2", "$.data[3].exam_status")
    ]


@pytest.mark.parametrize(
    ("options", "only", "skip", "message"),
    [
        (["--only", "/analysis/task"], ["/analysis/task"], [], "--only '/analysis/task' matches no request of the"),
        (["--skip", "health"], [], ["health"], "--skip 'health' does not start with /"),
        (["--only", "/health", "--skip", "/health"], ["/health"], ["/health"], "leaves no request of the battery"),
    ],
)
def test_a_path_typo_fails_before_anything_is_compared(
    legacy_pair: tuple[str, str], options: list[str], only: list[str], skip: list[str], message: str
) -> None:
    with recorder(legacy_pair[1]) as (new, seen):
        code, doc = api_diff(legacy_pair[0], new, *options)
    assert code == 1 and not seen  # the new service was never asked
    assert message in doc["error"] and doc["error"].endswith(f"the battery's paths: {TOP_LEVEL}")
    assert doc["only"] == only and doc["skip"] == skip


def human(*args: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["api-diff", *args])
    return code, out.getvalue().splitlines()


def test_the_summary_line_names_the_selection(legacy_pair: tuple[str, str]) -> None:
    legacy, new = legacy_pair
    code, lines = human(
        "--legacy", legacy, "--new", new, "--only", "/analysis/tasks", "--only", "/health", "--with-writes"
    )
    assert code == 0, lines
    assert re.fullmatch(
        r"api-diff \S+ \(legacy\) vs \S+ \(new\): \d+ of \d+ requests \(only /analysis/tasks, /health\) "
        r"\+ 9 write steps",
        lines[0],
    ), lines[0]
    code, lines = human("--legacy", legacy, "--new", new, "--skip", "/analysis", "--only", "/health", "--with-writes")
    assert code == 0, lines
    assert re.fullmatch(r"api-diff .*: 1 of \d+ requests \(only /health; skip /analysis\)", lines[0]), lines[0]
    assert "writes: not run, /analysis/tasks is left out by --only/--skip" in lines
    code, lines = human("--legacy", legacy, "--new", new, "--max-requests", "3")
    assert code == 0 and re.fullmatch(r"api-diff .*: 3 requests", lines[0]), lines[0]


# -- through the HTTPS front door with a login ---------------------------------------------------------------
USER, PASSWORD = "staff", "pa:ss-word-9"  # a colon in the password: split at the first one
AUTHORIZATION = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client refusing the certificate is what some tests are about


class _Door(_Proxy):
    """nginx's auth_basic in front of the proxy: 401 with a challenge unless the login is right."""

    seen: list[bool]  # per request: was the login right

    def _guarded(self) -> None:
        self.seen.append(self.headers.get("Authorization") == AUTHORIZATION)
        if self.seen[-1]:
            self._forward()
            return
        page = b"<h1>401 Authorization Required</h1>"
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="radiology"')
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    do_GET = do_POST = do_DELETE = do_PUT = _guarded


@contextlib.contextmanager
def front_doors(upstreams: tuple[str, str], pki: Pki) -> Iterator[tuple[str, str, list[bool]]]:
    """Two HTTPS front doors (one per service) that want the login; yields their URLs and the login record."""
    seen: list[bool] = []
    servers = []
    for upstream in upstreams:
        handler = type("Door", (_Door,), {"upstream": upstream, "seen": seen})
        server = QuietServer(("127.0.0.1", free_port()), handler)
        server.socket = server_context(pki).wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield f"https://127.0.0.1:{servers[0].server_port}", f"https://127.0.0.1:{servers[1].server_port}", seen
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def doors(
    legacy_pair: tuple[str, str], pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str, list[bool]]]:
    monkeypatch.delenv(CA_FILE_ENV, raising=False)
    monkeypatch.delenv(CREDENTIALS_FILE_ENV, raising=False)
    with front_doors(legacy_pair, pki) as urls:
        yield urls


def login_file(tmp_path: Path, text: str = f"{USER}:{PASSWORD}\n", mode: int = 0o600) -> Path:
    path = tmp_path / "web.credentials"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_api_diff_through_the_front_door_with_the_environment_variables(
    doors: tuple[str, str, list[bool]], pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy, new, seen = doors
    monkeypatch.setenv(CA_FILE_ENV, str(pki.ca_file))
    monkeypatch.setenv(CREDENTIALS_FILE_ENV, str(login_file(tmp_path)))
    code, doc = api_diff(legacy, new, "--with-writes")
    assert code == 0, doc["error"] or doc["differences"][:5]
    assert doc["difference_count"] == 0 and doc["requests"] > 150
    # several requests at once, each in its own thread: every one of them carried the login
    assert doc["concurrency"] == apidiff.CONCURRENCY > 1
    assert len(seen) > 3 * doc["requests"] and all(seen)
    assert doc["front_door"] == (
        f"TLS verified against the CA file {pki.ca_file}; login as 'staff' from {tmp_path / 'web.credentials'}"
    )
    assert PASSWORD not in json.dumps(doc)


def test_api_diff_without_the_ca_fails_on_the_certificate(doors: tuple[str, str, list[bool]], tmp_path: Path) -> None:
    legacy, new, seen = doors
    code, doc = api_diff(legacy, new, "--credentials-file", str(login_file(tmp_path)))
    assert code == 1 and not seen
    assert "TLS: the certificate does not verify against the system trust store" in doc["error"]
    assert "CERTIFICATE_VERIFY_FAILED" in doc["error"]


def test_api_diff_with_a_wrong_password_says_nginx_refused_it(
    doors: tuple[str, str, list[bool]], pki: Pki, tmp_path: Path
) -> None:
    legacy, new, seen = doors
    creds = login_file(tmp_path, f"{USER}:not-{PASSWORD}\n")
    code, doc = api_diff(legacy, new, "--ca-file", str(pki.ca_file), "--credentials-file", str(creds))
    assert code == 1 and seen == [False]
    assert f"nginx answered 401: the credentials file {creds} (user 'staff') was refused" in doc["error"]
    assert PASSWORD not in json.dumps(doc)


def test_api_diff_without_credentials_says_a_login_is_needed(doors: tuple[str, str, list[bool]], pki: Pki) -> None:
    code, doc = api_diff(doors[0], doors[1], "--ca-file", str(pki.ca_file))
    assert code == 1
    assert "nginx answered 401: it asks for a login and no credentials were given" in doc["error"]


def test_api_diff_refuses_a_shared_credentials_file_and_plain_http(
    doors: tuple[str, str, list[bool]], legacy_pair: tuple[str, str], pki: Pki, tmp_path: Path
) -> None:
    legacy, new, seen = doors
    shared = login_file(tmp_path, mode=0o644)
    code, doc = api_diff(legacy, new, "--ca-file", str(pki.ca_file), "--credentials-file", str(shared))
    assert code == 1 and not seen
    assert f"refusing the credentials file {shared}" in doc["error"] and f"chmod 600 {shared}" in doc["error"]
    shared.chmod(0o600)
    code, doc = api_diff(*legacy_pair, "--credentials-file", str(shared))
    assert code == 1 and "not https" in doc["error"] and PASSWORD not in json.dumps(doc)


def test_pause_ratio_leaves_the_legacy_time_in_proportion_to_each_request(monkeypatch: pytest.MonkeyPatch) -> None:
    took = [0.03, 0.01, 0.05]
    answers = iter(took)

    def send(origin: str, req: apidiff.battery.Request, timeout: float) -> Response:
        time.sleep(next(answers))
        return Response(200, {}, b"{}")

    monkeypatch.setattr(apidiff, "_send", send)
    waits: list[float] = []
    reqs = [apidiff.battery.Request("GET", f"/api/v1/studies?page={n}") for n in range(3)]
    tell, label = disabled("api-diff"), "legacy-1-of-1"
    out = apidiff._run_battery("http://legacy", reqs, 5.0, tell, label, pause_ratio=2, sleep=waits.append)
    assert [a.status for a in out] == [200, 200, 200]
    assert [round(w / 2.0, 2) for w in waits] == pytest.approx(took, abs=0.02)  # twice as long as each took
    waits.clear()
    answers = iter(took)
    apidiff._run_battery("http://legacy", reqs, 5.0, tell, label, sleep=waits.append)
    assert waits == []  # back to back by default


def test_the_pause_follows_what_the_service_says_it_worked(monkeypatch: pytest.MonkeyPatch) -> None:
    # The legacy's searches wait for a turn behind users' queries and say what their own query cost: the pause is
    # that, not the wait. An answer that says nothing (or more than it took) is paced by the time it took.
    timings = iter(["db;dur=10.0", None, "db;dur=90000"])

    def send(origin: str, req: apidiff.battery.Request, timeout: float) -> Response:
        time.sleep(0.05)  # the wait for a turn, and the query
        timing = next(timings)
        return Response(200, {"server-timing": timing} if timing else {}, b"{}")

    monkeypatch.setattr(apidiff, "_send", send)
    waits: list[float] = []
    reqs = [apidiff.battery.Request("GET", f"/api/v1/studies?page={n}") for n in range(3)]
    tell, label = disabled("api-diff"), "legacy-1-of-1"
    apidiff._run_battery("http://legacy", reqs, 5.0, tell, label, pause_ratio=1, sleep=waits.append)
    assert waits[0] == pytest.approx(0.010)
    assert 0.05 <= waits[1] < 1 and 0.05 <= waits[2] < 1


def test_a_negative_pause_ratio_is_refused(legacy_pair: tuple[str, str]) -> None:
    code, doc = api_diff(*legacy_pair, "--pause-ratio", "-1")
    assert code == 1 and "--pause-ratio must be 0 or more" in doc["error"]


def test_requests_go_out_together_and_answers_keep_the_battery_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """The later requests answer first here: the answers must still line up with the requests."""
    in_flight, most = 0, 0
    lock = threading.Lock()

    def send(origin: str, req: apidiff.battery.Request, timeout: float) -> Response:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        page = int(req.target.rsplit("=", 1)[1])
        time.sleep(0.02 * (8 - page))
        with lock:
            in_flight -= 1
        return Response(200, {}, json.dumps({"page": page}).encode())

    monkeypatch.setattr(apidiff, "_send", send)
    reqs = [apidiff.battery.Request("GET", f"/api/v1/studies?page={n}") for n in range(8)]
    out = apidiff._run_battery("http://legacy", reqs, 5.0, disabled("api-diff"), "new", concurrency=4)
    assert [json.loads(a.body)["page"] for a in out] == list(range(8))
    assert most == 4


def test_pacing_goes_one_request_at_a_time(legacy_pair: tuple[str, str]) -> None:
    code, doc = api_diff(*legacy_pair, "--pause-ratio", "1", "--concurrency", "2")
    assert code == 1 and "paces one request at a time: it cannot go with --concurrency 2" in doc["error"]
    code, doc = api_diff(*legacy_pair, "--concurrency", "0")
    assert code == 1 and "--concurrency must be 1 or more, not 0" in doc["error"]
    code, doc = api_diff(*legacy_pair, "--pause-ratio", "0.01", "--only", "/health")
    assert code == 0 and doc["concurrency"] == 1, doc["error"]
