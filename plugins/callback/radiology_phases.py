"""Records the phases of a cutover or rollback run and builds its report.

Every play whose name starts with "Phase " is a phase: its start, end, status, hosts and, on failure, the
failed task with its message are appended to <run dir>/phases.json as soon as the play ends, so an
interrupted run still leaves its record. When the playbook ends, radiology_ops builds report.json,
report.md and report.html in the same folder.

The run dir is RADIOLOGY_RUN_DIR when set; otherwise reports/<playbook>-<UTC time> next to the playbook.
The callback exports it as RADIOLOGY_RUN_DIR, so the playbooks' `lookup('env', 'RADIOLOGY_RUN_DIR')` and
the commands they start write their evidence (verify.json, api-diff.json, load/, watch.json) beside it.

Progress of the long steps on the hosts (snapshot, load, verify: playbooks/tasks/follow_progress.yml): a task that
registers radiology_follow_progress prints a host's progress file at every retry of its `until` loop. The new lines
of each look are appended, as they arrive, to <run dir>/progress.log, prefixed with the host, each line once (the
lines already appended are counted per host, file and task). A step run in the foreground (radiology_follow_wait: the
steps users wait on) writes its progress lines to its stderr; the task registers radiology_follow_waited, and its
lines are appended when it ends. The API diff writes there itself. Operators `tail -f` that file; Ansible's own
output is unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: radiology_phases
type: aggregate
short_description: records cutover phases and builds the cutover report
description:
  - Plays named "Phase ..." are recorded in RADIOLOGY_RUN_DIR/phases.json; the report is built at the end.
requirements:
  - radiology_ops (installed in the controller's virtualenv) for the report
"""

PHASE_PREFIX = "Phase "
RECORDED_PLAYBOOKS = ("cutover", "rollback")
PROGRESS_LOG = "progress.log"
# The mark of a task that follows a progress file (its `register`), the name ($0) its script runs under, followed on
# its argv by the file, and the last line of its output: whether the background job still runs.
FOLLOW_REGISTER = "radiology_follow_progress"
FOLLOW_SCRIPT = "radiology-follow-progress"
JOB_ENDED = "job: ended"
JOB_STATUSES = ("job: running", JOB_ENDED)
# The mark of a step run in the foreground: its progress lines are those of its stderr that read as progress lines.
WAITED_REGISTER = "radiology_follow_waited"
PROGRESS_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S+ ")
# The last line of a step, as radiology_migration.progress writes it: `<time> <step> done ...` or `... failed: ...`.
FINAL_LINE = re.compile(r"^\S+ \S+ (?:done(?: |$)|failed: )")
# What progress.log says of a command that ended without that line (followed or waited for).
NO_LAST_LINE = "the command ended without its last progress line (killed?): see its result"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def progress_lines(stdout: str) -> tuple[list[str], str | None]:
    """The complete lines of the progress file in a follow task's output, and the job's status (its last line).

    The task prints the file, an empty `echo`, then the status: when the file ended with a newline the line before
    the status is empty; otherwise the file's last line was still being written, and it is left for the next look.
    """
    lines = stdout.split("\n")
    if not lines or lines[-1] not in JOB_STATUSES:
        return [], None
    status, content = lines[-1], lines[:-1]
    content = content[:-1]  # the empty line of a complete file, or a line still being written
    return [line for line in content if line.strip()], status


