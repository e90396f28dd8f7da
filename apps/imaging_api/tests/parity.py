"""The parity request battery and the byte comparison, shared by the parity tests and their self-check.

Volatile fields (documented in docs/API_CONTRACT.md): of a task created during the run, `task_id`,
`created_at` and `completed_at` differ between services; they are replaced by placeholders before the
bytes are compared. Nothing else is ever masked.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from radiology_contract import responses

API = "/api/v1"
MAX_BODY = responses.MAX_REQUEST_BODY_BYTES
VOLATILE_TASK_FIELDS = ("task_id", "created_at", "completed_at")


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # with its raw query string
    body: bytes | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}" + (f" body={self.body!r}" if self.body is not None else "")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str | None


def qs(*pairs: tuple[str, str]) -> str:
    """A query string with every character percent-encoded, keeping pair order and repeats."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def get(path: str, *pairs: tuple[str, str]) -> Call:
    query = qs(*pairs)
    return Call("GET", API + path + (f"?{query}" if query else ""))


def send(client: httpx.Client, base_url: str, call: Call) -> Answer:
    response = client.request(call.method, base_url + call.path, content=call.body)
    return Answer(response.status_code, response.content, response.headers.get("content-type"))


def differences(call: Call, legacy: Answer, imaging: Answer) -> list[str]:
    """Empty when both answers have the same status and the same body bytes."""
    problems: list[str] = []
    if legacy.status != imaging.status:
        problems.append(f"{call}: status legacy {legacy.status} != imaging {imaging.status}")
    if legacy.body != imaging.body:
        at = next(
            (i for i, (a, b) in enumerate(zip(legacy.body, imaging.body, strict=False)) if a != b),
            min(len(legacy.body), len(imaging.body)),
        )
        problems.append(
            f"{call}: bodies differ at byte {at}: legacy ...{legacy.body[max(0, at - 60) : at + 60]!r} "
            f"imaging ...{imaging.body[max(0, at - 60) : at + 60]!r}"
        )
    return problems


def mask_new_task(body: bytes, task_ids: set[str]) -> bytes:
    """Replace the volatile fields of the tasks in `task_ids` (created during this run) by placeholders."""
    document = json.loads(body)

    def masked(task: dict) -> dict:
        if task.get("task_id") in task_ids:
            return {k: (f"<{k}>" if k in VOLATILE_TASK_FIELDS else v) for k, v in task.items()}
        return task

    if isinstance(document, dict) and isinstance(document.get("data"), list):
        document["data"] = [masked(t) for t in document["data"]]
    elif isinstance(document, dict) and "task_id" in document:
        document = masked(document)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Q_TEXTS = (
    "ct",
    "CT",
    "chest",
    "CHEST",
    "c",
    "EX0000012",
    "MRN00001",
    "müller",
    "MÜLLER",
    "ü",
    "Chloé",
    "ZOË",
    "佐藤",
    "Ärztliche",
    "ärztliche",
    "😀",
    "'",
    "'Primovist'",
    '"claustrophobic"',
    '"',
    "%",
    "50%",
    "50% dose",
    "_",
    "a_b",
    "\\",
    "C:\\imports",
    "\\imports\\",
    "–",
    "—",
    "'; DROP TABLE examinations; --",
    "' OR '1'='1",
    "1=1) OR (1=1",
    "%' OR 1=1 --",
    "  chest  ",
    " ",
    "",
    "x" * 200,
    "x" * 201,
    "nul\x00byte",
    "no such text anywhere",
)

STATUSES = ("scheduled", "certified", "cancelled", "Certified", "bogus")
SOURCES = ("outpatient", "emergency", "health_check", "ER")
MODALITIES = ("CT", "MR", "US", "ct", "XX")
ITEMS = ("Chest PA/Lateral", "MRI Liver 'Primovist'", "chest pa/lateral", "Chest", "US Thyroid")
DATES = (
    ("2024-01-01", "2024-01-31"),
    ("2025-06-30", "2025-06-30"),
    ("2023-01-01", None),
    (None, "2023-02-01"),
    ("2024-02-29", "2024-03-01"),
    ("2025-01-01", "2024-01-01"),  # reversed: 422
    ("2024-13-01", None),
    ("2024-02-30", None),
    ("20240101", None),
    ("2024-1-1", None),
    ("yesterday", "tomorrow"),
    ("2024-01-01T00:00:00", None),
    ("９９９９-01-01", None),
)
PAGES = ("0", "-1", "1", "2", "7", "63", "64", "1000", "1000000", "1000001", "abc", "1.5", "1e3", " 2 ", "", "٣", "+1")
SIZES = ("0", "1", "-5", "20", "99", "100", "101", "abc", "1.0", "", "00010")


def _dated(path: str, dates: tuple[str | None, str | None]) -> Call:
    pairs = [(k, v) for k, v in (("date_from", dates[0]), ("date_to", dates[1])) if v is not None]
    return get(path, *pairs)


