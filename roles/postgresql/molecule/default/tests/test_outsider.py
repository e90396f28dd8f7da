"""The role's promises, checked on the converged containers: a host outside the app group."""

from radiology_testkit.hosts import psql

testinfra_hosts = ["molecule-pg-outsider"]


DB = "molecule-pg-db"


def _psql(host, password, sql, user="imaging", db="imaging"):
    return psql(host, DB, password, sql, user=user, db=db)


def _password(host):
    return host.ansible.get_variables()["postgresql_app_password"]


def test_other_hosts_refused(host):
    result = _psql(host, _password(host), "select 1")
    assert result.rc != 0
    assert "rejects connection" in result.stderr or "no pg_hba.conf entry" in result.stderr
