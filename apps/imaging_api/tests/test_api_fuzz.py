"""schemathesis against both live services, from the contract's OpenAPI document (docs/openapi.json).

Every operation of the public contract gets schemathesis's coverage cases (deterministic: boundary values,
wrong types, missing and unknown parameters, methods the path does not allow) and a fixed number of generated
cases per generation mode (positive and negative), drawn by a derandomized Hypothesis run: the same cases on
every run, nothing time-based. The operator-only /api/v1/admin/... routes are not part of the public contract
(docs/API_CONTRACT.md) and are left out.

Each case is sent to the legacy service, then to the new one, and for every case:
- neither answers a 5xx;
- each answer passes schemathesis's response checks against the document (status code documented, content
  type, headers, body schema: the records, envelopes and error bodies of docs/API_CONTRACT.md);
- both answer the same status code.
A failure names the operation, the case (method, path, query, headers, body) and both answers.

Writes: the two services are this module's own (the session's pair stays untouched for the byte-for-byte
parity tests), loaded from the same workbook, and get the same cases in the same order, so they go through
the same sequence of states. A POST creates one task on each side or none on both; a generated DELETE can
only hit a task whose id is the same on both (a workbook task), since a task created here has a random id on
each side that no generated case can know. The states then differ only in the volatile fields of created
tasks (docs/API_CONTRACT.md), which change no status code. Bodies are compared by test_parity.py, not here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import Unsatisfiable
from hypothesis.internal.conjecture import providers
from radiology_testkit.postgres import PgServer
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NotSet
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import imaging, imaging_server, legacy, legacy_server, migrated_database

pytestmark = pytest.mark.parity

OPENAPI = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"
ADMIN_PREFIX = "/api/v1/admin/"
# Generated cases per operation and generation mode; the coverage cases come on top (about 500 in all).
MAX_EXAMPLES = 100
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
TIMEOUT = 30  # seconds for one answer: a hang is a failure, not a wait


@dataclass(frozen=True)
class Services:
    legacy: str
    imaging: str


@pytest.fixture(scope="module")
def services(pg: PgServer, workbook: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Both services on data of their own (the fuzzing writes), loaded from the same workbook."""
    env = migrated_database(pg, "imaging_fuzz")
    imaging(["import_excel", str(workbook)], env)
    root = tmp_path_factory.mktemp("fuzz")
    db = root / "medical_imaging.duckdb"
    legacy(["import", "--db", str(db), str(workbook)])
    with legacy_server(db) as legacy_url, imaging_server(env, root / "imaging.freeze") as imaging_url:
        yield Services(legacy_url, imaging_url)


def load_schema() -> Any:
    # An explicit default configuration: no schemathesis.toml found on the disk changes what runs.
    return schemathesis.openapi.from_path(OPENAPI, config=SchemathesisConfig())


def public_operations(schema: Any) -> list[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if not op.path.startswith(ADMIN_PREFIX)]


def coverage_cases(schema: Any, operation: Any) -> list[Case]:
    generation = schema.config.generation_for(operation=operation, phase="coverage")
    return list(
        schema.iter_coverage_cases(operation, generation_modes=list(GenerationMode), generation_config=generation)
    )


@contextmanager
def only_the_documents_constants() -> Iterator[None]:
    """Hypothesis mixes literals of whichever local modules happen to be imported into the values it draws, so the
    cases would depend on what else the run imported (this file alone, the whole directory): it draws none here.
    """
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        with mock.patch.object(providers, "_get_local_constants", providers.Constants):
            yield
    finally:
        providers.CONSTANTS_CACHE.cache.clear()


def generated_cases(operation: Any, mode: GenerationMode) -> list[Case]:
    """At most MAX_EXAMPLES cases of `mode`, the same ones on every run (derandomized, no example database)."""
    cases: list[Case] = []

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: Case) -> None:
        cases.append(case)

    try:
        with only_the_documents_constants():
            collect()
    except Unsatisfiable:
        # No negative case exists for an operation without parameters, or for a path parameter that accepts any
        # string; a positive one always does.
        if mode is GenerationMode.POSITIVE:
            raise
        return []
    return cases


def known_task_cases(schema: Any, task_ids: list[str]) -> list[Case]:
    """Generated ids never name a task: for the workbook's tasks (the same ids on both services) a read, a delete,
    then both again (the task is gone)."""
    task = schema["/api/v1/analysis/tasks/{task_id}"]
    return [
        task[method].Case(path_parameters={"task_id": task_id})
        for task_id in task_ids
        for method in ("GET", "DELETE", "GET", "DELETE")
    ]