def read_battery(exam_ids: list[str], report_physicians: list[str]) -> list[Call]:
    """Every read endpoint, every filter alone and combined, and the edges. Deterministic."""
    calls: list[Call] = [  # /health differs by design ("backend"); see test_health_differs_only_in_backend_name
        get("/studies/search"),
        get("/reports/search"),
        get("/statistics"),
        get("/analysis/tasks"),
    ]
    for path in ("/studies/search", "/reports/search"):
        calls += [get(path, ("q", q)) for q in Q_TEXTS]
        calls += [get(path, ("page", p)) for p in PAGES]
        calls += [get(path, ("page_size", s)) for s in SIZES]
        calls += [get(path, ("page", "3"), ("page_size", "7")), get(path, ("page", "0"), ("page_size", "0"))]
        calls += [_dated(path, d) for d in DATES]
        calls += [
            get(path, ("unknown", "1"), ("PAGE", "2"), ("Q", "chest")),  # unknown (and wrongly cased) names
            get(path, ("page", "1"), ("page", "2")),  # repeated: the last counts
            get(path, ("q", "chest"), ("q", "ct")),
            get(path, ("q", "ct"), ("q", "")),
            get(path, ("page_size", "abc"), ("page_size", "5")),
            get(path, ("page", "abc"), ("page_size", "abc"), ("date_from", "x")),  # every problem listed
        ]
        calls.append(Call("GET", API + path + "?q=%E4%BD%90%E8%97%A4&page_size=5"))
        calls.append(Call("GET", API + path + "?q=chest+pa&page_size=5"))  # + is a space
        calls.append(Call("GET", API + path + "?q=%ZZ&q2=%FF"))  # broken escapes
        calls.append(Call("GET", API + path + "?&&=&q&page_size=3"))
    path = "/studies/search"
    calls += [get(path, ("exam_status", s)) for s in STATUSES]
    calls += [get(path, ("exam_source", s)) for s in SOURCES]
    calls += [get(path, ("modality", m)) for m in MODALITIES]
    calls += [get(path, ("exam_item", i)) for i in ITEMS]
    calls += [get("/statistics", ("exam_status", s)) for s in STATUSES[:3]]
    calls += [get("/statistics", ("modality", "CT"), ("q", "chest")), get("/statistics", ("date_from", "x"))]
    calls += [get("/statistics", ("q", "no such text anywhere")), get("/statistics", ("q", "50%"))]  # none; literal %
    calls += [_dated("/statistics", d) for d in DATES[:6]]
    combos = [
        (("q", "ct"), ("exam_status", "certified")),
        (("q", "chest"), ("modality", "CR"), ("exam_source", "inpatient")),
        (("exam_status", "certified"), ("exam_source", "outpatient"), ("modality", "MR")),
        (("exam_item", "Chest PA/Lateral"), ("date_from", "2024-01-01"), ("date_to", "2024-12-31")),
        (("q", "müller"), ("exam_status", "certified"), ("date_from", "2024-06-01"), ("page_size", "5")),
        (("q", "ct"), ("modality", "CT"), ("page", "4"), ("page_size", "13")),
        (("q", "ct"), ("modality", "MR")),  # likely empty
        (("exam_status", "scheduled"), ("page", "100")),  # past the end: [] and the true total
        (("q", "chest"), ("page", "1000")),  # past the end with q (the legacy counts such a page apart)
        (("q", "chest"), ("page", "1"), ("page_size", "100")),  # a page ending exactly or short of the total
        (("exam_status", "bogus"), ("modality", "XX"), ("page", "0")),  # several 422 details
    ]
    calls += [get(path, *c) for c in combos]
    for exam_id in exam_ids:
        calls += [get("/reports/search", ("exam_id", exam_id)), get(path, ("q", exam_id))]
    calls.append(get("/reports/search", ("exam_id", "EX-UNKNOWN")))
    for physician in report_physicians:
        calls.append(get("/reports/search", ("reporting_physician", physician)))
        calls.append(get("/reports/search", ("reporting_physician", physician), ("q", "nodule")))
        calls.append(get("/reports/search", ("reporting_physician", physician), ("q", "nodule"), ("page", "500")))
    calls.append(get("/reports/search", ("reporting_physician", "dr. nobody")))
    calls += [get("/analysis/tasks", ("task_type", t)) for t in ("status_distribution", "item_distribution", "x")]
    calls += [get("/analysis/tasks", ("page_size", "2"), ("page", p)) for p in ("1", "2", "3", "9", "0")]
    for task_id in (
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "12345",
        "%20",
        "00000000000000000000000000000000",
        "{00000000-0000-0000-0000-000000000000}",
    ):
        calls.append(Call("GET", f"{API}/analysis/tasks/{task_id}"))
        calls.append(Call("DELETE", f"{API}/analysis/tasks/{task_id}"))
    calls += [
        Call("GET", "/"),
        Call("GET", "/api/v1"),
        Call("GET", "/api/v1/"),
        Call("GET", "/api/v1/nothing"),
        Call("GET", "/api/v2/studies/search"),
        Call("GET", "/api/v1/studies"),
        Call("GET", "/api/v1/studies/search/extra"),
        Call("POST", "/api/v1/studies/search", b"{}"),
        Call("DELETE", "/api/v1/reports/search"),
        Call("PUT", "/api/v1/analysis/tasks", b"{}"),
        Call("POST", "/api/v1/health"),
        Call("PATCH", "/api/v1/analysis/tasks/00000000-0000-0000-0000-000000000000", b"{}"),
        Call("PUT", "/api/v1/statistics"),
        Call("GET", "/api/v1/analysis/tasks/a%2Fb"),
        Call("GET", "/API/V1/studies/search"),
        Call("GET", "/api/v1/studies/search?"),
        Call("HEAD", "/api/v1/studies/search"),
        Call("HEAD", "/api/v1/nothing"),
        Call("OPTIONS", "/api/v1/studies/search"),
    ]
    return calls


