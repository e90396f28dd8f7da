"""Secrets (the PostgreSQL DSN, the legacy admin token) read from files, so they appear neither on a command
line (visible to every local user in /proc/<pid>/cmdline and `ps`) nor in an environment block.

The checks on a secret file (a regular file only its owner may read or write, non-empty UTF-8 text, one trailing
newline dropped) are radiology_contract.secret_files'; here their refusal is a MigrationError.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import psycopg
from radiology_contract.secret_files import OTHERS_BITS, SecretFileError
from radiology_contract.secret_files import read_secret as read_secret_file

from .outcome import MigrationError

__all__ = ["OTHERS_BITS", "has_password", "read_secret", "warn_password_on_command_line"]


def read_secret(path: str | Path, what: str) -> str:
    """The secret held by `path`; MigrationError naming the file when it is missing, shared or empty."""
    try:
        return read_secret_file(path, what)
    except SecretFileError as e:
        raise MigrationError(str(e)) from e


def has_password(dsn: str) -> bool:
    """True when a libpq DSN or URL carries a password."""
    try:
        return bool(psycopg.conninfo.conninfo_to_dict(dsn).get("password"))
    except psycopg.Error:
        return ":" in dsn.partition("@")[0].partition("://")[2]  # unparseable: a URL's user:password@ part


def warn_password_on_command_line(dsn: str, option: str = "--dsn", stream: TextIO | None = None) -> None:
    if has_password(dsn):
        print(
            f"radiology-migrate: warning: {option} puts a database password on the command line, where other "
            "local users can read it (ps, /proc); use --dsn-file or $RADIOLOGY_MIGRATE_DSN_FILE instead",
            file=stream or sys.stderr,
        )
