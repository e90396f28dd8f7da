import psycopg
import pytest
from radiology_testkit.postgres import running_postgres


def test_cluster_starts_accepts_tcp_and_is_removed():
    with running_postgres() as pg:
        dsn = pg.create_database("kit_probe")
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT current_setting('server_encoding'), current_setting('lc_collate'), "
                "current_setting('fsync'), current_user, inet_server_addr()::text"
            ).fetchone()
        assert row == ("UTF8", "C.UTF-8", "off", "postgres", "127.0.0.1/32")
        pg.create_role("kit_app", "s3cret")
        pg.create_database("kit_owned", owner="kit_app")
        with psycopg.connect(pg.dsn("kit_owned", user="kit_app", password="s3cret")) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("kit_app",)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pg.dsn("kit_owned", user="kit_app", password="wrong"))
        data_dir = pg.data_dir
        assert data_dir.is_dir()
    assert not data_dir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg.dsn(), connect_timeout=2)


def test_identifiers_are_checked():
    with running_postgres() as pg, pytest.raises(ValueError, match="identifier"):
        pg.create_database('bad"; DROP')
