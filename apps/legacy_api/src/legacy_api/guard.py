"""Checks made before a request reaches a route: the length of the request line, the Host header, then the size
of the body.

`RequestGuard` is pure ASGI middleware. A request line longer than the contract's limit gets 414 `uri_too_long`
(the new service's gunicorn refuses it the same way while it reads the line, before any header). A Host header
the service does not answer for gets 400 `bad_host` (radiology_contract.hosts, the rule Django's ALLOWED_HOSTS
applies on the new service). A body declared (Content-Length) larger than the limit gets 413
`payload_too_large` before anything is read; a body without a declared length (chunked) is counted while the
route reads it and the read stops with BodyTooLargeError as soon as it passes the limit, so no more than the
limit plus one received chunk is ever held in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from radiology_contract import responses
from radiology_contract.hosts import host_allowed
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("legacy_api")


class BodyTooLargeError(Exception):
    """The request body grew past the limit while it was read (HTTP 413 payload_too_large)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


def request_host(scope: Scope) -> str:
    """The Host header, or the address the request came in on when there is none (PEP 3333, as Django does)."""
    for name, value in scope.get("headers", []):
        if name == b"host":
            return value.decode("latin-1")
    server = scope.get("server")
    if not server:
        return ""
    host, port = server[0], server[1]
    default_port = 443 if scope.get("scheme") == "https" else 80
    return str(host) if port in (None, default_port) else f"{host}:{port}"


def request_line_too_long(scope: Scope) -> bool:
    """True when `METHOD TARGET HTTP/x.y` is longer than MAX_REQUEST_LINE_BYTES. The server splits the target at
    its first "?" (raw_path, query_string); a target ending in a bare "?" is counted one byte short."""
    target = scope.get("raw_path") or scope.get("path", "").encode("utf-8")
    query = scope.get("query_string", b"")
    if query:
        target = target + b"?" + query
    length = responses.request_line_length(scope.get("method", "GET"), target, scope.get("http_version", "1.1"))
    return length > responses.MAX_REQUEST_LINE_BYTES


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def send_error(send: Send, result: tuple[int, dict[str, object]]) -> None:
    status, body = result
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", responses.JSON_CONTENT_TYPE.encode())],
        }
    )
    await send({"type": "http.response.body", "body": responses.render(body)})


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str],
        body_limit: int = responses.MAX_REQUEST_BODY_BYTES,
        larger_limits: Sequence[tuple[str, int]] = (),
    ) -> None:
        """`larger_limits`: (path prefix, limit) pairs for operator-only paths that carry bigger bodies."""
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)
        self.body_limit = body_limit
        self.larger_limits = tuple(larger_limits)

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.larger_limits if path.startswith(prefix)), self.body_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if request_line_too_long(scope):
            log.warning("request line over %d bytes refused", responses.MAX_REQUEST_LINE_BYTES)
            await send_error(send, responses.uri_too_long())
            return
        host = request_host(scope)
        if not host_allowed(host, self.allowed_hosts):
            log.warning("request with a disallowed Host header %r refused (%s)", host[:200], scope.get("path"))
            await send_error(send, responses.bad_host())
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await send_error(send, responses.payload_too_large(limit))
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLargeError as e:
            if started:
                raise
            await send_error(send, responses.payload_too_large(e.limit))
