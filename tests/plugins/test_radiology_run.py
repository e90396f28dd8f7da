"""The run's decisions (playbooks/filter_plugins/radiology_run.py): safe phase selections, who serves, secrets."""

import base64
import json
from itertools import combinations

import pytest
from conftest import ROOT, load_module

run = load_module(ROOT / "playbooks" / "filter_plugins" / "radiology_run.py")
PHASES = run.CUTOVER_OPTIONAL + run.CUTOVER_CHAIN


@pytest.mark.parametrize(
    ("tags", "skip"),
    [
        ([], []),
        (["all"], []),
        (["all"], ["provision"]),
        (["all"], ["preflight", "provision"]),
        (["preflight"], []),
        (["provision"], []),
        (["preflight", "provision"], []),
        (["stage", "freeze", "migrate", "gates", "switch", "unfreeze", "watch"], []),
    ],
)
def test_safe_cutover_selections_pass(tags, skip):
    assert run.radiology_tag_problem(tags, skip, "cutover") == ""


def test_every_selection_with_part_of_the_chain_is_refused():
    # Exhaustive over --tags sets: a selection passes only if it holds the whole chain or none of it.
    for size in range(1, len(PHASES) + 1):
        for tags in combinations(PHASES, size):
            chain = set(tags) & set(run.CUTOVER_CHAIN)
            problem = run.radiology_tag_problem(list(tags), [], "cutover")
            assert (problem == "") == (not chain or chain == set(run.CUTOVER_CHAIN)), tags


def test_site_takes_any_selection_and_rollback_none():
    assert run.radiology_tag_problem(["provision"], ["db"], "site") == ""
    assert run.radiology_tag_problem(["all"], [], "rollback") == ""
    assert "takes no --tags" in run.radiology_tag_problem(["rollback-switch"], [], "rollback")


def _slurp(doc):
    return {"content": base64.b64encode(json.dumps(doc).encode()).decode()}


def _meta(backend):
    return {"backend": backend, "release": f"1.0.0-abc-{backend}"}


def _file(read):
    """A slurp-shaped read ({} for a missing file) as radiology_read_files answers it."""
    return {"exists": True, "content": read["content"]} if read.get("content") else {"exists": False}


def _state(current, facts):
    reads = {
        host: {"files": {"current": _file(read), "fact": _file(facts.get(host, {}))}} for host, read in current.items()
    }
    reads["legacy"] = {
        "files": {"legacy_freeze": {"exists": True}, "rollback_pending": {"exists": False}, "lock": {"exists": False}}
    }
    reads["app1"] = {"files": {"imaging_freeze": {"exists": False}}}
    reads["app2"] = {"unreachable": True}
    return run.radiology_state(
        {"web": list(current), "legacy": ["legacy"], "app": ["app1", "app2"], "reads": reads, "read_at": "now"}
    )


def test_the_lock_and_a_pending_rollback_come_from_the_legacy_host():
    lock = {"run_id": "r1", "token": "secret", "playbook": "cutover"}
    pending = {"run_id": "r0", "switched_at": "2026-12-01T00:00:00Z"}
    legacy = {
        "files": {
            "legacy_freeze": {"exists": False},
            "lock": _file(_slurp(lock)),
            "rollback_pending": _file(_slurp(pending)),
        }
    }
    state = run.radiology_state(
        {"web": [], "legacy": ["legacy"], "app": [], "reads": {"legacy": legacy}, "read_at": "now"}
    )
    assert state["lock"] == {"run_id": "r1", "playbook": "cutover"}  # the token stays on the host
    assert state["writes"]["legacy"]["legacy"] == {"reachable": True, "writes_frozen": False}
    assert run.radiology_rollback_pending(legacy) == pending
    assert run.radiology_rollback_pending({"files": {"rollback_pending": {"exists": False}}}) is None
    assert run.radiology_rollback_pending({"skipped": True}) is None


def test_who_serves_comes_from_current_on_every_web_host():
    state = _state(
        {"web1": _slurp(_meta("imaging")), "web2": _slurp(_meta("imaging"))},
        {"web1": _slurp(_meta("imaging")), "web2": {}},
    )
    assert state["serving"] == "imaging" and state["problems"] == []
    assert state["web"]["web1"] == _meta("imaging")
    assert state["writes"]["legacy"]["legacy"] == {"reachable": True, "writes_frozen": True}
    assert state["writes"]["imaging"]["app2"] == {"reachable": False, "writes_frozen": None}


def test_a_rebuilt_web_host_without_current_serves_nothing_and_is_no_problem():
    state = _state({"web1": _slurp(_meta("imaging")), "web2": {}}, {"web1": {}, "web2": {}})
    assert state["serving"] == "imaging" and state["problems"] == []
    assert _state({"web1": {}}, {"web1": {}})["serving"] == "none"


def test_a_fact_that_disagrees_with_current_is_named():
    state = _state({"web1": _slurp(_meta("imaging"))}, {"web1": _slurp(_meta("legacy"))})
    assert state["serving"] == "imaging"
    assert len(state["problems"]) == 1
    assert state["problems"][0].startswith("web1: current points at 1.0.0-abc-imaging (backend imaging)")
    assert "says legacy" in state["problems"][0]


def test_web_hosts_that_disagree_are_named():
    state = _state({"web1": _slurp(_meta("imaging")), "web2": _slurp(_meta("legacy"))}, {})
    assert state["serving"] == "mixed"
    assert state["problems"] == ["web hosts serve different backends: web1=imaging, web2=legacy"]


