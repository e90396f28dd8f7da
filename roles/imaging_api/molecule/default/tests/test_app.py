"""The role's promises, checked on the converged app host."""

import json

testinfra_hosts = ["molecule-imaging-api-app"]

PORT = 8001
HEALTH = f"http://127.0.0.1:{PORT}/api/v1/health"

# Hammers the health endpoint from a few threads while the service restarts; prints the tally as JSON.
LOAD = r"""
import json, subprocess, threading, time, urllib.request, urllib.error
stop = threading.Event(); lock = threading.Lock(); tally = {"ok": 0, "errors": []}
def client():
    while not stop.is_set():
        try:
            with urllib.request.urlopen("%s", timeout=30) as r:
                ok = r.status == 200
        except Exception as e:
            ok = False; err = repr(e)
        with lock:
            if ok: tally["ok"] += 1
            else: tally["errors"].append(err)
threads = [threading.Thread(target=client) for _ in range(8)]
[t.start() for t in threads]
time.sleep(1)
restart = subprocess.run(["systemctl", "restart", "imaging-api.service"], capture_output=True, text=True)
time.sleep(3)
stop.set(); [t.join() for t in threads]
tally["restart_rc"] = restart.returncode
print(json.dumps(tally))
"""


def _get(host, url):
    code = (
        "import json, urllib.request, urllib.error\n"
        "try:\n"
        f"    r = urllib.request.urlopen({url!r}, timeout=10)\n"
        "except urllib.error.HTTPError as e:\n"
        "    r = e\n"
        "print(json.dumps({'status': r.status, 'backend': r.headers.get('X-Backend'), 'body': r.read().decode()}))\n"
    )
    out = host.run("python3 -c %s", code)
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)


def _show(host, unit, prop):
    return host.check_output("systemctl show -p %s --value %s", prop, unit)


def test_socket_and_service_active_and_enabled(host):
    for unit in ("imaging-api.socket", "imaging-api.service"):
        svc = host.service(unit)
        assert svc.is_running, unit
        assert svc.is_enabled, unit


def test_port_listening(host):
    assert host.socket(f"tcp://0.0.0.0:{PORT}").is_listening


def test_health_answers_from_the_imaging_backend_with_data(host):
    got = _get(host, HEALTH)
    assert got["status"] == 200, got
    assert got["backend"] == "imaging"
    body = json.loads(got["body"])
    assert body["backend"] == "imaging"
    assert body["examinations"] == 1250


def test_search_answers(host):
    got = _get(host, f"http://127.0.0.1:{PORT}/api/v1/studies/search?page_size=5")
    assert got["status"] == 200, got


def test_processes_run_as_the_service_user(host):
    main_pid = _show(host, "imaging-api.service", "MainPID")
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
    want = {
        "User": "imaging-api",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "RestrictSUIDSGID": "yes",
        "Type": "notify",
    }
    got = {prop: _show(host, "imaging-api.service", prop) for prop in want}
    assert got == want


def test_logs_in_the_journal(host):
    log = host.check_output("journalctl -u imaging-api.service --no-pager -n 200")
    assert "Listening at" in log


def test_migrations_applied(host):
    out = host.run(
        "systemd-run --quiet --wait --pipe --collect --property=User=imaging-api "
        "--property=EnvironmentFile=/etc/radiology/imaging.env /opt/radiology/imaging/current/bin/imaging-api "
        "migrate --check"
    )
    assert out.rc == 0, out.stdout + out.stderr


def test_installed_version_recorded(host):
    fact = json.loads(host.file("/etc/ansible/facts.d/imaging_api.fact").content_string)
    assert fact["version"] == "1.0.0"
    assert host.file(fact["venv"] + "/.installed").content_string.strip() == fact["artifact_id"]
    assert host.file("/opt/radiology/imaging/current").linked_to == fact["venv"]


def test_restart_under_load_refuses_no_connection(host):
    out = host.run("python3 -c %s", LOAD % HEALTH)
    assert out.rc == 0, out.stderr
    tally = json.loads(out.stdout)
    assert tally["restart_rc"] == 0
    assert tally["errors"] == [], tally["errors"][:5]
    assert tally["ok"] > 50, tally
    assert _get(host, HEALTH)["status"] == 200
