#!/usr/bin/env python3
"""Run one playbook of the project the way an operator does, optionally with a fault injected mid-run.

    run_playbook.py --inventory INV --run-dir DIR [--before CMD] [--fault-when PHASE:STATUS (--kill | --exec CMD)]
                    -- PLAYBOOK [ansible-playbook arguments]

The playbook runs as `ansible-playbook -i INV PLAYBOOK ...` with RADIOLOGY_RUN_DIR=DIR; its output goes to
DIR/ansible.log. With --fault-when, the phases the run records (DIR/phases.json, written by the
radiology_phases callback as each phase starts and ends) are polled; once PHASE reaches STATUS ("running" or
"ok"), the fault happens:
  --kill       the controller dies: SIGKILL to ansible-playbook and every process it started (no rescue,
               no handler, no report: what a lost SSH session or a rebooted laptop leaves behind);
  --exec CMD   CMD runs through the shell (e.g. stop the new service on every app host).
With --before, CMD runs through the shell first (e.g. the primary database's host is lost), and the playbook
starts only if it succeeded.
Prints one JSON object: rc, seconds, the command before (rc, epoch seconds it started and ended, output), whether and
when the fault fired, and the log's last lines.
Exits 0 whatever the playbook did (the caller asserts on rc); 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.2
TAIL_LINES = 40


def phase_status(run_dir: Path, phase: str) -> str | None:
    """The status of the newest record of `phase` in phases.json ("running", "ok", "failed"), or None."""
    try:
        records = json.loads((run_dir / "phases.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for record in reversed(records):
        if record.get("phase") == phase:
            return str(record.get("status"))
    return None


def reached(status: str | None, wanted: str) -> bool:
    return status == wanted or (wanted == "running" and status in {"ok", "failed"})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--before", metavar="CMD", help="a shell command run before the playbook")
    parser.add_argument("--fault-when", metavar="PHASE:STATUS")
    fault = parser.add_mutually_exclusive_group()
    fault.add_argument("--kill", action="store_true")
    fault.add_argument("--exec", dest="command")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds before the run is killed as hung")
    parser.add_argument("playbook", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    playbook = args.playbook[1:] if args.playbook[:1] == ["--"] else args.playbook
    if not playbook:
        parser.error("no playbook given after --")
    when: tuple[str, str] | None = None
    if args.fault_when:
        phase, _, status = args.fault_when.partition(":")
        if status not in {"running", "ok"} or not phase:
            parser.error(f"--fault-when {args.fault_when!r}: expected PHASE:running or PHASE:ok")
        if not (args.kill or args.command):
            parser.error("--fault-when needs --kill or --exec")
        when = (phase, status)

    args.run_dir.mkdir(parents=True, exist_ok=True)
    before: dict[str, Any] | None = None
    if args.before:
        before = {"command": args.before, "started_epoch": round(time.time(), 3)}
        done = subprocess.run(args.before, shell=True, capture_output=True, text=True, check=False)
        before.update(rc=done.returncode, ended_epoch=round(time.time(), 3), output=done.stdout + done.stderr)
        if done.returncode != 0:
            print(json.dumps({"rc": None, "seconds": 0, "before": before, "fault": {"fired": False}, "tail": []}))
            return 0
    env = {**os.environ, "RADIOLOGY_RUN_DIR": str(args.run_dir.resolve()), "ANSIBLE_NOCOLOR": "1"}
    env.pop("ANSIBLE_FORCE_COLOR", None)  # a plain log, searchable by the scenario
    log_path = args.run_dir / "ansible.log"
    started = time.monotonic()
    fired: dict[str, Any] = {"fired": False}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["ansible-playbook", "-i", args.inventory, *playbook],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        while process.poll() is None:
            elapsed = time.monotonic() - started
            if elapsed > args.timeout:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                fired["hung"] = True
                break
            if when and not fired["fired"] and reached(phase_status(args.run_dir, when[0]), when[1]):
                fired.update(fired=True, when=f"{when[0]}:{when[1]}", after_seconds=round(elapsed, 1))
                if args.kill:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    break
                done = subprocess.run(args.command, shell=True, capture_output=True, text=True, check=False)
                fired.update(command=args.command, command_rc=done.returncode, command_output=done.stdout + done.stderr)
            time.sleep(POLL_SECONDS)
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    result = {
        "rc": process.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "before": before,
        "fault": fired,
        "log": str(log_path),
        "tail": lines[-TAIL_LINES:],
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
