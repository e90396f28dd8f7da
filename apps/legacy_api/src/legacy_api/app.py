"""The FastAPI application: HTTP in, contract bytes out. Validation and shapes come from radiology_contract.

Query parameters are declared in the OpenAPI document for readers, but parsing is done by the contract's
parsers on the raw query string, so both backends answer a bad request with the same bytes.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
from anyio import CapacityLimiter, to_thread
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from radiology_contract import query, responses
from radiology_contract.query import ContractValidationError, ErrorDetail
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import BACKEND, __version__, admin, store
from .database import open_existing
from .freeze import WritesFrozenError, WritesInFlightError, is_frozen
from .guard import BodyTooLargeError, RequestGuard, request_line_too_long
from .openapi_docs import ADMIN_DOC, COMPONENTS, ENDPOINT_DOCS
from .settings import SNAPSHOT_WAIT_ENV, Settings

log = logging.getLogger("legacy_api")
API = "/api/v1"
ADMIN = API + "/admin/"
LOOPBACK = {"127.0.0.1", "::1"}
# The admin endpoints' threads, apart from the users' pool: a snapshot and a tasks sync can run at once.
ADMIN_THREADS = 2
# The longest a user's read waits for the operator's tasks sync (Service.operator_first) before it runs anyway: a
# sync of 6,000 task rows takes half a second alone at a million examinations, several under 50 users' reads.
OPERATOR_FIRST_MAX_WAIT_SECONDS = 3.0
# The admin task sync carries every task row back in one body (a rollback); it is loopback + token only.
ADMIN_MAX_REQUEST_BODY_BYTES = 256 * 1024 * 1024
# Headers a reverse proxy adds. The server never trusts them for the client address (server.py), and an admin
# request that carries one was relayed by a proxy: its sender is not on this host, whatever the peer address.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def contract_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(responses.render(body), status_code=status, media_type=responses.JSON_CONTENT_TYPE, headers=headers)


def error_response(result: tuple[int, dict[str, Any]], headers: dict[str, str] | None = None) -> Response:
    return contract_response(result[0], result[1], headers)


class ContractHeaders:
    """Pure ASGI middleware: X-Backend and X-Request-ID on every response; unhandled errors become the
    contract's 500 body (the traceback goes to the log, never to the client)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers[responses.BACKEND_HEADER] = BACKEND
                headers[responses.REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error in %s %s (request %s)", scope.get("method"), scope.get("path"), request_id)
            if started:
                raise
            status, body = responses.internal_error()
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", responses.JSON_CONTENT_TYPE.encode())],
                }
            )
            await send({"type": "http.response.body", "body": responses.render(body)})


def _request_id(scope: Scope) -> str:
    if request_line_too_long(scope):
        return uuid.uuid4().hex  # refused before its headers are read, as on the new service
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            if 0 < len(text) <= 128 and text.isascii() and text.isprintable():
                return text
    return uuid.uuid4().hex


