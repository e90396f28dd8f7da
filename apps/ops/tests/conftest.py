"""Real servers for the ops tests: the legacy service (generated workbook → DuckDB → uvicorn) and a small
web server standing in for nginx: it serves build-info.json and proxies /legacy/api/v1/* to the service,
over HTTPS with a login (HTTP Basic auth) when asked to, as the front door does.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from radiology_testkit.servers import free_port, serve
from radiology_testkit.tls import Pki, server_context

BIN = Path(sys.executable).parent
LEGACY_API = str(BIN / "legacy-api")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}


@dataclass
class Legacy:
    url: str  # http://127.0.0.1:<port>
    db: Path

    @property
    def api(self) -> str:
        return self.url + "/api/v1"

    def freeze(self) -> None:
        subprocess.run(
            [LEGACY_API, "freeze", "--db", str(self.db), "--reason", "ops test"], check=True, capture_output=True
        )

    def unfreeze(self) -> None:
        subprocess.run([LEGACY_API, "unfreeze", "--db", str(self.db)], check=True, capture_output=True)


@pytest.fixture(scope="session")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Legacy]:
    folder = tmp_path_factory.mktemp("legacy")
    book, db = folder / "exams.xlsx", folder / "medical_imaging.duckdb"
    subprocess.run([LEGACY_API, "generate", "--out", str(book)], check=True, capture_output=True)
    subprocess.run([LEGACY_API, "import", "--db", str(db), str(book)], check=True, capture_output=True)
    port = free_port()
    cmd = [LEGACY_API, "serve", "--db", str(db), "--port", str(port), "--log-level", "warning"]
    with serve(cmd, port, "/api/v1/health", ready=lambda status, _body: status == 200) as url:
        yield Legacy(url, db)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client refusing the certificate is what some tests are about


class Web:
    """build-info.json from `self.build_info`; /legacy/api/v1/* proxied to the legacy service's /api/v1/*.
    With `pki`, HTTPS only; with `login` (user, password), everything else answers 401 like nginx's auth_basic."""

    def __init__(self, upstream: str, pki: Pki | None = None, login: tuple[str, str] | None = None) -> None:
        self.upstream = upstream
        self.authorization = "Basic " + base64.b64encode(":".join(login).encode()).decode() if login else None
        self.refused = 0  # requests answered 401
        self.build_info: dict[str, Any] = {"api_base": "/legacy/api/v1", "build_id": "legacy-1", "built_at": "now"}
        self.delete_delay = 0.0  # seconds a DELETE's answer is held after the service gave it
        self.client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=50))
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _proxy(self) -> None:
                if web.authorization and self.headers.get("Authorization") != web.authorization:
                    web.refused += 1
                    challenge = {"Content-Type": "text/html", "WWW-Authenticate": 'Basic realm="radiology"'}
                    self._send(401, challenge, b"<h1>401 Authorization Required</h1>")
                elif self.path == "/build-info.json":
                    self._send(200, {"Content-Type": "application/json"}, json.dumps(web.build_info).encode())
                elif self.path.startswith("/legacy/api/v1"):
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else None
                    headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
                    upstream = web.client.request(
                        self.command, web.upstream + self.path[len("/legacy") :], content=body, headers=headers
                    )
                    kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
                    if self.command == "DELETE":
                        time.sleep(web.delete_delay)  # applied, but the client may give up before it hears so
                    self._send(upstream.status_code, kept, upstream.content)
                else:
                    self._send(404, {"Content-Type": "text/html"}, b"<h1>404 Not Found</h1>")

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _proxy

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        if pki is not None:  # the handshake happens in the handler's thread, not in the accept loop
            context = server_context(pki)
            self.server.socket = context.wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
        scheme = "https" if pki is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Web:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()


@pytest.fixture
def web(legacy: Legacy) -> Iterator[Web]:
    with Web(legacy.url) as w:
        yield w


@pytest.fixture
def unfrozen(legacy: Legacy) -> Iterator[Legacy]:
    """The legacy service, unfrozen again whatever the test did."""
    try:
        yield legacy
    finally:
        legacy.unfreeze()


def dead_url() -> str:
    """A loopback URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"
