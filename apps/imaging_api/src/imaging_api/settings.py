"""Django settings, all from the environment (see apps/imaging_api/README.md).

The service refuses to start without IMAGING_SECRET_KEY and database settings; DEBUG is off unless
IMAGING_DEBUG says otherwise; CORS is an explicit allow-list and never `*` unless DEBUG is on.
"""

from django.core.exceptions import ImproperlyConfigured
from radiology_contract.hosts import parse_allowed_hosts
from radiology_contract.responses import MAX_REQUEST_BODY_BYTES

from imaging_api import env

DEBUG = env.flag("IMAGING_DEBUG", default=False)
SECRET_KEY = env.required("IMAGING_SECRET_KEY", "Django signing key; generate one per installation")
# A request whose Host header (port ignored) matches none of these answers 400 bad_host (middleware.py).
# Read as the legacy service reads LEGACY_ALLOWED_HOSTS (unset or blank: 127.0.0.1, localhost; never `*`).
ALLOWED_HOSTS = list(parse_allowed_hosts(env.text("IMAGING_ALLOWED_HOSTS")))

DATABASES = {"default": env.database(conn_max_age=env.integer("IMAGING_CONN_MAX_AGE", 600))}

CORS_ALLOWED_ORIGINS = env.csv("IMAGING_CORS_ORIGINS")
if "*" in CORS_ALLOWED_ORIGINS:
    if not DEBUG:
        raise ImproperlyConfigured("IMAGING_CORS_ORIGINS must list origins; `*` is refused when IMAGING_DEBUG is off")
    CORS_ALLOWED_ORIGINS = []
    CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ("GET", "POST", "DELETE", "OPTIONS")
CORS_EXPOSE_HEADERS = ("X-Backend", "X-Request-ID", "Retry-After")

# Writes (POST/DELETE of analysis tasks) answer 503 writes_frozen while this file exists. Unset: never frozen.
# Checked inside each write's transaction under the freeze advisory lock (studies/freeze.py, freeze_barrier).
FREEZE_FILE = env.text("IMAGING_FREEZE_FILE")

# Exact search totals are cached per data version for this many seconds (0: count on every request).
COUNT_CACHE_SECONDS = env.integer("IMAGING_COUNT_CACHE_SECONDS", 300)

INSTALLED_APPS = [
    "corsheaders",
    "imaging_api.studies",
]

MIDDLEWARE = [
    "imaging_api.middleware.RequestContextMiddleware",
    "corsheaders.middleware.CorsMiddleware",
]

ROOT_URLCONF = "imaging_api.urls"
WSGI_APPLICATION = "imaging_api.wsgi.application"
TEMPLATES: list[dict[str, object]] = []

USE_TZ = False  # the contract stores naive local time: `timestamp without time zone`
# None: keep the host's local time zone, the one the legacy service writes its naive timestamps in.
TIME_ZONE = env.text("IMAGING_TIME_ZONE")
USE_I18N = False
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
APPEND_SLASH = False
# The contract's body limit: a larger body answers 413 payload_too_large (middleware.py, api.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

LOG_LEVEL = env.text("IMAGING_LOG_LEVEL", "INFO") or "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "imaging_api.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Our middleware logs every request (with its id and timing); Django's own copy would be a duplicate.
        "django.request": {"handlers": [], "level": "CRITICAL", "propagate": False},
        "django.server": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}
