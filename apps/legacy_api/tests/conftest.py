from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from legacy_api.app import create_app
from legacy_api.settings import Settings
from radiology_contract import synthetic

ROWS = 300
SEED = 7
BASE_URL = "http://localhost"  # a Host the service answers for by default (LEGACY_ALLOWED_HOSTS)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "seeded.duckdb"
    synthetic.write_duckdb(path, rows=ROWS, seed=SEED)
    return path


@pytest.fixture
def seeded_db(seeded_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "medical_imaging.duckdb"
    shutil.copy(seeded_template, path)
    return path


@pytest.fixture
def client(seeded_db: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LEGACY_ADMIN_TOKEN", "s3cret")
    monkeypatch.setenv("LEGACY_CORS_ORIGINS", "http://localhost:3000")
    app = create_app(Settings.from_env(seeded_db))
    with TestClient(app, base_url=BASE_URL, client=("127.0.0.1", 50000)) as c:
        yield c
    app.state.service.con.close()
