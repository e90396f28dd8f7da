"""Fixtures: a throwaway PostgreSQL cluster, target databases made by the real Django migrations, and
legacy-shaped DuckDB snapshots written by the contract's synthetic generator, and a running legacy service."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from mig_helpers import LEGACY_API, LEGACY_TOKEN, new_target
from radiology_contract import synthetic
from radiology_migration import bench
from radiology_testkit.ports import free_port
from radiology_testkit.postgres import PgServer, running_postgres
from radiology_testkit.servers import serve

TEMPLATE_DB = "migration_template"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def schema_template(pg_server: PgServer) -> str:
    """A database holding the schema of the imaging_api Django migrations, used as a template."""
    assert bench.django_available(), "imaging_api must be installed: the tests run against its real migrations"
    bench.django_migrate(pg_server.create_database(TEMPLATE_DB))
    return TEMPLATE_DB


@pytest.fixture
def target_dsn(pg_server: PgServer, schema_template: str) -> str:
    """An empty target database with the Django schema."""
    return new_target(pg_server, schema_template)


@pytest.fixture(scope="session")
def base_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "legacy.duckdb"
    synthetic.write_duckdb(path, rows=1250)
    return path


@pytest.fixture
def snapshot(base_snapshot: Path, tmp_path: Path) -> Path:
    """A private copy of the 1,250-examination legacy database that a test may change."""
    copy = tmp_path / "snapshot.duckdb"
    shutil.copyfile(base_snapshot, copy)
    return copy


@pytest.fixture
def legacy_db(base_snapshot: Path, tmp_path: Path) -> Path:
    """The legacy service's database: a private copy of the 1,250-examination snapshot."""
    db = tmp_path / "legacy" / "medical_imaging.duckdb"
    db.parent.mkdir()
    shutil.copyfile(base_snapshot, db)
    return db


@pytest.fixture
def legacy_url(legacy_db: Path) -> Iterator[str]:
    """A running `legacy-api serve` on `legacy_db`, its admin token LEGACY_TOKEN."""
    port = free_port()
    cmd = [LEGACY_API, "serve", "--db", str(legacy_db), "--port", str(port)]
    with serve(cmd, port, "/api/v1/health", {"LEGACY_ADMIN_TOKEN": LEGACY_TOKEN}) as url:
        yield url
