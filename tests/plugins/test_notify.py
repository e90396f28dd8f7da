"""The radiology_notify callback posts a run's progress to a webhook: a real ansible-playbook run against a real
HTTP receiver on loopback, and a receiver that is down never stops the run."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

PLAYBOOK = """
- name: "Phase preflight: inputs"
  hosts: localhost
  gather_facts: false
  tasks:
    - name: A check before the run is recorded (the phase starts before the URL is known)
      ansible.builtin.debug:
        msg: checked
    - name: Record the run (as playbooks/preflight_inputs.yml does)
      ansible.builtin.set_fact:
        radiology_run_notify_url: "{{ url }}"
        radiology_run_operator: alice@ctl
        radiology_run_change_id: CHG-123
- name: "Phase gates: a gate fails and is handled"
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Gate
      block:
        - name: Compare
          ansible.builtin.fail:
            msg: rows differ
      rescue:
        - name: Handle
          ansible.builtin.debug:
            msg: handled
- name: "Phase rollback-freeze: not wanted, ends at once"
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Not wanted
      ansible.builtin.meta: end_play
- name: "Phase rollback-switch: back"
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Flip
      ansible.builtin.debug:
        msg: flipped
- name: "Phase done: result"
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Fail at the end
      ansible.builtin.fail:
        msg: the run failed
"""


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def _run(tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")  # only this test's settings
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "plugins" / "callback"),
        "ANSIBLE_CALLBACKS_ENABLED": "radiology_notify",
        "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"),
        "RADIOLOGY_RUN_DIR": str(tmp_path / "cutover-1"),
    }
    (tmp_path / "cutover-1").mkdir()
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"url={url}", "play.yml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def receiver():
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_the_webhook_gets_phase_and_rollback_messages_in_order(tmp_path, receiver):
    proc = _run(tmp_path, receiver)
    assert proc.returncode == 2, proc.stdout[-2000:]
    messages = [body for _, body in Receiver.received]
    assert {ctype for ctype, _ in Receiver.received} == {"application/json"}
    assert [(m["event"], m.get("phase"), m.get("ok")) for m in messages] == [
        ("phase_started", "preflight", None),
        ("phase_started", "gates", None),
        ("phase_failed", "gates", None),
        ("rollback_started", "rollback-switch", None),
        ("phase_started", "rollback-switch", None),
        ("phase_started", "done", None),
        ("phase_failed", "done", None),
        ("rollback_ended", None, True),  # the rollback's phases went well; the run failed after them
        ("run_ended", None, False),
    ]
    failed = messages[2]
    assert failed["task"] == "Compare" and failed["message"] == "rows differ" and failed["host"] == "localhost"
    assert all(
        m["run_id"] == "cutover-1" and m["operator"] == "alice@ctl" and m["change_id"] == "CHG-123"
        for m in messages[1:]
    )
    log = [json.loads(line) for line in (tmp_path / "cutover-1" / "notifications.log").read_text().splitlines()]
    assert [entry["delivery"] for entry in log] == ["sent"] * len(messages)


def test_a_receiver_that_is_down_never_stops_the_run(tmp_path):
    proc = _run(tmp_path, "http://127.0.0.1:9/hook")  # discard port: nothing listens
    assert proc.returncode == 2  # the playbook's own failure, nothing more
    assert "the run failed" in proc.stdout
    assert "radiology_notify: phase_started to http://127.0.0.1:9/hook not delivered" in proc.stdout + proc.stderr
    log = (tmp_path / "cutover-1" / "notifications.log").read_text().splitlines()
    assert len(log) == 9 and all("not delivered" in json.loads(line)["delivery"] for line in log)
