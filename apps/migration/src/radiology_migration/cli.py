"""`radiology-migrate`: snapshot, load, verify, apply, snapshot-verify, api-diff, the rollback's carry-back and bench,
each with a human summary or --json."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import psycopg
from radiology_contract.frontdoor import CA_FILE_ENV, CREDENTIALS_FILE_ENV, FrontDoor
from radiology_contract.tables import TABLES, Table

from . import apidiff, battery, bench, carryback, copy_checksums, delta, http, load, snapshot, verify
from .outcome import MigrationError, Outcome
from .progress import DEFAULT_INTERVAL_S, Progress
from .secret_files import read_secret, warn_password_on_command_line

EXIT_OK = 0
EXIT_FAILED = 1
DEFAULT_BARRIER_TIMEOUT_S = 30.0  # freeze-barrier --timeout, carry-back --barrier-timeout
DSN_ENV = "RADIOLOGY_MIGRATE_DSN"
DSN_FILE_ENV = "RADIOLOGY_MIGRATE_DSN_FILE"
ADMIN_TOKEN_ENV = "LEGACY_ADMIN_TOKEN"  # noqa: S105 - the name of a variable, not a token
ADMIN_TOKEN_FILE_ENV = "RADIOLOGY_MIGRATE_ADMIN_TOKEN_FILE"  # noqa: S105 - the name of a variable


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the human summary")


def _add_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--progress",
        metavar="FILE",
        help="append timestamped progress lines to FILE (tail -f it); the last says '<step> done' or '<step> failed'",
    )
    p.add_argument(
        "--progress-name",
        metavar="NAME",
        help="the step's name in its progress lines (default: the command's), e.g. stage-load for stage 1's load",
    )
    p.add_argument(
        "--progress-every",
        type=float,
        default=DEFAULT_INTERVAL_S,
        metavar="SECONDS",
        help=f"at most one count line per SECONDS while a table is running (default {DEFAULT_INTERVAL_S:g})",
    )


def _dsn(args: argparse.Namespace) -> str:
    """The target DSN: --dsn, --dsn-file, then the file named by $RADIOLOGY_MIGRATE_DSN_FILE, then $<--dsn-env>."""
    if args.dsn:
        warn_password_on_command_line(str(args.dsn))
        return str(args.dsn)
    if args.dsn_file:
        return read_secret(args.dsn_file, "DSN")
    path = os.environ.get(DSN_FILE_ENV)
    if path:
        return read_secret(path, f"DSN (${DSN_FILE_ENV})")
    env = os.environ.get(args.dsn_env or "")
    if not env:
        raise MigrationError(
            f"no PostgreSQL DSN: pass --dsn-file PATH (or --dsn), or set ${DSN_FILE_ENV} or ${args.dsn_env}"
        )
    return env


def _add_dsn(p: argparse.ArgumentParser) -> None:
    given = p.add_mutually_exclusive_group()
    given.add_argument(
        "--dsn",
        help="libpq DSN/URL of the target database (a password here is visible to other local users: "
        "prefer --dsn-file)",
    )
    given.add_argument(
        "--dsn-file",
        metavar="PATH",
        help=f"file holding the DSN, readable by its owner only (mode 0600 or 0400); env {DSN_FILE_ENV}",
    )
    p.add_argument(
        "--dsn-env",
        default=DSN_ENV,
        help=f"environment variable holding the DSN when no --dsn/--dsn-file/${DSN_FILE_ENV} (default {DSN_ENV})",
    )


def _admin_token(args: argparse.Namespace) -> str:
    """The legacy admin token: --admin-token-file, the file named by $RADIOLOGY_MIGRATE_ADMIN_TOKEN_FILE, then
    $<--admin-token-env>."""
    if args.admin_token_file:
        return read_secret(args.admin_token_file, "admin token")
    path = os.environ.get(ADMIN_TOKEN_FILE_ENV)
    if path:
        return read_secret(path, f"admin token (${ADMIN_TOKEN_FILE_ENV})")
    token = os.environ.get(args.admin_token_env, "")
    if not token:
        raise MigrationError(
            f"no admin token: pass --admin-token-file PATH, or set ${ADMIN_TOKEN_FILE_ENV} or ${args.admin_token_env}"
        )
    return token


def _add_admin_token(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--admin-token-file",
        metavar="PATH",
        help=f"file holding the legacy admin token, readable by its owner only; env {ADMIN_TOKEN_FILE_ENV}",
    )
    p.add_argument(
        "--admin-token-env",
        default=ADMIN_TOKEN_ENV,
        help=f"variable holding the admin token when no token file is given (default {ADMIN_TOKEN_ENV})",
    )


def _add_front_door(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ca-file",
        metavar="PATH",
        help=f"PEM CA bundle to verify nginx's certificate with; env {CA_FILE_ENV} (default: the system store)",
    )
    p.add_argument(
        "--credentials-file",
        metavar="PATH",
        help=f"file holding nginx's login as user:password, readable by its owner only; env {CREDENTIALS_FILE_ENV}",
    )


def _front_door(args: argparse.Namespace) -> FrontDoor:
    """nginx's CA and login: --ca-file, --credentials-file, else the files named by their environment variables."""
    try:
        door = FrontDoor.from_env(args.ca_file, args.credentials_file)
        door.ssl_context()
    except ValueError as e:
        raise MigrationError(str(e)) from e
    return door


