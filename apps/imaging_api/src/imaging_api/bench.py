"""`imaging-api bench`: the legacy and the new service under the same load, side by side.

For each data size the same synthetic data set is written to a DuckDB file (served by `legacy-api serve`,
uvicorn) and copied into a throwaway PostgreSQL (served by gunicorn with imaging_api.gunicorn_conf). A
bounded asyncio HTTP/1.1 load generator (keep-alive where the server allows it) runs C concurrent clients
against one endpoint of one service at a time, cycling through a fixed mix of queries: after an
unrecorded warm-up, D seconds per service in alternating slices (so other load on the machine hits both
alike). Requests in flight when a slice ends are waited for and counted. It prints requests/s, p50 and
p99 and the new/legacy ratio.

    imaging-api bench --rows 1250 1000000 --duration 20 --clients 100
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
from urllib.parse import quote, urlsplit

from radiology_contract import synthetic
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


class _Connection:
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
        connection = _Connection(host, port)
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
def imaging_service(
    pg: PgServer, db: Path, workers: int, worker_class: str = "sync", threads: int = 4
) -> Iterator[str]:
    name = f"bench_{secrets.token_hex(4)}"
    dsn = pg.create_database(name)
    env = {
        "IMAGING_SECRET_KEY": secrets.token_hex(32),
        "IMAGING_DATABASE_URL": dsn,
        "IMAGING_WORKERS": str(workers),
        "IMAGING_WORKER_CLASS": worker_class,
        "IMAGING_THREADS": str(threads),
        "IMAGING_LOG_LEVEL": "WARNING",
    }
    subprocess.run([str(BIN / "imaging-api"), "migrate", "--verbosity", "0"], env={**os.environ, **env}, check=True)
    started = time.perf_counter()
    # The migration's own loader (one transaction, indexes rebuilt after the COPY, counts checked, ANALYZE);
    # it raises MigrationError, naming the table, when the copy does not arrive complete.
    outcome = Outcome("load")
    load.run(outcome, db, dsn)
    summary = ", ".join(f"{kind} {rows}" for kind, rows in outcome.data["source_counts"].items())
    print(f"  PostgreSQL loaded in {time.perf_counter() - started:.1f}s ({summary})", flush=True)
    port = free_port()
    cmd = [str(BIN / "imaging-api"), "serve", "--bind", f"127.0.0.1:{port}"]
    try:
        with serve(cmd, port, HEALTH, env, timeout=120) as url:
            yield url
    finally:
        pg.drop_database(name)


def _fmt(result: RunResult) -> str:
    return f"{result.rps:9.1f} {result.percentile(50):8.1f} {result.percentile(99):8.1f} {result.errors:6d}"


def _merge(parts: list[RunResult]) -> RunResult:
    return RunResult(
        sum(p.requests for p in parts),
        sum(p.errors for p in parts),
        sum(p.seconds for p in parts),
        [ms for p in parts for ms in p.latencies_ms],
    )


def bench_size(rows: int, args: argparse.Namespace, pg: PgServer, workdir: Path) -> list[str]:
    """Both services up at once; per endpoint, warm both, then alternate measured slices between them
    (`--rounds`), so background load on the machine falls on both alike."""
    db = workdir / f"bench_{rows}.duckdb"
    if not db.exists():
        started = time.perf_counter()
        counts = synthetic.write_duckdb(db, rows=rows, seed=args.seed)
        print(f"  DuckDB written in {time.perf_counter() - started:.1f}s: {counts}", flush=True)
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
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 120 or not 0 < args.clients <= 500 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be in (0, 120], --clients in (0, 500], --warmup in [0, 60]")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be in [1, 10]")
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
