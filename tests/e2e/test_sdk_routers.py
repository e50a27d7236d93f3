"""openstacksdk: routers (external gateway, interfaces by subnet and by port, extra routes)."""

from __future__ import annotations

import pytest
from e2e_helpers import attach_subnet, in_cidr, port, router_with_gateway, tenant_network
from openstack import exceptions

pytestmark = pytest.mark.e2e


def test_router_with_external_gateway(demo_conn, admin_conn, external_network, name, cleanup):
    ext_net, ext_subnet = external_network
    router = router_with_gateway(demo_conn, name, cleanup, ext_net.id)
    assert router.status == "ACTIVE"
    assert router.is_admin_state_up is True
    info = router.external_gateway_info
    assert info["network_id"] == ext_net.id
    assert info["enable_snat"] is True
    assert len(info["external_fixed_ips"]) == 1
    gateway_ip = info["external_fixed_ips"][0]
    assert gateway_ip["subnet_id"] == ext_subnet.id
    assert in_cidr(gateway_ip["ip_address"], "172.24.4.0/24")
    assert gateway_ip["ip_address"] != "172.24.4.1"
    assert router.routes == []
    # The gateway port belongs to no project: the tenant never sees it, admin does.
    assert list(demo_conn.network.ports(device_id=router.id)) == []
    gateway_ports = list(admin_conn.network.ports(device_id=router.id, device_owner="network:router_gateway"))
    assert len(gateway_ports) == 1
    assert gateway_ports[0].fixed_ips[0]["ip_address"] == gateway_ip["ip_address"]
    assert gateway_ports[0].network_id == ext_net.id
    # Clear and set again through update.
    cleared = demo_conn.network.update_router(router, external_gateway_info=None)
    assert cleared.external_gateway_info is None
    assert list(admin_conn.network.ports(device_id=router.id, device_owner="network:router_gateway")) == []
    again = demo_conn.network.update_router(router, external_gateway_info={"network_id": ext_net.id})
    assert again.external_gateway_info["network_id"] == ext_net.id
    assert demo_conn.network.find_router(router.name).id == router.id


def test_member_cannot_disable_snat(demo_conn, external_network, name):
    ext_net, _ = external_network
    with pytest.raises(exceptions.ForbiddenException):
        demo_conn.network.create_router(
            name=name("router"), external_gateway_info={"network_id": ext_net.id, "enable_snat": False}
        )


def test_gateway_on_a_non_external_network_is_rejected(demo_conn, name, cleanup):
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.30.0.0/24")
    with pytest.raises(exceptions.BadRequestException):
        demo_conn.network.create_router(name=name("router"), external_gateway_info={"network_id": network.id})


def test_router_interface_by_subnet(demo_conn, external_network, name, cleanup):
    ext_net, _ = external_network
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.31.0.0/24")
    router = router_with_gateway(demo_conn, name, cleanup, ext_net.id)
    result = demo_conn.network.add_interface_to_router(router, subnet=subnet.id)
    assert result["id"] == router.id
    assert result["subnet_id"] == subnet.id
    assert result["network_id"] == network.id
    interface = demo_conn.network.get_port(result["port_id"])
    assert interface.device_owner == "network:router_interface"
    assert interface.device_id == router.id
    assert interface.fixed_ips == [{"subnet_id": subnet.id, "ip_address": "10.31.0.1"}]
    assert [p.id for p in demo_conn.network.ports(device_id=router.id)] == [interface.id]
    # Twice → 400; the port cannot be deleted directly → 409.
    with pytest.raises(exceptions.BadRequestException):
        demo_conn.network.add_interface_to_router(router, subnet=subnet.id)
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.delete_port(interface)
    # In use: the router, the subnet and the network cannot go.
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.delete_router(router)
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.delete_subnet(subnet)
    removed = demo_conn.network.remove_interface_from_router(router, subnet=subnet.id)
    assert removed["port_id"] == interface.id and removed["subnet_id"] == subnet.id
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.get_port(interface.id)
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.remove_interface_from_router(router, subnet=subnet.id)
    demo_conn.network.delete_router(router)
    assert demo_conn.network.find_router(router.id) is None


def test_router_interface_by_port(demo_conn, name, cleanup):
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.32.0.0/24")
    router = demo_conn.network.create_router(name=name("router"))
    cleanup(lambda: demo_conn.network.delete_router(router, ignore_missing=True))
    assert router.external_gateway_info is None and router.status == "ACTIVE"
    own = port(demo_conn, name, cleanup, network, fixed_ips=[{"ip_address": "10.32.0.10"}])
    result = demo_conn.network.add_interface_to_router(router, port=own.id)
    assert result["port_id"] == own.id and result["subnet_id"] == subnet.id
    attached = demo_conn.network.get_port(own.id)
    assert attached.device_owner == "network:router_interface"
    assert attached.device_id == router.id
    # A port already attached to a device cannot be attached again.
    other_router = demo_conn.network.create_router(name=name("router"))
    cleanup(lambda: demo_conn.network.delete_router(other_router, ignore_missing=True))
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.add_interface_to_router(other_router, port=own.id)
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.delete_router(router)
    removed = demo_conn.network.remove_interface_from_router(router, port=own.id)
    assert removed["port_id"] == own.id
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.get_port(own.id)
    demo_conn.network.delete_router(router)


def test_extra_routes_add_and_remove(demo_conn, name, cleanup):
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.33.0.0/24")
    router = demo_conn.network.create_router(name=name("router"))
    cleanup(lambda: demo_conn.network.delete_router(router, ignore_missing=True))
    attach_subnet(demo_conn, router, subnet, cleanup)
    first = {"destination": "10.40.0.0/24", "nexthop": "10.33.0.13"}
    second = {"destination": "10.41.0.0/16", "nexthop": "10.33.0.14"}
    updated = demo_conn.network.add_extra_routes_to_router(router, body={"router": {"routes": [first, second]}})
    assert sorted(updated.routes, key=lambda r: r["destination"]) == [first, second]
    # Adding an existing route again is merged, not duplicated.
    updated = demo_conn.network.add_extra_routes_to_router(router, body={"router": {"routes": [first]}})
    assert len(updated.routes) == 2
    assert sorted(demo_conn.network.get_router(router.id).routes, key=lambda r: r["destination"]) == [first, second]
    # A next hop the router is not connected to → 400.
    with pytest.raises(exceptions.BadRequestException):
        demo_conn.network.add_extra_routes_to_router(
            router, body={"router": {"routes": [{"destination": "10.50.0.0/24", "nexthop": "192.168.99.1"}]}}
        )
    # An interface whose subnet holds a route's next hop cannot be removed.
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.remove_interface_from_router(router, subnet=subnet.id)
    updated = demo_conn.network.remove_extra_routes_from_router(router, body={"router": {"routes": [first]}})
    assert updated.routes == [second]
    # Routes can also be replaced wholesale through update.
    replaced = demo_conn.network.update_router(router, routes=[])
    assert replaced.routes == []
