"""The battery's selection by API path (`api-diff --only/--skip`): matching, errors, the write-steps rule."""

from __future__ import annotations

import pytest
from radiology_migration import battery
from radiology_migration.battery import Request, Samples, keeps, select, under
from radiology_migration.outcome import MigrationError

TASK = "11111111-1111-4111-8111-111111111111"
TOP_LEVEL = "/health, /studies/search, /reports/search, /statistics, /analysis/tasks"


def get(target: str, label: str = "") -> Request:
    return Request("GET", battery.API + target, label=label)


SMALL = [
    get("/health"),
    get("/analysis/tasks"),
    get("/analysis/tasks?page=2"),
    get(f"/analysis/tasks/{TASK}"),
    get("/analysis/tasksx"),
    get("/studies/search?q=%25"),
    get("/studies", "404"),
]


@pytest.fixture(scope="module")
def full() -> list[Request]:
    samples = Samples(
        exam_ids=["EX-000123"],
        record_nos=["MR-1"],
        items=["Chest CT"],
        physicians=["Dr A"],
        equipment=["Scanner 1"],
        months=["2024-01", "2024-02"],
        report_exam_ids=["EX-000123"],
        reporting_physicians=["Dr B"],
        report_words=["fracture"],
        task_ids=[TASK],
        study_total=100,
        report_total=50,
        task_total=10,
    )
    return battery.build(samples)


def paths(requests: list[Request]) -> list[str]:
    return [r.target.removeprefix(battery.API) for r in requests]


def test_the_path_is_after_the_api_prefix_without_the_query_string() -> None:
    assert get("/analysis/tasks?page=2&page_size=7").path == "/analysis/tasks"
    assert get(f"/analysis/tasks/{TASK}").path == f"/analysis/tasks/{TASK}"
    assert get("/studies/search?q=a%2Fb").path == "/studies/search"


@pytest.mark.parametrize(
    ("path", "prefix", "expected"),
    [
        ("/analysis/tasks", "/analysis/tasks", True),  # equal
        (f"/analysis/tasks/{TASK}", "/analysis/tasks", True),  # under
        ("/analysis/tasks/%20", "/analysis", True),
        ("/analysis/tasksx", "/analysis/tasks", False),  # a prefix of the text, not a parent path
        ("/analysis", "/analysis/tasks", False),
        ("/analysis/tasks", "/analysis/tasks/", False),  # a trailing / keeps only what lies below
        (f"/analysis/tasks/{TASK}", "/analysis/tasks/", True),
        ("/health", "/", True),
    ],
)
def test_under(path: str, prefix: str, expected: bool) -> None:
    assert under(path, prefix) is expected


def test_only_keeps_the_path_its_query_strings_and_what_lies_under_it() -> None:
    assert paths(select(SMALL, ["/analysis/tasks"])) == [
        "/analysis/tasks",
        "/analysis/tasks?page=2",
        f"/analysis/tasks/{TASK}",
    ]
    assert paths(select(SMALL, ["/health", "/studies/search"])) == ["/health", "/studies/search?q=%25"]


def test_skip_drops_what_lies_under_it_and_applies_after_only() -> None:
    assert paths(select(SMALL, skip=["/analysis/tasks", "/health"])) == [
        "/analysis/tasksx",
        "/studies/search?q=%25",
        "/studies",
    ]
    assert paths(select(SMALL, ["/analysis/tasks"], [f"/analysis/tasks/{TASK}"])) == [
        "/analysis/tasks",
        "/analysis/tasks?page=2",
    ]
    assert select(SMALL) == SMALL and select(SMALL, [], []) == SMALL


def test_the_unknown_path_probes_are_ordinary_requests(full: list[Request]) -> None:
    kept = select(full, ["/studies"])
    assert {r.path for r in kept} == {"/studies", "/studies/search", "/studies/search/extra"}
    assert len(kept) == sum(1 for r in full if r.path.startswith("/studies"))
    assert {r.path for r in select(full, ["/no-such-endpoint"])} == {"/no-such-endpoint"}


def test_the_two_cutover_stages_split_the_battery(full: list[Request]) -> None:
    """Stage 1 runs everything but /analysis/tasks and /health, stage 2 exactly those: together the whole battery."""
    stage1 = select(full, skip=["/analysis/tasks", "/health"])
    stage2 = select(full, only=["/analysis/tasks", "/health"])
    assert stage1 and stage2 and sorted(map(str, stage1 + stage2)) == sorted(map(str, full))
    assert {r.path.split("/")[1] for r in stage2} == {"analysis", "health"}
    assert [r for r in full if r in stage2] == stage2  # battery order is kept


def test_the_top_level_paths_are_the_endpoints(full: list[Request]) -> None:
    assert ", ".join(battery.top_level_paths(full)) == TOP_LEVEL


@pytest.mark.parametrize(
    ("only", "skip", "message"),
    [
        (["health"], [], "--only 'health' does not start with /"),
        ([], ["analysis/tasks"], "--skip 'analysis/tasks' does not start with /"),
        (["/analysis/task"], [], "--only '/analysis/task' matches no request of the battery"),
        (["/health"], ["/analysis/tasksx"], "--skip '/analysis/tasksx' matches no request of the battery"),
        (["/api/v1/health"], [], "--only '/api/v1/health' matches no request of the battery (give the part after"),
        (["/studies/search?page=2"], [], "--only '/studies/search?page=2' holds a query string"),
        (["/health"], ["/health"], "--only /health with --skip /health leaves no request of the battery"),
        ([], ["/"], "--only (none) with --skip / leaves no request of the battery"),
    ],
)
def test_a_path_that_selects_nothing_is_an_error(
    full: list[Request], only: list[str], skip: list[str], message: str
) -> None:
    with pytest.raises(MigrationError) as e:
        select(full, only, skip)
    assert message in str(e.value)
    assert str(e.value).endswith(f"the battery's paths: {TOP_LEVEL}")


def test_a_skip_path_is_checked_against_the_whole_battery(full: list[Request]) -> None:
    """--skip /analysis/tasks with --only /health: nothing of /analysis/tasks is left to drop, but it is no typo."""
    assert paths(select(full, ["/health"], ["/analysis/tasks"])) == ["/health"]


@pytest.mark.parametrize(
    ("only", "skip", "expected"),
    [
        ([], [], True),
        (["/analysis/tasks", "/health"], [], True),
        (["/analysis"], [], True),
        (["/health"], [], False),
        (["/analysis/tasks/"], [], False),  # only the task ids: the write steps are not covered
        ([], ["/analysis/tasks", "/health"], False),
        ([], ["/analysis/tasks/"], True),
        ([], ["/health"], True),
    ],
)
def test_the_write_steps_need_analysis_tasks_kept(only: list[str], skip: list[str], expected: bool) -> None:
    assert keeps("/analysis/tasks", only, skip) is expected
