"""The hosts after the night: the new service serves every examination behind nginx, the legacy is kept, frozen.

The side effect ends with a successful cutover and a re-run that changed nothing, so these are the promises of
a finished cutover: checked on the hosts themselves, not through the playbooks' own reports.
"""

import json
import os
import shlex
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from radiology_contract.frontdoor import CA_FILE_ENV, CREDENTIALS_FILE_ENV, FrontDoor
from radiology_testkit.hosts import connects, request

testinfra_hosts = ["cutover-db", "cutover-db2", "cutover-app1", "cutover-app2", "cutover-legacy", "cutover-web"]

EXAMINATIONS = 1250  # rows of the generated lab workbook (artifacts/data/examinations.xlsx)


def _name(host):
    return host.backend.get_hostname()


# The controller's way in, as the playbooks' tools take it (molecule.yml): nginx through the published ports,
# verified against the scenario's CA, logged in from the credentials file.
WEB = "https://127.0.0.1:18443"
PLAIN = "http://127.0.0.1:18080"
_EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "."))
_REPORTS = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", ".")) / "reports" / "molecule-cutover"
FRONT_DOOR = FrontDoor.from_env(
    os.environ.get(CA_FILE_ENV) or _EPHEMERAL / "pki" / "ca.crt",
    os.environ.get(CREDENTIALS_FILE_ENV) or _EPHEMERAL / "web.credentials",
)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def front(path, method="GET", body=None, login=True, context=None, base=WEB):
    """{"status", "headers" (lower-case names), "body"} of one request to nginx from the controller."""
    headers = {"Content-Type": "application/json", **(FRONT_DOOR.headers() if login else {})}
    opener = urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=context or FRONT_DOOR.ssl_context())
    )
    req = urllib.request.Request(base + path, method=method, data=body.encode() if body else None, headers=headers)
    try:
        resp = opener.open(req, timeout=15)
    except urllib.error.HTTPError as error:
        resp = error
    return {"status": resp.status, "headers": {k.lower(): v for k, v in resp.headers.items()}, "body": resp.read()}


def _only(host, *names):
    if _name(host) not in {f"cutover-{n}" for n in names}:
        pytest.skip(f"not a {'/'.join(names)} host")


def _standby(host):
    return host.check_output("su postgres -c %s", "psql -tAc 'SELECT pg_is_in_recovery()'") == "t"


def _only_db(host, role):
    """Step 8 fails the primary over to cutover-db2 and step 9 makes cutover-db its standby: the roles are read."""
    _only(host, "db", "db2")
    if _standby(host) != (role == "standby"):
        pytest.skip(f"not the {role}")


def test_after_the_failover_db2_is_the_primary_and_db_its_standby(host):
    _only(host, "db", "db2")
    assert _standby(host) == (_name(host) == "cutover-db")


def test_postgresql_holds_every_examination(host):
    _only(host, "db", "db2")
    assert host.service("postgresql").is_running
    count = host.check_output("su postgres -c %s", "psql -tAc 'SELECT count(*) FROM examinations' imaging")
    assert int(count) == EXAMINATIONS
    query = "SELECT count(*) FROM pg_proc WHERE proname = 'cutover_fault_changed_field'"
    faults = host.check_output("su postgres -c %s", f'psql -tAc "{query}" imaging')
    assert int(faults) == 0, "the fault the scenario seeded (step 4) was left behind"


def test_the_standby_streams_and_holds_every_row_the_primary_has(host):
    _only_db(host, "standby")
    primary = host.get_host("docker://" + ({"cutover-db", "cutover-db2"} - {_name(host)}).pop())
    state = primary.check_output(
        "su postgres -c %s", "psql -tAc \"SELECT state || ' ' || sync_state FROM pg_stat_replication\""
    )
    assert state == "streaming quorum"
    query = "SELECT (SELECT count(*) FROM examinations) || ' ' || (SELECT count(*) FROM analysis_tasks)"
    lsn = primary.check_output("su postgres -c %s", "psql -tAc 'SELECT pg_current_wal_lsn()'")
    for _ in range(50):  # replay of the last commits (flushed there before they returned, replayed a moment later)
        if host.check_output("su postgres -c %s", f"psql -tAc \"SELECT pg_last_wal_replay_lsn() >= '{lsn}'\"") == "t":
            break
        time.sleep(0.1)
    ours = host.check_output("su postgres -c %s", f'psql -tAc "{query}" imaging')
    assert ours == primary.check_output("su postgres -c %s", f'psql -tAc "{query}" imaging')
    assert ours.split()[0] == str(EXAMINATIONS)


