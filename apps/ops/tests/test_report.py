"""The cutover report from run folders: a complete one (real load and watch outputs), partial and empty ones."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from conftest import Legacy
from radiology_ops.cli import main
from radiology_ops.load import LoadConfig, run_load
from radiology_ops.phases import PHASES_JSON
from radiology_ops.report import build_report
from radiology_ops.watch import WatchConfig, run_watch


def append_phase(run_dir, record):
    """Append one phase record to <run_dir>/phases.json the way the radiology_phases callback records a play."""
    path = run_dir / PHASES_JSON
    phases = json.loads(path.read_text()) if path.exists() else []
    phases.append({"ended": None, "status": "ok", "detail": {}, **record})
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(phases, indent=2) + "\n")


VERIFY = {
    "command": "verify",
    "ok": True,
    "check_mode": False,
    "error": None,
    "rows_verified": 2042,
    "seconds": 0.16,
    "gates": [
        {
            "gate": "counts",
            "ok": True,
            "snapshot": {"examinations": 1250, "reports": 786, "analysis_tasks": 6},
            "postgres": {"examinations": 1250, "reports": 786, "analysis_tasks": 6},
            "mismatched": {},
        },
        {
            "gate": "keys",
            "ok": True,
            "problems": [],
            "proof": {
                "snapshot": {"examinations": "PRIMARY KEY (exam_id)"},
                "postgres": {"examinations": "scan"},
            },
        },
        {
            "gate": "checksums",
            "ok": True,
            "tables": {
                "examinations": {
                    "rows": 1250,
                    "ok": True,
                    "aggregate": {"snapshot": "1250:26365d77e762c226a1", "postgres": "1250:26365d77e762c226a1"},
                }
            },
        },
    ],
}
API_DIFF = {
    "command": "api-diff",
    "ok": False,
    "error": "1 difference(s)",
    "requests": 188,
    "write_steps": 9,
    "difference_count": 1,
    "legacy_status_counts": {"200": 149},
    "differences": [
        {
            "request": "DELETE /api/v1/analysis/tasks/{created task}",
            "path": "header content-type",
            "kind": "header",
            "legacy": None,
            "new": "text/html",
        }
    ],
}


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def full_run(legacy: Legacy, tmp_path_factory) -> dict:
    run = tmp_path_factory.mktemp("run")
    summary = run_load(
        LoadConfig(
            web=legacy.url,
            out=run / "load",
            api_base="/api/v1",
            users=10,
            duration=2.5,
            think_time=0.1,
            write_ratio=0.2,
        )
    )
    watch = run_watch(
        WatchConfig(web=legacy.url, api_base="/api/v1", expect_backend="legacy", duration=0.5, interval=0.1)
    )
    (run / "watch.json").write_text(json.dumps(watch.as_dict()))
    (run / "verify.json").write_text(json.dumps(VERIFY))
    (run / "api-diff.json").write_text(json.dumps(API_DIFF))
    t0 = summary.started_epoch
    append_phase(run, {"phase": "playbook cutover", "started": _iso(t0 - 2), "ended": _iso(t0 + 3)})
    append_phase(run, {"phase": "freeze", "hosts": ["legacy1"], "started": _iso(t0 - 2), "ended": _iso(t0 - 1)})
    append_phase(
        run,
        {"phase": "migrate", "host": "db1", "started": _iso(t0 - 1), "ended": _iso(t0 + 0.5), "detail": {"rows": 2042}},
    )
    append_phase(run, {"phase": "switch", "host": "web1", "started": _iso(t0 + 1), "ended": _iso(t0 + 1.2)})
    append_phase(
        run,
        {
            "phase": "watch",
            "host": "web1",
            "started": _iso(t0 + 1.2),
            "ended": _iso(t0 + 3),
            "status": "failed",
            "failures": [{"host": "web1", "task": "watch", "message": "5xx"}],
        },
    )
    append_phase(run, {"phase": "rollback", "host": "web1", "started": _iso(t0 + 2), "ended": _iso(t0 + 2.4)})
    paths = build_report(run)
    return {"run": run, "paths": paths, "summary": summary}


def test_report_json_has_every_piece(full_run):
    report = json.loads(full_run["paths"]["report.json"].read_text())
    assert report["missing"] == [
        "run.json",
        "state-end.json",
        "verify-rollback.json",
        "verify-rollback-history.json",
        "watch-rollback.json",
    ]
    assert report["problems"] == []
    durations = {p["phase"]: p["duration_s"] for p in report["phases"]}
    assert durations["migrate"] == pytest.approx(1.5, abs=0.01) and durations["switch"] == pytest.approx(0.2, abs=0.01)
    assert [p["hosts"] for p in report["phases"]][1:3] == [["legacy1"], ["db1"]]
    assert {m["phase"]: m["kind"] for m in report["markers"]}["rollback"] == "rollback"
    assert [m["phase"] for m in report["markers"]] == ["freeze", "migrate", "switch", "watch", "rollback"]
    gates = {g["file"]: g for g in report["gates"]}
    assert gates["verify.json"]["ok"] is True and gates["api-diff.json"]["ok"] is False
    assert gates["verify.json"]["summary"]["counts"]["target"]["examinations"] == 1250
    assert gates["verify.json"]["summary"]["keys_proof"]["postgres"] == {"examinations": "scan"}
    load = report["loads"][0]
    assert load["requests"] == full_run["summary"].requests and load["tasks"]["created"] > 0
    assert sum(p["count"] for p in report["series"]) == load["requests"]
    assert report["series"][0]["t"] == pytest.approx(2.0, abs=0.01)  # the load began 2 s after the first phase
    final = report["final_state"]
    assert final["verdict"] == "failed" and final["failed_phases"] == ["watch"]
    assert final["failed_gates"] == ["api-diff.json"] and final["rolled_back"] is True
    # no state-end.json: where users are is not guessed from the load or the watch
    assert final["serving_backend"] is None and final["users"]["text"].startswith("not read at the end of the run")
    assert final["failed_requests"] == load["failed"] and final["requests_under_load"] == load["requests"]


def test_report_md_names_phases_gates_and_load_figures(full_run):
    md = full_run["paths"]["report.md"].read_text()
    for text in (
        "**Verdict: FAILED**",
        "| migrate | db1 |",
        "1.5 s",
        "1250:26365d77e762c226a1",
        "1 difference(s)",
        f"requests {full_run['summary'].requests:,}",
        "failed on web1",
        "## Post-switch watch",
    ):
        assert text in md, text


def test_report_html_is_self_contained_with_a_plot(full_run):
    html = full_run["paths"]["report.html"].read_text()
    assert "<svg" in html and "<polyline" in html and ">rollback</text>" in html and ">switch</text>" in html
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)=["']?https?:""", html)
    assert "<style>" in html


