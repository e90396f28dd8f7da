"""`q` over one trigram GIN index per table: the service's search SQL is planned on that index (the query's
joined text and the index's expression are the same expression), and it answers exactly like the plain
per-field OR it replaced."""

from collections.abc import Iterator

import psycopg
import pytest
from imaging_api.studies import sql
from radiology_contract import query, sql_filters, tables
from radiology_testkit.postgres import PgServer

from .conftest import migrated_database
from .parity import Q_TEXTS

ROWS = 20_000
INDEXES = {tables.EXAMINATIONS.kind: "exam_search_trgm", tables.REPORTS.kind: "report_search_trgm"}
PER_FIELD_OR = sql_filters.Dialect("%s", explicit_escape=False)  # the former PostgreSQL q clause

FILL = [
    f"""INSERT INTO examinations ({", ".join(tables.EXAMINATIONS.columns)})
    SELECT 'EX' || lpad(i::text, 8, '0'), 'MRN' || lpad((i % 7919)::text, 6, '0'), i % 100,
           (ARRAY['M', 'F', 'U'])[1 + i % 3], (ARRAY['outpatient', 'inpatient', 'emergency'])[1 + i % 3],
           (ARRAY['Chest PA/Lateral', 'CT Abdomen', 'MRI Brain', 'US Liver'])[1 + i % 4],
           CASE WHEN i % 3 = 0 THEN NULL ELSE 'Routine study, ' || md5(i::text) END,
           (ARRAY['CR', 'CT', 'MR', 'US'])[1 + i % 4],
           CASE WHEN i % 5 = 0 THEN NULL ELSE 'Scanner ' || i % 7 END,
           (ARRAY['completed', 'certified', 'reported'])[1 + i % 3],
           timestamp '2024-01-01' + i * interval '17 minutes', NULL, NULL,
           CASE WHEN i % 2 = 0 THEN NULL ELSE (ARRAY['Dr. Lukas Müller', 'Dr. Zoë Novak', 'Dr. Wei Zhang'])[1 + i % 3]
           END
    FROM generate_series(1, {ROWS}) i""",
    f"""INSERT INTO exam_reports ({", ".join(tables.REPORTS.columns)})
    SELECT 'RP' || lpad(i::text, 8, '0'), 'EX' || lpad(i::text, 8, '0'),
           'Findings: ' || md5(i::text) || CASE WHEN i % 11 = 0 THEN ' small nodule' ELSE '' END,
           CASE WHEN i % 4 = 0 THEN NULL ELSE 'Ärztliche Impression ' || i % 13 END,
           CASE WHEN i % 6 = 0 THEN NULL ELSE 'Dr. Chloé Martin' END,
           timestamp '2024-01-02' + i * interval '17 minutes'
    FROM generate_series(1, {ROWS}) i""",
    "ANALYZE examinations",
    "ANALYZE exam_reports",
]


@pytest.fixture(scope="module")
def conn(pg: PgServer) -> Iterator[psycopg.Connection]:
    """A migrated database with ROWS examinations and reports, analyzed; client-side binding like Django's."""
    env = migrated_database(pg, "imaging_search_index")
    dsn = pg.dsn(env["IMAGING_DB_NAME"])
    with psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor) as connection:
        for statement in FILL:
            connection.execute(statement)
        yield connection


def _where(table: tables.Table, q: str, dialect: sql_filters.Dialect = sql_filters.POSTGRES) -> sql_filters.Where:
    if table is tables.EXAMINATIONS:
        return sql_filters.study_where(query.StudyFilters(q=q), dialect)
    return sql_filters.report_where(query.ReportFilters(q=q), dialect)


def _statements(table: tables.Table, q: str) -> dict[str, tuple[str, list]]:
    """The page and the COUNT the service sends for `q` (imaging_api.studies.sql)."""
    where = _where(table, q)
    order = query.STUDY_ORDER if table is tables.EXAMINATIONS else query.REPORT_ORDER
    return {"page": sql.page(table, where, order, query.Page(1, 20)), "count": sql.count(table, where)}


