"""The skeleton's promises, checked on the converged host (legacy-api run as user `skeleton` on port 8100)."""

import json

from radiology_testkit.hosts import HARDENING, connects, properties, request, serving, show

testinfra_hosts = ["molecule-python-service"]

UNITS = ("legacy-api.socket", "legacy-api.service")


def test_socket_and_service_serving_on_the_configured_port_only(host):
    assert serving(host, "legacy-api", 8100) == []
    assert not host.socket("tcp://0.0.0.0:8101").is_listening


def test_service_answers_as_its_backend(host):
    got = request(host, "http://127.0.0.1:8100/api/v1/health")
    assert got["status"] == 200 and got["backend"] == "legacy"
    assert json.loads(got["body"])["examinations"] == 200


def test_runs_as_the_service_user_with_hardening(host):
    main_pid = show(host, "legacy-api.service", "MainPID")
    assert host.check_output("ps -o user= -p %s", main_pid).strip() == "skeleton"
    assert host.user("skeleton").shell == "/usr/sbin/nologin"
    want = {
        **HARDENING,
        "User": "skeleton",
        "ReadWritePaths": "/var/lib/skeleton/data",
        "WorkingDirectory": "/var/lib/skeleton/data",
        "SyslogIdentifier": "legacy-api",
        "Type": "exec",
    }
    assert properties(host, "legacy-api.service", want) == want


def test_every_process_of_the_service_runs_at_its_niceness(host):
    """Nice=10 reaches the workers too (uvicorn's threads, a worker a restart made), not only the unit."""
    assert show(host, "legacy-api.service", "Nice") == "10"
    main_pid = show(host, "legacy-api.service", "MainPID")
    niceness = host.check_output("ps -L -o ni= -p %s", main_pid).split()
    assert niceness and set(niceness) == {"10"}, niceness


def test_environment_file_is_private_and_complete(host):
    env = host.file("/etc/skeleton/skeleton.env")
    assert (env.user, env.group, env.mode) == ("root", "skeleton", 0o640)
    lines = env.content_string.splitlines()
    assert 'LEGACY_LOG_LEVEL="info"' in lines
    # The program sees the value exactly as the inventory gave it, whatever its characters.
    pid = show(host, "legacy-api.service", "MainPID")
    environ = host.check_output("tr '\\0' '\\n' < /proc/%s/environ", pid).splitlines()
    assert "SKELETON_SECRET=molecule-only-$ecret \"1\" \\x `q` 'q' #h" in environ


def test_only_loopback_and_the_allowed_peers_reach_the_port(host):
    assert show(host, "legacy-api.socket", "IPAddressDeny") != ""
    own = host.check_output("hostname -I").split()[0]
    assert connects(host, "127.0.0.1", 8100)
    assert not connects(host, own, 8100)


def test_only_the_write_path_belongs_to_the_service(host):
    data = host.file("/var/lib/skeleton/data")
    assert (data.user, data.group, data.mode) == ("skeleton", "skeleton", 0o750)
    assert host.file("/var/lib/skeleton").user == "root"
    assert host.file("/opt/skeleton/current").is_symlink
    assert host.file("/opt/skeleton/current").user == "root"


def test_installed_build_recorded_as_local_fact(host):
    fact = json.loads(host.file("/etc/ansible/facts.d/skeleton.fact").content_string)
    assert fact["venv"] == host.file("/opt/skeleton/current").linked_to
    assert fact["version"]


def test_no_unit_left_failed(host):
    # The side effect broke the program (start limit spent) and the next converge started it again.
    for unit in UNITS:
        assert show(host, unit, "ActiveState") == "active", unit