def test_secret_problems_name_variables_never_values():
    secrets = [
        {"var": "a", "value": "change-me-please-now", "min": 12},
        {"var": "b", "value": "short", "min": 12},
        {"var": "c", "value": "Zq8vT3nW5kR1pL7x", "min": 12},
        {"var": "d", "value": "Zq8vT3nW5kR1pL7x", "min": 12},
        {"var": "e", "value": "abababababababab", "min": 12},
    ]
    problems = run.radiology_secret_problems(secrets)
    assert problems == [
        "a looks like a placeholder (contains 'change-me')",
        "b is missing or shorter than 12 characters",
        "d is the same as c: every secret must be different",
        "e looks like a placeholder (too few distinct characters)",
    ]


def test_web_users_are_checked_as_secrets_named_by_user():
    users = [{"name": "operator", "password": "short"}, {"name": "reader", "password": "Zq8vT3nW5kR1pL7x"}]
    secrets = [{"var": "radiology_db_password", "value": "Zq8vT3nW5kR1pL7x", "min": 12}]
    problems = run.radiology_secret_problems(secrets + [run.radiology_web_user_secret(u) for u in users])
    assert problems == [
        "the password of web user 'operator' (radiology_web_users) is missing or shorter than 12 characters",
        "the password of web user 'reader' (radiology_web_users) is the same as radiology_db_password: "
        "every secret must be different",
    ]
    assert "Zq8vT3nW5kR1pL7x" not in " ".join(problems)


def test_status_table_says_what_is_frozen_and_who_holds_the_lock():
    state = _state({"web1": _slurp(_meta("imaging"))}, {})
    status = {
        **state,
        "services": run.radiology_status_services(
            {
                "legacy": {
                    "results": [
                        {
                            "radiology_status_service": "legacy",
                            "status": 200,
                            "json": {"examinations": 1250, "reports": 786, "analysis_tasks": 3},
                        }
                    ]
                },
                "app1": {
                    "results": [
                        {
                            "radiology_status_service": "imaging",
                            "status": 503,
                            "json": {"error": {"message": "database unreachable"}},
                        }
                    ]
                },
            }
        ),
        "data_version": 7,
        "last_run": None,
        "lock": {"playbook": "cutover", "run_id": "cutover-1", "operator": "alice@ctl", "started": "t0"},
    }
    table = run.radiology_status_table(status)
    assert table[0] == "serving: imaging  (web1: imaging 1.0.0-abc-imaging)"
    assert any(line.split()[:3] == ["legacy", "legacy", "FROZEN"] and "1250" in line for line in table)
    assert any(line.split()[:3] == ["imaging", "app1", "open"] and "503 database unreachable" in line for line in table)
    assert any(line.split()[:3] == ["imaging", "app2", "unknown"] for line in table)
    assert "run lock: HELD by cutover cutover-1 (alice@ctl, since t0)" in table
    assert "last run: none recorded" in table
    assert not any(line.startswith("rollback:") for line in table)

    pending = {"run_id": "rollback-2", "switched_at": "2026-11-30T03:38:07Z"}
    table = run.radiology_status_table({**status, "rollback_pending": pending})
    assert (
        "rollback: UNFINISHED (rollback-2 switched users back at 2026-11-30T03:38:07Z; the legacy refuses writes "
        "until rollback.yml has carried the tasks back and verified them)"
    ) in table


def test_db_connections_follow_gunicorns_rule_and_the_threads():
    hosts = [
        {"inventory_hostname": "app1", "ansible_processor_vcpus": 2},
        {"inventory_hostname": "app2", "imaging_api_workers": 3, "imaging_api_threads": 8},
    ]
    budget = run.radiology_db_connections(hosts)
    assert [b["connections"] for b in budget] == [5 * 4, 3 * 8]
    assert budget[0]["label"] == "app1: 5 workers x 4 threads = 20"


def _delta(**tables):
    counts = {"examinations": 0, "reports": 0, "analysis_tasks": 0}
    return json.dumps(
        {
            "ok": True,
            "command": "load",
            "mode": "delta",
            "delta": {
                t: {"added": counts[t] if t not in tables else tables[t], "changed": 0, "deleted": 0} for t in counts
            },
        }
    )


@pytest.mark.parametrize(
    ("stdout", "scope"),
    [
        (_delta(), ["--only", "/analysis/tasks", "--only", "/health"]),
        (_delta(analysis_tasks=12), ["--only", "/analysis/tasks", "--only", "/health"]),
        (_delta(examinations=1), []),  # stage 1 compared examinations the delta then changed: compare all again
        (_delta(reports=3), []),
        (json.dumps({"ok": True, "command": "load", "rows": 3019}), []),  # a full load
        (json.dumps({"ok": True, "mode": "delta", "delta": {"examinations": "x"}}), []),
        ("", []),  # no load (a dry run)
        ("not json", []),
        ("[1, 2]", []),
        (json.loads(_delta(analysis_tasks=2)), ["--only", "/analysis/tasks", "--only", "/health"]),  # parsed
        (json.loads(_delta(reports=2)), []),
        (None, []),
    ],
)
def test_the_short_diff_only_after_a_delta_of_tasks(stdout, scope):
    assert run.radiology_short_diff_scope(stdout) == scope
