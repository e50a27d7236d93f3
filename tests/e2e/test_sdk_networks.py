"""openstacksdk, password login: networks, tags, subnets (IPv4/IPv6), extensions, errors."""

from __future__ import annotations

import ipaddress
import uuid

import pytest
from e2e_helpers import ids, tenant_network
from openstack import exceptions

pytestmark = pytest.mark.e2e


# --- networks ---------------------------------------------------------------------------------


def test_network_create_get_find_list_update_delete(demo_conn, name, cleanup):
    net_name = name("net")
    network = demo_conn.network.create_network(name=net_name, description="first")
    cleanup(lambda: demo_conn.network.delete_network(network, ignore_missing=True))
    assert network.name == net_name
    assert network.status == "ACTIVE"
    assert network.is_admin_state_up is True
    assert network.is_shared is False
    assert network.is_router_external is False
    assert network.subnet_ids == []
    assert network.revision_number == 1
    assert network.project_id == demo_conn.current_project_id
    assert network.created_at and network.created_at.endswith("Z")

    fetched = demo_conn.network.get_network(network.id)
    assert (fetched.id, fetched.name, fetched.description) == (network.id, net_name, "first")

    found = demo_conn.network.find_network(net_name)
    assert found is not None and found.id == network.id
    assert demo_conn.network.find_network(network.id).id == network.id

    listed = list(demo_conn.network.networks(name=net_name))
    assert ids(listed) == {network.id}
    assert network.id in ids(demo_conn.network.networks(is_router_external=False))
    assert network.id not in ids(demo_conn.network.networks(is_router_external=True))
    assert network.id in ids(demo_conn.network.networks(project_id=demo_conn.current_project_id))
    assert list(demo_conn.network.networks(name=net_name, is_admin_state_up=False)) == []

    updated = demo_conn.network.update_network(network, name=net_name + "-2", description="second")
    assert updated.name == net_name + "-2" and updated.description == "second"
    assert updated.revision_number == 2
    assert demo_conn.network.get_network(network.id).name == net_name + "-2"
    assert demo_conn.network.find_network(net_name) is None

    demo_conn.network.delete_network(network)
    assert demo_conn.network.find_network(network.id) is None
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.get_network(network.id)


def test_network_admin_state_down(demo_conn, name, cleanup):
    network = demo_conn.network.create_network(name=name("net"), is_admin_state_up=False)
    cleanup(lambda: demo_conn.network.delete_network(network, ignore_missing=True))
    assert network.is_admin_state_up is False
    assert network.id in ids(demo_conn.network.networks(is_admin_state_up=False))
    up = demo_conn.network.update_network(network, is_admin_state_up=True)
    assert up.is_admin_state_up is True


def test_network_tags_add_remove_set_check_and_filter(demo_conn, name, cleanup):
    network = demo_conn.network.create_network(name=name("net"))
    cleanup(lambda: demo_conn.network.delete_network(network, ignore_missing=True))
    other = demo_conn.network.create_network(name=name("net"))
    cleanup(lambda: demo_conn.network.delete_network(other, ignore_missing=True))
    red, blue, green = (f"{c}-{uuid.uuid4().hex[:6]}" for c in ("red", "blue", "green"))

    demo_conn.network.set_tags(network, [red, blue])
    assert sorted(demo_conn.network.get_network(network.id).tags) == sorted([red, blue])
    demo_conn.network.add_tag(network, green)
    assert sorted(demo_conn.network.get_tags(network)) == sorted([red, blue, green])
    assert demo_conn.network.check_tag(network, green)
    demo_conn.network.remove_tag(network, blue)
    assert sorted(demo_conn.network.get_network(network.id).tags) == sorted([red, green])
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.check_tag(network, blue)
    demo_conn.network.set_tags(other, [red])

    assert ids(demo_conn.network.networks(tags=f"{red},{green}")) == {network.id}
    assert ids(demo_conn.network.networks(any_tags=f"{red},{blue}")) == {network.id, other.id}
    assert network.id not in ids(demo_conn.network.networks(not_tags=f"{red},{green}"))
    assert other.id in ids(demo_conn.network.networks(not_tags=f"{red},{green}"))
    assert not {network.id, other.id} & ids(demo_conn.network.networks(not_any_tags=red))

    demo_conn.network.set_tags(network, [])
    assert demo_conn.network.get_network(network.id).tags == []
    demo_conn.network.add_tags(network, [red, blue])
    assert sorted(demo_conn.network.get_network(network.id).tags) == sorted([red, blue])
    demo_conn.network.remove_all_tags(network)
    assert demo_conn.network.get_network(network.id).tags == []


# --- subnets ----------------------------------------------------------------------------------


def test_ipv4_subnet_defaults(demo_conn, name, cleanup):
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.10.0.0/24")
    assert subnet.ip_version == 4
    assert subnet.cidr == "10.10.0.0/24"
    assert subnet.gateway_ip == "10.10.0.1"
    assert subnet.allocation_pools == [{"start": "10.10.0.2", "end": "10.10.0.254"}]
    assert subnet.is_dhcp_enabled is True
    assert subnet.network_id == network.id
    assert demo_conn.network.get_network(network.id).subnet_ids == [subnet.id]
    assert demo_conn.network.find_subnet(subnet.name).id == subnet.id


