"""openstacksdk against the real server: floating-IP port forwarding (create, list, update,
conflicts, delete) and the floating IP's view of it."""

from __future__ import annotations

import pytest
from e2e_helpers import attach_subnet, port, router_with_gateway, tenant_network
from openstack import exceptions

pytestmark = pytest.mark.e2e


@pytest.fixture
def forwarding_setup(demo_conn, external_network, name, cleanup):
    """A VM port behind a gateway router and a free floating IP."""
    ext_net, _ = external_network
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.61.0.0/24")
    router = router_with_gateway(demo_conn, name, cleanup, ext_net.id)
    attach_subnet(demo_conn, router, subnet, cleanup)
    vm = port(demo_conn, name, cleanup, network, device_owner="compute:nova", device_id="vm-" + name("id"))
    fip = demo_conn.network.create_ip(floating_network_id=ext_net.id)
    cleanup(lambda: demo_conn.network.delete_ip(fip, ignore_missing=True))
    return vm, router, fip


def test_port_forwarding_lifecycle_through_openstacksdk(demo_conn, forwarding_setup, cleanup):
    vm, router, fip = forwarding_setup
    address = vm.fixed_ips[0]["ip_address"]
    pf = demo_conn.network.create_port_forwarding(
        floatingip_id=fip.id, internal_port_id=vm.id, internal_ip_address=address,
        internal_port=22, external_port=2222, protocol="tcp", description="ssh")
    cleanup(lambda: demo_conn.network.delete_port_forwarding(pf, fip, ignore_missing=True))
    assert (pf.internal_port, pf.external_port, pf.protocol, pf.description) == (22, 2222, "tcp", "ssh")
    held = demo_conn.network.get_ip(fip.id)
    assert (held.router_id, held.status, held.port_id) == (router.id, "ACTIVE", None)
    assert [p.id for p in demo_conn.network.port_forwardings(fip)] == [pf.id]

    updated = demo_conn.network.update_port_forwarding(pf, fip, internal_port=2200)
    assert updated.internal_port == 2200
    with pytest.raises(exceptions.BadRequestException):  # the same external port again
        demo_conn.network.create_port_forwarding(
            floatingip_id=fip.id, internal_port_id=vm.id, internal_ip_address=address,
            internal_port=80, external_port=2222, protocol="tcp")
    with pytest.raises(exceptions.ConflictException):  # a floating IP in use by forwardings
        demo_conn.network.delete_ip(fip)

    demo_conn.network.delete_port_forwarding(pf, fip, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.get_port_forwarding(pf.id, fip)
    assert demo_conn.network.get_ip(fip.id).router_id is None


def test_another_project_cannot_see_the_forwardings(demo_conn, alt_conn, forwarding_setup, cleanup):
    vm, _, fip = forwarding_setup
    pf = demo_conn.network.create_port_forwarding(
        floatingip_id=fip.id, internal_port_id=vm.id, internal_ip_address=vm.fixed_ips[0]["ip_address"],
        internal_port=22, external_port=2222, protocol="tcp")
    cleanup(lambda: demo_conn.network.delete_port_forwarding(pf, fip, ignore_missing=True))
    with pytest.raises(exceptions.NotFoundException):
        list(alt_conn.network.port_forwardings(fip.id))
