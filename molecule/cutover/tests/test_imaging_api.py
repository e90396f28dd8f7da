"""The new service's role (roles/imaging_api), its promises checked on each app host after the night.

site.yml provisioned it, step 2 redeployed it under load with a changed unit and setting, the night switched to it
and from it several times, and step 8 moved its database to the standby. What the role promises of its hosts holds
all the same: the units, the service user, the private environment files, the hardening, the recorded version,
the schema owned by another role than the one the service runs as, and a restart under requests that refuses no
connection (the socket stays with systemd).
"""

import json

from radiology_testkit.hosts import HARDENING, properties, request, restart_under_load, serving, show

testinfra_hosts = ["cutover-app1", "cutover-app2"]

PORT = 8001
HEALTH = f"http://127.0.0.1:{PORT}/api/v1/health"
EXAMINATIONS = 1250  # rows of the generated lab workbook
MIGRATING_HOST = "cutover-app1"  # site.yml runs the schema migrations on the first app host
OWNER_ENV = "/etc/radiology/imaging-owner.env"


def test_socket_and_service_serving(host):
    assert serving(host, "imaging-api", PORT) == []


def test_health_answers_with_every_examination(host):
    got = request(host, HEALTH)
    assert got["status"] == 200, got
    body = json.loads(got["body"])
    assert body["backend"] == "imaging"
    assert body["examinations"] == EXAMINATIONS


def test_processes_run_as_the_service_user(host):
    main_pid = show(host, "imaging-api.service", "MainPID")
    assert int(main_pid) > 0
    users = host.check_output("ps -o user= -p %s --ppid %s", main_pid, main_pid).split()
    assert len(users) >= 2  # master + workers
    assert set(users) == {"imaging-api"}


def test_user_has_no_login(host):
    user = host.user("imaging-api")
    assert user.shell == "/usr/sbin/nologin"
    assert user.password in ("!", "*", "!*")


def test_env_file_is_private_and_holds_step_2s_setting(host):
    env = host.file("/etc/radiology/imaging.env")
    assert (env.user, env.group, env.mode) == ("root", "imaging-api", 0o640)
    assert "IMAGING_SECRET_KEY=" in env.content_string
    # step 2's rolling deploy changed the log level; nothing after it re-templated the file
    assert 'IMAGING_LOG_LEVEL="WARNING"' in env.content_string.splitlines()


def test_hardening_and_step_2s_unit_change(host):
    want = {**HARDENING, "User": "imaging-api", "Type": "notify"}
    assert properties(host, "imaging-api.service", want) == want
    assert show(host, "imaging-api.service", "TimeoutStopUSec") == "36s"  # graceful 31 s + 5


def _manage(host, *env_files):
    files = " ".join(f"--property=EnvironmentFile={f}" for f in env_files)
    return host.run(
        f"systemd-run --quiet --wait --pipe --collect --property=User=imaging-api {files} "
        "/opt/radiology/imaging/current/bin/imaging-api migrate --check"
    )


def test_migrations_applied_as_the_owner_on_the_first_app_host_only(host):
    owner = host.file(OWNER_ENV)
    if host.backend.get_hostname() != MIGRATING_HOST:
        # The owner's password is only on the host that runs the schema migrations (site.yml's first app host).
        assert not owner.exists
        return
    # As the owner of the tables (its root-only file overrides the user and password of the service's).
    out = _manage(host, "/etc/radiology/imaging.env", OWNER_ENV)
    assert out.rc == 0, out.stdout + out.stderr
    assert (owner.user, owner.group, owner.mode) == ("root", "root", 0o600)


def test_runtime_role_cannot_read_the_schema_history(host):
    # The runtime role the service connects as has only what the service needs: not django_migrations.
    out = _manage(host, "/etc/radiology/imaging.env")
    assert out.rc != 0 and "permission denied for table django_migrations" in out.stdout + out.stderr, out.stderr


def test_installed_version_recorded(host):
    fact = json.loads(host.file("/etc/ansible/facts.d/imaging_api.fact").content_string)
    assert fact["version"] == "1.0.0"
    assert host.file(fact["venv"] + "/.installed").content_string.strip() == fact["artifact_id"]
    assert host.file("/opt/radiology/imaging/current").linked_to == fact["venv"]


def test_restart_under_load_refuses_no_connection(host):
    tally = restart_under_load(host, HEALTH, "imaging-api.service")
    assert tally["restart_rc"] == 0
    assert tally["errors"] == [], tally["errors"][:5]
    assert tally["ok"] > 50, tally
    assert request(host, HEALTH)["status"] == 200
