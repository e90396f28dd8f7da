"""`apply`: stage 2 of a two-stage cutover (snapshot of the frozen service, delta load, verify) as one process, each
step's document and progress lines those of the single command, stopping at the first step that fails."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import psycopg
import pytest
from mig_helpers import LEGACY_TOKEN, create_task, delete_task, migrate, pg_execute, secret_file
from radiology_migration import cli, snapshot
from radiology_migration.outcome import Outcome

STEP_LINE = re.compile(r"\S+ (?P<step>\S+) (?P<what>started|done|failed)(?: |:|$)")


@pytest.fixture(autouse=True)
def no_inherited_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (cli.DSN_ENV, cli.DSN_FILE_ENV, cli.ADMIN_TOKEN_ENV, cli.ADMIN_TOKEN_FILE_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def stage1(legacy_url: str, target_dsn: str, tmp_path: Path) -> dict[str, Path]:
    """Stage 1 done: a live snapshot S1 of the running legacy service, loaded in full into PostgreSQL."""
    files = {
        "token": secret_file(tmp_path / "admin-token", LEGACY_TOKEN + "\n"),
        "dsn": secret_file(tmp_path / "dsn", target_dsn + "\n"),
        "s1": tmp_path / "s1.duckdb",
        "s2": tmp_path / "s2.duckdb",
        "progress": tmp_path / "progress.log",
    }
    token, dsn = ("--admin-token-file", str(files["token"])), ("--dsn-file", str(files["dsn"]))
    code, doc = migrate("snapshot", "--live", "--legacy-url", legacy_url, *token, "--out", str(files["s1"]))
    assert code == 0, doc["error"]
    code, doc = migrate("load", "--snapshot", str(files["s1"]), *dsn)
    assert code == 0, doc["error"]
    return files


def apply_args(url: str, files: dict[str, Path], *extra: str) -> list[str]:
    return [
        *("apply", "--legacy-url", url, "--admin-token-file", str(files["token"])),
        *("--snapshot", str(files["s2"]), "--since", str(files["s1"]), "--dsn-file", str(files["dsn"])),
        *("--progress", str(files["progress"]), *extra),
    ]


def step_lines(progress: Path) -> list[str]:
    """`<step> started|done|failed` of each step's first and last line, in order."""
    return [f"{m['step']} {m['what']}" for line in progress.read_text().splitlines() if (m := STEP_LINE.match(line))]


def test_apply_takes_loads_and_verifies_the_frozen_snapshot(
    legacy_url: str, legacy_db: Path, stage1: dict[str, Path], target_dsn: str
) -> None:
    added = [create_task(legacy_url, "after S1, one"), create_task(legacy_url, "after S1, two")]
    victim = pg_execute(target_dsn, "SELECT min(task_id) FROM analysis_tasks WHERE deleted_at IS NULL")[0][0]
    delete_task(legacy_url, str(victim))  # a tombstone: a changed row
    snapshot.freeze_with_cli(legacy_db, "cutover")

    code, doc = migrate(*apply_args(legacy_url, stage1, "--progress-every", "0.5"))
    assert code == 0, doc["error"]
    assert doc["command"] == "apply" and doc["ok"] is True and doc["error"] is None and doc["failed_step"] is None
    assert list(doc["steps"]) == ["snapshot", "load", "verify"]
    for name, step in doc["steps"].items():
        assert step["command"] == name and step["ok"] is True and step["error"] is None, step
    taken, loaded, verified = doc["steps"]["snapshot"], doc["steps"]["load"], doc["steps"]["verify"]
    assert taken["live"] is False and Path(f"{stage1['s2']}.meta.json").exists()
    assert loaded["mode"] == "delta" and loaded["committed"] is True and loaded["check_mode"] is False
    assert loaded["delta"]["analysis_tasks"] == {"added": 2, "changed": 1, "deleted": 0}
    assert loaded["delta"]["examinations"] == loaded["delta"]["reports"] == {"added": 0, "changed": 0, "deleted": 0}
    assert loaded["rows_applied"] == 3 and loaded["target_counts_after"] == taken["counts"]
    assert verified["check_mode"] is True
    in_pg = {str(t) for (t,) in pg_execute(target_dsn, "SELECT task_id FROM analysis_tasks WHERE deleted_at IS NULL")}
    assert set(added) <= in_pg and str(victim) not in in_pg

    # Each sub-document has the fields of the single command's document (run again here: same snapshot, same target),
    # and the step's wall time.
    code, alone = migrate("verify", "--snapshot", str(stage1["s2"]), "--dsn-file", str(stage1["dsn"]))
    assert code == 0 and [*alone, "step_seconds"] == list(verified)
    assert all(0 < step["step_seconds"] < 60 for step in doc["steps"].values()), doc["steps"]

    assert step_lines(stage1["progress"]) == [
        "apply started",
        *("snapshot started", "snapshot done"),
        *("load started", "load done"),
        *("verify started", "verify done"),
        "apply done",
    ]
    said = [line.split(" ", 1)[1] for line in stage1["progress"].read_text().splitlines()]
    assert any(s.startswith(f"snapshot done {sum(taken['counts'].values())} rows in ") for s in said), said
    assert any(s.startswith("load comparing the two snapshots") for s in said), said
    assert any(s.startswith(f"verify done {verified['rows_verified']} rows in ") for s in said), said


