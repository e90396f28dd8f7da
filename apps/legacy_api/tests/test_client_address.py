"""The real server trusts no proxy header: the admin endpoints are loopback-only whatever a request claims.

`legacy-api serve` listens on every IPv4 address of this machine; an admin request with the right token and
`X-Forwarded-For: 127.0.0.1` / `X-Real-IP: 127.0.0.1`, sent to (and so from) the machine's non-loopback
address, is refused, and the server's log names the real peer address. FORWARDED_ALLOW_IPS=* is set for the
server, so a server that honoured proxy headers would take the client for 127.0.0.1.
"""

from __future__ import annotations

import secrets
import socket
import sys
from pathlib import Path

import httpx
import pytest
from radiology_contract import responses
from radiology_testkit.servers import free_port, serve

SYNC = "/api/v1/admin/tasks/sync"
CLAIMS = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"}


def non_loopback_ipv4() -> str | None:
    """The address of the interface of the default route (a UDP connect sends nothing), if it is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only the route lookup happens
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_forwarded_headers_do_not_make_a_remote_client_local(seeded_db: Path, tmp_path: Path) -> None:
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address (no default route) to send from")
    token = secrets.token_hex(16)
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        "LEGACY_ADMIN_TOKEN": token,
        "LEGACY_ALLOWED_HOSTS": f"127.0.0.1,localhost,{address}",
        "FORWARDED_ALLOW_IPS": "*",
    }
    legacy = str(Path(sys.executable).with_name("legacy-api"))
    cmd = [legacy, "serve", "--db", str(seeded_db), "--host", "0.0.0.0", "--port", str(port), "--log-level", "info"]
    with serve(cmd, port, "/api/v1/health", env, timeout=60, output_path=log) as local_url:
        remote_url = f"http://{address}:{port}"
        headers = {"X-Admin-Token": token, **CLAIMS}
        with httpx.Client(timeout=30) as client:
            remote = client.post(remote_url + SYNC, json={"tasks": []}, headers=headers)
            assert remote.status_code == 404
            assert remote.content == responses.render(responses.not_found()[1])
            # the same token from loopback, not relayed by a proxy, works
            local = client.post(local_url + SYNC, json={"tasks": []}, headers={"X-Admin-Token": token})
            assert local.status_code == 200, local.text
            # from loopback but carrying the forwarding headers: relayed by a proxy on this host, refused
            relayed = client.post(local_url + SYNC, json={"tasks": []}, headers=headers)
            assert relayed.status_code == 404
    output = log.read_text(encoding="utf-8", errors="replace")
    assert f"admin request from non-loopback client {address} refused" in output, output
    assert f"{address}:" in output and f'"POST {SYNC} HTTP/1.1" 404' in output  # uvicorn's access log: real peer
    assert "admin request relayed by a proxy (x-forwarded-for, x-real-ip) through 127.0.0.1 refused" in output
