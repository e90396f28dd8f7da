"""`--progress FILE`: timestamped lines while snapshot, load and verify run, and a last line saying how they ended."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mig_helpers import migrate, pg_execute
from radiology_contract import synthetic
from radiology_contract.tables import TABLES
from radiology_migration.outcome import Outcome
from radiology_migration.progress import FINAL_LINE, Progress

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def without_stamps(path: Path) -> list[str]:
    out = []
    for line in lines(path):
        stamp, rest = line.split(" ", 1)
        assert re.fullmatch(STAMP, stamp), line
        out.append(rest)
    return out


def test_counts_are_written_at_start_end_and_at_most_every_interval(tmp_path: Path) -> None:
    log, clock = tmp_path / "progress.log", Clock()
    progress = Progress(log, "load", interval=2.0, clock=clock)
    progress.start("examinations", 1000)
    for _ in range(100):  # a hot loop within one interval writes nothing
        progress.advance(5)
    assert without_stamps(log) == ["load examinations 0/1000 rows"]  # on disk at once: a follower sees it now
    clock.now += 2.5
    progress.advance(250)
    clock.now += 1.0
    progress.advance(250)  # 1 s after the last line: nothing
    progress.end(1000)
    progress.tally(7)
    assert without_stamps(log) == [
        "load examinations 0/1000 rows",
        "load examinations 750/1000 rows 300 rows/s",
        "load examinations 1000/1000 rows 286 rows/s in 3.5s",
    ]
    assert progress.totals == {"rows": 1007}


def test_the_last_line_says_done_or_failed_and_matches_final_line(tmp_path: Path) -> None:
    log, clock = tmp_path / "progress.log", Clock()
    ok = Outcome("verify")
    progress = Progress(log, "verify", clock=clock)
    with progress.running(ok):
        progress.start("reports", 10)
        clock.now += 4
        progress.end()
    assert without_stamps(log)[-1] == "verify done 0 rows in 4.0s"
    failed = Outcome("verify")
    with Progress(log, "verify", clock=clock).running(failed):
        failed.fail("row counts differ:\n  reports snapshot 10 != postgres 9")
    assert without_stamps(log)[-1] == "verify failed: row counts differ: reports snapshot 10 != postgres 9"
    with pytest.raises(ZeroDivisionError), Progress(log, "load", clock=clock).running(Outcome("load")):
        _ = 1 / 0
    assert without_stamps(log)[-1] == "load failed: ZeroDivisionError: division by zero"
    finals = [m["step"] for m in map(FINAL_LINE.match, lines(log)) if m]
    assert finals == ["verify", "verify", "load"]
    assert not FINAL_LINE.match("2026-11-29T13:05:01Z load examinations 1/2 rows")


def test_heartbeats_say_a_long_operation_still_runs(tmp_path: Path) -> None:
    log = tmp_path / "progress.log"
    progress = Progress(log, "load", heartbeat=0.05)
    with progress.waiting("rebuilding 3 indexes and constraints", lambda: "12 bytes written"):
        time.sleep(0.3)
    rest = without_stamps(log)
    assert rest[0] == "load rebuilding 3 indexes and constraints"
    assert len(rest) >= 3
    beat = r"load rebuilding 3 indexes and constraints \(\d+s, 12 bytes written\)"
    assert all(re.fullmatch(beat, r) for r in rest[1:])
    count = len(rest)
    time.sleep(0.15)
    assert len(lines(log)) == count  # the heartbeat stopped with the block


def test_progress_never_fails_the_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = Progress(tmp_path / "no" / "such" / "dir.log", "load")
    assert not missing.enabled
    missing.start("examinations", 5)
    missing.end(5)
    full = Progress(Path("/dev/full"), "load")  # every write fails with ENOSPC
    assert full.enabled
    full.line("first")
    assert not full.enabled
    full.line("second")  # switched off, quietly
    err = capsys.readouterr().err
    assert "progress switched off" in err and "No space left on device" in err


def test_load_and_verify_write_every_table_and_end_with_done(snapshot: Path, target_dsn: str, tmp_path: Path) -> None:
    log = tmp_path / "progress.log"
    code, doc = migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn, "--progress", str(log))
    assert code == 0, doc
    rest = without_stamps(log)
    assert re.fullmatch(r"load started \(pid \d+\)", rest[0])
    for t in TABLES:
        n = doc["target_counts_after"][t.kind]
        assert f"load {t.kind} 0/{n} rows" in rest
        assert any(re.fullmatch(rf"load {t.kind} {n}/{n} rows [\d,]+ rows/s in [\d.]+s", r) for r in rest), rest
    assert any(r.startswith("load rebuilding ") for r in rest)
    assert re.fullmatch(rf"load done {doc['rows']} rows in [\d.]+s", rest[-1])

    code, doc = migrate("verify", "--snapshot", str(snapshot), "--dsn", target_dsn, "--progress", str(log))
    assert code == 0, doc
    rest = without_stamps(log)
    assert any(r.startswith("verify gate counts") for r in rest)
    assert re.fullmatch(rf"verify done {doc['rows_verified']} rows in [\d.]+s", rest[-1])

    pg_execute(target_dsn, "DELETE FROM analysis_tasks WHERE task_id IN (SELECT task_id FROM analysis_tasks LIMIT 1)")
    code, doc = migrate("verify", "--snapshot", str(snapshot), "--dsn", target_dsn, "--progress", str(log))
    assert code == 1
    assert lines(log)[-1].split(" ", 1)[1] == "verify failed: " + doc["error"]


def test_a_running_load_shows_rows_moving_before_it_ends(tmp_path: Path, target_dsn: str) -> None:
    """A separate process, as the playbooks run it: the follower sees counts of a table before the table is done."""
    snap = tmp_path / "big.duckdb"
    synthetic.write_duckdb(snap, rows=20_000, seed=7)
    log = tmp_path / "progress.log"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "radiology_migration", "load", "--snapshot", str(snap), "--json"),
            *("--progress", str(log), "--progress-every", "0.001"),
        ],
        env={**os.environ, "RADIOLOGY_MIGRATE_DSN": target_dsn},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rest = without_stamps(log)
    moving = [r for r in rest if (m := re.fullmatch(r"load examinations (\d+)/(\d+) rows [\d,]+ rows/s", r))]
    assert moving, rest
    assert all(0 < int(m[1]) <= int(m[2]) for r in moving if (m := re.search(r"(\d+)/(\d+)", r)))
    assert FINAL_LINE.match(lines(log)[-1]) and rest[-1].startswith("load done ")


def test_snapshot_from_file_and_a_failed_snapshot(base_snapshot: Path, tmp_path: Path) -> None:
    log = tmp_path / "progress.log"
    out = tmp_path / "copy.duckdb"
    code, doc = migrate("snapshot", "--from-file", str(base_snapshot), "--out", str(out), "--progress", str(log))
    assert code == 0, doc
    rest = without_stamps(log)
    assert any(r.startswith("snapshot copying ") for r in rest)
    for kind, n in doc["counts"].items():
        assert f"snapshot {kind} {n} rows" in rest
    assert re.fullmatch(rf"snapshot done {sum(doc['counts'].values())} rows in [\d.]+s", rest[-1])
    code, doc = migrate("snapshot", "--from-file", str(base_snapshot), "--out", str(out), "--progress", str(log))
    assert code == 1
    assert lines(log)[-1].split(" ", 1)[1] == "snapshot failed: " + doc["error"]
    assert "already exists" in doc["error"]


def test_progress_name_names_the_step_in_every_line(base_snapshot: Path, tmp_path: Path) -> None:
    """Stage 1's snapshot says stage-snapshot (the playbooks pass the name they follow and the report times)."""
    log = tmp_path / "progress.log"
    out = tmp_path / "stage.duckdb"
    code, doc = migrate(
        *("snapshot", "--from-file", str(base_snapshot), "--out", str(out)),
        *("--progress", str(log), "--progress-name", "stage-snapshot"),
    )
    assert code == 0, doc
    rest = without_stamps(log)
    assert re.fullmatch(r"stage-snapshot started \(pid \d+\)", rest[0])
    assert all(r.startswith("stage-snapshot ") for r in rest), rest
    match = FINAL_LINE.match(lines(log)[-1])
    assert match and match["step"] == "stage-snapshot" and rest[-1].startswith("stage-snapshot done ")
