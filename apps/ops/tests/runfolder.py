"""Run folders for the report tests, written as the playbooks and the callback write them: phases.json (one
record per play, as radiology_phases records it), run.json, state-end.json, verify.json and a load folder whose
summary.json comes from real request records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from radiology_ops.phases import PHASES_JSON
from radiology_ops.stats import RequestRecord, summarize, write_csv_header

T0 = 1_795_957_200.0  # 2026-11-29T13:00:00Z
RUN_ID = "cutover-20261129T130000Z"


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def failure(host: str, task: str, message: str) -> dict[str, str]:
    return {"host": host, "task": task, "message": message}


def write_phases(run_dir: Path, playbook: str, steps: list[tuple], *, ended: bool = True, failed: bool = False) -> None:
    """steps: (phase, hosts, duration in seconds[, status[, failures]]), one after the other from T0 + 1 s.
    An empty host list is a play that ended on every host before running a task (the report: skipped)."""
    records: list[dict[str, Any]] = [{"phase": f"playbook {playbook}", "started": iso(T0), "ended": None}]
    t = T0 + 1
    for step in steps:
        name, hosts, duration = step[:3]
        status = step[3] if len(step) > 3 else "ok"
        record = {
            "phase": name,
            "title": f"Phase {name}: …",
            "hosts": hosts,
            "started": iso(t),
            "ended": None if status == "running" else iso(t + duration),
            "status": status,
            "detail": {},
        }
        if len(step) > 4:
            record["failures"] = step[4]
        records.append(record)
        t += duration
    if ended:
        records[0].update(ended=iso(t + 0.1), status="failed" if failed else "ok")
    else:
        records[0]["status"] = "running"
    write_json(run_dir / PHASES_JSON, records)


ALL = ["legacy1", "app1", "app2", "web1", "db1"]
CUTOVER_START = [
    ("preflight", ALL, 2.0),
    ("preflight", ["legacy1", "app1", "app2"], 0.5),
    ("preflight", ["db1"], 1.5),
]
ROLLBACK_NOOP = [  # rollback.yml's plays inside a cutover that asked for no rollback
    ("rollback-preflight", ALL, 0.8),
    ("rollback-freeze", [], 0.1),
    ("carry-back", [], 0.1),
    ("rollback-verify", [], 0.1),
    ("rollback-verify", [], 0.1),
    ("rollback-switch", [], 0.1),
    ("rollback-unfreeze", [], 0.1),
    ("rollback-watch", [], 0.1),
]
ROLLBACK_DONE = [
    ("rollback-preflight", ALL, 0.8),
    ("rollback-freeze", ["app1", "app2"], 0.6),
    ("carry-back", ["app1"], 1.2),
    ("rollback-verify", ["legacy1"], 1.0),
    ("rollback-verify", ["app1"], 0.9),
    ("rollback-switch", ["web1"], 0.4),
    ("rollback-unfreeze", ["legacy1"], 0.3),
    ("rollback-watch", ["localhost"], 5.0),
]


STAGE = [  # stage 1 of a two-stage cutover, before the freeze: the live snapshot, then its load, verify and API diff
    ("stage", ["legacy1", "app1", "app2"], 2.0),
    ("stage", ["app1"], 8.0),
]


def cutover_steps(
    *, watch: str = "ok", rollback: list[tuple] | None = None, done: str = "ok", stage: list[tuple] = ()
) -> list[tuple]:
    """A whole cutover: [stage plays,] freeze 1.0 s, migrate, gates, switch 0.4 s, unfreeze 0.5 s, watch, rollback
    plays, done."""
    watch_step: tuple = ("watch", ["localhost"], 30.0)
    if watch != "ok":
        watch_step = (*watch_step, "failed", [failure("localhost", "Poll the release", "post-switch watch: 5xx")])
    done_step: tuple = ("done", ALL, 0.5)
    if done != "ok":
        done_step = (*done_step, done, [failure("localhost", "Fail with the reason", "the run did not end well")])
    return [
        *CUTOVER_START,
        *stage,
        ("freeze", ["legacy1", "app1", "app2"], 1.0),
        ("migrate", ["legacy1"], 3.0),
        ("migrate", ["app1"], 6.0),
        ("gates", ["app1"], 4.0),
        ("switch", ["web1"], 0.4),
        ("unfreeze", ["app1", "app2"], 0.5),
        watch_step,
        *(ROLLBACK_NOOP if rollback is None else rollback),
        done_step,
    ]


def write_run(run_dir: Path, playbook: str = "cutover", backup_json: bool = True, **changes: Any) -> dict[str, Any]:
    """run.json; with the backup it names, the backup.json a cutover's preflight leaves (a dump of db1)."""
    run = {
        "playbook": playbook,
        "run_id": RUN_ID if playbook == "cutover" else RUN_ID.replace("cutover", "rollback"),
        "operator": "alice@ctl01",
        "change_id": "CHG-123",
        "started": iso(T0),
        "check_mode": False,
        "artifact_id": "1.0.0-5e6e7e04",
        "releases": {"legacy": "1.0.0-5e6e7e04-legacy", "imaging": "1.0.0-5e6e7e04-imaging"},
        "backup": f"db1:/var/backups/radiology/imaging-{RUN_ID}.dump",
        "load": None,
        "lock_taken_over_from": None,
        **changes,
    }
    write_json(run_dir / "run.json", run)
    if backup_json and run["backup"]:
        write_json(run_dir / "backup.json", {"host": "db1", "pgbackrest": None, "dump": run["backup"].split(":", 1)[1]})
    return run


