"""How the load and the watch go through the front door: nginx's chain verified (never turned off) and the
login sent to nginx's own origin only (an absolute API base elsewhere never sees it).
"""

from __future__ import annotations

import ssl
from collections.abc import Generator

import httpx
from radiology_contract.frontdoor import FrontDoor

UNAUTHORIZED = 401
CAUSE_DEPTH = 8


class OriginLogin(httpx.Auth):
    """The front door's Authorization header on requests to `web`'s scheme, host and port."""

    def __init__(self, front_door: FrontDoor, web: str) -> None:
        self._headers = front_door.headers()
        self._origin = _origin(httpx.URL(web))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _origin(request.url) == self._origin:
            request.headers.update(self._headers)
        yield request


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def login_challenge(response: httpx.Response) -> bool:
    """nginx refused the login (or got none): 401 with a WWW-Authenticate challenge."""
    return response.status_code == UNAUTHORIZED and "www-authenticate" in response.headers


def certificate_refused(error: BaseException) -> bool:
    """The TLS handshake failed because the server's certificate did not verify."""
    seen: BaseException | None = error
    for _ in range(CAUSE_DEPTH):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
