"""The request battery of the API diff, generated from the contract and from values found in the data.

Every endpoint; every filter alone (each allowed choice, real exam items, exam ids, physicians and months
read from the legacy service) and in combinations; pagination edges (first, second, last page, past the
end, invalid values); awkward `q` text (unicode, quotes, % _ \\ and SQL-like text); unknown and repeated
parameters; invalid values that must give the same 422 bytes; unknown paths. GET only.

`select` narrows the battery to the requests under some API paths (`--only`) or drops those under others
(`--skip`), e.g. for a short diff of /analysis/tasks and /health under the write freeze.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from radiology_contract.fields import EXAM_SOURCES, EXAM_STATUSES, MODALITIES, TASK_TYPES
from radiology_contract.query import MAX_PAGE_SIZE, MAX_Q_LENGTH

from .http import get_json
from .outcome import MigrationError

API = "/api/v1"
AWKWARD_Q = (
    "%",
    "_",
    "\\",
    "'",
    '"',
    "O'Brien",
    "ü",
    "Müller",
    "–",
    "' OR 1=1 --",
    "  chest  ",
    "CT%",
    "a_b",
    "x" * (MAX_Q_LENGTH + 1),
)


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query string
    body: bytes | None = None
    label: str = ""

    def __str__(self) -> str:
        return f"{self.method} {self.target}"

    @property
    def path(self) -> str:
        """The API path: the part of the target after /api/v1, without the query string."""
        target = self.target.split("?", 1)[0]
        return target[len(API) :] if target.startswith(API + "/") else target


def _get(path: str, params: list[tuple[str, str]] | None = None, label: str = "") -> Request:
    query = urllib.parse.urlencode(params or [])
    return Request("GET", f"{API}{path}" + (f"?{query}" if query else ""), label=label)


@dataclass
class Samples:
    """Values taken from the legacy service's own data."""

    exam_ids: list[str]
    record_nos: list[str]
    items: list[str]
    physicians: list[str]
    equipment: list[str]
    months: list[str]
    report_exam_ids: list[str]
    reporting_physicians: list[str]
    report_words: list[str]
    task_ids: list[str]
    study_total: int
    report_total: int
    task_total: int


def _data(base: str, path: str, timeout: float) -> dict[str, Any]:
    status, body = get_json(base + API + path, timeout=timeout)
    if status != 200 or not isinstance(body, dict):
        raise ValueError(f"{base}{API}{path} answered {status}")
    return body


def _distinct(values: list[Any], limit: int) -> list[str]:
    out: list[str] = []
    for v in values:
        if isinstance(v, str) and v and v not in out:
            out.append(v)
        if len(out) >= limit:
            break
    return out


def collect(base: str, timeout: float) -> Samples:
    stats = _data(base, "/statistics", timeout)["data"]
    studies = _data(base, f"/studies/search?page_size={MAX_PAGE_SIZE}", timeout)
    reports = _data(base, f"/reports/search?page_size={MAX_PAGE_SIZE}", timeout)
    tasks = _data(base, f"/analysis/tasks?page_size={MAX_PAGE_SIZE}", timeout)
    s_rows, r_rows = studies["data"], reports["data"]
    words = [w for r in r_rows for w in str(r.get("report_text") or "").split() if len(w) > 4]
    return Samples(
        exam_ids=_distinct([r["exam_id"] for r in s_rows], 5),
        record_nos=_distinct([r["medical_record_no"] for r in s_rows], 3),
        items=_distinct([b["key"] for b in stats["by_item"]], 6),
        physicians=_distinct([r.get("certified_physician") for r in s_rows], 3),
        equipment=_distinct([r.get("equipment_name") for r in s_rows], 2),
        months=_distinct([b["key"] for b in stats["by_month"]], 24),
        report_exam_ids=_distinct([r["exam_id"] for r in r_rows], 4),
        reporting_physicians=_distinct([r.get("reporting_physician") for r in r_rows], 3),
        report_words=_distinct(words, 3),
        task_ids=_distinct([t["task_id"] for t in tasks["data"]], 10),
        study_total=int(studies["total"]),
        report_total=int(reports["total"]),
        task_total=int(tasks["total"]),
    )


