"""`import_excel`: the contract's reader, one transaction, COUNT verified, duplicates named, loud refusals."""

import hashlib
from pathlib import Path

import psycopg
import pytest
from openpyxl import load_workbook
from radiology_contract import tables
from radiology_testkit.postgres import PgServer

from .conftest import imaging, migrated_database


def checksum(pg: PgServer, dbname: str) -> str:
    """A digest of every row of every contract table, in key order."""
    digest = hashlib.sha256()
    with psycopg.connect(pg.dsn(dbname)) as conn:
        for table in tables.TABLES:
            for row in conn.execute(f"SELECT * FROM {table.postgres} ORDER BY {table.key}"):
                digest.update(repr(row).encode())
            digest.update(b"|")
    return digest.hexdigest()


def counts(pg: PgServer, dbname: str) -> dict[str, int]:
    with psycopg.connect(pg.dsn(dbname)) as conn:
        return {t.postgres: conn.execute(f"SELECT count(*) FROM {t.postgres}").fetchone()[0] for t in tables.TABLES}


@pytest.fixture(scope="module")
def fresh(pg: PgServer) -> dict[str, str]:
    return migrated_database(pg, "imaging_import")


def test_import_loads_every_row_and_prints_a_summary(pg: PgServer, fresh: dict[str, str], workbook: Path) -> None:
    result = imaging(["import_excel", str(workbook)], fresh)
    book = load_workbook(workbook, read_only=True)
    rows = {title: sum(1 for _ in book[title].iter_rows(min_row=2)) for title in book.sheetnames}
    expected = {
        "examinations": rows["examinations"],
        "exam_reports": rows["reports"],
        "analysis_tasks": rows["analysis_tasks"],
    }
    assert expected["examinations"] == 1250
    assert counts(pg, "imaging_import") == expected
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["table", "name", "read", "imported", "errors", "time"]
    for table, n in expected.items():
        line = next(x for x in lines if x.startswith(table + " "))
        assert line.split()[1:4] == [str(n), str(n), "0"]
    assert f"imported {sum(expected.values())} rows" in result.stdout


def test_second_import_is_refused_naming_the_duplicates(pg: PgServer, fresh: dict[str, str], workbook: Path) -> None:
    before = checksum(pg, "imaging_import")
    result = imaging(["import_excel", str(workbook)], fresh, check=False)
    assert result.returncode != 0
    assert "import refused, database imaging_import" in result.stderr
    assert "already loaded in the database" in result.stderr
    assert "EX00000001" in result.stderr
    assert checksum(pg, "imaging_import") == before


def test_invalid_workbook_changes_nothing(pg: PgServer, fresh: dict[str, str], workbook: Path, tmp_path: Path) -> None:
    before = checksum(pg, "imaging_import")
    book = load_workbook(workbook)
    sheet = book["examinations"]
    sheet.cell(row=1, column=sheet.max_column + 1, value="favourite_colour")
    sheet.cell(row=3, column=10, value="lost")  # exam_status not in the allowed values
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    result = imaging(["import_excel", str(bad)], fresh, check=False)
    assert result.returncode != 0
    assert "favourite_colour" in result.stderr
    assert checksum(pg, "imaging_import") == before


def test_missing_file_is_named(fresh: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "nope.xlsx"
    result = imaging(["import_excel", str(missing)], fresh, check=False)
    assert result.returncode != 0
    assert str(missing) in result.stderr


def test_new_rows_are_imported_next_to_existing_ones(pg: PgServer, fresh: dict[str, str], tmp_path: Path) -> None:
    """Reports may reference examinations already in the database; the whole file lands or nothing."""
    before = counts(pg, "imaging_import")
    from openpyxl import Workbook

    book = Workbook()
    exams = book.active
    exams.title = "examinations"
    exams.append([f.name for f in tables.EXAMINATIONS.fields])
    exams.append(["EX-EXTRA-1", "MRN-X", 40, "F", "outpatient", "US Thyroid", None, "US", None, "scheduled",
                  "2025-07-01 08:00:00", None, None, None])  # fmt: skip
    reports = book.create_sheet("reports")
    reports.append([f.name for f in tables.REPORTS.fields])
    reports.append(["RP-EXTRA-1", "EX00000001", "Follow-up text", None, None, "2025-07-02 09:00:00"])
    path = tmp_path / "extra.xlsx"
    book.save(path)
    imaging(["import_excel", str(path)], fresh)
    after = counts(pg, "imaging_import")
    assert after["examinations"] == before["examinations"] + 1
    assert after["exam_reports"] == before["exam_reports"] + 1
