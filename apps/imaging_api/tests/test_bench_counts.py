"""`imaging-api bench --counts` runs end to end at a small size and prints every figure it promises.

The figures themselves are the benchmark's (run it at 1,000,000 rows); this keeps the command working: its own
PostgreSQL, the loader, both /statistics plans for each filter set, gunicorn, the two bursts and warm_counts.
"""

import re
import subprocess

from imaging_api import bench_counts

from .conftest import IMAGING

NUMBER = r"\d+\.\d"


def test_bench_counts_prints_both_plans_and_both_bursts() -> None:
    done = subprocess.run(
        [IMAGING, "bench", "--counts", "--rows", "1250", "--count-runs", "1", "--burst", "6", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = done.stdout.split("what counting costs the new service", 1)[1]
    for filters in bench_counts.FILTER_SETS:
        label = bench_counts._label(filters)
        assert re.search(rf"^\s+{re.escape(label)}\s+{NUMBER}\s+{NUMBER}\s+\d+\.\d\d$", table, re.M), (label, table)
    for burst in ("cold", "warmed"):
        assert re.search(rf"^\s+{burst}:\s+median\s+{NUMBER} ms, max\s+{NUMBER} ms, 0 of 6 failed$", table, re.M), table
    warmed = len(bench_counts.GROUPINGS) + 3  # the groupings, both totals, the row counts of /health
    assert re.search(rf"warm_counts: {NUMBER} s \({warmed} sets, data version \d+\)", table), table