def _plan(conn: psycopg.Connection, statement: str, params: list, *settings: str) -> str:
    with conn.transaction():
        for setting in settings:
            conn.execute(f"SET LOCAL {setting}")
        return "\n".join(row[0] for row in conn.execute("EXPLAIN " + statement, params))


def test_each_searched_table_has_exactly_one_trigram_index_over_the_search_text(conn) -> None:
    for table in (tables.EXAMINATIONS, tables.REPORTS):
        rows = conn.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass "
            "AND pg_get_indexdef(indexrelid) LIKE '%%gin_trgm_ops%%'",
            [table.postgres],
        ).fetchall()
        assert [r[0] for r in rows] == [INDEXES[table.kind]]


@pytest.mark.parametrize(
    ("table", "q"),
    [
        (tables.EXAMINATIONS, "EX0001234"),
        (tables.EXAMINATIONS, "MRN000123"),
        (tables.EXAMINATIONS, "81dc9bdb52"),  # inside one exam description (md5 of '1234')
        (tables.REPORTS, "RP0000777"),
        (tables.REPORTS, "EX0001234"),
    ],
    ids=lambda v: v.kind if isinstance(v, tables.Table) else v,
)
@pytest.mark.parametrize("kind", ["count", "page"])
def test_q_search_is_planned_on_the_one_trigram_index(conn, table: tables.Table, q: str, kind: str) -> None:
    """If the query's joined text and the index expression ever drift apart, PostgreSQL cannot use the index
    and this fails (enable_seqscan = off only makes a plan without it cost more, it still gets chosen)."""
    statement, params = _statements(table, q)[kind]
    plan = _plan(conn, statement, params, "enable_seqscan = off")
    assert f"Bitmap Index Scan on {INDEXES[table.kind]}" in plan, plan


@pytest.mark.parametrize("table", [tables.EXAMINATIONS, tables.REPORTS], ids=lambda t: t.kind)
def test_q_answers_exactly_like_the_per_field_or(conn, table: tables.Table) -> None:
    """The parity texts (case, unicode, quotes, LIKE metacharacters...) and texts that span two adjacent
    fields (the joined text matches them, the per-field check must drop them): same keys as the per-field
    OR alone, through the index and without it."""
    spanning = (
        "EX00001234 MRN001234",
        "CT Abdomen Routine",
        "Scanner 3 Dr. Lukas",
        "nodule Ärztliche",
        "RP00000001 EX",
    )
    extra = ("MÜLLER", "zoë", "CHLOÉ", "ärztliche impression 1", "Small Nodule", "81DC9BDB52")
    found: set[str] = set()
    dropped = 0
    for q in (*Q_TEXTS, *spanning, *extra):
        text = q.strip()
        if not text or "\x00" in text:
            continue
        expected = _keys(conn, table, _where(table, text, PER_FIELD_OR))
        for settings in ((), ("enable_seqscan = off",)):
            assert _keys(conn, table, _where(table, text), *settings) == expected, (q, settings)
        if expected:
            found.add(q)
        if q in spanning:
            assert not expected, q
            joined = f"SELECT count(*) FROM {table.postgres} WHERE {sql_filters.search_text(table)} ILIKE %s"
            dropped += conn.execute(joined, [sql_filters.like_pattern(text)]).fetchone()[0]
    # the data does contain what these look for: case folded beyond ASCII (a "C" collation would miss them)
    must_find = {"MÜLLER", "ZOË", "zoë"} if table is tables.EXAMINATIONS else {"CHLOÉ", "ärztliche impression 1"}
    assert must_find <= found, must_find - found
    assert dropped > 0  # and the joined text alone does match more than the fields


def _keys(conn: psycopg.Connection, table: tables.Table, where: sql_filters.Where, *settings: str) -> list[str]:
    with conn.transaction():
        for setting in settings:
            conn.execute(f"SET LOCAL {setting}")
        rows = conn.execute(f"SELECT {table.key} FROM {table.postgres}{where.sql()}", where.params).fetchall()
    return sorted(r[0] for r in rows)
