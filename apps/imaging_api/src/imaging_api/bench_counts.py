"""`imaging-api bench --counts`: what counting costs the new service at a data size, in two parts.

1. /statistics at the SQL level. For each filter set of FILTER_SETS, the four groupings as four GROUP BYs
   against one GROUPING SETS scan (both from radiology_contract.groupings), the median of `--count-runs` runs of each
   after one warm-up, and their ratio. The service scans once for a filtered set and runs the GROUP BYs for the
   unfiltered one (imaging_api.studies.selectors.statistics_groupings): these figures are why.
2. The first requests after a new data version, which is what users meet right after a cutover's switch.
   gunicorn runs with `--workers` workers and every worker's database connection open. The data version moves
   (as a load's statement would move it), then `--burst` first requests arrive at once (the unfiltered
   statistics and the first pages of the study and report searches, each of which needs a count): cold, every
   worker counting for itself what the shared count cache does not hold yet. Then the version moves again,
   `imaging-api warm_counts` runs (as the cutover runs it before its switch), and the same burst arrives:
   warmed. Prints the median and maximum latency of each burst and the warm-up's seconds.

    imaging-api bench --counts --rows 1000000
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from radiology_contract import analysis, query
from radiology_testkit.postgres import PgServer, running_postgres

from imaging_api import bench
from imaging_api.studies import sql
from imaging_api.studies.counts import VERSION_TABLE

# Filter sets of /statistics: none (most of what users ask), an indexed column, free text, two columns.
FILTER_SETS: tuple[tuple[tuple[str, str], ...], ...] = (
    (),
    (("modality", "CT"),),
    (("q", "chest"),),
    (("exam_status", "completed"), ("exam_source", "emergency")),
)
# A user's first requests: each needs a count (the groupings, the total of a search page).
FIRST_REQUESTS = ("/api/v1/statistics", "/api/v1/studies/search", "/api/v1/reports/search")
GROUPINGS = [grouping for _, grouping in analysis.STATISTICS_GROUPINGS]


def _median_ms(conn: psycopg.Connection, statements: list[tuple[str, list]], runs: int) -> float:
    """The median wall time of running every statement of `statements` in turn, after one unrecorded run."""
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        for statement, params in statements:
            conn.execute(statement, params).fetchall()
        if run:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _label(filters: tuple[tuple[str, str], ...]) -> str:
    return "&".join(f"{k}={v}" for k, v in filters) or "(none)"


def time_groupings(dsn: str, runs: int) -> list[str]:
    """Part 1: a line per filter set with both plans' median ms and the ratio scan / GROUP BYs."""
    lines = [
        f"  /statistics at the SQL level, median of {runs} runs (ms):",
        f"    {'filters':<45} {'4 GROUP BYs':>12} {'GROUPING SETS':>14} {'ratio':>7}",
    ]
    with psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        for filters in FILTER_SETS:
            where = sql.study_where(query.parse_statistics_query(list(filters)).filters)
            separate = _median_ms(conn, [sql.grouped(where, grouping) for grouping in GROUPINGS], runs)
            scan = _median_ms(conn, [sql.grouping_sets(where, GROUPINGS)], runs)
            lines.append(f"    {_label(filters):<45} {separate:12.1f} {scan:14.1f} {scan / separate:7.2f}")
            print(lines[-1], flush=True)
    return lines


async def _burst(base_url: str, paths: list[str]) -> list[tuple[int, float]]:
    """Every path of `paths` at once, each on its own connection: (status, ms) per request (0: no answer)."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def one(path: str) -> tuple[int, float]:
        connection = bench.Connection(host, port)
        started = time.perf_counter()
        try:
            status = await connection.get(path)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            status = 0
        finally:
            await connection.close()
        return status, (time.perf_counter() - started) * 1000

    return list(await asyncio.gather(*(one(path) for path in paths)))


def burst(base_url: str, size: int) -> str:
    """`size` first requests at once (FIRST_REQUESTS in turn): their median and maximum ms and the failures."""
    answers = asyncio.run(_burst(base_url, [FIRST_REQUESTS[i % len(FIRST_REQUESTS)] for i in range(size)]))
    ms = [elapsed for _, elapsed in answers]
    failed = sum(1 for status, _ in answers if status != 200)
    return f"median {statistics.median(ms):8.1f} ms, max {max(ms):8.1f} ms, {failed} of {size} failed"


def new_version(dsn: str) -> None:
    """Move the data version as any write statement on examinations or reports does (their triggers)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"UPDATE {VERSION_TABLE} SET version = version + 1")


def warm_counts(dsn: str) -> tuple[float, dict]:
    """`imaging-api warm_counts` against `dsn`: (wall seconds, its JSON)."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(bench.BIN / "imaging-api"), "warm_counts"],
        env={**os.environ, **bench.service_env(dsn)},
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, json.loads(done.stdout)


def first_requests(dsn: str, args: argparse.Namespace) -> list[str]:
    """Part 2: the cold burst and the warmed one, on the same gunicorn."""
    lines = [f"  first requests after a new data version ({args.workers} workers, {args.burst} at once):"]
    with bench.serve_imaging(dsn, args.workers, args.worker_class, args.threads) as url:
        # Every worker's connection open (health is cheap and counted once), so the bursts time counting only.
        asyncio.run(_burst(url, [bench.HEALTH] * args.workers * 4))
        new_version(dsn)
        lines.append(f"    cold:   {burst(url, args.burst)}")
        print(lines[-1], flush=True)
        new_version(dsn)
        seconds, warmed = warm_counts(dsn)
        lines.append(
            f"    warm_counts: {seconds:.1f} s ({len(warmed['warmed'])} sets, data version {warmed['data_version']})"
        )
        lines.append(f"    warmed: {burst(url, args.burst)}")
        print("\n".join(lines[-2:]), flush=True)
    return lines


def counts_size(rows: int, args: argparse.Namespace, pg: PgServer, workdir: Path) -> list[str]:
    db = bench.duckdb_file(rows, args.seed, workdir)
    with bench.loaded_database(pg, db) as (dsn, _):
        lines = [f"== {rows} examinations"]
        print(lines[0], flush=True)
        return lines + time_groupings(dsn, args.count_runs) + first_requests(dsn, args)


def counts_main(args: argparse.Namespace) -> int:
    table: list[str] = []
    with tempfile.TemporaryDirectory(prefix="imaging-bench-") as tmp, running_postgres(bench.PG_SETTINGS) as pg:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for rows in args.rows:
            table += counts_size(rows, args, pg, workdir)
    print("\nwhat counting costs the new service\n" + "\n".join(table))
    return 0
