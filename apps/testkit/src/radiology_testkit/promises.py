"""What a service role promises of its host, asserted the same way wherever a scenario checks it: on the host a
role's own scenario has just converged (roles/imaging_api) and on the hosts of the end-to-end scenario after the
whole night (molecule/cutover). Each function takes testinfra's `host` fixture and fails with what it saw.
"""

from __future__ import annotations

import json
from typing import Any

from radiology_testkit.hosts import request, restart_under_load, show

IMAGING_CLI = "/opt/radiology/imaging/current/bin/imaging-api"
IMAGING_ENV = "/etc/radiology/imaging.env"
IMAGING_OWNER_ENV = "/etc/radiology/imaging-owner.env"


def _imaging_migrate_check(host: Any, *env_files: str) -> Any:
    """`imaging-api migrate --check` as the service user, with these environment files (later ones override)."""
    files = " ".join(f"--property=EnvironmentFile={f}" for f in env_files)
    return host.run(
        f"systemd-run --quiet --wait --pipe --collect --property=User=imaging-api {files} {IMAGING_CLI} migrate --check"
    )


def imaging_migrations_applied_as_the_owner(host: Any) -> None:
    """Every migration is applied, asked as the owner of the tables (its root-only file overrides the user and
    password of the service's)."""
    out = _imaging_migrate_check(host, IMAGING_ENV, IMAGING_OWNER_ENV)
    assert out.rc == 0, out.stdout + out.stderr
    owner = host.file(IMAGING_OWNER_ENV)
    assert (owner.user, owner.group, owner.mode) == ("root", "root", 0o600)


def imaging_runtime_role_refused_the_schema_history(host: Any) -> None:
    """The runtime role the service connects as has only what the service needs: not django_migrations."""
    out = _imaging_migrate_check(host, IMAGING_ENV)
    assert out.rc != 0 and "permission denied for table django_migrations" in out.stdout + out.stderr, out.stderr


def installed_version_recorded(host: Any, service: str, current: str, *, artifact: bool = False) -> None:
    """The role's local fact names version 1.0.0 and the virtualenv `current` points at (and, with `artifact`,
    the build the virtualenv was installed from)."""
    fact = json.loads(host.file(f"/etc/ansible/facts.d/{service}.fact").content_string)
    assert fact["version"] == "1.0.0", fact
    if artifact:
        assert host.file(fact["venv"] + "/.installed").content_string.strip() == fact["artifact_id"]
    assert host.file(current).linked_to == fact["venv"]


def restart_refuses_no_connection(host: Any, url: str, unit: str) -> None:
    """A restart of `unit` under a loop of requests to `url` refuses none of them (the socket stays with systemd),
    and the service answers afterwards."""
    tally = restart_under_load(host, url, unit)
    assert tally["restart_rc"] == 0
    assert tally["errors"] == [], tally["errors"][:5]
    assert tally["ok"] > 50, tally
    assert request(host, url)["status"] == 200


def processes_run_as(host: Any, unit: str, user: str, *, workers: bool) -> None:
    """The unit's main process runs as `user`; with `workers`, so do its children (at least one: gunicorn's
    workers), and without, it has none (one process: DuckDB has a single writer)."""
    main_pid = show(host, unit, "MainPID")
    assert int(main_pid) > 0, f"{unit} has no main process"
    assert host.check_output("ps -o user= -p %s", main_pid).strip() == user
    children = host.run("ps -o user= --ppid %s", main_pid).stdout.split()
    if workers:
        assert children and set(children) == {user}, children
    else:
        assert children == [], children


def no_login(host: Any, user: str) -> None:
    """The service user cannot log in: no shell, a locked password."""
    account = host.user(user)
    assert account.shell == "/usr/sbin/nologin"
    assert account.password in ("!", "*", "!*")


def private_env_file(host: Any, path: str, group: str, secret: str) -> str:
    """The environment file is root's, readable by the service's group only, and holds `secret`=; its text."""
    env = host.file(path)
    assert (env.user, env.group, env.mode) == ("root", group, 0o640)
    text = env.content_string
    assert f"{secret}=" in text
    return text
