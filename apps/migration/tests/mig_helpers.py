"""Helpers shared by the migration tests: run the CLI in-process, run SQL on a target, make another target."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from typing import Any

import psycopg
from radiology_migration import cli
from radiology_testkit.postgres import PgServer

_names = itertools.count()


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


def new_target(pg_server: PgServer, template: str) -> str:
    """A new database made from `template` (the Django schema), its DSN."""
    name = f"target_{next(_names)}"
    with pg_server.connect() as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    return pg_server.dsn(name)
