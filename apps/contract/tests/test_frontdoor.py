"""The front door's client side: the CA and login files, the TLS context and the login header, against a real
HTTPS server on loopback that wants a login (HTTP Basic auth), as nginx does."""

from __future__ import annotations

import base64
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from radiology_contract.frontdoor import (
    CA_FILE_ENV,
    CREDENTIALS_FILE_ENV,
    FrontDoor,
    FrontDoorError,
    SecretFileError,
    parse_credentials,
)
from radiology_testkit.tls import Pki, make_pki, server_context

USER, PASSWORD = "staff", "pa:ss-word-9"


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client refusing the certificate is what some tests are about


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(pki: Pki) -> Iterator[str]:
    """https://127.0.0.1:<port>: 200 "welcome" with the right login, else 401 with a Basic challenge."""
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") == expected:
                self.send_response(200)
                body = b"welcome"
            else:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="radiology"')
                body = b"<h1>401 Authorization Required</h1>"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    httpd.socket = server_context(pki).wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def secret(tmp_path: Path, text: str = f"{USER}:{PASSWORD}\n", mode: int = 0o600, name: str = "login") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def fetch(url: str, door: FrontDoor) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=door.headers())
    try:
        with urllib.request.urlopen(request, timeout=10, context=door.ssl_context()) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_the_right_login_through_the_verified_chain_is_let_in(server: str, pki: Pki, tmp_path: Path) -> None:
    door = FrontDoor.from_files(pki.ca_file, secret(tmp_path))
    assert door.credentials == (USER, PASSWORD)  # split at the first colon
    assert fetch(server, door) == (200, b"welcome")


def test_no_or_a_wrong_login_is_answered_401(server: str, pki: Pki, tmp_path: Path) -> None:
    assert fetch(server, FrontDoor(pki.ca_file))[0] == 401
    wrong = FrontDoor.from_files(pki.ca_file, secret(tmp_path, f"{USER}:{PASSWORD}x"))
    assert fetch(server, wrong)[0] == 401
    assert wrong.login_refused() == (
        f"nginx answered 401: the credentials file {tmp_path / 'login'} (user 'staff') was refused"
    )
    assert FrontDoor().login_refused().startswith("nginx answered 401: it asks for a login and no credentials")


@pytest.mark.parametrize("trusted", ["system", "other CA"])
def test_a_chain_that_does_not_verify_is_refused(server: str, tmp_path: Path, trusted: str) -> None:
    ca_file = make_pki(tmp_path / "other").ca_file if trusted == "other CA" else None
    with pytest.raises(urllib.error.URLError) as err:
        fetch(server, FrontDoor(ca_file))
    assert isinstance(err.value.reason, ssl.SSLCertVerificationError)


def test_the_context_always_verifies_with_tls_1_2_or_newer(pki: Pki) -> None:
    for door in (FrontDoor(), FrontDoor(pki.ca_file)):
        context = door.ssl_context()
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_a_missing_or_bad_ca_file_is_named(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.pem", secret(tmp_path, "not a certificate\n", 0o644, "bad.pem")):
        with pytest.raises(FrontDoorError, match=f"cannot use the CA file {path}"):
            FrontDoor(path).ssl_context()


def test_a_credentials_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = secret(tmp_path, mode=0o644)
    with pytest.raises(SecretFileError) as err:
        FrontDoor.from_files(None, path)
    assert isinstance(err.value, ValueError)
    assert f"refusing the credentials file {path}" in str(err.value) and f"chmod 600 {path}" in str(err.value)
    assert PASSWORD not in str(err.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("staff", "must hold user:password"),
        (":secret", "no user name"),
        ("staff:", "no password"),
        ("staff:secret\nother:line", "one line only"),
    ],
)
def test_bad_credentials_are_refused_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = secret(tmp_path, text)
    with pytest.raises(FrontDoorError, match=problem) as err:
        FrontDoor.from_files(None, path)
    assert str(path) in str(err.value) and "secret" not in str(err.value)


def test_a_user_with_a_colon_or_a_newline_is_refused() -> None:
    for user in ("st:aff", "st\naff", ""):
        with pytest.raises(FrontDoorError):
            FrontDoor(credentials=(user, PASSWORD))
    assert parse_credentials("a:b:c", "x") == ("a", "b:c")


def test_the_password_is_in_the_header_only(pki: Pki, tmp_path: Path) -> None:
    door = FrontDoor.from_files(pki.ca_file, secret(tmp_path))
    assert door.headers() == {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    assert FrontDoor().headers() == {}
    for text in (repr(door), door.describe(), door.login_refused()):
        assert PASSWORD not in text
    assert (
        door.describe() == f"TLS verified against the CA file {pki.ca_file}; login as 'staff' from {tmp_path / 'login'}"
    )
    assert FrontDoor().describe() == "TLS verified against the system trust store; no login"


def test_the_environment_names_the_files_and_arguments_win(pki: Pki, tmp_path: Path) -> None:
    env = {CA_FILE_ENV: str(pki.ca_file), CREDENTIALS_FILE_ENV: str(secret(tmp_path))}
    from_env = FrontDoor.from_env(environ=env)
    assert from_env.ca_file == pki.ca_file and from_env.credentials == (USER, PASSWORD)
    other = secret(tmp_path, "nurse:other-secret", name="other")
    explicit = FrontDoor.from_env(tmp_path / "ca.pem", other, environ=env)
    assert explicit.ca_file == tmp_path / "ca.pem" and explicit.credentials == ("nurse", "other-secret")
    assert FrontDoor.from_env(environ={CA_FILE_ENV: "", CREDENTIALS_FILE_ENV: ""}) == FrontDoor()


def test_the_login_never_goes_out_in_the_clear(tmp_path: Path) -> None:
    door = FrontDoor.from_files(None, secret(tmp_path))
    assert door.check_url("https://127.0.0.1/legacy") == "https://127.0.0.1/legacy"
    with pytest.raises(FrontDoorError, match="not https"):
        door.check_url("http://127.0.0.1/legacy")
    assert FrontDoor().check_url("http://127.0.0.1/") == "http://127.0.0.1/"
