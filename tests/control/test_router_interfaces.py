"""Router interfaces and extra routes (digest §3.4, samples 026, 027, 029-032, 071-073)."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from test_router_support import (  # noqa: F401  (fixtures)
    EXTRAROUTES_ROUTER_KEYS,
    INTERFACE_KEYS,
    ROUTER_KEYS,
    add_interface,
    add_subnet,
    error,
    make_network,
    make_port,
    ok,
    remove_interface,
    topo,
    wired,
)


def _interface_ports(plane, router_id):
    return [p for p in plane.store.find("ports", "device_id", router_id) if p["device_owner"] == "network:router_interface"]


def _put_routes(call, ctx, router_id, routes):
    return call(ctx, "PUT", f"/v2.0/routers/{router_id}", {"router": {"routes": routes}})


def _extraroutes(call, ctx, router_id, action, routes):
    return call(ctx, "PUT", f"/v2.0/routers/{router_id}/{action}", {"router": {"routes": routes}})


# --- add by subnet -------------------------------------------------------------------------------
def test_add_interface_by_subnet_matches_sample_026(call, plane, demo, topo):
    info = ok(add_interface(call, demo, topo.router["id"], subnet_id=topo.sub["id"]))
    assert set(info) == INTERFACE_KEYS
    assert info["id"] == topo.router["id"] and info["project_id"] == "demo-project"
    assert info["network_id"] == topo.net["id"]
    assert info["subnet_id"] == topo.sub["id"] and info["subnet_ids"] == [topo.sub["id"]]
    [port] = _interface_ports(plane, topo.router["id"])
    assert port["id"] == info["port_id"]
    assert port["fixed_ips"] == [{"subnet_id": topo.sub["id"], "ip_address": topo.sub["gateway_ip"]}]


def test_router_ports_are_listed_by_device_id_like_sample_032(call, demo, wired):
    ports = ok(call(demo, "GET", "/v2.0/ports", query=[("device_id", wired.router["id"])]))["ports"]
    assert [p["device_owner"] for p in ports] == ["network:router_interface"]  # gateway port is hidden
    owned = ok(call(demo, "GET", "/v2.0/ports", query=[("device_owner", "network:router_interface")]))["ports"]
    assert [p["id"] for p in owned] == [ports[0]["id"]]
    assert ports[0]["project_id"] == "demo-project"


def test_adding_same_subnet_again_is_400_like_sample_027(call, demo, wired):
    message = error(add_interface(call, demo, wired.router["id"], subnet_id=wired.sub["id"]), 400, "BadRequest")
    assert message == f"Bad router request: Router already has a port on subnet {wired.sub['id']}."


def test_subnet_without_gateway_ip_is_400(call, demo, topo):
    sub = add_subnet(call, demo, topo.net["id"], "10.9.0.0/24", gateway_ip=None)
    message = error(add_interface(call, demo, topo.router["id"], subnet_id=sub["id"]), 400, "BadRequest")
    assert message == "Bad router request: Subnet for router interface must have a gateway IP."


def test_both_or_neither_or_bad_uuid_is_400(call, demo, topo):
    rid = topo.router["id"]
    assert "Either subnet_id or port_id" in error(add_interface(call, demo, rid), 400, "BadRequest")
    both = add_interface(call, demo, rid, subnet_id=topo.sub["id"], port_id=topo.sub["id"])
    assert "Cannot specify both subnet-id and port-id" in error(both, 400, "BadRequest")
    assert "is not a valid UUID" in error(add_interface(call, demo, rid, subnet_id="nope"), 400, "BadRequest")


def test_overlapping_subnet_of_another_network_is_400(call, demo, wired):
    _, other = make_network(call, demo, "other", "10.0.0.0/25")
    message = error(add_interface(call, demo, wired.router["id"], subnet_id=other["id"]), 400, "BadRequest")
    assert f"overlaps with cidr 10.0.0.0/24 of subnet {wired.sub['id']}" in message


def test_subnet_overlapping_the_gateway_network_is_400(call, demo, topo):
    _, clash = make_network(call, demo, "clash", "203.0.113.0/25")
    message = error(add_interface(call, demo, topo.router["id"], subnet_id=clash["id"]), 400, "BadRequest")
    assert "overlaps with cidr 203.0.113.0/24" in message


def test_another_projects_subnet_is_404_or_400(call, admin, demo, alt, topo):
    _, hidden = make_network(call, alt, "alt-net", "10.50.0.0/24")
    error(add_interface(call, demo, topo.router["id"], subnet_id=hidden["id"]), 404, "SubnetNotFound")
    shared = ok(call(admin, "POST", "/v2.0/networks", {"network": {"name": "s", "shared": True}}), 201)["network"]
    shared_sub = add_subnet(call, admin, shared["id"], "10.60.0.0/24")
    message = error(add_interface(call, demo, topo.router["id"], subnet_id=shared_sub["id"]), 400, "BadRequest")
    assert "is not owned by project making the request" in message


def test_second_ipv6_subnet_joins_the_ipv6_port(call, plane, demo, topo):
    v6a = add_subnet(call, demo, topo.net["id"], "2001:db8:1::/64", ip_version=6)
    v6b = add_subnet(call, demo, topo.net["id"], "2001:db8:2::/64", ip_version=6)
    first = ok(add_interface(call, demo, topo.router["id"], subnet_id=v6a["id"]))
    second = ok(add_interface(call, demo, topo.router["id"], subnet_id=v6b["id"]))
    assert first["port_id"] == second["port_id"] and second["subnet_ids"] == [v6b["id"]]
    [port] = _interface_ports(plane, topo.router["id"])
    assert {ip["subnet_id"] for ip in port["fixed_ips"]} == {v6a["id"], v6b["id"]}
    info = ok(remove_interface(call, demo, topo.router["id"], subnet_id=v6a["id"]))
    assert info["port_id"] == port["id"]
    [left] = _interface_ports(plane, topo.router["id"])
    assert [ip["subnet_id"] for ip in left["fixed_ips"]] == [v6b["id"]]


# --- add by port ---------------------------------------------------------------------------------
def test_add_interface_by_port_rewrites_owner(call, plane, demo, topo):
    port = make_port(call, demo, topo.net["id"], fixed_ips=[{"subnet_id": topo.sub["id"], "ip_address": "10.0.0.9"}])
    info = ok(add_interface(call, demo, topo.router["id"], port_id=port["id"]))
    assert set(info) == INTERFACE_KEYS and info["port_id"] == port["id"] and info["subnet_ids"] == [topo.sub["id"]]
    stored = plane.store.get("ports", port["id"])
    assert stored["device_id"] == topo.router["id"] and stored["device_owner"] == "network:router_interface"


def test_port_with_a_device_is_409(call, demo, topo):
    port = make_port(call, demo, topo.net["id"], device_id="some-vm")
    message = error(add_interface(call, demo, topo.router["id"], port_id=port["id"]), 409, "PortInUse")
    assert "Port already has an attached device some-vm" in message


def test_port_without_fixed_ips_is_400(call, demo, topo):
    port = make_port(call, demo, topo.net["id"], fixed_ips=[])
    message = error(add_interface(call, demo, topo.router["id"], port_id=port["id"]), 400, "BadRequest")
    assert message == "Bad router request: Router port must have at least one fixed IP."


def test_port_with_two_ipv4_subnets_is_400(call, demo, topo):
    second = add_subnet(call, demo, topo.net["id"], "10.1.0.0/24")
    port = make_port(call, demo, topo.net["id"], fixed_ips=[{"subnet_id": topo.sub["id"]}, {"subnet_id": second["id"]}])
    message = error(add_interface(call, demo, topo.router["id"], port_id=port["id"]), 400, "BadRequest")
    assert message == "Bad router request: Cannot have multiple IPv4 subnets on router port."


def test_port_on_already_attached_subnet_is_400(call, demo, wired):
    port = make_port(call, demo, wired.net["id"])
    message = error(add_interface(call, demo, wired.router["id"], port_id=port["id"]), 400, "BadRequest")
    assert "Router already has a port on subnet" in message


# --- remove --------------------------------------------------------------------------------------
def test_remove_interface_by_subnet_matches_sample_073(call, plane, demo, wired):
    [port] = _interface_ports(plane, wired.router["id"])
    info = ok(remove_interface(call, demo, wired.router["id"], subnet_id=wired.sub["id"]))
    assert set(info) == INTERFACE_KEYS and info["port_id"] == port["id"] and info["subnet_ids"] == [wired.sub["id"]]
    assert plane.store.get("ports", port["id"]) is None
    router = ok(call(demo, "GET", f"/v2.0/routers/{wired.router['id']}"))["router"]
    assert router["revision_number"] == 4


def test_remove_interface_by_port(call, plane, demo, wired):
    [port] = _interface_ports(plane, wired.router["id"])
    info = ok(remove_interface(call, demo, wired.router["id"], port_id=port["id"], subnet_id=wired.sub["id"]))
    assert info["subnet_id"] == wired.sub["id"] and plane.store.get("ports", port["id"]) is None


def test_remove_with_mismatched_subnet_is_400(call, plane, demo, wired):
    other = add_subnet(call, demo, wired.net["id"], "10.1.0.0/24")
    [port] = _interface_ports(plane, wired.router["id"])
    message = error(remove_interface(call, demo, wired.router["id"], port_id=port["id"], subnet_id=other["id"]),
                    400, "SubnetMismatchForPort")
    assert message == f"Subnet on port {port['id']} does not match the requested subnet {other['id']}."


def test_removing_a_non_interface_is_404(call, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    message = error(remove_interface(call, demo, wired.router["id"], port_id=vm["id"]), 404, "RouterInterfaceNotFound")
    assert message == f"Router {wired.router['id']} does not have an interface with id {vm['id']}"
    other = add_subnet(call, demo, wired.net["id"], "10.1.0.0/24")
    error(remove_interface(call, demo, wired.router["id"], subnet_id=other["id"]), 404, "RouterInterfaceNotFoundForSubnet")


def test_removing_interface_used_by_floating_ip_is_409(call, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    body = {"floatingip": {"floating_network_id": wired.ext_net["id"], "port_id": vm["id"]}}
    ok(call(demo, "POST", "/v2.0/floatingips", body), 201)
    error(remove_interface(call, demo, wired.router["id"], subnet_id=wired.sub["id"]), 409, "RouterInterfaceInUseByFloatingIP")


def test_removing_interface_used_by_route_is_409_like_sample_071(call, demo, wired):
    ok(_put_routes(call, demo, wired.router["id"], [{"destination": "192.168.100.0/24", "nexthop": "10.0.0.10"}]))
    message = error(remove_interface(call, demo, wired.router["id"], subnet_id=wired.sub["id"]), 409,
                    "RouterInterfaceInUseByRoute")
    assert message == (
        f"Router interface for subnet {wired.sub['id']} on router {wired.router['id']} cannot be deleted, "
        "as it is required by one or more routes."
    )


# --- extra routes --------------------------------------------------------------------------------
def test_put_routes_replaces_the_set_like_sample_029(call, demo, wired):
    route = {"destination": "192.168.100.0/24", "nexthop": "10.0.0.10"}
    router = ok(_put_routes(call, demo, wired.router["id"], [route]))["router"]
    assert set(router) == ROUTER_KEYS and router["routes"] == [route]
    cleared = ok(_put_routes(call, demo, wired.router["id"], []))["router"]  # sample 072
    assert cleared["routes"] == []


def test_add_and_remove_extraroutes_like_samples_030_031(call, demo, wired):
    first = {"destination": "192.168.100.0/24", "nexthop": "10.0.0.10"}
    second = {"destination": "192.168.101.0/24", "nexthop": "10.0.0.11"}
    ok(_put_routes(call, demo, wired.router["id"], [first]))
    added = ok(_extraroutes(call, demo, wired.router["id"], "add_extraroutes", [second, first]))["router"]
    assert set(added) == EXTRAROUTES_ROUTER_KEYS
    assert added["routes"] == [first, second]
    assert added["gw_port_id"] and added["enable_snat"] is True and added["ha_vr_id"] == 0
    removed = ok(_extraroutes(call, demo, wired.router["id"], "remove_extraroutes", [first]))["router"]
    assert set(removed) == EXTRAROUTES_ROUTER_KEYS and removed["routes"] == [second]


def test_nexthop_outside_router_subnets_is_400(call, demo, wired):
    message = error(_put_routes(call, demo, wired.router["id"], [{"destination": "192.168.0.0/24", "nexthop": "172.16.0.1"}]),
                    400, "InvalidRoutes")
    assert message.endswith("the nexthop is not connected with router")


def test_nexthop_in_gateway_subnet_is_allowed(call, demo, topo):
    route = {"destination": "0.0.0.0/0", "nexthop": "203.0.113.1"}
    assert ok(_put_routes(call, demo, topo.router["id"], [route]))["router"]["routes"] == [route]


def test_nexthop_equal_to_router_ip_is_400(call, demo, wired):
    message = error(_put_routes(call, demo, wired.router["id"], [{"destination": "192.168.0.0/24", "nexthop": "10.0.0.1"}]),
                    400, "InvalidRoutes")
    assert message.endswith("the nexthop is used by router")


def test_more_than_thirty_routes_is_400(call, demo, wired):
    routes = [{"destination": f"192.168.{i}.0/24", "nexthop": "10.0.0.10"} for i in range(31)]
    error(_put_routes(call, demo, wired.router["id"], routes), 400, "RoutesExhausted")
    assert len(ok(_put_routes(call, demo, wired.router["id"], routes[:30]))["router"]["routes"]) == 30


def test_malformed_routes_are_400(call, demo, wired):
    rid = wired.router["id"]
    for bad in ([{"destination": "192.168.0.1/24", "nexthop": "10.0.0.10"}],
                [{"destination": "192.168.0.0/24"}],
                [{"destination": "192.168.0.0/24", "nexthop": "nope"}],
                [{"destination": "192.168.0.0/24", "nexthop": "10.0.0.10"}] * 2,
                "not-a-list"):
        message = error(_put_routes(call, demo, rid, bad), 400, "HTTPBadRequest")
        assert message.startswith("Invalid input for routes.")
    error(call(demo, "PUT", f"/v2.0/routers/{rid}/add_extraroutes", {"routes": []}), 400, "HTTPBadRequest")


def test_removing_the_gateway_invalidates_routes_through_it(call, demo, topo):
    ok(_put_routes(call, demo, topo.router["id"], [{"destination": "0.0.0.0/0", "nexthop": "203.0.113.1"}]))
    body = {"router": {"external_gateway_info": None}}
    error(call(demo, "PUT", f"/v2.0/routers/{topo.router['id']}", body), 400, "InvalidRoutes")


_ROUTES = st.lists(
    st.builds(lambda d, h: {"destination": f"192.168.{d}.0/24", "nexthop": f"10.0.0.{h}"},
              st.integers(0, 6), st.integers(10, 13)),
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(start=_ROUTES, add=_ROUTES, remove=_ROUTES)
def test_extraroutes_follow_set_union_and_difference(start, add, remove):
    """add_extraroutes is a union and remove_extraroutes a difference, whatever the inputs."""
    from xloudnet.control.context import Context
    from xloudnet.control.neutron import NeutronAPI, Request
    from xloudnet.control.plane import ControlPlane

    api = NeutronAPI(ControlPlane())
    demo = Context("demo-project", "u", frozenset({"member", "reader"}))

    def call(method, path, body=None):
        return api.handle(demo, Request(method, path, body=body)).body

    net = call("POST", "/v2.0/networks", {"network": {}})["network"]
    sub = call("POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": "10.0.0.0/24"}})["subnet"]
    router = call("POST", "/v2.0/routers", {"router": {}})["router"]
    call("PUT", f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": sub["id"]})
    unique = list({(r["destination"], r["nexthop"]): r for r in start}.values())
    call("PUT", f"/v2.0/routers/{router['id']}", {"router": {"routes": unique}})
    key = lambda routes: {(r["destination"], r["nexthop"]) for r in routes}  # noqa: E731
    added = call("PUT", f"/v2.0/routers/{router['id']}/add_extraroutes", {"router": {"routes": add}})["router"]
    assert key(added["routes"]) == key(unique) | key(add)
    assert len(added["routes"]) == len(key(added["routes"]))
    removed = call("PUT", f"/v2.0/routers/{router['id']}/remove_extraroutes", {"router": {"routes": remove}})["router"]
    assert key(removed["routes"]) == (key(unique) | key(add)) - key(remove)
    assert all(ipaddress.ip_network(r["destination"]) for r in removed["routes"])


def test_router_route_quota_sets_the_limit(call, admin, demo, wired):
    ok(call(admin, "PUT", "/v2.0/quotas/demo-project", {"quota": {"router_route": 1}}))
    routes = [{"destination": f"192.168.{i}.0/24", "nexthop": "10.0.0.10"} for i in range(2)]
    message = error(_put_routes(call, demo, wired.router["id"], routes), 400, "RoutesExhausted")
    assert message.endswith("The number of routes exceeds the maximum 1.")
    assert ok(_put_routes(call, demo, wired.router["id"], routes[:1]))["router"]["routes"] == routes[:1]
