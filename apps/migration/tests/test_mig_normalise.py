"""The normalised row text is unambiguous and the same in DuckDB and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import duckdb
import psycopg
import pytest
from mig_helpers import pg_execute
from radiology_contract.tables import EXAMINATIONS
from radiology_migration import sample
from radiology_migration.normalise import Dialect, canonical_json, decode, encode_python, row_hash, row_text

BASE = {
    "exam_id": "EX1",
    "medical_record_no": "MRN1",
    "patient_age": 40,
    "patient_gender": "F",
    "exam_source": "outpatient",
    "exam_item": "CT Head",
    "exam_description": "",
    "modality": "CT",
    "equipment_name": "Scanner",
    "exam_status": "completed",
    "order_datetime": dt.datetime(2024, 3, 1, 10, 0, 0),
    "check_in_datetime": None,
    "report_certified_datetime": dt.datetime(2024, 3, 1, 10, 0, 0, 250000),
    "certified_physician": "Dr. Ünal \x1f 'x'",
}


def _duck_hashes(rows: list[dict[str, object]]) -> list[str]:
    con = duckdb.connect()
    sample.create_duckdb_tables(con, keys=False)
    cols = EXAMINATIONS.columns
    for row in rows:
        con.execute(
            f"INSERT INTO medical_examinations_fact VALUES ({', '.join('?' for _ in cols)})", [row[c] for c in cols]
        )
    sql = f"SELECT {row_hash(EXAMINATIONS, Dialect.DUCKDB)} FROM medical_examinations_fact"
    return [r[0] for r in con.execute(sql).fetchall()]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("exam_description", None),  # NULL vs empty string
        ("order_datetime", dt.datetime(2024, 3, 1, 10, 0, 1)),  # one second
        ("report_certified_datetime", dt.datetime(2024, 3, 1, 10, 0, 0, 250001)),  # one microsecond
        ("patient_age", None),
        ("certified_physician", "Dr. Ünal \x1f 'x' "),  # trailing space
    ],
)
def test_a_single_change_changes_the_row_hash(field: str, value: object) -> None:
    changed = {**BASE, field: value}
    first, second = _duck_hashes([BASE, changed])
    assert first != second


def test_moving_text_across_a_field_boundary_changes_the_hash() -> None:
    # Without the escape for separator characters these two rows would concatenate to the same text.
    a = {**BASE, "exam_item": "CT\x1fHead", "exam_description": "x"}
    b = {**BASE, "exam_item": "CT", "exam_description": "Head\x1fx"}
    first, second = _duck_hashes([a, b])
    assert first != second


def test_duckdb_and_postgres_produce_the_same_row_text(target_dsn: str) -> None:
    con = duckdb.connect()
    sample.create_duckdb_tables(con, keys=False)
    cols = EXAMINATIONS.columns
    rows = [BASE, {**BASE, "exam_id": "EX2", "exam_description": None, "certified_physician": "plain"}]
    placeholders = ", ".join("?" for _ in cols)
    for row in rows:
        con.execute(f"INSERT INTO medical_examinations_fact VALUES ({placeholders})", [row[c] for c in cols])
    duck = con.execute(
        f"SELECT {row_text(EXAMINATIONS, Dialect.DUCKDB)} FROM medical_examinations_fact ORDER BY exam_id"
    ).fetchall()
    for row in rows:
        pg_execute(
            target_dsn,
            f"INSERT INTO examinations ({', '.join(cols)}) VALUES ({', '.join('%s' for _ in cols)})",
            [row[c] for c in cols],
        )
    with psycopg.connect(target_dsn) as conn:
        conn.execute("SET DateStyle = 'ISO, MDY'")
        pg = conn.execute(
            f"SELECT {row_text(EXAMINATIONS, Dialect.POSTGRES)} FROM examinations ORDER BY exam_id"
        ).fetchall()
    assert duck == pg
    assert "\x1e" in duck[1][0]  # the NULL marker is present for the NULL description


def test_python_encoding_round_trips() -> None:
    assert decode(encode_python(None)) is None
    assert decode(encode_python("")) == ""
    assert decode(encode_python("a\x1fb")) == "a\x1fb"
    assert encode_python("a\x1fb") != encode_python("a") + "\x1f" + encode_python("b")


def test_json_is_canonicalised() -> None:
    assert canonical_json('{"b": 1, "a": [1, 2]}') == canonical_json('{"a":[1,2],"b":1}')
    assert canonical_json('{"a": 1}') != canonical_json('{"a": 2}')
