"""Real server processes on loopback for tests and benchmarks.

`serve()` starts a command, waits until its health URL answers, yields the base URL and terminates the
whole process group on exit. When the server dies or never becomes healthy, the error carries the tail of
its output.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from radiology_testkit.ports import LOOPBACK, free_port

__all__ = ["ServerStartError", "free_port", "serve", "wait_for_http"]

Predicate = Callable[[int, bytes], bool]
STOP_TIMEOUT_SECONDS = 15.0
TAIL_LINES = 40


class ServerStartError(RuntimeError):
    """The server process exited early or its health URL never answered."""


def _default_ready(status: int, _body: bytes) -> bool:
    return status < 500


def wait_for_http(
    url: str,
    timeout: float = 30.0,
    ready: Predicate = _default_ready,
    alive: Callable[[], bool] = lambda: True,
) -> tuple[int, bytes]:
    """Poll `url` until `ready(status, body)`; return the last (status, body). Raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    last: tuple[int, bytes] | None = None
    last_error = "no answer"
    while time.monotonic() < deadline:
        if not alive():
            raise ServerStartError(f"process behind {url} exited while waiting for it")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback http only)
                last = (response.status, response.read())
        except urllib.error.HTTPError as exc:
            last = (exc.code, exc.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            last = None
        if last is not None:
            if ready(*last):
                return last
            last_error = f"HTTP {last[0]}: {last[1][:300]!r}"
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout:.0f}s (last: {last_error})")


@contextmanager
def serve(
    cmd: list[str],
    port: int,
    health_path: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    *,
    ready: Predicate = _default_ready,
    cwd: str | Path | None = None,
    inherit_env: bool = True,
    output_path: Path | None = None,
) -> Iterator[str]:
    """Run `cmd` (which must listen on 127.0.0.1:`port`), wait for `health_path`, yield the base URL.

    `env` is laid over the current environment (or used alone when `inherit_env` is False). The health URL
    counts as up when `ready(status, body)` is true (default: any status below 500). stdout and stderr go
    to `output_path` when given (kept after exit, e.g. to check the server's logs), else to a temp file.
    On exit the process group gets SIGTERM, then SIGKILL after STOP_TIMEOUT_SECONDS.
    """
    base_url = f"http://{LOOPBACK}:{port}"
    full_env = {**(os.environ if inherit_env else {}), **(env or {})}
    with tempfile.TemporaryDirectory(prefix="radiology-server-") as tmp:
        output_path = output_path or Path(tmp) / "output.log"
        with output_path.open("wb") as output:
            process = subprocess.Popen(
                cmd, stdout=output, stderr=subprocess.STDOUT, env=full_env, cwd=cwd, start_new_session=True
            )
        try:
            try:
                wait_for_http(
                    base_url + health_path, timeout=timeout, ready=ready, alive=lambda: process.poll() is None
                )
            except (TimeoutError, ServerStartError) as exc:
                raise ServerStartError(
                    f"{' '.join(cmd)} did not become ready at {base_url}{health_path}: {exc}\n"
                    f"exit code: {process.poll()}\n--- output tail ---\n{_tail(output_path)}"
                ) from exc
            try:
                yield base_url
            except BaseException:
                sys.stderr.write(f"--- output tail of {' '.join(cmd)} ---\n{_tail(output_path)}\n")
                raise
        finally:
            _terminate(process)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
    # Children that outlived their parent (e.g. gunicorn workers) share its process group.
    _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _tail(path: Path, lines: int = TAIL_LINES) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"
