"""Browser end-to-end on this machine, in real Chromium, through a whole cutover: before → after → rollback.

before:   e2e/local.sh generates 1,250 examinations as .xlsx, imports them into DuckDB, serves the legacy
          service, builds the frontend against it, serves the build statically and runs e2e/run.mjs (every
          page with data, backend "legacy") and e2e/states.mjs (write freeze, validation error, not found).
after:    the same workbook goes through `imaging-api migrate` + `import_excel` into a throwaway PostgreSQL;
          the new service runs under gunicorn, a second build points at it and run.mjs expects "imaging".
rollback: the legacy service is served again from the same DuckDB file, a build points at it and run.mjs
          expects "legacy" once more.
https:    the legacy service and a build on one origin behind an HTTPS front door with HTTP Basic login, as the
          site's nginx serves them: run.mjs passes with the throwaway CA in RADIOLOGY_WEB_CA_FILE and the login in
          RADIOLOGY_WEB_CREDENTIALS_FILE, and fails without the CA (the certificate is verified) and with a wrong
          password (401).

Screenshots (`<label>-<page>.png`) and the JSON reports stay in apps/frontend/e2e-artifacts/local/.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from https_front import https_front
from radiology_testkit.postgres import running_postgres
from radiology_testkit.servers import free_port, serve
from radiology_testkit.tls import make_pki

FRONTEND = Path(__file__).resolve().parent.parent
SCREENSHOTS = FRONTEND / "e2e-artifacts" / "local"
BIN = Path(sys.executable).parent
IMAGING = str(BIN / "imaging-api")
LEGACY = str(BIN / "legacy-api")
HEALTH = "/api/v1/health"
PAGES = ("studies", "studies-filtered", "reports", "study-reports", "statistics", "tasks", "task", "task-deleted")
STATES = ("writes-frozen-create", "writes-frozen-delete", "invalid-filter", "not-found")
LABELS = ("before", "after", "rollback", "https")
CA_FILE_ENV = "RADIOLOGY_WEB_CA_FILE"
CREDENTIALS_FILE_ENV = "RADIOLOGY_WEB_CREDENTIALS_FILE"
ROWS = 1250
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _run(cmd: list[str], env: dict[str, str], what: str, timeout: int) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, check=False, cwd=FRONTEND, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, f"{what} failed ({result.returncode}):\n{(result.stdout + result.stderr)[-6000:]}"
    return result


def _build(api_base: str, out_dir: Path, label: str, env: dict[str, str]) -> None:
    """A production build of the frontend talking to `api_base`, written to `out_dir`."""
    vite = str(FRONTEND / "node_modules" / ".bin" / "vite")
    build_env = {**env, "REACT_APP_API_BASE": api_base, "REACT_APP_BUILD_ID": f"e2e-local-{label}"}
    _run([vite, "build", "--outDir", str(out_dir), "--logLevel", "warn"], build_env, f"vite build ({label})", 120)
    info = json.loads((out_dir / "build-info.json").read_text(encoding="utf-8"))
    assert info["api_base"] == api_base, info


@contextmanager
def _static(out_dir: Path, port: int) -> Iterator[str]:
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(out_dir)]
    with serve(cmd, port, "/build-info.json", {}, timeout=30) as url:
        yield url + "/"


def _browser_checks(url: str, backend: str, label: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = ["node", str(FRONTEND / "e2e" / "run.mjs"), "--url", url, "--expect-backend", backend]
    cmd += ["--label", label, "--screenshots", str(SCREENSHOTS)]
    return _run(cmd, env, f"e2e/run.mjs --label {label}", 180)


def _browser_fails(url: str, label: str, env: dict[str, str], shots: Path) -> str:
    """A read-only run.mjs that must fail; its whole output."""
    cmd = ["node", str(FRONTEND / "e2e" / "run.mjs"), "--url", url, "--expect-backend", "legacy", "--read-only"]
    cmd += ["--label", label, "--screenshots", str(shots), "--timeout", "5000"]
    result = subprocess.run(cmd, check=False, cwd=FRONTEND, capture_output=True, text=True, timeout=120, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, f"run.mjs --label {label} should fail, exit {result.returncode}:\n{output[-3000:]}"
    return output


def _check_run(result: subprocess.CompletedProcess[str], label: str, backend: str) -> None:
    """run.mjs passed every page on `backend` with the full data set and left one real PNG per page."""
    assert f"{len(PAGES)} passed, 0 failed" in result.stdout, result.stdout[-3000:]
    report = json.loads((SCREENSHOTS / f"{label}-report.json").read_text(encoding="utf-8"))
    assert report["passed"] is True
    assert report["label"] == label
    assert report["expected_backend"] == backend
    assert report["problems"] == []
    assert [p["page"] for p in report["pages"]] == list(PAGES)
    studies = report["pages"][0]["facts"]
    assert studies["total"] == ROWS, studies
    assert studies["rows"] == 20, studies
    assert all(p["facts"]["backend"] == backend for p in report["pages"])
    _check_screenshots([f"{label}-{p}" for p in PAGES])


def _check_screenshots(names: list[str]) -> None:
    for name in names:
        shot = SCREENSHOTS / f"{name}.png"
        assert shot.is_file(), f"missing screenshot {shot}"
        data = shot.read_bytes()
        assert data.startswith(PNG_SIGNATURE), shot
        assert len(data) > 20_000, f"{shot} is suspiciously small ({len(data)} bytes)"


@pytest.fixture(scope="module")
def browser_env(node_modules: Path, node_env: dict[str, str]) -> dict[str, str]:
    return node_env


@pytest.fixture(scope="module")
def before_run(
    browser_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """e2e/local.sh against the legacy service (label "before"); its work directory is kept for the next steps."""
    for label in LABELS:
        for old in SCREENSHOTS.glob(f"{label}-*"):
            old.unlink()
    work = tmp_path_factory.mktemp("e2e") / "work"
    env = {
        **browser_env,
        "E2E_SCREENSHOTS": str(SCREENSHOTS),
        "E2E_LABEL": "before",
        "E2E_WORK": str(work),
        "E2E_ROWS": str(ROWS),
        "E2E_SKIP_NPM_CI": "1",  # the node_modules fixture ran npm ci when needed
    }
    result = _run(["bash", str(FRONTEND / "e2e" / "local.sh")], env, "e2e/local.sh", 300)
    return result, work


def test_before_every_page_shows_legacy_data(before_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, work = before_run
    _check_run(result, "before", "legacy")
    assert f"{len(STATES)} passed, 0 failed" in result.stdout
    _check_screenshots([f"before-states-{s}" for s in STATES])
    assert not list(SCREENSHOTS.glob("before*FAILED*.png"))
    assert not (work / "medical_imaging.duckdb.freeze").exists(), "writes were left frozen"
    assert os.access(FRONTEND / "e2e" / "local.sh", os.X_OK)


def test_after_every_page_shows_imaging_data(
    before_run: tuple[subprocess.CompletedProcess[str], Path], browser_env: dict[str, str], tmp_path: Path
) -> None:
    """The new service loaded from the same workbook, behind a build of its own."""
    workbook = before_run[1] / "examinations.xlsx"
    assert workbook.is_file(), f"local.sh left no workbook at {workbook}"
    api_port, static_port = free_port(), free_port()
    while static_port == api_port:
        static_port = free_port()
    with ExitStack() as stack:
        pg = stack.enter_context(running_postgres())
        pg.create_database("imaging_e2e")
        env = {
            **browser_env,
            "IMAGING_SECRET_KEY": secrets.token_hex(32),
            "IMAGING_DB_HOST": pg.host,
            "IMAGING_DB_PORT": str(pg.port),
            "IMAGING_DB_NAME": "imaging_e2e",
            "IMAGING_DB_USER": pg.superuser,
            "IMAGING_DB_PASSWORD": pg.password,
            "IMAGING_CORS_ORIGINS": f"http://127.0.0.1:{static_port}",
            "IMAGING_WORKERS": "2",
            "IMAGING_LOG_LEVEL": "WARNING",
        }
        _run([IMAGING, "migrate", "--verbosity", "0"], env, "imaging-api migrate", 180)
        _run([IMAGING, "import_excel", str(workbook)], env, "imaging-api import_excel", 180)
        cmd = [IMAGING, "serve", "--bind", f"127.0.0.1:{api_port}"]
        api = stack.enter_context(serve(cmd, api_port, HEALTH, env, timeout=60))
        _build(f"{api}/api/v1", tmp_path / "dist-imaging", "after", browser_env)
        url = stack.enter_context(_static(tmp_path / "dist-imaging", static_port))
        result = _browser_checks(url, "imaging", "after", browser_env)
    _check_run(result, "after", "imaging")
    assert not list(SCREENSHOTS.glob("after*FAILED*.png"))


def test_rollback_every_page_shows_legacy_data_again(
    before_run: tuple[subprocess.CompletedProcess[str], Path], browser_env: dict[str, str], tmp_path: Path
) -> None:
    """The legacy service again, on the DuckDB file the "before" run used, behind a legacy build."""
    db = before_run[1] / "medical_imaging.duckdb"
    assert db.is_file(), f"local.sh left no DuckDB file at {db}"
    api_port, static_port = free_port(), free_port()
    while static_port == api_port:
        static_port = free_port()
    env = {"LEGACY_CORS_ORIGINS": f"http://127.0.0.1:{static_port}"}
    cmd = [LEGACY, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(api_port), "--log-level", "warning"]
    with serve(cmd, api_port, HEALTH, env, timeout=60) as api:
        _build(f"{api}/api/v1", tmp_path / "dist-legacy", "rollback", browser_env)
        with _static(tmp_path / "dist-legacy", static_port) as url:
            result = _browser_checks(url, "legacy", "rollback", browser_env)
    _check_run(result, "rollback", "legacy")
    assert not list(SCREENSHOTS.glob("rollback*FAILED*.png"))


def _secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.touch(mode=0o600)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_https_with_basic_login_verifies_the_certificate(
    before_run: tuple[subprocess.CompletedProcess[str], Path], browser_env: dict[str, str], tmp_path: Path
) -> None:
    """Through TLS from a throwaway CA and Basic login on every request: passes with the CA and the login, fails
    without the CA (certificate error: verification is on) and with a wrong password (401)."""
    db = before_run[1] / "medical_imaging.duckdb"
    assert db.is_file(), f"local.sh left no DuckDB file at {db}"
    pki = make_pki(tmp_path / "pki")
    user, password, wrong = "e2e-viewer", secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    login = _secret_file(tmp_path / "web-login", f"{user}:{password}\n")
    api_port, static_port = free_port(), free_port()
    while static_port == api_port:
        static_port = free_port()
    env = {**browser_env, CA_FILE_ENV: str(pki.ca_file), CREDENTIALS_FILE_ENV: str(login)}
    # One origin for pages and API, as behind nginx: no CORS, the login covers both.
    cmd = [LEGACY, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(api_port), "--log-level", "warning"]
    with ExitStack() as stack:
        api = stack.enter_context(serve(cmd, api_port, HEALTH, {}, timeout=60))
        _build("/api/v1", tmp_path / "dist-https", "https", browser_env)
        static = stack.enter_context(_static(tmp_path / "dist-https", static_port))
        front = stack.enter_context(https_front(pki, (user, password), static, api))

        result = _browser_checks(front.url, "legacy", "https", env)
        passed = list(front.forwarded)

        del front.forwarded[:]
        no_ca = {k: v for k, v in env.items() if k != CA_FILE_ENV}
        untrusted = _browser_fails(front.url, "https-untrusted", no_ca, tmp_path)
        assert front.forwarded == [], "a browser that does not trust the certificate got answers"

        refused_before = len(front.refused)
        bad_login = _secret_file(tmp_path / "wrong-login", f"{user}:{wrong}\n")
        refused = _browser_fails(front.url, "https-refused", {**env, CREDENTIALS_FILE_ENV: str(bad_login)}, tmp_path)
        assert front.forwarded == [], "a wrong password got answers"
        assert len(front.refused) > refused_before

    _check_run(result, "https", "legacy")
    assert not list(SCREENSHOTS.glob("https*FAILED*.png"))
    # Page, assets, reads and writes all went through the login.
    assert any(p.startswith("GET /assets/") and p.endswith(".js") for p in passed), passed
    for call in ("GET /api/v1/studies/search", "GET /api/v1/health", "POST /api/v1/analysis/tasks", "DELETE /api/v1/"):
        assert any(p.startswith(call) for p in passed), f"no {call} through the front door: {passed}"
    assert front.refused, "the front door never asked for the login"

    assert "net::ERR_CERT_AUTHORITY_INVALID" in untrusted, untrusted[-3000:]
    assert "HTTP 401" in refused, refused[-3000:]
    assert "login refused" in refused, refused[-3000:]
    for output in (result.stdout + result.stderr, untrusted, refused):
        assert password not in output
        assert wrong not in output


def test_credentials_file_open_to_others_is_refused(browser_env: dict[str, str], tmp_path: Path) -> None:
    """A login file that group or others may read is refused before any browser starts, naming it, not its content."""
    secret = secrets.token_urlsafe(18)
    login = _secret_file(tmp_path / "web-login", f"viewer:{secret}\n", mode=0o640)
    env = {**browser_env, CREDENTIALS_FILE_ENV: str(login)}
    output = _browser_fails("https://127.0.0.1:9/", "https-mode", env, tmp_path)
    assert f"{CREDENTIALS_FILE_ENV}={login}" in output, output
    assert f"chmod 600 {login}" in output, output
    assert secret not in output


def test_missing_certutil_is_named(browser_env: dict[str, str], tmp_path: Path) -> None:
    """With a CA file but no certutil on PATH, the run stops and says which command is missing."""
    pki = make_pki(tmp_path / "pki")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    node = shutil.which("node")
    assert node is not None
    cmd = [node, str(FRONTEND / "e2e" / "run.mjs"), "--url", "https://127.0.0.1:9/", "--expect-backend", "legacy"]
    cmd += ["--label", "https-nocertutil", "--screenshots", str(tmp_path)]
    env = {**browser_env, "PATH": str(empty), CA_FILE_ENV: str(pki.ca_file)}
    result = subprocess.run(cmd, check=False, cwd=FRONTEND, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "certutil" in result.stderr
    assert "libnss3-tools" in result.stderr
