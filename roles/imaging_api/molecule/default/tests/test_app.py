"""The role's promises, checked on the converged app host."""

import json

from radiology_testkit.hosts import HARDENING, properties, request, serving
from radiology_testkit.promises import (
    IMAGING_ENV,
    imaging_migrations_applied_as_the_owner,
    imaging_runtime_role_refused_the_schema_history,
    installed_version_recorded,
    no_login,
    private_env_file,
    processes_run_as,
    restart_refuses_no_connection,
)

testinfra_hosts = ["molecule-imaging-api-app"]

PORT = 8001
HEALTH = f"http://127.0.0.1:{PORT}/api/v1/health"


def test_socket_and_service_serving(host):
    assert serving(host, "imaging-api", PORT) == []


def test_logs_in_the_journal(host):
    log = host.check_output("journalctl -u imaging-api.service --no-pager -n 200")
    assert "Listening at" in log


def test_health_answers_from_the_imaging_backend_with_data(host):
    got = request(host, HEALTH)
    assert got["status"] == 200, got
    assert got["backend"] == "imaging"
    body = json.loads(got["body"])
    assert body["backend"] == "imaging"
    assert body["examinations"] == 1250


def test_search_answers(host):
    got = request(host, f"http://127.0.0.1:{PORT}/api/v1/studies/search?page_size=5")
    assert got["status"] == 200, got


def test_processes_run_as_the_service_user(host):
    processes_run_as(host, "imaging-api.service", "imaging-api", workers=True)


def test_user_has_no_login(host):
    no_login(host, "imaging-api")


def test_env_file_is_private(host):
    private_env_file(host, IMAGING_ENV, "imaging-api", "IMAGING_SECRET_KEY")


def test_hardening(host):
    want = {**HARDENING, "User": "imaging-api", "Type": "notify"}
    assert properties(host, "imaging-api.service", want) == want


def test_migrations_applied(host):
    imaging_migrations_applied_as_the_owner(host)


def test_the_service_role_cannot_read_the_schema_history(host):
    imaging_runtime_role_refused_the_schema_history(host)


def test_installed_version_recorded(host):
    installed_version_recorded(host, "imaging_api", "/opt/radiology/imaging/current", artifact=True)


def test_restart_under_load_refuses_no_connection(host):
    restart_refuses_no_connection(host, HEALTH, "imaging-api.service")
