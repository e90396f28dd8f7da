"""`imaging-api bench`: the legacy and the new service under the same load, side by side.

For each data size the same synthetic data set is written to a DuckDB file (served by `legacy-api serve`,
uvicorn) and copied into a throwaway PostgreSQL (served by gunicorn with imaging_api.gunicorn_conf). A
bounded asyncio HTTP/1.1 load generator (keep-alive where the server allows it) runs C concurrent clients
against one endpoint of one service at a time, cycling through a fixed mix of queries: after an
unrecorded warm-up, D seconds per service in alternating slices (so other load on the machine hits both
alike). Requests in flight when a slice ends are waited for and counted. It prints requests/s, p50 and
p99 and the new/legacy ratio.

    imaging-api bench --rows 1250 1000000 --duration 20 --clients 100

`--search` measures the free-text `q` search of the new service alone, at the SQL level and without HTTP:
after the load it rebuilds each trigram GIN index of examinations and exam_reports one at a time (timed, with
the loader's maintenance_work_mem), ANALYZEs, then runs every `q` query of the two mixes through the SQL
the service sends (studies/sql.py: the page and its COUNT, client-side bound like Django's cursors)
`--search-runs` times after one warm-up, and prints the median and p95 in ms.

    imaging-api bench --search --rows 1000000 --search-runs 20

`--counts` measures what counting costs the new service: /statistics as four GROUP BYs against one GROUPING SETS
scan per filter set, and the first requests after a new data version, cold and after `warm_counts`
(imaging_api.bench_counts).

    imaging-api bench --counts --rows 1000000
"""

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import psycopg
from radiology_contract import query, synthetic, tables
from radiology_migration import load
from radiology_migration.outcome import Outcome
from radiology_testkit.postgres import PgServer, running_postgres
from radiology_testkit.servers import free_port, serve

HEALTH = "/api/v1/health"
BIN = Path(sys.executable).parent
MAX_REQUESTS_PER_RUN = 2_000_000
PG_SETTINGS = {"shared_buffers": "1GB", "work_mem": "16MB", "max_connections": "200", "jit": "off"}


def _qs(*pairs: tuple[str, str]) -> str:
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs)


# A mix of what the frontend sends: plain pages, filters, free text (short and long), dates, deep pages.
STUDY_MIX: tuple[str, ...] = tuple(
    "/api/v1/studies/search" + (f"?{q}" if q else "")
    for q in (
        "",
        _qs(("page", "2")),
        _qs(("page", "50"), ("page_size", "50")),
        _qs(("exam_status", "certified")),
        _qs(("modality", "CT"), ("exam_status", "completed")),
        _qs(("exam_source", "emergency"), ("date_from", "2024-01-01"), ("date_to", "2024-03-31")),
        _qs(("exam_item", "Chest PA/Lateral")),
        _qs(("q", "chest")),
        _qs(("q", "müller")),
        _qs(("q", "ct"), ("exam_source", "inpatient")),
        _qs(("q", "EX0000042")),
        _qs(("q", "angiography"), ("page_size", "100")),
    )
)
REPORT_MIX: tuple[str, ...] = tuple(
    "/api/v1/reports/search" + (f"?{q}" if q else "")
    for q in (
        "",
        _qs(("page", "3")),
        _qs(("q", "nodule")),
        _qs(("q", "normal study")),
        _qs(("q", "zoë")),
        _qs(("exam_id", "EX00000191")),
        _qs(("reporting_physician", "Dr. Wei Zhang")),
        _qs(("date_from", "2024-06-01"), ("date_to", "2024-06-30")),
        _qs(("q", "follow-up"), ("date_from", "2024-01-01")),
    )
)
MIXES = {"studies/search": STUDY_MIX, "reports/search": REPORT_MIX}


@dataclass(frozen=True)
class RunResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(p) - 1]