# The legacy service answers these with a 307 redirect to the path without the slash (its framework's
# redirect_slashes), where the contract says an unknown path is a 404: a known legacy deviation, checked by
# test_parity.test_trailing_slash_paths (strict xfail) until the legacy service follows the contract.
TRAILING_SLASH_CALLS = (
    Call("GET", "/api/v1/studies/search/"),
    Call("GET", "/api/v1/analysis/tasks/"),
    Call("GET", "/api/v1/health/"),
)


def invalid_task_bodies() -> list[bytes]:
    bodies: list[object] = [
        {},
        {"name": "x"},
        {"task_type": "status_distribution"},
        {"name": "", "task_type": "status_distribution"},
        {"name": "   ", "task_type": "status_distribution"},
        {"name": "x" * 201, "task_type": "status_distribution"},
        {"name": 5, "task_type": "status_distribution"},
        {"name": "x", "task_type": "nope"},
        {"name": "x", "task_type": "status_distribution", "filters": []},
        {"name": "x", "task_type": "status_distribution", "filters": {"bogus": "1"}},
        {"name": "x", "task_type": "status_distribution", "filters": {"modality": 5}},
        {"name": "x", "task_type": "status_distribution", "filters": {"modality": "XX", "date_from": "no"}},
        {"name": "a\x00b", "task_type": "status_distribution"},  # PostgreSQL cannot store a NUL
        # unpaired surrogate escapes ("\\ud800": no Unicode text) in a value, a filter, a filter's name
        {"name": "a\ud800b", "task_type": "status_distribution"},
        {"name": "x", "task_type": "status_distribution", "filters": {"q": "\udfff"}},
        {"name": "x", "task_type": "status_distribution", "filters": {"\ud800": "1"}},
        [],
        "text",
        None,
    ]
    raw = [json.dumps(b).encode() for b in bodies]
    too_deep = b"[" * 100_000 + b"]" * 100_000
    return [*raw, b"", b"{", b"\xff\xfe", b"not json", too_deep]


def valid_task_bodies() -> list[bytes]:
    bodies = [
        {"name": "Status mix", "task_type": "status_distribution"},
        {"name": "  Sources, trimmed  ", "task_type": "source_distribution", "filters": {}},
        {"name": "CT items", "task_type": "item_distribution", "filters": {"modality": "CT", "q": "chest"}},
        {"name": 'Müller\'s "monthly" – 100%', "task_type": "monthly_volume", "filters": {"q": "müller"}},
        {"name": "Dated", "task_type": "monthly_volume", "filters": {"date_from": "2024-01-01", "date_to": None}},
        {"name": "Nothing matches", "task_type": "item_distribution", "filters": {"q": "no such text anywhere"}},
        {"name": "Extra keys ignored", "task_type": "status_distribution", "extra": [1, 2]},
    ]
    return [json.dumps(b, ensure_ascii=False).encode() for b in bodies]


def oversized_task_body() -> bytes:
    """A task body of about 2 MB (twice the contract's body limit): a name far past its own limit, too."""
    return json.dumps({"name": "x" * (2 * MAX_BODY), "task_type": "status_distribution"}).encode()


def chunks(body: bytes, size: int = 65536) -> Iterator[bytes]:
    """The body as an iterator, which httpx sends chunked (Transfer-Encoding: chunked, no Content-Length)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def request_alone(
    method: str, url: str, content: bytes | Iterator[bytes] | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """One request on a connection of its own, for bodies a service does not read to the end (413, or 503 for a
    frozen write). gunicorn then drains at most 64 KiB and closes the connection although its answer announced
    keep-alive: a shared client could send its next request into that closing connection."""
    with httpx.Client(timeout=60) as alone:
        return alone.request(method, url, content=content, headers=headers)
