#!/usr/bin/env python3
"""The window in which a step's simulated users saw failed requests, and the log lines inside it.

    failure_window.py window LOAD_DIR [--pad SECONDS]
        prints {"failed": N, "since": EPOCH, "until": EPOCH, "since_utc": ..., "until_utc": ..., "first_epoch": ...,
        "last_epoch": ...}: the first and last failed request of the load (requests.csv, times relative to
        summary.json's started_epoch; first/last to the millisecond), widened by --pad on each side (default 5)
        into whole seconds (since/until). With no failed request: {"failed": 0}.

    failure_window.py cut --since EPOCH --until EPOCH LOG OUT
        writes to OUT the lines of an nginx log (error log "2026/11/29 10:23:01 ..." or access log
        "[29/Nov/2026:10:23:01 +0000]") whose time lies in the window; lines without a time of their own follow
        the line before them. Prints how many lines were kept.

Used by tasks/evidence.yml so that a step failing on requests explains itself: nginx's logs and each host's
journal for those seconds land in the step's report folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

_ERROR_LOG_TIME = re.compile(r"^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) ")
_ACCESS_LOG_TIME = re.compile(r"\[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]")


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_window(load_dir: Path, pad: float) -> dict[str, object]:
    started = json.loads((load_dir / "summary.json").read_text(encoding="utf-8"))["started_epoch"]
    with (load_dir / "requests.csv").open(encoding="utf-8", newline="") as stream:
        times = [float(row["t"]) for row in csv.DictReader(stream) if row.get("outcome") == "failed"]
    if not times:
        return {"failed": 0}
    since, until = started + min(times) - pad, started + max(times) + pad
    return {
        "failed": len(times),
        "since": int(since),
        "until": int(until) + 1,
        "since_utc": _utc(since),
        "until_utc": _utc(until),
        "first_epoch": round(started + min(times), 3),
        "last_epoch": round(started + max(times), 3),
    }


def line_epoch(line: str) -> float | None:
    """The time an nginx log line was written (the logs are in UTC on the lab hosts), or None."""
    if m := _ERROR_LOG_TIME.match(line):
        return datetime.strptime(m[1], "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    if m := _ACCESS_LOG_TIME.search(line):
        return datetime.strptime(m[1], "%d/%b/%Y:%H:%M:%S %z").timestamp()
    return None


def cut(log: Path, out: Path, since: float, until: float) -> int:
    kept, inside = [], False
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        epoch = line_epoch(line)
        if epoch is not None:
            inside = since <= epoch <= until
        if inside:
            kept.append(line)
    out.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    return len(kept)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    window = verbs.add_parser("window")
    window.add_argument("load_dir", type=Path)
    window.add_argument("--pad", type=float, default=5.0)
    cutter = verbs.add_parser("cut")
    cutter.add_argument("--since", type=float, required=True)
    cutter.add_argument("--until", type=float, required=True)
    cutter.add_argument("log", type=Path)
    cutter.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.verb == "window":
        print(json.dumps(failure_window(args.load_dir, args.pad)))
    else:
        print(cut(args.log, args.out, args.since, args.until))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
