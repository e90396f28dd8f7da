"""`legacy-api serve --fd N` over real HTTP: the listening socket is created here and inherited by the server
process, as systemd's socket unit passes it. A restart under load (SIGTERM, then a new process on the same
socket) must fail no request. Loopback only; every wait is bounded."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from legacy_api.cli import main

API = "/api/v1"
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("legacy-api")
    return [str(script)] if script.exists() else [sys.executable, "-m", "legacy_api.cli"]


@pytest.fixture
def listener():
    """A listening TCP socket on loopback that outlives the server processes, like systemd's socket unit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    yield sock
    sock.close()


class Servers:
    """Starts `legacy-api serve --fd N` processes and makes sure none outlives the test."""

    def __init__(self, fd: int, db: Path, logs: Path) -> None:
        self.fd, self.db, self.logs = fd, db, logs
        self.procs: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        env = {**os.environ, "LEGACY_DB_PATH": str(self.db), "LEGACY_LOG_LEVEL": "warning"}
        log = (self.logs / f"server-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [*_cli(), "serve", "--fd", str(self.fd)], pass_fds=(self.fd,), env=env, stdout=log, stderr=log
        )
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, proc: subprocess.Popen) -> str:
        return (self.logs / f"server-{self.procs.index(proc)}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def servers(listener: socket.socket, seeded_db: Path, tmp_path: Path):
    s = Servers(listener.fileno(), seeded_db, tmp_path)
    yield s
    s.stop_all()


def _get(port: int, path: str, timeout: float = REQUEST_TIMEOUT) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection (as a browser behind a proxy would open many)."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        con.request("GET", path)
        r = con.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        con.close()


def _wait_ready(servers: Servers, proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{servers.log(proc)}")
        try:
            if _get(port, f"{API}/health", timeout=1.0)[0] == 200:
                return
        except OSError:
            pass  # not serving yet: the connection waited in the backlog
        time.sleep(0.1)
    pytest.fail(f"server not ready after {START_TIMEOUT}s:\n{servers.log(proc)}")


def test_serves_the_inherited_socket(listener: socket.socket, servers: Servers) -> None:
    port = listener.getsockname()[1]
    proc = servers.start()
    _wait_ready(servers, proc, port)

    status, headers, body = _get(port, f"{API}/studies/search?page_size=3")
    assert status == 200
    assert headers["x-backend"] == "legacy"
    assert len(json.loads(body)["data"]) == 3

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) in (0, -signal.SIGTERM), servers.log(proc)
    # The socket belongs to this process, not the server: it is still listening.
    assert listener.fileno() != -1


def test_restart_under_load_fails_no_request(listener: socket.socket, servers: Servers) -> None:
    port = listener.getsockname()[1]
    first = servers.start()
    _wait_ready(servers, first, port)

    stop = threading.Event()
    lock = threading.Lock()
    tally: dict[str, list] = {"ok": [], "errors": []}

    def client() -> None:
        while not stop.is_set():
            try:
                status, _, body = _get(port, f"{API}/studies/search?page_size=20")
                outcome = "ok" if status == 200 and json.loads(body)["data"] else "errors"
                detail = time.monotonic() if outcome == "ok" else f"HTTP {status}: {body[:200]!r}"
            except Exception as e:  # every failure counts, whatever it is
                outcome, detail = "errors", repr(e)
            with lock:
                tally[outcome].append(detail)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        with lock:
            before = len(tally["ok"])
        first.send_signal(signal.SIGTERM)  # requests are in flight on the 8 clients
        assert first.wait(timeout=15) in (0, -signal.SIGTERM), servers.log(first)
        second = servers.start()  # what systemd does on restart; meanwhile connections queue in the backlog
        _wait_ready(servers, second, port)
        restarted_at = time.monotonic()
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=REQUEST_TIMEOUT + 5)

    assert not any(t.is_alive() for t in threads)
    assert tally["errors"] == [], tally["errors"][:5]
    assert before > 10, tally  # the first process served load before its stop
    assert sum(t > restarted_at for t in tally["ok"]) > 10  # and the second one after the restart
    assert second.poll() is None, servers.log(second)


def test_fd_does_not_go_with_host_or_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--fd", "3", "--port", "8000"])
    assert exc.value.code == 2
    assert "--fd" in capsys.readouterr().err
