"""The role's promises, checked on the converged containers: an allowed client (app group)."""

from radiology_testkit.hosts import psql

testinfra_hosts = ["molecule-pg-app"]


DB = "molecule-pg-db"


def _psql(host, password, sql, user="imaging", db="imaging"):
    return psql(host, DB, password, sql, user=user, db=db)


def _password(host):
    return host.ansible.get_variables()["postgresql_app_password"]


def test_app_logs_in_over_tcp_with_its_password(host):
    result = _psql(host, _password(host), "select current_user")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "imaging"


def test_wrong_password_refused(host):
    result = _psql(host, "not-the-password", "select 1")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_superuser_not_reachable_over_tcp(host):
    result = _psql(host, _password(host), "select 1", user="postgres", db="postgres")
    assert result.rc != 0


CA = "/etc/ssl/certs/radiology-lab-ca.pem"


def _connect(host, server, sslmode, user="imaging", password=None):
    password = password or _password(host)
    return host.run(
        "PGPASSWORD=%s PGCONNECT_TIMEOUT=5 PGSSLMODE=%s PGSSLROOTCERT=%s psql -h %s -U %s -d imaging -XAtc %s",
        password,
        sslmode,
        CA,
        server,
        user,
        "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
    )


def test_tls_with_the_certificate_and_name_checked(host):
    result = _connect(host, DB, "verify-full")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "t"


def test_plain_tcp_is_refused(host):
    result = _connect(host, DB, "disable")
    assert result.rc != 0
    assert "no encryption" in result.stderr, result.stderr


def test_a_name_the_certificate_does_not_hold_is_refused(host):
    address = host.check_output("getent hosts %s", DB).split()[0]
    result = _connect(host, address, "verify-full")
    assert result.rc != 0
    assert "does not match host name" in result.stderr, result.stderr


def test_the_owner_logs_in_and_the_runtime_role_creates_nothing(host):
    owner = host.ansible.get_variables()["postgresql_owner_password"]
    created = _psql(host, owner, "create table owner_probe (x int); drop table owner_probe", user="imaging_owner")
    assert created.rc == 0, created.stderr
    refused = _psql(host, _password(host), "create table runtime_probe (x int)")
    assert refused.rc != 0 and "permission denied" in refused.stderr, refused.stderr
