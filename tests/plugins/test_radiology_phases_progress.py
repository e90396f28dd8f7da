"""The radiology_phases callback appends the progress that follow tasks print to <run dir>/progress.log, once."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("radiology_phases", ROOT / "plugins/callback/radiology_phases.py")
assert _spec and _spec.loader
phases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(phases)

HOST_FILE = "/var/lib/radiology/migration/cutover-x.load.progress.log"
LINES = [
    "2026-11-29T13:05:01Z load started (pid 42)",
    "2026-11-29T13:05:01Z load examinations 0/1000000 rows",
    "2026-11-29T13:05:03Z load examinations 250000/1000000 rows 41,200 rows/s",
    "2026-11-29T13:05:25Z load examinations 1000000/1000000 rows 41,150 rows/s in 24.3s",
    "2026-11-29T13:05:41Z load done 1000000 rows in 40.2s",
]


class Host:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_name(self) -> str:
        return self.name


def look(
    host: str, lines: list[str], status: str = "job: running", *, partial: str = "", uuid: str = "t1", **extra
) -> SimpleNamespace:
    """A follow task's result, shaped like the output of the task in playbooks/tasks/follow_progress.yml."""
    content = "".join(line + "\n" for line in lines) + partial
    result = {
        "stdout": content + "\n" + status,
        "cmd": ["/bin/sh", "-c", "...", "radiology-follow-progress", HOST_FILE, "/root/.ansible_async/j1"],
        **extra,
    }
    task = SimpleNamespace(register="radiology_follow_progress", _uuid=uuid, get_name=lambda: "Follow progress: load")
    return SimpleNamespace(_host=Host(host), _task=task, _result=result)


@pytest.fixture
def callback(tmp_path: Path):
    module = phases.CallbackModule()
    module.run_dir = tmp_path
    return module


def progress_log(tmp_path: Path) -> list[str]:
    return (tmp_path / "progress.log").read_text().splitlines()


def test_each_line_is_appended_once_as_it_arrives_prefixed_with_the_host(callback, tmp_path: Path) -> None:
    callback.v2_runner_retry(look("app1", []))  # the file does not exist yet
    assert not (tmp_path / "progress.log").exists()
    callback.v2_runner_retry(look("app1", LINES[:2]))
    assert progress_log(tmp_path) == ["app1 " + line for line in LINES[:2]]
    callback.v2_runner_retry(look("app1", LINES[:2]))  # nothing new
    callback.v2_runner_retry(look("app1", LINES[:3], partial="2026-11-29T13:05:25Z load exam"))
    assert progress_log(tmp_path) == ["app1 " + line for line in LINES[:3]]  # not the line still being written
    callback.v2_runner_on_ok(look("app1", LINES, "job: ended"))
    assert progress_log(tmp_path) == ["app1 " + line for line in LINES]


def test_hosts_and_follow_tasks_are_counted_apart(callback, tmp_path: Path) -> None:
    callback.v2_runner_retry(look("app1", LINES[:2]))
    callback.v2_runner_retry(look("legacy1", LINES[:1]))
    callback.v2_runner_retry(look("app1", LINES[:2], uuid="t2"))  # the same file followed again by another task
    assert progress_log(tmp_path) == [
        "app1 " + LINES[0],
        "app1 " + LINES[1],
        "legacy1 " + LINES[0],
        "app1 " + LINES[0],
        "app1 " + LINES[1],
    ]


def test_a_command_that_ended_without_its_last_line_is_said(callback, tmp_path: Path) -> None:
    callback.v2_runner_on_ok(look("app1", LINES[:2], "job: ended"))
    last = progress_log(tmp_path)[-1]
    assert last.startswith("app1 ") and "ended without its last progress line" in last


def test_giving_up_is_said(callback, tmp_path: Path) -> None:
    callback.v2_runner_on_failed(look("app1", LINES[:2], failed=True, attempts=1443))
    assert progress_log(tmp_path)[:2] == ["app1 " + line for line in LINES[:2]]
    assert f"stopped following {HOST_FILE} after 1443 looks" in progress_log(tmp_path)[-1]


def test_other_tasks_and_runs_without_a_run_dir_write_nothing(callback, tmp_path: Path) -> None:
    other = look("app1", LINES)
    other._task.register = "radiology_load"
    callback.v2_runner_on_ok(other)
    quiet = phases.CallbackModule()  # no run dir: not a recorded run
    quiet.v2_runner_on_ok(look("app1", LINES, "job: ended"))
    assert not (tmp_path / "progress.log").exists()


def test_progress_lines_reads_the_follow_output() -> None:
    assert phases.progress_lines("\njob: running") == ([], "job: running")
    assert phases.progress_lines("a\nb\n\njob: ended") == (["a", "b"], "job: ended")
    assert phases.progress_lines("a\nb-partial\njob: running") == (["a"], "job: running")
    assert phases.progress_lines("not a follow output") == ([], None)
    assert phases.FINAL_LINE.match(LINES[-1]) and not phases.FINAL_LINE.match(LINES[2])
    assert phases.FINAL_LINE.match("2026-11-29T13:05:41Z verify failed: row counts differ")


def waited(host: str, stderr: str, **extra) -> SimpleNamespace:
    """The result of a step run in the foreground (radiology_follow_wait): its progress lines are on its stderr."""
    task = SimpleNamespace(register="radiology_follow_waited", _uuid="w1", get_name=lambda: "Run in the foreground")
    return SimpleNamespace(_host=Host(host), _task=task, _result={"stderr": stderr, "stdout": "{}", **extra})


def test_a_step_waited_for_gives_its_progress_lines_when_it_ends(callback, tmp_path: Path) -> None:
    stderr = "\n".join([LINES[0], "a warning that is not progress", *LINES[1:]])
    callback.v2_runner_on_ok(waited("legacy1", stderr))
    assert progress_log(tmp_path) == ["legacy1 " + line for line in LINES]


def test_a_step_waited_for_without_its_last_line_is_said_and_a_skipped_one_writes_nothing(callback, tmp_path) -> None:
    callback.v2_runner_on_ok(waited("legacy1", "", skipped=True))
    assert not (tmp_path / "progress.log").exists()
    callback.v2_runner_on_failed(waited("legacy1", "\n".join(LINES[:2]), failed=True, rc=-9))
    assert progress_log(tmp_path)[:2] == ["legacy1 " + line for line in LINES[:2]]
    assert "ended without its last progress line" in progress_log(tmp_path)[-1]


def test_a_step_waited_for_stopped_by_the_task_timeout_is_said_with_the_reason(callback, tmp_path) -> None:
    # What Ansible registers when the task's `timeout` stops the command: no stdout, no stderr, a message.
    stopped = waited("legacy1", "", failed=True, msg="Task failed: Timed out after 7200 second(s).")
    del stopped._result["stderr"], stopped._result["stdout"]
    callback.v2_runner_on_failed(stopped)
    (line,) = progress_log(tmp_path)
    assert line.startswith("legacy1 ") and phases.NO_LAST_LINE in line
    assert line.endswith("(Task failed: Timed out after 7200 second(s).)")
    callback.v2_runner_on_ok(waited("legacy1", "", skipped=True))
    del stopped._result["failed"]
    callback.v2_runner_on_ok(stopped)
    assert len(progress_log(tmp_path)) == 1, "neither a skipped nor a returned result without stderr adds a line"
