"""The bad-workbook corpus: each file gets its specific error and leaves the database exactly as it was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from legacy_api.cli import main
from legacy_api.database import checksum
from legacy_api.importer import import_workbook
from openpyxl import Workbook
from radiology_contract import synthetic
from radiology_contract.fields import EXAMINATION_FIELDS, REPORT_FIELDS
from radiology_contract.tables import TABLES
from radiology_contract.workbook import Code, WorkbookError

NAMES = [f.name for f in EXAMINATION_FIELDS]


def exam(i: int, **overrides: object) -> list[object]:
    row = {
        "exam_id": f"NEW{i:05d}",
        "medical_record_no": f"MRN{i:07d}",
        "patient_age": 40,
        "patient_gender": "F",
        "exam_source": "outpatient",
        "exam_item": "CT Head without contrast",
        "exam_description": None,
        "modality": "CT",
        "equipment_name": "Siemens SOMATOM Force",
        "exam_status": "scheduled",
        "order_datetime": dt.datetime(2025, 1, 2, 8, 30),
        "check_in_datetime": None,
        "report_certified_datetime": None,
        "certified_physician": None,
    }
    row.update(overrides)
    return [row[n] for n in NAMES]


def write_book(path: Path, sheets: dict[str, list[list[object]]], tweak: Callable[[Workbook], None] | None = None):
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    if tweak:
        tweak(book)
    book.save(path)
    return path


def state(db: Path) -> dict[str, tuple[int, str | None]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t.kind: checksum(con, t) for t in TABLES}
    finally:
        con.close()


def _merged(book: Workbook) -> None:
    book["examinations"].merge_cells("A2:B2")


def _formula(book: Workbook) -> None:
    book["examinations"]["C2"] = "=20+20"


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "empty_file": (lambda p: (p.write_bytes(b""), p)[1], Code.EMPTY_FILE),
    "not_a_workbook": (lambda p: (p.write_text("exam_id,medical_record_no\nA,B\n"), p)[1], Code.NOT_A_WORKBOOK),
    "broken_zip": (lambda p: (p.write_bytes(b"PK\x03\x04garbage" * 10), p)[1], Code.NOT_A_WORKBOOK),
    "wrong_sheet": (lambda p: write_book(p, {"Sheet1": [NAMES, exam(1)]}), Code.MISSING_SHEET),
    "extra_sheet": (lambda p: write_book(p, {"examinations": [NAMES, exam(1)], "notes": [["x"]]}), Code.UNKNOWN_SHEET),
    "header_only": (lambda p: write_book(p, {"examinations": [NAMES]}), Code.NO_ROWS),
    "empty_sheet": (lambda p: write_book(p, {"examinations": []}), Code.NO_HEADER),
    "unknown_column": (lambda p: write_book(p, {"examinations": [[*NAMES, "Ward"], [*exam(1), "3B"]]}),
                       Code.UNKNOWN_COLUMN),
    "missing_required_column": (lambda p: write_book(p, {"examinations": [NAMES[1:], exam(1)[1:]]}),
                                Code.MISSING_COLUMN),
    "duplicate_column": (lambda p: write_book(p, {"examinations": [[*NAMES, "Exam ID"], [*exam(1), "X"]]}),
                         Code.DUPLICATE_COLUMN),
    "blank_required_cell": (lambda p: write_book(p, {"examinations": [NAMES, exam(1, exam_item="  ")]}),
                            Code.BLANK_REQUIRED),
    "wrong_type": (lambda p: write_book(p, {"examinations": [NAMES, exam(1, patient_age="forty")]}), Code.WRONG_TYPE),
    "out_of_range": (lambda p: write_book(p, {"examinations": [NAMES, exam(1, patient_age=131)]}), Code.OUT_OF_RANGE),
    "invalid_choice": (lambda p: write_book(p, {"examinations": [NAMES, exam(1, exam_status="done")]}),
                       Code.INVALID_CHOICE),
    "too_long": (lambda p: write_book(p, {"examinations": [NAMES, exam(1, exam_id="X" * 33)]}), Code.TOO_LONG),
    "impossible_date": (lambda p: write_book(p, {"examinations": [NAMES, exam(1, order_datetime="2025-02-30 10:00")]}),
                        Code.INVALID_DATETIME),
    "duplicate_key_in_file": (lambda p: write_book(p, {"examinations": [NAMES, exam(1), exam(2), exam(1)]}),
                              Code.DUPLICATE_KEY),
    "duplicate_against_existing": (lambda p: write_book(p, {"examinations": [NAMES, exam(1, exam_id="EX00000001")]}),
                                   Code.DUPLICATE_EXISTING),
    "unknown_report_reference": (
        lambda p: write_book(p, {"examinations": [NAMES, exam(1)],
                                 "reports": [[f.name for f in REPORT_FIELDS],
                                             ["RPX1", "NOPE1", "text", None, None, dt.datetime(2025, 1, 3)]]}),
        Code.UNKNOWN_REFERENCE),
    "formula_cell": (lambda p: write_book(p, {"examinations": [NAMES, exam(1)]}, _formula), Code.FORMULA_CELL),
    "merged_cells": (lambda p: write_book(p, {"examinations": [NAMES, exam(1), exam(2)]}, _merged), Code.MERGED_CELLS),
    "value_without_header": (lambda p: write_book(p, {"examinations": [NAMES, [*exam(1), None, "stray"]]}),
                             Code.UNNAMED_COLUMN),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_workbook_is_refused_and_database_unchanged(case: str, seeded_db: Path, tmp_path: Path) -> None:
    make, code = CASES[case]
    book = make(tmp_path / f"{case}.xlsx")
    before = state(seeded_db)
    with pytest.raises(WorkbookError) as err:
        import_workbook(seeded_db, book)
    assert code in err.value.codes, err.value.report()
    problem = next(p for p in err.value.problems if p.code == code)
    assert problem.message
    assert state(seeded_db) == before


def test_problems_name_sheet_row_field_and_value(seeded_db: Path, tmp_path: Path) -> None:
    book = write_book(tmp_path / "b.xlsx", {"examinations": [NAMES, exam(1), exam(2, patient_age=-1, modality="XX")]})
    with pytest.raises(WorkbookError) as err:
        import_workbook(seeded_db, book)
    found = {(p.sheet, p.row, p.field, p.value, p.code) for p in err.value.problems}
    assert ("examinations", 3, "patient_age", "-1", Code.OUT_OF_RANGE) in found
    assert ("examinations", 3, "modality", "XX", Code.INVALID_CHOICE) in found
    assert err.value.total == 2


def test_problems_are_bounded_but_counted(seeded_db: Path, tmp_path: Path) -> None:
    rows = [NAMES] + [exam(i, patient_age="x") for i in range(80)]
    with pytest.raises(WorkbookError) as err:
        import_workbook(seeded_db, write_book(tmp_path / "many.xlsx", {"examinations": rows}))
    assert err.value.total == 80
    assert len(err.value.problems) == 50


def test_failed_import_into_new_file_leaves_no_file(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    with pytest.raises(WorkbookError):
        import_workbook(db, write_book(tmp_path / "b.xlsx", {"examinations": [NAMES]}))
    assert not db.exists()


def test_too_many_rows(seeded_db: Path, tmp_path: Path) -> None:
    from radiology_contract.workbook import read_workbook

    book = write_book(tmp_path / "big.xlsx", {"examinations": [NAMES] + [exam(i) for i in range(30)]})
    with pytest.raises(WorkbookError) as err:
        read_workbook(book, max_rows=20)
    assert Code.TOO_MANY_ROWS in err.value.codes


def test_good_workbook_round_trip_and_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "good.xlsx"
    synthetic.write_xlsx(book, rows=200, seed=3, labels=True)
    db = tmp_path / "fresh.duckdb"
    assert main(["import", "--db", str(db), str(book)]) == 0
    out = capsys.readouterr().out
    assert "medical_examinations_fact" in out and "Total import time" in out
    expected = synthetic.generate(200, 3)
    con = duckdb.connect(str(db), read_only=True)
    try:
        for t in TABLES:
            rows = con.execute(f"SELECT * FROM {t.duckdb} ORDER BY {t.key}").fetchall()
            assert rows == getattr(expected, t.kind)
    finally:
        con.close()
    # a second import of the same file is refused as duplicates, exit code 1
    assert main(["import", "--db", str(db), str(book)]) == 1
    assert "duplicate_existing" in capsys.readouterr().err


def test_reports_may_reference_examinations_already_loaded(seeded_db: Path, tmp_path: Path) -> None:
    header = [f.name for f in REPORT_FIELDS]
    book = write_book(
        tmp_path / "r.xlsx",
        {"examinations": [NAMES, exam(1)], "reports": [header, ["RPNEW1", "EX00000005", "text", None, None,
                                                                 dt.datetime(2025, 1, 3)]]},
    )  # fmt: skip
    before = state(seeded_db)
    report = import_workbook(seeded_db, book)
    assert report.rows == 2
    after = state(seeded_db)
    assert after["examinations"][0] == before["examinations"][0] + 1
    assert after["reports"][0] == before["reports"][0] + 1


@pytest.mark.slow
def test_very_large_workbook_imports(tmp_path: Path) -> None:
    book = tmp_path / "large.xlsx"
    synthetic.write_xlsx(book, rows=100_000, seed=1)
    report = import_workbook(tmp_path / "large.duckdb", book)
    assert report.tables[0].imported == 100_000


def test_count_mismatch_rolls_back(seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import legacy_api.importer as importer

    real = importer._load

    def lossy(cur, table, rows, staging):  # drops the last row, as a buggy batch would
        real(cur, table, rows[:-1], staging)

    monkeypatch.setattr(importer, "_load", lossy)
    before = state(seeded_db)
    with pytest.raises(importer.ImportFailedError, match="COUNT"):
        import_workbook(seeded_db, write_book(tmp_path / "b.xlsx", {"examinations": [NAMES, exam(1), exam(2)]}))
    assert state(seeded_db) == before
