"""The post-switch watch against the real legacy service behind the real test web server."""

from __future__ import annotations

import json

from conftest import Legacy, Web, dead_url
from radiology_ops.cli import main
from radiology_ops.load import LoadConfig, run_load
from radiology_ops.watch import WatchConfig, run_watch


def test_watch_passes_on_the_expected_healthy_backend(web: Web, tmp_path, capsys):
    out = tmp_path / "watch.json"
    code = main(
        [
            "watch",
            "--web",
            web.url,
            "--expect-backend",
            "legacy",
            "--duration",
            "1.5",
            "--interval",
            "0.2",
            "--json",
            str(out),
        ]
    )
    result = json.loads(out.read_text())
    assert code == 0, result
    assert result["ok"] and result["verdict"] == "passed" and result["reason"] is None
    assert result["polls"] >= 5 and result["requests"] == 3 * result["polls"]
    assert result["failed_requests"] == 0 and result["backends_seen"] == {"legacy": 2 * result["polls"]}
    assert result["build_ids_seen"] == ["legacy-1"]
    assert "PASSED: watch" in capsys.readouterr().out


def test_watch_fails_at_once_on_the_wrong_backend_with_evidence(web: Web, tmp_path):
    out = tmp_path / "watch.json"
    code = main(["watch", "--web", web.url, "--expect-backend", "imaging", "--duration", "10", "--json", str(out)])
    result = json.loads(out.read_text())
    assert code == 1
    assert result["reason"].startswith("wrong backend")
    assert result["polls"] == 1  # no need to wait out the window
    evidence = result["first_failure"]
    assert evidence["check"] == "health" and evidence["status"] == 200 and evidence["backend"] == "legacy"
    assert evidence["url"] == web.url + "/legacy/api/v1/health" and '"backend":"legacy"' in evidence["body"]


def test_watch_fails_on_a_stopped_server_after_consecutive_failures(tmp_path):
    result = run_watch(
        WatchConfig(web=dead_url(), expect_backend="imaging", duration=10, interval=0.1, max_consecutive_failures=2)
    )
    assert not result.ok
    assert result.reason.startswith("3 consecutive failed polls (limit 2)")
    assert "ConnectError" in result.reason
    assert result.first_failure.check == "build_info" and result.first_failure.status == 0
    assert len(result.polls) == 3


def test_watch_fails_on_the_error_rate_of_the_window(web: Web, tmp_path):
    web.build_info = {"api_base": "/nowhere/api/v1", "build_id": "broken"}  # the web server answers 404 HTML
    result = run_watch(
        WatchConfig(web=web.url, expect_backend="legacy", duration=1.0, interval=0.2, max_consecutive_failures=100)
    )
    assert not result.ok
    assert result.reason.startswith("error rate")
    assert result.first_failure.status == 404 and "X-Backend" in result.first_failure.reason


def test_watch_fails_on_the_load_error_rate(legacy: Legacy, tmp_path):
    load_dir = tmp_path / "load"
    run_load(LoadConfig(web=dead_url(), out=load_dir, api_base="/api/v1", users=2, duration=0.5, think_time=0.1))
    result = run_watch(
        WatchConfig(
            web=legacy.url,
            api_base="/api/v1",
            expect_backend="legacy",
            duration=0.3,
            interval=0.1,
            load_summary=load_dir,
        )
    )
    assert not result.ok
    assert result.reason.startswith("load error rate 100.00%")
    assert result.load["failed"] == result.load["requests"] > 0 and result.load["complete"]
