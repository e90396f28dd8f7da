"""An HTTPS front door for the browser tests, shaped like the site's nginx: TLS with a certificate from a throwaway
CA (radiology_testkit.tls) and HTTP Basic login on every request, pages, assets and API alike (401 with
`WWW-Authenticate: Basic` otherwise). /api/ goes to the API upstream, everything else to the static server of the
build, both plain HTTP on loopback. It counts what it refused and what it forwarded.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import http.client
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from radiology_testkit.tls import Pki, server_context

REALM = "radiology"
# Hop-by-hop headers, and the ones the front door sets itself.
NOT_FORWARDED = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
NOT_FORWARDED_UP = NOT_FORWARDED | {"authorization", "host", "content-length"}
NOT_FORWARDED_DOWN = NOT_FORWARDED | {"content-length", "server", "date"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: HttpsFront

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if not self.server.authorized(self.headers.get("Authorization")):
            self.server.count(refused=self.path)
            headers = [("WWW-Authenticate", f'Basic realm="{REALM}"'), ("Content-Type", "text/plain")]
            self._answer(401, headers, b"login required\n")
            return
        upstream = self.server.api if self.path.startswith("/api/") else self.server.static
        headers = {k: v for k, v in self.headers.items() if k.lower() not in NOT_FORWARDED_UP}
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except OSError as exc:
            self._answer(502, [("Content-Type", "text/plain")], f"upstream {upstream.netloc}: {exc}\n".encode())
            return
        finally:
            connection.close()
        self.server.count(forwarded=f"{self.command} {self.path}")
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in NOT_FORWARDED_DOWN]
        self._answer(response.status, headers, data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _forward


class HttpsFront(ThreadingHTTPServer):
    """TLS + Basic login in front of `static` and `api` (base URLs of plain loopback servers)."""

    daemon_threads = True

    def __init__(self, pki: Pki, credentials: tuple[str, str], static: str, api: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = server_context(pki)
        self.static, self.api = urlsplit(static), urlsplit(api)
        token = base64.b64encode(":".join(credentials).encode()).decode()
        self._expected = f"Basic {token}".encode()
        self._lock = threading.Lock()
        self.refused: list[str] = []
        self.forwarded: list[str] = []
        self.url = f"https://127.0.0.1:{self.server_address[1]}/"

    def authorized(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, token = header.partition(" ")
        try:
            token = base64.b64encode(base64.b64decode(token.strip(), validate=True)).decode()
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(f"{scheme.capitalize()} {token}".encode(), self._expected)

    def count(self, *, refused: str | None = None, forwarded: str | None = None) -> None:
        with self._lock:
            if refused is not None:
                self.refused.append(refused)
            if forwarded is not None:
                self.forwarded.append(forwarded)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        sock.settimeout(30)
        # The handshake runs in the connection's own thread (finish_request), not in the accepting loop.
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: socket.socket, client_address: object) -> None:
        try:
            request.do_handshake()  # type: ignore[attr-defined]
        except (ssl.SSLError, OSError):
            return  # e.g. a client that does not trust the certificate: it hangs up during the handshake
        super().finish_request(request, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        # A browser dropping a kept-alive connection is no error worth a traceback; anything else is.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


@contextmanager
def https_front(pki: Pki, credentials: tuple[str, str], static: str, api: str) -> Iterator[HttpsFront]:
    """Serve the front door on a free loopback port while the block runs."""
    front = HttpsFront(pki, credentials, static, api)
    thread = threading.Thread(target=front.serve_forever, name="https-front", daemon=True)
    thread.start()
    try:
        yield front
    finally:
        front.shutdown()
        front.server_close()
        thread.join(timeout=10)
