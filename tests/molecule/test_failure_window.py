"""The end-to-end scenario's failure evidence: the window of failed requests and the nginx log lines inside it."""

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("failure_window", ROOT / "molecule/cutover/files/failure_window.py")
assert _spec and _spec.loader
failure_window = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(failure_window)

STARTED = datetime(2026, 11, 29, 8, 20, tzinfo=UTC).timestamp()


def _load(tmp_path: Path, rows: list[tuple[float, str]]) -> Path:
    (tmp_path / "summary.json").write_text(json.dumps({"started_epoch": STARTED}))
    lines = ["t,method,endpoint,status,latency_ms,backend,outcome"]
    lines += [f"{t:.3f},POST,/analysis/tasks,{502 if o == 'failed' else 201},5.0,imaging,{o}" for t, o in rows]
    (tmp_path / "requests.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_window_spans_first_to_last_failure_with_padding(tmp_path):
    load = _load(tmp_path, [(1.0, "ok"), (40.46, "failed"), (40.75, "failed"), (90.0, "ok")])
    window = failure_window.failure_window(load, pad=5)
    assert window["failed"] == 2
    assert window["since"] == int(STARTED + 35.46)
    assert window["until"] == int(STARTED + 45.75) + 1
    assert window["since_utc"] == "2026-11-29T08:20:35Z"
    assert (window["first_epoch"], window["last_epoch"]) == (round(STARTED + 40.46, 3), round(STARTED + 40.75, 3))


def test_no_failure_no_window(tmp_path):
    assert failure_window.failure_window(_load(tmp_path, [(1.0, "ok"), (2.0, "frozen")]), pad=5) == {"failed": 0}


def test_cut_keeps_error_and_access_log_lines_of_the_window(tmp_path):
    log = tmp_path / "nginx.log"
    log.write_text(
        "2026/11/29 08:20:30 [warn] 1#1: before\n"
        "2026/11/29 08:20:40 [error] 1#1: *7 no live upstreams while connecting to upstream\n"
        "  a continuation line of the one before\n"
        '10.0.0.5 - - [29/Nov/2026:08:20:41 +0000] "POST /imaging/api/v1/analysis/tasks HTTP/1.1" 502 157\n'
        '10.0.0.5 - - [29/Nov/2026:09:20:41 +0100] "GET /imaging/api/v1/health HTTP/1.1" 200 20\n'
        "2026/11/29 08:21:00 [warn] 1#1: after\n"
    )
    out = tmp_path / "cut.log"
    kept = failure_window.cut(log, out, since=STARTED + 35, until=STARTED + 45)
    assert kept == 4
    text = out.read_text()
    assert "no live upstreams" in text and "continuation" in text and "+0100" in text
    assert "before" not in text.replace("the one before", "") and "after" not in text
