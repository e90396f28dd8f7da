"""Helpers shared by the migration tests: run the CLI in-process, run SQL on a target."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import psycopg
from radiology_migration import cli


def migrate(*args: str) -> tuple[int, dict[str, Any]]:
    """Run `radiology-migrate ARGS --json` in-process; return the exit code and the JSON document."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([*args, "--json"])
    return code, json.loads(out.getvalue())


def pg_execute(dsn: str, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []
