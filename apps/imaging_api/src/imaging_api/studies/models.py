"""Examinations, reports and analysis tasks: columns exactly the contract's fields, in the contract's order.

Tables are named by radiology_contract.tables (the migration and the verification gates rely on that).
Indexes serve the API's filters and orderings (query.STUDY_ORDER, REPORT_ORDER, TASK_ORDER) and the
free-text `q` (trigram GIN indexes, which PostgreSQL uses for ILIKE '%text%').
"""

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from radiology_contract import fields as contract_fields
from radiology_contract import tables

from imaging_api.studies.columns import BYTE_ORDER, contract_model


def _ordered(prefix: tuple[str, ...], when: str, key: str, name: str) -> models.Index:
    """A btree index on (*prefix, when DESC, key): filter + the API's ordering, and exact counts by prefix."""
    return models.Index(*prefix, models.F(when).desc(), key, name=name)


def _trigram(table: tables.Table, prefix: str) -> list[models.Index]:
    """One trigram GIN index per searchable column (Django caps index names at 30 characters)."""
    return [
        GinIndex(fields=[name], opclasses=["gin_trgm_ops"], name=f"{prefix}_{name}"[:25] + "_trgm")
        for name in contract_fields.searchable(table.fields)
    ]


Examination = contract_model(
    "Examination",
    tables.EXAMINATIONS,
    collated=("exam_id",),
    indexes=[
        _ordered((), "order_datetime", "exam_id", "exam_order_idx"),
        _ordered(("exam_status",), "order_datetime", "exam_id", "exam_status_order_idx"),
        _ordered(("exam_source",), "order_datetime", "exam_id", "exam_source_order_idx"),
        _ordered(("exam_item",), "order_datetime", "exam_id", "exam_item_order_idx"),
        _ordered(("modality",), "order_datetime", "exam_id", "exam_modality_order_idx"),
        *_trigram(tables.EXAMINATIONS, "exam"),
    ],
)

Report = contract_model(
    "Report",
    tables.REPORTS,
    collated=("report_id",),
    overrides={
        "exam_id": (
            "exam",
            lambda: models.ForeignKey(
                Examination,
                to_field="exam_id",
                db_column="exam_id",
                on_delete=models.PROTECT,
                related_name="reports",
                db_index=False,  # covered by report_exam_order_idx
            ),
        )
    },
    indexes=[
        _ordered((), "report_datetime", "report_id", "report_order_idx"),
        _ordered(("exam",), "report_datetime", "report_id", "report_exam_order_idx"),
        _ordered(("reporting_physician",), "report_datetime", "report_id", "report_physician_order_idx"),
        *_trigram(tables.REPORTS, "report"),
    ],
)

AnalysisTask = contract_model(
    "AnalysisTask",
    tables.ANALYSIS_TASKS,
    collated=("task_id",),
    indexes=[
        _ordered((), "created_at", "task_id", "task_order_idx"),
        _ordered(("task_type",), "created_at", "task_id", "task_type_order_idx"),
    ],
)

__all__ = ["BYTE_ORDER", "AnalysisTask", "Examination", "Report"]
