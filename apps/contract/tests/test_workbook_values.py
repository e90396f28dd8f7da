"""Value conversion of the workbook reader and its file-level refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from radiology_contract.fields import EXAMINATION_FIELDS, by_name
from radiology_contract.workbook import Code, ValueProblem, WorkbookError, convert, read_workbook

F = by_name(EXAMINATION_FIELDS)


def code_of(field: str, value: object) -> str:
    with pytest.raises(ValueProblem) as err:
        convert(F[field], value)
    return err.value.code


def test_datetimes_are_normalised_to_naive_seconds() -> None:
    f = F["order_datetime"]
    assert convert(f, dt.datetime(2024, 1, 1, 10, 0, 0, 999_999)) == dt.datetime(2024, 1, 1, 10, 0, 1)
    assert convert(f, dt.datetime(2024, 1, 1, 10, 0, 0, 1)) == dt.datetime(2024, 1, 1, 10, 0, 0)
    assert convert(f, "2024-01-01T10:00:00.7") == dt.datetime(2024, 1, 1, 10, 0, 0)
    assert convert(f, " 2024-01-01 10:00 ") == dt.datetime(2024, 1, 1, 10, 0)
    assert convert(f, "2024-01-01") == dt.datetime(2024, 1, 1)
    assert code_of("order_datetime", "2024-02-30 10:00") == Code.INVALID_DATETIME
    assert code_of("order_datetime", "2024-01-01T10:00:00+02:00") == Code.INVALID_DATETIME
    assert code_of("order_datetime", "yesterday") == Code.INVALID_DATETIME
    assert code_of("order_datetime", "1800-01-01") == Code.OUT_OF_RANGE
    assert code_of("order_datetime", 45000) == Code.WRONG_TYPE


def test_integers_and_text() -> None:
    assert convert(F["patient_age"], 42.0) == 42
    assert convert(F["patient_age"], "42") == 42
    assert convert(F["patient_age"], None) is None
    assert code_of("patient_age", 4.5) == Code.WRONG_TYPE
    assert code_of("patient_age", True) == Code.WRONG_TYPE
    assert code_of("patient_age", 131) == Code.OUT_OF_RANGE
    assert convert(F["exam_id"], 12345) == "12345"
    assert convert(F["exam_id"], "  EX1 ") == "EX1"
    assert code_of("exam_id", "   ") == Code.BLANK_REQUIRED
    assert code_of("exam_id", "x" * 33) == Code.TOO_LONG
    assert code_of("modality", "ct") == Code.INVALID_CHOICE


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError) as err:
        read_workbook(tmp_path / "nope.xlsx")
    assert err.value.codes == {Code.FILE_MISSING}


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    path.write_bytes(b"PK" + b"\0" * 2000)
    with pytest.raises(WorkbookError) as err:
        read_workbook(path, max_bytes=1000)
    assert err.value.codes == {Code.FILE_TOO_LARGE}
