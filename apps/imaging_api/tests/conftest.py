"""Fixtures: one throwaway PostgreSQL cluster per session, the 1,250-row synthetic workbook, and both
services (the new one under gunicorn, the legacy one under uvicorn) loaded from that same workbook."""

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from radiology_contract import synthetic
from radiology_testkit.postgres import PgServer, running_postgres
from radiology_testkit.servers import free_port, serve

BIN = Path(sys.executable).parent
IMAGING = str(BIN / "imaging-api")
LEGACY = str(BIN / "legacy-api")
HEALTH = "/api/v1/health"


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    with running_postgres() as server:
        yield server


def service_env(pg: PgServer, dbname: str, **extra: str) -> dict[str, str]:
    """The environment the new service needs to use `dbname` on the throwaway cluster."""
    return {
        "IMAGING_SECRET_KEY": secrets.token_hex(32),
        "IMAGING_DB_HOST": pg.host,
        "IMAGING_DB_PORT": str(pg.port),
        "IMAGING_DB_NAME": dbname,
        "IMAGING_DB_USER": pg.superuser,
        "IMAGING_DB_PASSWORD": pg.password,
        "IMAGING_WORKERS": "2",
        **extra,
    }


def imaging(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [IMAGING, *args], env={**os.environ, **env}, capture_output=True, text=True, check=False, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(f"imaging-api {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def migrated_database(pg: PgServer, dbname: str) -> dict[str, str]:
    pg.create_database(dbname)
    env = service_env(pg, dbname)
    imaging(["migrate", "--verbosity", "0"], env)
    return env


@pytest.fixture(scope="session")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "radiology.xlsx"
    synthetic.write_xlsx(path, rows=synthetic.DEFAULT_ROWS)
    return path


@pytest.fixture(scope="session")
def imaging_env(pg: PgServer, workbook: Path) -> dict[str, str]:
    """A migrated database loaded with the workbook through `import_excel`."""
    env = migrated_database(pg, "imaging_main")
    imaging(["import_excel", str(workbook)], env)
    return env


@pytest.fixture(scope="session")
def freeze_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the served new service looks for its write-freeze marker (absent: writes allowed)."""
    return tmp_path_factory.mktemp("freeze") / "imaging.freeze"


@contextmanager
def imaging_server(env: dict[str, str], freeze_file: Path) -> Iterator[str]:
    """The new service under gunicorn on a free loopback port, over the database of `env`."""
    port = free_port()
    env = {**env, "IMAGING_FREEZE_FILE": str(freeze_file), "IMAGING_LOG_LEVEL": "WARNING"}
    with serve([IMAGING, "serve", "--bind", f"127.0.0.1:{port}"], port, HEALTH, env, timeout=60) as url:
        yield url


@pytest.fixture(scope="session")
def imaging_url(imaging_env: dict[str, str], freeze_file: Path) -> Iterator[str]:
    with imaging_server(imaging_env, freeze_file) as url:
        yield url


def legacy(args: list[str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([LEGACY, *args], capture_output=True, text=True, check=False, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"legacy-api {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def legacy_db(workbook: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file loaded with the workbook through `legacy-api import`."""
    db = tmp_path_factory.mktemp("legacy") / "medical_imaging.duckdb"
    legacy(["import", "--db", str(db), str(workbook)])
    return db


@contextmanager
def legacy_server(db: Path) -> Iterator[str]:
    """The legacy service under uvicorn on a free loopback port, over the DuckDB file `db`."""
    port = free_port()
    cmd = [LEGACY, "serve", "--db", str(db), "--port", str(port), "--log-level", "warning"]
    with serve(cmd, port, HEALTH, {}, timeout=60) as url:
        yield url


@pytest.fixture(scope="session")
def legacy_url(legacy_db: Path) -> Iterator[str]:
    with legacy_server(legacy_db) as url:
        yield url
