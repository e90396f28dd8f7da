"""Running the load in the background (for Ansible): start it detached with a pid file, stop it later.

`radiology-ops load ... --background` re-runs the same command detached (own session, output in
DIR/load.log, pid in DIR/load.pid) and returns at once; `radiology-ops load-stop --out DIR` sends SIGTERM
(the load stops new actions and writes its results) and waits for summary.json.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .load import SUMMARY_JSON

PID_FILE = "load.pid"
LOG_FILE = "load.log"
STARTUP_GRACE_SECONDS = 1.0


class BackgroundError(RuntimeError):
    """The background load could not be started, found or stopped."""


def start(argv: list[str], out: Path) -> int:
    """Start `radiology-ops <argv>` detached; return its pid once it has survived its first second."""
    out.mkdir(parents=True, exist_ok=True)
    (out / SUMMARY_JSON).unlink(missing_ok=True)
    log_path = out / LOG_FILE
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "radiology_ops", *argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (out / PID_FILE).write_text(f"{process.pid}\n", encoding="ascii")
    time.sleep(STARTUP_GRACE_SECONDS)
    code = process.poll()
    if code is not None and not (out / SUMMARY_JSON).exists():
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise BackgroundError(f"background load exited at once with code {code}:\n{tail}")
    return process.pid


def _alive(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    zombie = stat.rsplit(")", 1)[-1].split()[0] == "Z"
    return b"radiology_ops" in cmdline and not zombie


def stop(out: Path, timeout: float = 150.0) -> dict[str, Any]:
    """Signal the background load of `out` (if still running) and wait for its summary.json."""
    pid_path = out / PID_FILE
    if not pid_path.exists():
        raise BackgroundError(f"no {pid_path}: was the load started with --background --out {out}?")
    pid = int(pid_path.read_text(encoding="ascii").strip())
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        raise BackgroundError(f"load (pid {pid}) still running {timeout:.0f}s after SIGTERM; see {out / LOG_FILE}")
    summary_path = out / SUMMARY_JSON
    if not summary_path.exists():
        raise BackgroundError(f"load (pid {pid}) ended without writing {summary_path}; see {out / LOG_FILE}")
    pid_path.unlink(missing_ok=True)
    return json.loads(summary_path.read_text(encoding="utf-8"))
