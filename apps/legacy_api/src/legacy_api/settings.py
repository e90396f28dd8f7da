"""Configuration of the service, read once from arguments and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from radiology_contract.hosts import DEFAULT_ALLOWED_HOSTS, parse_allowed_hosts

DEFAULT_DB = "medical_imaging.duckdb"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_SNAPSHOT_WAIT_SECONDS = 30.0
SNAPSHOT_WAIT_ENV = "LEGACY_SNAPSHOT_WAIT_SECONDS"
ALLOWED_HOSTS_ENV = "LEGACY_ALLOWED_HOSTS"
QUERY_SLOTS_ENV = "LEGACY_QUERY_SLOTS"
DEFAULT_QUERY_SLOTS = 4


def _origins(raw: str | None) -> tuple[str, ...]:
    return tuple(o.strip() for o in (raw or "").split(",") if o.strip())


def _seconds(name: str, default: float) -> float:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"environment variable {name}={raw!r} must be a positive number of seconds")
    return value


def _count(name: str, default: int) -> int:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"environment variable {name}={raw!r} must be at least 1")
    return value


@dataclass(frozen=True)
class Settings:
    db_path: Path
    cors_origins: tuple[str, ...] = ()
    admin_token: str | None = None  # admin endpoints are disabled (404) when unset
    # How long the admin snapshot waits for writes in flight (the write lock) before refusing.
    snapshot_wait_seconds: float = DEFAULT_SNAPSHOT_WAIT_SECONDS
    # Host header values answered (port ignored; "*" only when configured); any other gets 400 bad_host.
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    # Users' scans (searches, statistics, a new task's count) run on DuckDB at once; the others wait their turn,
    # first come first served (app.Service).
    query_slots: int = DEFAULT_QUERY_SLOTS

    @property
    def freeze_path(self) -> Path:
        return freeze_marker(self.db_path)

    @classmethod
    def from_env(cls, db_path: Path | str | None = None) -> Settings:
        token = os.environ.get("LEGACY_ADMIN_TOKEN") or None
        return cls(
            db_path=Path(db_path or os.environ.get("LEGACY_DB_PATH") or DEFAULT_DB),
            cors_origins=_origins(os.environ.get("LEGACY_CORS_ORIGINS")),
            admin_token=token,
            snapshot_wait_seconds=_seconds(SNAPSHOT_WAIT_ENV, DEFAULT_SNAPSHOT_WAIT_SECONDS),
            allowed_hosts=parse_allowed_hosts(os.environ.get(ALLOWED_HOSTS_ENV)),
            query_slots=_count(QUERY_SLOTS_ENV, DEFAULT_QUERY_SLOTS),
        )


def freeze_marker(db_path: Path) -> Path:
    """The write-freeze marker lives next to the database: <db>.freeze."""
    return db_path.with_name(db_path.name + ".freeze")