class Service:
    """The open database and what every route needs from it.

    Every write runs under `write_lock` (DuckDB has one writer; this process is it). User writes go through
    `write_unless_frozen`, which looks at the freeze marker once it holds the lock; the admin snapshot takes
    the same lock through `exclusive`, so it starts only after the writes in flight have finished. The live
    snapshot takes neither the freeze nor `write_lock`: it reads one MVCC view in one transaction on a cursor
    of its own (admin.live_snapshot), and `live_snapshot_lock` lets only one run at a time.

    Users' scans take turns. A search, the statistics and a new task's count read the examinations or reports;
    at most `settings.query_slots` of them run on DuckDB at once (`query_limiter`), the others wait, first
    come first served. Without the turns every scan in flight shares the cores: at a million examinations 40
    searches at once each take 40 times their own time, and the slowest pass a client's timeout while the
    server is busy the whole time. In turns each waits for the queue ahead of it, then runs at full speed.
    What reads only the tasks (a few thousand rows) and the health check take no turn: they answer in
    milliseconds, and the health check must answer while users wait.

    The operator goes first. The admin endpoints run on threads of their own (`admin_limiter`), and the tasks
    sync, which users wait on with their writes refused, holds `operator_first`: a user's read that has not
    started yet waits for it (at most OPERATOR_FIRST_MAX_WAIT_SECONDS), so the sync shares the cores only with
    the reads already running.
    """

    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection) -> None:
        self.settings = settings
        self.con = con
        self.write_lock = threading.Lock()  # one writer at a time inside the process
        self.live_snapshot_lock = threading.Lock()  # one live snapshot at a time
        self._ready = False
        self._operator_idle = threading.Event()  # cleared while the operator goes first
        self._operator_idle.set()
        self._admin_limiter: CapacityLimiter | None = None
        self._query_limiter: CapacityLimiter | None = None

    @property
    def known_ready(self) -> bool:
        """ready() once it has said True, without a trip to a thread."""
        return self._ready

    def admin_limiter(self) -> CapacityLimiter:
        """The admin endpoints' own threads (made in the event loop, on first use)."""
        if self._admin_limiter is None:
            self._admin_limiter = CapacityLimiter(ADMIN_THREADS)
        return self._admin_limiter

    def query_limiter(self) -> CapacityLimiter:
        """Users' turns on DuckDB (made in the event loop, on first use)."""
        if self._query_limiter is None:
            self._query_limiter = CapacityLimiter(self.settings.query_slots)
        return self._query_limiter

    @contextmanager
    def operator_first(self) -> Iterator[None]:
        """While held, users' reads that have not started wait (see user_read). Held by one at a time: the
        tasks sync, under the write lock."""
        self._operator_idle.clear()
        try:
            yield
        finally:
            self._operator_idle.set()

    def user_read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A user's read: after the operator's work in progress, if any (at most OPERATOR_FIRST_MAX_WAIT_SECONDS)."""
        self._operator_idle.wait(OPERATOR_FIRST_MAX_WAIT_SECONDS)
        return self.read(fn, *args)

    def ready(self) -> bool:
        """True once the database holds examinations (they are never deleted, so it stays true)."""
        if not self._ready:
            cur = self.con.cursor()
            try:
                row = cur.execute("SELECT count(*) FROM medical_examinations_fact").fetchone()
            finally:
                cur.close()
            self._ready = bool(row and row[0] > 0)
        return self._ready

    def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        cur = self.con.cursor()
        try:
            return fn(cur, *args)
        finally:
            cur.close()

    def write_unless_frozen(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn` as the one writer unless writes are frozen, checked while holding the lock: a write the
        snapshot did not wait for is refused (WritesFrozenError) instead of committing after it."""
        with self.write_lock:
            if is_frozen(self.settings.db_path):
                raise WritesFrozenError
            return self.read(fn, *args)

    @contextmanager
    def exclusive(self, wait_seconds: float) -> Iterator[None]:
        """Hold the write lock, waiting at most `wait_seconds` for the writes in flight (WritesInFlightError)."""
        if not self.write_lock.acquire(timeout=wait_seconds):
            raise WritesInFlightError(wait_seconds)
        try:
            yield
        finally:
            self.write_lock.release()

    def snapshot(self, target: str) -> dict[str, Any]:
        """The admin snapshot, under the write lock and only while frozen (see freeze.py)."""
        with self.exclusive(self.settings.snapshot_wait_seconds):
            if not is_frozen(self.settings.db_path):
                raise admin.AdminConflict("writes must be frozen before a snapshot (legacy-api freeze)")
            return admin.snapshot(self.con, target, self.settings.db_path, self.settings.snapshot_wait_seconds)

    def sync_tasks(self, rows: list[tuple[Any, ...]]) -> dict[str, int]:
        """The operator's tasks sync (a rollback's carry-back): as the one writer, frozen or not, and first."""
        with self.write_lock, self.operator_first():
            return admin.sync_tasks(self.con, rows)

    def live_snapshot(self, target: str) -> dict[str, Any]:
        """The admin snapshot while writes go on: no freeze, no write lock (see admin.live_snapshot)."""
        if not self.live_snapshot_lock.acquire(blocking=False):
            raise admin.AdminConflict("another live snapshot is running; retry when it has finished")
        try:
            return admin.live_snapshot(self.con, target)
        finally:
            self.live_snapshot_lock.release()


def timed(fn: Callable[..., Any]) -> Callable[..., tuple[Any, float]]:
    """`fn`, answering (its result, the seconds it ran): what a query cost, apart from its wait for a turn. A read
    says it in Server-Timing, by which the cutover's API diff paces itself while users are served."""

    def run(*args: Any) -> tuple[Any, float]:
        began = time.perf_counter()
        result = fn(*args)
        return result, time.perf_counter() - began

    return run


def _not_ready() -> Response:
    return error_response(
        responses.service_unavailable("The examination database is empty; import data before serving.")
    )


