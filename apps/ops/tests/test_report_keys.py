"""Long key lists (mismatching keys of a failed verify, duplicated keys, missing task ids, keys named in a failure
message) are cut to a count and a few examples in report.json, report.md and report.html."""

from __future__ import annotations

import json

from radiology_ops.report import build_report
from runfolder import CUTOVER_START, failure, write_json, write_phases, write_run, write_state_end

KEYS = [f"EX{n:05d}" for n in range(1, 51)]  # radiology-migrate verify lists at most 50 keys per list
ERROR = (
    "rows differ: examinations: 1234 mismatching row(s): missing in PostgreSQL: "
    + ", ".join(KEYS)
    + "; "
    + "; ".join(f"{k} differs in status" for k in KEYS[:3])
)
VERIFY = {  # as `radiology-migrate verify --json` writes it when the checksums differ
    "command": "verify",
    "ok": False,
    "check_mode": False,
    "error": ERROR,
    "seconds": 2.5,
    "rows_per_second": None,
    "snapshot": "/var/lib/radiology/migration/cutover.duckdb",
    "gates": [
        {
            "gate": "counts",
            "ok": True,
            "snapshot": {"examinations": 50000, "reports": 30000, "analysis_tasks": 12},
            "postgres": {"examinations": 50000, "reports": 30000, "analysis_tasks": 12},
            "mismatched": {},
        },
        {"gate": "keys", "ok": True, "problems": []},
        {
            "gate": "checksums",
            "ok": False,
            "tables": {
                "examinations": {
                    "table": "examinations",
                    "rows": 50000,
                    "ok": False,
                    "aggregate": {"snapshot": "50000:aa", "postgres": "50000:bb"},
                    "differing_buckets": 200,
                    "mismatching_rows": 1234,
                    "missing_in_postgres": KEYS,
                    "extra_in_postgres": [],
                    "differences": [
                        {"key": k, "fields": ["status"], "values": {"status": {"snapshot": "a", "postgres": "b"}}}
                        for k in KEYS[:3]
                    ],
                },
                "reports": {"table": "reports", "rows": 30000, "ok": True, "aggregate": {}},
            },
        },
    ],
}
KEY_PROBLEMS = {
    "command": "verify",
    "ok": False,
    "error": "duplicate or null keys",
    "gates": [
        {"gate": "counts", "ok": True, "snapshot": {"examinations": 5}, "postgres": {"examinations": 5}},
        {
            "gate": "keys",
            "ok": False,
            "problems": [
                {
                    "side": "postgres",
                    "table": "analysis_tasks",
                    "key": "task_id",
                    "null_keys": 2,
                    "duplicate_count": 1234,
                    "duplicates": [{"key": f"T{n}", "count": 2} for n in range(50)],
                }
            ],
        },
    ],
}


def test_long_key_lists_are_a_count_and_a_few_examples(tmp_path):
    gate_failed = failure("app1", "Gate: the data in PostgreSQL equals the snapshot", f"gate verify failed: {ERROR}")
    steps = [*CUTOVER_START, ("freeze", ["legacy1"], 1.0), ("gates", ["app1"], 3.0, "failed", [gate_failed])]
    write_phases(tmp_path, "cutover", steps, failed=True)
    write_run(tmp_path)
    write_state_end(tmp_path, "legacy")
    write_json(tmp_path / "verify.json", VERIFY)
    write_json(tmp_path / "verify-rollback.json", KEY_PROBLEMS)
    write_json(  # as molecule's check_tasks.py writes it: the first 20 offenders and their count
        tmp_path / "tasks-check.json",
        {
            "backend": "legacy",
            "loads": 1,
            "live_checked": 5000,
            "deleted_checked": 800,
            "missing": [f"task-{n:04d}: 404" for n in range(20)],
            "missing_count": 1234,
            "resurrected": [],
            "resurrected_count": 0,
            "ok": False,
        },
    )
    paths = build_report(tmp_path)
    report = json.loads(paths["report.json"].read_text())
    md, html = paths["report.md"].read_text(), paths["report.html"].read_text()
    gates = {g["file"]: g for g in report["gates"]}
    examinations = gates["verify.json"]["summary"]["checksums"]["examinations"]
    assert examinations["missing_in_postgres"] == {
        "count": 50,
        "at_least": True,
        "examples": ["EX00001", "EX00002", "EX00003"],
    }
    for text in (md, html):
        assert (
            "checksums of examinations: 1,234 mismatching row(s); missing in PostgreSQL: at least 50 keys, e.g. "
            "EX00001, EX00002, EX00003; differing: 3 keys: EX00001, EX00002, EX00003; fields status"
        ) in text
        assert (
            "keys of postgres analysis_tasks: 2 row(s) with a NULL task_id; duplicated 1,234 keys, e.g. T0 x2, "
            "T1 x2, T2 x2"
        ) in text
        assert "50 items, e.g. EX00001, EX00002, EX00003" in text  # the verify's error and the phase's message
        assert (
            "tasks-check.json: FAILED on legacy: 5,000 live and 800 deleted tasks checked; missing: 1,234 tasks, "
            "e.g. task-0000: 404, task-0001: 404, task-0002: 404; back after deletion: none"
        ) in text
    for text in (md, html, json.dumps(report)):
        assert "EX00004" not in text and "T3 x2" not in text and "task-0003" not in text
    assert report["final_state"]["failed_task_checks"] == ["tasks-check.json"]
    assert "Rows verified: not measured (the verify stopped at a failing gate); time: 2.5 s" in html
