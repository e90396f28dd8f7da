"""Where traffic may go: loopback, or a private address on one of this machine's Docker networks.

The load generator and the watch send real traffic; they refuse any other target unless the operator
names the host explicitly with --allow-host, so a typo cannot point 100 simulated users at a hospital.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

ROUTE_TABLE = Path("/proc/net/route")
DOCKER_INTERFACE_PREFIXES = ("docker", "br-")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefusedError(ValueError):
    """The URL's host is neither loopback nor on a local Docker network and was not explicitly allowed."""


def docker_networks(route_table: Path = ROUTE_TABLE) -> list[IPNetwork]:
    """IPv4 networks routed to a Docker bridge (docker0, br-<id>) on this machine, read from the kernel."""
    try:
        lines = route_table.read_text(encoding="ascii").splitlines()[1:]
    except OSError:
        return []
    networks: list[IPNetwork] = []
    for line in lines:
        cols = line.split()
        if len(cols) < 8 or not cols[0].startswith(DOCKER_INTERFACE_PREFIXES):
            continue
        dest = ipaddress.IPv4Address(struct.pack("<I", int(cols[1], 16)))
        mask = ipaddress.IPv4Address(struct.pack("<I", int(cols[7], 16)))
        if int(dest) == 0:
            continue
        networks.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    return networks


def resolve(host: str) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise TargetRefusedError(f"host {host!r} does not resolve: {e}") from e
    return sorted({ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}, key=str)


def address_allowed(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    if address.is_loopback:
        return True
    return address.is_private and any(address in net for net in networks if net.version == address.version)


def check_url(url: str, allow_hosts: Iterable[str] = ()) -> str:
    """Return the URL's host if traffic to it is allowed, else raise TargetRefusedError naming the address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefusedError(f"{url!r} is not an http(s) URL with a host")
    host = parts.hostname
    if host in set(allow_hosts):
        return host
    networks = docker_networks()
    refused = [str(a) for a in resolve(host) if not address_allowed(a, networks)]
    if refused:
        raise TargetRefusedError(
            f"refusing {url}: {host} resolves to {', '.join(refused)}, which is neither loopback nor a private "
            f"address of a local Docker network ({', '.join(map(str, networks)) or 'none found'}); "
            f"pass --allow-host {host} to allow it"
        )
    return host
