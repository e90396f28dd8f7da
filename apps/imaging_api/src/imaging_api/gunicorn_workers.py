"""gunicorn's sync and gthread workers, answering a request line over the contract's limit as the contract says.

gunicorn refuses a request line longer than `limit_request_line` (gunicorn_conf sets it to the contract's
MAX_REQUEST_LINE_BYTES) while it reads it, before any header and before Django: its own answer is an HTML
page without the contract's headers. These workers send the contract's 414 `uri_too_long` instead, with
X-Backend and a new X-Request-ID (the request's headers are never read), and close the connection as gunicorn
does. Every other refusal of gunicorn's is left as it is.
"""

import uuid
from typing import Any

from gunicorn import util
from gunicorn.http.errors import LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker
from radiology_contract import responses

from imaging_api.middleware import BACKEND_NAME


def uri_too_long_response() -> bytes:
    """The complete HTTP/1.1 response: the contract's 414 body, its headers, then the connection is closed."""
    status, body = responses.uri_too_long()
    payload = responses.render(body)
    head = (
        f"HTTP/1.1 {status} URI Too Long\r\n"
        "Connection: close\r\n"
        f"Content-Type: {responses.JSON_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(payload)}\r\n"
        f"{responses.BACKEND_HEADER}: {BACKEND_NAME}\r\n"
        f"{responses.REQUEST_ID_HEADER}: {uuid.uuid4().hex}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + payload


class _ContractRefusals:
    log: Any

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if not isinstance(exc, LimitRequestLine):
            super().handle_error(req, client, addr, exc)  # type: ignore[misc]
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, uri_too_long_response())
        except Exception:  # the client is gone; gunicorn's own handler ignores this too
            self.log.debug("Failed to send error message.")


class ContractSyncWorker(_ContractRefusals, SyncWorker):
    """gunicorn's sync worker with the contract's 414."""


class ContractThreadWorker(_ContractRefusals, ThreadWorker):
    """gunicorn's gthread worker with the contract's 414."""


WORKER_CLASSES = {
    "sync": f"{__name__}.ContractSyncWorker",
    "gthread": f"{__name__}.ContractThreadWorker",
}
