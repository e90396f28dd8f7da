"""Secrets from files (--dsn-file, --admin-token-file and their environment variables), the checks on those
files, and the warning for a password given with --dsn."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from mig_helpers import migrate, secret_file
from radiology_migration import cli
from radiology_migration.outcome import MigrationError
from radiology_migration.secret_files import has_password, read_secret
from radiology_testkit.ports import free_port
from radiology_testkit.servers import serve

TOKEN = "test-admin-token-from-a-file-7"
LEGACY = str(Path(sys.executable).parent / "legacy-api")
WARNING = "--dsn puts a database password on the command line"


@pytest.fixture(autouse=True)
def no_inherited_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (cli.DSN_ENV, cli.DSN_FILE_ENV, cli.ADMIN_TOKEN_ENV, cli.ADMIN_TOKEN_FILE_ENV):
        monkeypatch.delenv(name, raising=False)


def test_read_secret_drops_one_trailing_newline(tmp_path: Path) -> None:
    assert read_secret(secret_file(tmp_path / "a", "s3cret\n"), "token") == "s3cret"
    assert read_secret(secret_file(tmp_path / "b", "s3cret"), "token") == "s3cret"
    assert read_secret(secret_file(tmp_path / "c", "s3cret\r\n"), "token") == "s3cret"
    assert read_secret(secret_file(tmp_path / "d", "s3cret\n\n"), "token") == "s3cret\n"
    assert read_secret(secret_file(tmp_path / "e", "host=db password=x\n", 0o400), "DSN") == "host=db password=x"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o660, 0o644, 0o700 | 0o007])
def test_read_secret_refuses_a_file_others_may_read_or_write(tmp_path: Path, mode: int) -> None:
    path = secret_file(tmp_path / "dsn", "postgresql://u:p@h/d\n", mode)
    with pytest.raises(MigrationError) as err:
        read_secret(path, "DSN")
    message = str(err.value)
    assert str(path) in message and f"{mode:04o}" in message and "chmod 600" in message


def test_read_secret_refuses_missing_empty_and_odd_files(tmp_path: Path) -> None:
    cases = {
        tmp_path / "missing": "cannot read the token file",
        secret_file(tmp_path / "empty", ""): "is empty",
        secret_file(tmp_path / "newline", "\n"): "is empty",
        secret_file(tmp_path / "blank", "  \n"): "is empty",
    }
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    cases[folder] = "is not a regular file"
    for path, expected in cases.items():
        with pytest.raises(MigrationError) as err:
            read_secret(path, "token")
        assert expected in str(err.value) and str(path) in str(err.value), (path, err.value)


def test_has_password() -> None:
    assert has_password("postgresql://user:pw@db/imaging")
    assert has_password("host=db dbname=imaging user=u password=pw")
    assert not has_password("postgresql://user@db/imaging")
    assert not has_password("host=db dbname=imaging user=u")
    assert has_password("postgresql://user:pw@db:notaport/imaging")  # unparseable, still a password


def run(*args: str) -> tuple[int, dict, str]:
    """`radiology-migrate ARGS --json` in-process: exit code, JSON document, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([*args, "--json"])
    return code, json.loads(out.getvalue()), err.getvalue()


