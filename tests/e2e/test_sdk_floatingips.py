"""openstacksdk: floating IPs (allocate, associate, disassociate, release, port deletion)."""

from __future__ import annotations

import pytest
from e2e_helpers import attach_subnet, in_cidr, port, router_with_gateway, tenant_network
from openstack import exceptions

pytestmark = pytest.mark.e2e


@pytest.fixture
def routed_port(demo_conn, external_network, name, cleanup):
    """A VM port on a tenant subnet routed to the external network."""
    ext_net, _ = external_network
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.60.0.0/24")
    router = router_with_gateway(demo_conn, name, cleanup, ext_net.id)
    attach_subnet(demo_conn, router, subnet, cleanup)
    vm = port(demo_conn, name, cleanup, network, device_owner="compute:nova", device_id="vm-" + name("id"))
    return vm, router, network


def _allocate(conn, ext_net, cleanup, **attrs):
    fip = conn.network.create_ip(floating_network_id=ext_net.id, **attrs)
    cleanup(lambda: conn.network.delete_ip(fip, ignore_missing=True))
    return fip


def test_floating_ip_lifecycle(demo_conn, external_network, routed_port, cleanup):
    ext_net, ext_subnet = external_network
    vm, router, _ = routed_port
    fip = _allocate(demo_conn, ext_net, cleanup)
    assert in_cidr(fip.floating_ip_address, "172.24.4.0/24")
    assert fip.floating_ip_address != "172.24.4.1"
    assert fip.floating_network_id == ext_net.id
    assert (fip.port_id, fip.fixed_ip_address, fip.router_id) == (None, None, None)
    assert fip.status == "DOWN"
    assert fip.project_id == demo_conn.current_project_id

    associated = demo_conn.network.update_ip(fip, port_id=vm.id)
    assert associated.port_id == vm.id
    assert associated.fixed_ip_address == vm.fixed_ips[0]["ip_address"]
    assert associated.router_id == router.id
    assert associated.status == "ACTIVE"
    shown = demo_conn.network.get_ip(fip.id)
    assert (shown.port_id, shown.router_id, shown.status) == (vm.id, router.id, "ACTIVE")
    assert shown.port_details["network_id"] == vm.network_id
    assert shown.port_details["mac_address"] == vm.mac_address
    assert [f.id for f in demo_conn.network.ips(port_id=vm.id)] == [fip.id]
    assert demo_conn.network.find_ip(fip.floating_ip_address).id == fip.id

    # The router now cannot lose its gateway, nor the interface the FIP is behind.
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.update_router(router, external_gateway_info=None)

    disassociated = demo_conn.network.update_ip(fip, port_id=None)
    assert (disassociated.port_id, disassociated.fixed_ip_address, disassociated.router_id) == (None, None, None)
    assert disassociated.status == "DOWN"

    demo_conn.network.delete_ip(fip)
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.get_ip(fip.id)


def test_floating_ip_created_with_a_port(demo_conn, external_network, routed_port, cleanup):
    ext_net, _ = external_network
    vm, router, _ = routed_port
    fip = _allocate(demo_conn, ext_net, cleanup, port_id=vm.id)
    assert (fip.port_id, fip.router_id, fip.status) == (vm.id, router.id, "ACTIVE")
    # One floating IP per fixed IP and external network.
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.create_ip(floating_network_id=ext_net.id, port_id=vm.id)


def test_deleting_the_port_disassociates(demo_conn, external_network, routed_port, name, cleanup):
    ext_net, _ = external_network
    _, router, network = routed_port
    doomed = port(demo_conn, name, cleanup, network)
    fip = _allocate(demo_conn, ext_net, cleanup, port_id=doomed.id)
    assert fip.port_id == doomed.id and fip.router_id == router.id
    demo_conn.network.delete_port(doomed)
    after = demo_conn.network.get_ip(fip.id)
    assert (after.port_id, after.fixed_ip_address, after.router_id) == (None, None, None)
    assert after.status == "DOWN"


def test_floating_ip_needs_a_route_to_the_external_network(demo_conn, external_network, name, cleanup):
    ext_net, _ = external_network
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.61.0.0/24")
    lonely = port(demo_conn, name, cleanup, network)
    fip = _allocate(demo_conn, ext_net, cleanup)
    with pytest.raises(exceptions.NotFoundException):  # ExternalGatewayForFloatingIPNotFound
        demo_conn.network.update_ip(fip, port_id=lonely.id)
    assert demo_conn.network.get_ip(fip.id).port_id is None


def test_floating_ip_from_a_non_external_network_is_rejected(demo_conn, name, cleanup):
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.62.0.0/24")
    with pytest.raises(exceptions.BadRequestException):
        demo_conn.network.create_ip(floating_network_id=network.id)


def test_member_cannot_choose_the_address(demo_conn, external_network):
    ext_net, _ = external_network
    with pytest.raises(exceptions.ForbiddenException):
        demo_conn.network.create_ip(floating_network_id=ext_net.id, floating_ip_address="172.24.4.222")
