"""The `q` clause of each dialect: DuckDB's per-field OR, PostgreSQL's joined-text conjunct in front of it."""

from __future__ import annotations

import re

import pytest
from radiology_contract import query, sql_filters, tables
from radiology_contract.fields import searchable

SEARCHED = (tables.EXAMINATIONS, tables.REPORTS)


def _where(table: tables.Table, q: str, dialect: sql_filters.Dialect) -> sql_filters.Where:
    if table is tables.EXAMINATIONS:
        return sql_filters.study_where(query.StudyFilters(q=q), dialect)
    return sql_filters.report_where(query.ReportFilters(q=q), dialect)


@pytest.mark.parametrize("table", SEARCHED, ids=lambda t: t.kind)
def test_search_text_joins_every_searchable_column_and_nothing_else(table: tables.Table) -> None:
    text = sql_filters.search_text(table)
    assert re.findall(r"coalesce\((\w+), ''\)", text) == list(searchable(table.fields))
    assert text.count(f"|| '{sql_filters.SEARCH_SEPARATOR}' ||") == len(searchable(table.fields)) - 1
    # IMMUTABLE (usable in an index): no concat/concat_ws; matched under the database's collation, not "C"
    assert "concat" not in text.lower()
    assert text.endswith(' COLLATE "default")')
    assert "%" not in text  # Django's schema editor formats index SQL with %


@pytest.mark.parametrize("table", SEARCHED, ids=lambda t: t.kind)
def test_postgres_q_is_the_joined_text_and_then_each_field(table: tables.Table) -> None:
    where = _where(table, "50%_x\\", sql_filters.POSTGRES)
    names = searchable(table.fields)
    fields = " OR ".join(f"{n} ILIKE %s" for n in names)
    assert where.clauses == [f"({sql_filters.search_text(table)} ILIKE %s AND ({fields}))"]
    assert where.params == [sql_filters.like_pattern("50%_x\\")] * (len(names) + 1)
    assert where.params[0] == "%50\\%\\_x\\\\%"


@pytest.mark.parametrize("table", SEARCHED, ids=lambda t: t.kind)
def test_duckdb_q_is_the_plain_per_field_or(table: tables.Table) -> None:
    where = _where(table, "chest", sql_filters.DUCKDB)
    names = searchable(table.fields)
    assert where.clauses == ["(" + " OR ".join(f"{n} ILIKE ? ESCAPE '\\'" for n in names) + ")"]
    assert where.params == ["%chest%"] * len(names)


def test_q_and_other_filters_keep_their_order_and_parameters() -> None:
    filters = query.StudyFilters(q="ct", exam_status="certified", modality="CT")
    where = sql_filters.study_where(filters, sql_filters.POSTGRES)
    assert where.clauses[1:] == ["exam_status = %s", "modality = %s"]
    assert where.params[-2:] == ["certified", "CT"]
    assert where.sql().count("%s") == len(where.params)
    assert sql_filters.study_where(query.StudyFilters(), sql_filters.POSTGRES).sql() == ""
