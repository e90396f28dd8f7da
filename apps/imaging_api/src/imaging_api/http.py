"""Turning contract (status, body) pairs into raw Django responses: the bytes are the contract's `render`."""

from typing import Any

from django.http import HttpResponse
from radiology_contract import responses


def contract_response(status_and_body: tuple[int, Any], headers: dict[str, str] | None = None) -> HttpResponse:
    status, body = status_and_body
    return json_response(body, status=status, headers=headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(
        responses.render(body), status=status, content_type=responses.JSON_CONTENT_TYPE, headers=headers
    )


def empty_response(status: int = 204) -> HttpResponse:
    """An empty body with no Content-Type, as the legacy service sends it."""
    response = HttpResponse(status=status)
    del response["Content-Type"]
    return response


def method_not_allowed() -> tuple[int, dict[str, Any]]:
    return responses.method_not_allowed()
