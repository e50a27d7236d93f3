"""openstacksdk: ports (addresses, security groups, address pairs, pagination, status)."""

from __future__ import annotations

import ipaddress

import pytest
from e2e_helpers import in_cidr, port, tenant_network
from openstack import exceptions

pytestmark = pytest.mark.e2e


def test_port_gets_an_automatic_address(demo_conn, name, cleanup):
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.20.0.0/24")
    created = port(demo_conn, name, cleanup, network)
    assert len(created.fixed_ips) == 1
    fixed = created.fixed_ips[0]
    assert fixed["subnet_id"] == subnet.id
    assert in_cidr(fixed["ip_address"], "10.20.0.0/24")
    assert fixed["ip_address"] not in ("10.20.0.0", "10.20.0.1", "10.20.0.255")
    assert created.mac_address.startswith("fa:16:3e:") and created.mac_address == created.mac_address.lower()
    assert created.network_id == network.id
    assert created.device_owner == "" and created.device_id == ""
    assert created.is_admin_state_up is True
    assert created.is_port_security_enabled is True
    assert created.binding_vnic_type == "normal"
    # No groups asked for: the project's default security group.
    default = demo_conn.network.find_security_group("default", project_id=demo_conn.current_project_id)
    assert default is not None
    assert created.security_group_ids == [default.id]
    fetched = demo_conn.network.get_port(created.id)
    assert fetched.fixed_ips == created.fixed_ips


def test_port_with_a_specific_address_and_address_in_use(demo_conn, name, cleanup):
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.21.0.0/24")
    first = port(demo_conn, name, cleanup, network, fixed_ips=[{"ip_address": "10.21.0.50"}])
    assert first.fixed_ips == [{"subnet_id": subnet.id, "ip_address": "10.21.0.50"}]
    with pytest.raises(exceptions.ConflictException) as raised:
        demo_conn.network.create_port(network_id=network.id, fixed_ips=[{"ip_address": "10.21.0.50"}])
    assert "10.21.0.50" in str(raised.value)
    with_subnet = port(
        demo_conn, name, cleanup, network, fixed_ips=[{"subnet_id": subnet.id, "ip_address": "10.21.0.51"}]
    )
    assert with_subnet.fixed_ips == [{"subnet_id": subnet.id, "ip_address": "10.21.0.51"}]
    with pytest.raises(exceptions.BadRequestException):  # not in any subnet of the network
        demo_conn.network.create_port(network_id=network.id, fixed_ips=[{"ip_address": "192.168.77.5"}])
    # Filter by address.
    found = list(demo_conn.network.ports(network_id=network.id, fixed_ips="ip_address=10.21.0.50"))
    assert [p.id for p in found] == [first.id]
    # Changing the address releases the old one.
    demo_conn.network.update_port(first, fixed_ips=[{"ip_address": "10.21.0.60"}])
    again = port(demo_conn, name, cleanup, network, fixed_ips=[{"ip_address": "10.21.0.50"}])
    assert again.fixed_ips[0]["ip_address"] == "10.21.0.50"


def test_port_security_groups_and_allowed_address_pairs(demo_conn, name, cleanup):
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.22.0.0/24")
    web = demo_conn.network.create_security_group(name=name("sg"))
    cleanup(lambda: demo_conn.network.delete_security_group(web, ignore_missing=True))
    db = demo_conn.network.create_security_group(name=name("sg"))
    cleanup(lambda: demo_conn.network.delete_security_group(db, ignore_missing=True))

    created = port(
        demo_conn,
        name,
        cleanup,
        network,
        security_group_ids=[web.id],
        allowed_address_pairs=[
            {"ip_address": "10.22.0.200"},
            {"ip_address": "10.22.1.0/24", "mac_address": "fa:16:3e:aa:bb:cc"},
        ],
    )
    assert created.security_group_ids == [web.id]
    pairs = sorted(created.allowed_address_pairs, key=lambda p: p["ip_address"])
    assert pairs == [
        {"ip_address": "10.22.0.200", "mac_address": created.mac_address},
        {"ip_address": "10.22.1.0/24", "mac_address": "fa:16:3e:aa:bb:cc"},
    ]
    updated = demo_conn.network.update_port(created, security_group_ids=[web.id, db.id])
    assert sorted(updated.security_group_ids) == sorted([web.id, db.id])
    assert ({p.id for p in demo_conn.network.ports(security_group_ids=[db.id])}) == {created.id}
    # A group in use cannot be deleted.
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.delete_security_group(db)
    cleared = demo_conn.network.update_port(created, security_group_ids=[], allowed_address_pairs=[])
    assert cleared.security_group_ids == [] and cleared.allowed_address_pairs == []
    demo_conn.network.delete_security_group(db)


