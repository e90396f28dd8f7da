"""`verify`: counts, then keys, then checksums; each failure names the table, keys and fields."""

from __future__ import annotations

from pathlib import Path

import pytest
from mig_helpers import migrate, pg_execute
from test_mig_load import unconstrained_copy


@pytest.fixture
def loaded(snapshot: Path, target_dsn: str) -> tuple[Path, str]:
    code, doc = migrate("load", "--snapshot", str(snapshot), "--dsn", target_dsn)
    assert code == 0, doc
    return snapshot, target_dsn


def verify(snapshot: Path, dsn: str) -> tuple[int, dict]:
    return migrate("verify", "--snapshot", str(snapshot), "--dsn", dsn)


def checksum_table(doc: dict, table: str) -> dict:
    gate = doc["gates"][-1]
    assert gate["gate"] == "checksums" and not gate["ok"]
    return gate["tables"][table]


def exam_without_report(dsn: str, offset: int = 0) -> str:
    return pg_execute(
        dsn,
        "SELECT exam_id FROM examinations e "
        "WHERE NOT EXISTS (SELECT 1 FROM exam_reports r WHERE r.exam_id = e.exam_id) "
        "ORDER BY exam_id OFFSET %s LIMIT 1",
        [offset],
    )[0][0]


def test_clean_copy_passes_every_gate(loaded: tuple[Path, str]) -> None:
    code, doc = verify(*loaded)
    assert code == 0, doc["error"]
    assert [(g["gate"], g["ok"]) for g in doc["gates"]] == [("counts", True), ("keys", True), ("checksums", True)]
    assert doc["rows_verified"] > 1250 and doc["check_mode"] is True
    # Both sides keep their keys by constraint: the key gate reads the catalogs, it does not scan.
    proof = doc["gates"][1]["proof"]
    assert proof["snapshot"] == {
        "examinations": "PRIMARY KEY (exam_id)",
        "reports": "PRIMARY KEY (report_id)",
        "analysis_tasks": "PRIMARY KEY (task_id)",
    }
    assert proof["postgres"] == {
        "examinations": "PRIMARY KEY examinations_pkey (exam_id)",
        "reports": "PRIMARY KEY exam_reports_pkey (report_id)",
        "analysis_tasks": "PRIMARY KEY analysis_tasks_pkey (task_id)",
    }


def test_a_key_no_constraint_keeps_is_scanned_and_its_duplicates_named(loaded: tuple[Path, str]) -> None:
    snapshot, dsn = loaded
    constraint = pg_execute(
        dsn, "SELECT conname FROM pg_constraint WHERE conrelid = 'analysis_tasks'::regclass AND contype = 'p'"
    )[0][0]
    victim, twin = (r[0] for r in pg_execute(dsn, "SELECT task_id FROM analysis_tasks ORDER BY task_id LIMIT 2"))
    pg_execute(dsn, f'ALTER TABLE analysis_tasks DROP CONSTRAINT "{constraint}"')
    pg_execute(dsn, "UPDATE analysis_tasks SET task_id = %s WHERE task_id = %s", [twin, victim])
    code, doc = verify(snapshot, dsn)
    assert code == 1
    gate = doc["gates"][1]
    assert gate["gate"] == "keys" and gate["proof"]["postgres"]["analysis_tasks"] == "scan"
    assert gate["proof"]["postgres"]["examinations"].startswith("PRIMARY KEY ")
    assert gate["problems"] == [
        {
            "side": "postgres",
            "table": "analysis_tasks",
            "key": "task_id",
            "null_keys": 0,
            "duplicate_count": 1,
            "duplicates": [{"key": twin, "count": 2}],
        }
    ]


