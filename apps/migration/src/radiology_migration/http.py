"""A tiny JSON-over-HTTP client on the standard library (loopback services only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class HttpError(Exception):
    """The server could not be reached or did not answer."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def request(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> Response:
    if not url.startswith(("http://", "https://")):
        raise HttpError(f"{url}: only http(s) URLs are supported")
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())
    except (urllib.error.URLError, OSError) as e:
        raise HttpError(f"{method} {url}: {e}") from e


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