def test_a_failed_load_stops_before_verify(
    legacy_url: str, legacy_db: Path, stage1: dict[str, Path], target_dsn: str
) -> None:
    create_task(legacy_url, "after S1")
    snapshot.freeze_with_cli(legacy_db, "cutover")
    pg_execute(target_dsn, "DELETE FROM analysis_tasks WHERE task_id = (SELECT max(task_id) FROM analysis_tasks)")

    code, doc = migrate(*apply_args(legacy_url, stage1))
    assert code == 1 and doc["ok"] is False and doc["failed_step"] == "load"
    assert list(doc["steps"]) == ["snapshot", "load"]  # verify did not run
    assert doc["steps"]["snapshot"]["ok"] is True
    load = doc["steps"]["load"]
    assert load["command"] == "load" and load["ok"] is False
    assert doc["error"] == load["error"] and f"PostgreSQL does not hold what {stage1['s1']} loaded" in load["error"]
    assert step_lines(stage1["progress"]) == [
        *("apply started", "snapshot started", "snapshot done", "load started", "load failed", "apply failed")
    ]
    last = stage1["progress"].read_text().splitlines()
    assert last[-2].split(" ", 1)[1] == "load failed: " + load["error"]

    # The human summary: each step's, in order, then the verdict. --overwrite replaces the S2 just taken.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(apply_args(legacy_url, stage1, "--overwrite")) == 1
    text = out.getvalue().splitlines()
    assert text.index("OK: snapshot") < text.index(f"FAILED: {load['error']}") < text.index("NOT OK: load")
    assert text[-2:] == ["FAILED: load; not run: verify", "NOT OK: apply"]
    assert "OK: verify" not in text and "NOT OK: verify" not in text


def test_a_failed_snapshot_stops_before_the_load(
    legacy_url: str, legacy_db: Path, stage1: dict[str, Path], target_dsn: str, tmp_path: Path
) -> None:
    before = pg_execute(target_dsn, "SELECT count(*) FROM analysis_tasks")
    code, doc = migrate(*apply_args(legacy_url, stage1))  # the caller did not freeze the service
    assert code == 1 and doc["failed_step"] == "snapshot" and list(doc["steps"]) == ["snapshot"]
    assert "not frozen" in doc["error"] and doc["steps"]["snapshot"]["error"] == doc["error"]

    snapshot.freeze_with_cli(legacy_db, "cutover")
    stage1["token"] = secret_file(tmp_path / "wrong-token", "not-the-token\n")
    code, doc = migrate(*apply_args(legacy_url, stage1))
    assert code == 1 and doc["failed_step"] == "snapshot" and list(doc["steps"]) == ["snapshot"]
    assert "/admin/snapshot answered 40" in doc["error"] and not stage1["s2"].exists()
    assert step_lines(stage1["progress"])[-3:] == ["snapshot started", "snapshot failed", "apply failed"]
    assert "load started" not in step_lines(stage1["progress"])
    assert pg_execute(target_dsn, "SELECT count(*) FROM analysis_tasks") == before