def test_port_security_disabled_rejects_groups(demo_conn, name, cleanup):
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.23.0.0/24")
    bare = port(demo_conn, name, cleanup, network, is_port_security_enabled=False)
    assert bare.is_port_security_enabled is False
    assert bare.security_group_ids == []
    web = demo_conn.network.create_security_group(name=name("sg"))
    cleanup(lambda: demo_conn.network.delete_security_group(web, ignore_missing=True))
    with pytest.raises(exceptions.BadRequestException):
        demo_conn.network.create_port(
            network_id=network.id, is_port_security_enabled=False, security_group_ids=[web.id]
        )


def test_ports_pagination_walks_every_page(demo_conn, name, cleanup):
    """``ports(paginated=True, limit=2)`` follows the ``ports_links`` across pages (incl. the
    empty page after a full last page) and yields every port exactly once."""
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.24.0.0/24")
    created = {port(demo_conn, name, cleanup, network).id for _ in range(6)}
    # The DHCP agent's port is on the network too (the network owner lists it).
    agent = {p.id for p in demo_conn.network.ports(network_id=network.id, device_owner="network:dhcp")}
    assert len(agent) == 1
    created |= agent
    for limit in (1, 2, 4, 6, 10):
        seen = [p.id for p in demo_conn.network.ports(paginated=True, limit=limit, network_id=network.id)]
        assert len(seen) == len(set(seen)), f"limit={limit}: duplicates across pages"
        assert set(seen) == created, f"limit={limit}"
    ordered = [p.id for p in demo_conn.network.ports(network_id=network.id, sort_key="id", sort_dir="desc")]
    assert ordered == sorted(created, reverse=True)


def test_port_status_goes_active_when_bound_to_an_instance(demo_conn, name, cleanup):
    """No agents: a port is DOWN until it is an instance NIC (device_owner compute:*, device_id)."""
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.25.0.0/24")
    created = port(demo_conn, name, cleanup, network)
    assert created.status == "DOWN"
    bound = demo_conn.network.update_port(created, device_owner="compute:nova", device_id="0e0f4c3a-instance")
    assert bound.status == "ACTIVE"
    assert demo_conn.network.get_port(created.id).status == "ACTIVE"
    down = demo_conn.network.update_port(created, is_admin_state_up=False)
    assert down.status == "DOWN"
    up = demo_conn.network.update_port(created, is_admin_state_up=True)
    assert up.status == "ACTIVE"


def test_port_tags_at_creation(demo_conn, name, cleanup):
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.26.0.0/24")
    created = port(demo_conn, name, cleanup, network, tags=["blue", "green"])
    assert sorted(created.tags) == ["blue", "green"]
    assert created.id in {p.id for p in demo_conn.network.ports(network_id=network.id, tags="blue")}


def test_network_in_use_cannot_be_deleted(demo_conn, name, cleanup):
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.27.0.0/24")
    created = port(demo_conn, name, cleanup, network)
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.delete_network(network)
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.delete_subnet(subnet)
    demo_conn.network.delete_port(created)
    demo_conn.network.delete_network(network)
    assert demo_conn.network.find_network(network.id) is None


def test_ipv6_port_address(demo_conn, name, cleanup):
    network = demo_conn.network.create_network(name=name("net"))
    cleanup(lambda: demo_conn.network.delete_network(network, ignore_missing=True))
    v6 = demo_conn.network.create_subnet(network_id=network.id, ip_version=6, cidr="2001:db8:30::/64")
    cleanup(lambda: demo_conn.network.delete_subnet(v6, ignore_missing=True))
    v4 = demo_conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.28.0.0/24")
    cleanup(lambda: demo_conn.network.delete_subnet(v4, ignore_missing=True))
    created = port(demo_conn, name, cleanup, network)
    by_subnet = {f["subnet_id"]: f["ip_address"] for f in created.fixed_ips}
    assert set(by_subnet) == {v4.id, v6.id}
    assert ipaddress.ip_address(by_subnet[v6.id]) in ipaddress.ip_network("2001:db8:30::/64")
    assert by_subnet[v6.id] != "2001:db8:30::"
