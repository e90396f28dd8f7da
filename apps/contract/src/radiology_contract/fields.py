"""Record schemas: the examination (14 fields of the Excel source), the report and the analysis task.

Field order here is the order of columns in the workbook, in the database tables and of keys in every
JSON object the APIs return.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    STR = "str"  # short text, max_length applies
    TEXT = "text"  # long free text
    INT = "int"
    DATETIME = "datetime"  # naive local time, second precision, ISO 8601 "YYYY-MM-DDTHH:MM:SS"
    JSON = "json"  # object stored as JSON text (analysis tasks only)


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # the header a hospital export uses; the workbook accepts either name or label
    type: FieldType
    required: bool
    max_length: int | None = None
    min_value: int | None = None
    max_value: int | None = None
    choices: tuple[str, ...] | None = None
    searchable: bool = False  # included in the free-text `q` search

    @property
    def nullable(self) -> bool:
        return not self.required


EXAM_STATUSES = ("scheduled", "checked_in", "in_progress", "completed", "reported", "certified", "cancelled")
EXAM_SOURCES = ("outpatient", "inpatient", "emergency", "health_check")
GENDERS = ("M", "F", "U")
MODALITIES = ("CR", "DX", "CT", "MR", "US", "MG", "NM", "PT", "XA", "RF")

EXAMINATION_FIELDS: tuple[Field, ...] = (
    Field("exam_id", "Exam ID", FieldType.STR, True, max_length=32, searchable=True),
    Field("medical_record_no", "Medical Record No", FieldType.STR, True, max_length=32, searchable=True),
    Field("patient_age", "Patient Age", FieldType.INT, False, min_value=0, max_value=130),
    Field("patient_gender", "Patient Gender", FieldType.STR, False, max_length=1, choices=GENDERS),
    Field("exam_source", "Exam Source", FieldType.STR, True, max_length=16, choices=EXAM_SOURCES),
    Field("exam_item", "Exam Item", FieldType.STR, True, max_length=128, searchable=True),
    Field("exam_description", "Exam Description", FieldType.TEXT, False, max_length=2000, searchable=True),
    Field("modality", "Modality", FieldType.STR, True, max_length=4, choices=MODALITIES),
    Field("equipment_name", "Equipment", FieldType.STR, False, max_length=128, searchable=True),
    Field("exam_status", "Exam Status", FieldType.STR, True, max_length=16, choices=EXAM_STATUSES),
    Field("order_datetime", "Order Datetime", FieldType.DATETIME, True),
    Field("check_in_datetime", "Check-in Datetime", FieldType.DATETIME, False),
    Field("report_certified_datetime", "Report Certified Datetime", FieldType.DATETIME, False),
    Field("certified_physician", "Certified Physician", FieldType.STR, False, max_length=128, searchable=True),
)

REPORT_FIELDS: tuple[Field, ...] = (
    Field("report_id", "Report ID", FieldType.STR, True, max_length=32, searchable=True),
    Field("exam_id", "Exam ID", FieldType.STR, True, max_length=32, searchable=True),
    Field("report_text", "Report Text", FieldType.TEXT, True, max_length=20000, searchable=True),
    Field("impression", "Impression", FieldType.TEXT, False, max_length=4000, searchable=True),
    Field("reporting_physician", "Reporting Physician", FieldType.STR, False, max_length=128, searchable=True),
    Field("report_datetime", "Report Datetime", FieldType.DATETIME, True),
)

TASK_TYPES = ("status_distribution", "source_distribution", "item_distribution", "monthly_volume")
TASK_STATUSES = ("completed",)

# Stored columns of an analysis task. `deleted_at` is a tombstone: DELETE sets it, the API never shows a
# deleted task again, and the rollback can carry deletions made on one backend over to the other.
ANALYSIS_TASK_FIELDS: tuple[Field, ...] = (
    Field("task_id", "Task ID", FieldType.STR, True, max_length=36),
    Field("name", "Name", FieldType.STR, True, max_length=200),
    Field("task_type", "Task Type", FieldType.STR, True, max_length=32, choices=TASK_TYPES),
    Field("filters", "Filters", FieldType.JSON, True),
    Field("status", "Status", FieldType.STR, True, max_length=16, choices=TASK_STATUSES),
    Field("result", "Result", FieldType.JSON, True),
    Field("created_at", "Created At", FieldType.DATETIME, True),
    Field("completed_at", "Completed At", FieldType.DATETIME, False),
    Field("deleted_at", "Deleted At", FieldType.DATETIME, False),
)

# What the API shows of a task: every stored column but the tombstone.
ANALYSIS_TASK_API_FIELDS: tuple[str, ...] = tuple(f.name for f in ANALYSIS_TASK_FIELDS if f.name != "deleted_at")

EXAMINATION_KEY = "exam_id"
REPORT_KEY = "report_id"
ANALYSIS_TASK_KEY = "task_id"


def field_names(fields: tuple[Field, ...]) -> tuple[str, ...]:
    return tuple(f.name for f in fields)


def searchable(fields: tuple[Field, ...]) -> tuple[str, ...]:
    return tuple(f.name for f in fields if f.searchable)


def by_name(fields: tuple[Field, ...]) -> dict[str, Field]:
    return {f.name: f for f in fields}
