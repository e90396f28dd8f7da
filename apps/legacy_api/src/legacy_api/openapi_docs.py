"""OpenAPI documentation of the routes, built from the contract's constants (never re-typed by hand).

The parameters, the request body and the response bodies are documentation only: requests are parsed by
radiology_contract.query on the raw query string (or body), answers are rendered by radiology_contract.responses.
docs/openapi.json is exported from this (`legacy-api export-openapi`) and a test keeps it in sync.
"""

from __future__ import annotations

from typing import Any

from radiology_contract import analysis, query, responses
from radiology_contract.fields import (
    ANALYSIS_TASK_API_FIELDS,
    ANALYSIS_TASK_FIELDS,
    EXAM_SOURCES,
    EXAM_STATUSES,
    EXAMINATION_FIELDS,
    MODALITIES,
    REPORT_FIELDS,
    TASK_TYPES,
    Field,
    FieldType,
)


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _text(max_length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length}


PAGE_PARAMS = [
    _param("page", "Page number, 1-based.", {"type": "integer", "minimum": 1, "maximum": query.MAX_PAGE,
                                             "default": query.DEFAULT_PAGE}),
    _param("page_size", "Records per page.", {"type": "integer", "minimum": 1, "maximum": query.MAX_PAGE_SIZE,
                                              "default": query.DEFAULT_PAGE_SIZE}),
]  # fmt: skip
DATE_PARAMS = [
    _param("date_from", "First day included (YYYY-MM-DD).", {"type": "string", "format": "date"}),
    _param("date_to", "Last day included (YYYY-MM-DD).", {"type": "string", "format": "date"}),
]
STUDY_FILTER_PARAMS = [
    _param("q", "Case-insensitive substring over the searchable examination fields.", _text(query.MAX_Q_LENGTH)),
    _param("exam_status", "Exact status.", {"type": "string", "enum": list(EXAM_STATUSES)}),
    _param("exam_source", "Exact source.", {"type": "string", "enum": list(EXAM_SOURCES)}),
    _param("exam_item", "Exact exam item.", _text(query.MAX_FILTER_LENGTH)),
    _param("modality", "Exact modality.", {"type": "string", "enum": list(MODALITIES)}),
    *DATE_PARAMS,
]
REPORT_PARAMS = [
    _param("q", "Case-insensitive substring over the searchable report fields.", _text(query.MAX_Q_LENGTH)),
    _param("exam_id", "Exact examination id.", _text(query.MAX_FILTER_LENGTH)),
    _param("reporting_physician", "Exact reporting physician.", _text(query.MAX_FILTER_LENGTH)),
    *DATE_PARAMS,
]

# Response bodies, described from the contract's field definitions. Datetimes and dates are the contract's
# fixed text forms; a nullable field is the field's schema or null.
DATETIME = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"}
DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
COUNT = {"type": "integer", "minimum": 0}


# Named schemas of docs/openapi.json (components/schemas), referenced from the operations.
COMPONENTS: dict[str, dict[str, Any]] = {}


