"""The frontend role's promises, checked on the web host after converge and the side effects.

Final state: release B active again after a rollback from E; D staged; A (oldest) and C (staged then
superseded) pruned; the broken and the mismatched builds never deployed.
"""

import json
import re

testinfra_hosts = ["molecule-frontend-web"]

ROOT = "/var/www/radiology"
FACT = "/etc/ansible/facts.d/radiology_frontend.fact"


def _release_b(host):
    """Release B as the scenario chose it (a real imaging build when artifacts exist), templated by Ansible."""
    name = "frontend_molecule_release_b"
    return host.ansible("debug", f"var={name}", check=False)[name]


def test_current_points_at_release_b(host):
    current = host.file(f"{ROOT}/current")
    assert current.is_symlink
    assert current.linked_to == f"{ROOT}/releases/{_release_b(host)}"


def test_current_serves_the_imaging_build(host):
    info = json.loads(host.file(f"{ROOT}/current/build-info.json").content_string)
    assert info["api_base"] == "/imaging/api/v1"
    assert host.file(f"{ROOT}/current/index.html").contains("<html")


def test_local_fact_records_active_and_previous(host):
    fact = json.loads(host.file(FACT).content_string)
    assert set(fact) == {"release", "backend", "previous_release", "previous_backend", "switched_at"}
    assert fact["release"] == _release_b(host)
    assert fact["backend"] == "imaging"
    assert fact["previous_release"] == "molecule-e-legacy"
    assert fact["previous_backend"] == "legacy"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fact["switched_at"])


def test_fact_readable_by_ansible(host):
    local = host.ansible("setup", "filter=ansible_local", check=False)["ansible_facts"]["ansible_local"]
    assert local["radiology_frontend"]["backend"] == "imaging"


def test_kept_releases(host):
    names = sorted(host.run(f"ls -A {ROOT}/releases").stdout.split())
    b = _release_b(host)
    assert names == sorted([b, "molecule-d-legacy", "molecule-e-legacy"])


def test_no_temporary_leftovers(host):
    assert host.run(f"find {ROOT} -maxdepth 2 -name '.*' ! -name .release.json").stdout.strip() == ""


def test_each_release_records_its_metadata(host):
    for name, backend in ((_release_b(host), "imaging"), ("molecule-e-legacy", "legacy")):
        meta = json.loads(host.file(f"{ROOT}/releases/{name}/.release.json").content_string)
        assert meta["release"] == name
        assert meta["backend"] == backend
        assert meta["api_base"] == f"/{backend}/api/v1"


def test_release_files_readable_not_writable_by_others(host):
    release = f"{ROOT}/releases/molecule-e-legacy"
    assert host.file(release).mode == 0o755
    assert host.file(f"{release}/index.html").mode == 0o644
    assert host.file(f"{release}/index.html").user == "root"
    assert host.run(f"find {ROOT} -perm -o+w ! -type l").stdout.strip() == ""
