"""Structural JSON comparison that names every differing path ($.data[3].exam_id) and key-order changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_PER_DOCUMENT = 25


@dataclass(frozen=True)
class Difference:
    path: str
    kind: str  # value, type, missing, extra, length, key_order, status, header, bytes
    legacy: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "legacy": _short(self.legacy), "new": _short(self.new)}


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    if isinstance(value, (dict, list)):
        text = repr(value)
        return text if len(text) <= 200 else text[:200] + "…"
    return value


def _same_type(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return type(a) is type(b)
    return type(a) is type(b)


def compare(a: Any, b: Any, path: str = "$", out: list[Difference] | None = None) -> list[Difference]:
    diffs: list[Difference] = [] if out is None else out
    if len(diffs) >= MAX_PER_DOCUMENT:
        return diffs
    if not _same_type(a, b):
        diffs.append(Difference(path, "type", a, b))
    elif isinstance(a, dict):
        for key in a:
            if key not in b:
                diffs.append(Difference(f"{path}.{key}", "missing", a[key], None))
            else:
                compare(a[key], b[key], f"{path}.{key}", diffs)
        diffs.extend(Difference(f"{path}.{key}", "extra", None, b[key]) for key in b if key not in a)
        common_a = [k for k in a if k in b]
        common_b = [k for k in b if k in a]
        if common_a != common_b:
            diffs.append(Difference(path, "key_order", common_a, common_b))
    elif isinstance(a, list):
        if len(a) != len(b):
            diffs.append(Difference(path, "length", len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            compare(x, y, f"{path}[{i}]", diffs)
    elif a != b:
        diffs.append(Difference(path, "value", a, b))
    return diffs[:MAX_PER_DOCUMENT]


def drop_paths(doc: Any, paths: tuple[str, ...]) -> Any:
    """A copy of `doc` with the top-level keys named by `$.<key>` paths removed (the ignore list)."""
    if not isinstance(doc, dict) or not paths:
        return doc
    names = {p[2:] for p in paths if p.startswith("$.") and "." not in p[2:] and "[" not in p[2:]}
    return {k: v for k, v in doc.items() if k not in names}