def _component(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    COMPONENTS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A JSON object with exactly these keys (in this order in every answer)."""
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _field(f: Field) -> dict[str, Any]:
    schema: dict[str, Any]
    if f.type in (FieldType.STR, FieldType.TEXT):
        schema = {"type": "string"}
        if f.max_length is not None:
            schema["maxLength"] = f.max_length
        if f.choices is not None:
            schema["enum"] = list(f.choices)
    elif f.type is FieldType.INT:
        schema = {"type": "integer"}
        if f.min_value is not None:
            schema["minimum"] = f.min_value
        if f.max_value is not None:
            schema["maximum"] = f.max_value
    elif f.type is FieldType.DATETIME:
        schema = dict(DATETIME)
    else:  # JSON: an object stored as text
        schema = {"type": "object"}
    return schema if f.required else _nullable(schema)


def _record(fields: tuple[Field, ...], names: tuple[str, ...] | None = None) -> dict[str, Any]:
    shown = names or tuple(f.name for f in fields)
    return _object({f.name: _field(f) for f in fields if f.name in shown})


def _filters(params: list[dict[str, Any]]) -> dict[str, Any]:
    """The `filters` object of an answer: every filter of the endpoint, its accepted value or null."""

    def echoed(schema: dict[str, Any]) -> dict[str, Any]:
        return DATE if schema.get("format") == "date" else schema

    return _object({p["name"]: _nullable(echoed(p["schema"])) for p in params})


def _envelope(name: str, record: dict[str, Any], filter_params: list[dict[str, Any]]) -> dict[str, Any]:
    return _component(
        name,
        _object(
            {
                "data": {"type": "array", "items": record},
                "total": COUNT,
                "page": {"type": "integer", "minimum": 1, "maximum": query.MAX_PAGE},
                "page_size": {"type": "integer", "minimum": 1, "maximum": query.MAX_PAGE_SIZE},
                "filters": _filters(filter_params),
            }
        ),
    )


ERROR_DETAIL = _component("ErrorDetail", _object({"field": {"type": "string"}, "message": {"type": "string"}}))


def _error(status: int) -> dict[str, Any]:
    """The error body of `status`: one of the contract's error codes of that status."""
    codes = [code for code, code_status in responses.ERROR_STATUS.items() if code_status == status]
    error = _object(
        {
            "code": {"type": "string", "enum": codes},
            "message": {"type": "string"},
            "details": {"type": "array", "items": ERROR_DETAIL},
        }
    )
    return _component(f"Error{status}", _object({"error": error}))


BUCKETS = {"type": "array", "items": _component("Bucket", _object({"key": {"type": "string"}, "count": COUNT}))}
EXAMINATION = _component("Examination", _record(EXAMINATION_FIELDS))
REPORT = _component("Report", _record(REPORT_FIELDS))
TASK = _component("AnalysisTask", _record(ANALYSIS_TASK_FIELDS, ANALYSIS_TASK_API_FIELDS))
TASK_TYPE_PARAM = _param("task_type", "Exact task type.", {"type": "string", "enum": list(TASK_TYPES)})
STATISTICS = _component(
    "Statistics",
    _object(
        {
            "data": _object({"total": COUNT, **{key: BUCKETS for key, _grouping in analysis.STATISTICS_GROUPINGS}}),
            "filters": _filters(STUDY_FILTER_PARAMS),
        }
    ),
)
HEALTH = _component(
    "Health",
    _object(
        {
            "status": {"type": "string", "enum": ["ok"]},
            "backend": {"type": "string", "enum": ["legacy", "imaging"]},
            "examinations": COUNT,
            "reports": COUNT,
            "analysis_tasks": COUNT,
            "writes_frozen": {"type": "boolean"},
        }
    ),
)
TASK_BODY = _component(
    "TaskCreate",
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": query.MAX_TASK_NAME_LENGTH},
            "task_type": {"type": "string", "enum": list(TASK_TYPES)},
            "filters": {
                "type": "object",
                "properties": {p["name"]: _nullable(p["schema"]) for p in STUDY_FILTER_PARAMS},
                "additionalProperties": False,
            },
        },
        "required": ["name", "task_type"],
    },
)