def test_backups_of_the_database_and_its_wal(host):
    _only_db(host, "primary")
    info = json.loads(host.check_output("su postgres -c %s", "pgbackrest --stanza=imaging --output=json info"))[0]
    assert info["status"]["code"] == 0 and info["backup"], info["status"]
    assert host.check_output("su postgres -c %s", "psql -tAc 'SELECT archived_count > 0 FROM pg_stat_archiver'") == "t"
    # every cutover that migrated took a backup in its preflight, named in its backup.json: it is in the repository
    named = {json.loads(p.read_text())["pgbackrest"]["label"] for p in _REPORTS.glob("*/backup.json")}
    assert len(named) >= 4, f"backups named by the cutovers under {_REPORTS}: {named}"
    assert named <= {b["label"] for b in info["backup"]}, [b["label"] for b in info["backup"]]


def _switched(report):
    """A run whose gates ran (verify.json) and whose switch did (a re-run with nothing to do switches nothing)."""
    phases = json.loads(report.read_text()).get("phases", [])
    switch = any(p.get("phase") == "switch" and p.get("status") in ("ok", "changed") for p in phases)
    return switch and (report.parent / "verify.json").exists()


def test_every_cutover_that_switched_reports_the_standby_lag_at_the_switch():
    switched = [r for r in sorted(_REPORTS.glob("*/report.json")) if _switched(r)]
    assert switched, f"no cutover that switched under {_REPORTS}"
    for report in switched:
        figure = json.loads(report.read_text())["figures"].get("standby_lag")
        assert figure and figure["seconds"] is not None and figure["standbys"], report


def test_every_rollback_verified_the_tasks_before_the_unfreeze_and_the_history_after():
    """Steps 3 and 5: writes waited only for the tasks' verification; the examinations and reports were verified
    against the same snapshot once the legacy took writes again, and both found everything equal."""
    rollbacks = sorted(p.parent for p in _REPORTS.glob("*/verify-rollback.json"))
    assert len(rollbacks) >= 2, f"the rollbacks of steps 3 and 5 under {_REPORTS}: {rollbacks}"
    for run in rollbacks:
        tasks = json.loads((run / "verify-rollback.json").read_text())
        history = json.loads((run / "verify-rollback-history.json").read_text())
        assert tasks["ok"] and tasks["tables"] == ["analysis_tasks"], run
        assert history["ok"] and history["tables"] == ["examinations", "reports"], run
        assert history["snapshot"] == tasks["snapshot"], run
        assert history["rows_verified"] >= 1250, run
        report = json.loads((run / "report.json").read_text())
        phases = [p["phase"] for p in report["phases"]]
        assert phases.index("rollback-unfreeze") < phases.index("rollback-verify-history"), (run, phases)
        # The carry-back's record: its three steps in the order they ran, each timed, every row taken.
        carried = json.loads((run / "carry-back.json").read_text())
        assert carried["ok"] and list(carried["steps"]) == ["freeze-barrier", "export-tasks", "push-tasks"], run
        assert all(step["step_seconds"] > 0 for step in carried["steps"].values()), run
        pushed = carried["steps"]["push-tasks"]["result"]
        assert pushed["received"] == carried["steps"]["export-tasks"]["tasks"] > 0, run
        assert any(line.startswith("Tasks carried back to the legacy: ") for line in report["headline"]), run


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
    health = front("/imaging/api/v1/health")
    assert health["status"] == 200 and health["headers"]["x-backend"] == "imaging"


def test_the_front_door_is_https_only_and_for_logged_in_users():
    # Plain HTTP answers a redirect to the published HTTPS port and nothing else.
    for path in ("/", "/imaging/api/v1/studies/search?q=a"):
        plain = front(path, base=PLAIN)
        assert plain["status"] == 301 and plain["headers"]["location"] == WEB + path, plain
    # Without the login: 401 on a page and on the API (the contract's envelope), HSTS on both.
    page, api = front("/", login=False), front("/imaging/api/v1/health", login=False)
    assert page["status"] == 401 and api["status"] == 401, (page, api)
    assert json.loads(api["body"])["error"]["code"] == "unauthorized"
    for resp in (page, api, front("/")):
        assert resp["headers"]["strict-transport-security"].startswith("max-age="), resp["headers"]
    # A client that does not trust the site's CA gets no connection at all.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        front("/", context=ssl.create_default_context())


def test_both_app_hosts_are_in_the_upstream(host):
    _only(host, "web")
    config = host.check_output("nginx -T 2>/dev/null")
    assert "cutover-app1:8001" in config and "cutover-app2:8001" in config