def cmd_snapshot(args: argparse.Namespace, outcome: Outcome, progress: Progress) -> None:
    out = Path(args.out)
    if args.live and args.from_file:
        raise MigrationError("--live asks the running service for a copy while it takes writes: not with --from-file")
    if args.from_file:
        snapshot.from_file(outcome, Path(args.from_file), out, overwrite=args.overwrite, progress=progress)
        return
    if not args.legacy_url:
        raise MigrationError("snapshot needs --legacy-url (running service) or --from-file (stopped service)")
    token = _admin_token(args)
    if args.freeze and not args.legacy_db:
        raise MigrationError("--freeze needs --legacy-db PATH (the database whose freeze marker to set)")
    snapshot.from_service(
        outcome,
        args.legacy_url,
        token,
        out,
        freeze_db=Path(args.legacy_db) if args.freeze else None,
        overwrite=args.overwrite,
        progress=progress,
        live=args.live,
    )


def cmd_load(args: argparse.Namespace, outcome: Outcome, progress: Progress) -> None:
    outcome.check_mode = args.check
    if args.since:
        if args.force_overwrite:
            raise MigrationError(
                "--force-overwrite does not apply to a delta load (--since): it refuses a target that does not hold "
                "the --since snapshot; run a full load (without --since) to replace the target"
            )
        delta_options = delta.DeltaOptions(
            check=args.check, lock_timeout_s=args.lock_timeout, analyze=not args.no_analyze
        )
        delta.run(outcome, Path(args.snapshot), Path(args.since), _dsn(args), delta_options, progress=progress)
        return
    options = load.LoadOptions(
        check=args.check,
        force_overwrite=args.force_overwrite,
        lock_timeout_s=args.lock_timeout,
        maintenance_work_mem=args.maintenance_work_mem,
        index_workers=args.index_workers,
        analyze=not args.no_analyze,
    )
    load.run(outcome, Path(args.snapshot), _dsn(args), options, progress=progress)


def _tables(text: str) -> tuple[Table, ...]:
    """--tables: kinds separated by commas, in the contract's order."""
    kinds = {t.kind: t for t in TABLES}
    asked = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in asked if k not in kinds]
    if unknown or not asked:
        raise argparse.ArgumentTypeError(
            f"unknown table {', '.join(unknown) or '(none given)'}: the tables are {', '.join(kinds)}"
        )
    return tuple(t for t in TABLES if t.kind in asked)


def _add_tables(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tables",
        type=_tables,
        default=TABLES,
        metavar="KIND[,KIND]",
        help=f"verify only these tables ({', '.join(t.kind for t in TABLES)}; default: every table)",
    )


def cmd_verify(args: argparse.Namespace, outcome: Outcome, progress: Progress) -> None:
    outcome.check_mode = True
    verify.run(outcome, Path(args.snapshot), _dsn(args), progress=progress, tables=args.tables)


