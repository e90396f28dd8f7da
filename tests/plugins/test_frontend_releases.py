"""The frontend role's filters: the local fact recorded at a switch and the releases pruned after it."""

import base64
import json

from conftest import load_filter

f = load_filter("frontend", "frontend_releases")
NOW = "2026-11-29T10:00:00Z"


def _slurp(document: dict | None) -> dict:
    if document is None:
        return {"failed": True, "msg": "file not found"}
    return {"content": base64.b64encode(json.dumps(document).encode()).decode()}


def _state(backend: str, active: str, fact_before: dict, active_meta: dict) -> dict:
    return {"backend": backend, "active": active, "fact_before": fact_before, "active_meta": active_meta, "now": NOW}


def _found(name: str, deployed_at: str | None) -> dict:
    result = _slurp(None if deployed_at is None else {"release": name, "deployed_at": deployed_at})
    return {**result, "item": {"path": f"/var/www/radiology/releases/{name}"}}


def test_first_activation_has_no_previous_release():
    fact = f.frontend_local_fact("r1-legacy", **_state("legacy", "", {}, {"skipped": True}))
    assert fact == {
        "release": "r1-legacy",
        "backend": "legacy",
        "previous_release": None,
        "previous_backend": None,
        "switched_at": NOW,
    }


def test_switch_records_what_was_active_from_the_fact():
    before = {"release": "r1-legacy", "backend": "legacy", "previous_release": None, "switched_at": "earlier"}
    fact = f.frontend_local_fact("r1-imaging", **_state("imaging", "r1-legacy", before, {"skipped": True}))
    assert fact["previous_release"] == "r1-legacy"
    assert fact["previous_backend"] == "legacy"
    assert fact["switched_at"] == NOW


def test_switch_reads_the_previous_backend_from_the_release_when_the_fact_is_stale():
    # A rebuilt fact file (or none) must not name the wrong backend: the active release's own metadata wins.
    stale = {"release": "r0-imaging", "backend": "imaging"}
    meta = _slurp({"release": "r1-legacy", "backend": "legacy"})
    fact = f.frontend_local_fact("r1-imaging", **_state("imaging", "r1-legacy", stale, meta))
    assert fact["previous_backend"] == "legacy"


def test_reactivating_the_active_release_keeps_the_record():
    before = {
        "release": "r1-imaging",
        "backend": "imaging",
        "previous_release": "r1-legacy",
        "previous_backend": "legacy",
        "switched_at": "2026-11-28T03:00:00Z",
    }
    assert f.frontend_local_fact("r1-imaging", **_state("imaging", "r1-imaging", before, {"skipped": True})) == before


def test_prune_keeps_the_newest_and_always_the_protected():
    found = [
        _found("r1", "2026-11-01T00:00:00Z"),
        _found("r2", "2026-11-02T00:00:00Z"),
        _found("r3", "2026-11-03T00:00:00Z"),
        _found("r4", "2026-11-04T00:00:00Z"),
        _found("r5", "2026-11-05T00:00:00Z"),
    ]
    # r1 is active (oldest), r5 is being deployed: with keep 3 one more stays, the newest other one (r4).
    assert f.frontend_releases_to_prune(found, 3, ["r5", "r1", None]) == ["r3", "r2"]
    assert f.frontend_releases_to_prune(found, "5", ["r5"]) == []


def test_prune_counts_a_release_without_metadata_as_the_oldest():
    found = [_found("broken", None), _found("r2", "2026-11-02T00:00:00Z"), _found("r3", "2026-11-03T00:00:00Z")]
    assert f.frontend_releases_to_prune(found, 2, ["r3"]) == ["broken"]


def test_prune_never_removes_protected_even_when_they_exceed_keep():
    found = [_found("a", "1"), _found("b", "2"), _found("c", "3")]
    assert f.frontend_releases_to_prune(found, 2, ["a", "b", "c"]) == []
