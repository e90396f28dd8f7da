"""playbooks/tasks/follow_progress.yml for real on localhost: a long step runs in the background, its progress lands
in <run dir>/progress.log while it runs (through the radiology_phases callback), its result is collected as before."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from radiology_contract import synthetic

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FOLLOW = str(ROOT / "playbooks" / "tasks" / "follow_progress.yml")


def play(tasks: list[dict]) -> list[dict]:
    return [{"name": "Follow", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]


def follow(step: str, argv: list[str], host_file: Path, **more) -> dict:
    return {
        "name": f"Run {step}",
        "ansible.builtin.import_tasks": FOLLOW,
        "vars": {
            "radiology_follow_step": step,
            "radiology_follow_argv": argv,
            "radiology_follow_file": str(host_file),
            "radiology_follow_read_only": False,
            "radiology_follow_delay": 1,
            **more,
        },
    }


def snapshot_kept(argv: list[str], host_file: Path, **more) -> list[dict]:
    """The snapshot followed (or waited for), its result kept by the caller and checked as the command's own."""
    return [
        follow("snapshot", argv, host_file, **more),
        {"name": "Keep it", "ansible.builtin.set_fact": {"radiology_snapshot": "{{ radiology_follow_result }}"}},
        {
            "name": "The result reads as the command's did",
            "ansible.builtin.assert": {
                "that": [
                    "radiology_snapshot.rc == 0",
                    "(radiology_snapshot.stdout | from_json).ok",
                    "radiology_snapshot is changed",
                ]
            },
        },
    ]


