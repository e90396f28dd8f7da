"""`radiology-ops`: load (bounded load generator), load-stop, watch (post-switch watch), report, figures."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from radiology_contract.frontdoor import CA_FILE_ENV, CREDENTIALS_FILE_ENV

from . import background
from .load import LoadConfig, refused_logins, run_load
from .report import build_report, collect
from .report_figures import figure_lines
from .targets import TargetRefusedError
from .watch import WatchConfig, run_watch


def _target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--web", required=True, help="web server URL (nginx serving the frontend), e.g. https://127.0.0.1")
    p.add_argument("--api-base", help="skip build-info.json and use this API base (path on --web or absolute URL)")
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="allow a host that is neither loopback nor on a local Docker network (repeatable)",
    )
    p.add_argument(
        "--ca-file",
        type=Path,
        default=os.environ.get(CA_FILE_ENV) or None,
        metavar="PATH",
        help=f"PEM CA bundle to verify nginx's certificate with (default ${CA_FILE_ENV}, else the system store)",
    )
    p.add_argument(
        "--credentials-file",
        type=Path,
        default=os.environ.get(CREDENTIALS_FILE_ENV) or None,
        metavar="PATH",
        help=f"file holding nginx's login as user:password, mode 0600 (default ${CREDENTIALS_FILE_ENV})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radiology-ops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    load = sub.add_parser("load", help="simulate staff using the service; bounded by duration and requests")
    _target_args(load)
    load.add_argument("--users", type=int, default=100)
    load.add_argument("--duration", type=float, default=60.0, help="seconds of new actions")
    load.add_argument("--max-requests", type=int, default=None)
    load.add_argument("--write-ratio", type=float, default=0.1, help="share of actions that create a task")
    load.add_argument("--think-time", type=float, default=1.0, help="mean pause between a user's actions (s)")
    load.add_argument(
        "--write-retry-budget",
        type=float,
        default=90.0,
        help="seconds a write refused by the freeze is retried before it counts as failed",
    )
    load.add_argument("--timeout", type=float, default=10.0, help="per-request timeout (s)")
    load.add_argument("--reload-every", type=int, default=25, help="actions between page reloads")
    load.add_argument("--seed", type=int, default=1)
    load.add_argument("--out", type=Path, required=True, help="folder for requests.csv, summary.json, tasks.json")
    load.add_argument("--background", action="store_true", help="start detached (pid in OUT/load.pid) and return")

    stop = sub.add_parser("load-stop", help="stop a --background load and wait for its summary.json")
    stop.add_argument("--out", type=Path, required=True)
    stop.add_argument("--timeout", type=float, default=150.0)

    watch = sub.add_parser("watch", help="post-switch watch: expected backend, health, error rate")
    _target_args(watch)
    watch.add_argument("--expect-backend", required=True, choices=("legacy", "imaging"))
    watch.add_argument("--duration", type=float, default=30.0)
    watch.add_argument("--interval", type=float, default=0.5)
    watch.add_argument("--max-error-rate", type=float, default=0.01)
    watch.add_argument("--max-consecutive-failures", type=int, default=3)
    watch.add_argument("--load-summary", type=Path, help="a load's summary.json or folder: also fail on its errors")
    watch.add_argument("--max-load-error-rate", type=float, default=None, help="default: --max-error-rate")
    watch.add_argument("--timeout", type=float, default=5.0)
    watch.add_argument("--json", type=Path, required=True, help="file to write the result to")

    report = sub.add_parser("report", help="build report.json, report.md and report.html of a run folder")
    report.add_argument("--run-dir", type=Path, required=True)
    report.add_argument("--strict", action="store_true", help="exit 1 when the run itself failed")

    figures = sub.add_parser("figures", help="print the headline figures of run folders (writes nothing)")
    figures.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    figures.add_argument("--json", action="store_true", help="print them as JSON, one object per run folder")
    return parser


def _load(args: argparse.Namespace, argv: list[str]) -> int:
    config = LoadConfig(
        web=args.web,
        out=args.out,
        users=args.users,
        duration=args.duration,
        max_requests=args.max_requests,
        write_ratio=args.write_ratio,
        api_base=args.api_base,
        allow_hosts=tuple(args.allow_host),
        think_time=args.think_time,
        write_retry_budget=args.write_retry_budget,
        timeout=args.timeout,
        reload_every=args.reload_every,
        seed=args.seed,
        ca_file=args.ca_file,
        credentials_file=args.credentials_file,
    )
    if args.background:
        config.validate()
        pid = background.start([a for a in argv if a != "--background"], args.out)
        print(
            f"load running in the background: pid {pid}, results in {args.out}; stop: radiology-ops load-stop "
            f"--out {args.out}"
        )
        return 0
    summary = run_load(config)
    print(summary.human())
    print(f"results: {args.out}")
    _say_refused_logins(summary.as_dict())
    return 0 if summary.failed == 0 else 1


def _say_refused_logins(summary: dict[str, Any]) -> None:
    refused = refused_logins(summary)
    if refused:
        print(f"radiology-ops load: {refused}", file=sys.stderr)


def _load_stop(args: argparse.Namespace) -> int:
    summary = background.stop(args.out, args.timeout)
    print(
        f"load stopped: {summary['requests']} requests, ok {summary['ok']}, frozen {summary['frozen']}, "
        f"failed {summary['failed']}; p99 {summary['latency_ms']['p99']} ms; results in {args.out}"
    )
    _say_refused_logins(summary)
    return 0 if summary["failed"] == 0 else 1


def _watch(args: argparse.Namespace) -> int:
    config = WatchConfig(
        web=args.web,
        expect_backend=args.expect_backend,
        duration=args.duration,
        interval=args.interval,
        max_error_rate=args.max_error_rate,
        max_consecutive_failures=args.max_consecutive_failures,
        api_base=args.api_base,
        allow_hosts=tuple(args.allow_host),
        load_summary=args.load_summary,
        max_load_error_rate=args.max_load_error_rate,
        timeout=args.timeout,
        ca_file=args.ca_file,
        credentials_file=args.credentials_file,
    )
    result = run_watch(config)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(result.human())
    return 0 if result.ok else 1


def _report(args: argparse.Namespace) -> int:
    paths = build_report(args.run_dir)
    report = collect(args.run_dir)
    final = report["final_state"]
    print(
        f"run {args.run_dir}: {final['verdict']}; serving backend: {final['users']['text']}; "
        f"{len(report['phases'])} phases, {len(report['gates'])} gate outputs, {len(report['loads'])} loads, "
        f"{len(report['watches'])} watches; missing: {', '.join(report['missing']) or 'nothing'}"
    )
    for path in paths.values():
        print(f"  wrote {path}")
    return 1 if args.strict and final["verdict"] != "success" else 0


def _figures(args: argparse.Namespace) -> int:
    """The figures of each run folder, from the same report data `report` builds (report.collect)."""
    missing = [str(d) for d in args.run_dirs if not d.is_dir()]
    if missing:
        raise FileNotFoundError(f"run folder(s) {', '.join(missing)} do not exist")
    runs = []
    for run_dir in args.run_dirs:
        report = collect(run_dir)
        final = report["final_state"]
        runs.append(
            {
                "run_dir": str(run_dir),
                "playbook": final["playbook"],
                "verdict": final["verdict"],
                "figures": report["figures"],
            }
        )
    if args.json:
        print(json.dumps(runs, indent=2, ensure_ascii=False))
        return 0
    for n, run in enumerate(runs):
        print(("\n" if n else "") + f"{run['run_dir']}: {run['playbook'] or 'playbook not recorded'}, {run['verdict']}")
        print("\n".join(f"  {line}" for line in figure_lines(run["figures"])))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "load":
            return _load(args, argv)
        if args.command == "load-stop":
            return _load_stop(args)
        if args.command == "watch":
            return _watch(args)
        if args.command == "figures":
            return _figures(args)
        return _report(args)
    except (TargetRefusedError, ValueError, FileNotFoundError, background.BackgroundError) as e:
        print(f"radiology-ops {args.command}: {e}", file=sys.stderr)
        return 2
