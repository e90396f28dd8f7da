"""The load and the watch through an HTTPS front door with a login: the chain verified against --ca-file, the
login read from --credentials-file (or their environment variables), a refused login said loudly, and the
password nowhere in what the tools print or write."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Legacy, Web
from radiology_contract.frontdoor import CA_FILE_ENV, CREDENTIALS_FILE_ENV, FrontDoor
from radiology_ops.cli import main
from radiology_ops.login import OriginLogin
from radiology_testkit.tls import Pki, make_pki

USER, PASSWORD = "staff", "pa:ss-word-9"  # a colon in the password: split at the first one


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def door(legacy: Legacy, pki: Pki) -> Iterator[Web]:
    with Web(legacy.url, pki=pki, login=(USER, PASSWORD)) as w:
        yield w


@pytest.fixture(autouse=True)
def no_inherited_front_door(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CA_FILE_ENV, raising=False)
    monkeypatch.delenv(CREDENTIALS_FILE_ENV, raising=False)


def credentials(tmp_path: Path, text: str = f"{USER}:{PASSWORD}\n", mode: int = 0o600) -> Path:
    path = tmp_path / "web.credentials"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def watch(web: Web, out: Path, *extra: str) -> int:
    args = ["watch", "--web", web.url, "--expect-backend", "legacy", "--duration", "1", "--interval", "0.2"]
    return main([*args, "--json", str(out), *extra])


def load(web: Web, out: Path, *extra: str) -> int:
    args = ["load", "--web", web.url, "--users", "4", "--duration", "1.5", "--think-time", "0.1", "--seed", "5"]
    return main([*args, "--out", str(out), *extra])


def written(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.is_file())


def test_watch_passes_through_the_verified_front_door_with_its_login(door: Web, pki: Pki, tmp_path, capsys):
    out = tmp_path / "watch.json"
    code = watch(door, out, "--ca-file", str(pki.ca_file), "--credentials-file", str(credentials(tmp_path)))
    result = json.loads(out.read_text())
    assert code == 0, result["reason"]
    assert result["failed_requests"] == 0 and result["backends_seen"] == {"legacy": 2 * result["polls"]}
    assert result["ca_file"] == str(pki.ca_file) and result["credentials_file"].endswith("web.credentials")
    assert door.refused == 0
    assert PASSWORD not in out.read_text() + "".join(capsys.readouterr())


def test_watch_without_the_ca_fails_at_once_on_the_certificate(door: Web, tmp_path):
    out = tmp_path / "watch.json"
    code = watch(door, out, "--credentials-file", str(credentials(tmp_path)))
    result = json.loads(out.read_text())
    assert code == 1 and result["polls"] == 1
    assert result["reason"].startswith(f"TLS: the certificate of {door.url}/build-info.json does not verify")
    assert "the system trust store" in result["reason"] and "CERTIFICATE_VERIFY_FAILED" in result["reason"]


def test_watch_with_a_wrong_password_says_nginx_refused_the_credentials_file(door: Web, pki: Pki, tmp_path, capsys):
    out = tmp_path / "watch.json"
    creds = credentials(tmp_path, f"{USER}:not-{PASSWORD}\n")
    code = watch(door, out, "--ca-file", str(pki.ca_file), "--credentials-file", str(creds))
    result = json.loads(out.read_text())
    assert code == 1 and result["polls"] == 1  # a refused login is definitive: no need to wait out the window
    assert result["reason"] == f"nginx answered 401: the credentials file {creds} (user 'staff') was refused"
    assert result["first_failure"]["status"] == 401 and door.refused == 1
    printed = "".join(capsys.readouterr())
    assert "FAILED: watch: nginx answered 401" in printed
    assert PASSWORD not in out.read_text() + printed


def test_watch_without_credentials_says_a_login_is_needed(door: Web, pki: Pki, tmp_path):
    out = tmp_path / "watch.json"
    assert watch(door, out, "--ca-file", str(pki.ca_file)) == 1
    reason = json.loads(out.read_text())["reason"]
    assert reason.startswith("nginx answered 401: it asks for a login and no credentials were given")
    assert CREDENTIALS_FILE_ENV in reason


def test_a_credentials_file_others_may_read_is_refused_before_any_request(door: Web, pki: Pki, tmp_path, capsys):
    creds = credentials(tmp_path, mode=0o644)
    for command in (watch, load):
        code = command(door, tmp_path / "out", "--ca-file", str(pki.ca_file), "--credentials-file", str(creds))
        err = capsys.readouterr().err
        assert code == 2
        assert f"refusing the credentials file {creds}" in err and f"chmod 600 {creds}" in err
        assert PASSWORD not in err
    assert door.refused == 0 and not (tmp_path / "out" / "requests.csv").exists()


def test_a_missing_ca_file_is_named(door: Web, tmp_path, capsys):
    missing = tmp_path / "nowhere.pem"
    assert load(door, tmp_path / "out", "--ca-file", str(missing)) == 2
    assert f"cannot use the CA file {missing}" in capsys.readouterr().err


def test_the_login_is_never_sent_in_the_clear(web: Web, tmp_path, capsys):
    creds = credentials(tmp_path)
    for command in (watch, load):
        assert command(web, tmp_path / "out", "--credentials-file", str(creds)) == 2
        assert f"refusing to send the login of {creds} to {web.url}: not https" in capsys.readouterr().err


def test_load_through_the_front_door_with_the_environment_variables(
    door: Web, pki: Pki, tmp_path, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(CA_FILE_ENV, str(pki.ca_file))
    monkeypatch.setenv(CREDENTIALS_FILE_ENV, str(credentials(tmp_path)))
    out = tmp_path / "load"
    code = load(door, out, "--write-ratio", "0.3")
    summary = json.loads((out / "summary.json").read_text())
    assert code == 0, summary["failures"][:3]
    assert summary["requests"] > 10 and summary["failed"] == 0 and door.refused == 0
    assert summary["config"]["ca_file"] == str(pki.ca_file)
    assert summary["config"]["credentials_file"] == str(tmp_path / "web.credentials")
    assert PASSWORD not in written(out) + "".join(capsys.readouterr())


def test_load_with_a_wrong_password_counts_and_names_the_refusals(door: Web, pki: Pki, tmp_path, capsys):
    creds = credentials(tmp_path, f"{USER}:wrong\n")
    out = tmp_path / "load"
    code = load(door, out, "--ca-file", str(pki.ca_file), "--credentials-file", str(creds))
    summary = json.loads((out / "summary.json").read_text())
    assert code == 1
    assert summary["failed"] == summary["requests"] == summary["failure_reasons"]["nginx answered 401"] > 0
    err = capsys.readouterr().err
    expected = f"request(s) refused: nginx answered 401: the credentials file {creds} (user 'staff') was refused"
    assert f"radiology-ops load: {summary['failed']} {expected}" in err


def test_load_without_the_ca_fails_on_the_certificate(door: Web, tmp_path):
    out = tmp_path / "load"
    assert load(door, out, "--credentials-file", str(credentials(tmp_path))) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == summary["requests"] > 0 and door.refused == 0
    assert all("CERTIFICATE_VERIFY_FAILED" in f["reason"] for f in summary["failures"])


def test_a_background_load_gets_the_front_door_options(door: Web, pki: Pki, tmp_path):
    out = tmp_path / "load"
    creds = credentials(tmp_path)
    base = [sys.executable, "-m", "radiology_ops"]
    args = ["load", "--web", door.url, "--users", "3", "--duration", "60", "--think-time", "0.1", "--out", str(out)]
    front = ["--ca-file", str(pki.ca_file), "--credentials-file", str(creds)]
    started = subprocess.run(
        [*base, *args, *front, "--background"], check=False, capture_output=True, text=True, timeout=30
    )
    assert started.returncode == 0, started.stderr
    stopped = subprocess.run(
        [*base, "load-stop", "--out", str(out)], check=False, capture_output=True, text=True, timeout=60
    )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["requests"] > 0 and summary["failed"] == 0 and door.refused == 0
    assert PASSWORD not in written(out) + started.stdout + stopped.stdout


def test_the_login_goes_to_the_web_origin_only(tmp_path):
    login = OriginLogin(FrontDoor.from_files(None, credentials(tmp_path)), "https://127.0.0.1:8443/")

    def sent(url: str) -> str | None:
        return next(login.auth_flow(httpx.Request("GET", url))).headers.get("Authorization")

    assert (
        sent("https://127.0.0.1:8443/legacy/api/v1/health")
        == FrontDoor.from_files(None, tmp_path / "web.credentials").headers()["Authorization"]
    )
    assert sent("http://127.0.0.1:8443/legacy/api/v1/health") is None
    assert sent("https://127.0.0.1:9443/api/v1/health") is None
    assert sent("https://localhost:8443/api/v1/health") is None


CHECK_TASKS = Path(__file__).resolve().parents[3] / "molecule" / "cutover" / "files" / "check_tasks.py"


def test_the_task_check_goes_through_the_front_door(door: Web, pki: Pki, tmp_path):
    creds = credentials(tmp_path)
    out = tmp_path / "load"
    assert load(door, out, "--write-ratio", "1", "--ca-file", str(pki.ca_file), "--credentials-file", str(creds)) == 0

    def check(*extra: str) -> subprocess.CompletedProcess[str]:
        args = [sys.executable, str(CHECK_TASKS), "--web", door.url, "--backend", "legacy", *extra]
        return subprocess.run([*args, str(out / "tasks.json")], check=False, capture_output=True, text=True, timeout=60)

    passed = check("--ca-file", str(pki.ca_file), "--credentials-file", str(creds))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    result = json.loads(passed.stdout)
    assert result["ok"] and result["live_checked"] + result["deleted_checked"] > 0
    wrong = credentials(tmp_path, f"{USER}:wrong\n")
    refused = check("--ca-file", str(pki.ca_file), "--credentials-file", str(wrong))
    assert refused.returncode == 2
    assert f"nginx answered 401: the credentials file {wrong} (user 'staff') was refused" in refused.stderr
    unverified = check("--credentials-file", str(wrong))
    assert unverified.returncode == 2 and "CERTIFICATE_VERIFY_FAILED" in unverified.stderr
    wrong.chmod(0o644)
    shared = check("--ca-file", str(pki.ca_file), "--credentials-file", str(wrong))
    assert shared.returncode == 2 and f"chmod 600 {wrong}" in shared.stderr
    assert PASSWORD not in passed.stdout + passed.stderr + refused.stderr + unverified.stderr + shared.stderr
