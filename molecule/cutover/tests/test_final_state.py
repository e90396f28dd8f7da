"""The hosts after the night: the new service serves every examination behind nginx, the legacy is kept, frozen.

The side effect ends with a successful cutover and a re-run that changed nothing, so these are the promises of
a finished cutover: checked on the hosts themselves, not through the playbooks' own reports.
"""

import json

import pytest
from radiology_testkit.hosts import request

testinfra_hosts = ["cutover-db", "cutover-app1", "cutover-app2", "cutover-legacy", "cutover-web"]

EXAMINATIONS = 1250  # rows of the generated lab workbook (artifacts/data/examinations.xlsx)


def _name(host):
    return host.backend.get_hostname()


def _only(host, *names):
    if _name(host) not in {f"cutover-{n}" for n in names}:
        pytest.skip(f"not a {'/'.join(names)} host")


def test_postgresql_holds_every_examination(host):
    _only(host, "db")
    assert host.service("postgresql").is_running
    count = host.check_output("su postgres -c %s", "psql -tAc 'SELECT count(*) FROM examinations' imaging")
    assert int(count) == EXAMINATIONS
    query = "SELECT count(*) FROM pg_proc WHERE proname = 'cutover_fault_changed_field'"
    faults = host.check_output("su postgres -c %s", f'psql -tAc "{query}" imaging')
    assert int(faults) == 0, "the fault the scenario seeded (step 4) was left behind"


def test_new_service_serves_and_takes_writes_on_every_app_host(host):
    _only(host, "app1", "app2")
    assert host.socket("tcp://0.0.0.0:8001").is_listening
    assert host.service("imaging-api.socket").is_running and host.service("imaging-api.service").is_running
    assert not host.file("/var/lib/radiology/imaging/writes.freeze").exists
    health = request(host, "http://127.0.0.1:8001/api/v1/health")
    assert health["status"] == 200 and health["backend"] == "imaging"
    users = host.check_output("ps -o user= -C gunicorn").split()
    assert users and "root" not in users


def test_legacy_service_is_kept_serving_reads_but_frozen(host):
    _only(host, "legacy")
    assert host.service("legacy-api.service").is_running
    assert host.file("/var/lib/radiology/legacy/medical_imaging.duckdb.freeze").exists
    health = request(host, "http://127.0.0.1:8000/api/v1/health")
    assert health["status"] == 200 and health["backend"] == "legacy"


def test_nginx_serves_the_release_built_for_the_new_service(host):
    _only(host, "web")
    assert host.service("nginx").is_running
    assert host.run("nginx -t").rc == 0
    fact = json.loads(host.file("/etc/ansible/facts.d/radiology_frontend.fact").content_string)
    assert fact["backend"] == "imaging"
    current = host.file("/var/www/radiology/current")
    assert current.is_symlink and current.linked_to.endswith(fact["release"])
    build = json.loads(host.file("/var/www/radiology/current/build-info.json").content_string)
    assert build["api_base"] == "/imaging/api/v1"
    studies = request(host, "http://127.0.0.1/imaging/api/v1/health")
    assert studies["status"] == 200 and studies["backend"] == "imaging"


def test_both_app_hosts_are_in_the_upstream(host):
    _only(host, "web")
    config = host.check_output("nginx -T 2>/dev/null")
    assert "cutover-app1:8001" in config and "cutover-app2:8001" in config