def run(tmp_path: Path, tasks: list[dict], *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    playbook = tmp_path / "follow.yml"
    playbook.write_text(yaml.safe_dump(play(tasks), sort_keys=False))
    env = {
        **os.environ,
        "RADIOLOGY_RUN_DIR": str(tmp_path / "run"),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_ASYNC_DIR": str(tmp_path / "async"),  # the jobs' status files stay in the test's folder
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }
    started = time.monotonic()
    proc = subprocess.run(
        [
            *(str(BIN / "ansible-playbook"), "-i", "localhost,", str(playbook)),
            *("-e", f"ansible_python_interpreter={sys.executable}", *extra),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc, time.monotonic() - started


def controller_log(tmp_path: Path) -> list[str]:
    path = tmp_path / "run" / "progress.log"
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture(scope="module")
def legacy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("legacy") / "medical_imaging.duckdb"
    synthetic.write_duckdb(path, rows=2000)
    return path


def test_a_snapshot_is_followed_and_its_result_kept_as_before(tmp_path: Path, legacy_db: Path) -> None:
    host_file = tmp_path / "host" / "cutover-x.snapshot.progress.log"
    host_file.parent.mkdir()
    host_file.write_text("2026-01-01T00:00:00Z snapshot done 1 rows in 0.1s\n")  # an earlier attempt's last line
    out = tmp_path / "host" / "cutover-x.duckdb"
    argv = [str(BIN / "radiology-migrate"), "snapshot", "--from-file", str(legacy_db), "--out", str(out), "--json"]
    tasks = snapshot_kept(argv, host_file)
    proc, _ = run(tmp_path, tasks)
    assert proc.returncode == 0, proc.stdout[-3000:]
    log = controller_log(tmp_path)
    assert re.fullmatch(r"localhost \S+ snapshot started \(pid \d+\)", log[0])  # not the earlier attempt's line
    assert re.fullmatch(r"localhost \S+ snapshot done [1-9]\d* rows in [\d.]+s", log[-1])
    assert len(log) == len(set(log)) and sum(" done " in line for line in log) == 1  # every line, each once
    # This attempt's own file is removed with the job's status file; the earlier attempt's is left as it was.
    left = sorted(p.name for p in host_file.parent.iterdir())
    assert left == ["cutover-x.duckdb", "cutover-x.duckdb.meta.json", host_file.name]
    assert host_file.read_text() == "2026-01-01T00:00:00Z snapshot done 1 rows in 0.1s\n"
    assert not list((tmp_path / "async").glob("*"))


def test_a_step_killed_without_its_last_line_ends_the_follow_at_once(tmp_path: Path) -> None:
    host_file = tmp_path / "cutover-x.load.progress.log"
    # Writes its first line, then dies as a SIGKILL would leave it: no last line. ($2 is the progress file.)
    argv = ["/bin/sh", "-c", 'echo "2026-11-29T13:05:01Z load started (pid $$)" >> "$2"; sleep 1; kill -9 $$', "sh"]
    tasks = [follow("load", argv, host_file, radiology_follow_timeout=600)]
    proc, seconds = run(tmp_path, tasks)
    assert proc.returncode != 0
    assert seconds < 60, "the follow must stop when the job ends, not wait for the timeout"
    assert re.search(r"fatal: \[localhost\]: FAILED! .*\"rc\": -9", proc.stdout), proc.stdout[-3000:]  # collected
    log = controller_log(tmp_path)
    assert log[0].startswith("localhost 2026-11-29T13:05:01Z load started")
    assert "ended without its last progress line" in log[-1]


def test_check_mode_skips_a_changing_step_and_runs_a_read_only_one(tmp_path: Path) -> None:
    write = 'echo "2026-11-29T13:05:01Z verify started" >> "$2"; echo "2026-11-29T13:05:02Z verify done" >> "$2"'
    argv = ["/bin/sh", "-c", write + "; echo '{\"ok\": true}'", "sh"]
    tasks = [
        follow("load", ["/bin/false"], tmp_path / "load.progress.log"),
        {"name": "Keep the load", "ansible.builtin.set_fact": {"radiology_load": "{{ radiology_follow_result }}"}},
        follow("verify", argv, tmp_path / "verify.progress.log", radiology_follow_read_only=True),
        {
            "name": "Skipped as a command is in check mode; the read-only step ran",
            "ansible.builtin.assert": {
                "that": [
                    "radiology_load is skipped",
                    "radiology_follow_result.rc == 0",
                    "radiology_follow_result is not changed",
                ]
            },
        },
    ]
    proc, _ = run(tmp_path, tasks, "--check")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not (tmp_path / "load.progress.log").exists()
    assert controller_log(tmp_path) == [
        "localhost 2026-11-29T13:05:01Z verify started",
        "localhost 2026-11-29T13:05:02Z verify done",
    ]


def test_a_step_waited_for_is_one_task_and_its_progress_still_reaches_the_run(tmp_path: Path, legacy_db: Path) -> None:
    host_file = tmp_path / "host" / "cutover-x.snapshot.progress.log"
    host_file.parent.mkdir()
    out = tmp_path / "host" / "cutover-x.duckdb"
    argv = [str(BIN / "radiology-migrate"), "snapshot", "--from-file", str(legacy_db), "--out", str(out), "--json"]
    tasks = snapshot_kept(argv, host_file, radiology_follow_wait=True)
    proc, _ = run(tmp_path, tasks)
    assert proc.returncode == 0, proc.stdout[-3000:]
    # One task on the host: the command. Then the result kept, and the caller's two tasks; the background job's
    # tasks (start, looks, collect, clean-up) are all skipped.
    assert len(re.findall(r"^changed: \[localhost\]", proc.stdout, flags=re.M)) == 1, proc.stdout[-3000:]
    assert len(re.findall(r"^ok: \[localhost\]", proc.stdout, flags=re.M)) == 3, proc.stdout[-3000:]
    assert len(re.findall(r"^skipping: \[localhost\]", proc.stdout, flags=re.M)) == 5, proc.stdout[-3000:]
    log = controller_log(tmp_path)
    assert re.fullmatch(r"localhost \S+ snapshot started \(pid \d+\)", log[0])
    assert re.fullmatch(r"localhost \S+ snapshot done [1-9]\d* rows in [\d.]+s", log[-1])
    assert len(log) == len(set(log)) and sum(" done " in line for line in log) == 1
    # No background job: no status file, no progress file on the host.
    assert sorted(p.name for p in host_file.parent.iterdir()) == ["cutover-x.duckdb", "cutover-x.duckdb.meta.json"]
    assert not (tmp_path / "async").exists() or not list((tmp_path / "async").glob("*"))


def test_a_step_waited_for_that_fails_is_judged_by_its_caller_or_fails_here(tmp_path: Path) -> None:
    argv = ["/bin/sh", "-c", 'echo "2026-11-29T13:05:01Z load started (pid $$)" >&2; echo warning >&2; exit 3', "sh"]
    judged = [
        follow("load", argv, tmp_path / "a.log", radiology_follow_wait=True, radiology_follow_fail_on_error=False),
        {"name": "Judged here", "ansible.builtin.assert": {"that": ["radiology_follow_result.rc == 3"]}},
    ]
    proc, _ = run(tmp_path, judged)
    assert proc.returncode == 0, proc.stdout[-3000:]
    log = controller_log(tmp_path)
    assert log[0] == "localhost 2026-11-29T13:05:01Z load started (pid " + log[0].split("(pid ")[1]
    assert "warning" not in "\n".join(log)  # only progress lines of its stderr
    assert "ended without its last progress line" in log[-1]
    proc, _ = run(tmp_path, [follow("load", argv, tmp_path / "b.progress.log", radiology_follow_wait=True)])
    assert proc.returncode != 0
    assert re.search(r"fatal: \[localhost\]: FAILED! .*\"rc\": 3", proc.stdout), proc.stdout[-3000:]


def test_check_mode_skips_a_changing_step_waited_for(tmp_path: Path) -> None:
    tasks = [
        follow("load", ["/bin/false"], tmp_path / "load.progress.log", radiology_follow_wait=True),
        {"name": "Skipped", "ansible.builtin.assert": {"that": ["radiology_follow_result is skipped"]}},
    ]
    proc, _ = run(tmp_path, tasks, "--check")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert controller_log(tmp_path) == []
