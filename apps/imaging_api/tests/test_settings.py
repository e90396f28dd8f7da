"""The service refuses to start without its secret and database settings, and never allows CORS `*`; the
database TLS settings (IMAGING_DB_SSLMODE, IMAGING_DB_SSLROOTCERT, or the URL's sslmode/sslrootcert)."""

import json

import pytest

from .conftest import imaging

BASE = {
    "IMAGING_SECRET_KEY": "k" * 50,
    "IMAGING_DB_HOST": "127.0.0.1",
    "IMAGING_DB_NAME": "imaging",
    "IMAGING_DB_USER": "imaging",
}


def _without(*names: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in BASE.items() if k not in names}
    # blank out anything inherited from the caller's environment too
    return {**{n: "" for n in names}, **env, **extra}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (_without("IMAGING_SECRET_KEY"), "IMAGING_SECRET_KEY is required"),
        (_without("IMAGING_DB_HOST"), "IMAGING_DB_HOST is required"),
        (_without("IMAGING_DB_NAME"), "IMAGING_DB_NAME is required"),
        (_without("IMAGING_DB_USER"), "IMAGING_DB_USER is required"),
        (_without(IMAGING_DATABASE_URL="mysql://u@h/d"), "IMAGING_DATABASE_URL must be a postgresql:// URL"),
        (_without(IMAGING_DATABASE_URL="postgresql://h/d"), "IMAGING_DATABASE_URL must name user, host and database"),
        (_without(IMAGING_CORS_ORIGINS="*"), "`*` is refused when IMAGING_DEBUG is off"),
        (_without(IMAGING_DEBUG="maybe"), "IMAGING_DEBUG='maybe' is not a boolean"),
        (_without(IMAGING_CONN_MAX_AGE="soon"), "IMAGING_CONN_MAX_AGE='soon' is not an integer"),
    ],
)
def test_refuses_to_start(env: dict[str, str], message: str) -> None:
    result = imaging(["check"], {"IMAGING_DATABASE_URL": "", "IMAGING_CORS_ORIGINS": "", **env}, check=False)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_starts_with_complete_settings() -> None:
    result = imaging(["check"], {"IMAGING_DATABASE_URL": "", **BASE, "IMAGING_CORS_ORIGINS": "https://a.example"})
    assert "System check identified no issues" in result.stdout


def test_database_url_is_an_alternative_to_the_parts() -> None:
    env = {"IMAGING_SECRET_KEY": "k" * 50, "IMAGING_DATABASE_URL": "postgresql://u:p%40ss@db.internal:6543/imaging"}
    for name in ("IMAGING_DB_HOST", "IMAGING_DB_NAME", "IMAGING_DB_USER"):
        env[name] = ""
    result = imaging(
        ["shell", "-c", "from django.conf import settings as s; d = s.DATABASES['default'];"
         "print(d['HOST'], d['PORT'], d['NAME'], d['USER'], d['PASSWORD'], s.DEBUG, s.CORS_ALLOWED_ORIGINS)"],
        env,
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "db.internal 6543 imaging u p@ss False []"


SHOW_DATABASE = (
    "from django.conf import settings as s; import json; d = s.DATABASES['default'];"
    "print(json.dumps({'host': d['HOST'], 'name': d['NAME'], 'options': d['OPTIONS']}))"
)


def _database(env: dict[str, str]) -> dict:
    result = imaging(["shell", "-c", SHOW_DATABASE], {"IMAGING_DATABASE_URL": "", **env})
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_tls_defaults_to_prefer_without_a_root_certificate() -> None:
    options = _database({**BASE, "IMAGING_DB_SSLMODE": "", "IMAGING_DB_SSLROOTCERT": ""})["options"]
    assert options == {"application_name": "imaging_api", "connect_timeout": 5, "sslmode": "prefer"}


def test_tls_settings_from_the_environment(tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {**BASE, "IMAGING_DB_SSLMODE": "verify-full", "IMAGING_DB_SSLROOTCERT": str(ca)}
    options = _database(env)["options"]
    assert (options["sslmode"], options["sslrootcert"]) == ("verify-full", str(ca))
    system = _database({**env, "IMAGING_DB_SSLROOTCERT": "system"})["options"]
    assert system["sslrootcert"] == "system"


def test_tls_settings_from_the_database_url(tmp_path) -> None:
    ca = tmp_path / "root ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    url = f"postgresql://u:p@db.internal:6543/imaging?sslmode=verify-ca&sslrootcert={str(ca).replace(' ', '%20')}"
    env = {"IMAGING_SECRET_KEY": "k" * 50, "IMAGING_DB_SSLMODE": "", "IMAGING_DB_SSLROOTCERT": ""}
    shown = _database({**env, "IMAGING_DATABASE_URL": url})
    assert (shown["host"], shown["name"]) == ("db.internal", "imaging")
    assert (shown["options"]["sslmode"], shown["options"]["sslrootcert"]) == ("verify-ca", str(ca))
    # the same value in both places is fine
    agreed = _database({**env, "IMAGING_DATABASE_URL": url, "IMAGING_DB_SSLMODE": "verify-ca"})
    assert agreed["options"]["sslmode"] == "verify-ca"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (_without(IMAGING_DB_SSLMODE="on"), "IMAGING_DB_SSLMODE (or sslmode in IMAGING_DATABASE_URL) is 'on'"),
        (_without(IMAGING_DB_SSLMODE="VERIFY-FULL"), "one of disable, allow, prefer, require, verify-ca, verify-full"),
        (_without(IMAGING_DB_SSLROOTCERT="/nonexistent/ca.pem"), "names '/nonexistent/ca.pem', which is not a file"),
        (_without(IMAGING_DATABASE_URL="postgresql://u@h/d?sslmode=bogus"), "is 'bogus'"),
        (_without(IMAGING_DATABASE_URL="postgresql://u@h/d?sslmode=require&sslcert=/c"), "query parameter(s) sslcert"),
        (_without(IMAGING_DATABASE_URL="postgresql://u@h/d?sslmode=require&sslmode=disable"), "repeats query"),
        (
            _without(IMAGING_DATABASE_URL="postgresql://u@h/d?sslmode=require", IMAGING_DB_SSLMODE="disable"),
            "IMAGING_DB_SSLMODE='disable' contradicts sslmode='require' in IMAGING_DATABASE_URL",
        ),
    ],
)  # fmt: skip
def test_refuses_bad_tls_settings(env: dict[str, str], message: str) -> None:
    defaults = {"IMAGING_DATABASE_URL": "", "IMAGING_CORS_ORIGINS": "", "IMAGING_DB_SSLMODE": "",
                "IMAGING_DB_SSLROOTCERT": ""}  # fmt: skip
    result = imaging(["check"], {**defaults, **env}, check=False)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ["127.0.0.1", "localhost"]),
        (" , ", ["127.0.0.1", "localhost"]),
        (" a.example , .b.example ", ["a.example", ".b.example"]),
    ],
)
def test_allowed_hosts_are_read_as_the_legacy_reads_them(raw: str, expected: list[str]) -> None:
    show = "from django.conf import settings as s; import json; print(json.dumps(s.ALLOWED_HOSTS))"
    result = imaging(["shell", "-c", show], {"IMAGING_DATABASE_URL": "", **BASE, "IMAGING_ALLOWED_HOSTS": raw})
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
