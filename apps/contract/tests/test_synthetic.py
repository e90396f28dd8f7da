"""The synthetic generator: deterministic, consistent statuses, the same rows in DuckDB and in .xlsx."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from radiology_contract import synthetic
from radiology_contract.duckdb_schema import schema_problems
from radiology_contract.fields import EXAMINATION_FIELDS
from radiology_contract.workbook import read_workbook

COL = {f.name: i for i, f in enumerate(EXAMINATION_FIELDS)}


@pytest.fixture(scope="module")
def data() -> synthetic.GeneratedData:
    return synthetic.generate(600, seed=11)


def test_deterministic_and_seed_sensitive(data: synthetic.GeneratedData) -> None:
    assert synthetic.generate(600, seed=11) == data
    assert synthetic.generate(600, seed=12).examinations != data.examinations


def test_statuses_agree_with_datetimes_and_reports(data: synthetic.GeneratedData) -> None:
    reported = {r[1] for r in data.reports}
    for row in data.examinations:
        status = row[COL["exam_status"]]
        checked, certified = row[COL["check_in_datetime"]], row[COL["report_certified_datetime"]]
        assert (checked is None) == (status in ("scheduled", "cancelled"))
        assert (certified is not None) == (status == "certified") == (row[COL["certified_physician"]] is not None)
        assert (row[COL["exam_id"]] in reported) == (status in ("reported", "certified"))
        if checked is not None:
            assert checked > row[COL["order_datetime"]]
        if certified is not None:
            assert certified > checked
    assert len({r[COL["exam_status"]] for r in data.examinations}) == 7


def test_text_exercises_search_parity(data: synthetic.GeneratedData) -> None:
    text = " ".join(str(v) for row in data.examinations for v in row if isinstance(v, str))
    for needle in ("'", '"', "%", "_", "\\", "ü"):
        assert needle in text


def test_tasks_are_computed_from_the_data(data: synthetic.GeneratedData) -> None:
    import json

    status_task = next(t for t in data.analysis_tasks if t[1].startswith("Status distribution"))
    result = json.loads(status_task[5])
    assert result["total"] == len(data.examinations)
    assert sum(b["count"] for b in result["buckets"]) == len(data.examinations)
    assert sum(1 for t in data.analysis_tasks if t[8] is not None) == 1


def test_duckdb_and_xlsx_hold_the_same_rows(tmp_path: Path, data: synthetic.GeneratedData) -> None:
    db = tmp_path / "s.duckdb"
    counts = synthetic.write_duckdb(db, rows=600, seed=11)
    assert (counts.examinations, counts.reports, counts.analysis_tasks) == (
        600, len(data.reports), len(data.analysis_tasks),
    )  # fmt: skip
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert schema_problems(con) == []
        assert con.execute("SELECT * FROM medical_examinations_fact ORDER BY exam_id").fetchall() == data.examinations
    finally:
        con.close()
    book = tmp_path / "s.xlsx"
    synthetic.write_xlsx(book, data=data)
    read = read_workbook(book)
    assert (read.examinations, read.reports, read.analysis_tasks) == (
        data.examinations, data.reports, data.analysis_tasks,
    )  # fmt: skip
    with pytest.raises(FileExistsError):
        synthetic.write_duckdb(db, rows=10)
