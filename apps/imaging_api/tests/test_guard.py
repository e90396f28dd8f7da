"""Host and body-size checks of both real services, beyond the parity battery.

- the legacy's Host rule (radiology_contract.hosts) is Django's ALLOWED_HOSTS rule, case by case;
- a chunked body that never ends gets 413 from both services once it passes the limit: neither reads it all.
"""

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.http.request import split_domain_port, validate_host
from radiology_contract import hosts, responses

TASKS = "/api/v1/analysis/tasks"
LIMIT = responses.MAX_REQUEST_BODY_BYTES
ENDLESS_CAP = 64 * LIMIT  # the client gives up sending here; a server reading it all would answer only after

HOSTS = [
    "localhost", "LOCALHOST", "localhost:8000", "localhost.", "localhost..", "127.0.0.1", "127.0.0.1:0",
    "127.0.0.2", "[::1]", "[::1]:8000", "[::1", "::1", "example.org", "www.example.org", "wwwexample.org",
    "example.org.evil", "a b", "", ":80", "localhost:", "localhost:x", "exa_mple.org", "xn--bcher-kva.example",
    "bücher.example", "*", ".example.org", "EXAMPLE.ORG:443",
]  # fmt: skip
ALLOWED = [
    ("127.0.0.1", "localhost"),
    ("example.org",),
    (".example.org",),
    ("*",),
    ("[::1]", ".localhost"),
    (),
]


@pytest.mark.parametrize("allowed", ALLOWED, ids=lambda a: ",".join(a) or "none")
def test_the_legacy_host_rule_is_djangos(allowed: tuple[str, ...]) -> None:
    for host in HOSTS:
        domain, _port = split_domain_port(host)
        django_says = bool(domain) and validate_host(domain, list(allowed))
        assert hosts.host_allowed(host, allowed) is django_says, (host, allowed)
        assert hosts.split_host(host) == split_domain_port(host), host


def test_defaults() -> None:
    assert hosts.parse_allowed_hosts(None) == hosts.parse_allowed_hosts(" , ") == ("127.0.0.1", "localhost")
    assert hosts.parse_allowed_hosts("a.example, *") == ("a.example", "*")
    assert "*" not in hosts.DEFAULT_ALLOWED_HOSTS


def endless_chunked_post(base_url: str, path: str, expected: bytes) -> tuple[bytes, int]:
    """POST a chunked body that does not end (until ENDLESS_CAP); return what the server sent until `expected`
    was in it, and the bytes of body sent by then.

    A server that waited for the whole body would never answer: the client stops at the cap without ending
    the body, and the read times out.
    """
    parts = urlsplit(base_url)
    assert parts.hostname and parts.port
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    piece = b" " * 65536
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent = 0
    stop = threading.Event()

    def sender() -> None:
        nonlocal sent
        try:
            sock.sendall(head + b"1\r\n{\r\n")
            while not stop.is_set() and sent < ENDLESS_CAP:
                sock.sendall(frame)
                sent += len(piece)
        except OSError:
            pass

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    answer = b""
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
            if expected in answer:  # the whole error body (sent with Content-Length or chunked) is in
                break
        sent_then = sent
    finally:
        stop.set()
        sock.close()
        thread.join(timeout=30)
    return answer, sent_then


@pytest.mark.parametrize("service", ["legacy", "imaging"])
def test_an_endless_chunked_body_is_cut_at_the_limit(service: str, request: pytest.FixtureRequest) -> None:
    base_url = request.getfixturevalue(f"{service}_url")
    expected = responses.render(responses.payload_too_large()[1])
    answer, sent = endless_chunked_post(base_url, TASKS, expected)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert expected in answer
    assert sent < ENDLESS_CAP, "the answer came only after the client stopped sending"
