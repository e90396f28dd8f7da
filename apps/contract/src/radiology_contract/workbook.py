"""The one Excel reader and validator: a workbook in, typed rows out, or one error listing every problem.

Both importers (the legacy DuckDB one and the new service's) call `read_workbook`. Nothing is inserted
anywhere until the whole file has been read and checked, so a bad file never half-loads.

Sheets:
- "examinations" (required): the 14 fields of fields.EXAMINATION_FIELDS;
- "reports" (optional): fields.REPORT_FIELDS; every exam_id must be an examination of the file or one
  already loaded;
- "analysis_tasks" (optional): fields.ANALYSIS_TASK_FIELDS; `filters` and `result` are JSON object text.
Any other sheet is an error (a misspelt sheet name must not be skipped silently).

Each sheet: row 1 is the header (a field name, or its label, case-insensitively); every later non-blank
row is a record. Optional columns may be absent; unknown, duplicate and unnamed columns are errors.
Formula cells are errors (a cached value may be stale and is never trusted), so are merged cells.

Values: text is stripped and an empty text is a blank; integers may be Excel numbers or digit text;
datetimes may be Excel datetimes (rounded to the nearest second, removing float noise) or ISO 8601 text
(`YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.ffffff]]` or with `T`; sub-seconds dropped, time zones refused).

Problems are collected (the first MAX_PROBLEMS are kept, the rest only counted) and raised together as a
WorkbookError whose `problems` are rows of (sheet, row, field, value, code, message) — row numbers as
Excel shows them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from .fields import (
    ANALYSIS_TASK_FIELDS,
    ANALYSIS_TASK_KEY,
    EXAMINATION_FIELDS,
    EXAMINATION_KEY,
    REPORT_FIELDS,
    REPORT_KEY,
    Field,
    FieldType,
)
from .responses import render

MAX_PROBLEMS = 50
DEFAULT_MAX_ROWS = 1_048_575  # an Excel sheet's data rows under the header
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
EARLIEST = dt.datetime(1900, 1, 1)
LATEST = dt.datetime(2100, 12, 31, 23, 59, 59)


class Code:
    """Problem codes, one per kind of mistake (stable: tests and operators match on them)."""

    FILE_MISSING = "file_missing"
    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    NOT_A_WORKBOOK = "not_a_workbook"
    MISSING_SHEET = "missing_sheet"
    UNKNOWN_SHEET = "unknown_sheet"
    NO_HEADER = "no_header"
    NO_ROWS = "no_rows"
    TOO_MANY_ROWS = "too_many_rows"
    UNKNOWN_COLUMN = "unknown_column"
    DUPLICATE_COLUMN = "duplicate_column"
    UNNAMED_COLUMN = "unnamed_column"
    MISSING_COLUMN = "missing_column"
    BLANK_REQUIRED = "blank_required"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    TOO_LONG = "too_long"
    INVALID_CHOICE = "invalid_choice"
    INVALID_DATETIME = "invalid_datetime"
    INVALID_JSON = "invalid_json"
    DUPLICATE_KEY = "duplicate_key"
    DUPLICATE_EXISTING = "duplicate_existing"
    UNKNOWN_REFERENCE = "unknown_reference"
    FORMULA_CELL = "formula_cell"
    MERGED_CELLS = "merged_cells"


@dataclass(frozen=True)
class Problem:
    sheet: str | None
    row: int | None  # as Excel shows it (the header is row 1)
    field: str | None
    value: str | None  # the offending value as text, shortened
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "field": self.field,
            "value": self.value,
            "code": self.code,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.sheet, self.row, self.field) if p is not None)
        return f"{where + ': ' if where else ''}{self.message} [{self.code}]"


class WorkbookError(Exception):
    """Every problem found in one workbook. `total` counts them all; `problems` keeps the first MAX_PROBLEMS."""

    def __init__(self, path: Path, problems: list[Problem], total: int) -> None:
        self.path = path
        self.problems = problems
        self.total = total
        shown = "\n".join(f"  - {p}" for p in problems[:10])
        more = f"\n  ... and {total - min(total, 10)} more" if total > 10 else ""
        super().__init__(f"{path}: {total} problem(s) in the workbook:\n{shown}{more}")

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    def report(self) -> dict[str, Any]:
        """A frictionless-style report: where, which field, which value, what code."""
        return {"path": str(self.path), "total": self.total, "problems": [p.as_dict() for p in self.problems]}


@dataclass(frozen=True)
class SheetSpec:
    title: str
    fields: tuple[Field, ...]
    key: str
    required: bool


SHEETS: tuple[SheetSpec, ...] = (
    SheetSpec("examinations", EXAMINATION_FIELDS, EXAMINATION_KEY, True),
    SheetSpec("reports", REPORT_FIELDS, REPORT_KEY, False),
    SheetSpec("analysis_tasks", ANALYSIS_TASK_FIELDS, ANALYSIS_TASK_KEY, False),
)


@dataclass
class WorkbookData:
    """Typed rows, each a tuple in contract column order, ready to insert."""

    path: Path
    examinations: list[tuple[Any, ...]] = field(default_factory=list)
    reports: list[tuple[Any, ...]] = field(default_factory=list)
    analysis_tasks: list[tuple[Any, ...]] = field(default_factory=list)

    def rows(self, kind: str) -> list[tuple[Any, ...]]:
        return getattr(self, kind)


class _Problems:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: list[Problem] = []
        self.total = 0

    def add(  # noqa: PLR0917 - the six columns of a problem row, in report order
        self, sheet: str | None, row: int | None, name: str | None, value: Any, code: str, message: str
    ) -> None:
        self.total += 1
        if len(self.kept) < self.limit:
            self.kept.append(Problem(sheet, row, name, _show(value), code, message))


def _show(value: Any) -> str | None:
    if value is None:
        return None
    text = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ValueProblem(Exception):
    """One value that does not fit its field."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _round_second(value: dt.datetime) -> dt.datetime:
    base = value.replace(microsecond=0)
    return base + dt.timedelta(seconds=1) if value.microsecond >= 500_000 else base


