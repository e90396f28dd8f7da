"""`bench`: N examinations migrated and verified, next to the same load by DuckDB's postgres extension.

Prints rows/s of `load` (COPY in one transaction, index rebuild included) and `verify` (all three gates), and
the DuckDB extension's `INSERT INTO pg.table SELECT ... FROM duck.table` into (a) the same schema with its
indexes and constraints and (b) bare tables without indexes (raw transfer), all in the same run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from radiology_contract.tables import TABLES

from . import bench_delta, load, pgext, sample, verify
from .normalise import quote_ident
from .outcome import MigrationError, Outcome


def django_migrate(dsn: str) -> None:
    """Create the target schema with the imaging_api Django migrations."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "imaging_api.settings",
        "IMAGING_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "IMAGING_DB_HOST": str(info.get("host", "127.0.0.1")),
        "IMAGING_DB_PORT": str(info.get("port", "5432")),
        "IMAGING_DB_NAME": str(info.get("dbname", "")),
        "IMAGING_DB_USER": str(info.get("user", "")),
        "IMAGING_DB_PASSWORD": str(info.get("password", "")),
        "IMAGING_ALLOWED_HOSTS": "127.0.0.1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise MigrationError(f"Django migrations failed on {info.get('dbname')}: {result.stderr.strip()[-2000:]}")


def django_available() -> bool:
    try:
        import imaging_api  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def create_schema(dsn: str) -> str:
    if django_available():
        django_migrate(dsn)
        return "imaging_api Django migrations"
    with psycopg.connect(dsn, autocommit=True) as conn:
        sample.create_postgres_tables(conn)
    return "contract tables (imaging_api not installed)"


@contextlib.contextmanager
def _server(dsn: str | None) -> Iterator[Any]:
    if dsn:
        yield None
        return
    from radiology_testkit.postgres import running_postgres  # noqa: PLC0415 - only when no --dsn is given

    with running_postgres({"shared_buffers": "512MB", "max_wal_size": "4GB", "checkpoint_timeout": "30min"}) as server:
        yield server


def _database(server: Any, dsn: str | None, name: str) -> str:
    """A fresh database `name` on the throwaway cluster, or on the server of --dsn (dropped first)."""
    if server is not None:
        return str(server.create_database(name))
    assert dsn is not None
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {quote_ident(name)}")
    return psycopg.conninfo.make_conninfo(dsn, dbname=name)


def generate(path: Path, rows: int) -> tuple[dict[str, int], str]:
    """The legacy's own synthetic generator and schema when installed, else this package's sample generator."""
    try:
        from radiology_contract import synthetic  # noqa: PLC0415 - written by the legacy service's package
    except ImportError:
        return sample.make_duckdb(path, rows), "radiology_migration.sample"
    synthetic.write_duckdb(path, rows=rows)
    con = duckdb.connect(str(path), read_only=True)
    try:
        counts = {
            t.kind: int(con.execute(f"SELECT count(*) FROM {quote_ident(t.duckdb)}").fetchone()[0]) for t in TABLES
        }  # type: ignore[index]
    finally:
        con.close()
    return counts, "radiology_contract.synthetic"


def extension_load(snapshot: Path, dsn: str, workdir: Path) -> float:
    con = duckdb.connect()
    try:
        pgext.load(con, workdir)
        con.execute(f"ATTACH '{snapshot}' AS duck (READ_ONLY)")
        con.execute("ATTACH '" + dsn.replace("'", "''") + "' AS pg (TYPE postgres)")
        started = time.perf_counter()
        con.execute("BEGIN")
        for t in TABLES:
            cols = ", ".join(quote_ident(c) for c in t.columns)
            con.execute(
                f"INSERT INTO pg.{quote_ident(t.postgres)} ({cols}) SELECT {cols} FROM duck.{quote_ident(t.duckdb)}"
            )
        con.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        con.close()