def test_ipv4_subnet_with_pools_and_gateway(demo_conn, name, cleanup):
    network, subnet = tenant_network(
        demo_conn,
        name,
        cleanup,
        cidr="10.11.0.0/24",
        gateway_ip="10.11.0.254",
        allocation_pools=[{"start": "10.11.0.10", "end": "10.11.0.100"}],
        dns_nameservers=["8.8.8.8"],
    )
    assert subnet.gateway_ip == "10.11.0.254"
    assert subnet.allocation_pools == [{"start": "10.11.0.10", "end": "10.11.0.100"}]
    assert subnet.dns_nameservers == ["8.8.8.8"]
    # The gateway is cut out of the default pool, splitting it.
    second = demo_conn.network.create_subnet(
        name=name("subnet"), network_id=network.id, ip_version=4, cidr="10.12.0.0/24", gateway_ip="10.12.0.100"
    )
    cleanup(lambda: demo_conn.network.delete_subnet(second, ignore_missing=True))
    assert sorted(second.allocation_pools, key=lambda p: p["start"]) == [
        {"start": "10.12.0.1", "end": "10.12.0.99"},
        {"start": "10.12.0.101", "end": "10.12.0.254"},
    ]
    no_gateway = demo_conn.network.create_subnet(
        name=name("subnet"), network_id=network.id, ip_version=4, cidr="10.13.0.0/24", gateway_ip=None
    )
    cleanup(lambda: demo_conn.network.delete_subnet(no_gateway, ignore_missing=True))
    assert no_gateway.gateway_ip is None
    assert no_gateway.allocation_pools == [{"start": "10.13.0.1", "end": "10.13.0.254"}]
    updated = demo_conn.network.update_subnet(subnet, allocation_pools=[{"start": "10.11.0.20", "end": "10.11.0.30"}])
    assert updated.allocation_pools == [{"start": "10.11.0.20", "end": "10.11.0.30"}]


def test_ipv6_subnet(demo_conn, name, cleanup):
    network = demo_conn.network.create_network(name=name("net"))
    cleanup(lambda: demo_conn.network.delete_network(network, ignore_missing=True))
    subnet = demo_conn.network.create_subnet(
        name=name("subnet6"), network_id=network.id, ip_version=6, cidr="2001:db8:1::/64"
    )
    cleanup(lambda: demo_conn.network.delete_subnet(subnet, ignore_missing=True))
    assert subnet.ip_version == 6
    assert subnet.cidr == "2001:db8:1::/64"
    # Current Neutron: the subnet-router anycast address (the network address) is the gateway.
    assert ipaddress.ip_address(subnet.gateway_ip) == ipaddress.ip_address("2001:db8:1::")
    [pool] = subnet.allocation_pools
    assert ipaddress.ip_address(pool["start"]) == ipaddress.ip_address("2001:db8:1::1")
    assert ipaddress.ip_address(pool["end"]) == ipaddress.ip_address("2001:db8:1:0:ffff:ffff:ffff:ffff")
    slaac = demo_conn.network.create_subnet(
        name=name("slaac"),
        network_id=network.id,
        ip_version=6,
        cidr="2001:db8:2::/64",
        ipv6_address_mode="slaac",
        ipv6_ra_mode="slaac",
    )
    cleanup(lambda: demo_conn.network.delete_subnet(slaac, ignore_missing=True))
    assert (slaac.ipv6_address_mode, slaac.ipv6_ra_mode) == ("slaac", "slaac")
    assert set(demo_conn.network.get_network(network.id).subnet_ids) == {subnet.id, slaac.id}


# --- errors -----------------------------------------------------------------------------------


def test_unknown_ids_raise_not_found(demo_conn):
    missing = str(uuid.uuid4())
    for getter in (
        demo_conn.network.get_network,
        demo_conn.network.get_subnet,
        demo_conn.network.get_port,
        demo_conn.network.get_router,
        demo_conn.network.get_ip,
        demo_conn.network.get_security_group,
    ):
        with pytest.raises(exceptions.NotFoundException):
            getter(missing)
    assert demo_conn.network.find_network("no-such-network-" + missing) is None
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.find_network("no-such-network-" + missing, ignore_missing=False)


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "not-a-cidr", "300.1.2.0/24"])
def test_bad_cidr_raises_bad_request(demo_conn, name, cleanup, cidr):
    network = demo_conn.network.create_network(name=name("net"))
    cleanup(lambda: demo_conn.network.delete_network(network, ignore_missing=True))
    with pytest.raises(exceptions.BadRequestException):
        demo_conn.network.create_subnet(network_id=network.id, ip_version=4, cidr=cidr)
    assert demo_conn.network.get_network(network.id).subnet_ids == []


def test_overlapping_subnet_raises_bad_request(demo_conn, name, cleanup):
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.14.0.0/24")
    with pytest.raises(exceptions.BadRequestException):
        demo_conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.14.0.128/25")


def test_member_cannot_create_external_network(demo_conn, name):
    with pytest.raises(exceptions.ForbiddenException):
        demo_conn.network.create_network(name=name("net"), is_router_external=True)


# --- extensions -------------------------------------------------------------------------------


def test_extensions(demo_conn):
    qos = demo_conn.network.find_extension("qos")
    assert qos is not None and qos.alias == "qos"
    assert demo_conn.network.find_extension("no-such-extension-alias") is None
    aliases = {e.alias for e in demo_conn.network.extensions()}
    for alias in ("router", "external-net", "security-group", "extraroute", "standard-attr-tag", "pagination"):
        assert alias in aliases, f"extension {alias} not advertised"
