"""pgBackRest: an encrypted repository both db hosts mount, WAL archived, a full backup, timers; the restore drill."""

import json
import os
from pathlib import Path

import testinfra

testinfra_hosts = ["molecule-pg-db"]


def info(host):
    out = host.run("runuser -u postgres -- pgbackrest --stanza=imaging --output=json info")
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)[0]


def test_a_full_backup_in_an_encrypted_repository(host):
    stanza = info(host)
    assert stanza["status"]["code"] == 0, stanza["status"]
    assert stanza["cipher"] == "aes-256-cbc"
    assert [b["type"] for b in stanza["backup"]][:1] == ["full"]
    conf = host.file("/etc/pgbackrest.conf")
    assert (conf.user, conf.group, conf.mode) == ("root", "postgres", 0o640)


def test_wal_is_archived(host):
    out = host.run("runuser -u postgres -- pgbackrest --stanza=imaging check")
    assert out.rc == 0, out.stderr + out.stdout
    # (Archiving fails for the few seconds between the restart that turns it on and the stanza's creation.)
    query = "select last_failed_time is null or last_archived_time > last_failed_time from pg_stat_archiver"
    assert host.run("runuser -u postgres -- psql -XAtc %s", query).stdout.strip() == "t"


def test_timers_on_every_db_host(host):
    for h in (host, testinfra.get_host("docker://molecule-pg-db2")):
        for kind in ("full", "diff"):
            timer = h.service(f"radiology-pgbackrest-{kind}.timer")
            assert timer.is_enabled and timer.is_running


def test_the_backup_service_does_nothing_on_a_standby():
    standby = testinfra.get_host("docker://molecule-pg-db2")
    unit = "radiology-pgbackrest@diff.service"
    standby.run(f"systemctl start {unit}")
    assert standby.run(f"systemctl show -P Result {unit}").stdout.strip() == "exec-condition"
    assert standby.run(f"systemctl is-failed {unit}").stdout.strip() != "failed"
    assert "backup command begin" not in standby.run(f"journalctl -u {unit} -o cat").stdout


def test_the_restore_drill_recovered_exactly_to_its_point(host):
    reports = sorted(Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "restore-drill").glob("*.json"))
    assert reports, "side_effect ran no restore drill"
    report = json.loads(reports[-1].read_text())
    assert report["ok"] and report["differing_tables"] == []
    assert report["live"] == report["restored"]
    (drill,) = [t for t in report["live"] if t["table_name"] == "drill_writes"]
    # The writer went on after the standby paused: the copy stops at the point, the primary has more.
    now = int(host.run("runuser -u postgres -- psql -XAtd imaging -c 'select count(*) from drill_writes'").stdout)
    assert 0 < drill["rows"] < now
    assert report["backup"]["type"] == "full" and report["restore_seconds"] > 0
    # The copy (patient data) is gone and nothing listens on the drill's port.
    standby = testinfra.get_host("docker://molecule-pg-db2")
    assert not standby.file("/var/lib/postgresql/radiology-drill").exists
    assert not standby.socket("unix:///var/run/postgresql/.s.PGSQL.5499").is_listening
