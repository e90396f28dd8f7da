"""The role's promises, checked on the converged legacy host."""

import json

from radiology_testkit.hosts import HARDENING, properties, request, restart_under_load, serving, show

testinfra_hosts = ["molecule-legacy-api"]

PORT = 8000
API = f"http://127.0.0.1:{PORT}/api/v1"
DB = "/var/lib/radiology/legacy/medical_imaging.duckdb"
CLI = (
    "systemd-run --quiet --wait --pipe --collect --property=User=legacy-api "
    "--property=EnvironmentFile=/etc/radiology/legacy.env /opt/radiology/legacy/current/bin/legacy-api"
)


def test_socket_and_service_serving(host):
    assert serving(host, "legacy-api", PORT) == []


def test_health_reports_the_imported_examinations(host):
    got = request(host, API + "/health")
    assert got["status"] == 200, got
    body = json.loads(got["body"])
    assert body["backend"] == "legacy"
    assert body["examinations"] == 1250
    assert body["writes_frozen"] is False


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
    log = host.check_output("journalctl -u legacy-api.service --no-pager -n 200")
    assert "Uvicorn running" in log or "Application startup complete" in log


def test_freeze_pauses_writes_and_unfreeze_resumes(host):
    frozen = host.run(CLI + " freeze --db %s --reason %s", DB, "molecule check")
    assert frozen.rc == 0, frozen.stderr
    try:
        health = json.loads(request(host, API + "/health")["body"])
        assert health["writes_frozen"] is True
        post = request(host, API + "/analysis/tasks", method="POST", body="{}")
        assert post["status"] == 503, post
        assert "writes_frozen" in post["body"]
    finally:
        assert host.run(CLI + " unfreeze --db %s", DB).rc == 0
    assert json.loads(request(host, API + "/health")["body"])["writes_frozen"] is False


def test_installed_version_recorded(host):
    fact = json.loads(host.file("/etc/ansible/facts.d/legacy_api.fact").content_string)
    assert fact["version"] == "1.0.0"
    assert host.file("/opt/radiology/legacy/current").linked_to == fact["venv"]


def test_restart_under_load_refuses_no_connection(host):
    tally = restart_under_load(host, API + "/health", "legacy-api.service")
    assert tally["restart_rc"] == 0
    assert tally["errors"] == [], tally["errors"][:5]
    assert tally["ok"] > 50, tally
