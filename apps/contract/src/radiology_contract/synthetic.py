"""Deterministic synthetic radiology data: no real patients, realistic shapes.

One generator, written in DuckDB SQL, makes every examination and report from `hash(index, seed, salt)`,
so the same seed and row count give the same rows whether they go into a DuckDB file (millions of rows in
seconds) or into an `.xlsx` workbook (the rows are generated in an in-memory DuckDB and written out).

Statuses agree with datetimes: scheduled and cancelled examinations have no check-in; reported and
certified ones have a report; certified ones have a certified datetime and physician. A few text values
carry accents, quotes, `%`, `_` and a backslash so that search parity between backends is exercised.

Analysis tasks are generated too (a handful, one of them deleted), with results computed from the
generated examinations by the contract's `analysis.task_result`.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .analysis import TASK_GROUPING, task_result
from .duckdb_schema import create_schema
from .fields import EXAMINATION_FIELDS, REPORT_FIELDS, Field
from .query import StudyFilters
from .responses import render
from .tables import ANALYSIS_TASKS, EXAMINATIONS, REPORTS, Table

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

DEFAULT_ROWS = 1250
DEFAULT_SEED = 20240501
SHEETS = ("examinations", "reports", "analysis_tasks")

# (modality, exam item) pairs a radiology department orders.
EXAM_ITEMS: tuple[tuple[str, str], ...] = (
    ("CR", "Chest PA/Lateral"),
    ("CR", "Chest AP (portable)"),
    ("CR", "Abdomen KUB"),
    ("DX", "Lumbar Spine AP/Lat"),
    ("DX", "Knee 3 Views"),
    ("DX", "Hand & Wrist"),
    ("CT", "CT Head without contrast"),
    ("CT", "CT Chest with contrast"),
    ("CT", "CT Abdomen/Pelvis with contrast"),
    ("CT", "CT Pulmonary Angiography"),
    ("CT", "Low-dose CT Lung Screening"),
    ("MR", "MRI Brain with/without contrast"),
    ("MR", "MRI Lumbar Spine"),
    ("MR", "MRI Knee (left)"),
    ("MR", "MRI Liver 'Primovist'"),
    ("US", "US Abdomen complete"),
    ("US", "US Thyroid"),
    ("US", "US Obstetric 2nd trimester"),
    ("US", "Doppler Lower Extremity Veins"),
    ("MG", "Screening Mammography bilateral"),
    ("MG", "Diagnostic Mammography"),
    ("NM", "Bone Scan whole body (Tc-99m)"),
    ("NM", "Thyroid Scintigraphy"),
    ("PT", "PET/CT FDG whole body"),
    ("XA", "Coronary Angiography"),
    ("XA", "Cerebral DSA"),
    ("RF", "Barium Swallow"),
    ("RF", "Hysterosalpingography"),
)

EQUIPMENT: dict[str, tuple[str, ...]] = {
    "CR": ("Carestream DRX-Revolution", "Fujifilm FDR Go"),
    "DX": ("Siemens Ysio Max", "Philips DigitalDiagnost C90"),
    "CT": ('GE "Revolution" CT', "Siemens SOMATOM Force", "Canon Aquilion ONE"),
    "MR": ("Siemens MAGNETOM Vida 3T", "GE SIGNA Artist 1.5T", "Philips Ingenia Elition"),
    "US": ("GE LOGIQ E10", "Philips EPIQ Elite", "Canon Aplio i800"),
    "MG": ("Hologic 3Dimensions", "Siemens MAMMOMAT Revelation"),
    "NM": ("Siemens Symbia Intevo", "GE Discovery NM/CT 870"),
    "PT": ("Siemens Biograph Vision", "GE Discovery MI"),
    "XA": ("Philips Azurion 7", "Siemens ARTIS icono"),
    "RF": ("Siemens Luminos dRF Max", "Shimadzu SONIALVISION G4"),
}

# Synthetic physician names (not real people); some with accents and an apostrophe.
PHYSICIANS = (
    "Dr. Anna Berg",
    "Dr. Lukas Müller",
    "Dr. Sean O'Brien",
    "Dr. Chloé Martin",
    "Dr. Wei Zhang",
    "Dr. Amira Haddad",
    "Dr. Jonas Lindqvist",
    "Dr. Zoë Novak",
    "Dr. Rafael Ortega",
    "Dr. Priya Raman",
    "Dr. Mateo Rossi",
    "Dr. 佐藤 健",
)

DESCRIPTIONS = (
    "Routine follow-up",
    "Rule out fracture after fall",
    "Known lesion, compare with prior",
    'Patient "claustrophobic" – sedation requested',
    "Contrast 50% dose (renal function reduced)",
    "Pre-operative assessment",
    "Persistent cough > 3 weeks",
    "Screening per protocol_B",
    "Pain right flank; path C:\\imports\\referral noted",
    "Trauma – polytrauma protocol",
    "Post-op control, day 2",
    "Ärztliche Zweitmeinung",
)

FINDINGS = (
    "No acute abnormality.",
    "Small nodule in the right upper lobe measuring 4 mm.",
    "Mild degenerative changes without compression.",
    "Moderate effusion; no pneumothorax.",
    "Findings stable compared with the prior study.",
    "Subtle hypodensity, recommend follow-up in 6 months.",
    "Normal size and echotexture.",
    'Uptake pattern consistent with "degenerative" change.',
)

IMPRESSIONS = (
    "Normal study.",
    "Benign-appearing findings; routine follow-up.",
    "Indeterminate finding — short-interval follow-up advised.",
    "Suspicious for malignancy (BI-RADS 4); biopsy recommended.",
    "Stable disease.",
    "Acute findings communicated to the referring physician.",
)

# Weighted choices as (value, weight); weights sum to 100.
SOURCE_WEIGHTS = (("outpatient", 55), ("inpatient", 25), ("emergency", 15), ("health_check", 5))
STATUS_WEIGHTS = (
    ("certified", 55),
    ("reported", 10),
    ("completed", 8),
    ("in_progress", 3),
    ("checked_in", 4),
    ("scheduled", 12),
    ("cancelled", 8),
)

ORDER_START = dt.datetime(2023, 1, 1)
ORDER_SPAN_SECONDS = int((dt.datetime(2025, 7, 1) - ORDER_START).total_seconds())
TASKS_CREATED_FROM = dt.datetime(2025, 7, 2, 9, 0, 0)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def _weighted(expr: str, weights: tuple[tuple[str, int], ...]) -> str:
    """CASE over `expr % 100` picking a value by cumulative weight."""
    parts, upper = [], 0
    for value, weight in weights:
        upper += weight
        parts.append(f"WHEN {expr} % 100 < {upper} THEN {_lit(value)}")
    return "CASE " + " ".join(parts) + " END"


def _h(salt: int, over: str = "i") -> str:
    return f"hash({over}, $seed, {salt})"


def _pick(values: tuple[str, ...], salt: int, over: str = "i") -> str:
    """One of `values`, chosen by hash (DuckDB lists are 1-based)."""
    return f"{_list(values)}[CAST(hash({over}, $seed, {salt}) % {len(values)} AS BIGINT) + 1]"


def examinations_sql(table: str) -> str:
    """INSERT of examinations for indexes [$start, $start + $rows) with parameters $start, $rows, $seed."""
    modalities = tuple(m for m, _ in EXAM_ITEMS)
    items = tuple(i for _, i in EXAM_ITEMS)
    per_modality = " ".join(f"WHEN {_lit(m)} THEN {_pick(n, 13)}" for m, n in EQUIPMENT.items())
    equipment = f"CASE modality {per_modality} END"
    return f"""