_DATETIME_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?$")


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueProblem(Code.INVALID_DATETIME, "must be a naive local datetime (no time zone)")
        result = _round_second(value)
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        if not _DATETIME_TEXT.match(value):
            raise ValueProblem(
                Code.INVALID_DATETIME, "must be a datetime YYYY-MM-DD HH:MM:SS (an Excel date or ISO 8601 text)"
            )
        try:
            result = dt.datetime.fromisoformat(value).replace(microsecond=0)
        except ValueError:
            raise ValueProblem(Code.INVALID_DATETIME, "is not a real calendar date/time") from None
    else:
        raise ValueProblem(Code.WRONG_TYPE, f"must be a datetime, got {type(value).__name__}")
    if not EARLIEST <= result <= LATEST:
        raise ValueProblem(Code.OUT_OF_RANGE, f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return result


def _is_integer_text(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit() and len(value) <= 12


def _integer(f: Field, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueProblem(Code.WRONG_TYPE, "must be an integer, got a boolean")
    if isinstance(value, int):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or _is_integer_text(value):
        number = int(value)
    else:
        raise ValueProblem(Code.WRONG_TYPE, "must be an integer")
    if (f.min_value is not None and number < f.min_value) or (f.max_value is not None and number > f.max_value):
        raise ValueProblem(Code.OUT_OF_RANGE, f"must be between {f.min_value} and {f.max_value}")
    return number


def _text(f: Field, value: Any) -> str:
    if isinstance(value, bool):
        raise ValueProblem(Code.WRONG_TYPE, "must be text, got a boolean")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))  # identifiers typed as numbers in Excel
    elif isinstance(value, str):
        text = value
    else:
        raise ValueProblem(Code.WRONG_TYPE, f"must be text, got {type(value).__name__}")
    if "\x00" in text:
        raise ValueProblem(Code.WRONG_TYPE, "must not contain NUL characters")
    if f.max_length is not None and len(text) > f.max_length:
        raise ValueProblem(Code.TOO_LONG, f"must be at most {f.max_length} characters (got {len(text)})")
    if f.choices is not None and text not in f.choices:
        raise ValueProblem(Code.INVALID_CHOICE, "must be one of: " + ", ".join(f.choices))
    return text


def _json(value: Any) -> str:
    if isinstance(value, (dict, list)):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValueProblem(Code.INVALID_JSON, "must be JSON object text") from None
    else:
        raise ValueProblem(Code.WRONG_TYPE, "must be JSON object text")
    if not isinstance(parsed, dict):
        raise ValueProblem(Code.INVALID_JSON, "must be a JSON object")
    return render(parsed).decode("utf-8")


def convert(f: Field, value: Any) -> Any:
    """One raw value (a cell, or a JSON value) as the typed value of field `f`; None for a blank.

    Raises ValueProblem naming the code and a message; a blank required value is BLANK_REQUIRED.
    """
    if isinstance(value, str):
        value = value.strip()
        if not value:
            value = None
    if value is None:
        if f.required:
            raise ValueProblem(Code.BLANK_REQUIRED, "is required but blank")
        return None
    if f.type is FieldType.DATETIME:
        return _datetime(value)
    if f.type is FieldType.INT:
        return _integer(f, value)
    if f.type is FieldType.JSON:
        return _json(value)
    return _text(f, value)


# --- file-level checks -------------------------------------------------------------------------------------

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([^"]+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet title -> part name inside the .xlsx zip, read from workbook.xml and its relationships."""
    book = archive.read("xl/workbook.xml")
    rels = archive.read("xl/_rels/workbook.xml.rels")
    targets = {
        m.group(1).decode(): m.group(2).decode()
        for m in re.finditer(rb'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)
    }
    targets.update(
        {
            m.group(2).decode(): m.group(1).decode()
            for m in re.finditer(rb'<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"', rels)
        }
    )
    parts = {}
    for m in re.finditer(rb"<(?:\w+:)?sheet\b([^>]*)/?>", book):
        attrs = m.group(1)
        name = re.search(rb'\bname="([^"]*)"', attrs)
        rid = re.search(rb'\br:id="([^"]*)"', attrs) or re.search(rb'\b\w+:id="([^"]*)"', attrs)
        if not name or not rid:
            continue
        target = targets.get(rid.group(1).decode(), "")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        title = name.group(1).decode("utf-8")
        for entity, char in (("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'")):
            title = title.replace(entity, char)
        parts[title] = target
    return parts


def _scan_parts(path: Path) -> dict[str, tuple[list[str], bool]]:
    """Per sheet title: its merged ranges and whether it holds any formula."""
    out: dict[str, tuple[list[str], bool]] = {}
    with zipfile.ZipFile(path) as archive:
        for title, part in _sheet_parts(archive).items():
            try:
                xml = archive.read(part)
            except KeyError:
                continue
            merged = [m.decode() for m in _MERGE.findall(xml)]
            out[title] = (merged, bool(_FORMULA.search(xml)))
    return out


# --- reading -----------------------------------------------------------------------------------------------


@dataclass
class _Columns:
    positions: list[tuple[int, Field]]  # (0-based column index, field)
    width: int  # header width (cells beyond it must be empty)


def _header(spec: SheetSpec, header: tuple[Any, ...], problems: _Problems) -> _Columns | None:
    lookup: dict[str, Field] = {}
    for f in spec.fields:
        lookup[f.name.lower()] = f
        lookup[f.label.lower()] = f
    positions: list[tuple[int, Field]] = []
    seen: dict[str, int] = {}
    unknown: list[str] = []
    ok = True
    last = max((i for i, v in enumerate(header) if v is not None and str(v).strip()), default=-1)
    for index, raw in enumerate(header[: last + 1]):
        text = str(raw).strip() if raw is not None else ""
        letter = get_column_letter(index + 1)
        if not text:
            problems.add(spec.title, 1, letter, None, Code.UNNAMED_COLUMN, f"column {letter} has no header")
            ok = False
            continue
        f = lookup.get(text.lower())
        if f is None:
            unknown.append(text)
            continue
        if f.name in seen:
            problems.add(
                spec.title, 1, f.name, text, Code.DUPLICATE_COLUMN,
                f"column {letter} repeats {f.name!r} (first in column {get_column_letter(seen[f.name] + 1)})",
            )  # fmt: skip
            ok = False
            continue
        seen[f.name] = index
        positions.append((index, f))
    if unknown:
        allowed = ", ".join(f.name for f in spec.fields)
        problems.add(
            spec.title, 1, None, ", ".join(unknown), Code.UNKNOWN_COLUMN,
            f"unknown column(s): {', '.join(unknown)} (allowed: {allowed})",
        )  # fmt: skip
        ok = False
    missing = [f.name for f in spec.fields if f.required and f.name not in seen]
    if missing:
        problems.add(
            spec.title, 1, None, ", ".join(missing), Code.MISSING_COLUMN,
            f"missing required column(s): {', '.join(missing)}",
        )  # fmt: skip
        ok = False
    return _Columns(positions, last + 1) if ok else None


def _rows(
    spec: SheetSpec, values: Iterator[tuple[Any, ...]], columns: _Columns, problems: _Problems, max_rows: int
) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """Typed rows of one sheet (absent optional columns stay None) and the Excel row of each key."""
    order = {f.name: i for i, f in enumerate(spec.fields)}
    slots = [(index, f, order[f.name]) for index, f in columns.positions]
    template: list[Any] = [None] * len(spec.fields)
    key_slot = order[spec.key]
    key_rows: dict[str, int] = {}
    duplicates: dict[str, list[int]] = {}
    out: list[tuple[Any, ...]] = []
    count = 0
    title = spec.title
    for row_number, raw in enumerate(values, start=2):
        if not any(v is not None and (not isinstance(v, str) or v.strip()) for v in raw):
            continue  # a blank row
        count += 1
        if count > max_rows:
            problems.add(title, row_number, None, None, Code.TOO_MANY_ROWS, f"more than {max_rows} rows")
            break
        if len(raw) > columns.width:
            extra = [i for i in range(columns.width, len(raw)) if raw[i] is not None and str(raw[i]).strip()]
            if extra:
                letter = get_column_letter(extra[0] + 1)
                problems.add(
                    title, row_number, letter, raw[extra[0]], Code.UNNAMED_COLUMN,
                    f"value in column {letter}, which has no header",
                )  # fmt: skip
        record = template.copy()
        bad = False
        for index, f, slot in slots:
            value = raw[index] if index < len(raw) else None
            try:
                record[slot] = convert(f, value)
            except ValueProblem as e:
                problems.add(title, row_number, f.name, value, e.code, f"{f.name} {e.message}")
                bad = True
        key = record[key_slot]
        if key is not None:
            first = key_rows.setdefault(key, row_number)
            if first != row_number:
                duplicates.setdefault(key, [first]).append(row_number)
        if not bad:
            out.append(tuple(record))
    for key, rows in duplicates.items():
        listed = ", ".join(str(r) for r in rows)
        problems.add(
            title,
            rows[1],
            spec.key,
            key,
            Code.DUPLICATE_KEY,
            f"{spec.key} {key!r} appears more than once (rows {listed})",
        )
    if count == 0:
        problems.add(title, None, None, None, Code.NO_ROWS, "the sheet has a header but no data rows")
    return out, key_rows


def _formula_cells(sheet: Any, spec: SheetSpec, problems: _Problems) -> None:
    for row in sheet.iter_rows():
        for cell in row:
            if getattr(cell, "data_type", None) == "f":
                coordinate = f"{get_column_letter(cell.column)}{cell.row}"
                problems.add(
                    spec.title, cell.row, coordinate, cell.value, Code.FORMULA_CELL,
                    f"cell {coordinate} holds a formula; enter plain values (cached results are not trusted)",
                )  # fmt: skip


def _open(path: Path, problems: _Problems, max_bytes: int) -> Any | None:
    if not path.exists():
        problems.add(None, None, None, str(path), Code.FILE_MISSING, f"{path} does not exist")
        return None
    size = path.stat().st_size
    if size == 0:
        problems.add(None, None, None, str(path), Code.EMPTY_FILE, f"{path} is empty (0 bytes)")
        return None
    if size > max_bytes:
        problems.add(
            None,
            None,
            None,
            str(size),
            Code.FILE_TOO_LARGE,
            f"{path} is {size} bytes, more than the {max_bytes} allowed",
        )
        return None
    if not zipfile.is_zipfile(path):
        problems.add(None, None, None, str(path), Code.NOT_A_WORKBOOK, f"{path} is not an .xlsx workbook")
        return None
    try:
        return load_workbook(path, read_only=True, data_only=False)
    except Exception as e:  # openpyxl raises many types for broken packages
        problems.add(None, None, None, str(path), Code.NOT_A_WORKBOOK, f"{path} is not a readable .xlsx workbook: {e}")
        return None


def _check_existing(
    data: WorkbookData, existing: Mapping[str, Collection[str]], problems: _Problems, rows_of: dict[str, dict[str, int]]
) -> None:
    for spec in SHEETS:
        known = existing.get(spec.title)
        if not known:
            continue
        clashes = [(rows_of.get(spec.title, {}).get(r[0]), r[0]) for r in data.rows(spec.title) if r[0] in known]
        if clashes:
            listed = ", ".join(k for _, k in clashes[:20]) + (" ..." if len(clashes) > 20 else "")
            problems.add(
                spec.title, clashes[0][0], spec.key, clashes[0][1], Code.DUPLICATE_EXISTING,
                f"{len(clashes)} {spec.key}(s) already loaded in the database: {listed}",
            )  # fmt: skip


def _check_references(
    data: WorkbookData, existing: Mapping[str, Collection[str]], problems: _Problems, rows_of: dict[str, int]
) -> None:
    exams = {r[0] for r in data.examinations}
    loaded = existing.get("examinations", ())
    slot = [f.name for f in REPORT_FIELDS].index("exam_id")
    for report in data.reports:
        exam_id = report[slot]
        if exam_id not in exams and exam_id not in loaded:
            problems.add(
                "reports", rows_of.get(report[0]), "exam_id", exam_id, Code.UNKNOWN_REFERENCE,
                f"exam_id {exam_id!r} is not an examination of this workbook or of the database",
            )  # fmt: skip


def read_workbook(
    path: Path | str,
    *,
    existing: Mapping[str, Collection[str]] | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_problems: int = MAX_PROBLEMS,
) -> WorkbookData:
    """Read and validate a workbook; return its typed rows or raise WorkbookError listing every problem.

    `existing` maps a sheet kind ("examinations", "reports", "analysis_tasks") to the keys already in the
    target database: those keys are DUPLICATE_EXISTING problems, and reports may reference examinations
    that are already loaded.
    """
    path = Path(path)
    problems = _Problems(max_problems)
    book = _open(path, problems, max_bytes)
    if book is None:
        raise WorkbookError(path, problems.kept, problems.total)
    data = WorkbookData(path)
    key_rows: dict[str, dict[str, int]] = {}
    try:
        titles = list(book.sheetnames)
        known = {s.title for s in SHEETS}
        unknown = [t for t in titles if t not in known]
        if unknown:
            problems.add(
                None, None, None, ", ".join(unknown), Code.UNKNOWN_SHEET,
                f"unknown sheet(s): {', '.join(unknown)} (allowed: {', '.join(s.title for s in SHEETS)})",
            )  # fmt: skip
        for spec in SHEETS:
            if spec.required and spec.title not in titles:
                problems.add(
                    spec.title, None, None, ", ".join(titles), Code.MISSING_SHEET,
                    f"the workbook has no sheet {spec.title!r} (sheets found: {', '.join(titles) or 'none'})",
                )  # fmt: skip
        scans = _scan_parts(path)
        for spec in SHEETS:
            if spec.title not in titles:
                continue
            sheet = book[spec.title]
            merged, has_formula = scans.get(spec.title, ([], False))
            if merged:
                problems.add(
                    spec.title, None, None, ", ".join(merged[:10]), Code.MERGED_CELLS,
                    f"merged cells are not allowed: {', '.join(merged[:10])}",
                )  # fmt: skip
            if has_formula:
                _formula_cells(sheet, spec, problems)
                continue
            sheet.reset_dimensions()  # stream rows; never pre-scan the file for its size
            values = sheet.iter_rows(values_only=True)
            header = next(values, None)
            if header is None or not any(v is not None and str(v).strip() for v in header):
                problems.add(spec.title, 1, None, None, Code.NO_HEADER, "the sheet is empty (no header row)")
                continue
            columns = _header(spec, header, problems)
            if columns is None:
                continue
            rows, key_rows[spec.title] = _rows(spec, values, columns, problems, max_rows)
            setattr(data, spec.title, rows)
    finally:
        book.close()
    if problems.total == 0:
        _check_references(data, existing or {}, problems, key_rows.get("reports", {}))
        _check_existing(data, existing or {}, problems, key_rows)
    if problems.total:
        raise WorkbookError(path, problems.kept, problems.total)
    return data
