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

from radiology_testkit.hosts import HARDENING, properties, request, restart_under_load, serving, show

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
    main_pid = show(host, "legacy-api.service", "MainPID")
    assert int(main_pid) > 0
    assert host.check_output("ps -o user= -p %s", main_pid).strip() == "legacy-api"
    # One worker: no child processes (DuckDB has a single writer).
    assert host.run("ps -o pid= --ppid %s", main_pid).stdout.strip() == ""


def test_user_has_no_login(host):
    assert host.user("legacy-api").shell == "/usr/sbin/nologin"


def test_env_file_is_private(host):
    env = host.file("/etc/radiology/legacy.env")
    assert (env.user, env.group, env.mode) == ("root", "legacy-api", 0o640)
    assert "LEGACY_ADMIN_TOKEN=" in env.content_string


def test_hardening(host):
    want = {**HARDENING, "User": "legacy-api", "ReadWritePaths": "/var/lib/radiology/legacy"}
    assert properties(host, "legacy-api.service", want) == want


def test_logs_in_the_journal(host):
    started = host.run(
        "journalctl -u legacy-api.service --no-pager | grep -cE 'Uvicorn running|Application startup complete'"
    )
    assert int(started.stdout.strip() or 0) >= 1, started.stderr


def test_installed_version_recorded(host):
    fact = json.loads(host.file("/etc/ansible/facts.d/legacy_api.fact").content_string)
    assert fact["version"] == "1.0.0"
    assert host.file("/opt/radiology/legacy/current").linked_to == fact["venv"]


def test_restart_under_load_refuses_no_connection(host):
    tally = restart_under_load(host, API + "/health", "legacy-api.service")
    assert tally["restart_rc"] == 0
    assert tally["errors"] == [], tally["errors"][:5]
    assert tally["ok"] > 50, tally
    # the freeze survives the restart (a marker beside the database, not a flag in memory)
    assert json.loads(request(host, API + "/health")["body"])["writes_frozen"] is True