def run(
    outcome: Outcome,
    rows: int,
    workdir: Path | None,
    dsn: str | None,
    keep: bool,
    *,
    delta_rows: int = 0,
    extension: bool = True,
) -> None:
    own_dir = workdir is None
    work = Path(tempfile.mkdtemp(prefix="radiology-bench-")) if workdir is None else workdir
    work.mkdir(parents=True, exist_ok=True)
    snapshot = work / f"bench-{rows}.duckdb"
    second = work / f"bench-{rows}-delta.duckdb"
    try:
        for leftover in (snapshot, second):
            leftover.unlink(missing_ok=True)
        t0 = time.perf_counter()
        counts, generator = generate(snapshot, rows)
        gen = time.perf_counter() - t0
        total_rows = sum(counts.values())
        outcome.say(
            f"generated {snapshot} with {generator} in {gen:.1f}s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
        with _server(dsn) as server:
            target = _database(server, dsn, "bench_target")
            schema = create_schema(target)
            outcome.say(f"target schema: {schema}")

            lo = Outcome("load")
            load.run(lo, snapshot, target, load.LoadOptions())
            if not lo.ok:
                raise MigrationError(f"load failed: {lo.error}")
            load_s = float(lo.data["seconds"])
            vo = Outcome("verify")
            verify.run(vo, snapshot, target)
            if not vo.ok:
                raise MigrationError(f"verify failed: {vo.error}")
            verify_s = float(vo.data["seconds"])
            delta_figures = bench_delta.run(snapshot, second, target, delta_rows) if delta_rows > 0 else {}

            ext_same_s = ext_bare_s = 0.0
            if extension:
                ext_same = _database(server, dsn, "bench_ext_schema")
                create_schema(ext_same)
                ext_same_s = extension_load(snapshot, ext_same, work)
                ext_bare = _database(server, dsn, "bench_ext_bare")
                bare_tables(target, ext_bare)
                ext_bare_s = extension_load(snapshot, ext_bare, work)
        figures: dict[str, Any] = {
            "rows": total_rows,
            "counts": counts,
            "generator": generator,
            "schema": schema,
            "load_seconds": round(load_s, 3),
            "load_rows_per_second": round(total_rows / load_s),
            "load_timings": lo.data.get("timings"),
            "verify_seconds": round(verify_s, 3),
            "verify_rows_per_second": round(total_rows / verify_s),
            **delta_figures,
        }
        if extension:
            figures.update(
                {
                    "extension_same_schema_seconds": round(ext_same_s, 3),
                    "extension_same_schema_rows_per_second": round(total_rows / ext_same_s),
                    "extension_bare_tables_seconds": round(ext_bare_s, 3),
                    "extension_bare_tables_rows_per_second": round(total_rows / ext_bare_s),
                    "ratio_vs_extension_same_schema": round(ext_same_s / load_s, 2),
                    "ratio_vs_extension_bare_tables": round(ext_bare_s / load_s, 2),
                }
            )
        outcome.data.update(figures)
        outcome.say(f"load   (radiology-migrate)        {load_s:7.2f}s  {total_rows / load_s:>12,.0f} rows/s")
        outcome.say(f"  load phases: {lo.data.get('timings')}")
        outcome.say(f"verify (counts, keys, checksums)  {verify_s:7.2f}s  {total_rows / verify_s:>12,.0f} rows/s")
        if delta_figures:
            applied, delta_s = delta_figures["delta_rows_applied"], float(delta_figures["delta_seconds"])
            outcome.say(
                f"delta  (load --since, {applied:,} rows) {delta_s:7.2f}s  {applied / delta_s:>12,.0f} rows/s "
                f"({total_rows / delta_s:,.0f} snapshot rows/s; {load_s / delta_s:.1f}x faster than the full load)"
            )
            outcome.say(f"  delta phases: {delta_figures['delta_timings']}")
            outcome.say(f"verify after the delta            {float(delta_figures['verify_after_delta_seconds']):7.2f}s")
        if extension:
            outcome.say(f"extension, same schema   {ext_same_s:7.2f}s  {total_rows / ext_same_s:>12,.0f} rows/s")
            outcome.say(f"extension, bare tables   {ext_bare_s:7.2f}s  {total_rows / ext_bare_s:>12,.0f} rows/s")
            outcome.say(
                f"ratio load vs extension: {figures['ratio_vs_extension_same_schema']:.2f}x (same schema), "
                f"{figures['ratio_vs_extension_bare_tables']:.2f}x (bare tables)"
            )
    finally:
        if not keep:
            for made in (snapshot, second):
                made.unlink(missing_ok=True)
                Path(f"{made}.meta.json").unlink(missing_ok=True)
            if own_dir:
                for p in work.iterdir():
                    p.unlink()
                work.rmdir()


def bare_tables(source_dsn: str, dest_dsn: str) -> None:
    """Tables in `dest_dsn` with the column types of the migrated schema but no index, key or constraint."""
    with psycopg.connect(source_dsn) as src, psycopg.connect(dest_dsn, autocommit=True) as dst:
        for t in TABLES:
            cols = src.execute(
                "SELECT column_name, format_type(a.atttypid, a.atttypmod) FROM information_schema.columns c "
                "JOIN pg_attribute a ON a.attrelid = quote_ident(c.table_name)::regclass AND a.attname = c.column_name "
                "WHERE c.table_schema = current_schema() AND c.table_name = %s ORDER BY c.ordinal_position",
                [t.postgres],
            ).fetchall()
            body = ", ".join(f"{quote_ident(n)} {typ}" for n, typ in cols if n in t.columns)
            dst.execute(f"CREATE TABLE {quote_ident(t.postgres)} ({body})")
