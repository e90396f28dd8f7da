"""The service refuses to start without its secret and database settings, and never allows CORS `*`."""

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
