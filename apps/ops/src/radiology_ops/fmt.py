"""Small text formatting shared by the Markdown and HTML reports."""

from __future__ import annotations

import json
import re
from typing import Any

DETAIL_CHARS = 240
MESSAGE_CHARS = 300
KEY_EXAMPLES = 3
NOT_MEASURED = "not measured"
LONG_LIST = re.compile(r"[^\s,;()]+(?:, [^\s,;()]+){5,}")  # six or more comma-separated words: keys, ids


def shorten_lists(text: str) -> str:
    """Every long comma-separated list in a message as its count and a few examples."""

    def short(match: re.Match[str]) -> str:
        items = match.group(0).split(", ")
        return f"{len(items):,} items, e.g. {', '.join(items[:KEY_EXAMPLES])}"

    return LONG_LIST.sub(short, text)


def seconds(value: float | None, missing: str = "–") -> str:
    if value is None:
        return missing
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(value, 60)
    return f"{int(minutes)} min {rest:04.1f} s"


def number(value: Any, missing: str = "–") -> str:
    if value is None:
        return missing
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


def percent(value: Any, missing: str = "–") -> str:
    return missing if value is None else f"{float(value):.3%}"


def cut(text: Any, limit: int = MESSAGE_CHARS, where: str = "") -> str:
    """text with its long lists shortened, then cut to `limit` characters saying how many were left out (and
    where to read them)."""
    text = shorten_lists("" if text is None else str(text))
    if len(text) <= limit:
        return text
    return f"{text[:limit].rstrip()}… ({len(text) - limit:,} more characters{' in ' + where if where else ''})"


def key_sample(keys: Any, total: int | None = None, cap: int | None = None) -> dict[str, Any]:
    """A long key list as its count and a few examples. `total` is the true count when the producer knows it;
    `cap` is how many the producer lists at most (a list that long may have been cut)."""
    listed = [str(k) for k in keys] if isinstance(keys, list) else []
    count = total if total is not None else len(listed)
    at_least = total is None and cap is not None and len(listed) >= cap
    return {"count": count, "at_least": at_least, "examples": listed[:KEY_EXAMPLES]}


def key_text(sample: dict[str, Any], noun: str = "key") -> str:
    """E.g. "1,234 keys, e.g. EX1, EX2, EX3"."""
    count = sample["count"]
    text = f"{'at least ' if sample.get('at_least') else ''}{count:,} {noun}{'' if count == 1 else 's'}"
    examples = sample.get("examples") or []
    if examples and count > len(examples):
        text += ", e.g. " + ", ".join(examples)
    elif examples:
        text += ": " + ", ".join(examples)
    return text
