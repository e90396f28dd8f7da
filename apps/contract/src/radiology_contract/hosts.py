"""Which Host headers a service answers for: one rule for both services.

The new service uses Django's ALLOWED_HOSTS check; the legacy service applies this module, which follows
the same rule (django.http.request.split_domain_port and validate_host, checked against Django by a test):
the host is lower-cased, its port and a trailing dot are dropped, then it must equal an allowed name, or end
with an allowed pattern that starts with a dot (".example.org" allows example.org and every subdomain), or
an allowed entry must be "*" (only when configured: it is never a default).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost")

# A DNS name or IPv4 address, or a bracketed IPv6 address, then an optional port (Django's host_validation_re).
_HOST = re.compile(r"([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]+))?")


def split_host(host: str) -> tuple[str, str]:
    """(domain, port) of a Host header value; the domain is lower-cased and "" when the value is not valid."""
    match = _HOST.fullmatch(host.lower())
    if match is None:
        return "", ""
    domain, port = match.group(1), match.group(2) or ""
    return domain.removesuffix("."), port


def _matches(domain: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if not pattern:
        return False
    pattern = pattern.lower()
    if pattern.startswith("."):
        return domain.endswith(pattern) or domain == pattern[1:]
    return domain == pattern


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """True when the Host header value `host` (port ignored) is one of `allowed`."""
    domain, _port = split_host(host)
    return bool(domain) and any(_matches(domain, pattern) for pattern in allowed)


def parse_allowed_hosts(raw: str | None) -> tuple[str, ...]:
    """A comma-separated list (blanks dropped); unset or blank gives DEFAULT_ALLOWED_HOSTS."""
    hosts = tuple(item.strip() for item in (raw or "").split(",") if item.strip())
    return hosts or DEFAULT_ALLOWED_HOSTS
