#!/usr/bin/python
"""An htpasswd file of bcrypt hashes that holds exactly the given users, rewritten only when it must change."""

from __future__ import annotations

import ctypes
import ctypes.util
import grp
import os
import pwd
import re
import secrets
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: radiology_htpasswd
short_description: Keep an htpasswd file of bcrypt hashes holding exactly the given users
description:
  - Writes O(path) so that it holds one line C(name:hash) per user of O(users), each a bcrypt hash (C($2b$)) made
    with the host's C(crypt(3)) (libxcrypt on Debian and Ubuntu), and nothing else.
  - A user whose present hash still verifies its password keeps it, so a run that changes nothing writes nothing
    (bcrypt salts are random; re-hashing every run would never be idempotent).
  - The file is replaced atomically (a temporary file in the same folder, then rename), so nginx never reads half
    a file. Passwords never appear in the module's result or diff.
options:
  path:
    description: The htpasswd file.
    type: path
    required: true
  users:
    description: Users as C(name) and C(password). Names must not be empty or hold a colon, a newline or white space.
    type: list
    elements: dict
    required: true
  cost:
    description: bcrypt work factor (4 to 31) of new hashes; a present hash of another cost is made again.
    type: int
    default: 5
  owner:
    description: Owner of the file.
    type: str
    default: root
  group:
    description: Group of the file (nginx's workers read it).
    type: str
    default: root
  mode:
    description: Mode of the file.
    type: str
    default: "0640"
"""

RETURN = r"""
users:
  description: How many users the file holds (names are not returned; Ansible would mask them with the passwords).
  type: int
  returned: always
added:
  description: How many users were new, or got a new hash because their password or the cost changed.
  type: int
  returned: always
removed:
  description: How many users the file held and no longer does.
  type: int
  returned: always
"""

BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
NAME_RE = re.compile(r"^[^:\s]+$")


def _libcrypt() -> ctypes.CDLL:
    name = ctypes.util.find_library("crypt") or "libcrypt.so.1"
    lib = ctypes.CDLL(name)
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return lib


def _crypt(lib: ctypes.CDLL, password: str, setting: str) -> str:
    out = lib.crypt(password.encode("utf-8"), setting.encode("ascii"))
    return out.decode("ascii") if out else ""


def _new_setting(cost: int) -> str:
    # 22 characters of bcrypt's base64 carry 128 bits of salt; the last one's 4 low bits are unused and must be 0.
    salt = "".join(secrets.choice(BCRYPT_ALPHABET) for _ in range(21)) + secrets.choice(BCRYPT_ALPHABET[::16])
    return f"$2b${cost:02d}${salt}"


def _cost_of(hashed: str) -> int | None:
    m = re.match(r"^\$2[aby]\$(\d\d)\$", hashed)
    return int(m.group(1)) if m else None


def _read(path: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    if not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if line and ":" in line:
                name, _, hashed = line.partition(":")
                entries[name] = hashed
    return entries


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "users": {"type": "list", "elements": "dict", "required": True, "no_log": True},
            "cost": {"type": "int", "default": 5},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "str", "default": "0640"},
        },
        supports_check_mode=True,
    )
    path, users, cost = module.params["path"], module.params["users"], module.params["cost"]
    if not 4 <= cost <= 31:
        module.fail_json(msg=f"cost must be 4 to 31, not {cost}")
    names: list[str] = []
    for index, user in enumerate(users):
        name, password = str(user.get("name", "")), user.get("password")
        if not NAME_RE.match(name):
            module.fail_json(msg=f"user {index} of {path}: the name {name!r} is empty or holds a colon or white space")
        if name in names:
            module.fail_json(msg=f"user {index} of {path}: {name!r} is listed twice")
        if not isinstance(password, str) or not password or "\n" in password:
            module.fail_json(msg=f"user {name!r} of {path}: the password is empty, not text, or holds a newline")
        names.append(name)

    try:
        lib = _libcrypt()
    except OSError as e:
        module.fail_json(msg=f"cannot load libcrypt for bcrypt on this host: {e}")
    present = _read(path)
    lines: list[str] = []
    added: list[str] = []
    for user in users:
        name, password = str(user["name"]), user["password"]
        old = present.get(name)
        if old and _cost_of(old) == cost and _crypt(lib, password, old) == old:
            lines.append(f"{name}:{old}")
            continue
        hashed = _crypt(lib, password, _new_setting(cost))
        if not hashed.startswith("$2b$"):
            module.fail_json(msg=f"this host's crypt(3) cannot make bcrypt hashes (got {hashed[:8]!r})")
        lines.append(f"{name}:{hashed}")
        added.append(name)
    removed = [name for name in present if name not in names]
    changed = bool(added or removed or list(present) != names)

    if changed and not module.check_mode:
        folder = os.path.dirname(path) or "."
        fd, tmp = tempfile.mkstemp(prefix=".htpasswd.", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
            os.chown(tmp, pwd.getpwnam(module.params["owner"]).pw_uid, grp.getgrnam(module.params["group"]).gr_gid)
            os.chmod(tmp, int(module.params["mode"], 8))
            os.rename(tmp, path)
        except Exception:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    file_args = module.load_file_common_arguments(
        {"path": path, "owner": module.params["owner"], "group": module.params["group"], "mode": module.params["mode"]}
    )
    if os.path.exists(path):
        changed = module.set_fs_attributes_if_different(file_args, changed)
    module.exit_json(changed=changed, users=len(names), added=len(added), removed=len(removed))


if __name__ == "__main__":
    main()
