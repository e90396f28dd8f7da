"""Secrets (a database DSN, an admin token, a login) read from files, so they appear neither on a command line
(visible to every local user in /proc/<pid>/cmdline and `ps`) nor in an environment block.

A secret file must be a regular file that its owner alone may read or write (mode & 0o077 == 0, e.g. 0600 or
0400) and must hold a non-empty secret; one trailing newline is dropped (`echo secret > file` is fine).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["OTHERS_BITS", "SecretFileError", "read_secret"]

OTHERS_BITS = 0o077


class SecretFileError(ValueError):
    """A secret file is missing, unreadable, shared with group or others, not text, or empty."""


def read_secret(path: str | Path, what: str) -> str:
    """The secret held by `path`; SecretFileError naming the file when it is missing, shared or empty."""
    file = Path(path)
    try:
        # O_NONBLOCK: a FIFO put in the file's place must not hang the open; the checks below refuse it.
        fd = os.open(file, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as e:
        raise SecretFileError(f"cannot read the {what} file {file}: {e.strerror or e}") from e
    try:
        info = os.fstat(fd)  # the file opened, not whatever the path points at by now
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(f"the {what} file {file} is not a regular file")
        if info.st_mode & OTHERS_BITS:
            raise SecretFileError(
                f"refusing the {what} file {file}: its mode {stat.S_IMODE(info.st_mode):04o} lets group or others "
                f"read or write it (chmod 600 {file})"
            )
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read()
    finally:
        os.close(fd)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SecretFileError(f"the {what} file {file} is not UTF-8 text") from e
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text.strip():
        raise SecretFileError(f"the {what} file {file} is empty")
    return text
