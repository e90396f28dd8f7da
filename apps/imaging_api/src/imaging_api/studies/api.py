"""HTTP only: parse with the contract, call a selector or service, answer the contract's bytes.

Ninja routes the requests; it never serialises: every view returns a ready HttpResponse whose body is
radiology_contract.responses.render(...).
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from radiology_contract import analysis, fields, query, responses

from imaging_api.http import contract_response, empty_response, json_response
from imaging_api.middleware import BACKEND_NAME
from imaging_api.studies import selectors, services
from imaging_api.studies.freeze import WritesFrozenError, writes_frozen

log = logging.getLogger("imaging_api.errors")

api = NinjaAPI(title="Imaging API", version="1", docs_url=None, openapi_url=None, urls_namespace="imaging_api")

TASK = "analysis task"
DATABASE_UNREACHABLE = "The database cannot be reached."
EMPTY_DATABASE = "The examination database is empty; import data before serving."


def _params(request: HttpRequest) -> list[tuple[str, str]]:
    """Query pairs in arrival order; the contract parser keeps the last value of a repeated name."""
    return [(key, value) for key, values in request.GET.lists() for value in values]


def _not_ready() -> HttpResponse:
    return contract_response(responses.service_unavailable(EMPTY_DATABASE))


def _frozen_response() -> HttpResponse:
    return contract_response(responses.writes_frozen(), headers={"Retry-After": str(responses.RETRY_AFTER_SECONDS)})


@api.get("/studies/search")
def search_studies(request: HttpRequest) -> HttpResponse:
    try:
        study_query = query.parse_study_query(_params(request))
    except query.ContractValidationError as exc:
        return contract_response(responses.validation_error(exc.details))
    if not selectors.ready():
        return _not_ready()
    result = selectors.search_examinations(study_query)
    data = [responses.record(fields.EXAMINATION_FIELDS, row) for row in result.rows]
    return json_response(responses.envelope(data, result.total, study_query.page, study_query.filters.as_dict()))


@api.get("/reports/search")
def search_reports(request: HttpRequest) -> HttpResponse:
    try:
        report_query = query.parse_report_query(_params(request))
    except query.ContractValidationError as exc:
        return contract_response(responses.validation_error(exc.details))
    if not selectors.ready():
        return _not_ready()
    result = selectors.search_reports(report_query)
    data = [responses.record(fields.REPORT_FIELDS, row) for row in result.rows]
    return json_response(responses.envelope(data, result.total, report_query.page, report_query.filters.as_dict()))


@api.get("/statistics")
def statistics(request: HttpRequest) -> HttpResponse:
    try:
        stats_query = query.parse_statistics_query(_params(request))
    except query.ContractValidationError as exc:
        return contract_response(responses.validation_error(exc.details))
    if not selectors.ready():
        return _not_ready()
    body: dict[str, object] = {}
    total = 0
    found = selectors.statistics_groupings(stats_query.filters)
    for key, grouping in analysis.STATISTICS_GROUPINGS:
        pairs = found[grouping]
        if grouping == "exam_status":
            total = sum(count for _, count in pairs)
        body[key] = analysis.grouped(grouping, pairs)
    return json_response({"data": {"total": total, **body}, "filters": stats_query.filters.as_dict()})


# The first freeze check only answers a frozen write before its body is parsed (503 before 422, as the contract
# says); the one that guarantees nothing is written after the freeze barrier is inside the write's transaction
# (services -> freeze.write_transaction), under the freeze advisory lock.
@api.post("/analysis/tasks")
def create_task(request: HttpRequest) -> HttpResponse:
    if writes_frozen():
        return _frozen_response()
    try:
        spec = query.parse_task_create(request.body)
    except query.ContractValidationError as exc:
        return contract_response(responses.validation_error(exc.details))
    if not selectors.ready():
        return _not_ready()
    try:
        row = services.create_task(spec)
    except WritesFrozenError:
        return _frozen_response()
    return json_response(responses.task_record(fields.ANALYSIS_TASK_FIELDS, row), status=201)


@api.get("/analysis/tasks")
def list_tasks(request: HttpRequest) -> HttpResponse:
    try:
        task_query = query.parse_task_list_query(_params(request))
    except query.ContractValidationError as exc:
        return contract_response(responses.validation_error(exc.details))
    if not selectors.ready():
        return _not_ready()
    result = selectors.list_tasks(task_query)
    data = [responses.task_record(fields.ANALYSIS_TASK_FIELDS, row) for row in result.rows]
    return json_response(responses.envelope(data, result.total, task_query.page, task_query.filters.as_dict()))


@api.get("/analysis/tasks/{task_id}")
def get_task(request: HttpRequest, task_id: str) -> HttpResponse:
    if not selectors.ready():
        return _not_ready()
    row = selectors.live_task(task_id)
    if row is None:
        return contract_response(responses.not_found(TASK))
    return json_response(responses.task_record(fields.ANALYSIS_TASK_FIELDS, row))


@api.delete("/analysis/tasks/{task_id}")
def delete_task(request: HttpRequest, task_id: str) -> HttpResponse:
    if writes_frozen():
        return _frozen_response()
    if not selectors.ready():
        return _not_ready()
    try:
        deleted = services.delete_task(task_id)
    except WritesFrozenError:
        return _frozen_response()
    if not deleted:
        return contract_response(responses.not_found(TASK))
    return empty_response(204)


@api.get("/health")
def health(request: HttpRequest) -> HttpResponse:
    try:
        counts = selectors.table_counts()
    except (OperationalError, InterfaceError) as exc:
        log.warning("health: database unreachable", extra={"error": str(exc)})
        return contract_response(responses.service_unavailable(DATABASE_UNREACHABLE))
    if counts["examinations"] == 0:
        return _not_ready()
    return json_response(
        {
            "status": "ok",
            "backend": BACKEND_NAME,
            **counts,
            "writes_frozen": writes_frozen(),
        }
    )


@api.exception_handler(RequestDataTooBig)
def body_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    """A body without a declared length that grew past DATA_UPLOAD_MAX_MEMORY_SIZE while it was read."""
    return contract_response(responses.payload_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))


@api.exception_handler(DatabaseError)
def database_error(request: HttpRequest, exc: DatabaseError) -> HttpResponse:
    log.error("database error", exc_info=exc, extra={"request_id": getattr(request, "request_id", None)})
    if isinstance(exc, (OperationalError, InterfaceError)):
        return contract_response(responses.service_unavailable(DATABASE_UNREACHABLE))
    return contract_response(responses.internal_error())


@api.exception_handler(Exception)
def unhandled(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.error("unhandled exception", exc_info=exc, extra={"request_id": getattr(request, "request_id", None)})
    return contract_response(responses.internal_error())


def unknown_path(request: HttpRequest) -> HttpResponse:
    return contract_response(responses.not_found())
