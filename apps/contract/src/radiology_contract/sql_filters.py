"""The filter semantics of the search endpoints as SQL, defined once for both backends.

- q: case-insensitive substring (ILIKE) over the searchable fields; `%`, `_` and `\\` in q match literally;
- exam_item, exam_id, reporting_physician and the choice filters: exact match;
- dates: DateRange.start inclusive, DateRange.end exclusive.

Identifiers come only from the contract; every value is a bound parameter. A Dialect says how a backend binds
(`?` for DuckDB, `%s` for psycopg) and whether its ILIKE needs the backslash named as escape character
(DuckDB has none by default; PostgreSQL's default is the backslash, and an explicit ESCAPE would turn the
pattern into an expression the trigram indexes are not planned for).

PostgreSQL has ONE trigram GIN index per searched table, over `search_text(table)` (the searchable columns
joined); its Django model and migration use this very text. There `q` is

    (<search_text> ILIKE p AND (a ILIKE p OR b ILIKE p ...))

The first conjunct is what the planner matches to that index (it must be the index's expression, hence one
definition); the second keeps the exact per-field semantics. Every single-field match is a substring of the
joined text, so the first conjunct only ever adds candidates that the second one removes: same answers.
DuckDB keeps the plain OR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import query
from .fields import searchable
from .tables import EXAMINATIONS, REPORTS, Table

LIKE_ESCAPE = "\\"


SEARCH_SEPARATOR = " "


def search_text(table: Table) -> str:
    """The searchable columns of `table` joined into one text (PostgreSQL): the expression of the table's
    trigram index and of the first conjunct of `q`.

    - `coalesce(col, '')`: a NULL field adds nothing instead of making the whole text NULL; `||` on text
      is IMMUTABLE (concat_ws is not, and an index expression must be);
    - joined by a space: each field is a contiguous substring of the joined text, so no match is lost; a
      space also keeps the end of a field the end of a word (pg_trgm takes trigrams per word);
    - `COLLATE "default"`: the key columns use the "C" collation, which would win over the default when the
      columns are joined, and ILIKE under "C" folds only ASCII case (`MÜLLER` would no longer find
      `Müller`): the joined text is matched under the database's collation like the non-key fields.
      PostgreSQL keeps a top-level COLLATE of an index expression as the index column's collation.
    """
    joined = f" || '{SEARCH_SEPARATOR}' || ".join(f"coalesce({name}, '')" for name in searchable(table.fields))
    return f'(({joined}) COLLATE "default")'


@dataclass(frozen=True)
class Dialect:
    placeholder: str
    explicit_escape: bool
    joined_search: bool = False  # AND the joined searchable text first (PostgreSQL's one trigram index)

    @property
    def ilike(self) -> str:
        escape = f" ESCAPE '{LIKE_ESCAPE}'" if self.explicit_escape else ""
        return f"ILIKE {self.placeholder}{escape}"


DUCKDB = Dialect("?", explicit_escape=True)
POSTGRES = Dialect("%s", explicit_escape=False, joined_search=True)


def like_pattern(text: str) -> str:
    """'%text%' with the LIKE metacharacters of `text` escaped."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


@dataclass
class Where:
    dialect: Dialect
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

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
        fields = "(" + " OR ".join(f"{n} {self.dialect.ilike}" for n in names) + ")"
        if self.dialect.joined_search:
            self.clauses.append(f"({search_text(table)} {self.dialect.ilike} AND {fields})")
            self.params.extend([like_pattern(q)] * (len(names) + 1))
        else:
            self.clauses.append(fields)
            self.params.extend([like_pattern(q)] * len(names))


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
