"""Reading the service's configuration from environment variables, loudly."""

import os
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

PREFIX = "IMAGING_"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


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


def database(conn_max_age: int) -> dict[str, object]:
    """DATABASES['default'] from IMAGING_DATABASE_URL or IMAGING_DB_HOST/PORT/NAME/USER/PASSWORD."""
    url = text(f"{PREFIX}DATABASE_URL")
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
        },
    }