INSERT INTO {table}
WITH base AS (
    SELECT i,
           hash(i, $seed, 1) % GREATEST(50, ($start + $rows) * 3 // 5) AS patient,
           CAST(hash(i, $seed, 2) % {len(EXAM_ITEMS)} AS BIGINT) + 1 AS item_idx,
           {_weighted(_h(3), STATUS_WEIGHTS)} AS status,
           TIMESTAMP '{ORDER_START.isoformat(sep=" ")}'
               + to_seconds(CAST(hash(i, $seed, 4) % {ORDER_SPAN_SECONDS} AS BIGINT)) AS ordered
    FROM range($start, $start + $rows) AS t(i)
), shaped AS (
    SELECT *,
           {_list(modalities)}[item_idx] AS modality,
           CASE WHEN status IN ('scheduled', 'cancelled') THEN NULL
                ELSE ordered + to_seconds(CAST(300 + hash(i, $seed, 5) % 259200 AS BIGINT)) END AS checked_in
    FROM base
)
SELECT 'EX' || lpad(CAST(i + 1 AS VARCHAR), 8, '0'),
       'MRN' || lpad(CAST(patient + 1 AS VARCHAR), 7, '0'),
       CASE WHEN hash(patient, $seed, 6) % 40 = 0 THEN NULL ELSE CAST(hash(patient, $seed, 7) % 96 AS INTEGER) END,
       CASE WHEN hash(patient, $seed, 8) % 50 = 0 THEN 'U'
            WHEN hash(patient, $seed, 8) % 2 = 0 THEN 'F' ELSE 'M' END,
       {_weighted(_h(9), SOURCE_WEIGHTS)},
       {_list(items)}[item_idx],
       CASE WHEN hash(i, $seed, 10) % 5 = 0 THEN NULL
            ELSE {_pick(DESCRIPTIONS, 11, "i")} END,
       modality,
       CASE WHEN hash(i, $seed, 12) % 30 = 0 THEN NULL
            ELSE {equipment} END,
       status,
       ordered,
       checked_in,
       CASE WHEN status = 'certified'
            THEN checked_in + to_seconds(CAST(3600 + hash(i, $seed, 14) % 432000 AS BIGINT)) END,
       CASE WHEN status = 'certified'
            THEN {_pick(PHYSICIANS, 15, "i")} END
FROM shaped
"""


def reports_sql(exam_table: str, report_table: str) -> str:
    """INSERT of one report per reported/certified examination of the index range [$start, $start + $rows)."""
    return f"""
INSERT INTO {report_table}
SELECT 'RP' || substr(e.exam_id, 3),
       e.exam_id,
       'Indication: ' || coalesce(e.exam_description, 'not stated') || E'\\n'
           || 'Technique: ' || e.exam_item || ' on ' || coalesce(e.equipment_name, 'unrecorded equipment') || '.'
           || E'\\n' || 'Findings: ' || {_pick(FINDINGS, 20, "n")},
       CASE WHEN hash(n, $seed, 21) % 10 = 0 THEN NULL
            ELSE {_pick(IMPRESSIONS, 22, "n")} END,
       coalesce(e.certified_physician, {_pick(PHYSICIANS, 23, "n")}),
       CASE WHEN e.report_certified_datetime IS NOT NULL
            THEN e.check_in_datetime + to_seconds(
                     CAST(epoch(e.report_certified_datetime - e.check_in_datetime) // 2 AS BIGINT))
            ELSE e.check_in_datetime + to_seconds(CAST(3600 + hash(n, $seed, 24) % 172800 AS BIGINT)) END
FROM (
    SELECT *, CAST(substr(exam_id, 3) AS BIGINT) - 1 AS n FROM {exam_table}
) AS e
WHERE e.exam_status IN ('reported', 'certified') AND e.n >= $start AND e.n < $start + $rows
"""


@dataclass(frozen=True)
class TaskSpec:
    name: str
    task_type: str
    filters: StudyFilters
    deleted: bool = False


TASK_SPECS: tuple[TaskSpec, ...] = (
    TaskSpec("Status distribution – all examinations", "status_distribution", StudyFilters()),
    TaskSpec("Patient source mix", "source_distribution", StudyFilters()),
    TaskSpec("CT items", "item_distribution", StudyFilters(modality="CT")),
    TaskSpec("Emergency volume per month", "monthly_volume", StudyFilters(exam_source="emergency")),
    TaskSpec("Certified exams by item", "item_distribution", StudyFilters(exam_status="certified")),
    TaskSpec("Old status check (withdrawn)", "status_distribution", StudyFilters(), deleted=True),
)


def _task_pairs(con: DuckDBPyConnection, exam_table: str, spec: TaskSpec) -> list[tuple[Any, int]]:
    grouping = TASK_GROUPING[spec.task_type]
    key = "strftime(order_datetime, '%Y-%m')" if grouping == "month" else grouping
    where, params = [], []
    for column in ("exam_status", "exam_source", "modality"):
        value = getattr(spec.filters, column)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return con.execute(f"SELECT {key}, count(*) FROM {exam_table} {clause} GROUP BY 1", params).fetchall()


def task_rows(con: DuckDBPyConnection, seed: int, exam_table: str = EXAMINATIONS.duckdb) -> list[tuple[Any, ...]]:
    """Analysis task rows (every stored column, contract order) computed over the examinations in `exam_table`."""
    rng = random.Random(seed)  # noqa: S311 - reproducible ids, not secrets
    rows = []
    for n, spec in enumerate(TASK_SPECS):
        task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        created = TASKS_CREATED_FROM + dt.timedelta(hours=3 * n, seconds=rng.randrange(3600))
        result = task_result(spec.task_type, _task_pairs(con, exam_table, spec))
        deleted = created + dt.timedelta(days=1) if spec.deleted else None
        rows.append(
            (task_id, spec.name, spec.task_type, render(spec.filters.as_dict()).decode(), "completed",
             render(result).decode(), created, created, deleted)
        )  # fmt: skip
    return rows


@dataclass(frozen=True)
class GeneratedCounts:
    examinations: int
    reports: int
    analysis_tasks: int


def fill(con: DuckDBPyConnection, rows: int, seed: int = DEFAULT_SEED, start: int = 0, tasks: bool = True) -> None:
    """Insert `rows` examinations (indexes start..start+rows-1), their reports and, if asked, the tasks.

    The caller owns the transaction; tables must exist (see duckdb_schema.create_schema).
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    params = {"start": start, "rows": rows, "seed": seed}
    con.execute(examinations_sql(EXAMINATIONS.duckdb), params)
    con.execute(reports_sql(EXAMINATIONS.duckdb, REPORTS.duckdb), params)
    if tasks:
        placeholders = ", ".join("?" for _ in ANALYSIS_TASKS.fields)
        for row in task_rows(con, seed):
            con.execute(f"INSERT INTO {ANALYSIS_TASKS.duckdb} VALUES ({placeholders})", list(row))


def _connect(database: str) -> DuckDBPyConnection:
    import duckdb  # noqa: PLC0415 - imported when data is made, so that a CLI importing the defaults starts fast

    con = duckdb.connect(database)
    con.execute("SET enable_progress_bar = false")
    return con


def _counts(con: DuckDBPyConnection) -> GeneratedCounts:
    def count(table: Table) -> int:
        return int(con.execute(f"SELECT count(*) FROM {table.duckdb}").fetchone()[0])  # type: ignore[index]

    return GeneratedCounts(count(EXAMINATIONS), count(REPORTS), count(ANALYSIS_TASKS))


def write_duckdb(path: Path, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, tasks: bool = True) -> GeneratedCounts:
    """Create a new DuckDB file with the contract schema and synthetic data, in one transaction.

    Refuses to touch an existing file: benchmarks and tests always start from a known state.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path}: refusing to overwrite an existing file")
    con = _connect(str(path))
    try:
        con.execute("BEGIN")
        create_schema(con)
        fill(con, rows, seed, tasks=tasks)
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
        return _counts(con)
    except BaseException:
        con.close()
        path.unlink(missing_ok=True)
        Path(f"{path}.wal").unlink(missing_ok=True)
        raise
    finally:
        con.close()


@dataclass(frozen=True)
class GeneratedData:
    examinations: list[tuple[Any, ...]]
    reports: list[tuple[Any, ...]]
    analysis_tasks: list[tuple[Any, ...]]


def generate(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, tasks: bool = True) -> GeneratedData:
    """The same rows `write_duckdb` would store, as Python tuples in contract column order."""
    con = _connect(":memory:")
    try:
        create_schema(con)
        fill(con, rows, seed, tasks=tasks)

        def fetch(table: Table) -> list[tuple[Any, ...]]:
            return con.execute(f"SELECT * FROM {table.duckdb} ORDER BY {table.key}").fetchall()

        return GeneratedData(fetch(EXAMINATIONS), fetch(REPORTS), fetch(ANALYSIS_TASKS))
    finally:
        con.close()


def _header(fields: tuple[Field, ...], labels: bool) -> list[str]:
    return [f.label if labels else f.name for f in fields]


def write_xlsx(
    path: Path,
    *,
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    tasks: bool = True,
    labels: bool = False,
    data: GeneratedData | None = None,
) -> GeneratedCounts:
    """Write a workbook with sheets examinations, reports and (if tasks) analysis_tasks.

    Headers are field names, or the hospital export labels when `labels` is true. Datetimes are real Excel
    datetimes. Written to a temporary name and renamed, so a failure leaves no half-written workbook.
    """
    path = Path(path)
    from openpyxl import Workbook  # noqa: PLC0415 - as duckdb in _connect

    data = data or generate(rows, seed, tasks)
    book = Workbook(write_only=True)
    for title, fields, body in (
        ("examinations", EXAMINATION_FIELDS, data.examinations),
        ("reports", REPORT_FIELDS, data.reports),
        ("analysis_tasks", ANALYSIS_TASKS.fields, data.analysis_tasks),
    ):
        if title == "analysis_tasks" and not tasks:
            continue
        sheet = book.create_sheet(title)
        sheet.append(_header(fields, labels))
        for row in body:
            sheet.append(list(row))
    partial = path.with_name(path.name + ".partial")
    try:
        book.save(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return GeneratedCounts(len(data.examinations), len(data.reports), len(data.analysis_tasks) if tasks else 0)
