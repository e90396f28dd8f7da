"""The result of one command: a verdict, human-readable lines and a machine-readable document."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO


class MigrationError(Exception):
    """A failure the operator must act on; the message names the file, table, key, field or host involved."""


@dataclass
class Outcome:
    command: str
    ok: bool = True
    check_mode: bool = False
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def say(self, line: str) -> None:
        self.lines.append(line)

    def fail(self, message: str, *, line: str | None = None) -> None:
        """Not ok; the first failure is the error. The summary says `FAILED: <message>`, or `line` when given (the
        message was printed already, e.g. by the step of `apply` that failed)."""
        self.ok = False
        self.error = message if self.error is None else self.error
        self.lines.append(f"FAILED: {message}" if line is None else line)

    def document(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "ok": self.ok,
            "check_mode": self.check_mode,
            "error": self.error,
            **self.data,
        }

    def emit(self, as_json: bool, stream: TextIO | None = None) -> None:
        out = stream or sys.stdout
        if as_json:
            out.write(json.dumps(self.document(), indent=2, ensure_ascii=False, default=str) + "\n")
        else:
            for line in self.human():
                out.write(line + "\n")
        out.flush()

    def human(self) -> list[str]:
        """The human summary: the lines said, then the verdict `OK: <command>` or `NOT OK: <command>`."""
        return [*self.lines, ("OK" if self.ok else "NOT OK") + f": {self.command}"]
