"""The playbooks say each thing once: the run's decisions, the abort before the switch, the evidence kept."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
# Decided once in the preflight plays; a guard that reads these again repeats the decision.
DECISION_INPUTS = ("radiology_active_backend", "radiology_rollback_auto", "radiology_rollback_accept_loss")
IMPORTS_KEEPING_EVIDENCE = ("keep_evidence.yml", "gate_verify.yml", "gates.yml", "load_snapshot.yml")
EVIDENCE_VARS = (
    "radiology_evidence_file",
    "radiology_verify_evidence",
    "radiology_api_diff_evidence",
    "radiology_load_evidence",
)


def _tasks(items: list[dict] | None) -> Iterator[dict]:
    for item in items or []:
        yield item
        for key in ("block", "rescue", "always"):
            yield from _tasks(item.get(key))


def _all_tasks() -> Iterator[tuple[str, dict]]:
    for path in sorted(PLAYBOOKS.glob("*.yml")):
        for play in yaml.safe_load(path.read_text()):
            for task in _tasks(play.get("tasks")):
                yield path.name, task
    for path in sorted((PLAYBOOKS / "tasks").glob("*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text())):
            yield f"tasks/{path.name}", task


@pytest.mark.parametrize("playbook", ["cutover.yml", "rollback_phases.yml"])
def test_guards_read_the_decision_of_the_run(playbook):
    guards = [
        task
        for name, task in _all_tasks()
        if name == playbook and task.get("ansible.builtin.meta") in ("end_host", "end_play")
    ]
    assert guards
    for guard in guards:
        assert not any(var in guard["when"] for var in DECISION_INPUTS), guard


def test_rescues_before_the_switch_share_the_abort():
    rescues = [
        task["rescue"]
        for name, task in _all_tasks()
        if name == "cutover.yml" and "rescue" in task and "abort_unfrozen" in str(task["rescue"])
    ]
    assert len(rescues) == 4  # stage 1: snapshot, then load and its gates; stage 2: snapshot and load; its gates
    assert all(len(rescue) == 1 for rescue in rescues)


def test_evidence_is_kept_through_one_task_file():
    kept = set()
    for name, task in _all_tasks():
        copy = task.get("ansible.builtin.copy") or {}
        if "radiology_run_dir" in str(copy.get("dest", "")):
            assert name == "tasks/keep_evidence.yml", (name, task["name"])
        # The evidence names: given where keep_evidence.yml is imported (or included: the carry-back's, kept only
        # after a carry-back), or passed down by the importers of the task files that import it (load_snapshot.yml,
        # gates.yml, gate_verify.yml).
        used = task.get("ansible.builtin.import_tasks") or task.get("ansible.builtin.include_tasks") or ""
        if str(used).endswith(IMPORTS_KEEPING_EVIDENCE):
            kept.update(v for k, v in task["vars"].items() if k in EVIDENCE_VARS and "{{" not in str(v))
    # The names the report builder (apps/ops) reads; renaming one loses that evidence from the report.
    assert {"load.json", "verify.json", "api-diff.json", "carry-back.json", "verify-rollback.json"} <= kept
    assert "verify-rollback-history.json" in kept
    assert {"load-stage.json", "verify-stage.json", "api-diff-stage.json"} <= kept
    assert {"run.json", "state-end.json"} <= kept