def create_app(settings: Settings, con: duckdb.DuckDBPyConnection | None = None) -> FastAPI:
    """Build the app over an open database. Raises database.StartupError for a missing/corrupt file."""
    service = Service(settings, con if con is not None else open_existing(settings.db_path))
    app = FastAPI(
        title="Radiology examination service (legacy)",
        version=__version__,
        description="The legacy FastAPI + DuckDB service. Its responses are the locked API contract.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service

    async def scan(fn: Callable[..., Any], *args: Any) -> Any:
        """A user's query over the examinations or reports: it takes its turn (see Service)."""
        return await to_thread.run_sync(service.user_read, fn, *args, limiter=service.query_limiter())

    async def lookup(fn: Callable[..., Any], *args: Any) -> Any:
        """A user's query over the tasks, or the health check's counts: a few thousand rows, no turn."""
        return await run_in_threadpool(service.user_read, fn, *args)

    async def ready() -> bool:
        return service.known_ready or await run_in_threadpool(service.ready)

    def reads(
        parse: Callable[[Any], Any], fn: Callable[..., Any], call: Callable[..., Awaitable[Any]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            try:
                parsed = parse(request.query_params.multi_items())
            except ContractValidationError as e:
                return error_response(responses.validation_error(e.details))
            if not await ready():
                return _not_ready()
            body, seconds = await call(timed(fn), parsed)
            return contract_response(200, body, {responses.SERVER_TIMING_HEADER: responses.server_timing(seconds)})

        return handler

    for path, name, parse, fn, call in (
        ("/studies/search", "search_studies", query.parse_study_query, store.search_studies, scan),
        ("/reports/search", "search_reports", query.parse_report_query, store.search_reports, scan),
        ("/statistics", "statistics", query.parse_statistics_query, store.statistics, scan),
        ("/analysis/tasks", "list_tasks", query.parse_task_list_query, store.list_tasks, lookup),
    ):
        doc = ENDPOINT_DOCS[name]
        app.add_api_route(API + path, reads(parse, fn, call), methods=["GET"], name=name, **doc)

    async def write(fn: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(service.write_unless_frozen, fn, *args)

    # The first freeze check only answers a frozen write before its body is parsed (503 before 422, as the
    # contract says); the one that guarantees nothing is written after a snapshot is write_unless_frozen's.
    # The status codes below and the task_id read from the path (not a typed argument) are for the OpenAPI
    # document only: FastAPI would otherwise document a 200 and its own 422 body, which the contract never sends.
    @app.post(API + "/analysis/tasks", name="create_task", status_code=201, **ENDPOINT_DOCS["create_task"])
    async def create_task(request: Request) -> Response:
        if is_frozen(settings.db_path):
            return frozen_response()
        try:
            body = query.parse_task_create(await request.body())
        except ContractValidationError as e:
            return error_response(responses.validation_error(e.details))
        if not await ready():
            return _not_ready()
        result = await scan(store.task_result, body)  # outside the write lock: the writer only inserts
        try:
            return contract_response(201, await write(store.insert_task, body, result))
        except WritesFrozenError:
            return frozen_response()

    @app.get(API + "/analysis/tasks/{task_id}", name="get_task", **ENDPOINT_DOCS["get_task"])
    async def get_task(request: Request) -> Response:
        task_id = request.path_params["task_id"]
        if not await ready():
            return _not_ready()
        task = await lookup(store.get_task, task_id)
        return contract_response(200, task) if task else error_response(responses.not_found("analysis task"))

    @app.delete(API + "/analysis/tasks/{task_id}", name="delete_task", status_code=204, **ENDPOINT_DOCS["delete_task"])
    async def delete_task(request: Request) -> Response:
        task_id = request.path_params["task_id"]
        if is_frozen(settings.db_path):
            return frozen_response()
        if not await ready():
            return _not_ready()
        try:
            deleted = await write(store.delete_task, task_id)
        except WritesFrozenError:
            return frozen_response()
        if deleted:
            return Response(status_code=204)
        return error_response(responses.not_found("analysis task"))

    @app.get(API + "/health", name="health", **ENDPOINT_DOCS["health"])
    async def health() -> Response:
        try:
            counts = await lookup(store.health_counts)
        except duckdb.Error as e:
            log.error("health: database %s unreadable: %s", settings.db_path, e)
            return error_response(responses.service_unavailable(f"The database cannot be read: {e}"))
        if counts["examinations"] == 0:
            return _not_ready()
        body = {"status": "ok", "backend": BACKEND, **counts, "writes_frozen": is_frozen(settings.db_path)}
        return contract_response(200, body)

    _admin_routes(app, service)
    _document_components(app)

    @app.exception_handler(BodyTooLargeError)
    async def body_too_large(request: Request, exc: BodyTooLargeError) -> Response:
        del request
        return error_response(responses.payload_too_large(exc.limit))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        del request
        if exc.status_code == 405:
            status, body = responses.method_not_allowed()
            return contract_response(status, body, dict(exc.headers or {}))
        return error_response(responses.not_found())

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Content-Type", responses.REQUEST_ID_HEADER],
            expose_headers=[responses.BACKEND_HEADER, responses.REQUEST_ID_HEADER],
        )
    app.add_middleware(
        RequestGuard,
        allowed_hosts=settings.allowed_hosts,
        larger_limits=((ADMIN, ADMIN_MAX_REQUEST_BODY_BYTES),),
    )
    app.add_middleware(ContractHeaders)
    return app


def _document_components(app: FastAPI) -> None:
    """The OpenAPI document gets the named schemas the routes' documentation refers to (openapi_docs.py)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()  # FastAPI's document, cached in app.openapi_schema
            schema.setdefault("components", {}).setdefault("schemas", {}).update(sorted(COMPONENTS.items()))
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def frozen_response() -> Response:
    return error_response(responses.writes_frozen(), {"Retry-After": str(responses.RETRY_AFTER_SECONDS)})


def _admin_error(status: int, code: str, message: str, details: list[ErrorDetail] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": [d.as_dict() for d in details or []]}}
    return contract_response(status, body)


def _admin_allowed(request: Request, settings: Settings) -> bool:
    """Loopback client, not relayed by a proxy, AND the right X-Admin-Token; with no token configured the
    endpoints do not exist. The client is the real peer of the connection (server.py trusts no proxy header)."""
    if not settings.admin_token:
        return False
    client = request.client.host if request.client else ""
    if client not in LOOPBACK:
        log.warning("admin request from non-loopback client %s refused", client)
        return False
    relayed = [name for name in FORWARDING_HEADERS if name in request.headers]
    if relayed:
        log.warning("admin request relayed by a proxy (%s) through %s refused", ", ".join(relayed), client)
        return False
    given = request.headers.get("x-admin-token", "")
    if not hmac.compare_digest(given.encode(), settings.admin_token.encode()):
        log.warning("admin request from %s with a wrong or missing X-Admin-Token refused", client)
        return False
    return True


def _admin_routes(app: FastAPI, service: Service) -> None:
    settings = service.settings

    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            raise admin.AdminInvalid([ErrorDetail("body", "must be a JSON object")]) from None

    @app.post(API + "/admin/snapshot", name="admin_snapshot", **ADMIN_DOC["snapshot"])
    async def snapshot(request: Request) -> Response:
        if not _admin_allowed(request, settings):
            return error_response(responses.not_found())
        try:
            payload = await json_body(request)
            target = payload.get("path") if isinstance(payload, dict) else None
            live = payload.get("live", False) if isinstance(payload, dict) else False
            invalid: list[ErrorDetail] = []
            if not isinstance(target, str) or not target.strip():
                invalid.append(ErrorDetail("path", "is required and must be a non-empty string"))
            if not isinstance(live, bool):
                invalid.append(ErrorDetail("live", "must be true or false"))
            if invalid:
                raise admin.AdminInvalid(invalid)
            if live:  # consistent without the freeze: one DuckDB transaction, writes go on meanwhile
                result = await to_thread.run_sync(service.live_snapshot, target, limiter=service.admin_limiter())
            else:
                if not is_frozen(settings.db_path):
                    raise admin.AdminConflict("writes must be frozen before a snapshot (legacy-api freeze)")
                result = await to_thread.run_sync(service.snapshot, target, limiter=service.admin_limiter())
        except admin.AdminInvalid as e:
            return error_response(responses.validation_error(e.details))
        except admin.AdminConflict as e:
            return _admin_error(409, "conflict", str(e))
        except WritesInFlightError as e:
            log.warning("snapshot to %s refused: %s", target, e)
            return _admin_error(409, "conflict", f"{e} (the wait is {SNAPSHOT_WAIT_ENV}); retry the snapshot")
        log.info("snapshot written to %s: %s", result["path"], result)
        return contract_response(200, result)

    @app.post(API + "/admin/tasks/sync", name="admin_tasks_sync", **ADMIN_DOC["tasks_sync"])
    async def tasks_sync(request: Request) -> Response:
        if not _admin_allowed(request, settings):
            return error_response(responses.not_found())
        try:
            rows = admin.parse_task_rows(await json_body(request))
        except admin.AdminInvalid as e:
            return error_response(responses.validation_error(e.details))
        result = await to_thread.run_sync(service.sync_tasks, rows, limiter=service.admin_limiter())
        log.info("tasks sync: %s", result)
        return contract_response(200, result)
