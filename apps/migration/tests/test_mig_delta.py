"""`load --snapshot S2 --since S1`: only what changed from S1 to S2, in one transaction, and it equals a full load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from delta_helpers import CHANGES, EXPECTED, derive, every_row, with_meta
from mig_helpers import migrate, new_target, pg_execute
from radiology_contract.tables import TABLES

SCHEMA_SQL = (
    "SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
    "UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
)
DATA_VERSION = "SELECT version FROM imaging_data_version"  # bumped by every statement that writes (triggers)


@pytest.fixture
def s1(snapshot: Path) -> Path:
    return with_meta(snapshot, "2026-01-01T00:00:00")


@pytest.fixture
def s2(s1: Path, tmp_path: Path) -> Path:
    return derive(s1, tmp_path / "s2.duckdb", CHANGES)


def rows_of(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    return every_row(lambda sql: pg_execute(dsn, sql))


def delta(s2: Path, s1: Path, dsn: str, *extra: str) -> tuple[int, dict[str, Any]]:
    return migrate("load", "--snapshot", str(s2), "--since", str(s1), "--dsn", dsn, *extra)


def test_the_delta_equals_a_full_load_of_the_new_snapshot(
    s1: Path, s2: Path, target_dsn: str, pg_server, schema_template: str
) -> None:
    assert migrate("load", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0
    schema = pg_execute(target_dsn, SCHEMA_SQL)
    version = pg_execute(target_dsn, DATA_VERSION)
    before = rows_of(target_dsn)

    code, planned = delta(s2, s1, target_dsn, "--check")
    assert code == 0, planned["error"]
    assert planned["check_mode"] is True and planned["delta"] == EXPECTED and "loaded" not in planned
    assert rows_of(target_dsn) == before

    code, doc = delta(s2, s1, target_dsn)
    assert code == 0, doc["error"]
    assert doc["mode"] == "delta" and doc["committed"] is True and doc["nothing_changed"] is False
    assert doc["delta"] == EXPECTED
    assert doc["tables"]["examinations"]["deleted_rows"] == 4 and doc["tables"]["examinations"]["copied_rows"] == 5
    assert doc["rows_applied"] == sum(sum(d.values()) for d in EXPECTED.values()) == 14
    assert doc["rows_per_second"] > 0 and doc["snapshot_rows_per_second"] > 0 and doc["seconds"] > 0
    assert doc["target_counts_after"] == doc["source_counts"]
    code, verified = migrate("verify", "--snapshot", str(s2), "--dsn", target_dsn)
    assert code == 0, verified["error"]
    assert pg_execute(target_dsn, SCHEMA_SQL) == schema  # no index or constraint dropped or rebuilt
    assert pg_execute(target_dsn, DATA_VERSION) != version  # the new service's count caches see the change

    full = new_target(pg_server, schema_template)
    assert migrate("load", "--snapshot", str(s2), "--dsn", full)[0] == 0
    assert rows_of(target_dsn) == rows_of(full)  # row for row what a full load of S2 gives


def test_nothing_changed_commits_nothing(s1: Path, target_dsn: str, tmp_path: Path) -> None:
    assert migrate("load", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0
    same = tmp_path / "same.duckdb"
    shutil.copyfile(s1, same)
    with_meta(same, "2026-01-01T02:00:00")
    version, before = pg_execute(target_dsn, DATA_VERSION), rows_of(target_dsn)
    code, doc = delta(same, s1, target_dsn)
    assert code == 0, doc["error"]
    assert doc["nothing_changed"] is True and doc["committed"] is False and doc["loaded"] is False
    assert doc["rows_applied"] == 0 and all(sum(d.values()) == 0 for d in doc["delta"].values())
    assert pg_execute(target_dsn, DATA_VERSION) == version and rows_of(target_dsn) == before
    code, doc = migrate("load", "--snapshot", str(same), "--since", str(s1), "--dsn", target_dsn)
    assert code == 0


def test_refuses_a_target_that_does_not_hold_the_since_snapshot(s1: Path, s2: Path, target_dsn: str) -> None:
    code, doc = delta(s2, s1, target_dsn)  # an empty target
    assert code == 1
    assert f"PostgreSQL does not hold what {s1} loaded" in doc["error"] and "examinations: postgres 0" in doc["error"]
    assert f"run a full load instead: radiology-migrate load --snapshot {s2}" in doc["error"]

    assert migrate("load", "--snapshot", str(s2), "--dsn", target_dsn)[0] == 0  # S2 already, not S1
    code, doc = delta(s2, s1, target_dsn)
    assert code == 1 and "may hold it already" in doc["error"]


def test_a_target_with_s1_counts_but_other_rows_is_refused_and_rolled_back(s1: Path, s2: Path, target_dsn: str) -> None:
    assert migrate("load", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0
    # The report the delta changes is swapped for another one: same counts, but a key the delta deletes is gone.
    # Reports are deleted after the analysis tasks, so the refusal also proves those deletions were rolled back.
    changed = pg_execute(target_dsn, "SELECT min(report_id) FROM exam_reports")[0][0]
    cols = "exam_id, report_text, impression, reporting_physician, report_datetime"
    pg_execute(
        target_dsn,
        f"INSERT INTO exam_reports (report_id, {cols}) SELECT 'RP-SWAPPED', {cols} FROM exam_reports "
        "WHERE report_id = %s",
        [changed],
    )
    pg_execute(target_dsn, "DELETE FROM exam_reports WHERE report_id = %s", [changed])
    before = rows_of(target_dsn)
    code, doc = delta(s2, s1, target_dsn)
    assert code == 1
    assert f"PostgreSQL does not hold {s1}" in doc["error"] and f"report_id {changed}" in doc["error"]
    assert rows_of(target_dsn) == before


def test_an_added_row_already_in_the_target_is_refused(s1: Path, s2: Path, target_dsn: str) -> None:
    assert migrate("load", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0
    untouched = pg_execute(target_dsn, "SELECT task_id FROM analysis_tasks ORDER BY task_id OFFSET 2 LIMIT 1")[0][0]
    pg_execute(
        target_dsn,
        "UPDATE analysis_tasks SET task_id = '00000000-0000-4000-8000-000000000001' WHERE task_id = %s",
        [untouched],
    )
    before = rows_of(target_dsn)
    code, doc = delta(s2, s1, target_dsn)
    assert code == 1 and "rolled back" in doc["error"] and "UniqueViolation" in doc["error"]
    assert "00000000-0000-4000-8000-000000000001" in doc["error"] and "full load" in doc["error"]
    assert rows_of(target_dsn) == before


def test_snapshots_that_do_not_pair_are_refused(s1: Path, s2: Path, target_dsn: str, tmp_path: Path) -> None:
    assert migrate("load", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0
    before = rows_of(target_dsn)
    other = tmp_path / "other-source.duckdb"
    shutil.copyfile(s2, other)
    with_meta(other, "2026-01-01T03:00:00", {"kind": "service", "url": "http://127.0.0.1:9/api/v1"})
    code, doc = delta(other, s1, target_dsn)
    assert code == 1 and "disagree about their source" in doc["error"] and "http://127.0.0.1:9" in doc["error"]

    older = tmp_path / "older.duckdb"
    shutil.copyfile(s2, older)
    with_meta(older, "2025-12-31T23:00:00")
    code, doc = delta(older, s1, target_dsn)
    assert code == 1 and "is older than --since" in doc["error"]

    bare = tmp_path / "bare.duckdb"
    shutil.copyfile(s2, bare)
    code, doc = delta(bare, s1, target_dsn)
    assert code == 1 and f"{bare}.meta.json" in doc["error"]

    code, doc = delta(s2, s1, target_dsn, "--force-overwrite")
    assert code == 1 and "--force-overwrite does not apply" in doc["error"]
    code, doc = delta(s1, s1, target_dsn)
    assert code == 1 and "same file" in doc["error"]

    meta = json.loads(Path(f"{s2}.meta.json").read_text())
    meta["counts"]["analysis_tasks"] += 1  # S2 no longer matches what its metadata recorded
    Path(f"{s2}.meta.json").write_text(json.dumps(meta))
    code, doc = delta(s2, s1, target_dsn)
    assert code == 1 and "no longer matches" in doc["error"]
    assert rows_of(target_dsn) == before


def test_the_delta_progress_names_each_step(s1: Path, s2: Path, target_dsn: str, tmp_path: Path) -> None:
    assert migrate("load", "--snapshot", str(s1), "--dsn", target_dsn)[0] == 0
    progress = tmp_path / "progress.log"
    code, doc = delta(s2, s1, target_dsn, "--progress", str(progress))
    assert code == 0, doc["error"]
    said = [line.split(" ", 2)[2] for line in progress.read_text().splitlines()]
    assert any(s.startswith("comparing the two snapshots") for s in said), said
    assert any(s.startswith("reports delete 3/3 rows") for s in said), said
    assert any(s.startswith("examinations 5/5 rows") for s in said), said
    assert said[-1].startswith("done "), said
    assert {t.kind for t in TABLES} == set(doc["tables"])
