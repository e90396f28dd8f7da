"""Checks run inside a lab host from testinfra (the `host` fixture): HTTP from the host itself, systemd
properties, a service restart under a loop of requests, psql over TCP. Only the host's own tools are used.
"""

from __future__ import annotations

import json
from typing import Any

# Prints status, X-Backend and body of one request made from inside the host (HTTP errors included).
_REQUEST = r"""
import json, sys, urllib.error, urllib.request
url, method, body = sys.argv[1], sys.argv[2], sys.argv[3] or None
req = urllib.request.Request(url, method=method, data=body.encode() if body else None,
                             headers={"Content-Type": "application/json"})
try:
    r = urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as e:
    r = e
print(json.dumps({"status": r.status, "backend": r.headers.get("X-Backend"), "body": r.read().decode()}))
"""

# Opens one TCP connection (3 s timeout); prints "connected" or the error's type (e.g. TimeoutError when dropped).
_CONNECT = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("connected")
except OSError as error:
    print(type(error).__name__)
"""

# Asks a URL from eight threads, restarts a unit after one second, goes on for three more; prints the tally.
_RESTART_UNDER_LOAD = r"""
import json, subprocess, sys, threading, time, urllib.request
url, unit = sys.argv[1], sys.argv[2]
stop = threading.Event(); lock = threading.Lock(); tally = {"ok": 0, "errors": []}
def client():
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                error = None if r.status == 200 else f"HTTP {r.status}"
        except Exception as e:
            error = repr(e)
        with lock:
            if error: tally["errors"].append(error)
            else: tally["ok"] += 1
threads = [threading.Thread(target=client) for _ in range(8)]
[t.start() for t in threads]
time.sleep(1)
restart = subprocess.run(["systemctl", "restart", unit], capture_output=True, text=True)
time.sleep(3)
stop.set(); [t.join() for t in threads]
tally["restart_rc"] = restart.returncode
print(json.dumps(tally))
"""


def request(host: Any, url: str, method: str = "GET", body: str | None = None) -> dict[str, Any]:
    """{"status", "backend" (X-Backend), "body"} of one request made from inside `host`."""
    out = host.run("python3 -c %s %s %s %s", _REQUEST, url, method, body or "")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def connects(host: Any, server: str, port: int) -> bool:
    """Whether a TCP connection from inside `host` to server:port is accepted (a filtered port times out)."""
    return host.check_output("python3 -c %s %s %s", _CONNECT, server, str(port)) == "connected"


def show(host: Any, unit: str, prop: str) -> str:
    """One property of a systemd unit (`systemctl show -p PROP --value UNIT`)."""
    return host.check_output("systemctl show -p %s --value %s", prop, unit)


def serving(host: Any, name: str, port: int) -> list[str]:
    """What is wrong with a socket-activated service <name>: its units running and enabled, its port listening."""
    problems = []
    for unit in (f"{name}.socket", f"{name}.service"):
        service = host.service(unit)
        problems += [f"{unit} is not running"] if not service.is_running else []
        problems += [f"{unit} is not enabled"] if not service.is_enabled else []
    if not host.socket(f"tcp://0.0.0.0:{port}").is_listening:
        problems.append(f"nothing listens on 0.0.0.0:{port}")
    return problems


# What systemctl shows for the hardening every service unit of the project has (roles/python_service).
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictSUIDSGID": "yes",
}


def properties(host: Any, unit: str, names: Any) -> dict[str, str]:
    """The named properties of a systemd unit, as systemctl shows them."""
    return {name: show(host, unit, name) for name in names}


def restart_under_load(host: Any, url: str, unit: str) -> dict[str, Any]:
    """Restart `unit` while eight clients ask `url`: {"ok", "errors", "restart_rc"}."""
    out = host.run("python3 -c %s %s %s", _RESTART_UNDER_LOAD, url, unit)
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def psql(host: Any, server: str, password: str, sql: str, *, user: str = "imaging", db: str = "imaging") -> Any:
    """Run one SQL statement with psql from inside `host` against `server` over TCP (5 s connect timeout)."""
    return host.run(
        "PGPASSWORD=%s PGCONNECT_TIMEOUT=5 psql -h %s -U %s -d %s -XAtc %s", password, server, user, db, sql
    )
