"""The role's promises, checked on the converged app host."""

import json

from radiology_testkit.hosts import HARDENING, properties, request, restart_under_load, serving, show

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
    main_pid = show(host, "imaging-api.service", "MainPID")
    assert int(main_pid) > 0
    users = host.check_output("ps -o user= -p %s --ppid %s", main_pid, main_pid).split()
    assert len(users) >= 2  # master + workers
    assert set(users) == {"imaging-api"}


def test_user_has_no_login(host):
    user = host.user("imaging-api")
    assert user.shell == "/usr/sbin/nologin"
    assert user.password in ("!", "*", "!*")


def test_env_file_is_private(host):
    env = host.file("/etc/radiology/imaging.env")
    assert env.user == "root"
    assert env.group == "imaging-api"
    assert env.mode == 0o640
    assert "IMAGING_SECRET_KEY=" in env.content_string


def test_hardening(host):
    want = {**HARDENING, "User": "imaging-api", "Type": "notify"}
    assert properties(host, "imaging-api.service", want) == want


def _manage(host, *env_files):
    files = " ".join(f"--property=EnvironmentFile={f}" for f in env_files)
    return host.run(
        f"systemd-run --quiet --wait --pipe --collect --property=User=imaging-api {files} "
        "/opt/radiology/imaging/current/bin/imaging-api migrate --check"
    )


def test_migrations_applied(host):
    # As the owner of the tables (its root-only file overrides the user and password of the service's).
    out = _manage(host, "/etc/radiology/imaging.env", "/etc/radiology/imaging-owner.env")
    assert out.rc == 0, out.stdout + out.stderr
    owner = host.file("/etc/radiology/imaging-owner.env")
    assert (owner.user, owner.group, owner.mode) == ("root", "root", 0o600)


def test_the_service_role_cannot_read_the_schema_history(host):
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
