#!/usr/bin/python
"""Ansible module: read a host's small state files, and whether marker files exist, in one round trip."""

from __future__ import annotations

import base64
import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: radiology_read_files
short_description: Read a host's small state files, and whether marker files exist, in one round trip
description:
  - Read-only; the same answer in check mode. Where users are and who may write is spread over a few small files
    per host (the release C(current) points at, the frontend's recorded fact, the write freeze markers, the run lock,
    an unfinished rollback). One task reads them all, where one M(ansible.builtin.slurp) or M(ansible.builtin.stat)
    per file cost a round trip each at the start and the end of every run.
  - A missing file is an answer (C(exists) false), not an error. Any other failure (no permission, a directory where
    a file should be, a file over O(max_bytes)) fails the task and names the path.
options:
  read:
    description: Name to path of each file whose content is returned, base64-encoded as M(ansible.builtin.slurp) does.
    type: dict
    default: {}
  exist:
    description: Name to path of each file of which only its existence is returned (a marker).
    type: dict
    default: {}
  max_bytes:
    description: The largest file O(read) returns; these are state files of a few hundred bytes.
    type: int
    default: 1048576
"""

RETURN = r"""
files:
  description: Per name of O(read) and O(exist), C(path) and C(exists); C(content) (base64) for a read file that exists.
  returned: always
  type: dict
"""


def read_files(read: dict[str, str], exist: dict[str, str], max_bytes: int) -> dict[str, dict[str, Any]]:
    """The answer for each name; raises OSError (naming the path) on anything but a missing file."""
    files: dict[str, dict[str, Any]] = {}
    for name, path in exist.items():
        files[name] = {"path": path, "exists": os.path.lexists(path)}
    for name, path in read.items():
        try:
            with open(path, "rb") as handle:
                content = handle.read(max_bytes + 1)
        except FileNotFoundError:
            files[name] = {"path": path, "exists": False}
            continue
        if len(content) > max_bytes:
            raise OSError(f"{path}: larger than {max_bytes} bytes, not a state file")
        files[name] = {"path": path, "exists": True, "content": base64.b64encode(content).decode("ascii")}
    return files


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "read": {"type": "dict", "default": {}},
            "exist": {"type": "dict", "default": {}},
            "max_bytes": {"type": "int", "default": 1048576},
        },
        supports_check_mode=True,
    )
    try:
        files = read_files(
            {str(k): str(v) for k, v in module.params["read"].items()},
            {str(k): str(v) for k, v in module.params["exist"].items()},
            module.params["max_bytes"],
        )
    except OSError as err:
        module.fail_json(msg=f"Could not read a state file: {err}")
    module.exit_json(changed=False, files=files)


if __name__ == "__main__":
    main()
