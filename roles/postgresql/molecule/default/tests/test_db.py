"""The role's promises, checked on the converged containers: the database host."""

testinfra_hosts = ["molecule-pg-db"]


def test_service_running_and_enabled(host):
    unit = host.service("postgresql@15-main")
    assert unit.is_running
    assert unit.is_enabled


def test_listens_on_tcp(host):
    assert host.socket("tcp://0.0.0.0:5432").is_listening


def test_password_stored_as_scram(host):
    out = host.run(
        "runuser -u postgres -- psql -XAtc "
        "\"select rolpassword like 'SCRAM-SHA-256$%' from pg_authid where rolname='imaging'\""
    )
    assert out.stdout.strip() == "t", out.stderr


def test_app_role_least_privilege(host):
    out = host.run(
        'runuser -u postgres -- psql -XAtc "select rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls '
        "from pg_roles where rolname='imaging'\""
    )
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "f|f|f|f|f"


def test_owner_role_owns_the_database_and_the_runtime_role_nothing(host):
    query = (
        "select r.rolname, d.datname from pg_database d join pg_roles r on r.oid = d.datdba "
        "where r.rolname in ('imaging', 'imaging_owner') order by 1"
    )
    out = host.run("runuser -u postgres -- psql -XAtc %s", query)
    assert out.stdout.split() == ["imaging_owner|imaging"]


def test_runtime_role_statements_are_bounded(host):
    out = host.run("runuser -u postgres -- psql -XAtc %s", "select rolconfig from pg_roles where rolname = 'imaging'")
    assert "statement_timeout=25s" in out.stdout


def test_only_tls_over_tcp(host):
    hba = host.file("/etc/postgresql/15/main/pg_hba.conf").content_string
    rules = [line.split() for line in hba.splitlines() if line.split() and line.split()[0].startswith("host")]
    assert {rule[0] for rule in rules if rule[-1] != "reject"} == {"hostssl"}
    key = host.file("/etc/postgresql/15/main/tls/server.key")
    assert (key.user, key.mode) == ("postgres", 0o600)


def test_pg_trgm_installed(host):
    out = host.run(
        "runuser -u postgres -- psql -d imaging -XAtc \"select extname from pg_extension where extname='pg_trgm'\""
    )
    assert out.stdout.strip() == "pg_trgm"


def test_no_trust_over_tcp(host):
    hba = host.file("/etc/postgresql/15/main/pg_hba.conf").content_string
    for line in hba.splitlines():
        fields = line.split()
        if fields and fields[0].startswith("host"):
            assert fields[-1] != "trust", line
