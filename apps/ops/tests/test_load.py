"""The load generator against the real legacy service, behind a real web server that serves build-info.json."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from conftest import Legacy, Web, dead_url
from radiology_ops.cli import main
from radiology_ops.load import LoadConfig, run_load
from radiology_ops.stats import RequestRecord, failures_seen


def _config(web: str, out, **kw) -> LoadConfig:
    base = {"users": 20, "duration": 4.0, "think_time": 0.1, "write_ratio": 0.2, "seed": 3}
    return LoadConfig(web=web, out=out, **{**base, **kw})


def test_load_through_build_info_is_clean_and_its_task_ledger_is_true(web: Web, legacy: Legacy, tmp_path):
    summary = run_load(_config(web.url, tmp_path))

    assert summary.failed == 0, summary.failures
    assert summary.requests > 100 and summary.ok == summary.requests
    assert summary.stopped_by == "duration"
    assert set(summary.per_backend) == {"legacy", "web"}  # API answers and build-info.json
    assert summary.latency_ms["p50"] <= summary.latency_ms["p95"] <= summary.latency_ms["p99"]
    rows = list(csv.DictReader((tmp_path / "requests.csv").open()))
    assert len(rows) == summary.requests
    assert {r["endpoint"] for r in rows} >= {"/build-info.json", "/studies/search", "/reports/search", "/statistics"}
    assert sum(s["count"] for s in summary.timeline) == summary.requests
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["requests"] == summary.requests and on_disk["failed"] == 0

    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert tasks["created"], "the load made no analysis task"
    assert {t["backend"] for t in tasks["created"]} == {"legacy"}
    assert all(t["api"] == web.url + "/legacy/api/v1" for t in tasks["created"])
    deleted = {t["task_id"] for t in tasks["deleted"]}
    with httpx.Client(base_url=legacy.api) as client:
        for task in tasks["created"]:
            status = client.get(f"/analysis/tasks/{task['task_id']}").status_code
            assert status == (404 if task["task_id"] in deleted else 200), task
    assert sorted(tasks["live"]) == sorted({t["task_id"] for t in tasks["created"]} - deleted)


def test_frozen_writes_are_retried_after_rereading_build_info_and_succeed_after_unfreeze(
    web: Web, unfrozen: Legacy, tmp_path
):
    unfrozen.freeze()

    def switch_and_unfreeze() -> None:  # like a release switch: build-info now names another API base
        web.build_info = {"api_base": unfrozen.api, "build_id": "direct-2", "built_at": "later"}
        unfrozen.unfreeze()

    timer = threading.Timer(2.0, switch_and_unfreeze)
    timer.start()
    try:
        summary = run_load(_config(web.url, tmp_path, duration=5.0, write_ratio=0.3))
    finally:
        timer.cancel()

    assert summary.failed == 0, summary.failures
    assert summary.frozen > 0
    rows = list(csv.DictReader((tmp_path / "requests.csv").open()))
    frozen = [r for r in rows if r["outcome"] == "frozen"]
    assert {r["status"] for r in frozen} == {"503"} and {r["method"] for r in frozen} <= {"POST", "DELETE"}
    first_frozen = min(float(r["t"]) for r in frozen)
    later_posts = [r for r in rows if r["method"] == "POST" and r["outcome"] == "ok" and float(r["t"]) > first_frozen]
    assert later_posts, "no write succeeded after the unfreeze"
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    # writes that waited out the freeze re-read build-info.json and landed on the new API base
    assert any(t["api"] == unfrozen.api for t in tasks["created"]), tasks["created"][:3]


def test_a_write_frozen_beyond_its_budget_is_a_failure(unfrozen: Legacy, tmp_path):
    unfrozen.freeze()
    summary = run_load(
        _config(
            unfrozen.url, tmp_path, api_base="/api/v1", users=5, duration=2.0, write_ratio=1.0, write_retry_budget=2.5
        )
    )
    assert summary.frozen > 0
    assert summary.failed >= 1
    assert all("retry budget" in f["reason"] for f in summary.failures)
    assert summary.writes["created"] == 0


def test_a_stopped_server_yields_failures_and_exit_code_1(tmp_path, capsys):
    code = main(
        [
            "load",
            "--web",
            dead_url(),
            "--api-base",
            "/api/v1",
            "--users",
            "5",
            "--duration",
            "1.5",
            "--think-time",
            "0.1",
            "--out",
            str(tmp_path),
        ]
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert code == 1
    assert summary["failed"] == summary["requests"] > 0
    assert all(f["reason"].startswith("ConnectError") for f in summary["failures"])
    assert "ConnectError" in capsys.readouterr().out


def test_max_requests_bounds_the_run(legacy: Legacy, tmp_path):
    summary = run_load(_config(legacy.url, tmp_path, api_base="/api/v1", duration=30.0, max_requests=60))
    assert summary.requests <= 60
    assert summary.stopped_by == "max_requests"
    assert summary.duration_s < 20


def test_refuses_a_public_target(tmp_path, capsys):
    code = main(["load", "--web", "http://8.8.8.8", "--duration", "1", "--out", str(tmp_path)])
    assert code == 2
    assert "8.8.8.8" in capsys.readouterr().err
    assert not (tmp_path / "requests.csv").exists()


def test_background_load_stops_on_sigterm_and_writes_results(legacy: Legacy, tmp_path):
    out = tmp_path / "load"
    cmd = [
        sys.executable,
        "-m",
        "radiology_ops",
        "load",
        "--web",
        legacy.url,
        "--api-base",
        "/api/v1",
        "--users",
        "10",
        "--duration",
        "60",
        "--think-time",
        "0.1",
        "--out",
        str(out),
        "--background",
    ]
    started = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=30)
    assert started.returncode == 0, started.stderr
    pid = int((out / "load.pid").read_text())
    time.sleep(1.5)
    stopped = subprocess.run(
        [sys.executable, "-m", "radiology_ops", "load-stop", "--out", str(out)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_by"] == "signal"
    assert summary["requests"] > 0 and summary["failed"] == 0
    assert summary["duration_s"] < 30
    assert not (out / "load.pid").exists()
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(") ", 1)[1].startswith("Z"), "the load is still running"


def test_failures_seen_span_the_first_to_the_last_failed_answer_at_its_arrival():
    records = [
        RequestRecord(1.0, "GET", "/health", 200, 5.0, "imaging", "ok"),
        RequestRecord(2.0, "POST", "/analysis/tasks", 502, 1500.0, "none", "failed"),  # seen at 3.5
        RequestRecord(3.0, "GET", "/studies/search", 502, 10.0, "none", "failed"),  # seen at 3.01: first
        RequestRecord(4.0, "GET", "/studies/search", 502, 4.0, "none", "recovered"),  # the user saw the retry
        RequestRecord(5.0, "GET", "/statistics", 503, 20.0, "legacy", "frozen"),
    ]
    assert failures_seen(records) == {"first_s": 3.01, "last_s": 3.5}
    assert failures_seen(records[:1]) is None


CHECK_TASKS = Path(__file__).resolve().parents[3] / "molecule" / "cutover" / "files" / "check_tasks.py"


def test_a_delete_applied_after_the_user_gave_up_is_unsure_not_live_nor_missing(web: Web, legacy: Legacy, tmp_path):
    web.delete_delay = 1.5  # the service deletes at once; its answer reaches nobody within the users' 1 s
    try:
        run_load(_config(web.url, tmp_path, users=4, duration=3.0, write_ratio=1.0, timeout=1.0))
    finally:
        web.delete_delay = 0.0
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    unsure = {d["task_id"] for d in tasks["delete_unsure"]}
    assert unsure, "no delete went unanswered"
    assert {d["status"] for d in tasks["delete_unsure"]} == {0}
    assert not unsure & set(tasks["live"]), "a task whose delete may have been applied is not promised live"
    assert not unsure & {d["task_id"] for d in tasks["deleted"]}
    with httpx.Client(base_url=legacy.api) as client:
        assert {client.get(f"/analysis/tasks/{t}").status_code for t in unsure} == {404}  # applied all the same

    args = [sys.executable, str(CHECK_TASKS), "--web", web.url, "--backend", "legacy", str(tmp_path / "tasks.json")]
    checked = subprocess.run(args, check=False, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = json.loads(checked.stdout)
    assert result["missing_count"] == 0 and result["ok"]
    assert result["delete_unsure_checked"] == result["delete_unsure_applied"] == len(unsure)
