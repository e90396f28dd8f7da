"""Sends a small JSON message to the operators' webhook (radiology_notify_url) as a cutover or rollback goes.

Messages, each POSTed as application/json, in the order they happen:
  phase_started    a "Phase ..." play ran its first task (a phase that ends at once, not wanted, says nothing;
                   a phase of several plays in a row, e.g. provision, is announced once)
  phase_failed     a task of a phase failed (first failure per phase; also when a rescue then handles it)
  rollback_started the first rollback phase started (rollback.yml, by hand or inside a cutover)
  rollback_ended   the playbook ended after a rollback started: ok false when a task of a rollback phase failed
  run_ended        the playbook ended: ok true or false
Each carries playbook, run_id, operator, change_id and the UTC time; never a secret or a row of data.

The URL comes from the run itself: playbooks/preflight_inputs.yml records radiology_notify_url (or '') as the fact
radiology_run_notify_url; until then, and when it is empty, nothing is sent. A receiver that is down or slow
(5 s timeout) never stops the run: the failure is shown as a warning and every attempt is appended to
<run dir>/notifications.log, which the report's folder keeps.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: radiology_notify
type: aggregate
short_description: posts cutover and rollback progress to a webhook
description:
  - Phase started and failed, rollback started and ended, run ended, as JSON to radiology_notify_url.
"""

PHASE_PREFIX = "Phase "
URL_FACT = "radiology_run_notify_url"
IDENTITY_FACTS = {"radiology_run_operator": "operator", "radiology_run_change_id": "change_id"}
TIMEOUT_SECONDS = 5.0


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def phase_of(play_name: str) -> str | None:
    """'Phase gates: counts, keys' -> 'gates'; None for plays that are no phase."""
    name = play_name.strip()
    if not name.startswith(PHASE_PREFIX):
        return None
    return name[len(PHASE_PREFIX) :].split(":")[0].strip()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "radiology_notify"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.url = ""
        self.playbook = ""
        self.identity: dict[str, Any] = {}
        self.phase: str | None = None
        self.last_announced: str | None = None
        self.phase_announced = False
        self.phase_failed = False
        self.rollback_started = False
        self.rollback_failed = False
        self.failed = False

    # -- what the run tells us ----------------------------------------------------------------------
    def v2_playbook_on_start(self, playbook: Any) -> None:
        self.playbook = Path(playbook._file_name).stem

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self.phase = phase_of(play.get_name())
        self.phase_announced = False
        self.phase_failed = False

    def v2_runner_on_ok(self, result: Any) -> None:
        facts = result._result.get("ansible_facts") or {}
        for fact, key in IDENTITY_FACTS.items():
            if fact in facts:
                self.identity[key] = facts[fact] or None
        if URL_FACT in facts:
            known = bool(self.url)
            self.url = str(facts[URL_FACT] or "")
            if self.url and not known and self.phase_announced and self.phase is not None:
                # The URL is recorded inside the first phase, after that phase started: announce it now.
                self.send({"event": "phase_started", "phase": self.phase})
        self._started()

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        if ignore_errors:
            return
        self._started()
        self._failed(result._host.get_name(), result._task.get_name(), result._result.get("msg") or "")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._started()
        self._failed(result._host.get_name(), result._task.get_name(), "host unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        failed = self.failed or any(
            stats.summarize(h)["failures"] or stats.summarize(h)["unreachable"] for h in stats.processed
        )
        if self.rollback_started:
            self.send({"event": "rollback_ended", "ok": not self.rollback_failed})
        self.send({"event": "run_ended", "ok": not failed})

    # -- events -------------------------------------------------------------------------------------
    def _started(self) -> None:
        if self.phase is None or self.phase_announced:
            return
        self.phase_announced = True
        if self.phase == self.last_announced:  # one phase made of several plays (e.g. provision) is announced once
            return
        self.last_announced = self.phase
        if self.phase.startswith("rollback-") and self.phase != "rollback-preflight" and not self.rollback_started:
            self.rollback_started = True
            self.send({"event": "rollback_started", "phase": self.phase})
        self.send({"event": "phase_started", "phase": self.phase})

    def _failed(self, host: str, task: str, message: Any) -> None:
        if self.phase is None:
            return
        if self.phase.startswith("rollback-"):
            self.rollback_failed = True
        if self.phase_failed:
            return
        self.phase_failed = True
        self.send(
            {"event": "phase_failed", "phase": self.phase, "host": host, "task": task, "message": str(message)[:500]}
        )

    def send(self, message: dict[str, Any]) -> None:
        if not self.url:
            return
        run_dir = os.environ.get("RADIOLOGY_RUN_DIR")
        body = {
            **message,
            "playbook": self.playbook,
            "run_id": Path(run_dir).name if run_dir else None,
            **self.identity,
            "at": _now(),
        }
        request = urllib.request.Request(  # noqa: S310 (the operator's own URL; https is verified by default)
            self.url,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        outcome = "sent"
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            outcome = f"not delivered: {e}"
            self._display.warning(f"radiology_notify: {message['event']} to {self.url} {outcome}")
        if run_dir:
            with (Path(run_dir) / "notifications.log").open("a", encoding="utf-8") as log:
                log.write(json.dumps({**body, "delivery": outcome}) + "\n")
