"""Every query the API runs against DuckDB. Routes translate HTTP; this module holds the SQL.

Filter semantics (the contract, see docs/API_CONTRACT.md):
- q: case-insensitive substring over the searchable fields, `%`, `_` and `\\` in q matched literally;
- exam_item / exam_id / reporting_physician / choices: exact match;
- date range: start inclusive, end exclusive, on order_datetime (studies) or report_datetime (reports).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import duckdb
from radiology_contract import analysis, groupings, query, responses, sql_filters
from radiology_contract.fields import ANALYSIS_TASK_FIELDS, EXAMINATION_FIELDS, REPORT_FIELDS, Field
from radiology_contract.sql_filters import Where
from radiology_contract.tables import ANALYSIS_TASKS, EXAMINATIONS, REPORTS

Cursor = duckdb.DuckDBPyConnection


def order_by(order: Sequence[tuple[str, str]]) -> str:
    return "ORDER BY " + ", ".join(f"{column} {direction.upper()}" for column, direction in order)


def study_where(filters: query.StudyFilters) -> Where:
    return sql_filters.study_where(filters, sql_filters.DUCKDB)


def _count(cur: Cursor, table: str, where: Where) -> int:
    row = cur.execute(f"SELECT count(*) FROM {table}{where.sql()}", where.params).fetchone()
    assert row is not None
    return int(row[0])


def _page(
    cur: Cursor, table: str, columns: Sequence[Field], where: Where, *, order: str, page: query.Page
) -> tuple[list[tuple[Any, ...]], int]:
    names = ", ".join(f.name for f in columns)
    rest = f"FROM {table}{where.sql()} {order} LIMIT ? OFFSET ?"
    params = [*where.params, page.page_size, page.offset]
    if not where.text_searched:
        return cur.execute(f"SELECT {names} {rest}", params).fetchall(), _count(cur, table, where)
    # q's substring test over every row is the cost of the request: one scan gives the page and the total
    # (a page past the end has no row to carry the total: it is counted apart).
    rows = cur.execute(f"SELECT {names}, count(*) OVER () {rest}", params).fetchall()
    if not rows:
        return [], _count(cur, table, where)
    return [row[:-1] for row in rows], int(rows[0][-1])


def search_studies(cur: Cursor, q: query.StudyQuery) -> dict[str, Any]:
    where = study_where(q.filters)
    rows, total = _page(
        cur, EXAMINATIONS.duckdb, EXAMINATION_FIELDS, where, order=order_by(query.STUDY_ORDER), page=q.page
    )
    data = [responses.record(EXAMINATION_FIELDS, r) for r in rows]
    return responses.envelope(data, total, q.page, q.filters.as_dict())


def search_reports(cur: Cursor, q: query.ReportQuery) -> dict[str, Any]:
    where = sql_filters.report_where(q.filters, sql_filters.DUCKDB)
    rows, total = _page(cur, REPORTS.duckdb, REPORT_FIELDS, where, order=order_by(query.REPORT_ORDER), page=q.page)
    data = [responses.record(REPORT_FIELDS, r) for r in rows]
    return responses.envelope(data, total, q.page, q.filters.as_dict())


def grouped_pairs(cur: Cursor, grouping: str, where: Where) -> list[tuple[Any, int]]:
    return groupings.pairs(grouping, cur.execute(*groupings.grouped(EXAMINATIONS.duckdb, grouping, where)).fetchall())


def statistics(cur: Cursor, q: query.StatisticsQuery) -> dict[str, Any]:
    """The total and every grouping from one scan of the matching examinations (GROUPING SETS)."""
    names = [grouping for _, grouping in analysis.STATISTICS_GROUPINGS]
    rows = cur.execute(*groupings.grouping_sets(EXAMINATIONS.duckdb, names, study_where(q.filters))).fetchall()
    total, found = groupings.decode(names, rows)
    data: dict[str, Any] = {"total": total}
    for key, grouping in analysis.STATISTICS_GROUPINGS:
        data[key] = analysis.grouped(grouping, found[grouping])
    return {"data": data, "filters": q.filters.as_dict()}


# --- analysis tasks ----------------------------------------------------------------------------------------

TASK_COLUMNS = ", ".join(f.name for f in ANALYSIS_TASK_FIELDS)
TASK_PLACEHOLDERS = ", ".join("?" for _ in ANALYSIS_TASK_FIELDS)


def now() -> dt.datetime:
    """Naive local time, microseconds dropped: the contract's timestamp for created/completed/deleted."""
    return dt.datetime.now().replace(microsecond=0)