class Connection:
    """One HTTP/1.1 connection; reconnects when the server closes it (gunicorn sync workers do)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        """Send one GET and read the whole answer; a kept connection the server dropped is retried once."""
        reused = self.writer is not None
        try:
            return await self._exchange(path)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            await self.close()
            if not reused:
                raise
        return await self._exchange(path)

    async def _exchange(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise ValueError(f"not an HTTP status line: {lines[0]!r}")
        status = int(parts[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with suppress(ConnectionError, OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def _load(base_url: str, paths: tuple[str, ...], clients: int, seconds: float) -> RunResult:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        nonlocal errors
        connection = Connection(host, port)
        i = offset
        try:
            while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS_PER_RUN:
                path = paths[i % len(paths)]
                i += 1
                started = time.perf_counter()
                try:
                    status = await connection.get(path)
                except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
                    errors += 1
                    await connection.close()
                    continue
                if status != 200:
                    errors += 1
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return RunResult(len(latencies), errors, time.perf_counter() - started, latencies)


def run_load(base_url: str, paths: tuple[str, ...], clients: int, seconds: float) -> RunResult:
    return asyncio.run(_load(base_url, paths, clients, seconds))


@contextmanager
def legacy_service(db: Path) -> Iterator[str]:
    port = free_port()
    cmd = [str(BIN / "legacy-api"), "serve", "--db", str(db), "--port", str(port), "--log-level", "warning"]
    with serve(cmd, port, HEALTH, {}, timeout=120) as url:
        yield url


@contextmanager
def loaded_database(pg: PgServer, db: Path) -> Iterator[tuple[str, dict]]:
    """A throwaway database migrated by `imaging-api migrate` and loaded from the DuckDB file `db` by the
    migration's own loader: (its DSN, the loader's outcome data). Dropped on exit."""
    name = f"bench_{secrets.token_hex(4)}"
    dsn = pg.create_database(name)
    try:
        subprocess.run(
            [str(BIN / "imaging-api"), "migrate", "--verbosity", "0"],
            env={**os.environ, **service_env(dsn)},
            check=True,
        )
        started = time.perf_counter()
        # The migration's own loader (one transaction, indexes rebuilt after the COPY, counts checked, ANALYZE);
        # it raises MigrationError, naming the table, when the copy does not arrive complete.
        outcome = Outcome("load")
        load.run(outcome, db, dsn)
        summary = ", ".join(f"{kind} {rows}" for kind, rows in outcome.data["source_counts"].items())
        rebuild = outcome.data["timings"]["rebuild_indexes_constraints"]
        print(
            f"  PostgreSQL loaded in {time.perf_counter() - started:.1f}s ({summary}); "
            f"{outcome.data['rebuilt_objects']} indexes/constraints rebuilt in {rebuild:.1f}s",
            flush=True,
        )
        yield dsn, outcome.data
    finally:
        pg.drop_database(name)


def service_env(dsn: str) -> dict[str, str]:
    """The new service's settings for the throwaway database `dsn` (the command line's too)."""
    return {"IMAGING_SECRET_KEY": secrets.token_hex(32), "IMAGING_DATABASE_URL": dsn, "IMAGING_LOG_LEVEL": "WARNING"}


@contextmanager
def serve_imaging(dsn: str, workers: int, worker_class: str = "sync", threads: int = 4) -> Iterator[str]:
    """gunicorn on loopback over the database `dsn`: yields its base URL."""
    env = {
        **service_env(dsn),
        "IMAGING_WORKERS": str(workers),
        "IMAGING_WORKER_CLASS": worker_class,
        "IMAGING_THREADS": str(threads),
    }
    port = free_port()
    cmd = [str(BIN / "imaging-api"), "serve", "--bind", f"127.0.0.1:{port}"]
    with serve(cmd, port, HEALTH, env, timeout=120) as url:
        yield url


@contextmanager
def imaging_service(
    pg: PgServer, db: Path, workers: int, worker_class: str = "sync", threads: int = 4
) -> Iterator[str]:
    with loaded_database(pg, db) as (dsn, _), serve_imaging(dsn, workers, worker_class, threads) as url:
        yield url


def _fmt(result: RunResult) -> str:
    return f"{result.rps:9.1f} {result.percentile(50):8.1f} {result.percentile(99):8.1f} {result.errors:6d}"


def _merge(parts: list[RunResult]) -> RunResult:
    return RunResult(
        sum(p.requests for p in parts),
        sum(p.errors for p in parts),
        sum(p.seconds for p in parts),
        [ms for p in parts for ms in p.latencies_ms],
    )


def duckdb_file(rows: int, seed: int, workdir: Path) -> Path:
    """The synthetic data set of `rows` examinations as a DuckDB file (kept in `workdir` for later runs)."""
    db = workdir / f"bench_{rows}_{seed}.duckdb"
    if not db.exists():
        started = time.perf_counter()
        counts = synthetic.write_duckdb(db, rows=rows, seed=seed)
        print(f"  DuckDB written in {time.perf_counter() - started:.1f}s: {counts}", flush=True)
    return db


def bench_size(rows: int, args: argparse.Namespace, pg: PgServer, workdir: Path) -> list[str]:
    """Both services up at once; per endpoint, warm both, then alternate measured slices between them
    (`--rounds`), so background load on the machine falls on both alike."""
    db = duckdb_file(rows, args.seed, workdir)
    lines = []
    slice_seconds = args.duration / args.rounds
    # PostgreSQL is loaded from the DuckDB file first: the legacy server then holds DuckDB's file lock.
    new_service = imaging_service(pg, db, args.workers, args.worker_class, args.threads)
    with new_service as imaging_url, legacy_service(db) as legacy_url:
        urls = {"legacy": legacy_url, "imaging": imaging_url}
        for endpoint, mix in MIXES.items():
            for url in urls.values():
                run_load(url, mix, args.clients, args.warmup)
            parts: dict[str, list[RunResult]] = {"legacy": [], "imaging": []}
            for _ in range(args.rounds):
                for name, url in urls.items():
                    parts[name].append(run_load(url, mix, args.clients, slice_seconds))
            old, new = _merge(parts["legacy"]), _merge(parts["imaging"])
            ratio = new.rps / old.rps if old.rps else float("inf")
            line = f"{rows:>9} {endpoint:<15} | {_fmt(old)} | {_fmt(new)} | {ratio:6.2f}x"
            print(line, flush=True)
            lines.append(line)
    return lines


SEARCH_TABLES = (tables.EXAMINATIONS, tables.REPORTS)


def trigram_indexes(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of every trigram index of the searched tables."""
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::text[]::regclass[]) AND pg_get_indexdef(i.indexrelid) LIKE %s ORDER BY 1",
        [[t.postgres for t in SEARCH_TABLES], "%gin_trgm_ops%"],
    ).fetchall()
    return [(str(name), str(definition)) for name, definition in rows]


