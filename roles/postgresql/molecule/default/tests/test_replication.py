"""The standby: streaming through its slot over TLS, synchronous, read-only; its role replicates only."""

import time

import testinfra

testinfra_hosts = ["molecule-pg-db"]

STANDBY = "molecule_pg_db2"


def psql(host, sql, db="postgres"):
    out = host.run("runuser -u postgres -- psql -XAtd %s -c %s", db, sql)
    assert out.rc == 0, out.stderr
    return out.stdout.strip()


def standby():
    return testinfra.get_host("docker://molecule-pg-db2")


def test_the_standby_streams_synchronously_over_tls_through_its_slot(host):
    row = psql(
        host,
        "select r.state, r.sync_state, s.ssl, r.usename from pg_stat_replication r join pg_stat_ssl s using (pid) "
        f"where r.application_name = '{STANDBY}'",
    )
    assert row == "streaming|quorum|t|replicator"
    assert psql(host, f"select active from pg_replication_slots where slot_name = '{STANDBY}'") == "t"
    assert psql(host, "show synchronous_standby_names") == f'ANY 1 ("{STANDBY}")'


def test_a_committed_write_is_on_the_standby(host):
    marker = f"probe-{time.time_ns()}"
    psql(host, "create table if not exists replication_probe (v text)")
    psql(host, f"insert into replication_probe values ('{marker}')")
    for _ in range(50):
        if psql(standby(), f"select count(*) from replication_probe where v = '{marker}'") == "1":
            return
        time.sleep(0.1)
    raise AssertionError("the write did not reach the standby within 5 s")


def test_the_standby_is_read_only():
    out = standby().run("runuser -u postgres -- psql -XAtc %s", "create table refused (v int)")
    assert out.rc != 0 and "read-only transaction" in out.stderr
    assert psql(standby(), "select pg_is_in_recovery()") == "t"


def test_replication_role_replicates_and_nothing_else(host):
    assert (
        psql(
            host,
            "select rolreplication, rolsuper, rolcreatedb, rolcreaterole from pg_roles where rolname = 'replicator'",
        )
        == "t|f|f|f"
    )
    assert (
        psql(
            host,
            "select count(*) from pg_database d where has_database_privilege('replicator', d.oid, 'CONNECT') "
            "and datname = 'imaging'",
        )
        == "0"
    )


def test_replication_is_admitted_over_tls_only_for_the_replication_role(host):
    hba = host.file("/etc/postgresql/15/main/pg_hba.conf").content_string
    rules = [line.split() for line in hba.splitlines() if line.split() and line.split()[1:2] == ["replication"]]
    assert rules and all(rule[0] == "hostssl" and rule[2] == "replicator" for rule in rules)


def test_the_standby_keeps_its_password_to_itself():
    passfile = standby().file("/var/lib/postgresql/.pgpass-replication")
    assert (passfile.user, passfile.mode) == ("postgres", 0o600)
    conf = standby().file("/etc/postgresql/15/main/conf.d/90-radiology.conf").content_string
    assert "sslmode=verify-full" in conf and "passfile=" in conf and "password=" not in conf
