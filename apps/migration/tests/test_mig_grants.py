"""The load keeps the runtime role's grants: it TRUNCATEs the tables and rebuilds indexes and constraints, but
never drops, recreates or swaps a table, so `imaging-api grant_runtime` needs no re-run after a load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
from mig_helpers import migrate, pg_execute
from psycopg import sql
from radiology_contract.tables import TABLES

RUNTIME = "mig_runtime_web"
PASSWORD = "runtime-password-1234"
TABLE_OIDS = (
    "SELECT relname, oid FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1"
)


def grant_runtime(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "imaging_api.settings",
        "IMAGING_SECRET_KEY": "test-only-secret-key-0123456789-0123456789-0123456789",
        "IMAGING_DATABASE_URL": "",
        "IMAGING_DB_HOST": str(info["host"]),
        "IMAGING_DB_PORT": str(info["port"]),
        "IMAGING_DB_NAME": str(info["dbname"]),
        "IMAGING_DB_USER": str(info["user"]),
        "IMAGING_DB_PASSWORD": str(info["password"]),
    }
    return subprocess.run(
        [sys.executable, "-m", "django", "grant_runtime", *args], env=env, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip


def test_a_load_keeps_the_runtime_grants(snapshot: Path, target_dsn: str) -> None:
    with psycopg.connect(target_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(RUNTIME)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(RUNTIME), sql.Literal(PASSWORD)))
    try:
        granted = grant_runtime(target_dsn, RUNTIME)
        assert granted.returncode == 0, granted.stderr
        assert granted.stdout.strip().splitlines()[-1] == "grant_runtime: changed"
        tables_before = pg_execute(target_dsn, TABLE_OIDS)
        code, doc = migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)
        assert code == 0, doc["error"]
        assert pg_execute(target_dsn, TABLE_OIDS) == tables_before  # the same tables, not new ones
        check = grant_runtime(target_dsn, RUNTIME, "--check")
        assert (check.returncode, check.stdout.strip().splitlines()[-1]) == (0, "grant_runtime: ok"), check.stdout
        runtime_dsn = psycopg.conninfo.make_conninfo(target_dsn, user=RUNTIME, password=PASSWORD)
        with psycopg.connect(runtime_dsn) as conn:
            for table in TABLES:
                loaded = conn.execute(f"SELECT count(*) FROM {table.postgres}").fetchone()[0]
                assert loaded == doc["target_counts_after"][table.kind], table.kind
    finally:
        with psycopg.connect(target_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(RUNTIME)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(RUNTIME)))