def _backend_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) of a local server process so far; None when /proc does not show it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def rebuild_trigram_indexes(conn: psycopg.Connection) -> dict[str, tuple[float, float | None]]:
    """Drop and re-create each trigram index in turn (as the loader builds them: after the data, with its
    maintenance_work_mem): (wall seconds, CPU seconds of the server process) per index. The CPU seconds
    hardly depend on other load on the machine (a GIN build is one process). ANALYZEs afterwards
    (expression indexes carry statistics)."""
    conn.execute("SELECT set_config('maintenance_work_mem', %s, false)", [load.LoadOptions().maintenance_work_mem])
    backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    seconds: dict[str, tuple[float, float | None]] = {}
    for name, definition in trigram_indexes(conn):
        conn.execute(f"DROP INDEX {name}")
        cpu, started = _backend_cpu_seconds(backend), time.perf_counter()
        conn.execute(definition)
        wall, cpu_after = time.perf_counter() - started, _backend_cpu_seconds(backend)
        seconds[name] = (wall, None if cpu is None or cpu_after is None else cpu_after - cpu)
    for table in SEARCH_TABLES:
        conn.execute(f"ANALYZE {table.postgres}")
    return seconds


def q_statements(mix: tuple[str, ...]) -> list[tuple[str, str, str, list]]:
    """(label, kind, SQL, params) of the page and the COUNT the service sends for each `q` query of `mix`."""
    from imaging_api.studies import sql  # noqa: PLC0415  (SQL text only: no Django settings needed)

    statements = []
    for path in mix:
        parts = urlsplit(path)
        params = parse_qsl(parts.query)
        if not any(name == "q" for name, _ in params):
            continue
        label = f"{parts.path.rsplit('/', 2)[-2]}?{unquote(parts.query)}"
        if parts.path.endswith("/studies/search"):
            studies = query.parse_study_query(params)
            table, order, page = tables.EXAMINATIONS, query.STUDY_ORDER, studies.page
            where = sql.study_where(studies.filters)
        else:
            reports = query.parse_report_query(params)
            table, order, page = tables.REPORTS, query.REPORT_ORDER, reports.page
            where = sql.report_where(reports.filters)
        statements.append((label, "page", *sql.page(table, where, order, page)))
        statements.append((label, "count", *sql.count(table, where)))
    return statements


def _s(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.1f} s"


def ms_percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def time_q_searches(dsn: str, runs: int) -> list[str]:
    """Every `q` statement `runs` times (after one warm-up) on one connection: a line per statement, then
    over all statements of a kind, and per request that has to count (its page + its COUNT)."""
    lines: list[str] = []
    times: dict[tuple[str, str], list[float]] = {}
    with psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        for label, kind, statement, params in q_statements(STUDY_MIX) + q_statements(REPORT_MIX):
            conn.execute(statement, params).fetchall()
            timed = times.setdefault((label, kind), [])
            for _ in range(runs):
                started = time.perf_counter()
                conn.execute(statement, params).fetchall()
                timed.append((time.perf_counter() - started) * 1000)
            lines.append(
                f"    {kind:<5} {label:<45} median {ms_percentile(timed, 50):9.1f}  p95 {ms_percentile(timed, 95):9.1f}"
            )
    for kind in ("page", "count"):
        every = [ms for (_, k), timed in times.items() if k == kind for ms in timed]
        median, p95 = ms_percentile(every, 50), ms_percentile(every, 95)
        lines.append(f"  q {kind:<5} (all statements): median {median:9.1f} ms  p95 {p95:9.1f} ms")
    labels = dict.fromkeys(label for label, _ in times)
    both = [p + c for label in labels for p, c in zip(times[label, "page"], times[label, "count"], strict=True)]
    median, p95 = ms_percentile(both, 50), ms_percentile(both, 95)
    lines.append(f"  q page + COUNT (uncached total): median {median:9.1f} ms  p95 {p95:9.1f} ms")
    return lines


