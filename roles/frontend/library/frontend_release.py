#!/usr/bin/python
"""Point `current` at a staged frontend release in one task: the whole of a cutover's (or rollback's) switch."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: frontend_release
short_description: Activate a frontend release already on the host (the atomic current flip) and record it
description:
  - Checks that O(root)/releases/O(release) is on the host, complete (it holds its C(.release.json), written last
    before the release was moved into place) and built for O(backend); that O(root)/current is a symlink or absent.
  - With O(activate), points O(root)/current at C(releases/)O(release) by creating a new symlink beside it and
    renaming it over current (rename(2)): there is no moment without current, and no request sees half a switch.
  - Records the active release and backend, and what was active before and when, in the local fact O(fact_file)
    (C(ansible_local.radiology_frontend) at the next fact gathering), replaced atomically too.
  - Everything is done in one task on purpose: the cutover's switch phase is this task and nothing else, so users'
    writes are frozen for as little time as possible. Copying and pruning releases stay in the role's main tasks.
  - With O(activate=false) it only checks the release and reports what is active (nothing changes).
options:
  root:
    description: Directory holding C(releases/) and the C(current) symlink.
    type: path
    required: true
  release:
    description: The release to activate (a directory name under C(releases/)).
    type: str
    required: true
  backend:
    description: The backend the release must have been deployed for (its C(.release.json) says).
    type: str
    required: true
  activate:
    description: Point current at the release; false only checks it.
    type: bool
    default: true
  fact_file:
    description: The local fact file recording the active release.
    type: path
    default: /etc/ansible/facts.d/radiology_frontend.fact
  meta_name:
    description: Name of the metadata file inside each release.
    type: str
    default: .release.json
"""

RETURN = r"""
active_before:
  description: The release current pointed at before this task ("" when there was none).
  type: str
  returned: always
fact:
  description: The local fact as recorded (or as it would be, in check mode).
  type: dict
  returned: always
"""


class ReleaseError(Exception):
    """The release cannot be activated: the message names the host's path and what is wrong."""


def read_json(path: str) -> dict[str, Any]:
    """The JSON object in `path`; {} when the file is missing, unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as fh:
            document = json.load(fh)
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def active_release(current: str) -> str:
    """The release `current` points at ("" when absent); refuses a current that is not a symlink."""
    if os.path.islink(current):
        return os.path.basename(os.readlink(current).rstrip("/"))
    if os.path.lexists(current):
        raise ReleaseError(f"{current} exists but is not a symlink; move it away first")
    return ""


def check_release(root: str, release: str, backend: str, meta_name: str) -> None:
    """Refuse a release that is missing, incomplete or deployed for another backend."""
    release_dir = os.path.join(root, "releases", release)
    if not os.path.isdir(release_dir):
        raise ReleaseError(f"release {release} is not on this host ({release_dir} is missing): deploy it first")
    meta_path = os.path.join(release_dir, meta_name)
    meta = read_json(meta_path)
    if not meta:
        raise ReleaseError(f"release {release} is incomplete: {meta_path} is missing or not JSON")
    if meta.get("backend") != backend:
        raise ReleaseError(f"release {release} was deployed for backend {meta.get('backend')}, not {backend}")


def local_fact(
    release: str, *, backend: str, active: str, fact_before: dict[str, Any], active_meta: dict[str, Any], now: str
) -> dict[str, Any]:
    """The local fact after activating `release` (built for `backend`).

    `active` is the release current pointed at before ("" when none), `fact_before` the fact recorded then ({} when
    none) and `active_meta` the active release's metadata. Switching records what was active as the previous release
    and backend, and when; re-activating the active release keeps the record.
    """
    if active == release:
        return {
            "release": release,
            "backend": backend,
            "previous_release": fact_before.get("previous_release"),
            "previous_backend": fact_before.get("previous_backend"),
            "switched_at": fact_before.get("switched_at") or now,
        }
    if active and fact_before.get("release") == active:
        previous_backend = fact_before.get("backend")
    else:
        previous_backend = active_meta.get("backend")
    return {
        "release": release,
        "backend": backend,
        "previous_release": active or None,
        "previous_backend": previous_backend,
        "switched_at": now,
    }


def replace_symlink(target: str, link: str) -> None:
    """Point `link` at `target` with one rename(2) of a new symlink made beside it."""
    folder = os.path.dirname(link) or "."
    tmp = os.path.join(folder, f".{os.path.basename(link)}.{os.getpid()}.tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    try:
        os.rename(tmp, link)
    except OSError:
        os.unlink(tmp)
        raise


def write_json(path: str, document: dict[str, Any]) -> None:
    """Replace `path` atomically with `document` (0644, root's)."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(document, indent=4, sort_keys=True) + "\n")
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def activate(
    root: str, release: str, backend: str, *, fact_file: str, meta_name: str, apply: bool, now: str
) -> tuple[bool, str, dict[str, Any]]:
    """Check and (unless `apply` is false) activate the release: (changed, active before, fact)."""
    check_release(root, release, backend, meta_name)
    current = os.path.join(root, "current")
    active = active_release(current)
    fact_before = read_json(fact_file)
    active_meta = read_json(os.path.join(root, "releases", active, meta_name)) if active and active != release else {}
    fact = local_fact(
        release, backend=backend, active=active, fact_before=fact_before, active_meta=active_meta, now=now
    )
    changed = active != release or fact_before != fact
    if changed and apply:
        if active != release:
            replace_symlink(f"releases/{release}", current)
        write_json(fact_file, fact)
    return changed, active, fact


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "release": {"type": "str", "required": True},
            "backend": {"type": "str", "required": True},
            "activate": {"type": "bool", "default": True},
            "fact_file": {"type": "path", "default": "/etc/ansible/facts.d/radiology_frontend.fact"},
            "meta_name": {"type": "str", "default": ".release.json"},
        },
        supports_check_mode=True,
    )
    p = module.params
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017 (hosts may run Python < 3.11)
    if module.check_mode and not os.path.isdir(os.path.join(p["root"], "releases", p["release"])):
        # A --check run before the release is copied: the copy would happen first, so the flip would change current.
        module.exit_json(changed=bool(p["activate"]), active_before="", fact=read_json(p["fact_file"]))
    try:
        changed, active, fact = activate(
            p["root"],
            p["release"],
            p["backend"],
            fact_file=p["fact_file"],
            meta_name=p["meta_name"],
            apply=p["activate"] and not module.check_mode,
            now=now,
        )
    except (ReleaseError, OSError) as e:
        module.fail_json(msg=f"frontend: {e}")
    if not p["activate"]:
        # Only checked: what is active stays as it is, and the fact returned is the recorded one.
        module.exit_json(changed=False, active_before=active, fact=read_json(p["fact_file"]))
    before = f"releases/{active}" if active else ""
    diff = {"before": {"current": before}, "after": {"current": f"releases/{p['release']}"}}
    module.exit_json(changed=changed, active_before=active, fact=fact, diff=diff)


if __name__ == "__main__":
    main()
