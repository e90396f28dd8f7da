"""Checks made before any route: the request line's length (414 uri_too_long), the Host header (400 bad_host) and
the body size (413 payload_too_large)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from legacy_api import server
from legacy_api.app import ADMIN_MAX_REQUEST_BODY_BYTES, create_app
from legacy_api.settings import Settings
from radiology_contract import responses
from radiology_contract.hosts import DEFAULT_ALLOWED_HOSTS
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

API = "/api/v1"
TASKS = f"{API}/analysis/tasks"
LIMIT = responses.MAX_REQUEST_BODY_BYTES
BAD_HOST = responses.render(responses.bad_host()[1])
TOO_LARGE = responses.render(responses.payload_too_large()[1])
TASK = {"name": "guard", "task_type": "status_distribution"}


def test_limits_and_codes_come_from_the_contract() -> None:
    assert LIMIT == 1_048_576
    assert responses.bad_host()[0] == 400 and responses.ERROR_STATUS["bad_host"] == 400
    assert responses.payload_too_large()[0] == 413 and responses.ERROR_STATUS["payload_too_large"] == 413
    message = f"The request body is larger than the limit of {LIMIT} bytes."
    assert json.loads(TOO_LARGE) == {"error": {"code": "payload_too_large", "message": message, "details": []}}
    assert Settings(db_path=Path("x")).allowed_hosts == DEFAULT_ALLOWED_HOSTS == ("127.0.0.1", "localhost")


def test_a_request_line_over_the_limit_gets_the_contract_414(client: TestClient) -> None:
    """The new service's gunicorn refuses a longer request line before reading the headers: the same here, first of
    all checks, and the client's X-Request-ID is not echoed."""
    limit = responses.MAX_REQUEST_LINE_BYTES
    assert limit == 8190 and responses.ERROR_STATUS["uri_too_long"] == 414
    prefix = f"{API}/studies/search?q="
    at_limit = prefix + "x" * (limit - responses.request_line_length("GET", prefix.encode(), "1.1"))
    assert responses.request_line_length("GET", at_limit.encode(), "1.1") == limit
    r = client.get(at_limit, headers={"X-Request-ID": "mine"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "q"
    assert r.headers["x-request-id"] == "mine"
    expected = responses.render(responses.uri_too_long()[1])
    for method, headers in (("GET", {}), ("DELETE", {}), ("POST", {"Host": "evil.example"})):
        r = client.request(method, at_limit + "x", headers={"X-Request-ID": "mine", **headers})
        assert (r.status_code, r.content) == (414, expected), method
        assert r.headers["content-type"] == "application/json" and r.headers["x-backend"] == "legacy"
        assert r.headers["x-request-id"] not in ("", "mine")


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "127.0.0.2", "", "local host", "*"])
def test_a_host_not_allowed_gets_the_contract_400(client: TestClient, host: str) -> None:
    r = client.get(f"{API}/health", headers={"Host": host})
    assert r.status_code == 400
    assert r.content == BAD_HOST
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-backend"] == "legacy" and r.headers["x-request-id"]
    # every path and method, before anything else: no task is created for a bad host
    posted = client.post(TASKS, json=TASK, headers={"Host": host})
    assert (posted.status_code, posted.content) == (400, BAD_HOST)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:8000", "127.0.0.1:1", "localhost.", "127.0.0.1"])
def test_default_hosts_are_answered_whatever_the_port(client: TestClient, host: str) -> None:
    assert client.get(f"{API}/health", headers={"Host": host}).status_code == 200


def _app_with_hosts(seeded_db: Path, monkeypatch: pytest.MonkeyPatch, raw: str) -> TestClient:
    monkeypatch.setenv("LEGACY_ALLOWED_HOSTS", raw)
    return TestClient(create_app(Settings.from_env(seeded_db)), base_url="http://radiology.hospital.example")


