"""The legacy service's role (roles/legacy_api), its promises checked on the legacy host after the night.

site.yml provisioned it with the 1,250-row workbook; the night froze it, took it back and froze it again for the
final cutover. What the role promises of its host holds all the same: the units, one process as the service user,
the database file it owns, the private environment file, the hardening, the journal, the recorded version, writes
refused while frozen, and a restart under requests that refuses no connection and keeps the freeze (the socket stays
with systemd; the freeze is a marker beside the database).

The role has no scenario of its own: this one provisions it, and its step 7 asserts that a second run of site.yml
changes nothing on this host either.
"""

import json

from radiology_testkit.hosts import HARDENING, properties, request, serving
from radiology_testkit.promises import (
    installed_version_recorded,
    no_login,
    private_env_file,
    processes_run_as,
    restart_refuses_no_connection,
)

testinfra_hosts = ["cutover-legacy"]

PORT = 8000
API = f"http://127.0.0.1:{PORT}/api/v1"
DB = "/var/lib/radiology/legacy/medical_imaging.duckdb"
EXAMINATIONS = 1250  # rows of the generated lab workbook


def test_socket_and_service_serving(host):
    assert serving(host, "legacy-api", PORT) == []


def test_health_reports_every_examination_and_the_freeze(host):
    got = request(host, API + "/health")
    assert got["status"] == 200, got
    body = json.loads(got["body"])
    assert body["backend"] == "legacy"
    assert body["examinations"] == EXAMINATIONS
    assert body["writes_frozen"] is True  # kept frozen after the final cutover


def test_refuses_writes_while_frozen(host):
    post = request(host, API + "/analysis/tasks", method="POST", body="{}")
    assert post["status"] == 503, post
    assert "writes_frozen" in post["body"]


def test_database_owned_by_the_service_user(host):
    db = host.file(DB)
    assert db.is_file
    assert db.user == "legacy-api"
    assert host.file("/var/lib/radiology/legacy").mode == 0o750


def test_single_process_as_the_service_user(host):
    processes_run_as(host, "legacy-api.service", "legacy-api", workers=False)


def test_user_has_no_login(host):
    no_login(host, "legacy-api")


def test_env_file_is_private(host):
    private_env_file(host, "/etc/radiology/legacy.env", "legacy-api", "LEGACY_ADMIN_TOKEN")


def test_hardening(host):
    # Nice: the project's radiology_service_nice, so the freeze, stage 2 and the rollback's steps on this host start
    # at once even when users keep its cores busy
    want = {**HARDENING, "User": "legacy-api", "ReadWritePaths": "/var/lib/radiology/legacy", "Nice": "10"}
    assert properties(host, "legacy-api.service", want) == want


def test_logs_in_the_journal(host):
    started = host.run(
        "journalctl -u legacy-api.service --no-pager | grep -cE 'Uvicorn running|Application startup complete'"
    )
    assert int(started.stdout.strip() or 0) >= 1, started.stderr


def test_installed_version_recorded(host):
    installed_version_recorded(host, "legacy_api", "/opt/radiology/legacy/current")


def test_restart_under_load_refuses_no_connection_and_keeps_the_freeze(host):
    restart_refuses_no_connection(host, API + "/health", "legacy-api.service")
    # the freeze survives the restart (a marker beside the database, not a flag in memory)
    assert json.loads(request(host, API + "/health")["body"])["writes_frozen"] is True
