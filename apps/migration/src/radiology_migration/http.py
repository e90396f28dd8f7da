"""A tiny JSON-over-HTTP(S) client on the standard library, for the services on loopback and, inside
`through(front_door)`, for nginx: its certificate verified with the front door's CA (never turned off) and the
login sent with every request. A 401 with a login challenge is an HttpError that says whose login was refused.
GETs ride one kept-alive connection per thread and server (one TLS handshake, not one per request); other methods
take a fresh connection each.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from radiology_contract.frontdoor import FrontDoor

UNAUTHORIZED = 401
_door: ContextVar[tuple[FrontDoor, ssl.SSLContext | None]] = ContextVar("front_door", default=(FrontDoor(), None))


class HttpError(Exception):
    """The server could not be reached or did not answer, its certificate did not verify or it refused the login."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@contextmanager
def through(front_door: FrontDoor) -> Iterator[None]:
    """Requests made inside verify TLS with `front_door`'s CA and carry its login."""
    token = _door.set((front_door, front_door.ssl_context()))
    try:
        yield
    finally:
        _door.reset(token)


_local = threading.local()
_STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError, BrokenPipeError)


def _kept_alive_get(url: str, headers: dict[str, str], context: ssl.SSLContext | None, timeout: float) -> Response:
    """GET over this thread's kept-alive connection to `url`'s server; a connection the server closed meanwhile is
    opened again once (a GET may be repeated)."""
    parts = urllib.parse.urlsplit(url)
    key = (parts.scheme, parts.hostname, parts.port)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    pool: dict[tuple[Any, ...], http.client.HTTPConnection] = _local.__dict__.setdefault("pool", {})
    for attempt in (1, 2):
        conn = pool.get(key)
        if conn is None:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout, context=context)
            else:
                conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
            pool[key] = conn
        conn.timeout = timeout
        try:
            conn.request("GET", target or "/", headers=headers)
            answer = conn.getresponse()
            body = answer.read()
        except _STALE:
            conn.close()
            del pool[key]
            if attempt == 2:
                raise
            continue
        except BaseException:
            conn.close()
            del pool[key]
            raise
        if answer.will_close:
            conn.close()
            del pool[key]
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, body)
    raise AssertionError("unreachable")


def _fresh(req: urllib.request.Request, context: ssl.SSLContext | None, timeout: float) -> Response:
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:  # noqa: S310
            return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


def request(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> Response:
    if not url.startswith(("http://", "https://")):
        raise HttpError(f"{url}: only http(s) URLs are supported")
    door, context = _door.get()
    try:
        door.check_url(url)
    except ValueError as e:
        raise HttpError(str(e)) from e
    sent = {**(headers or {}), **door.headers()}
    try:
        if method == "GET" and body is None:
            resp = _kept_alive_get(url, sent, context, timeout)
        else:
            resp = _fresh(urllib.request.Request(url, data=body, method=method, headers=sent), context, timeout)  # noqa: S310
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        # urllib wraps the certificate error in URLError.reason; http.client raises it as is.
        reason = e if isinstance(e, ssl.SSLError) else getattr(e, "reason", e)
        if isinstance(reason, ssl.SSLCertVerificationError):
            trust = door.trust()
            raise HttpError(f"{method} {url}: TLS: the certificate does not verify against {trust}: {reason}") from e
        raise HttpError(f"{method} {url}: {e}") from e
    if resp.status == UNAUTHORIZED and resp.headers.get("www-authenticate"):
        raise HttpError(f"{method} {url}: {door.login_refused()}")
    return resp


def _decode(resp: Response) -> Any:
    try:
        return json.loads(resp.body) if resp.body else None
    except ValueError:
        return resp.body.decode("utf-8", "replace")[:500]


def get_json(url: str, timeout: float = 30) -> tuple[int, Any]:
    resp = request("GET", url, timeout=timeout)
    return resp.status, _decode(resp)


def post_json(url: str, payload: Any, headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, Any]:
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    resp = request("POST", url, json.dumps(payload).encode("utf-8"), hdrs, timeout=timeout)
    return resp.status, _decode(resp)