def _pagination(path: str, total: int) -> list[Request]:
    last = max(1, math.ceil(total / 20))
    cases = [
        [("page", "2")],
        [("page", str(last))],
        [("page", str(last + 1))],
        [("page_size", "1")],
        [("page_size", str(MAX_PAGE_SIZE))],
        [("page_size", "7"), ("page", "3")],
        [("page", "0")],
        [("page", "-1")],
        [("page_size", "0")],
        [("page_size", str(MAX_PAGE_SIZE + 1))],
        [("page", "abc")],
        [("page_size", "1.5")],
        [("page", "")],
        [("page", "1"), ("page", "2")],
    ]
    return [_get(path, c, "pagination") for c in cases]


def _month_range(months: list[str]) -> list[list[tuple[str, str]]]:
    if not months:
        return []
    first, last = months[0], months[-1]
    mid = months[len(months) // 2]
    return [
        [("date_from", f"{mid}-01")],
        [("date_to", f"{mid}-15")],
        [("date_from", f"{first}-01"), ("date_to", f"{first}-28")],
        [("date_from", f"{last}-01"), ("date_to", f"{last}-01")],
        [("date_from", f"{mid}-10"), ("date_to", f"{mid}-01")],
        [("date_from", "2024-13-01")],
        [("date_to", "2024-1-1")],
    ]


def build(samples: Samples) -> list[Request]:
    s = samples
    out: list[Request] = [_get("/health", label="health")]
    # Studies.
    out.append(_get("/studies/search", label="studies"))
    out += _pagination("/studies/search", s.study_total)
    out += [_get("/studies/search", [("exam_status", v)], "filter") for v in (*EXAM_STATUSES, "bogus")]
    out += [_get("/studies/search", [("exam_source", v)], "filter") for v in (*EXAM_SOURCES, "bogus")]
    out += [_get("/studies/search", [("modality", v)], "filter") for v in (*MODALITIES, "XX")]
    out += [_get("/studies/search", [("exam_item", v)], "filter") for v in (*s.items, "No such item")]
    q_values = [*s.exam_ids[:2], *(e[2:-2] for e in s.exam_ids[:1]), *s.record_nos[:1], *s.physicians, *s.equipment]
    q_values += (
        [w.lower() for w in s.items[:2]] + [w.upper() for w in s.items[:1]] + [w.split()[0] for w in s.items[:3]]
    )
    out += [_get("/studies/search", [("q", q)], "q") for q in (*q_values, *AWKWARD_Q)]
    out += [_get("/studies/search", c, "dates") for c in _month_range(s.months)]
    combos: list[list[tuple[str, str]]] = [
        [("exam_status", "completed"), ("exam_source", "outpatient")],
        [("modality", "CT"), ("exam_status", "reported")],
        [("unknown", "x"), ("exam_status", "completed")],
        [("exam_status", "bogus"), ("exam_status", "completed")],
        [("exam_status", "bogus"), ("page", "0"), ("date_from", "nope")],
    ]
    if s.items:
        combos.append([("exam_item", s.items[0]), ("q", s.items[0].split()[0].lower())])
    if s.items and s.months:
        combos.append(
            [("exam_item", s.items[0]), ("date_from", f"{s.months[0]}-01"), ("page_size", "5"), ("page", "2")]
        )
    out += [_get("/studies/search", c, "combined") for c in combos]
    # Reports.
    out.append(_get("/reports/search", label="reports"))
    out += _pagination("/reports/search", s.report_total)
    out += [_get("/reports/search", [("exam_id", v)], "filter") for v in (*s.report_exam_ids, "NO-SUCH-EXAM")]
    out += [
        _get("/reports/search", [("reporting_physician", v)], "filter") for v in (*s.reporting_physicians, "Dr. Nobody")
    ]
    out += [_get("/reports/search", [("q", q)], "q") for q in (*s.report_words, *s.report_exam_ids[:1], *AWKWARD_Q)]
    out += [_get("/reports/search", c, "dates") for c in _month_range(s.months)]
    if s.reporting_physicians and s.months:
        out.append(
            _get(
                "/reports/search",
                [("reporting_physician", s.reporting_physicians[0]), ("date_from", f"{s.months[0]}-01")],
                "combined",
            )
        )
    # Statistics.
    out.append(_get("/statistics", label="statistics"))
    out += [_get("/statistics", [("exam_status", v)], "filter") for v in (EXAM_STATUSES[0], EXAM_STATUSES[-1], "bogus")]
    out += [_get("/statistics", [("exam_source", v)], "filter") for v in EXAM_SOURCES[:2]]
    out += [_get("/statistics", [("modality", "MR")], "filter")]
    out += [_get("/statistics", [("exam_item", v)], "filter") for v in s.items[:2]]
    out += [_get("/statistics", [("q", q)], "q") for q in ("%", "ü", *s.items[:1])]
    out += [_get("/statistics", c, "dates") for c in _month_range(s.months)[:4]]
    # Analysis tasks (read-only).
    out.append(_get("/analysis/tasks", label="tasks"))
    out += _pagination("/analysis/tasks", s.task_total)
    out += [_get("/analysis/tasks", [("task_type", v)], "filter") for v in (*TASK_TYPES, "bogus")]
    out += [_get(f"/analysis/tasks/{t}", label="task") for t in s.task_ids]
    out += [
        _get("/analysis/tasks/00000000-0000-4000-8000-000000000000", label="task"),
        _get("/analysis/tasks/not-a-uuid", label="task"),
        _get("/analysis/tasks/%20", label="task"),
    ]
    out += [_get(f"/analysis/tasks/{t.upper()}", label="task") for t in s.task_ids[:1]]
    # Unknown paths.
    out += [
        _get("/no-such-endpoint", label="404"),
        _get("/studies/search/extra", label="404"),
        _get("/studies", label="404"),
    ]
    return out


def under(path: str, prefix: str) -> bool:
    """Whether the API `path` is `prefix` or lies under it: /analysis/tasks is under itself and holds
    /analysis/tasks/<id>, but not /analysis/tasksx; a prefix ending in / holds only what lies below it."""
    return path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/")


def keeps(path: str, only: Sequence[str] = (), skip: Sequence[str] = ()) -> bool:
    """Whether `path` survives --only (when given, it must lie under one of them) and then --skip."""
    if only and not any(under(path, p) for p in only):
        return False
    return not any(under(path, p) for p in skip)


def top_level_paths(requests: Sequence[Request]) -> list[str]:
    """The battery's endpoints in battery order: each distinct path not under another (unknown-path probes left out)."""
    paths = list(dict.fromkeys(r.path for r in requests if r.label != "404"))
    return [p for p in paths if not any(q != p and under(p, q) for q in paths)]


def select(requests: Sequence[Request], only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[Request]:
    """The requests whose API path lies under an --only PATH (all when none is given), less those under a --skip
    PATH. A PATH without a leading /, or one that matches no request of the battery, is an error, and so is an
    empty result: a typo must not turn a gate into an empty comparison."""
    if not only and not skip:
        return list(requests)
    known = "the battery's paths: " + ", ".join(top_level_paths(requests))
    for option, given in (("--only", only), ("--skip", skip)):
        for p in given:
            if not p.startswith("/"):
                raise MigrationError(f"{option} {p!r} does not start with / (give the path after {API}); {known}")
            if "?" in p:
                raise MigrationError(f"{option} {p!r} holds a query string (give the path only); {known}")
            if not any(under(r.path, p) for r in requests):
                hint = f" (give the part after {API})" if under(p, API) else ""
                raise MigrationError(f"{option} {p!r} matches no request of the battery{hint}; {known}")
    kept = [r for r in requests if keeps(r.path, only, skip)]
    if not kept:
        raise MigrationError(
            f"--only {', '.join(only) or '(none)'} with --skip {', '.join(skip) or '(none)'} leaves no request "
            f"of the battery; {known}"
        )
    return kept
