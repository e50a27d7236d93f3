"""openstacksdk: project isolation between demo and alt_demo; shared visibility of external nets."""

from __future__ import annotations

import pytest
from e2e_helpers import ids, port, tenant_network
from openstack import exceptions

pytestmark = pytest.mark.e2e


def test_other_project_cannot_see_a_private_network(demo_conn, alt_conn, name, cleanup):
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.70.0.0/24")
    vm = port(demo_conn, name, cleanup, network)
    assert alt_conn.network.find_network(network.name) is None
    assert alt_conn.network.find_network(network.id) is None
    with pytest.raises(exceptions.NotFoundException):
        alt_conn.network.get_network(network.id)
    with pytest.raises(exceptions.NotFoundException):
        alt_conn.network.get_subnet(subnet.id)
    with pytest.raises(exceptions.NotFoundException):
        alt_conn.network.get_port(vm.id)
    assert network.id not in ids(alt_conn.network.networks())
    assert subnet.id not in ids(alt_conn.network.subnets())
    assert vm.id not in ids(alt_conn.network.ports())
    # Writes are hidden the same way (404, not 403).
    with pytest.raises(exceptions.NotFoundException):
        alt_conn.network.update_network(network.id, name="stolen")
    with pytest.raises(exceptions.NotFoundException):
        alt_conn.network.delete_network(network.id, ignore_missing=False)
    with pytest.raises(exceptions.NotFoundException):
        alt_conn.network.create_port(network_id=network.id)
    with pytest.raises(exceptions.NotFoundException):
        alt_conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.71.0.0/24")
    assert demo_conn.network.get_network(network.id).name == network.name


def test_external_network_is_visible_to_every_project(demo_conn, alt_conn, admin_conn, external_network):
    ext_net, ext_subnet = external_network
    for conn in (demo_conn, alt_conn):
        found = conn.network.find_network(ext_net.name)
        assert found is not None and found.id == ext_net.id
        assert found.is_router_external is True
        assert ext_net.id in ids(conn.network.networks(is_router_external=True))
        assert conn.network.get_subnet(ext_subnet.id).cidr == "172.24.4.0/24"
        # Visible, not writable: 403.
        with pytest.raises(exceptions.ForbiddenException):
            conn.network.update_network(ext_net.id, name="mine-now")
    # Admin-only attributes are hidden from members and shown to admin.
    assert admin_conn.network.get_network(ext_net.id).provider_network_type is not None
    assert demo_conn.network.get_network(ext_net.id).provider_network_type is None


def test_admin_sees_everything(admin_conn, demo_conn, alt_conn, name, cleanup):
    mine, _ = tenant_network(demo_conn, name, cleanup, cidr="10.72.0.0/24")
    theirs = alt_conn.network.create_network(name=name("net"))
    cleanup(lambda: alt_conn.network.delete_network(theirs, ignore_missing=True))
    every = ids(admin_conn.network.networks())
    assert {mine.id, theirs.id} <= every
    assert admin_conn.network.get_network(theirs.id).project_id == alt_conn.current_project_id
    assert mine.id not in ids(alt_conn.network.networks())
    assert theirs.id not in ids(demo_conn.network.networks())


def test_admin_creates_for_another_project_member_cannot(admin_conn, demo_conn, alt_conn, name, cleanup):
    made = admin_conn.network.create_network(name=name("net"), project_id=alt_conn.current_project_id)
    cleanup(lambda: admin_conn.network.delete_network(made, ignore_missing=True))
    assert made.project_id == alt_conn.current_project_id
    assert alt_conn.network.get_network(made.id).id == made.id
    with pytest.raises(exceptions.BadRequestException):
        demo_conn.network.create_network(name=name("net"), project_id=alt_conn.current_project_id)
