"""The role's promises, checked on the converged containers: a host outside the app group, in
postgresql_owner_client_cidrs (as the cutover's legacy host is): the owner role only."""

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


def test_the_owner_role_alone_gets_in_from_an_owner_client(host):
    owner = host.ansible.get_variables()["postgresql_owner_password"]
    result = _psql(host, owner, "select current_user", user="imaging_owner")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "imaging_owner"
