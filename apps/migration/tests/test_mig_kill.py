"""SIGKILL `radiology-migrate load` (full, and delta with --since) at random points: the target is always the old
or the new data, never a mix, and the next run succeeds with exact verification."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from delta_helpers import derive, with_meta
from mig_helpers import migrate, pg_execute
from radiology_contract import synthetic

TRIALS = 12
INSIDE = "killed in transaction, unchanged"


def more_trials(trial: int, outcomes: list[str], trials: int) -> bool:
    """At least `trials` kills; then more (up to three times as many) until half of `trials` landed inside the
    transaction. The kill points are spread over the time one run took, and on a busy machine the next runs may be
    faster or slower than that one, pushing kills past the commit. Every trial is checked the same way."""
    return trial < trials or (outcomes.count(INSIDE) < trials // 2 and trial < 3 * trials)


IN_TRANSACTION = (
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'radiology-migrate' AND xact_start IS NOT NULL"
)


@pytest.fixture(scope="module")
def second_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Different data from the base snapshot (another seed and size), so old and new are told apart."""
    path = tmp_path_factory.mktemp("kill") / "second.duckdb"
    synthetic.write_duckdb(path, rows=12_000, seed=99)
    return path


def load_process(snapshot: Path, dsn: str) -> subprocess.Popen[bytes]:
    # A killed load cannot remove its temporary directory (an empty named pipe): keep those under the test's tmp.
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radiology_migration",
            "load",
            "--force-overwrite",
            "--snapshot",
            str(snapshot),
            "--json",
        ],
        env={**os.environ, "RADIOLOGY_MIGRATE_DSN": dsn, "TMPDIR": str(snapshot.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_backend_to_go(dsn: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = pg_execute(dsn, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'radiology-migrate'")
        if rows[0][0] == 0:
            return
        time.sleep(0.1)
    raise AssertionError("the killed load's server backend did not end")


def wait_for_transaction(proc: subprocess.Popen[bytes], dsn: str, timeout: float = 60.0) -> bool:
    """True once the load's transaction is open; False when the load ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if pg_execute(dsn, IN_TRANSACTION)[0][0] > 0:
            return True
        time.sleep(0.01)
    raise AssertionError("the load did not open its transaction in time")


def test_sigkill_at_random_points_leaves_old_or_new_data(
    snapshot: Path, second_snapshot: Path, target_dsn: str
) -> None:
    assert migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0
    # The two snapshots hold different analysis tasks: every load below overwrites on purpose. The first full load
    # measures how long its transaction stays open, so the kills below can be spread over it.
    proc = load_process(second_snapshot, target_dsn)
    assert wait_for_transaction(proc, target_dsn)
    opened = time.monotonic()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, (out + err).decode()
    in_transaction_seconds = time.monotonic() - opened
    assert migrate("load", "--force-overwrite", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0

    # Two kills before the transaction can open (while the tool starts), then kills at random points from the
    # moment the transaction is open to a little past the time it took: whatever the machine's speed, most land
    # inside it, and a few after the commit.
    rng = random.Random(20240501)
    outcomes: list[str] = []
    trial = -1
    while more_trials(trial := trial + 1, outcomes, TRIALS):
        proc = load_process(second_snapshot, target_dsn)
        if trial < 2:
            time.sleep(0.05)
        elif wait_for_transaction(proc, target_dsn):
            time.sleep(rng.uniform(0, in_transaction_seconds * 1.1))
        killed = proc.poll() is None
        in_transaction = killed and pg_execute(target_dsn, IN_TRANSACTION)[0][0] > 0
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        wait_for_backend_to_go(target_dsn)
        old_ok = migrate("verify", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0
        new_ok = migrate("verify", "--snapshot", str(second_snapshot), "--dsn", target_dsn)[0] == 0
        assert old_ok != new_ok, "after SIGKILL the target must match exactly one of the old and the new snapshot"
        if not killed:
            assert proc.returncode == 0 and new_ok
        state = "killed in transaction" if in_transaction else "killed" if killed else "finished"
        outcomes.append(f"{state}, " + ("unchanged" if old_ok else "complete"))
        if new_ok:  # put the old data back so the next kill again has something to lose
            assert migrate("load", "--force-overwrite", "--snapshot", str(snapshot), "--dsn", target_dsn)[0] == 0
    print("kill trials:", outcomes)
    # Most kills must land inside the load's transaction (not before it started), and all of those roll back.
    assert outcomes.count(INSIDE) >= TRIALS // 2
    code, doc = migrate("load", "--force-overwrite", "--snapshot", str(second_snapshot), "--dsn", target_dsn)
    assert code == 0, doc
    code, doc = migrate("verify", "--snapshot", str(second_snapshot), "--dsn", target_dsn)
    assert code == 0, doc["error"]


DELTA_TRIALS = 8


@pytest.fixture(scope="module")
def delta_pair(tmp_path_factory: pytest.TempPathFactory, base_snapshot: Path) -> tuple[Path, Path]:
    """S1 (the base data) and S2: every examination of S1 changed, 12,000 examinations and their reports added,
    a few tasks changed: a delta whose transaction lasts long enough to be killed inside."""
    folder = tmp_path_factory.mktemp("kill-delta")
    s1 = folder / "s1.duckdb"
    shutil.copyfile(base_snapshot, s1)
    with_meta(s1, "2026-01-01T00:00:00")
    extra = folder / "extra.duckdb"
    synthetic.write_duckdb(extra, rows=12_000, seed=99)
    s2 = derive(
        s1,
        folder / "s2.duckdb",
        [
            "UPDATE medical_examinations_fact SET exam_description = coalesce(exam_description, '') || ' (S2)'",
            f"ATTACH '{extra}' AS extra (READ_ONLY)",
            "INSERT INTO medical_examinations_fact SELECT * REPLACE ('K-' || exam_id AS exam_id) "
            "FROM extra.medical_examinations_fact",
            "INSERT INTO exam_reports SELECT * REPLACE ('K-' || report_id AS report_id, 'K-' || exam_id AS exam_id) "
            "FROM extra.exam_reports",
            "DETACH extra",
            "UPDATE analysis_tasks SET name = name || ' (S2)'",
        ],
    )
    return s1, s2


def delta_process(s2: Path, s1: Path, dsn: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "radiology_migration", "load", "--snapshot", str(s2), "--since", str(s1), "--json"],
        env={**os.environ, "RADIOLOGY_MIGRATE_DSN": dsn, "TMPDIR": str(s2.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_sigkill_during_the_delta_leaves_postgres_as_it_was(delta_pair: tuple[Path, Path], target_dsn: str) -> None:
    s1, s2 = delta_pair
    assert migrate("load", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0
    # One delta run unkilled measures how long its transaction stays open; the full load of S1 puts S1 back.
    proc = delta_process(s2, s1, target_dsn)
    assert wait_for_transaction(proc, target_dsn)
    opened = time.monotonic()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, (out + err).decode()
    in_transaction_seconds = time.monotonic() - opened
    assert migrate("load", "--force-overwrite", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0

    rng = random.Random(20240502)
    outcomes: list[str] = []
    trial = -1
    while more_trials(trial := trial + 1, outcomes, DELTA_TRIALS):
        proc = delta_process(s2, s1, target_dsn)
        if trial == 0:
            time.sleep(0.05)  # while the tool starts and compares the snapshots
        elif wait_for_transaction(proc, target_dsn):
            time.sleep(rng.uniform(0, in_transaction_seconds * 1.1))
        killed = proc.poll() is None
        in_transaction = killed and pg_execute(target_dsn, IN_TRANSACTION)[0][0] > 0
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        wait_for_backend_to_go(target_dsn)
        old_ok = migrate("verify", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0
        new_ok = migrate("verify", "--snapshot", str(s2), "--dsn", target_dsn)[0] == 0
        assert old_ok != new_ok, "after SIGKILL the target must match exactly one of S1 and S2"
        if not killed:
            assert proc.returncode == 0 and new_ok
        state = "killed in transaction" if in_transaction else "killed" if killed else "finished"
        outcomes.append(f"{state}, " + ("unchanged" if old_ok else "complete"))
        if new_ok:
            assert migrate("load", "--force-overwrite", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0
    print("delta kill trials:", outcomes, f"(transaction open {in_transaction_seconds:.2f}s)")
    assert outcomes.count(INSIDE) >= DELTA_TRIALS // 2
    code, doc = migrate("load", "--snapshot", str(s2), "--since", str(s1), "--dsn", target_dsn)
    assert code == 0, doc["error"]
    code, doc = migrate("verify", "--snapshot", str(s2), "--dsn", target_dsn)
    assert code == 0, doc["error"]
