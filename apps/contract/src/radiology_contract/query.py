"""Query parameters of every endpoint: names, defaults, limits and validation, defined once.

Both backends hand the raw query string pairs (or the JSON body) to these parsers and never validate by
themselves, so a bad request gets the same status and the same bytes from either service.

Rules (documented in docs/API_CONTRACT.md):
- unknown parameters are ignored;
- a repeated parameter: the last value counts;
- an empty value is the same as an absent parameter;
- text values are stripped of surrounding white space.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .fields import (
    EXAM_SOURCES,
    EXAM_STATUSES,
    MODALITIES,
    TASK_TYPES,
)

DEFAULT_PAGE = 1
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000
MAX_Q_LENGTH = 200
MAX_FILTER_LENGTH = 128
MAX_TASK_NAME_LENGTH = 200

STUDY_ORDER = (("order_datetime", "desc"), ("exam_id", "asc"))
REPORT_ORDER = (("report_datetime", "desc"), ("report_id", "asc"))
TASK_ORDER = (("created_at", "desc"), ("task_id", "asc"))


@dataclass(frozen=True)
class ErrorDetail:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ContractValidationError(Exception):
    """A request that breaks the contract. Rendered as HTTP 422 with every problem listed."""

    def __init__(self, details: list[ErrorDetail]) -> None:
        super().__init__("; ".join(f"{d.field}: {d.message}" for d in details))
        self.details = details


@dataclass(frozen=True)
class Page:
    page: int = DEFAULT_PAGE
    page_size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True)
class DateRange:
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def start(self) -> dt.datetime | None:
        """Inclusive lower bound: the first second of date_from."""
        return dt.datetime.combine(self.date_from, dt.time()) if self.date_from else None

    @property
    def end(self) -> dt.datetime | None:
        """Exclusive upper bound: the first second of the day after date_to."""
        return dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time()) if self.date_to else None


@dataclass(frozen=True)
class StudyFilters:
    q: str | None = None
    exam_status: str | None = None
    exam_source: str | None = None
    exam_item: str | None = None
    modality: str | None = None
    dates: DateRange = field(default_factory=DateRange)

    def as_dict(self) -> dict[str, Any]:
        """The `filters` object of the response envelope: every filter, null when not given, fixed order."""
        return {
            "q": self.q,
            "exam_status": self.exam_status,
            "exam_source": self.exam_source,
            "exam_item": self.exam_item,
            "modality": self.modality,
            "date_from": _date_str(self.dates.date_from),
            "date_to": _date_str(self.dates.date_to),
        }


@dataclass(frozen=True)
class StudyQuery:
    filters: StudyFilters
    page: Page


@dataclass(frozen=True)
class ReportFilters:
    q: str | None = None
    exam_id: str | None = None
    reporting_physician: str | None = None
    dates: DateRange = field(default_factory=DateRange)

    def as_dict(self) -> dict[str, Any]:
        return {
            "q": self.q,
            "exam_id": self.exam_id,
            "reporting_physician": self.reporting_physician,
            "date_from": _date_str(self.dates.date_from),
            "date_to": _date_str(self.dates.date_to),
        }


@dataclass(frozen=True)
class ReportQuery:
    filters: ReportFilters
    page: Page


@dataclass(frozen=True)
class TaskFilters:
    task_type: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"task_type": self.task_type}


@dataclass(frozen=True)
class TaskListQuery:
    filters: TaskFilters
    page: Page


@dataclass(frozen=True)
class StatisticsQuery:
    filters: StudyFilters  # statistics accept the same filters as the study search


@dataclass(frozen=True)
class TaskCreate:
    name: str
    task_type: str
    filters: StudyFilters


Params = Mapping[str, str] | Iterable[tuple[str, str]]


def _last_values(params: Params) -> dict[str, str]:
    pairs = params.items() if isinstance(params, Mapping) else params
    out: dict[str, str] = {}
    for key, value in pairs:
        out[key] = value
    return out


def _date_str(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


class _Reader:
    """Collects every problem of one request before failing, so the client sees them all at once."""

    def __init__(self, params: Params) -> None:
        self.values = _last_values(params)
        self.errors: list[ErrorDetail] = []

    def text(self, name: str, max_length: int) -> str | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        value = raw.strip()
        if not value:
            return None
        if "\x00" in value:
            self.errors.append(ErrorDetail(name, "must not contain NUL characters"))
            return None
        if len(value) > max_length:
            self.errors.append(ErrorDetail(name, f"must be at most {max_length} characters"))
            return None
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(name, MAX_FILTER_LENGTH)
        if value is not None and value not in choices:
            self.errors.append(ErrorDetail(name, "must be one of: " + ", ".join(choices)))
            return None
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.values.get(name)
        if raw is None or not raw.strip():
            return default
        text = raw.strip()
        if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 12:
            self.errors.append(ErrorDetail(name, "must be an integer"))
            return default
        value = int(text)
        if value < low or value > high:
            self.errors.append(ErrorDetail(name, f"must be between {low} and {high}"))
            return default
        return value

    def date(self, name: str) -> dt.date | None:
        raw = self.text(name, 10)
        if raw is None:
            return None
        try:
            if len(raw) != 10:
                raise ValueError
            return dt.date.fromisoformat(raw)
        except ValueError:
            self.errors.append(ErrorDetail(name, "must be a date YYYY-MM-DD"))
            return None

    def date_range(self) -> DateRange:
        start, end = self.date("date_from"), self.date("date_to")
        if start and end and start > end:
            self.errors.append(ErrorDetail("date_to", "must not be before date_from"))
        return DateRange(start, end)

    def page(self) -> Page:
        return Page(
            page=self.integer("page", DEFAULT_PAGE, 1, MAX_PAGE),
            page_size=self.integer("page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        )

    def study_filters(self) -> StudyFilters:
        return StudyFilters(
            q=self.text("q", MAX_Q_LENGTH),
            exam_status=self.choice("exam_status", EXAM_STATUSES),
            exam_source=self.choice("exam_source", EXAM_SOURCES),
            exam_item=self.text("exam_item", MAX_FILTER_LENGTH),
            modality=self.choice("modality", MODALITIES),
            dates=self.date_range(),
        )

    def done(self) -> None:
        if self.errors:
            raise ContractValidationError(self.errors)


def parse_study_query(params: Params) -> StudyQuery:
    reader = _Reader(params)
    query = StudyQuery(filters=reader.study_filters(), page=reader.page())
    reader.done()
    return query


def parse_report_query(params: Params) -> ReportQuery:
    reader = _Reader(params)
    filters = ReportFilters(
        q=reader.text("q", MAX_Q_LENGTH),
        exam_id=reader.text("exam_id", MAX_FILTER_LENGTH),
        reporting_physician=reader.text("reporting_physician", MAX_FILTER_LENGTH),
        dates=reader.date_range(),
    )
    query = ReportQuery(filters=filters, page=reader.page())
    reader.done()
    return query


def parse_task_list_query(params: Params) -> TaskListQuery:
    reader = _Reader(params)
    query = TaskListQuery(filters=TaskFilters(reader.choice("task_type", TASK_TYPES)), page=reader.page())
    reader.done()
    return query


def parse_statistics_query(params: Params) -> StatisticsQuery:
    reader = _Reader(params)
    query = StatisticsQuery(filters=reader.study_filters())
    reader.done()
    return query


STUDY_FILTER_NAMES = tuple(StudyFilters().as_dict())


def parse_task_create(body: bytes) -> TaskCreate:
    """Validate the JSON body of POST /analysis/tasks.

    Body: {"name": str, "task_type": one of TASK_TYPES, "filters": {study filters, optional}}.
    Unknown top-level keys are ignored; unknown filter keys are an error (a typo would otherwise silently
    widen the analysis to every examination). A body nested too deeply to parse, or holding a string with an
    unpaired surrogate escape (such as "\\ud800": no Unicode text, it can be neither stored nor sent back),
    is no JSON object of the contract's either.
    """
    try:
        payload = json.loads(body or b"null")
        # A lone surrogate cannot be encoded as UTF-8: found here rather than when it is stored or echoed.
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeDecodeError and UnicodeEncodeError are ValueErrors
        raise ContractValidationError([ErrorDetail("body", "must be a JSON object")]) from None
    if not isinstance(payload, dict):
        raise ContractValidationError([ErrorDetail("body", "must be a JSON object")])

    errors: list[ErrorDetail] = []
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(ErrorDetail("name", "is required and must be a non-empty string"))
    elif "\x00" in name:
        errors.append(ErrorDetail("name", "must not contain NUL characters"))
    elif len(name.strip()) > MAX_TASK_NAME_LENGTH:
        errors.append(ErrorDetail("name", f"must be at most {MAX_TASK_NAME_LENGTH} characters"))
    task_type = payload.get("task_type")
    if task_type not in TASK_TYPES:
        errors.append(ErrorDetail("task_type", "must be one of: " + ", ".join(TASK_TYPES)))

    raw_filters = payload.get("filters", {})
    filters = StudyFilters()
    if raw_filters is None:
        raw_filters = {}
    if not isinstance(raw_filters, dict):
        errors.append(ErrorDetail("filters", "must be a JSON object"))
    else:
        unknown = sorted(set(raw_filters) - set(STUDY_FILTER_NAMES))
        if unknown:
            errors.append(ErrorDetail("filters", "unknown filter(s): " + ", ".join(unknown)))
        not_text = sorted(k for k, v in raw_filters.items() if v is not None and not isinstance(v, str))
        if not_text:
            errors.append(ErrorDetail("filters", "values must be strings or null: " + ", ".join(not_text)))
        if not unknown and not not_text:
            reader = _Reader({k: v for k, v in raw_filters.items() if v is not None})
            filters = reader.study_filters()
            errors.extend(ErrorDetail(f"filters.{e.field}", e.message) for e in reader.errors)
    if errors:
        raise ContractValidationError(errors)
    assert isinstance(name, str) and isinstance(task_type, str)
    return TaskCreate(name=name.strip(), task_type=task_type, filters=filters)
