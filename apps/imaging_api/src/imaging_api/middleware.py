"""Per-request context: request id, X-Backend header, timing log and the last line of defence for errors."""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from radiology_contract import responses

from imaging_api.http import contract_response, method_not_allowed

BACKEND_NAME = "imaging"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_log = logging.getLogger("imaging_api.access")
error_log = logging.getLogger("imaging_api.errors")


def request_id_of(request: HttpRequest) -> str:
    """The caller's X-Request-ID when it is a sane token, otherwise a new one."""
    supplied = request.headers.get(responses.REQUEST_ID_HEADER, "")
    return supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_of(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed):
            response = contract_response(method_not_allowed())
        response[responses.BACKEND_HEADER] = BACKEND_NAME
        response[responses.REQUEST_ID_HEADER] = request_id
        access_log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse:
        """Any exception a view did not handle: logged with traceback, the client gets the contract's 500."""
        error_log.error(
            "unhandled exception",
            exc_info=exception,
            extra={"request_id": getattr(request, "request_id", None), "method": request.method, "path": request.path},
        )
        return contract_response(responses.internal_error())
