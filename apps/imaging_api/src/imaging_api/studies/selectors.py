"""Read queries. Rows come back as tuples in contract column order (no model instances).

Examinations and reports (the large tables) are read with the SQL of imaging_api.studies.sql; analysis
tasks (a small table written through the API) with the ORM.
"""

import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from django.db import connection, models
from radiology_contract import analysis, groupings, query, tables

from imaging_api.studies import counts, sql
from imaging_api.studies.models import AnalysisTask, Examination, Report


@dataclass(frozen=True)
class PageResult:
    rows: list[tuple[Any, ...]]
    total: int


def _fetch(statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def _search(
    table: tables.Table, where: sql.Where, order: tuple[tuple[str, str], ...], page: query.Page, key: Hashable
) -> PageResult:
    """One page plus its exact total.

    No COUNT when the page itself proves the total (a short non-empty page, or an empty first page);
    otherwise the total comes from the per-data-version cache (counted on a miss).
    """
    fetched = _fetch(*sql.page(table, where, order, page))
    rows = [row[:-1] for row in fetched]
    if rows and len(rows) < page.page_size:
        return PageResult(rows, page.offset + len(rows))
    if not rows and page.offset == 0:
        return PageResult(rows, 0)

    def count() -> int:
        return int(_fetch(*sql.count(table, where))[0][0])

    version = int(fetched[0][-1]) if fetched else None
    return PageResult(rows, counts.cache.get((table.kind, key), count, version=version))


def search_examinations(study_query: query.StudyQuery) -> PageResult:
    where = sql.study_where(study_query.filters)
    return _search(tables.EXAMINATIONS, where, query.STUDY_ORDER, study_query.page, study_query.filters)


def search_reports(report_query: query.ReportQuery) -> PageResult:
    where = sql.report_where(report_query.filters)
    return _search(tables.REPORTS, where, query.REPORT_ORDER, report_query.page, report_query.filters)


def grouped_counts(filters: query.StudyFilters, grouping: str) -> list[tuple[Any, int]]:
    """(key, count) of the examinations matching `filters`, grouped by a column or by month (YYYY-MM)."""

    def compute() -> list[tuple[Any, int]]:
        return groupings.pairs(grouping, _fetch(*sql.grouped(sql.study_where(filters), grouping)))

    return counts.cache.get(("grouped", filters, grouping), compute)


def statistics_groupings(filters: query.StudyFilters) -> dict[str, list[tuple[Any, int]]]:
    """Every grouping of /statistics for `filters`, each cached as grouped_counts caches it.

    Counted on a miss: with filters, every grouping from one GROUPING SETS scan; without, one GROUP BY each, which
    is cheaper there and counted once per data version anyway (the shared count cache, warm_counts).
    `imaging-api bench --counts --rows 1000000` measures both ways; one run gave, as one scan against four GROUP
    BYs: 245 against 450 ms for a modality, 237 against 549 ms with q, 67 against 181 ms for two columns, and
    2,306 against 1,010 ms without filters.
    """
    names = [grouping for _, grouping in analysis.STATISTICS_GROUPINGS]
    where = sql.study_where(filters)
    if not where.clauses:
        return {grouping: grouped_counts(filters, grouping) for grouping in names}
    version = counts.data_version()
    keys = {grouping: ("grouped", filters, grouping) for grouping in names}
    found = {grouping: counts.cache.peek(key, version) for grouping, key in keys.items()}
    if all(hit is not None for hit in found.values()):
        return {grouping: hit[0] for grouping, hit in found.items() if hit is not None}
    _, scanned = groupings.decode(names, _fetch(*sql.grouping_sets(where, names)))
    for grouping, pairs in scanned.items():
        counts.cache.store(keys[grouping], pairs, version)
    return scanned


def _live_tasks() -> models.QuerySet:
    return AnalysisTask.objects.filter(deleted_at__isnull=True)


def list_tasks(task_query: query.TaskListQuery) -> PageResult:
    """A page of live tasks (a small table: counted on every request, through the ORM)."""
    queryset = _live_tasks()
    if task_query.filters.task_type is not None:
        queryset = queryset.filter(task_type=task_query.filters.task_type)
    order = [("-" if direction == "desc" else "") + column for column, direction in query.TASK_ORDER]
    page = task_query.page
    rows = list(
        queryset.order_by(*order).values_list(*tables.ANALYSIS_TASKS.columns)[
            page.offset : page.offset + page.page_size
        ]
    )
    return PageResult(rows, queryset.count())


def live_task(task_id: str) -> tuple[Any, ...] | None:
    """The stored row of a task that exists and is not deleted; None otherwise (including non-UUID ids)."""
    if not is_uuid(task_id):
        return None
    return _live_tasks().filter(task_id=task_id).values_list(*tables.ANALYSIS_TASKS.columns).first()


def is_uuid(text: str) -> bool:
    """A task id in the canonical lower-case form only (the form the services generate)."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def table_counts() -> dict[str, int]:
    """Row counts of the three tables (examinations and reports cached per data version)."""
    return {
        "examinations": counts.cache.get(("rows", "examinations"), Examination.objects.count),
        "reports": counts.cache.get(("rows", "reports"), Report.objects.count),
        "analysis_tasks": _live_tasks().count(),
    }


_ready = False


def ready() -> bool:
    """True once the database holds examinations (remembered per process: bulk loads only add them)."""
    global _ready  # noqa: PLW0603 - one flag per worker process
    if not _ready:
        _ready = Examination.objects.exists()
    return _ready