def all_cases(schema: Any) -> list[Case]:
    cases: list[Case] = []
    for operation in public_operations(schema):
        cases += coverage_cases(schema, operation)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases += generated_cases(operation, mode)
    return cases


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    failures: str  # schemathesis's report of the failed response checks, "" when they all passed


def send(case: Case, base_url: str, session: requests.Session) -> Answer:
    response = case.call(base_url=base_url, session=session, timeout=TIMEOUT, allow_redirects=False)
    try:
        case.validate_response(response, checks=CHECKS, transport_kwargs={"base_url": base_url})
    except FailureGroup as group:
        failures = "; ".join(f"{type(f).__name__}: {f.title}: {f.message}" for f in group.exceptions)
    else:
        failures = ""
    return Answer(response.status_code, response.content, failures)


def describe(case: Case) -> str:
    parts = [f"{case.operation.label}: {case.method} {case.formatted_path}"]
    if case.query:
        parts.append(f"query={case.query!r}")
    if case.headers:
        parts.append(f"headers={dict(case.headers)!r}")
    if not isinstance(case.body, NotSet):
        parts.append(f"body={case.body!r}")
    return " ".join(parts)


def problems_of(case: Case, legacy_answer: Answer, imaging_answer: Answer) -> list[str]:
    found: list[str] = []
    for name, answer in (("legacy", legacy_answer), ("imaging", imaging_answer)):
        if answer.failures:
            found.append(f"{name} breaks the document: {answer.failures}")
    if legacy_answer.status != imaging_answer.status:
        found.append("status codes differ")
    if not found:
        return []
    answers = "\n    ".join(
        f"{name}: {answer.status} {answer.body[:300]!r}"
        for name, answer in (("legacy", legacy_answer), ("imaging", imaging_answer))
    )
    return [f"{describe(case)}\n    " + "\n    ".join(found) + f"\n    {answers}"]


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return all_cases(load_schema())


def test_cases_are_reproducible(cases: list[Case]) -> None:
    """The same cases on every run: a second generation from a fresh schema object gives the same ones."""
    assert [describe(case) for case in cases] == [describe(case) for case in all_cases(load_schema())]
    operations = {case.operation.label for case in cases}
    assert ADMIN_PREFIX not in json.dumps(sorted(operations))
    assert len(operations) == len(public_operations(load_schema())) == 8


def test_the_checks_can_fail(services: Services) -> None:
    """A real answer that breaks the document (here made stricter on purpose) fails the checks, and a 5xx or a
    status difference is reported with the case and both answers."""
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    document["components"]["schemas"]["Health"]["required"].append("uptime")
    strict = schemathesis.openapi.from_dict(document, config=SchemathesisConfig())
    case = strict["/api/v1/health"]["GET"].Case()
    with requests.Session() as session:
        answer = send(case, services.legacy, session)
    assert answer.status == 200 and "uptime" in answer.failures
    ok = Answer(200, b"{}", "")
    assert problems_of(case, ok, ok) == []
    (report,) = problems_of(case, ok, Answer(500, b"boom", "ServerError"))
    assert "GET /api/v1/health" in report and "status codes differ" in report and "imaging: 500 b'boom'" in report


def workbook_task_ids(services: Services, session: requests.Session) -> list[str]:
    listed = [
        session.get(f"{url}/api/v1/analysis/tasks", params={"page_size": 100}, timeout=TIMEOUT).json()["data"]
        for url in (services.legacy, services.imaging)
    ]
    ids = [[task["task_id"] for task in tasks] for tasks in listed]
    assert ids[0] == ids[1] and ids[0], ids
    return ids[0]


def test_both_services_answer_every_case_alike_and_as_documented(services: Services, cases: list[Case]) -> None:
    problems: list[str] = []
    statuses: set[int] = set()
    with requests.Session() as legacy_session, requests.Session() as imaging_session:
        every_case = cases + known_task_cases(load_schema(), workbook_task_ids(services, legacy_session))
        for case in every_case:
            legacy_answer = send(case, services.legacy, legacy_session)
            imaging_answer = send(case, services.imaging, imaging_session)
            statuses |= {legacy_answer.status, imaging_answer.status}
            problems += problems_of(case, legacy_answer, imaging_answer)
    # the cases reach every kind of answer of the contract, writes included, not only 200s
    assert {200, 201, 204, 404, 405, 422} <= statuses, statuses
    assert not problems, f"{len(problems)} of {len(every_case)} cases fail:\n" + "\n".join(problems[:30])
