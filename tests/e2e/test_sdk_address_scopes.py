"""openstacksdk: address scopes, subnet pools joining them, and networks reading their scope."""

from __future__ import annotations

import pytest
from openstack import exceptions

pytestmark = pytest.mark.e2e


def test_a_pool_joins_a_scope_and_its_networks_show_it(demo_conn, name, cleanup):
    net = demo_conn.network
    scope = net.create_address_scope(name=name("scope"), ip_version=4)
    cleanup(lambda: net.delete_address_scope(scope, ignore_missing=True))
    assert (scope.ip_version, scope.is_shared) == (4, False)
    pool = net.create_subnet_pool(name=name("pool"), prefixes=["10.90.0.0/16"], default_prefix_length=24,
                                  address_scope_id=scope.id)
    cleanup(lambda: net.delete_subnet_pool(pool, ignore_missing=True))
    assert pool.address_scope_id == scope.id
    network = net.create_network(name=name("net"))
    cleanup(lambda: net.delete_network(network, ignore_missing=True))
    subnet = net.create_subnet(network_id=network.id, ip_version=4, subnet_pool_id=pool.id)
    cleanup(lambda: net.delete_subnet(subnet, ignore_missing=True))
    assert subnet.cidr == "10.90.0.0/24"
    assert net.get_network(network.id).ipv4_address_scope_id == scope.id
    assert net.find_address_scope(scope.name).id == scope.id
    # in use: 409; an overlapping pool in the same scope: 409; the other IP version: 400
    with pytest.raises(exceptions.ConflictException):
        net.delete_address_scope(scope)
    with pytest.raises(exceptions.ConflictException):
        net.create_subnet_pool(name=name("overlap"), prefixes=["10.90.128.0/17"], address_scope_id=scope.id)
    with pytest.raises(exceptions.BadRequestException):
        net.create_subnet_pool(name=name("v6"), prefixes=["2001:db8:90::/48"], address_scope_id=scope.id)


def test_only_admins_share_a_scope_and_shared_scopes_are_seen_by_all(admin_conn, demo_conn, name, cleanup):
    with pytest.raises(exceptions.ForbiddenException):
        demo_conn.network.create_address_scope(name=name("mine"), ip_version=6, shared=True)
    shared = admin_conn.network.create_address_scope(name=name("shared"), ip_version=6, shared=True)
    cleanup(lambda: admin_conn.network.delete_address_scope(shared, ignore_missing=True))
    assert demo_conn.network.get_address_scope(shared.id).is_shared is True
    with pytest.raises(exceptions.BadRequestException):
        admin_conn.network.update_address_scope(shared, shared=False)
