"""No unsafe way to run the playbooks: unsafe phase selections, --limit and weak secrets are refused by the
preflight, on the controller, before any host is touched (the lab inventory's hosts need not exist)."""

import pytest
from test_preflight import _run

GOOD_SECRETS = {
    "IMAGING_DB_PASSWORD": "Zq8vT3nW5kR1pL7x",
    "IMAGING_DB_OWNER_PASSWORD": "Ow7rP2mQ9vX4kL1z",
    "IMAGING_SECRET_KEY": "Hq3ZrW8mB1yD6fK0sV5nJ2cT9gX4pL7aE3uRw1Yb",
    "LEGACY_ADMIN_TOKEN": "Yt5Kw2Nq8Rz1Lm4Bv7Xc",
}


@pytest.mark.parametrize(
    ("playbook", "args", "refusal"),
    [
        (
            "cutover.yml",
            ["--tags", "switch"],
            "cannot run without ['stage', 'freeze', 'migrate', 'gates', 'unfreeze', 'watch']",
        ),
        (
            "cutover.yml",
            ["--tags", "switch,unfreeze,watch"],
            "cannot run without ['stage', 'freeze', 'migrate', 'gates']",
        ),
        ("cutover.yml", ["--tags", "unfreeze"], "cannot run without"),
        (
            "cutover.yml",
            ["--tags", "freeze,migrate,gates"],
            "cannot run without ['stage', 'switch', 'unfreeze', 'watch']",
        ),
        ("cutover.yml", ["--skip-tags", "stage"], "cannot run without ['stage']"),
        ("cutover.yml", ["--skip-tags", "gates"], "cannot run without ['gates']"),
        ("cutover.yml", ["--skip-tags", "watch"], "cannot run without ['watch']"),
        ("cutover.yml", ["--tags", "swtich"], "unknown tags ['swtich']"),
        ("cutover.yml", ["--skip-tags", "always"], "--skip-tags always would skip"),
        ("cutover.yml", ["--limit", "web"], "cannot run with --limit web"),
        ("rollback.yml", ["--tags", "rollback-switch"], "rollback.yml takes no --tags or --skip-tags"),
        ("rollback.yml", ["--skip-tags", "preflight"], "rollback.yml takes no --tags or --skip-tags"),
        ("rollback.yml", ["--skip-tags", "always"], "--skip-tags always would skip"),
        ("rollback.yml", ["--limit", "app"], "cannot run with --limit app"),
    ],
)
def test_unsafe_selections_are_refused_before_any_host(playbook, args, refusal):
    proc, seconds = _run(playbook, GOOD_SECRETS, *args)
    assert proc.returncode != 0
    assert refusal in proc.stdout, proc.stdout[-3000:]
    assert "Valid selections" in proc.stdout or "--skip-tags always" in refusal or "--limit" in refusal
    assert "UNREACHABLE" not in proc.stdout  # refused on the controller, no host contacted
    assert seconds < 60


@pytest.mark.parametrize(
    ("secrets", "problem"),
    [
        ({"IMAGING_DB_PASSWORD": "change-me-db-password"}, "radiology_db_password looks like a placeholder"),
        ({"LEGACY_ADMIN_TOKEN": "aaaaaaaaaaaaaaaaaaaa"}, "legacy_api_admin_token looks like a placeholder"),
        (
            {"LEGACY_ADMIN_TOKEN": GOOD_SECRETS["IMAGING_SECRET_KEY"]},
            "legacy_api_admin_token is the same as imaging_api_secret_key",
        ),
    ],
)
def test_weak_secrets_are_refused_naming_the_variable_never_the_value(secrets, problem):
    env = {**GOOD_SECRETS, **secrets}
    # Refused in the preflight, so the run never reaches a host (a strong set of secrets would provision the lab:
    # that case is tested on the filter, tests/plugins/test_radiology_run.py).
    proc, _ = _run("site.yml", env, "--limit", "web")
    assert proc.returncode != 0
    assert problem in proc.stdout, proc.stdout[-3000:]
    for value in secrets.values():
        assert value not in proc.stdout
