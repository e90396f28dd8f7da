"""Traffic goes only to loopback or a local Docker network unless a host is allowed by name."""

from __future__ import annotations

import ipaddress

import pytest
from radiology_ops.targets import TargetRefusedError, address_allowed, check_url, docker_networks

ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
br-2fd945878966\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def test_docker_networks_are_read_from_the_route_table(tmp_path):
    table = tmp_path / "route"
    table.write_text(ROUTES)
    nets = docker_networks(table)
    assert [str(n) for n in nets] == ["172.17.0.0/16", "172.18.0.0/16"]
    assert address_allowed(ipaddress.ip_address("172.18.0.5"), nets)
    assert not address_allowed(ipaddress.ip_address("192.0.2.7"), nets)  # eth0's network is not Docker's
    assert not address_allowed(ipaddress.ip_address("10.1.2.3"), nets)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost/x", "http://127.8.9.10", "http://[::1]:80"])
def test_loopback_is_allowed(url):
    assert check_url(url)


@pytest.mark.parametrize("url", ["http://8.8.8.8", "http://10.200.1.1:8000", "ftp://127.0.0.1", "not a url"])
def test_other_targets_are_refused(url):
    with pytest.raises(TargetRefusedError):
        check_url(url)


def test_allow_host_names_an_exception():
    assert check_url("http://10.200.1.1:8000", allow_hosts=["10.200.1.1"]) == "10.200.1.1"
