"""Query parsing and response rendering: the rules both backends rely on."""

from __future__ import annotations

import datetime as dt

import pytest
from radiology_contract import query, responses
from radiology_contract.fields import EXAMINATION_FIELDS


def details(fn, params) -> dict[str, str]:
    with pytest.raises(query.ContractValidationError) as err:
        fn(params)
    return {d.field: d.message for d in err.value.details}


def test_defaults_last_value_and_unknown_ignored() -> None:
    q = query.parse_study_query([("page_size", "5"), ("page_size", "7"), ("bogus", "x"), ("q", "  ")])
    assert q.page == query.Page(1, 7) and q.filters.q is None


def test_every_problem_is_reported() -> None:
    found = details(query.parse_study_query, {"page": "0", "page_size": "abc", "exam_status": "x",
                                              "date_from": "2024-02-30"})  # fmt: skip
    assert set(found) == {"page", "page_size", "exam_status", "date_from"}


def test_date_range_bounds() -> None:
    q = query.parse_study_query({"date_from": "2024-03-01", "date_to": "2024-03-31"})
    assert q.filters.dates.start == dt.datetime(2024, 3, 1)
    assert q.filters.dates.end == dt.datetime(2024, 4, 1)
    assert "date_to" in details(query.parse_study_query, {"date_from": "2024-03-02", "date_to": "2024-03-01"})


def test_task_create_body() -> None:
    t = query.parse_task_create(b'{"name": " x ", "task_type": "monthly_volume", "filters": {"modality": "CT"}}')
    assert t.name == "x" and t.filters.modality == "CT"
    assert set(details(query.parse_task_create, b'{"name": "", "task_type": "z", "filters": {"oops": 1}}')) == {
        "name", "task_type", "filters",
    }  # fmt: skip
    assert "body" in details(query.parse_task_create, b"[]")


@pytest.mark.parametrize(
    "body",
    [
        rb'{"name": "a\ud800b", "task_type": "monthly_volume"}',  # an unpaired surrogate: no Unicode text
        rb'{"name": "x", "task_type": "monthly_volume", "filters": {"q": "\udfff"}}',
        rb'{"name": "x", "task_type": "monthly_volume", "filters": {"\ud800": "1"}}',  # echoed in a message
        rb'{"name": "x", "task_type": "monthly_volume", "extra": "\ud800"}',
        b'{"name": "x", "task_type": "monthly_volume", "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,  # nested too deeply to parse
    ],
)
def test_task_create_bodies_that_were_server_errors_are_refused(body: bytes) -> None:
    """Each of these was a 500 on both services: refused like any other body that is no JSON object."""
    assert details(query.parse_task_create, body) == {"body": "must be a JSON object"}
    # a surrogate pair is one character and fine
    assert query.parse_task_create(rb'{"name": "\ud83d\ude00", "task_type": "monthly_volume"}').name == "\U0001f600"


def test_task_name_must_not_contain_nul() -> None:
    """The legacy service stored such a name, PostgreSQL cannot hold it (it was a 500 on the new service)."""
    assert details(query.parse_task_create, rb'{"name": "a\u0000b", "task_type": "monthly_volume"}') == {
        "name": "must not contain NUL characters"
    }


def test_request_line_limit() -> None:
    assert responses.request_line_length("GET", b"/api/v1/health", "1.1") == len(b"GET /api/v1/health HTTP/1.1")
    status, body = responses.uri_too_long()
    assert status == 414 and body["error"]["code"] == "uri_too_long"
    assert body["error"]["message"] == "The request line is longer than the limit of 8190 bytes."


def test_render_and_record() -> None:
    row = ["EX1", "MRN1", None, "F", "outpatient", "Knee", None, "MR", None, "scheduled",
           dt.datetime(2024, 1, 2, 3, 4, 5, 600), None, None, "Dr. Zoë"]  # fmt: skip
    rec = responses.record(EXAMINATION_FIELDS, row)
    assert list(rec) == [f.name for f in EXAMINATION_FIELDS]
    assert rec["order_datetime"] == "2024-01-02T03:04:05" and rec["patient_age"] is None
    assert responses.render({"a": "Zoë", "b": [1, None]}) == '{"a":"Zoë","b":[1,null]}'.encode()
    with pytest.raises(ValueError):
        responses.format_datetime(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))


def test_error_shapes() -> None:
    status, body = responses.writes_frozen()
    assert status == 503 and body["error"]["code"] == "writes_frozen" and body["error"]["details"] == []
    status, body = responses.validation_error([query.ErrorDetail("page", "bad")])
    assert status == 422 and body["error"]["details"] == [{"field": "page", "message": "bad"}]


def test_server_timing_goes_there_and_back() -> None:
    assert responses.server_timing(0.0123) == "db;dur=12.3"
    assert responses.server_timing_seconds(responses.server_timing(1.5)) == 1.5
    assert responses.server_timing_seconds('cache;desc="hit", db;dur="250"') == 0.25
    for value in (None, "", "cache;dur=3", "db", "db;dur=soon", "db;dur=-1", "db;dur=inf"):
        assert responses.server_timing_seconds(value) is None, value
