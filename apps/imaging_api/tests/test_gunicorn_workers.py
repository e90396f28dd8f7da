"""The service's gunicorn configuration refuses a request line over the contract's limit with the contract's 414,
with either worker kind (IMAGING_WORKER_CLASS), and reads a line of exactly the limit.

gunicorn runs for real with imaging_api.gunicorn_conf, serving a stand-in WSGI app (the refusal happens before
any app is called, so no database is needed)."""

import json
import socket
import sys
from pathlib import Path

import pytest
from radiology_contract import responses
from radiology_testkit.servers import free_port, serve

APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(len(environ.get("QUERY_STRING", ""))).encode()]
"""


def raw_request(port: int, line: bytes) -> bytes:
    """Send one request with this request line; the whole answer (the server closes the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(line + b"\r\nHost: 127.0.0.1\r\nX-Request-ID: mine\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("kind", ["sync", "gthread"])
def test_request_line_over_the_limit_gets_the_contract_414(kind: str, tmp_path: Path) -> None:
    (tmp_path / "standin.py").write_text(APP)
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-c", "python:imaging_api.gunicorn_conf", "--chdir", str(tmp_path)]
    env = {"IMAGING_BIND": f"127.0.0.1:{port}", "IMAGING_WORKERS": "1", "IMAGING_WORKER_CLASS": kind}
    with serve([*cmd, "standin:app"], port, "/", env, timeout=60):
        prefix = b"GET /api/v1/studies/search?q="
        fill = responses.MAX_REQUEST_LINE_BYTES - len(prefix + b" HTTP/1.1")
        read = raw_request(port, prefix + b"x" * fill + b" HTTP/1.1")
        assert read.startswith(b"HTTP/1.1 200 ")
        for extra in (1, 6000):  # one byte over, and a line gunicorn reads to its end (nothing left unread)
            refused = raw_request(port, prefix + b"x" * (fill + extra) + b" HTTP/1.1")
            head, body = refused.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            headers = {name.lower(): value for name, value in (h.split(": ", 1) for h in lines[1:])}
            assert lines[0] == "HTTP/1.1 414 URI Too Long"
            assert body == responses.render(responses.uri_too_long()[1])
            assert json.loads(body)["error"]["code"] == "uri_too_long"
            assert headers["content-type"] == "application/json"
            assert headers["content-length"] == str(len(body))
            assert headers["x-backend"] == "imaging"
            assert headers["x-request-id"] not in ("", "mine")  # the headers were never read
            assert headers["connection"] == "close"
