"""Response shapes: the list envelope, the error body, datetime and JSON rendering.

Both backends build their response bodies with these functions and send the bytes of `render` as they
are, so the same data gives the same bytes whichever backend answers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .fields import ANALYSIS_TASK_API_FIELDS, Field, FieldType
from .query import ErrorDetail, Page

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_CONTENT_TYPE = "application/json"
BACKEND_HEADER = "X-Backend"  # which backend answered: "legacy" or "imaging"
REQUEST_ID_HEADER = "X-Request-ID"
# The legacy's reads (searches, statistics, the tasks list) say what their query cost, apart from their wait for a
# turn on DuckDB (legacy_api.app.Service): `Server-Timing: db;dur=<milliseconds>`. The cutover's API diff paces
# itself by it.
SERVER_TIMING_HEADER = "Server-Timing"
SERVER_TIMING_METRIC = "db"
RETRY_AFTER_SECONDS = 30  # sent with 503 while writes are frozen for a cutover
# The largest request body either service accepts (Django's DATA_UPLOAD_MAX_MEMORY_SIZE is this value); a
# larger one, declared by Content-Length or grown while read (chunked), answers 413 payload_too_large.
MAX_REQUEST_BODY_BYTES = 1024 * 1024
# The longest request line (method, target with its query string and HTTP version, without the CRLF) either
# service reads: gunicorn's largest limit_request_line, and no more than fits nginx's default header buffer in
# front. A longer one answers 414 uri_too_long before its headers are read.
MAX_REQUEST_LINE_BYTES = 8190

# HTTP status of each error code.
ERROR_STATUS = {
    "bad_host": 400,
    "payload_too_large": 413,
    "uri_too_long": 414,
    "validation_error": 422,
    "not_found": 404,
    "method_not_allowed": 405,
    "writes_frozen": 503,
    "service_unavailable": 503,
    "internal_error": 500,
}


def server_timing(seconds: float) -> str:
    """The Server-Timing value of a query that ran `seconds`."""
    return f"{SERVER_TIMING_METRIC};dur={seconds * 1000:.1f}"


def server_timing_seconds(value: str | None) -> float | None:
    """The seconds a Server-Timing value gives its `db` metric; None when it names none (or not a number)."""
    for metric in (value or "").split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        if name != SERVER_TIMING_METRIC:
            continue
        for param in params:
            key, _, number = param.partition("=")
            if key.strip() == "dur":
                try:
                    ms = float(number.strip().strip('"'))
                except ValueError:
                    return None
                return ms / 1000 if 0 <= ms < float("inf") else None
    return None


def format_datetime(value: dt.datetime | None) -> str | None:
    """ISO 8601 with second precision and no zone: YYYY-MM-DDTHH:MM:SS. Sub-seconds are dropped."""
    if value is None:
        return None
    if value.tzinfo is not None:
        raise ValueError(f"aware datetime {value!r}: the contract stores naive local time")
    return value.strftime(DATETIME_FORMAT)


def parse_datetime(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, DATETIME_FORMAT)


def render(obj: Any) -> bytes:
    """The one JSON encoding of the contract: UTF-8, no ASCII escaping, compact separators, key order kept."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _value(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.type is FieldType.DATETIME:
        return format_datetime(value)
    if f.type is FieldType.INT:
        return int(value)
    if f.type is FieldType.JSON:
        return json.loads(value) if isinstance(value, (str, bytes)) else value
    return str(value)


def record(fields: Sequence[Field], values: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
    """One record as the API shows it: keys in schema order, typed values, null for missing."""
    if isinstance(values, Mapping):
        return {f.name: _value(f, values.get(f.name)) for f in fields}
    return {f.name: _value(f, v) for f, v in zip(fields, values, strict=True)}


def task_record(fields: Sequence[Field], values: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
    full = record(fields, values)
    return {name: full[name] for name in ANALYSIS_TASK_API_FIELDS}


def envelope(data: list[Any], total: int, page: Page, filters: Mapping[str, Any]) -> dict[str, Any]:
    return {"data": data, "total": total, "page": page.page, "page_size": page.page_size, "filters": dict(filters)}


def buckets(pairs: Iterable[tuple[Any, int]]) -> list[dict[str, Any]]:
    """Grouped counts, largest first, ties by key; a null key sorts last among equals."""
    items = [(k, int(c)) for k, c in pairs]
    items.sort(key=lambda kc: (-kc[1], kc[0] is None, "" if kc[0] is None else str(kc[0])))
    return [{"key": k, "count": c} for k, c in items]


def error(code: str, message: str, details: Iterable[ErrorDetail] = ()) -> tuple[int, dict[str, Any]]:
    """The one error shape: {"error": {"code", "message", "details": [{"field", "message"}]}}."""
    return ERROR_STATUS[code], {"error": {"code": code, "message": message, "details": [d.as_dict() for d in details]}}


def validation_error(details: Iterable[ErrorDetail]) -> tuple[int, dict[str, Any]]:
    return error("validation_error", "The request is invalid.", details)


def not_found(what: str = "resource") -> tuple[int, dict[str, Any]]:
    return error("not_found", f"The {what} was not found.")


def method_not_allowed() -> tuple[int, dict[str, Any]]:
    return error("method_not_allowed", "The method is not allowed for this resource.")


def writes_frozen() -> tuple[int, dict[str, Any]]:
    return error(
        "writes_frozen",
        "Writes are paused for a planned maintenance switch. Retry shortly.",
    )


def service_unavailable(reason: str) -> tuple[int, dict[str, Any]]:
    return error("service_unavailable", reason)


def bad_host() -> tuple[int, dict[str, Any]]:
    """The Host header names no host this service is configured to answer for (the host is not echoed)."""
    return error("bad_host", "The Host header of the request is not allowed.")


def payload_too_large(limit: int = MAX_REQUEST_BODY_BYTES) -> tuple[int, dict[str, Any]]:
    return error("payload_too_large", f"The request body is larger than the limit of {limit} bytes.")


def uri_too_long(limit: int = MAX_REQUEST_LINE_BYTES) -> tuple[int, dict[str, Any]]:
    return error("uri_too_long", f"The request line is longer than the limit of {limit} bytes.")


def request_line_length(method: str, target: bytes, http_version: str) -> int:
    """Bytes of the request line `METHOD TARGET HTTP/x.y` (without its CRLF), as MAX_REQUEST_LINE_BYTES counts."""
    return len(method.encode("latin-1")) + 1 + len(target) + len(" HTTP/") + len(http_version)


def internal_error() -> tuple[int, dict[str, Any]]:
    return error("internal_error", "An internal error occurred. It has been logged.")