def test_one_changed_field_is_named_with_its_key(loaded: tuple[Path, str]) -> None:
    snapshot, dsn = loaded
    key = pg_execute(dsn, "SELECT exam_id FROM examinations ORDER BY exam_id OFFSET 77 LIMIT 1")[0][0]
    pg_execute(dsn, "UPDATE examinations SET exam_item = exam_item || '.' WHERE exam_id = %s", [key])
    code, doc = verify(snapshot, dsn)
    assert code == 1
    table = checksum_table(doc, "examinations")
    assert table["differences"] == [{"key": key, "fields": ["exam_item"], "values": table["differences"][0]["values"]}]
    values = table["differences"][0]["values"]["exam_item"]
    assert values["postgres"] == values["snapshot"] + "."
    assert key in doc["error"] and "exam_item" in doc["error"]
    assert doc["gates"][-1]["tables"]["reports"]["ok"] is True


def test_null_versus_empty_string_is_caught(loaded: tuple[Path, str]) -> None:
    snapshot, dsn = loaded
    key = pg_execute(
        dsn, "SELECT exam_id FROM examinations WHERE certified_physician IS NULL ORDER BY exam_id LIMIT 1"
    )[0][0]
    pg_execute(dsn, "UPDATE examinations SET certified_physician = '' WHERE exam_id = %s", [key])
    code, doc = verify(snapshot, dsn)
    assert code == 1
    diff = checksum_table(doc, "examinations")["differences"][0]
    assert diff["key"] == key and diff["fields"] == ["certified_physician"]
    assert diff["values"]["certified_physician"] == {"snapshot": None, "postgres": ""}


@pytest.mark.parametrize(("interval", "field"), [("1 second", "order_datetime"), ("1 microsecond", "report_datetime")])
def test_timestamp_changes_are_caught(loaded: tuple[Path, str], interval: str, field: str) -> None:
    snapshot, dsn = loaded
    table = "examinations" if field == "order_datetime" else "exam_reports"
    key_col = "exam_id" if table == "examinations" else "report_id"
    key = pg_execute(dsn, f"SELECT {key_col} FROM {table} ORDER BY {key_col} LIMIT 1")[0][0]
    pg_execute(dsn, f"UPDATE {table} SET {field} = {field} + interval '{interval}' WHERE {key_col} = %s", [key])
    code, doc = verify(snapshot, dsn)
    assert code == 1
    kind = "examinations" if table == "examinations" else "reports"
    diff = checksum_table(doc, kind)["differences"][0]
    assert diff["key"] == key and diff["fields"] == [field]


def test_count_gate_fails_first_and_stops(loaded: tuple[Path, str]) -> None:
    snapshot, dsn = loaded
    pg_execute(dsn, "DELETE FROM exam_reports WHERE report_id = (SELECT min(report_id) FROM exam_reports)")
    code, doc = verify(snapshot, dsn)
    assert code == 1
    assert [g["gate"] for g in doc["gates"]] == ["counts"]
    mismatch = doc["gates"][0]["mismatched"]
    assert list(mismatch) == ["reports"] and mismatch["reports"]["snapshot"] == mismatch["reports"]["postgres"] + 1


def test_swapped_rows_are_listed_as_missing_and_extra(loaded: tuple[Path, str]) -> None:
    snapshot, dsn = loaded
    gone = exam_without_report(dsn)
    pg_execute(dsn, "UPDATE examinations SET exam_id = 'EX-IMPOSTER' WHERE exam_id = %s", [gone])
    code, doc = verify(snapshot, dsn)
    assert code == 1
    table = checksum_table(doc, "examinations")
    assert table["missing_in_postgres"] == [gone] and table["extra_in_postgres"] == ["EX-IMPOSTER"]


def test_duplicate_keys_in_the_source_fail_the_key_gate_by_name(loaded: tuple[Path, str], tmp_path: Path) -> None:
    snapshot, dsn = loaded
    dup = tmp_path / "dup.duckdb"
    con = unconstrained_copy(snapshot, dup)
    victim, twin = (exam_without_report(dsn, 0), exam_without_report(dsn, 1))
    con.execute("UPDATE medical_examinations_fact SET exam_id = ? WHERE exam_id = ?", [twin, victim])
    con.close()
    code, doc = verify(dup, dsn)
    assert code == 1
    assert [(g["gate"], g["ok"]) for g in doc["gates"]] == [("counts", True), ("keys", False)]
    problem = doc["gates"][1]["problems"][0]
    assert doc["gates"][1]["proof"]["snapshot"]["examinations"] == "scan"  # a copy without keys
    assert problem["side"] == "snapshot" and problem["table"] == "examinations"
    assert problem["duplicates"] == [{"key": twin, "count": 2}]
    assert f"{twin} x2" in doc["error"]


