"""Benchmark (slow): carrying 10,000 task rows back into DuckDB, set-based against one statement per row.

    pytest -m slow -s apps/legacy_api/tests/test_bench_sync.py

Prints both times and their ratio, measured in the same process on copies of the same real DuckDB file. The
baseline is what sync_tasks did before: one INSERT OR REPLACE per row, in one transaction.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb
import pytest
from legacy_api.admin import sync_tasks
from legacy_api.store import TASK_COLUMNS, TASK_PLACEHOLDERS
from radiology_contract import synthetic
from radiology_contract.tables import ANALYSIS_TASKS

ROWS = 10_000


def _row_by_row(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    con.execute("BEGIN TRANSACTION")
    for row in rows:
        con.execute(
            f"INSERT OR REPLACE INTO {ANALYSIS_TASKS.duckdb} ({TASK_COLUMNS}) VALUES ({TASK_PLACEHOLDERS})", list(row)
        )
    con.execute("COMMIT")


def _timed(path: Path, upsert, rows: list[tuple]) -> tuple[float, list[tuple]]:
    con = duckdb.connect(str(path))
    try:
        started = time.perf_counter()
        upsert(con, rows)
        seconds = time.perf_counter() - started
        table = con.execute(f"SELECT * FROM {ANALYSIS_TASKS.duckdb} ORDER BY task_id").fetchall()
    finally:
        con.close()
    return seconds, table


@pytest.mark.slow
def test_bench_sync_tasks(tmp_path: Path) -> None:
    seeded = tmp_path / "seeded.duckdb"
    synthetic.write_duckdb(seeded, rows=1250, seed=7)
    con = duckdb.connect(str(seeded))
    existing = con.execute(f"SELECT * FROM {ANALYSIS_TASKS.duckdb}").fetchall()
    con.close()
    template = existing[0]
    rows = [(f"00000000-0000-4000-8000-{n:012d}", *template[1:]) for n in range(ROWS - len(existing))]
    rows += [(t[0], f"renamed {t[0]}", *t[2:]) for t in existing]
    copies = [tmp_path / f"copy{i}.duckdb" for i in range(2)]
    for copy in copies:
        shutil.copy(seeded, copy)
    baseline, expected = _timed(copies[0], _row_by_row, rows)
    set_based, got = _timed(copies[1], sync_tasks, rows)
    print(
        f"\nsync of {ROWS} task rows ({len(existing)} replacing existing ones): one statement per row "
        f"{baseline:.2f} s, set-based {set_based:.3f} s, {baseline / set_based:.0f}x faster"
    )
    assert got == expected  # the same table, row for row
