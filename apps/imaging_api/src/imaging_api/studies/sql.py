"""SQL text of the hot read paths (search pages, totals, groupings), built from the contract.

The search selectors send this SQL through Django's connection instead of compiling ORM querysets: the
ORM spends 1-3 ms building and compiling each query, more than PostgreSQL needs to answer it from the
indexes. Identifiers come only from radiology_contract (tables, fields, orderings); every value is a bound
parameter.
"""

from dataclasses import dataclass, field
from typing import Any

from radiology_contract import fields, query, tables

from imaging_api.studies.counts import VERSION_TABLE

LIKE_ESCAPE = "\\"
MONTH = "month"
MONTH_SQL = "to_char(order_datetime, 'YYYY-MM')"


def like_pattern(text: str) -> str:
    """'%text%' with LIKE metacharacters escaped (PostgreSQL's default LIKE escape is the backslash)."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


@dataclass
class Where:
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""

    def equals(self, column: str, value: Any) -> None:
        if value is not None:
            self.clauses.append(f"{column} = %s")
            self.params.append(value)

    def dates(self, column: str, dates: query.DateRange) -> None:
        if dates.start is not None:
            self.clauses.append(f"{column} >= %s")
            self.params.append(dates.start)
        if dates.end is not None:
            self.clauses.append(f"{column} < %s")
            self.params.append(dates.end)

    def text_search(self, table: tables.Table, q: str | None) -> None:
        """Any searchable field contains q: case-insensitive (ILIKE), q's own % _ \\ taken literally."""
        if q is None:
            return
        names = fields.searchable(table.fields)
        self.clauses.append("(" + " OR ".join(f"{name} ILIKE %s" for name in names) + ")")
        self.params.extend([like_pattern(q)] * len(names))


def study_where(filters: query.StudyFilters) -> Where:
    where = Where()
    where.text_search(tables.EXAMINATIONS, filters.q)
    where.equals("exam_status", filters.exam_status)
    where.equals("exam_source", filters.exam_source)
    where.equals("exam_item", filters.exam_item)
    where.equals("modality", filters.modality)
    where.dates("order_datetime", filters.dates)
    return where


def report_where(filters: query.ReportFilters) -> Where:
    where = Where()
    where.text_search(tables.REPORTS, filters.q)
    where.equals("exam_id", filters.exam_id)
    where.equals("reporting_physician", filters.reporting_physician)
    where.dates("report_datetime", filters.dates)
    return where


def order_by(order: tuple[tuple[str, str], ...]) -> str:
    return " ORDER BY " + ", ".join(f"{column} {direction.upper()}" for column, direction in order)


def page(table: tables.Table, where: Where, order: tuple[tuple[str, str], ...], page: query.Page) -> tuple[str, list]:
    """One page of rows in contract column order, each followed by the data version (read in the same
    snapshot, as a once-evaluated sub-select)."""
    statement = (
        f"SELECT {', '.join(table.columns)}, (SELECT version FROM {VERSION_TABLE}) FROM {table.postgres}"
        f"{where.sql()}{order_by(order)} LIMIT %s OFFSET %s"
    )
    return statement, [*where.params, page.page_size, page.offset]


def count(table: tables.Table, where: Where) -> tuple[str, list]:
    return f"SELECT count(*) FROM {table.postgres}{where.sql()}", list(where.params)


def grouped(where: Where, grouping: str) -> tuple[str, list]:
    """(key, count) of examinations per grouping column, or per MONTH (YYYY-MM of order_datetime)."""
    key = MONTH_SQL if grouping == MONTH else grouping
    return f"SELECT {key}, count(*) FROM {tables.EXAMINATIONS.postgres}{where.sql()} GROUP BY 1", list(where.params)
