"""What a simulated member of staff asks for: realistic, valid searches and analysis tasks.

Values come from the contract (statuses, sources, modalities, task types) and from the synthetic data set
the lab serves (exam items, physicians), so every request is valid and a 422 is a real failure.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from radiology_contract.fields import EXAM_SOURCES, EXAM_STATUSES, MODALITIES, TASK_TYPES
from radiology_contract.synthetic import EXAM_ITEMS, PHYSICIANS

Q_WORDS = ("chest", "CT", "mri", "knee", "follow-up", "contrast", "nodule", "Müller", "50%", "protocol_B", "EX0000")
FIRST_DAY = dt.date(2023, 1, 1)
SPAN_DAYS = 910


def _date_range(rng: random.Random) -> dict[str, str]:
    start = FIRST_DAY + dt.timedelta(days=rng.randrange(SPAN_DAYS))
    end = start + dt.timedelta(days=rng.choice((0, 6, 30, 90, 365)))
    return {"date_from": start.isoformat(), "date_to": end.isoformat()}


def study_filters(rng: random.Random) -> dict[str, str]:
    """Zero to three study filters, as the search form sends them."""
    filters: dict[str, str] = {}
    if rng.random() < 0.3:
        filters["q"] = rng.choice(Q_WORDS)
    if rng.random() < 0.3:
        filters["exam_status"] = rng.choice(EXAM_STATUSES)
    if rng.random() < 0.2:
        filters["exam_source"] = rng.choice(EXAM_SOURCES)
    if rng.random() < 0.2:
        filters["modality"] = rng.choice(MODALITIES)
    if rng.random() < 0.1:
        filters["exam_item"] = rng.choice(EXAM_ITEMS)[1]
    if rng.random() < 0.15:
        filters.update(_date_range(rng))
    return filters


def study_params(rng: random.Random) -> dict[str, str]:
    params = study_filters(rng)
    params["page"] = str(rng.choice((1, 1, 1, 2, 3, 10)))
    params["page_size"] = str(rng.choice((20, 20, 50, 100)))
    return params


def report_params(rng: random.Random) -> dict[str, str]:
    params: dict[str, str] = {"page": str(rng.choice((1, 1, 2))), "page_size": "20"}
    if rng.random() < 0.3:
        params["q"] = rng.choice(("nodule", "normal", "follow-up", "BI-RADS", "stable"))
    if rng.random() < 0.2:
        params["reporting_physician"] = rng.choice(PHYSICIANS)
    if rng.random() < 0.1:
        params.update(_date_range(rng))
    return params


def statistics_params(rng: random.Random) -> dict[str, str]:
    return study_filters(rng) if rng.random() < 0.5 else {}


def task_body(rng: random.Random, user: int, serial: int) -> dict[str, Any]:
    task_type = rng.choice(TASK_TYPES)
    return {"name": f"load u{user} #{serial} {task_type}", "task_type": task_type, "filters": study_filters(rng)}
