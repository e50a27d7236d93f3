"""Building blocks shared by the openstacksdk end-to-end tests (imported by name)."""

from __future__ import annotations

import ipaddress

PASSWORD = "e2e-Secret-pw"  # XLOUDNET_PASSWORD of the server the e2e session starts


def connect(base: str, user: str, project: str | None = None, password: str = PASSWORD):
    """An openstacksdk connection logged in with a password, as a user's clouds.yaml would."""
    import openstack

    return openstack.connection.Connection(
        auth_url=f"{base}/identity/v3",
        username=user,
        password=password,
        project_name=project or user,
        user_domain_name="Default",
        project_domain_name="Default",
        region_name="RegionOne",
    )


def tenant_network(conn, name, cleanup, cidr: str = "10.0.0.0/24", **subnet_attrs):
    """A network and one IPv4 subnet in the caller's project; both deleted after the test."""
    network = conn.network.create_network(name=name("net"))
    cleanup(lambda: conn.network.delete_network(network, ignore_missing=True))
    subnet = conn.network.create_subnet(
        name=name("subnet"), network_id=network.id, ip_version=4, cidr=cidr, **subnet_attrs
    )
    cleanup(lambda: conn.network.delete_subnet(subnet, ignore_missing=True))
    return network, subnet


def router_with_gateway(conn, name, cleanup, external_network_id: str):
    """A router whose gateway is on the external network; deleted after the test."""
    router = conn.network.create_router(
        name=name("router"), external_gateway_info={"network_id": external_network_id}
    )
    cleanup(lambda: conn.network.delete_router(router, ignore_missing=True))
    return router


def attach_subnet(conn, router, subnet, cleanup) -> dict:
    """add_router_interface by subnet, undone after the test."""
    result = conn.network.add_interface_to_router(router, subnet=subnet.id)
    cleanup(lambda: conn.network.remove_interface_from_router(router, subnet=subnet.id))
    return result


def port(conn, name, cleanup, network, **attrs):
    created = conn.network.create_port(name=name("port"), network_id=network.id, **attrs)
    cleanup(lambda: conn.network.delete_port(created, ignore_missing=True))
    return created


def in_cidr(address: str, cidr: str) -> bool:
    return ipaddress.ip_address(address) in ipaddress.ip_network(cidr)


def ids(resources) -> set[str]:
    return {r.id for r in resources}