def valid_task_id(task_id: str) -> bool:
    try:
        return str(uuid.UUID(task_id)) == task_id  # the canonical lowercase form only
    except ValueError:
        return False


def task_result(cur: Cursor, body: query.TaskCreate) -> dict[str, Any]:
    """What a new task counts: a read of the examinations, which the service never changes (the import does,
    before it serves), so it runs outside the write lock and only the INSERT waits for the one writer."""
    pairs = grouped_pairs(cur, analysis.TASK_GROUPING[body.task_type], study_where(body.filters))
    return analysis.task_result(body.task_type, pairs)


def insert_task(cur: Cursor, body: query.TaskCreate, result: dict[str, Any]) -> dict[str, Any]:
    created = now()
    row = (
        str(uuid.uuid4()),
        body.name,
        body.task_type,
        responses.render(body.filters.as_dict()).decode("utf-8"),
        "completed",
        responses.render(result).decode("utf-8"),
        created,
        created,
        None,
    )
    cur.execute(f"INSERT INTO {ANALYSIS_TASKS.duckdb} ({TASK_COLUMNS}) VALUES ({TASK_PLACEHOLDERS})", list(row))
    return responses.task_record(ANALYSIS_TASK_FIELDS, row)


def list_tasks(cur: Cursor, q: query.TaskListQuery) -> dict[str, Any]:
    where = Where(sql_filters.DUCKDB)
    where.condition("deleted_at IS NULL")
    where.equals("task_type", q.filters.task_type)
    rows, total = _page(
        cur, ANALYSIS_TASKS.duckdb, ANALYSIS_TASK_FIELDS, where, order=order_by(query.TASK_ORDER), page=q.page
    )
    data = [responses.task_record(ANALYSIS_TASK_FIELDS, r) for r in rows]
    return responses.envelope(data, total, q.page, q.filters.as_dict())


def get_task(cur: Cursor, task_id: str) -> dict[str, Any] | None:
    if not valid_task_id(task_id):
        return None
    row = cur.execute(
        f"SELECT {TASK_COLUMNS} FROM {ANALYSIS_TASKS.duckdb} WHERE task_id = ? AND deleted_at IS NULL",
        [task_id],
    ).fetchone()
    return responses.task_record(ANALYSIS_TASK_FIELDS, row) if row else None


def delete_task(cur: Cursor, task_id: str) -> bool:
    """Tombstone a task (the row stays so a rollback can carry the deletion). False if unknown or deleted."""
    if not valid_task_id(task_id):
        return False
    row = cur.execute(
        f"UPDATE {ANALYSIS_TASKS.duckdb} SET deleted_at = ? WHERE task_id = ? AND deleted_at IS NULL RETURNING task_id",
        [now(), task_id],
    ).fetchone()
    return row is not None


def health_counts(cur: Cursor) -> dict[str, int]:
    def one(sql: str) -> int:
        row = cur.execute(sql).fetchone()
        assert row is not None
        return int(row[0])

    return {
        "examinations": one(f"SELECT count(*) FROM {EXAMINATIONS.duckdb}"),
        "reports": one(f"SELECT count(*) FROM {REPORTS.duckdb}"),
        "analysis_tasks": one(f"SELECT count(*) FROM {ANALYSIS_TASKS.duckdb} WHERE deleted_at IS NULL"),
    }
