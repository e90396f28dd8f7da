"""The frontend role's switch module (the local fact it records, the atomic flip) and the releases pruned after it."""

import base64
import json
import os
from pathlib import Path

import pytest
from conftest import ROOT, load_filter, load_module

f = load_filter("frontend", "frontend_releases")
m = load_module(ROOT / "roles" / "frontend" / "library" / "frontend_release.py")
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
    fact = m.local_fact("r1-legacy", **_state("legacy", "", {}, {}))
    assert fact == {
        "release": "r1-legacy",
        "backend": "legacy",
        "previous_release": None,
        "previous_backend": None,
        "switched_at": NOW,
    }


def test_switch_records_what_was_active_from_the_fact():
    before = {"release": "r1-legacy", "backend": "legacy", "previous_release": None, "switched_at": "earlier"}
    fact = m.local_fact("r1-imaging", **_state("imaging", "r1-legacy", before, {}))
    assert fact["previous_release"] == "r1-legacy"
    assert fact["previous_backend"] == "legacy"
    assert fact["switched_at"] == NOW


def test_switch_reads_the_previous_backend_from_the_release_when_the_fact_is_stale():
    # A rebuilt fact file (or none) must not name the wrong backend: the active release's own metadata wins.
    stale = {"release": "r0-imaging", "backend": "imaging"}
    fact = m.local_fact("r1-imaging", **_state("imaging", "r1-legacy", stale, {"backend": "legacy"}))
    assert fact["previous_backend"] == "legacy"


def test_reactivating_the_active_release_keeps_the_record():
    before = {
        "release": "r1-imaging",
        "backend": "imaging",
        "previous_release": "r1-legacy",
        "previous_backend": "legacy",
        "switched_at": "2026-11-28T03:00:00Z",
    }
    assert m.local_fact("r1-imaging", **_state("imaging", "r1-imaging", before, {})) == before


def _root(tmp_path: Path) -> Path:
    for name, backend in (("r1-legacy", "legacy"), ("r1-imaging", "imaging")):
        (tmp_path / "releases" / name).mkdir(parents=True)
        (tmp_path / "releases" / name / ".release.json").write_text(json.dumps({"backend": backend}))
    (tmp_path / "current").symlink_to("releases/r1-legacy")
    return tmp_path


def _activate(root: Path, release: str, backend: str, apply: bool = True) -> tuple[bool, str, dict]:
    fact_file = str(root / "facts.d" / "radiology_frontend.fact")
    return m.activate(str(root), release, backend, fact_file=fact_file, meta_name=".release.json", apply=apply, now=NOW)


def test_activate_flips_current_records_the_fact_and_a_second_run_changes_nothing(tmp_path):
    root = _root(tmp_path)
    changed, active, fact = _activate(root, "r1-imaging", "imaging")
    assert (changed, active) == (True, "r1-legacy")
    assert os.readlink(root / "current") == "releases/r1-imaging"
    assert json.loads((root / "facts.d" / "radiology_frontend.fact").read_text()) == fact
    assert fact["previous_release"] == "r1-legacy" and fact["previous_backend"] == "legacy"
    assert _activate(root, "r1-imaging", "imaging")[0] is False
    assert sorted(p.name for p in root.iterdir()) == ["current", "facts.d", "releases"]  # no temporary link left


def test_activate_without_apply_changes_nothing(tmp_path):
    root = _root(tmp_path)
    assert _activate(root, "r1-imaging", "imaging", apply=False)[0] is True
    assert os.readlink(root / "current") == "releases/r1-legacy"
    assert not (root / "facts.d").exists()


@pytest.mark.parametrize(
    ("release", "backend", "message"),
    [
        ("r2-imaging", "imaging", "is not on this host"),
        ("r1-imaging", "legacy", "was deployed for backend imaging, not legacy"),
    ],
)
def test_activate_refuses_a_missing_or_wrong_release_and_leaves_current(tmp_path, release, backend, message):
    root = _root(tmp_path)
    with pytest.raises(m.ReleaseError, match=message):
        _activate(root, release, backend)
    assert os.readlink(root / "current") == "releases/r1-legacy"


def test_activate_refuses_an_incomplete_release(tmp_path):
    root = _root(tmp_path)
    (root / "releases" / "r1-imaging" / ".release.json").unlink()
    with pytest.raises(m.ReleaseError, match="incomplete"):
        _activate(root, "r1-imaging", "imaging")


def test_activate_refuses_a_current_that_is_not_a_symlink(tmp_path):
    root = _root(tmp_path)
    (root / "current").unlink()
    (root / "current").mkdir()
    with pytest.raises(m.ReleaseError, match="not a symlink"):
        _activate(root, "r1-imaging", "imaging")


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
