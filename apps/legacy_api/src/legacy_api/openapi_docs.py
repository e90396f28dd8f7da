"""OpenAPI documentation of the routes, built from the contract's constants (never re-typed by hand).

The parameters are documentation only: requests are parsed by radiology_contract.query on the raw query
string. docs/openapi.json is exported from this (`legacy-api export-openapi`) and a test keeps it in sync.
"""

from __future__ import annotations

from typing import Any

from radiology_contract import query
from radiology_contract.fields import EXAM_SOURCES, EXAM_STATUSES, MODALITIES, TASK_TYPES


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

ERROR_SCHEMA = {"description": 'Error body {"error": {"code", "message", "details": [{"field", "message"}]}}'}
JSON_OK = {"description": "Success (application/json, rendered by the contract)"}


def _doc(summary: str, description: str, params: list[dict[str, Any]] | None, codes: dict[int, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "responses": {code: {"description": text} for code, text in codes.items()},
    }
    if params is not None:
        doc["openapi_extra"] = {"parameters": params}
    return doc


LIST_CODES = {200: "Envelope {data, total, page, page_size, filters}", 422: "validation_error",
              503: "service_unavailable (empty database)"}  # fmt: skip

ENDPOINT_DOCS: dict[str, dict[str, Any]] = {
    "search_studies": _doc(
        "Search examinations",
        "Ordered by order_datetime DESC, exam_id ASC. Date range filters order_datetime.",
        STUDY_FILTER_PARAMS + PAGE_PARAMS,
        LIST_CODES,
    ),
    "search_reports": _doc(
        "Search reports",
        "Ordered by report_datetime DESC, report_id ASC. Date range filters report_datetime.",
        REPORT_PARAMS + PAGE_PARAMS,
        LIST_CODES,
    ),
    "statistics": _doc(
        "Examination statistics",
        "Counts by status, source, item and month (YYYY-MM of order_datetime) of the examinations matching "
        "the study filters.",
        STUDY_FILTER_PARAMS,
        {
            200: "{data: {total, by_status, by_source, by_item, by_month}, filters}",
            422: "validation_error",
            503: "service_unavailable",
        },
    ),
    "list_tasks": _doc(
        "List analysis tasks",
        "Tasks not deleted, ordered by created_at DESC, task_id ASC.",
        [_param("task_type", "Exact task type.", {"type": "string", "enum": list(TASK_TYPES)}), *PAGE_PARAMS],
        LIST_CODES,
    ),
    "create_task": _doc(
        "Create (and run) an analysis task",
        'Body {"name": str, "task_type": one of ' + ", ".join(TASK_TYPES) + ', "filters": {study filters}}. '
        "Computed synchronously; answers the stored task.",
        None,
        {201: "The task", 422: "validation_error", 503: "writes_frozen (Retry-After) or service_unavailable"},
    ),
    "get_task": _doc(
        "Get one analysis task", "404 if unknown, deleted or not a UUID.", None, {200: "The task", 404: "not_found"}
    ),
    "delete_task": _doc(
        "Delete an analysis task",
        "Sets the tombstone deleted_at; the task is no longer shown. 204 with an empty body.",
        None,
        {204: "Deleted", 404: "not_found", 503: "writes_frozen (Retry-After)"},
    ),
    "health": _doc(
        "Readiness",
        "200 only when the database is readable and holds examinations.",
        None,
        {200: "{status, backend, examinations, reports, analysis_tasks, writes_frozen}", 503: "service_unavailable"},
    ),
}

_ADMIN = "Operator only: loopback clients with header X-Admin-Token = LEGACY_ADMIN_TOKEN; otherwise 404."
ADMIN_DOC: dict[str, dict[str, Any]] = {
    "snapshot": _doc(
        "Consistent snapshot of the database (operator only)",
        _ADMIN + ' Body {"path": absolute path of a new file}. Requires writes frozen (409 otherwise).',
        None,
        {
            200: "{path, examinations, reports, analysis_tasks, snapshot_at}",
            404: "not_found",
            409: "conflict",
            422: "validation_error",
        },
    ),
    "tasks_sync": _doc(
        "Upsert analysis tasks by task_id (operator only)",
        _ADMIN + ' Body {"tasks": [stored task rows including deleted_at]}; one transaction.',
        None,
        {200: "{received, inserted, updated}", 404: "not_found", 422: "validation_error"},
    ),
}