def search_size(rows: int, args: argparse.Namespace, pg: PgServer, workdir: Path) -> list[str]:
    """`--search`: trigram index build seconds and q-search latency at the SQL level, for one data size."""
    db = duckdb_file(rows, args.seed, workdir)
    with loaded_database(pg, db) as (dsn, _):
        with psycopg.connect(dsn, autocommit=True) as conn:
            built = rebuild_trigram_indexes(conn)
        lines = [f"== {rows} examinations"]
        lines += [f"    build {name:<32} {wall:7.1f} s  (CPU {_s(cpu)})" for name, (wall, cpu) in built.items()]
        cpus = [cpu for _, cpu in built.values()]
        total_cpu = None if None in cpus else sum(c for c in cpus if c is not None)
        wall = sum(w for w, _ in built.values())
        lines.append(f"  trigram indexes: {len(built)} built in {wall:.1f} s (CPU {_s(total_cpu)})")
        print("\n".join(lines), flush=True)
        timed = time_q_searches(dsn, args.search_runs)
        print("\n".join(timed), flush=True)
    return lines + timed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imaging-api bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1250, 1_000_000], help="data sizes (examinations)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run (max 120)")
    parser.add_argument("--warmup", type=float, default=5.0, help="unrecorded seconds per service and endpoint")
    parser.add_argument("--rounds", type=int, default=2, help="measured slices per service, alternating (1-10)")
    parser.add_argument("--clients", type=int, default=100, help="concurrent clients (max 500)")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1, help="gunicorn workers")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="gthread", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path, help="keep generated DuckDB files here (default: a temp dir)")
    parser.add_argument("--search", action="store_true", help="only q search: index build seconds, SQL latency")
    parser.add_argument("--search-runs", type=int, default=20, help="timed runs per q statement (1-1000)")
    parser.add_argument("--counts", action="store_true", help="only counting: /statistics plans, first requests")
    parser.add_argument("--count-runs", type=int, default=5, help="timed runs per /statistics plan (1-100)")
    parser.add_argument("--burst", type=int, default=20, help="first requests at once after a new version (1-200)")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 120 or not 0 < args.clients <= 500 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be in (0, 120], --clients in (0, 500], --warmup in [0, 60]")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be in [1, 10]")
    if not 1 <= args.search_runs <= 1000:
        parser.error("--search-runs must be in [1, 1000]")
    if not 1 <= args.count_runs <= 100 or not 1 <= args.burst <= 200:
        parser.error("--count-runs must be in [1, 100], --burst in [1, 200]")
    if args.search:
        return search_main(args)
    if args.counts:
        from imaging_api import bench_counts  # noqa: PLC0415  (imports this module)

        return bench_counts.counts_main(args)
    header = (
        f"{'rows':>9} {'endpoint':<15} | {'legacy':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} | "
        f"{'imaging':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} | {'ratio':>7}"
    )
    table: list[str] = []
    with tempfile.TemporaryDirectory(prefix="imaging-bench-") as tmp, running_postgres(PG_SETTINGS) as pg:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for rows in args.rows:
            print(f"== {rows} examinations, {args.clients} clients, {args.duration:.0f}s per service", flush=True)
            table += bench_size(rows, args, pg, workdir)
    print(
        f"\nrequests/s, p50 and p99 latency; {args.clients} clients, {args.duration:.0f}s per service and endpoint "
        f"in {args.rounds} alternating slices\n{header}"
    )
    print("\n".join(table))
    return 0


def search_main(args: argparse.Namespace) -> int:
    table: list[str] = []
    with tempfile.TemporaryDirectory(prefix="imaging-bench-") as tmp, running_postgres(PG_SETTINGS) as pg:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for rows in args.rows:
            print(f"== {rows} examinations: q search, {args.search_runs} runs per statement", flush=True)
            table += search_size(rows, args, pg, workdir)
    print(f"\nq search at the SQL level (ms per statement, one connection, {args.search_runs} runs each)")
    print("\n".join(table))
    return 0