def test_dsn_from_a_file_option_or_variable(target_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = secret_file(tmp_path / "dsn", target_dsn + "\n")
    code, doc, err = run("export-tasks", "--dsn-file", str(good), "--out", str(tmp_path / "t1.json"))
    assert code == 0, doc["error"]
    assert doc["tasks"] == 0 and err == ""
    # the file variable, ahead of the DSN variable
    monkeypatch.setenv(cli.DSN_ENV, "postgresql://nobody:wrong@127.0.0.1:1/nothing")
    monkeypatch.setenv(cli.DSN_FILE_ENV, str(good))
    code, doc, err = run("export-tasks", "--out", str(tmp_path / "t2.json"))
    assert code == 0, doc["error"]
    # the option ahead of the file variable
    monkeypatch.setenv(cli.DSN_FILE_ENV, str(tmp_path / "missing"))
    code, doc, _ = run("export-tasks", "--dsn-file", str(good), "--out", str(tmp_path / "t3.json"))
    assert code == 0, doc["error"]
    code, doc, _ = run("export-tasks", "--out", str(tmp_path / "t4.json"))
    assert code == 1 and f"cannot read the DSN (${cli.DSN_FILE_ENV}) file {tmp_path / 'missing'}" in doc["error"]
    # the DSN variable alone still works
    monkeypatch.delenv(cli.DSN_FILE_ENV)
    monkeypatch.setenv(cli.DSN_ENV, target_dsn)
    code, doc, err = run("export-tasks", "--out", str(tmp_path / "t5.json"))
    assert code == 0 and err == "", doc["error"]


def test_a_shared_dsn_file_is_refused_before_connecting(target_dsn: str, tmp_path: Path) -> None:
    shared = secret_file(tmp_path / "dsn", target_dsn, 0o644)
    for command in (["load", "--snapshot", str(tmp_path / "x.duckdb")], ["verify", "--snapshot", "x"]):
        code, doc, _ = run(*command, "--dsn-file", str(shared))
        assert code == 1
        assert f"refusing the DSN file {shared}: its mode 0644" in doc["error"]


def test_no_dsn_at_all_says_where_to_put_one(tmp_path: Path) -> None:
    code, doc, _ = run("export-tasks", "--out", str(tmp_path / "t.json"))
    assert code == 1
    assert doc["error"] == (
        f"no PostgreSQL DSN: pass --dsn-file PATH (or --dsn), or set ${cli.DSN_FILE_ENV} or ${cli.DSN_ENV}"
    )


def test_dsn_and_dsn_file_exclude_each_other(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["verify", "--snapshot", "x", "--dsn", "host=db", "--dsn-file", str(tmp_path / "f")])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_password_given_with_dsn_is_warned_about(target_dsn: str, tmp_path: Path) -> None:
    code, doc, err = run("export-tasks", "--dsn", target_dsn, "--out", str(tmp_path / "t.json"))
    assert code == 0, doc["error"]
    assert WARNING in err and "--dsn-file" in err
    info = psycopg.conninfo.conninfo_to_dict(target_dsn)
    assert str(info["password"]) not in err  # the warning never repeats the password
    passwordless = f"postgresql://{info['user']}@{info['host']}:{info['port']}/{info['dbname']}"
    _, _, err = run("export-tasks", "--dsn", passwordless, "--out", str(tmp_path / "u.json"))
    assert WARNING not in err


@pytest.fixture
def legacy_url(base_snapshot: Path, tmp_path: Path) -> Iterator[str]:
    db = tmp_path / "legacy" / "medical_imaging.duckdb"
    db.parent.mkdir()
    shutil.copyfile(base_snapshot, db)
    port = free_port()
    cmd = [LEGACY, "serve", "--db", str(db), "--port", str(port), "--log-level", "warning"]
    with serve(cmd, port, "/api/v1/health", {"LEGACY_ADMIN_TOKEN": TOKEN}) as url:
        yield url


def test_admin_token_from_a_file(legacy_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": []}))
    push = ("push-tasks", "--tasks-file", str(tasks), "--legacy-url", legacy_url)
    token_file = secret_file(tmp_path / "token", TOKEN + "\n")
    code, doc = migrate(*push, "--admin-token-file", str(token_file))
    assert code == 0, doc["error"]
    monkeypatch.setenv(cli.ADMIN_TOKEN_FILE_ENV, str(token_file))
    code, doc = migrate(*push)
    assert code == 0, doc["error"]
    wrong = secret_file(tmp_path / "wrong", "not-the-token\n")
    code, doc = migrate(*push, "--admin-token-file", str(wrong))  # the option wins over the variable
    assert code == 1 and "refused" in doc["error"]
    os.chmod(token_file, 0o640)
    code, doc = migrate(*push)
    assert code == 1 and f"refusing the admin token (${cli.ADMIN_TOKEN_FILE_ENV}) file {token_file}" in doc["error"]
    code, doc = migrate("snapshot", "--legacy-url", legacy_url, "--out", str(tmp_path / "s.duckdb"))
    assert code == 1 and str(token_file) in doc["error"]  # snapshot reads the same token sources
    monkeypatch.delenv(cli.ADMIN_TOKEN_FILE_ENV)
    code, doc = migrate(*push)
    assert code == 1
    assert doc["error"] == (
        f"no admin token: pass --admin-token-file PATH, or set ${cli.ADMIN_TOKEN_FILE_ENV} or ${cli.ADMIN_TOKEN_ENV}"
    )
    monkeypatch.setenv(cli.ADMIN_TOKEN_ENV, TOKEN)  # the variable of old still works
    code, doc = migrate(*push)
    assert code == 0, doc["error"]