APPLY_STEPS = ("snapshot", "load", "verify")
SNAPSHOT_VERIFY_STEPS = ("snapshot", "verify")
CARRY_BACK_STEPS = ("freeze-barrier", "export-tasks", "push-tasks")


# The command lines of the steps of `apply`, `snapshot-verify` and `carry-back` are written as the operator would
# type them (`--opt=value`: a value that starts with '-' stays a value), from the options of the command.
def _token_argv(args: argparse.Namespace) -> list[str]:
    token = [f"--admin-token-env={args.admin_token_env}"]
    if args.admin_token_file:
        token.append(f"--admin-token-file={args.admin_token_file}")
    return token


def _dsn_argv(args: argparse.Namespace) -> list[str]:
    dsn = [f"--dsn-env={args.dsn_env}"]
    if args.dsn:
        dsn.append(f"--dsn={args.dsn}")
    if args.dsn_file:
        dsn.append(f"--dsn-file={args.dsn_file}")
    return dsn


def _step_argv(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line of each step of `apply` and `snapshot-verify`; the load's only when the command has
    --since."""
    token, dsn = _token_argv(args), _dsn_argv(args)
    tables = getattr(args, "tables", TABLES)  # apply verifies every table
    progress = [f"--progress-every={args.progress_every!r}"]
    if args.progress:
        progress.append(f"--progress={args.progress}")
    argv = {
        "snapshot": [
            *("snapshot", f"--legacy-url={args.legacy_url}", f"--out={args.snapshot}", *token, *progress),
            *(["--overwrite"] if args.overwrite else []),
        ],
        "verify": [
            *("verify", f"--snapshot={args.snapshot}", *dsn, *progress),
            *([f"--tables={','.join(t.kind for t in tables)}"] if tables != TABLES else []),
        ],
    }
    if getattr(args, "since", None):
        argv["load"] = [
            *("load", f"--snapshot={args.snapshot}", f"--since={args.since}", *dsn, *progress),
            f"--lock-timeout={args.lock_timeout!r}",
            *(["--no-analyze"] if args.no_analyze else []),
        ]
    return argv


def _add_frozen_snapshot(p: argparse.ArgumentParser, name: str, what: str) -> None:
    """The options of the commands that snapshot the write-frozen service and then reach PostgreSQL (apply,
    snapshot-verify)."""
    _common(p)
    p.add_argument("--legacy-url", required=True, help="base URL of the running, write-frozen legacy service")
    _add_admin_token(p)
    p.add_argument("--snapshot", required=True, metavar=name, help=what)
    p.add_argument("--overwrite", action="store_true", help=f"replace an existing {name} file")
    _add_dsn(p)


def _carry_back_argv(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line of each step of `carry-back`."""
    dsn = _dsn_argv(args)
    return {
        "freeze-barrier": ["freeze-barrier", *dsn, f"--timeout={args.barrier_timeout!r}"],
        "export-tasks": [
            *("export-tasks", *dsn, f"--out={args.out}"),
            *([f"--since={args.since}"] if args.since else []),
        ],
        "push-tasks": [
            *("push-tasks", f"--tasks-file={args.out}", f"--legacy-url={args.legacy_url}", *_token_argv(args)),
        ],
    }


def _run_steps(outcome: Outcome, names: tuple[str, ...], argv: dict[str, list[str]]) -> None:
    """Run `names` in order, each exactly the single command of `argv[name]` (its own Outcome and Progress),
    stopping at the first that fails; the outcome holds each step's document under steps (with step_seconds, the
    step's wall time from parsing to its verdict), and failed_step."""
    steps: dict[str, dict[str, object]] = {}
    outcome.data["failed_step"] = None
    outcome.data["steps"] = steps
    parser = build_parser()
    for i, name in enumerate(names):
        started = time.perf_counter()
        step = run_command(parser.parse_args(argv[name]))
        steps[name] = {**step.document(), "step_seconds": round(time.perf_counter() - started, 3)}
        outcome.lines.extend(step.human())
        if not step.ok:
            outcome.data["failed_step"] = name
            not_run = names[i + 1 :]
            outcome.fail(
                step.error or "not ok", line=f"FAILED: {name}" + (f"; not run: {', '.join(not_run)}" if not_run else "")
            )
            return


def cmd_apply(args: argparse.Namespace, outcome: Outcome, _progress: Progress) -> None:
    """Stage 2 of a two-stage cutover in one process: `snapshot`, `load --since`, `verify`."""
    _run_steps(outcome, APPLY_STEPS, _step_argv(args))


def cmd_snapshot_verify(args: argparse.Namespace, outcome: Outcome, _progress: Progress) -> None:
    """A rollback's proof in one process: `snapshot` of the frozen legacy service, then `verify` of PostgreSQL
    against it (every task carried back, nothing else changed)."""
    _run_steps(outcome, SNAPSHOT_VERIFY_STEPS, _step_argv(args))


def cmd_api_diff(args: argparse.Namespace, outcome: Outcome, progress: Progress) -> None:
    only: list[str] = args.only or []
    skip: list[str] = args.skip or []
    outcome.check_mode = not (args.with_writes and battery.keeps(apidiff.WRITES_PATH, only, skip))
    door = _front_door(args)
    outcome.data["front_door"] = door.describe()
    with http.through(door):
        apidiff.run(
            outcome,
            args.legacy,
            args.new,
            with_writes=args.with_writes,
            noise_runs=args.noise_runs,
            max_requests=args.max_requests,
            timeout=args.timeout,
            progress=progress,
            only=only,
            skip=skip,
            pause_ratio=args.pause_ratio,
            concurrency=args.concurrency,
        )


def cmd_export_tasks(args: argparse.Namespace, outcome: Outcome, _progress: Progress) -> None:
    outcome.check_mode = True
    carryback.export_tasks(outcome, _dsn(args), Path(args.out), args.since)


def cmd_push_tasks(args: argparse.Namespace, outcome: Outcome, _progress: Progress) -> None:
    token = _admin_token(args)
    carryback.push_tasks(outcome, Path(args.tasks_file), args.legacy_url, token)


def cmd_freeze_barrier(args: argparse.Namespace, outcome: Outcome, _progress: Progress) -> None:
    outcome.check_mode = True
    carryback.freeze_barrier(outcome, _dsn(args), args.timeout)


def cmd_carry_back(args: argparse.Namespace, outcome: Outcome, _progress: Progress) -> None:
    """A rollback's carry-back in one process: `freeze-barrier`, `export-tasks`, `push-tasks`."""
    _run_steps(outcome, CARRY_BACK_STEPS, _carry_back_argv(args))


def cmd_bench(args: argparse.Namespace, outcome: Outcome, _progress: Progress) -> None:
    if args.dsn:
        warn_password_on_command_line(args.dsn)
    bench.run(
        outcome,
        rows=args.rows,
        workdir=Path(args.workdir) if args.workdir else None,
        dsn=args.dsn,
        keep=args.keep,
        delta_rows=args.delta_rows,
        extension=not args.no_extension,
    )


def cmd_checksum_sql(args: argparse.Namespace, outcome: Outcome, _progress: Progress) -> None:
    names = [n for n in args.tables.split(",") if n]
    if not names:
        raise MigrationError("--tables names no table")
    outcome.data["queries"] = copy_checksums.checksum_queries(names, args.schema)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text}")
    return value


