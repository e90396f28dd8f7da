"""What a correct answer of the API looks like, per endpoint, and how an answer is classified.

Shared by the load generator and the watch so both call the same responses failures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from radiology_contract.frontdoor import FrontDoor
from radiology_contract.responses import BACKEND_HEADER

from .login import login_challenge

OK = "ok"
FROZEN = "frozen"
FAILED = "failed"
WRITES_FROZEN = "writes_frozen"
EXCERPT = 300

LIST_KEYS = ("data", "total", "page", "page_size", "filters")
STATISTICS_KEYS = ("total", "by_status", "by_source", "by_item", "by_month")


@dataclass(frozen=True)
class Verdict:
    outcome: str  # ok | frozen | failed
    reason: str = ""
    body: Any = None  # the parsed JSON body when there is one


def excerpt(content: bytes) -> str:
    return content[:EXCERPT].decode("utf-8", errors="replace")


def parse_json(response: httpx.Response) -> tuple[Any, str]:
    try:
        return json.loads(response.content), ""
    except (ValueError, UnicodeDecodeError) as e:
        return None, f"body is not JSON ({e.__class__.__name__}): {excerpt(response.content)!r}"


def error_code(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        return code if isinstance(code, str) else None
    return None


def retry_after(response: httpx.Response, cap: float) -> float:
    try:
        return max(0.0, min(float(response.headers.get("Retry-After", cap)), cap))
    except ValueError:
        return cap


def _shape_problem(kind: str, body: Any) -> str:
    """'' when the body has the envelope of `kind`, else what is wrong with it."""
    if not isinstance(body, dict):
        return f"expected a JSON object, got {type(body).__name__}"
    if kind == "list":
        missing = [k for k in LIST_KEYS if k not in body]
        if missing:
            return f"list envelope lacks {', '.join(missing)}"
        if not isinstance(body["data"], list) or not isinstance(body["total"], int):
            return "list envelope: data must be a list and total an integer"
    elif kind == "statistics":
        data = body.get("data")
        if not isinstance(data, dict) or any(k not in data for k in STATISTICS_KEYS) or "filters" not in body:
            return "statistics body lacks data.{" + ",".join(STATISTICS_KEYS) + "} or filters"
    elif kind == "task":
        if not isinstance(body.get("task_id"), str) or "status" not in body or "result" not in body:
            return "task record lacks task_id, status or result"
    elif kind == "health" and (body.get("status") != "ok" or body.get("backend") not in ("legacy", "imaging")):
        return "health body lacks status ok or a known backend"
    return ""


def classify(
    response: httpx.Response,
    expected_status: int,
    kind: str,
    *,
    write: bool = False,
    front_door: FrontDoor | None = None,
) -> Verdict:
    """ok when the status and envelope are as expected; frozen for a write refused by the freeze; else failed.
    nginx refusing the login is failed with a reason that names the credentials file (front_door's)."""
    status = response.status_code
    if login_challenge(response):
        return Verdict(FAILED, (front_door or FrontDoor()).login_refused())
    if BACKEND_HEADER not in response.headers and kind != "build-info":
        return Verdict(FAILED, f"HTTP {status} without an {BACKEND_HEADER} header: {excerpt(response.content)!r}")
    if status == expected_status and kind == "empty":
        return Verdict(OK) if not response.content else Verdict(FAILED, f"HTTP {status} with a non-empty body")
    body, problem = parse_json(response)
    if problem:
        return Verdict(FAILED, f"HTTP {status}: {problem}")
    if write and status == 503 and error_code(body) == WRITES_FROZEN:
        return Verdict(FROZEN, "writes frozen", body)
    if status != expected_status:
        code = error_code(body)
        if status < 500 and code is None:
            return Verdict(FAILED, f"HTTP {status} (expected {expected_status}) without the error envelope", body)
        return Verdict(
            FAILED, f"HTTP {status} {code or ''} (expected {expected_status}): {excerpt(response.content)!r}"
        )
    shape = _shape_problem(kind, body)
    if shape:
        return Verdict(FAILED, f"HTTP {status}: {shape}: {excerpt(response.content)!r}", body)
    return Verdict(OK, "", body)
