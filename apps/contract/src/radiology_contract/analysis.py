"""Analysis tasks and statistics: what each task type groups by and how results are shaped.

Tasks run synchronously when created (no queue): the backend groups the examinations matching the task's
filters and stores the result with the task.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .responses import buckets

# task type -> the grouping of examinations it counts. "month" means the YYYY-MM of order_datetime.
TASK_GROUPING = {
    "status_distribution": "exam_status",
    "source_distribution": "exam_source",
    "item_distribution": "exam_item",
    "monthly_volume": "month",
}

# statistics key -> grouping, in response order.
STATISTICS_GROUPINGS = (
    ("by_status", "exam_status"),
    ("by_source", "exam_source"),
    ("by_item", "exam_item"),
    ("by_month", "month"),
)


def grouped(grouping: str, pairs: Iterable[tuple[Any, int]]) -> list[dict[str, Any]]:
    """Buckets of one grouping: months in calendar order, everything else largest first."""
    if grouping == "month":
        return [{"key": k, "count": int(c)} for k, c in sorted(pairs, key=lambda kc: str(kc[0]))]
    return buckets(pairs)


def task_result(task_type: str, pairs: Iterable[tuple[Any, int]]) -> dict[str, Any]:
    rows = grouped(TASK_GROUPING[task_type], pairs)
    return {"total": sum(r["count"] for r in rows), "buckets": rows}
