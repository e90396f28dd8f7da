"""Per-request context: request id, X-Backend header, timing log, the checks made before any view (Host header,
body size) and the last line of defence for errors."""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from radiology_contract import responses

from imaging_api.http import contract_response, method_not_allowed

BACKEND_NAME = "imaging"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_log = logging.getLogger("imaging_api.access")
error_log = logging.getLogger("imaging_api.errors")
security_log = logging.getLogger("imaging_api.security")


def request_id_of(request: HttpRequest) -> str:
    """The caller's X-Request-ID when it is a sane token, otherwise a new one."""
    supplied = request.headers.get(responses.REQUEST_ID_HEADER, "")
    return supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META["CONTENT_LENGTH"])
    except (KeyError, TypeError, ValueError):
        return None


def refusal(request: HttpRequest) -> HttpResponse | None:
    """The contract's answer to a request no view may see, or None.

    - a Host header outside ALLOWED_HOSTS (IMAGING_ALLOWED_HOSTS; Django's rule, port ignored): 400 bad_host;
    - a body declared (Content-Length) larger than DATA_UPLOAD_MAX_MEMORY_SIZE: 413 payload_too_large, nothing
      read. A chunked body has no Content-Length; Django alone would read it as empty, so it is given a stream
      of what the server de-chunks (gunicorn sets wsgi.input_terminated) capped at one byte past the limit:
      the view reads it as the legacy service does, and a larger one raises RequestDataTooBig (413, api.py).
    """
    try:
        request.get_host()
    except DisallowedHost:
        host = request.META.get("HTTP_HOST", "")
        security_log.warning("request with a disallowed Host header refused", extra={"host": host[:200]})
        return contract_response(responses.bad_host())
    limit: int = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        return contract_response(responses.payload_too_large(limit))
    if declared is None and request.META.get("wsgi.input_terminated"):
        request._stream = LimitedStream(request.META["wsgi.input"], limit + 1)  # type: ignore[attr-defined]
    return None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_of(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        response = refusal(request) or self.get_response(request)
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