def _add_barrier_timeout(p: argparse.ArgumentParser, flag: str) -> None:
    p.add_argument(
        flag,
        type=_positive_seconds,
        default=DEFAULT_BARRIER_TIMEOUT_S,
        metavar="SECONDS",
        help=f"wait at most SECONDS for the new service's writes in flight (default {DEFAULT_BARRIER_TIMEOUT_S:g})",
    )


def _add_tasks_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="JSON file to write the task rows to")
    p.add_argument("--since", help="YYYY-MM-DDTHH:MM:SS: also count tasks created or deleted after it")


def _add_legacy_url(p: argparse.ArgumentParser) -> None:
    p.add_argument("--legacy-url", required=True, help="base URL of the legacy service, from its own host")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radiology-migrate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("snapshot", help="take a consistent snapshot of the legacy DuckDB database")
    _common(p)
    p.add_argument("--out", required=True, help="snapshot file to write (metadata goes to <out>.meta.json)")
    p.add_argument("--legacy-url", help="base URL of the running legacy service, e.g. http://127.0.0.1:8000")
    _add_admin_token(p)
    p.add_argument("--freeze", action="store_true", help="freeze legacy writes first (needs --legacy-db)")
    p.add_argument("--legacy-db", help="the legacy database file (for --freeze)")
    p.add_argument("--from-file", metavar="DB", help="snapshot the file of a STOPPED legacy service instead")
    p.add_argument(
        "--live",
        action="store_true",
        help="stage 1 of a two-stage cutover: a copy consistent at one instant while the service keeps taking "
        "writes (no freeze; the metadata records live: true); the final snapshot is taken frozen",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing snapshot file")
    _add_progress(p)
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("load", help="load a snapshot into PostgreSQL in one transaction")
    _common(p)
    p.add_argument("--snapshot", required=True)
    p.add_argument(
        "--since",
        metavar="S1",
        help="delta load: PostgreSQL holds snapshot S1 (loaded from it); apply only the rows added, changed or "
        "deleted from S1 to --snapshot, in one transaction",
    )
    _add_dsn(p)
    p.add_argument("--check", action="store_true", help="report what the load would do; change nothing")
    p.add_argument("--force-overwrite", action="store_true", help="overwrite target rows newer than the snapshot")
    p.add_argument("--lock-timeout", type=float, default=60.0, help="seconds to wait for locks (default 60)")
    p.add_argument("--maintenance-work-mem", default="512MB", help="for the index rebuild (default 512MB)")
    p.add_argument(
        "--index-workers",
        type=_non_negative_int,
        metavar="N",
        help="parallel workers per index rebuild (PostgreSQL's max_parallel_maintenance_workers; default: the "
        "server's). 0 builds each index in one process, leaving the other cores to users",
    )
    p.add_argument("--no-analyze", action="store_true", help="skip ANALYZE of the loaded tables")
    _add_progress(p)
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("verify", help="gates: counts, keys, per-row checksums (read-only)")
    _common(p)
    p.add_argument("--snapshot", required=True)
    _add_dsn(p)
    _add_tables(p)
    _add_progress(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "apply",
        help="stage 2 of a two-stage cutover in one process: snapshot (service already frozen), load --since, verify",
    )
    _add_frozen_snapshot(p, "S2", "the snapshot to take, load and verify")
    p.add_argument("--since", required=True, metavar="S1", help="the snapshot PostgreSQL holds (loaded from it)")
    p.add_argument("--lock-timeout", type=float, default=60.0, help="seconds to wait for locks (default 60)")
    p.add_argument("--no-analyze", action="store_true", help="skip ANALYZE of the changed tables")
    _add_progress(p)
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser(
        "snapshot-verify",
        help="a rollback's proof in one process: snapshot of the frozen legacy service, verify PostgreSQL against it",
    )
    _add_frozen_snapshot(p, "S", "the snapshot to take and verify against")
    _add_tables(p)
    _add_progress(p)
    p.set_defaults(func=cmd_snapshot_verify)

    p = sub.add_parser("api-diff", help="send a contract-generated request battery to both services and compare")
    _common(p)
    p.add_argument("--legacy", required=True, help="base URL of the legacy service")
    p.add_argument("--new", required=True, help="base URL of the new service")
    p.add_argument("--with-writes", action="store_true", help="also create, read and delete a task on each side")
    p.add_argument("--noise-runs", type=int, default=2, help="times the battery is sent to the legacy (default 2)")
    p.add_argument("--max-requests", type=int, default=2000, metavar="N", help="send at most N (after --only/--skip)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    p.add_argument(
        "--pause-ratio",
        type=float,
        default=0.0,
        metavar="R",
        help="after each request to the legacy service wait R times as long as it took (default 0: back to back; "
        "1 leaves it at least half of its time for users, as stage 1 does while it serves)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help=f"requests in flight at once per battery (default {apidiff.CONCURRENCY}; 1 with --pause-ratio, which "
        "paces one at a time and refuses more)",
    )
    p.add_argument(
        "--only",
        action="append",
        metavar="PATH",
        help="keep only the requests whose API path (after /api/v1, no query string) is PATH or lies under it, "
        "e.g. /analysis/tasks; repeatable; a PATH that matches no request is an error",
    )
    p.add_argument(
        "--skip",
        action="append",
        metavar="PATH",
        help="drop the requests under PATH (after --only); repeatable; --with-writes runs its write steps only "
        "when /analysis/tasks is kept",
    )
    p.add_argument("--check", action="store_true", help="accepted for symmetry: api-diff is read-only by default")
    _add_front_door(p)
    _add_progress(p)
    p.set_defaults(func=cmd_api_diff)

    p = sub.add_parser(
        "freeze-barrier",
        help="rollback: wait until every write the new service began before its freeze marker has committed",
    )
    _common(p)
    _add_dsn(p)
    _add_barrier_timeout(p, "--timeout")
    p.set_defaults(func=cmd_freeze_barrier)

    p = sub.add_parser("export-tasks", help="rollback: write every task row of PostgreSQL (tombstones too) to JSON")
    _common(p)
    _add_dsn(p)
    _add_tasks_out(p)
    p.set_defaults(func=cmd_export_tasks)

    p = sub.add_parser("push-tasks", help="rollback: upsert exported task rows into the running legacy service")
    _common(p)
    p.add_argument("--tasks-file", required=True)
    _add_legacy_url(p)
    _add_admin_token(p)
    p.set_defaults(func=cmd_push_tasks)

    p = sub.add_parser(
        "carry-back",
        help="rollback, in one process: freeze-barrier, export-tasks to --out, push-tasks of that file",
    )
    _common(p)
    _add_dsn(p)
    _add_tasks_out(p)
    _add_legacy_url(p)
    _add_admin_token(p)
    _add_barrier_timeout(p, "--barrier-timeout")
    p.set_defaults(func=cmd_carry_back)

    p = sub.add_parser("bench", help="1M examinations: load and verify rows/s next to DuckDB's postgres extension")
    _common(p)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument(
        "--dsn",
        help=(
            "a superuser DSN of a scratch server: databases bench_target, bench_ext_schema and bench_ext_bare "
            "are re-created there; default: a throwaway cluster (radiology_testkit)"
        ),
    )
    p.add_argument("--workdir", help="where to write the DuckDB file (default: a temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep the generated DuckDB file")
    p.add_argument(
        "--delta-rows",
        type=int,
        default=1000,
        metavar="N",
        help="also time `load --since` after the full load: a second snapshot with N rows changed, added or "
        "deleted (default 1000; 0 skips it)",
    )
    p.add_argument(
        "--no-extension", action="store_true", help="skip the DuckDB postgres extension's loads (the slowest part)"
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "checksum-sql",
        help="the SQL that checksums tables of a PostgreSQL database and of a physical copy of it (restore drill)",
    )
    _common(p)
    p.add_argument("--tables", required=True, help="comma-separated table names, e.g. examinations,exam_reports")
    p.add_argument("--schema", default="public", help="their schema (default public)")
    p.set_defaults(func=cmd_checksum_sql)
    return parser


def run_command(args: argparse.Namespace) -> Outcome:
    """Run one parsed command under its own Progress (`<command> started` ... `<command> done|failed: ...`); a
    MigrationError, a database error or an interrupt becomes the outcome's failure. `main` runs the command it
    parsed with it, `apply` each of its steps."""
    outcome = Outcome(command=args.command)
    func: Callable[[argparse.Namespace, Outcome, Progress], None] = args.func
    path = getattr(args, "progress", None)
    every = getattr(args, "progress_every", DEFAULT_INTERVAL_S)
    name = getattr(args, "progress_name", None) or args.command
    progress = Progress(Path(path) if path else None, name, interval=every)
    with progress.running(outcome):  # its last line, done or failed, is written whatever happens
        try:
            func(args, outcome, progress)
        except MigrationError as e:
            outcome.fail(str(e))
        except (psycopg.Error, duckdb.Error) as e:
            outcome.fail(f"{type(e).__name__}: {str(e).strip()}")
        except KeyboardInterrupt:
            outcome.fail("interrupted")
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    outcome = run_command(args)
    outcome.emit(args.json)
    return EXIT_OK if outcome.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
