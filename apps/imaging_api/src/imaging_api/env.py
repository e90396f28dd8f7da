"""Reading the service's configuration from environment variables, loudly."""

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

PREFIX = "IMAGING_"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
# libpq's sslmode values, weakest first (https://www.postgresql.org/docs/current/libpq-ssl.html).
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
DEFAULT_SSLMODE = "prefer"
# sslrootcert=system: the operating system's trusted CAs (libpq 16 and later) instead of a file.
SYSTEM_ROOT_CERT = "system"
# Query parameters of IMAGING_DATABASE_URL that are honoured; any other is refused rather than ignored.
URL_PARAMETERS = ("sslmode", "sslrootcert")


def text(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip()


def required(name: str, why: str) -> str:
    value = text(name)
    if value is None:
        raise ImproperlyConfigured(f"environment variable {name} is required ({why})")
    return value


def flag(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"environment variable {name}={raw!r} is not a boolean (use 1/0, true/false)")


def integer(name: str, default: int, low: int = 0) -> int:
    raw = text(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"environment variable {name}={raw!r} is not an integer") from None
    if value < low:
        raise ImproperlyConfigured(f"environment variable {name}={value} must be at least {low}")
    return value


def csv(name: str, default: tuple[str, ...] = ()) -> list[str]:
    raw = text(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def _url_parameters(query: str) -> dict[str, str]:
    name = f"{PREFIX}DATABASE_URL"
    pairs = parse_qsl(query, keep_blank_values=True)
    unknown = sorted({key for key, _ in pairs if key not in URL_PARAMETERS})
    if unknown:
        raise ImproperlyConfigured(
            f"environment variable {name} has query parameter(s) {', '.join(unknown)}; "
            f"only {', '.join(URL_PARAMETERS)} are honoured"
        )
    repeated = sorted({key for key, _ in pairs if sum(1 for k, _ in pairs if k == key) > 1})
    if repeated:
        raise ImproperlyConfigured(f"environment variable {name} repeats query parameter(s) {', '.join(repeated)}")
    return {key: value.strip() for key, value in pairs}


def _tls_setting(key: str, from_url: str | None) -> str | None:
    """sslmode/sslrootcert from IMAGING_DB_<KEY> or the URL's query; both set and different is an error."""
    name = f"{PREFIX}DB_{key.upper()}"
    from_env = text(name)
    if from_env is not None and from_url is not None and from_env != from_url:
        raise ImproperlyConfigured(
            f"environment variable {name}={from_env!r} contradicts {key}={from_url!r} in {PREFIX}DATABASE_URL"
        )
    return from_env if from_env is not None else (from_url or None)


def tls_options(url_parameters: dict[str, str]) -> dict[str, str]:
    """OPTIONS sslmode (always; default prefer) and sslrootcert (when set) for the PostgreSQL connection."""
    sslmode = _tls_setting("sslmode", url_parameters.get("sslmode")) or DEFAULT_SSLMODE
    if sslmode not in SSLMODES:
        raise ImproperlyConfigured(
            f"environment variable {PREFIX}DB_SSLMODE (or sslmode in {PREFIX}DATABASE_URL) is {sslmode!r}; "
            f"use one of {', '.join(SSLMODES)}"
        )
    options = {"sslmode": sslmode}
    root_cert = _tls_setting("sslrootcert", url_parameters.get("sslrootcert"))
    if root_cert is not None:
        if root_cert != SYSTEM_ROOT_CERT and not Path(root_cert).is_file():
            raise ImproperlyConfigured(
                f"environment variable {PREFIX}DB_SSLROOTCERT (or sslrootcert in {PREFIX}DATABASE_URL) names "
                f"{root_cert!r}, which is not a file (a PEM file of the CA certificate(s), or {SYSTEM_ROOT_CERT!r})"
            )
        options["sslrootcert"] = root_cert
    return options


def database(conn_max_age: int) -> dict[str, object]:
    """DATABASES['default'] from IMAGING_DATABASE_URL or IMAGING_DB_HOST/PORT/NAME/USER/PASSWORD, with the TLS
    settings IMAGING_DB_SSLMODE/IMAGING_DB_SSLROOTCERT (or sslmode/sslrootcert in the URL's query)."""
    url = text(f"{PREFIX}DATABASE_URL")
    url_parameters: dict[str, str] = {}
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in {"postgres", "postgresql"}:
            raise ImproperlyConfigured(
                f"environment variable {PREFIX}DATABASE_URL must be a postgresql:// URL, not {parts.scheme!r}"
            )
        name = unquote(parts.path.lstrip("/"))
        if not name or not parts.hostname or not parts.username:
            raise ImproperlyConfigured(
                f"environment variable {PREFIX}DATABASE_URL must name user, host and database "
                "(postgresql://USER:PASSWORD@HOST:PORT/NAME)"
            )
        url_parameters = _url_parameters(parts.query)
        host, port = parts.hostname, str(parts.port or 5432)
        user, password = unquote(parts.username), unquote(parts.password or "")
    else:
        why = f"database settings: set {PREFIX}DATABASE_URL or {PREFIX}DB_HOST/PORT/NAME/USER/PASSWORD"
        host = required(f"{PREFIX}DB_HOST", why)
        name = required(f"{PREFIX}DB_NAME", why)
        user = required(f"{PREFIX}DB_USER", why)
        port = text(f"{PREFIX}DB_PORT", "5432") or "5432"
        password = text(f"{PREFIX}DB_PASSWORD", "") or ""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": host,
        "PORT": port,
        "NAME": name,
        "USER": user,
        "PASSWORD": password,
        "CONN_MAX_AGE": conn_max_age,
        "CONN_HEALTH_CHECKS": flag(f"{PREFIX}CONN_HEALTH_CHECKS", default=False),
        "OPTIONS": {
            "application_name": "imaging_api",
            "connect_timeout": integer(f"{PREFIX}DB_CONNECT_TIMEOUT", 5, low=1),
            **tls_options(url_parameters),
        },
    }
