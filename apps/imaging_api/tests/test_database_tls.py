"""The TLS settings reach libpq: a throwaway PostgreSQL with a certificate from a CA made here (openssl).

verify-full with that CA connects over TLS; another CA is refused; sslmode=disable connects in clear; and
sslmode=require against a server without TLS fails.
"""

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from radiology_testkit.postgres import PgServer, running_postgres

from .conftest import imaging, service_env

SSL_STATE = (
    "from django.db import connection; import json; c = connection.cursor();"
    "c.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'); print(json.dumps(c.fetchone()[0]))"
)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(cert))  # fmt: skip
    return key, cert


@pytest.fixture(scope="module")
def certificates() -> Iterator[dict[str, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificates can be made for the TLS test")
    folder = Path(tempfile.mkdtemp(prefix="radiology-tls-"))
    try:
        folder.chmod(0o755)  # the server may run as `nobody` (when the tests run as root)
        ca_key, ca_cert = _ca(folder, "test-ca")
        _other_key, other_cert = _ca(folder, "other-ca")
        key, request, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
        extensions = folder / "san.cnf"
        extensions.write_text("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key),
                 "-out", str(request))  # fmt: skip
        _openssl("x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key),
                 "-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(cert))  # fmt: skip
        key.chmod(0o600)
        if os.geteuid() == 0:
            import pwd

            nobody = pwd.getpwnam("nobody")
            for path in (key, cert):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
        yield {"ca": ca_cert, "other_ca": other_cert, "cert": cert, "key": key}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_pg(certificates: dict[str, Path]) -> Iterator[PgServer]:
    settings = {"ssl": "on", "ssl_cert_file": str(certificates["cert"]), "ssl_key_file": str(certificates["key"])}
    with running_postgres(settings) as server:
        yield server


def _ssl_in_use(env: dict[str, str]) -> tuple[bool | None, str]:
    result = imaging(["shell", "-c", SSL_STATE], {"IMAGING_DATABASE_URL": "", **env}, check=False)
    if result.returncode != 0:
        return None, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), ""


def test_verify_full_with_the_right_ca(tls_pg: PgServer, certificates: dict[str, Path]) -> None:
    env = service_env(
        tls_pg, "postgres", IMAGING_DB_SSLMODE="verify-full", IMAGING_DB_SSLROOTCERT=str(certificates["ca"])
    )
    assert _ssl_in_use(env) == (True, "")


def test_verify_full_refuses_another_ca(tls_pg: PgServer, certificates: dict[str, Path]) -> None:
    env = service_env(
        tls_pg, "postgres", IMAGING_DB_SSLMODE="verify-full", IMAGING_DB_SSLROOTCERT=str(certificates["other_ca"])
    )
    used, error = _ssl_in_use(env)
    assert used is None and "certificate verify failed" in error


def test_the_url_query_carries_the_same_settings(tls_pg: PgServer, certificates: dict[str, Path]) -> None:
    url = f"{tls_pg.dsn('postgres')}?sslmode=verify-full&sslrootcert={certificates['ca']}"
    env = {
        "IMAGING_SECRET_KEY": "k" * 50,
        "IMAGING_DB_SSLMODE": "",
        "IMAGING_DB_SSLROOTCERT": "",
        "IMAGING_DB_HOST": "",
        "IMAGING_DB_NAME": "",
        "IMAGING_DB_USER": "",
    }
    result = imaging(["shell", "-c", SSL_STATE], {**env, "IMAGING_DATABASE_URL": url})
    assert json.loads(result.stdout.strip().splitlines()[-1]) is True


def test_disable_connects_in_clear(tls_pg: PgServer) -> None:
    assert _ssl_in_use(service_env(tls_pg, "postgres", IMAGING_DB_SSLMODE="disable")) == (False, "")
    assert _ssl_in_use(service_env(tls_pg, "postgres", IMAGING_DB_SSLMODE="")) == (True, "")  # prefer


def test_require_fails_against_a_server_without_tls(pg: PgServer) -> None:
    used, error = _ssl_in_use(service_env(pg, "postgres", IMAGING_DB_SSLMODE="require"))
    assert used is None and "server does not support SSL" in error
    assert _ssl_in_use(service_env(pg, "postgres", IMAGING_DB_SSLMODE="")) == (False, "")