def write_state_end(
    run_dir: Path,
    serving: str,
    *,
    legacy_frozen: bool = False,
    imaging_frozen: bool = False,
    lock: dict[str, Any] | None = None,
    unreachable: tuple[str, ...] = (),
) -> None:
    def writes(hosts: list[str], frozen: bool) -> dict[str, Any]:
        return {
            h: {"reachable": False, "writes_frozen": None}
            if h in unreachable
            else {"reachable": True, "writes_frozen": frozen}
            for h in hosts
        }

    backend = serving if serving in ("legacy", "imaging") else "imaging"
    write_json(
        run_dir / "state-end.json",
        {
            "read_at": "2026-11-29T13:05:00Z",
            "serving": serving,
            "problems": [],
            "web": {"web1": {"backend": backend, "release": f"1.0.0-5e6e7e04-{backend}"}},
            "writes": {
                "legacy": writes(["legacy1"], legacy_frozen),
                "imaging": writes(["app1", "app2"], imaging_frozen),
            },
            "lock": lock,
        },
    )


def this_runs_lock() -> dict[str, Any]:
    return {"run_id": RUN_ID, "operator": "alice@ctl01", "started": iso(T0), "playbook": "cutover", "token": "t0k"}


def write_load(run_dir: Path, folder: str = "load", seconds: int = 40, failed_at: tuple[int, ...] = ()) -> dict:
    """A load's summary.json from real request records: 20 requests a second, some failed, a few frozen."""
    records = []
    for second in range(seconds):
        for n in range(20):
            outcome = "failed" if second in failed_at and n == 0 else "frozen" if 10 <= second < 12 and n < 3 else "ok"
            backend = "legacy" if second < 15 else "imaging"
            status = {"ok": 200, "failed": 500, "frozen": 503}[outcome]
            records.append(RequestRecord(second + n / 20, "GET", "/studies/search", status, 20 + n, backend, outcome))
    summary = summarize(
        records,
        [],
        started_at=iso(T0 + 2),
        started_epoch=T0 + 2,
        duration_s=float(seconds),
        stopped_by="duration",
        config={"users": 100, "write_ratio": 0.1, "web": "http://web1"},
        writes={"attempted": 0, "created": 0, "deleted": 0, "failed": 0, "abandoned": 0},
    ).as_dict()
    write_json(run_dir / folder / "summary.json", summary)
    with (run_dir / folder / "requests.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = write_csv_header(stream)
        writer.writerows(r.row() for r in records)
    return summary
