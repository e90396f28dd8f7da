"""Small text formatting shared by the Markdown and HTML reports."""

from __future__ import annotations

import json
from typing import Any

DETAIL_CHARS = 240


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(value, 60)
    return f"{int(minutes)} min {rest:04.1f} s"


def number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def flag(value: bool | None) -> str:
    return {True: "PASSED", False: "FAILED", None: "unknown"}[value]


def compact(value: Any, limit: int = DETAIL_CHARS) -> str:
    if value in (None, {}, []):
        return ""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def percent(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3%}"
