"""Shared topology for the router and floating-IP tests (no tests here).

``topo`` builds, through the API only: an admin external network ``203.0.113.0/24`` (pool
.10–.200, gateway .1), a demo network ``10.0.0.0/24`` and a router with a gateway on the
external network (recorded samples 005, 006, 009, 010, 025).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

# Key sets of the real Neutron 29 responses recorded in tests/samples/neutron.
ROUTER_KEYS = {  # 025 / 028 / 029 / 072 / 074 (member view)
    "id", "name", "project_id", "tenant_id", "admin_state_up", "status", "external_gateway_info",
    "description", "availability_zones", "availability_zone_hints", "routes", "flavor_id", "tags",
    "created_at", "updated_at", "revision_number",
}
EXTRAROUTES_ROUTER_KEYS = ROUTER_KEYS | {  # 030 / 031: raw fields, no response policy
    "enable_snat", "gw_port_id", "distributed", "ha", "ha_vr_id", "enable_default_route_ecmp",
    "enable_default_route_bfd",
}
GATEWAY_KEYS = {"network_id", "external_fixed_ips", "enable_snat"}  # 025
INTERFACE_KEYS = {"id", "project_id", "port_id", "network_id", "subnet_id", "subnet_ids"}  # 026 / 073
FLOATINGIP_KEYS = {  # 047 - 051, 054
    "id", "tenant_id", "project_id", "floating_ip_address", "floating_network_id", "router_id",
    "port_id", "fixed_ip_address", "status", "description", "qos_policy_id", "port_details", "tags",
    "created_at", "updated_at", "revision_number",
    "port_forwardings",  # expose-port-forwarding-in-fip
}
PORT_DETAILS_KEYS = {"name", "network_id", "mac_address", "admin_state_up", "status", "device_id", "device_owner"}


def ok(result, status=200):
    """The body of a call that must succeed with ``status``."""
    code, body = result
    assert code == status, body
    return body


def error(result, status, kind):
    """The NeutronError of a call that must fail with ``status`` and error type ``kind``."""
    code, body = result
    assert code == status, body
    assert body["NeutronError"]["type"] == kind, body
    return body["NeutronError"]["message"]


def make_network(call, ctx, name, cidr, external=False, ip_version=4, **subnet):
    body = {"name": name}
    if external:
        body["router:external"] = True
    net = ok(call(ctx, "POST", "/v2.0/networks", {"network": body}), 201)["network"]
    sub = dict({"network_id": net["id"], "ip_version": ip_version, "cidr": cidr}, **subnet)
    created = ok(call(ctx, "POST", "/v2.0/subnets", {"subnet": sub}), 201)["subnet"]
    return net, created


def add_subnet(call, ctx, net_id, cidr, ip_version=4, **extra):
    body = dict({"network_id": net_id, "ip_version": ip_version, "cidr": cidr}, **extra)
    return ok(call(ctx, "POST", "/v2.0/subnets", {"subnet": body}), 201)["subnet"]


def make_router(call, ctx, ext_net_id=None, name="r1"):
    body = {"name": name}
    if ext_net_id:
        body["external_gateway_info"] = {"network_id": ext_net_id}
    return ok(call(ctx, "POST", "/v2.0/routers", {"router": body}), 201)["router"]


def add_interface(call, ctx, router_id, **body):
    return call(ctx, "PUT", f"/v2.0/routers/{router_id}/add_router_interface", body)


def remove_interface(call, ctx, router_id, **body):
    return call(ctx, "PUT", f"/v2.0/routers/{router_id}/remove_router_interface", body)


def make_port(call, ctx, net_id, **extra):
    return ok(call(ctx, "POST", "/v2.0/ports", {"port": dict({"network_id": net_id}, **extra)}), 201)["port"]


def build_topology(call, admin, demo):
    ext_net, ext_sub = make_network(
        call, admin, "public", "203.0.113.0/24", external=True, gateway_ip="203.0.113.1",
        enable_dhcp=False, allocation_pools=[{"start": "203.0.113.10", "end": "203.0.113.200"}],
    )
    net, sub = make_network(call, demo, "private", "10.0.0.0/24")
    router = make_router(call, demo, ext_net["id"])
    return SimpleNamespace(ext_net=ext_net, ext_sub=ext_sub, net=net, sub=sub, router=router)


@pytest.fixture
def topo(call, admin, demo):
    return build_topology(call, admin, demo)


@pytest.fixture
def wired(call, demo, topo):
    """``topo`` with the demo subnet attached to the router."""
    ok(add_interface(call, demo, topo.router["id"], subnet_id=topo.sub["id"]))
    return topo