def test_a_verify_with_differences_and_an_exception_in_a_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The steps' own functions stubbed: the order, the stop, and an exception becoming the step's failure."""
    monkeypatch.setenv(cli.ADMIN_TOKEN_ENV, LEGACY_TOKEN)
    monkeypatch.setenv(cli.DSN_ENV, "dbname=unused")
    ran: list[str] = []

    def taken(outcome: Outcome, *_args: object, **_kwargs: object) -> None:
        ran.append("snapshot")
        outcome.data["counts"] = {"analysis_tasks": 1}

    def loaded(outcome: Outcome, *_args: object, **_kwargs: object) -> None:
        ran.append("load")
        outcome.data["mode"] = "delta"

    def differs(outcome: Outcome, *_args: object, **_kwargs: object) -> None:
        ran.append("verify")
        outcome.data["gates"] = {"checksums": {"ok": False, "differing": ["task 1"]}}
        outcome.fail("gate checksums: 1 row differs")

    monkeypatch.setattr(snapshot, "from_service", taken)
    monkeypatch.setattr(cli.delta, "run", loaded)
    monkeypatch.setattr(cli.verify, "run", differs)
    args = ("apply", "--legacy-url", "http://127.0.0.1:9", "--snapshot", str(tmp_path / "s2.duckdb"))
    code, doc = migrate(*args, "--since", str(tmp_path / "s1.duckdb"))
    assert code == 1 and ran == ["snapshot", "load", "verify"]
    assert doc["failed_step"] == "verify" and doc["error"] == "gate checksums: 1 row differs"
    assert doc["steps"]["verify"].pop("step_seconds") >= 0
    assert doc["steps"]["verify"] == {
        "command": "verify",
        "ok": False,
        "check_mode": True,
        "error": "gate checksums: 1 row differs",
        "gates": {"checksums": {"ok": False, "differing": ["task 1"]}},
    }

    def broken(*_args: object, **_kwargs: object) -> None:
        ran.append("broken load")
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(cli.delta, "run", broken)
    ran.clear()
    code, doc = migrate(*args, "--since", str(tmp_path / "s1.duckdb"))
    assert code == 1 and ran == ["snapshot", "broken load"] and list(doc["steps"]) == ["snapshot", "load"]
    assert doc["failed_step"] == "load" and doc["error"] == "OperationalError: connection refused"


def test_snapshot_verify_proves_a_rollback_and_names_what_is_missing(
    legacy_url: str, legacy_db: Path, stage1: dict[str, Path], target_dsn: str
) -> None:
    """The rollback's proof: the frozen legacy's snapshot, then verify PostgreSQL against it. Equal: ok. A task that
    PostgreSQL holds and the legacy does not (not carried back): the verify step fails, naming the table."""
    snapshot.freeze_with_cli(legacy_db, "rollback")
    args = (
        *("snapshot-verify", "--legacy-url", legacy_url, "--admin-token-file", str(stage1["token"])),
        *("--snapshot", str(stage1["s2"]), "--dsn-file", str(stage1["dsn"]), "--progress", str(stage1["progress"])),
    )
    code, doc = migrate(*args)
    assert code == 0, doc["error"]
    assert doc["command"] == "snapshot-verify" and doc["failed_step"] is None
    assert list(doc["steps"]) == ["snapshot", "verify"] and doc["steps"]["verify"]["ok"] is True
    assert step_lines(stage1["progress"]) == [
        *("snapshot-verify started", "snapshot started", "snapshot done", "verify started", "verify done"),
        "snapshot-verify done",
    ]

    pg_execute(
        target_dsn,
        "UPDATE analysis_tasks SET name = name || ' (only in PostgreSQL)' WHERE task_id = "
        "(SELECT min(task_id) FROM analysis_tasks)",
    )
    code, doc = migrate(*args, "--overwrite")
    assert code == 1 and doc["failed_step"] == "verify" and list(doc["steps"]) == ["snapshot", "verify"]
    assert "analysis_tasks" in doc["error"] and doc["steps"]["verify"]["error"] == doc["error"]

    # --tables reaches the verify step: the rollback's gate before the legacy takes writes verifies the tasks only
    # (the difference above is found), and the examinations and reports are verified by themselves (nothing is).
    code, doc = migrate(*args, "--overwrite", "--tables", "analysis_tasks")
    assert code == 1 and doc["steps"]["verify"]["tables"] == ["analysis_tasks"]
    code, doc = migrate(*args, "--overwrite", "--tables", "examinations,reports")
    assert code == 0, doc["error"]
    assert doc["steps"]["verify"]["tables"] == ["examinations", "reports"]
