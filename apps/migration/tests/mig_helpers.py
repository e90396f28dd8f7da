"""Helpers shared by the migration tests: run the CLI in-process, run SQL on a target, make another target, write
a secret file, create and delete tasks on a running legacy service."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
from radiology_migration import cli
from radiology_testkit.postgres import PgServer

_names = itertools.count()
LEGACY_TOKEN = "test-admin-token-0123456789"
LEGACY_API = str(Path(sys.executable).parent / "legacy-api")


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


def secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def create_task(url: str, name: str) -> str:
    body = json.dumps({"name": name, "task_type": "status_distribution"}).encode()
    req = urllib.request.Request(url + "/api/v1/analysis/tasks", data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201
        return str(json.loads(resp.read())["task_id"])


def delete_task(url: str, task_id: str) -> None:
    req = urllib.request.Request(url + f"/api/v1/analysis/tasks/{task_id}", method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 204
