"""The filter semantics of the search endpoints as SQL, defined once for both backends.

- q: case-insensitive substring (ILIKE) over the searchable fields; `%`, `_` and `\\` in q match literally;
- exam_item, exam_id, reporting_physician and the choice filters: exact match;
- dates: DateRange.start inclusive, DateRange.end exclusive.

Identifiers come only from the contract; every value is a bound parameter. A Dialect says how a backend binds
(`?` for DuckDB, `%s` for psycopg) and how it matches q. PostgreSQL: `column ILIKE '%q%'` with q's
metacharacters escaped (its default escape character is the backslash; an explicit ESCAPE would turn the
pattern into an expression the trigram indexes are not planned for). DuckDB: `contains(lower(column),
lower(q))`, the same rows as ILIKE with an ESCAPE clause (DuckDB's ILIKE compares the lower-cased strings)
at half its cost on a full scan, and q needs no escaping: it is never a pattern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import query
from .fields import searchable
from .tables import EXAMINATIONS, REPORTS, Table

LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class Dialect:
    placeholder: str
    literal_contains: bool  # contains(lower(column), lower(q)) instead of ILIKE '%q%'
    month: str  # order_datetime's month as a grouping key: YYYYMM (an integer) or 'YYYY-MM' (groupings.month_label)

    def substring(self, column: str) -> str:
        """The condition `column` holds q, case-insensitively, with q bound as `substring_param(q)`."""
        if self.literal_contains:
            return f"contains(lower({column}), lower({self.placeholder}))"
        return f"{column} ILIKE {self.placeholder}"

    def substring_param(self, q: str) -> str:
        return q if self.literal_contains else like_pattern(q)


# DuckDB groups the integer YYYYMM 8x faster than strftime's text; PostgreSQL's to_char measured as fast.
DUCKDB = Dialect("?", literal_contains=True, month="year(order_datetime) * 100 + month(order_datetime)")
POSTGRES = Dialect("%s", literal_contains=False, month="to_char(order_datetime, 'YYYY-MM')")


def like_pattern(text: str) -> str:
    """'%text%' with the LIKE metacharacters of `text` escaped."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


@dataclass
class Where:
    dialect: Dialect
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    text_searched: bool = False  # q tests a substring in every row: the costly part of a query

    def sql(self) -> str:
        """ " WHERE a AND b" (with its leading space), or "" without clauses."""
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""

    def condition(self, clause: str) -> None:
        self.clauses.append(clause)

    def equals(self, column: str, value: Any) -> None:
        if value is not None:
            self.clauses.append(f"{column} = {self.dialect.placeholder}")
            self.params.append(value)

    def dates(self, column: str, dates: query.DateRange) -> None:
        if dates.start is not None:
            self.clauses.append(f"{column} >= {self.dialect.placeholder}")
            self.params.append(dates.start)
        if dates.end is not None:
            self.clauses.append(f"{column} < {self.dialect.placeholder}")
            self.params.append(dates.end)

    def text_search(self, table: Table, q: str | None) -> None:
        if q is None:
            return
        names = searchable(table.fields)
        self.clauses.append("(" + " OR ".join(self.dialect.substring(n) for n in names) + ")")
        self.params.extend([self.dialect.substring_param(q)] * len(names))
        self.text_searched = True


def study_where(filters: query.StudyFilters, dialect: Dialect) -> Where:
    where = Where(dialect)
    where.text_search(EXAMINATIONS, filters.q)
    where.equals("exam_status", filters.exam_status)
    where.equals("exam_source", filters.exam_source)
    where.equals("exam_item", filters.exam_item)
    where.equals("modality", filters.modality)
    where.dates("order_datetime", filters.dates)
    return where


def report_where(filters: query.ReportFilters, dialect: Dialect) -> Where:
    where = Where(dialect)
    where.text_search(REPORTS, filters.q)
    where.equals("exam_id", filters.exam_id)
    where.equals("reporting_physician", filters.reporting_physician)
    where.dates("report_datetime", filters.dates)
    return where
