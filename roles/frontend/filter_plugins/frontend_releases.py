"""Filter of the frontend role: which old releases to remove (the switch itself is library/frontend_release.py).

It lives with the role (Ansible loads a role's filter_plugins/ wherever the role runs, molecule included) and is
unit-tested in tests/plugins/test_frontend_releases.py, with the module.
"""

from __future__ import annotations

import base64
import json
from typing import Any


def _meta(slurp_result: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of an ansible.builtin.slurp result; {} when the file was missing or is not JSON."""
    content = slurp_result.get("content")
    if not content:
        return {}
    try:
        document = json.loads(base64.b64decode(content))
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def frontend_releases_to_prune(meta_results: list[dict[str, Any]], keep: int, protected: list[str]) -> list[str]:
    """Names of the releases to remove so that `keep` releases stay, the protected ones always among them.

    `meta_results` are the slurp results of each release's metadata, looped over ansible.builtin.find's files
    (`item.path` names the release directory). The newest by their recorded deployment time stay; a release
    without readable metadata counts as the oldest.
    """
    protected_set = {name for name in protected if name}
    deployed_at = {
        str(result["item"]["path"]).rstrip("/").rsplit("/", 1)[-1]: str(_meta(result).get("deployed_at") or "")
        for result in meta_results
    }
    names = list(deployed_at)
    kept = [name for name in names if name in protected_set]
    candidates = sorted((n for n in names if n not in protected_set), key=lambda n: deployed_at[n], reverse=True)
    return candidates[max(int(keep) - len(kept), 0) :]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "frontend_releases_to_prune": frontend_releases_to_prune,
        }
