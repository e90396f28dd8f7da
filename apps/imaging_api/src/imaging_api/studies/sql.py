"""SQL text of the hot read paths (search pages, totals, groupings), built from the contract.

The search selectors send this SQL through Django's connection instead of compiling ORM querysets: the
ORM spends 1-3 ms building and compiling each query, more than PostgreSQL needs to answer it from the
indexes. Identifiers come only from radiology_contract (tables, fields, orderings); every value is a bound
parameter.
"""

from radiology_contract import groupings, query, sql_filters, tables
from radiology_contract.sql_filters import Where

from imaging_api.studies.counts import VERSION_TABLE


def study_where(filters: query.StudyFilters) -> Where:
    return sql_filters.study_where(filters, sql_filters.POSTGRES)


def report_where(filters: query.ReportFilters) -> Where:
    return sql_filters.report_where(filters, sql_filters.POSTGRES)


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
    """(key, count) of examinations per grouping column, or per month (YYYY-MM of order_datetime)."""
    return groupings.grouped(tables.EXAMINATIONS.postgres, grouping, where)


def grouping_sets(where: Where, names: list[str]) -> tuple[str, list]:
    """Every grouping of `names` and the total in one scan (groupings.decode reads the rows)."""
    return groupings.grouping_sets(tables.EXAMINATIONS.postgres, names, where)
