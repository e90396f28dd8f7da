"""The report both importers print: per table read / imported / errors / time, then the total (pgloader's layout)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TableSummary:
    table: str
    read: int = 0
    imported: int = 0
    errors: int = 0
    seconds: float = 0.0


def format_summary(summary: list[TableSummary], total_seconds: float) -> str:
    lines = [f"{'table name':<28}{'read':>10}{'imported':>10}{'errors':>8}{'time':>10}", "-" * 66]
    for s in summary:
        lines.append(f"{s.table:<28}{s.read:>10}{s.imported:>10}{s.errors:>8}{s.seconds:>9.3f}s")
    lines.append("-" * 66)
    read = sum(s.read for s in summary)
    imported = sum(s.imported for s in summary)
    errors = sum(s.errors for s in summary)
    lines.append(f"{'Total import time':<28}{read:>10}{imported:>10}{errors:>8}{total_seconds:>9.3f}s")
    return "\n".join(lines)