def test_task_json_is_compared_canonically(loaded: tuple[Path, str]) -> None:
    snapshot, dsn = loaded
    task = pg_execute(dsn, "SELECT task_id FROM analysis_tasks ORDER BY task_id LIMIT 1")[0][0]
    # Same JSON, different spacing and key order: equal.
    pg_execute(dsn, "UPDATE analysis_tasks SET filters = (filters::jsonb)::text WHERE task_id = %s", [task])
    code, doc = verify(snapshot, dsn)
    assert code == 0, doc["error"]
    # A changed value inside the JSON: named.
    pg_execute(
        dsn,
        "UPDATE analysis_tasks SET result = jsonb_set(result::jsonb, '{total}', '-1')::text WHERE task_id = %s",
        [task],
    )
    code, doc = verify(snapshot, dsn)
    assert code == 1
    diff = checksum_table(doc, "analysis_tasks")["differences"]
    assert diff[0]["key"] == task and diff[0]["fields"] == ["result"]


def test_many_differences_are_bounded_and_counted(loaded: tuple[Path, str]) -> None:
    snapshot, dsn = loaded
    pg_execute(dsn, "UPDATE examinations SET equipment_name = coalesce(equipment_name, '') || '*'")
    code, doc = verify(snapshot, dsn)
    assert code == 1
    table = checksum_table(doc, "examinations")
    assert table["differing_buckets"] > 16 and len(table["differences"]) == 50
    assert all(d["fields"] == ["equipment_name"] for d in table["differences"])


def test_tables_verifies_only_those_and_says_which(loaded: tuple[Path, str]) -> None:
    """A rollback verifies the tasks before the legacy takes writes, the examinations and reports after: a changed
    examination is outside the first and found by the second, with the same snapshot."""
    snapshot, dsn = loaded
    key = pg_execute(dsn, "SELECT exam_id FROM examinations ORDER BY exam_id OFFSET 5 LIMIT 1")[0][0]
    pg_execute(dsn, "UPDATE examinations SET exam_item = exam_item || '.' WHERE exam_id = %s", [key])
    code, doc = migrate("verify", "--snapshot", str(snapshot), "--dsn", dsn, "--tables", "analysis_tasks")
    assert code == 0, doc["error"]
    assert doc["tables"] == ["analysis_tasks"]
    assert doc["gates"][0]["snapshot"].keys() == {"analysis_tasks"}
    assert doc["gates"][1]["proof"]["postgres"].keys() == {"analysis_tasks"}
    assert doc["gates"][2]["tables"].keys() == {"analysis_tasks"}
    assert doc["rows_verified"] == doc["gates"][0]["snapshot"]["analysis_tasks"]
    code, doc = migrate("verify", "--snapshot", str(snapshot), "--dsn", dsn, "--tables", "reports,examinations")
    assert code == 1 and doc["tables"] == ["examinations", "reports"]
    assert key in doc["error"] and "exam_item" in doc["error"]
    assert doc["gates"][2]["tables"].keys() == {"examinations", "reports"}


def test_an_unknown_table_is_refused_by_name(loaded: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    snapshot, dsn = loaded
    with pytest.raises(SystemExit) as exit_info:
        migrate("verify", "--snapshot", str(snapshot), "--dsn", dsn, "--tables", "analysis_tasks,exams")
    assert exit_info.value.code == 2
    assert "unknown table exams: the tables are examinations, reports, analysis_tasks" in capsys.readouterr().err
