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