def test_rollback_plays_that_ran_nothing_are_skipped_not_a_rollback(tmp_path):
    # After a successful cutover, rollback.yml's plays run as no-ops: only the state read has hosts.
    t0 = 1_790_000_000.0
    steps = [("switch", ["web1"]), ("watch", ["localhost"]), ("rollback-preflight", ["web1", "app1"])]
    steps += [("rollback-freeze", []), ("rollback-switch", []), ("done", ["localhost"])]
    for i, (phase, hosts) in enumerate(steps):
        append_phase(tmp_path, {"phase": phase, "hosts": hosts, "started": _iso(t0 + i), "ended": _iso(t0 + i + 0.5)})
    report = json.loads(build_report(tmp_path)["report.json"].read_text())
    status = {p["phase"]: p["status"] for p in report["phases"]}
    assert status["rollback-switch"] == "skipped" and status["rollback-preflight"] == "ok" and status["switch"] == "ok"
    assert report["final_state"]["rolled_back"] is False
    assert "rollback-switch" not in [m["phase"] for m in report["markers"]]
    append_phase(
        tmp_path, {"phase": "rollback-switch", "hosts": ["web1"], "started": _iso(t0 + 9), "ended": _iso(t0 + 9.2)}
    )
    assert json.loads(build_report(tmp_path)["report.json"].read_text())["final_state"]["rolled_back"] is True


def test_report_of_a_folder_with_missing_pieces(tmp_path, capsys):
    (tmp_path / "load").mkdir()
    (tmp_path / "load" / "requests.csv").write_text(
        "t,method,endpoint,status,latency_ms,backend,outcome\n0.1,GET,/statistics,200,12.0,legacy,ok\n"
        "0.5,GET,/statistics,500,40.0,legacy,failed\n1.2,GET,/stat"  # a run still writing: last line cut
    )
    append_phase(tmp_path, {"phase": "freeze", "host": "legacy1", "started": _iso(0), "status": "running"})
    assert main(["report", "--run-dir", str(tmp_path)]) == 0
    assert main(["report", "--run-dir", str(tmp_path), "--strict"]) == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["missing"] == [
        "run.json",
        "state-end.json",
        "verify.json",
        "api-diff.json",
        "load/summary.json",
        "watch.json",
    ]
    assert report["loads"][0]["requests"] == 2 and report["loads"][0]["failed"] == 1
    assert report["final_state"]["unfinished_phases"] == ["freeze"]
    assert "load/: summary.json missing" in report["problems"][0]
    for name in ("report.md", "report.html"):
        assert "not found" in (tmp_path / name).read_text()
    out = capsys.readouterr().out
    assert "missing: run.json, state-end.json, verify.json" in out
    assert "serving backend: not read at the end of the run — run `make status`" in out


def test_report_of_an_empty_folder_and_a_missing_one(tmp_path, capsys):
    paths = build_report(tmp_path)
    report = json.loads(paths["report.json"].read_text())
    assert report["phases"] == [] and len(report["missing"]) == 7 and report["total_seconds"] is None
    assert "no load data" in paths["report.html"].read_text()
    md = paths["report.md"].read_text()
    for text in (
        "total time not measured (no timestamps in the run folder)",
        "failed requests under load: not measured (no load results in this run folder)",
        "Write freeze for users: not measured (no phases.json)",
        "Run: not recorded (no run.json)",
        "**Verdict: UNKNOWN (no phases.json: what the run did was not recorded)**",
        "Rolled back: not known (no phase record)",
    ):
        assert text in md, text
    assert report["final_state"]["verdict"] == "unknown"
    assert main(["report", "--run-dir", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