def test_allowed_hosts_from_the_environment(seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _app_with_hosts(seeded_db, monkeypatch, " radiology.hospital.example , .pacs.internal ") as c:
        assert c.get(f"{API}/health").status_code == 200
        for good in ("pacs.internal", "web1.pacs.internal:443"):
            assert c.get(f"{API}/health", headers={"Host": good}).status_code == 200, good
        for bad in ("localhost", "127.0.0.1", "evilpacs.internal", "pacs.internal.evil.example"):
            assert c.get(f"{API}/health", headers={"Host": bad}).content == BAD_HOST, bad
        c.app.state.service.con.close()


def test_any_host_only_when_configured(seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _app_with_hosts(seeded_db, monkeypatch, "*") as c:
        assert c.get(f"{API}/health", headers={"Host": "anything.example"}).status_code == 200
        # a Host that is not a host name at all is refused even then (Django does the same)
        assert c.get(f"{API}/health", headers={"Host": "a b"}).content == BAD_HOST
        c.app.state.service.con.close()
    with _app_with_hosts(seeded_db, monkeypatch, "") as c:  # blank: the defaults, never "*"
        assert c.get(f"{API}/health", headers={"Host": "anything.example"}).content == BAD_HOST
        assert c.get(f"{API}/health", headers={"Host": "localhost"}).status_code == 200
        c.app.state.service.con.close()


def test_a_declared_body_over_the_limit_gets_413_unread(client: TestClient) -> None:
    before = client.get(f"{API}/health").json()["analysis_tasks"]
    body = json.dumps({**TASK, "name": "x" * (2 * LIMIT)}).encode()
    r = client.post(TASKS, content=body, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.content) == (413, TOO_LARGE)
    assert r.headers["x-backend"] == "legacy"
    assert client.get(f"{API}/health").json()["analysis_tasks"] == before
    # a body of exactly the limit is read and served; one byte more is not
    padded = json.dumps(TASK).encode()
    padded += b" " * (LIMIT - len(padded))
    assert len(padded) == LIMIT
    assert client.post(TASKS, content=padded).status_code == 201
    assert client.post(TASKS, content=padded + b" ").status_code == 413


def test_a_chunked_body_over_the_limit_gets_413(client: TestClient) -> None:
    def chunks():
        yield json.dumps(TASK).encode()[:-1]
        for _ in range(40):
            yield b" " * 65536

    r = client.post(TASKS, content=chunks())
    assert (r.status_code, r.content) == (413, TOO_LARGE)

    def small():
        yield json.dumps(TASK).encode()

    assert client.post(TASKS, content=small()).status_code == 201


def _asgi_post(app: Any, path: str, headers: list[tuple[bytes, bytes]], chunk: bytes, max_chunks: int | None):
    """Drive the ASGI app with an endless (or `max_chunks` long) request body; count what the app took."""
    taken = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal taken
        taken += 1
        more = max_chunks is None or taken < max_chunks
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"localhost"), *headers], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, taken


def test_an_endless_body_is_cut_at_the_limit(client: TestClient) -> None:
    """The body never ends: the service stops reading just past the limit instead of holding all of it."""
    chunk = b" " * 65536
    status, body, taken = _asgi_post(client.app, TASKS, [(b"transfer-encoding", b"chunked")], chunk, None)
    assert (status, body) == (413, TOO_LARGE)
    assert taken == LIMIT // len(chunk) + 1


def test_a_declared_body_is_refused_before_any_read(client: TestClient) -> None:
    huge = str(ADMIN_MAX_REQUEST_BODY_BYTES + 1).encode()
    for path, declared in ((TASKS, str(LIMIT + 1).encode()), (f"{API}/admin/tasks/sync", huge)):
        status, body, taken = _asgi_post(client.app, path, [(b"content-length", declared)], b"", 1)
        assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"
        assert taken == 0


def test_the_admin_sync_takes_bodies_over_the_public_limit(client: TestClient) -> None:
    """A rollback carries every task row back in one body: the operator-only sync has its own, larger limit."""
    body = b'{"tasks": []' + b" " * (2 * LIMIT) + b"}"
    r = client.post(f"{API}/admin/tasks/sync", content=body, headers={"X-Admin-Token": "s3cret"})
    assert r.status_code == 200, r.text
    # without the token it stays a 404, whatever the size
    assert client.post(f"{API}/admin/tasks/sync", content=body).status_code == 404


def test_admin_requests_relayed_by_a_proxy_are_refused(client: TestClient, tmp_path: Path) -> None:
    """A reverse proxy on the same host connects from 127.0.0.1: its forwarding headers give it away."""
    ok = client.post(f"{API}/admin/tasks/sync", json={"tasks": []}, headers={"X-Admin-Token": "s3cret"})
    assert ok.status_code == 200
    for header in ({"X-Forwarded-For": "127.0.0.1"}, {"X-Real-IP": "127.0.0.1"}, {"Forwarded": "for=127.0.0.1"}):
        relayed = client.post(
            f"{API}/admin/tasks/sync", json={"tasks": []}, headers={"X-Admin-Token": "s3cret", **header}
        )
        assert relayed.status_code == 404, header
        assert relayed.content == responses.render(responses.not_found()[1])


def test_uvicorn_never_trusts_proxy_headers(seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # even when the environment says to trust every proxy
    app = create_app(Settings.from_env(seeded_db))
    config = server.config(app, host="127.0.0.1", port=0)
    assert config.proxy_headers is False
    assert config.forwarded_allow_ips == []
    config.load()
    layer: Any = config.loaded_app
    while layer is not None:
        assert not isinstance(layer, ProxyHeadersMiddleware)
        layer = getattr(layer, "app", None)
    app.state.service.con.close()
