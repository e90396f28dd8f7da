"""The new service's role (roles/imaging_api), its promises checked on each app host after the night.

site.yml provisioned it, step 2 redeployed it under load with a changed unit and setting, the night switched to it
and from it several times, and step 8 moved its database to the standby. What the role promises of its hosts holds
all the same: the units, the service user, the private environment files, the hardening, the recorded version,
the schema owned by another role than the one the service runs as, and a restart under requests that refuses no
connection (the socket stays with systemd).
"""

import json

from radiology_testkit.hosts import HARDENING, properties, request, serving, show
from radiology_testkit.promises import (
    IMAGING_ENV,
    IMAGING_OWNER_ENV,
    imaging_migrations_applied_as_the_owner,
    imaging_runtime_role_refused_the_schema_history,
    installed_version_recorded,
    no_login,
    private_env_file,
    processes_run_as,
    restart_refuses_no_connection,
)

testinfra_hosts = ["cutover-app1", "cutover-app2"]

PORT = 8001
HEALTH = f"http://127.0.0.1:{PORT}/api/v1/health"
EXAMINATIONS = 1250  # rows of the generated lab workbook
MIGRATING_HOST = "cutover-app1"  # site.yml runs the schema migrations on the first app host


def test_socket_and_service_serving(host):
    assert serving(host, "imaging-api", PORT) == []


def test_health_answers_with_every_examination(host):
    got = request(host, HEALTH)
    assert got["status"] == 200, got
    body = json.loads(got["body"])
    assert body["backend"] == "imaging"
    assert body["examinations"] == EXAMINATIONS


def test_processes_run_as_the_service_user(host):
    processes_run_as(host, "imaging-api.service", "imaging-api", workers=True)


def test_user_has_no_login(host):
    no_login(host, "imaging-api")


def test_env_file_is_private_and_holds_step_2s_setting(host):
    env = private_env_file(host, IMAGING_ENV, "imaging-api", "IMAGING_SECRET_KEY")
    # step 2's rolling deploy changed the log level; nothing after it re-templated the file
    assert 'IMAGING_LOG_LEVEL="WARNING"' in env.splitlines()


def test_hardening_and_step_2s_unit_change(host):
    # Nice: the project's radiology_service_nice, so the steps users wait on get the host's cores first
    want = {**HARDENING, "User": "imaging-api", "Type": "notify", "Nice": "10"}
    assert properties(host, "imaging-api.service", want) == want
    assert show(host, "imaging-api.service", "TimeoutStopUSec") == "36s"  # graceful 31 s + 5


def test_migrations_applied_as_the_owner_on_the_first_app_host_only(host):
    if host.backend.get_hostname() == MIGRATING_HOST:
        imaging_migrations_applied_as_the_owner(host)
    else:
        # The owner's password is only on the host that runs the schema migrations (site.yml's first app host).
        assert not host.file(IMAGING_OWNER_ENV).exists


def test_runtime_role_cannot_read_the_schema_history(host):
    imaging_runtime_role_refused_the_schema_history(host)


def test_installed_version_recorded(host):
    installed_version_recorded(host, "imaging_api", "/opt/radiology/imaging/current", artifact=True)


def test_restart_under_load_refuses_no_connection(host):
    restart_refuses_no_connection(host, HEALTH, "imaging-api.service")
