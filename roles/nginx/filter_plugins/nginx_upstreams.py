"""Filter of the nginx role: the upstream servers of an inventory group ("address:port", one per host).

Lives with the role (Ansible loads a role's filter_plugins/ wherever the role runs); unit-tested in
tests/plugins/test_nginx_upstreams.py.
"""

from __future__ import annotations

from typing import Any


def nginx_upstream_servers(hosts: list[str], hostvars: Any, port: int | str) -> list[str]:
    """Each host's ansible_host (its inventory name when it has none) on `port`, in inventory order."""
    servers = []
    for host in hosts:
        address = (hostvars.get(host) or {}).get("ansible_host") or host
        servers.append(f"{address}:{port}")
    return servers


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"nginx_upstream_servers": nginx_upstream_servers}