def followed_file(cmd: Any) -> str:
    if isinstance(cmd, list) and FOLLOW_SCRIPT in cmd[:-1]:
        return str(cmd[cmd.index(FOLLOW_SCRIPT) + 1])
    return ""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "radiology_phases"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.run_dir: Path | None = None
        self.phase: dict[str, Any] | None = None
        self.phases: list[dict[str, Any]] = []
        self.followed: dict[tuple[str, str, str], int] = {}  # (host, file, task) -> progress lines appended

    # -- playbook and plays -------------------------------------------------------------------------
    def v2_playbook_on_start(self, playbook: Any) -> None:
        name = Path(playbook._file_name).stem
        configured = os.environ.get("RADIOLOGY_RUN_DIR")
        if not configured and name not in RECORDED_PLAYBOOKS:
            return
        if configured:
            self.run_dir = Path(configured)
        else:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            self.run_dir = Path(playbook._basedir) / "reports" / f"{name}-{stamp}"
        # It will hold snapshots and task rows (patient data): the operator's alone.
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.run_dir.chmod(0o700)
        os.environ["RADIOLOGY_RUN_DIR"] = str(self.run_dir.resolve())
        existing = self.run_dir / "phases.json"
        if existing.exists():  # a resumed or chained run (cutover then rollback) appends
            self.phases = json.loads(existing.read_text())
        self.phases.append({"phase": f"playbook {name}", "started": _now(), "ended": None, "status": "running"})
        self._flush()

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._close_phase()
        name = play.get_name().strip()
        if self.run_dir is None or not name.startswith(PHASE_PREFIX):
            return
        self.phase = {
            "phase": name[len(PHASE_PREFIX) :].split(":")[0].strip(),
            "title": name,
            "hosts": [],
            "started": _now(),
            "ended": None,
            "status": "running",
            "detail": {},
        }
        self.phases.append(self.phase)
        self._flush()

    # -- task results inside a phase ------------------------------------------------------------------
    def _host(self, result: Any) -> str:
        return result._host.get_name()

    def _seen(self, result: Any) -> None:
        if self.phase is not None and self._host(result) not in self.phase["hosts"]:
            self.phase["hosts"].append(self._host(result))

    def v2_runner_on_ok(self, result: Any) -> None:
        self._follow(result, last=True)
        self._seen(result)

    def v2_runner_retry(self, result: Any) -> None:
        self._follow(result, last=False)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._follow(result, last=True)
        self._seen(result)
        if self.phase is None or ignore_errors:
            return
        self.phase["status"] = "failed"
        self.phase.setdefault("failures", []).append(
            {
                "host": self._host(result),
                "task": result._task.get_name(),
                "message": str(result._result.get("msg") or result._result.get("stderr") or "")[:2000],
            }
        )
        self._flush()

    def v2_runner_on_unreachable(self, result: Any) -> None:
        if self.phase is None:
            return
        self.phase["status"] = "failed"
        self.phase.setdefault("failures", []).append(
            {"host": self._host(result), "task": result._task.get_name(), "message": "host unreachable"}
        )
        self._flush()

    def v2_playbook_on_stats(self, stats: Any) -> None:
        self._close_phase()
        if self.run_dir is None:
            return
        failed = any(stats.summarize(h)["failures"] or stats.summarize(h)["unreachable"] for h in stats.processed)
        for record in reversed(self.phases):
            if record["phase"].startswith("playbook ") and record["ended"] is None:
                record.update(ended=_now(), status="failed" if failed else "ok")
                break
        self._flush()
        try:
            from radiology_ops.report import build_report  # noqa: PLC0415 (optional: only the report needs it)
        except ImportError as e:
            self._display.warning(f"radiology_phases: report not built ({e}); phases are in {self.run_dir}")
            return
        try:
            paths = build_report(self.run_dir)
        except Exception as e:  # the run's outcome must not be masked by a report problem
            self._display.warning(f"radiology_phases: building the report failed: {e}")
            return
        self._display.display(f"Report: {paths}")

    # -- progress of the steps followed on the hosts ---------------------------------------------------
    def _follow(self, result: Any, last: bool) -> None:
        """Append the lines of a follow task's look at a host's progress file that were not appended yet."""
        if self.run_dir is not None and getattr(result._task, "register", None) == WAITED_REGISTER:
            self._waited(result)
            return
        if self.run_dir is None or getattr(result._task, "register", None) != FOLLOW_REGISTER:
            return
        stdout = result._result.get("stdout")
        if not isinstance(stdout, str):
            return
        lines, status = progress_lines(stdout)
        host = self._host(result)
        source = followed_file(result._result.get("cmd"))
        key = (host, source, str(getattr(result._task, "_uuid", "")))
        done = self.followed.get(key, 0)
        out = [f"{host} {line}" for line in lines[done:]]
        self.followed[key] = max(done, len(lines))
        if last and status == JOB_ENDED and not any(FINAL_LINE.match(line) for line in lines):
            out.append(f"{host} {_stamp()} {NO_LAST_LINE}")
        elif last and result._result.get("failed"):
            looks = result._result.get("attempts", "all")
            out.append(f"{host} {_stamp()} stopped following {source} after {looks} looks without its last line")
        if out:
            self._append_progress(out)

    def _waited(self, result: Any) -> None:
        """Append the progress lines a step run in the foreground wrote to its stderr, once it ended."""
        stderr = result._result.get("stderr")
        if result._result.get("skipped"):
            return
        # No stderr at all: the command never returned to its module (stopped by the task's `timeout`, say); a
        # failure says so with Ansible's reason, anything else has nothing to add.
        stopped = not isinstance(stderr, str)
        if stopped and not result._result.get("failed"):
            return
        host = self._host(result)
        lines = [line for line in (stderr or "").splitlines() if PROGRESS_LINE.match(line)]
        out = [f"{host} {line}" for line in lines]
        if not any(FINAL_LINE.match(line) for line in lines):
            why = f" ({result._result.get('msg') or 'no result'})" if stopped else ""
            out.append(f"{host} {_stamp()} {NO_LAST_LINE}{why}")
        self._append_progress(out)

    def _append_progress(self, lines: list[str]) -> None:
        assert self.run_dir is not None
        data = "".join(line + "\n" for line in lines).encode()
        try:  # one append write: the commands that write the same file (api-diff) never split a line
            fd = os.open(self.run_dir / PROGRESS_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as e:  # progress must never stop a run
            self._display.warning(f"radiology_phases: cannot append to {self.run_dir / PROGRESS_LOG}: {e}")

    # -- helpers ----------------------------------------------------------------------------------------
    def _close_phase(self) -> None:
        if self.phase is None:
            return
        self.phase["ended"] = _now()
        if self.phase["status"] == "running":
            self.phase["status"] = "ok"
        self.phase = None
        self._flush()

    def _flush(self) -> None:
        if self.run_dir is None:
            return
        target = self.run_dir / "phases.json"
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.phases, indent=2) + "\n")
        tmp.replace(target)
