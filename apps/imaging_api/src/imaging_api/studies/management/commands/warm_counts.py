"""`warm_counts`: count the commonest filter sets into the shared count cache before users ask for them.

Every worker process of every app host then finds them there (imaging_api.studies.counts), instead of each
one counting them on its first request after a switch. Warmed: the statistics of all examinations (each
grouping), the totals of the unfiltered study and report searches, and the row counts of /health. Entries live
for IMAGING_COUNT_CACHE_SECONDS and for the current data version only: run it after the last load, shortly
before users arrive (the cutover runs it at the end of stage 1; its delta keeps the version when no examination
or report changed). Read-only on the data; prints one JSON object.
"""

import json
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from radiology_contract import analysis, query

from imaging_api.studies import counts, selectors


def _warmers() -> list[tuple[str, Callable[[], Any]]]:
    everything = query.parse_statistics_query([]).filters
    warmers: list[tuple[str, Callable[[], Any]]] = [
        (f"statistics {grouping}", lambda g=grouping: selectors.grouped_counts(everything, g))
        for _, grouping in analysis.STATISTICS_GROUPINGS
    ]
    warmers += [
        ("studies total", lambda: selectors.search_examinations(query.parse_study_query([])).total),
        ("reports total", lambda: selectors.search_reports(query.parse_report_query([])).total),
        ("row counts", selectors.table_counts),
    ]
    return warmers


class Command(BaseCommand):
    help = "Count the commonest filter sets into the shared count cache (before a switch); prints JSON."

    def handle(self, *args: Any, **options: Any) -> None:
        ttl = settings.COUNT_CACHE_SECONDS
        if ttl <= 0:
            self.stdout.write(json.dumps({"cache": "off", "warmed": []}))
            return
        version = counts.data_version()
        started = time.perf_counter()
        warmed = []
        for name, warm in _warmers():
            before = dict(counts.cache.answered)
            t0 = time.perf_counter()
            warm()
            answered = {k: v - before[k] for k, v in counts.cache.answered.items() if v != before[k]}
            warmed.append({"what": name, "seconds": round(time.perf_counter() - t0, 3), "answered": answered})
        after = counts.data_version()
        self.stdout.write(
            json.dumps(
                {
                    "cache": "on",
                    "data_version": after,
                    "version_moved": after != version,
                    "ttl_seconds": ttl,
                    "seconds": round(time.perf_counter() - started, 3),
                    "warmed": warmed,
                },
                sort_keys=True,
            )
        )