@pytest.mark.parametrize(("server", "port"), [("cutover-app1", 8001), ("cutover-app2", 8001), ("cutover-legacy", 8000)])
def test_only_the_web_host_reaches_a_backend(host, server, port):
    if _name(host) == server:
        pytest.skip("the backend's own host (loopback is allowed)")
    assert connects(host, server, port) == (_name(host) == "cutover-web")


_SPOOF = """
import sys, urllib.error, urllib.request
headers = {"Host": "127.0.0.1", "X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1",
           "X-Admin-Token": sys.argv[1], "Content-Type": "application/json"}
req = urllib.request.Request("http://cutover-legacy:8000/api/v1/admin/tasks/sync", data=b"[]", headers=headers,
                             method="POST")
try:
    print(urllib.request.urlopen(req, timeout=10).status)
except urllib.error.HTTPError as error:
    print(error.code)
"""


def test_a_spoofed_forwarded_for_does_not_open_the_legacy_admin_endpoints(host):
    _only(host, "web")
    legacy = host.get_host("docker://cutover-legacy")
    token = next(
        line.split("=", 1)[1].strip('"')
        for line in legacy.file("/etc/radiology/legacy.env").content_string.splitlines()
        if line.startswith("LEGACY_ADMIN_TOKEN=")
    )
    # From the web host (an allowed peer, not loopback), with the right token and every header that could claim
    # loopback: the legacy judges the real peer and answers 404.
    spoofed = host.check_output(
        "python3 -c %s %s",
        _SPOOF,
        token,
    )
    assert spoofed == "404", spoofed
    through_nginx = front("/legacy/api/v1/admin/snapshot", method="POST", body="{}")
    assert through_nginx["status"] == 404


def _as_runtime_role(host, sql):
    script = f"SET ROLE imaging; {sql}"
    return host.run("su postgres -c %s", f"psql -q -v ON_ERROR_STOP=1 -XAtc {shlex.quote(script)} imaging")


@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE examinations",
        "DROP TABLE examinations",
        "ALTER TABLE examinations ADD COLUMN x int",
        "DELETE FROM examinations",
        "UPDATE exam_reports SET report_text = ''",
        "CREATE TABLE stray (id int)",
    ],
)
def test_the_runtime_role_cannot_change_the_data_or_the_schema(host, sql):
    _only_db(host, "primary")
    result = _as_runtime_role(host, sql)
    refused = "permission denied" in result.stderr or "must be owner" in result.stderr
    assert result.rc != 0 and refused, (result.stdout, result.stderr)


def test_the_runtime_role_reads_and_owns_nothing(host):
    _only_db(host, "primary")
    assert _as_runtime_role(host, "SELECT count(*) FROM examinations").stdout.strip() == str(EXAMINATIONS)
    owners = host.check_output(
        "su postgres -c %s",
        "psql -XAtc \"SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'\" imaging",
    )
    assert owners.split() == ["imaging_owner"]
    config = host.check_output(
        "su postgres -c %s", "psql -XAtc \"SELECT rolconfig FROM pg_roles WHERE rolname = 'imaging'\""
    )
    assert "statement_timeout=" in config


@pytest.mark.parametrize(
    ("name", "path", "mode"),
    [
        ("legacy", "/etc/radiology/migrate.dsn", 0o600),
        ("legacy", "/var/lib/radiology/migration", 0o700),
        ("legacy", "/etc/radiology/legacy-admin.token", 0o600),
        ("legacy", "/var/lib/radiology/legacy/snapshots", 0o700),
        ("db", "/var/backups/radiology", 0o700),
        ("db", "/etc/pgbackrest.conf", 0o640),  # the repository's key: root and the postgres group
        ("db", "/var/lib/pgbackrest", 0o750),
        ("db2", "/var/lib/postgresql/.pgpass-replication", 0o600),
        ("db", "/var/lib/postgresql/.pgpass-replication", 0o600),  # the standby since step 9
        ("db2", "/etc/pgbackrest.conf", 0o640),
    ],
)
def test_secrets_and_patient_data_at_rest_are_root_or_owner_only(host, name, path, mode):
    _only(host, name)
    assert host.file(path).mode == mode


def test_the_owner_roles_password_is_only_where_the_migration_runs(host):
    _only(host, "app1", "app2")
    assert not host.file("/etc/radiology/migrate.dsn").exists


def test_dumps_are_owner_only_and_only_the_newest_kept(host):
    _only(host, "db")
    dumps = host.check_output("find /var/backups/radiology -name '*.dump' -printf '%m\\n'").split()
    assert dumps and set(dumps) == {"600"}
    assert len(dumps) <= 3