# Every route may answer these, before any route sees the request.
COMMON_CODES: dict[int, tuple[str, dict[str, Any] | None]] = {
    414: ("uri_too_long: a request line over the limit", _error(414)),
}
Codes = dict[int, tuple[str, dict[str, Any] | None]]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _doc(
    summary: str,
    description: str,
    params: list[dict[str, Any]] | None,
    codes: Codes,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Route keyword arguments: OpenAPI summary, description, responses (with their bodies) and parameters."""
    documented: dict[int, dict[str, Any]] = {}
    for code, (text, schema) in sorted({**codes, **COMMON_CODES}.items()):
        documented[code] = {"description": text} if schema is None else {"description": text, "content": _json(schema)}
    doc: dict[str, Any] = {"summary": summary, "description": description, "responses": documented}
    extra: dict[str, Any] = {}
    if params is not None:
        extra["parameters"] = params
    if body is not None:
        extra["requestBody"] = {"required": True, "content": _json(body)}
    if extra:
        doc["openapi_extra"] = extra
    return doc


TASK_ID_PARAM = {
    "name": "task_id",
    "in": "path",
    "required": True,
    "description": "The task's id: a UUID in canonical lowercase form (anything else is not found).",
    "schema": {"type": "string"},
}


def _list_codes(envelope: dict[str, Any]) -> Codes:
    return {
        200: ("Envelope {data, total, page, page_size, filters}", envelope),
        422: ("validation_error", _error(422)),
        503: ("service_unavailable (empty database)", _error(503)),
    }


ENDPOINT_DOCS: dict[str, dict[str, Any]] = {
    "search_studies": _doc(
        "Search examinations",
        "Ordered by order_datetime DESC, exam_id ASC. Date range filters order_datetime.",
        STUDY_FILTER_PARAMS + PAGE_PARAMS,
        _list_codes(_envelope("ExaminationPage", EXAMINATION, STUDY_FILTER_PARAMS)),
    ),
    "search_reports": _doc(
        "Search reports",
        "Ordered by report_datetime DESC, report_id ASC. Date range filters report_datetime.",
        REPORT_PARAMS + PAGE_PARAMS,
        _list_codes(_envelope("ReportPage", REPORT, REPORT_PARAMS)),
    ),
    "statistics": _doc(
        "Examination statistics",
        "Counts by status, source, item and month (YYYY-MM of order_datetime) of the examinations matching "
        "the study filters.",
        STUDY_FILTER_PARAMS,
        {
            200: ("{data: {total, by_status, by_source, by_item, by_month}, filters}", STATISTICS),
            422: ("validation_error", _error(422)),
            503: ("service_unavailable", _error(503)),
        },
    ),
    "list_tasks": _doc(
        "List analysis tasks",
        "Tasks not deleted, ordered by created_at DESC, task_id ASC.",
        [TASK_TYPE_PARAM, *PAGE_PARAMS],
        _list_codes(_envelope("AnalysisTaskPage", TASK, [TASK_TYPE_PARAM])),
    ),
    "create_task": _doc(
        "Create (and run) an analysis task",
        'Body {"name": str, "task_type": one of ' + ", ".join(TASK_TYPES) + ', "filters": {study filters}}. '
        "Computed synchronously; answers the stored task.",
        [],
        {
            201: ("The task", TASK),
            413: ("payload_too_large", _error(413)),
            422: ("validation_error", _error(422)),
            503: ("writes_frozen (Retry-After) or service_unavailable", _error(503)),
        },
        body=TASK_BODY,
    ),
    "get_task": _doc(
        "Get one analysis task",
        "404 if unknown, deleted or not a UUID.",
        [TASK_ID_PARAM],
        {200: ("The task", TASK), 404: ("not_found", _error(404)), 503: ("service_unavailable", _error(503))},
    ),
    "delete_task": _doc(
        "Delete an analysis task",
        "Sets the tombstone deleted_at; the task is no longer shown. 204 with an empty body.",
        [TASK_ID_PARAM],
        {
            204: ("Deleted", None),
            404: ("not_found", _error(404)),
            503: ("writes_frozen (Retry-After) or service_unavailable", _error(503)),
        },
    ),
    "health": _doc(
        "Readiness",
        "200 only when the database is readable and holds examinations.",
        [],
        {
            200: ("{status, backend, examinations, reports, analysis_tasks, writes_frozen}", HEALTH),
            503: ("service_unavailable", _error(503)),
        },
    ),
}

_ADMIN = "Operator only: loopback clients with header X-Admin-Token = LEGACY_ADMIN_TOKEN; otherwise 404."
ADMIN_DOC: dict[str, dict[str, Any]] = {
    "snapshot": _doc(
        "Consistent snapshot of the database (operator only)",
        _ADMIN + ' Body {"path": absolute path of a new file, "live": false}. Without live, requires writes frozen (409'
        " otherwise) and holds the write lock for the copy. With live true, copies one consistent view in a read"
        " transaction while writes go on (stage 1 of a two-stage migration); one live snapshot at a time (409).",
        [],
        {
            200: (
                "{path, examinations, reports, analysis_tasks, snapshot_at} and, for a frozen one, copy: file or tables"
                " and checkpoint: {done, attempts, waited_seconds, refused} (DuckDB refuses it while a read older than"
                " the last committed update runs: asked again for up to LEGACY_SNAPSHOT_WAIT_SECONDS, then tables);"
                " live: true for a live one",
                None,
            ),
            404: ("not_found", _error(404)),
            409: ("conflict", None),
            422: ("validation_error", _error(422)),
        },
    ),
    "tasks_sync": _doc(
        "Upsert analysis tasks by task_id (operator only)",
        _ADMIN + ' Body {"tasks": [stored task rows including deleted_at]}; one transaction.',
        [],
        {
            200: ("{received, inserted, updated}", None),
            404: ("not_found", _error(404)),
            422: ("validation_error", _error(422)),
        },
    ),
}
