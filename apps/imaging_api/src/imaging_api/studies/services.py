"""Writes: analysis tasks (create, tombstone) and the workbook import.

Task writes run in freeze.write_transaction(): they raise freeze.WritesFrozenError (nothing written) when the
write freeze is on, checked under the freeze lock so the freeze barrier waits for the writes in flight.
"""

import datetime as dt
import uuid
from typing import Any

from radiology_contract import analysis, query, responses, tables

from imaging_api.studies import selectors
from imaging_api.studies.freeze import write_transaction
from imaging_api.studies.models import AnalysisTask


def now() -> dt.datetime:
    """Naive local time with the microseconds dropped, as the contract stores it."""
    return dt.datetime.now().replace(microsecond=0)


def json_text(value: Any) -> str:
    """Stored JSON text: the contract's one encoding, so both backends store identical text."""
    return responses.render(value).decode("utf-8")


def create_task(spec: query.TaskCreate) -> tuple[Any, ...]:
    """Compute the task synchronously and store it completed; return its stored row (contract order).

    The count comes first, outside the write's transaction: it reads only the examinations, which the service
    never changes (the migration does, with writes frozen), and takes seconds at a million of them under load.
    The freeze lock is held for the INSERT alone, so a freeze barrier never waits for a count.
    """
    pairs = selectors.grouped_counts(spec.filters, analysis.TASK_GROUPING[spec.task_type])
    result = json_text(analysis.task_result(spec.task_type, pairs))
    with write_transaction():
        created = now()
        row = {
            "task_id": str(uuid.uuid4()),
            "name": spec.name,
            "task_type": spec.task_type,
            "filters": json_text(spec.filters.as_dict()),
            "status": "completed",
            "result": result,
            "created_at": created,
            "completed_at": created,
            "deleted_at": None,
        }
        AnalysisTask.objects.create(**row)
    return tuple(row[name] for name in tables.ANALYSIS_TASKS.columns)


def delete_task(task_id: str) -> bool:
    """Tombstone a live task (the row is kept with deleted_at set). False if unknown or already deleted."""
    if not selectors.is_uuid(task_id):
        return False
    with write_transaction():
        updated = AnalysisTask.objects.filter(task_id=task_id, deleted_at__isnull=True).update(deleted_at=now())
    return updated == 1
