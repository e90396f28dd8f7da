"""The playbooks fail within seconds, naming what is missing, before they touch a host."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NO_HOST = "ansible_host=radiology-test-no-such-container"
SECRETS = ("IMAGING_DB_PASSWORD", "IMAGING_DB_OWNER_PASSWORD", "IMAGING_SECRET_KEY", "LEGACY_ADMIN_TOKEN")


def _run(playbook: str, env_overrides: dict[str, str], *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update(env_overrides, PATH=f"{BIN}:{env.get('PATH', '')}", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    # The run's folder (phases, report) in a temporary place, not under the repository's reports/.
    env["RADIOLOGY_RUN_DIR"] = tempfile.mkdtemp(prefix="preflight-")
    started = time.monotonic()
    proc = subprocess.run(
        # Every host is pointed at a container that does not exist: should a check ever let a run through, it
        # fails as unreachable instead of changing a lab that happens to be up.
        [str(BIN / "ansible-playbook"), "-i", "inventories/lab/hosts.yml", "-e", NO_HOST, playbook, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc, time.monotonic() - started


@pytest.mark.parametrize("playbook", ["site.yml", "cutover.yml", "rollback.yml"])
def test_missing_secrets_are_named_at_once(playbook):
    proc, seconds = _run(playbook, {})
    assert proc.returncode != 0
    for var, env in (
        ("radiology_db_password", "IMAGING_DB_PASSWORD"),
        ("radiology_db_owner_password", "IMAGING_DB_OWNER_PASSWORD"),
        ("imaging_api_secret_key", "IMAGING_SECRET_KEY"),
    ):
        assert f"{var} is missing" in proc.stdout, proc.stdout[-2000:]
        assert env in proc.stdout
    assert "changed=0" in proc.stdout and "UNREACHABLE" not in proc.stdout  # checked on the controller only
    assert seconds < 60


def test_a_short_secret_is_refused():
    proc, _ = _run(
        "site.yml",
        {
            "IMAGING_DB_PASSWORD": "short",
            "IMAGING_DB_OWNER_PASSWORD": "Pw4-owner-Xz9qL2",
            "IMAGING_SECRET_KEY": "k" * 40,
            "LEGACY_ADMIN_TOKEN": "t" * 20,
        },
    )
    assert proc.returncode != 0
    assert "radiology_db_password is missing or shorter than 12 characters" in proc.stdout
    assert "imaging_api_secret_key is missing" not in proc.stdout


@pytest.mark.parametrize("playbook", ["site.yml", "cutover.yml", "rollback.yml", "playbooks/lab_up.yml"])
def test_playbooks_parse(playbook):
    proc, _ = _run(playbook, {}, "--syntax-check")
    assert proc.returncode == 0, proc.stderr[-2000:]
