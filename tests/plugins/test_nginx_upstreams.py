"""The nginx role's filter: upstream servers from an inventory group."""

from conftest import load_filter

f = load_filter("nginx", "nginx_upstreams")


def test_servers_use_ansible_host_or_the_inventory_name_in_order():
    hostvars = {"app1": {"ansible_host": "10.0.0.11"}, "app2": {}, "app3": {"ansible_host": ""}}
    assert f.nginx_upstream_servers(["app1", "app2", "app3"], hostvars, 8001) == [
        "10.0.0.11:8001",
        "app2:8001",
        "app3:8001",
    ]


def test_an_empty_group_has_no_servers():
    assert f.nginx_upstream_servers([], {}, "8000") == []
