"""`legacy-api`: generate data, import a workbook, serve (on a port or a socket from systemd), freeze writes,
export the OpenAPI document."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from radiology_contract import synthetic
from radiology_contract.import_summary import format_summary

from . import freeze as freezing
from .settings import DEFAULT_DB, DEFAULT_HOST, DEFAULT_PORT, Settings

# duckdb, openpyxl and the web stack are imported by the commands that use them: `freeze` and `unfreeze` run while
# users wait on the cutover's write freeze, on a busy host, and need none of them (a third of a second of CPU less).

log = logging.getLogger("legacy_api")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, default=None, help=f"DuckDB file (env LEGACY_DB_PATH, default {DEFAULT_DB})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="legacy-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write deterministic synthetic data (.xlsx or a new DuckDB file)")
    gen.add_argument("--format", choices=("xlsx", "duckdb"), default="xlsx")
    gen.add_argument("--out", type=Path, required=True, help="file to create (refuses to overwrite for duckdb)")
    gen.add_argument("--rows", type=int, default=synthetic.DEFAULT_ROWS, help="examinations (reports follow)")
    gen.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    gen.add_argument("--no-tasks", action="store_true", help="do not generate analysis tasks")
    gen.add_argument("--labels", action="store_true", help="xlsx headers as hospital labels instead of names")

    imp = sub.add_parser("import", help="validate a workbook and load it into DuckDB (all or nothing)")
    _db_arg(imp)
    imp.add_argument("workbook", type=Path)
    imp.add_argument("--report-json", type=Path, help="also write the problem report here when the file is rejected")

    serve = sub.add_parser("serve", help="serve the API with uvicorn (one worker: DuckDB has one writer)")
    _db_arg(serve)
    serve.add_argument("--host", help=f"address to bind (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, help=f"port to bind (default {DEFAULT_PORT})")
    serve.add_argument(
        "--fd",
        type=int,
        help="serve the listening socket inherited as this file descriptor instead of binding --host/--port "
        "(systemd socket activation passes it as 3)",
    )
    serve.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        default=os.environ.get("LEGACY_LOG_LEVEL", "info").lower(),
        help="uvicorn's and the service's log level (env LEGACY_LOG_LEVEL, default info)",
    )

    frz = sub.add_parser("freeze", help="pause writes (POST/DELETE answer 503) until unfreeze")
    _db_arg(frz)
    frz.add_argument("--reason", required=True)
    unf = sub.add_parser("unfreeze", help="resume writes")
    _db_arg(unf)

    exp = sub.add_parser("export-openapi", help="write the service's OpenAPI document")
    exp.add_argument("--out", type=Path, default=Path("docs/openapi.json"))

    bench = sub.add_parser("bench-import", help="print import throughput (rows/s) for generated workbooks")
    bench.add_argument("--rows", type=int, nargs="+", default=[1250, 100_000])
    bench.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    return parser


def openapi_document() -> dict[str, object]:
    import duckdb  # noqa: PLC0415
    from radiology_contract.duckdb_schema import create_schema  # noqa: PLC0415

    from .app import create_app  # noqa: PLC0415 - the web stack is only needed by serve/export

    con = duckdb.connect(":memory:")
    create_schema(con)
    try:
        return create_app(Settings(db_path=Path(DEFAULT_DB)), con=con).openapi()
    finally:
        con.close()


def render_openapi() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def _generate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.format == "duckdb":
        counts = synthetic.write_duckdb(args.out, rows=args.rows, seed=args.seed, tasks=not args.no_tasks)
    else:
        counts = synthetic.write_xlsx(args.out, rows=args.rows, seed=args.seed, tasks=not args.no_tasks,
                                      labels=args.labels)  # fmt: skip
    elapsed = time.perf_counter() - started
    print(
        f"wrote {args.out}: {counts.examinations} examinations, {counts.reports} reports, "
        f"{counts.analysis_tasks} analysis tasks in {elapsed:.2f}s (seed {args.seed})"
    )
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from radiology_contract.workbook import WorkbookError  # noqa: PLC0415

    from .importer import ImportFailedError, import_workbook  # noqa: PLC0415

    started = time.perf_counter()
    try:
        report = import_workbook(settings.db_path, args.workbook)
    except WorkbookError as e:
        print(f"import refused, database {settings.db_path} unchanged.\n{e}", file=sys.stderr)
        if args.report_json:
            args.report_json.write_text(json.dumps(e.report(), indent=2, ensure_ascii=False) + "\n", "utf-8")
        return 1
    except ImportFailedError as e:
        print(f"import failed, database {settings.db_path} unchanged: {e}", file=sys.stderr)
        return 1
    print(format_summary(report.tables, time.perf_counter() - started))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from . import server  # noqa: PLC0415 - the web stack is only needed by serve/export
    from .app import create_app  # noqa: PLC0415
    from .database import StartupError  # noqa: PLC0415

    # The journal (JOURNAL_STREAM set by systemd) stamps every line itself.
    stamp = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    logging.basicConfig(level=args.log_level.upper(), format=stamp + "%(levelname)s %(name)s %(message)s")
    try:
        app = create_app(settings)
    except StartupError as e:
        print(f"legacy-api: refusing to start: {e}", file=sys.stderr)
        return 2
    if args.fd is not None:
        return server.run(app, fd=args.fd, log_level=args.log_level)
    return server.run(
        app,
        host=args.host if args.host is not None else DEFAULT_HOST,
        port=args.port if args.port is not None else DEFAULT_PORT,
        log_level=args.log_level,
    )


def _bench(args: argparse.Namespace) -> int:
    """Generate a workbook per size, import it into a fresh DuckDB file, print the throughput."""
    from .importer import import_workbook  # noqa: PLC0415

    print(
        f"{'examinations':>13}{'all rows':>10}{'read+validate':>15}{'load':>9}{'total':>9}{'rows/s':>10}{'exams/s':>10}"
    )
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="legacy-bench-") as tmp:
            book = Path(tmp) / "bench.xlsx"
            synthetic.write_xlsx(book, rows=rows, seed=args.seed)
            started = time.perf_counter()
            report = import_workbook(Path(tmp) / "bench.duckdb", book)
            total = time.perf_counter() - started
            print(
                f"{rows:>13}{report.rows:>10}{report.read_seconds:>14.2f}s{report.load_seconds:>8.2f}s"
                f"{total:>8.2f}s{report.rows / total:>10,.0f}{rows / total:>10,.0f}"
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        if args.fd is not None and (args.host is not None or args.port is not None):
            parser.error("serve: --fd serves an inherited socket; it does not go with --host or --port")
        if args.log_level not in LOG_LEVELS:  # a default from LEGACY_LOG_LEVEL is not checked by argparse
            parser.error(f"serve: log level {args.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
    try:
        settings = Settings.from_env(getattr(args, "db", None))
    except ValueError as e:
        parser.error(str(e))
    if args.command == "generate":
        return _generate(args)
    if args.command == "import":
        return _import(args, settings)
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "freeze":
        state = freezing.freeze(settings.db_path, args.reason)
        print(f"writes frozen for {settings.db_path} at {state.frozen_at}: {state.reason}")
        return 0
    if args.command == "unfreeze":
        removed = freezing.unfreeze(settings.db_path)
        print(f"writes {'resumed' if removed else 'were not frozen'} for {settings.db_path}")
        return 0
    if args.command == "export-openapi":
        args.out.write_text(render_openapi(), encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    if args.command == "bench-import":
        return _bench(args)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
