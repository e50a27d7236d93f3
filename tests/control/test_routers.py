"""Routers: attributes, policy, the gateway port and router deletion (digest §3.4, samples 025,
028, 070, 074, 075)."""

from __future__ import annotations

from test_router_support import (  # noqa: F401  (fixtures)
    GATEWAY_KEYS,
    ROUTER_KEYS,
    add_interface,
    error,
    make_network,
    make_port,
    make_router,
    ok,
    topo,
    wired,
)


def _ports(call, ctx, **filters):
    return ok(call(ctx, "GET", "/v2.0/ports", query=list(filters.items())))["ports"]


def _gateway_port(plane, router_id):
    return [p for p in plane.store.find("ports", "device_id", router_id) if p["device_owner"] == "network:router_gateway"]


def test_router_without_gateway_has_sample_shape(call, demo):
    router = make_router(call, demo)
    assert set(router) == ROUTER_KEYS
    assert router["external_gateway_info"] is None
    assert router["status"] == "ACTIVE" and router["routes"] == [] and router["flavor_id"] is None
    assert router["project_id"] == router["tenant_id"] == "demo-project"
    assert router["revision_number"] == 1


def test_router_with_gateway_matches_sample_025(call, demo, topo):
    router = topo.router
    assert set(router) == ROUTER_KEYS
    gateway = router["external_gateway_info"]
    assert set(gateway) == GATEWAY_KEYS
    assert gateway["network_id"] == topo.ext_net["id"] and gateway["enable_snat"] is True
    [fixed] = gateway["external_fixed_ips"]
    assert fixed["subnet_id"] == topo.ext_sub["id"]
    assert fixed["ip_address"].startswith("203.0.113.")
    assert router["revision_number"] == 2  # stored, then the gateway was plugged


def test_gateway_port_is_hidden_service_port(call, plane, admin, demo, topo):
    [port] = _gateway_port(plane, topo.router["id"])
    assert port["project_id"] == "" and port["network_id"] == topo.ext_net["id"]
    assert port["fixed_ips"][0]["ip_address"] == topo.router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    assert _ports(call, demo, device_id=topo.router["id"]) == []
    assert [p["id"] for p in _ports(call, admin, device_id=topo.router["id"])] == [port["id"]]


def test_routes_in_post_is_400(call, demo):
    body = {"router": {"name": "r", "routes": []}}
    message = error(call(demo, "POST", "/v2.0/routers", body), 400, "HTTPBadRequest")
    assert message == "Attribute 'routes' not allowed in POST"


def test_member_setting_enable_snat_is_403(call, demo, topo):
    gateway = {"network_id": topo.ext_net["id"], "enable_snat": True}
    error(call(demo, "POST", "/v2.0/routers", {"router": {"external_gateway_info": gateway}}), 403, "PolicyNotAuthorized")
    path = f"/v2.0/routers/{topo.router['id']}"
    error(call(demo, "PUT", path, {"router": {"external_gateway_info": gateway}}), 403, "PolicyNotAuthorized")


def test_member_setting_external_fixed_ips_is_403(call, demo, topo):
    gateway = {"network_id": topo.ext_net["id"], "external_fixed_ips": [{"subnet_id": topo.ext_sub["id"]}]}
    error(call(demo, "POST", "/v2.0/routers", {"router": {"external_gateway_info": gateway}}), 403, "PolicyNotAuthorized")


def test_admin_sets_snat_and_fixed_ip(call, admin, topo):
    gateway = {
        "network_id": topo.ext_net["id"],
        "enable_snat": False,
        "external_fixed_ips": [{"subnet_id": topo.ext_sub["id"], "ip_address": "203.0.113.150"}],
    }
    router = ok(call(admin, "POST", "/v2.0/routers", {"router": {"external_gateway_info": gateway}}), 201)["router"]
    assert router["external_gateway_info"] == {
        "network_id": topo.ext_net["id"],
        "external_fixed_ips": [{"subnet_id": topo.ext_sub["id"], "ip_address": "203.0.113.150"}],
        "enable_snat": False,
    }
    assert router["distributed"] is False and router["ha"] is False  # admin-only attributes


def test_members_do_not_see_distributed_or_ha_and_cannot_set_them(call, demo):
    router = make_router(call, demo)
    assert "distributed" not in router and "ha" not in router
    error(call(demo, "POST", "/v2.0/routers", {"router": {"ha": True}}), 403, "PolicyNotAuthorized")


def test_admin_changes_gateway_ip_in_place(call, plane, admin, topo):
    [before] = _gateway_port(plane, topo.router["id"])
    path = f"/v2.0/routers/{topo.router['id']}"
    gateway = {"network_id": topo.ext_net["id"], "external_fixed_ips": [{"ip_address": "203.0.113.77"}]}
    router = ok(call(admin, "PUT", path, {"router": {"external_gateway_info": gateway}}))["router"]
    assert router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == "203.0.113.77"
    [port] = _gateway_port(plane, topo.router["id"])
    assert port["id"] == before["id"]  # same network: the port is re-addressed, not replaced
    assert [ip["ip_address"] for ip in port["fixed_ips"]] == ["203.0.113.77"]


def test_gateway_on_internal_network_is_400(call, demo, topo):
    body = {"router": {"external_gateway_info": {"network_id": topo.net["id"]}}}
    message = error(call(demo, "POST", "/v2.0/routers", body), 400, "BadRequest")
    assert message == f"Bad router request: Network {topo.net['id']} is not an external network."


def test_gateway_on_unknown_network_is_404(call, demo):
    body = {"router": {"external_gateway_info": {"network_id": "6a1a4c55-2a7e-4d2d-9f0b-2b2f56f7f0a1"}}}
    error(call(demo, "POST", "/v2.0/routers", body), 404, "NetworkNotFound")


def test_gateway_info_without_network_id_is_400(call, demo):
    body = {"router": {"external_gateway_info": {"enable_snat": True}}}
    message = error(call(demo, "POST", "/v2.0/routers", body), 400, "HTTPBadRequest")
    assert message.startswith("Invalid input for external_gateway_info. Reason:")


def test_gateway_ip_equal_to_subnet_gateway_is_400(call, admin, topo):
    gateway = {"network_id": topo.ext_net["id"], "external_fixed_ips": [{"ip_address": "203.0.113.1"}]}
    message = error(call(admin, "POST", "/v2.0/routers", {"router": {"external_gateway_info": gateway}}), 400, "BadRequest")
    assert message == "Bad router request: External IP 203.0.113.1 is the same as the gateway IP."


def test_clearing_gateway_with_empty_dict_removes_port(call, plane, demo, topo):
    path = f"/v2.0/routers/{topo.router['id']}"
    router = ok(call(demo, "PUT", path, {"router": {"external_gateway_info": {}}}))["router"]
    assert router["external_gateway_info"] is None and set(router) == ROUTER_KEYS  # sample 074
    assert _gateway_port(plane, topo.router["id"]) == []


def test_clearing_gateway_with_null_removes_port(call, plane, demo, topo):
    path = f"/v2.0/routers/{topo.router['id']}"
    ok(call(demo, "PUT", path, {"router": {"external_gateway_info": None}}))
    assert _gateway_port(plane, topo.router["id"]) == []


def test_moving_gateway_to_another_external_network_replaces_port(call, plane, admin, demo, topo):
    other, other_sub = make_network(call, admin, "public2", "198.51.100.0/24", external=True)
    path = f"/v2.0/routers/{topo.router['id']}"
    router = ok(call(demo, "PUT", path, {"router": {"external_gateway_info": {"network_id": other["id"]}}}))["router"]
    assert router["external_gateway_info"]["external_fixed_ips"][0]["subnet_id"] == other_sub["id"]
    [port] = _gateway_port(plane, topo.router["id"])
    assert port["network_id"] == other["id"]


def test_removing_gateway_used_by_floating_ips_is_409(call, demo, wired):
    port = make_port(call, demo, wired.net["id"])
    body = {"floatingip": {"floating_network_id": wired.ext_net["id"], "port_id": port["id"]}}
    ok(call(demo, "POST", "/v2.0/floatingips", body), 201)
    path = f"/v2.0/routers/{wired.router['id']}"
    message = error(call(demo, "PUT", path, {"router": {"external_gateway_info": None}}), 409,
                    "RouterExternalGatewayInUseByFloatingIp")
    assert wired.ext_net["id"] in message


def test_gateway_overlapping_an_interface_subnet_is_400(call, admin, demo, topo):
    router = make_router(call, demo, name="r2")
    ok(add_interface(call, demo, router["id"], subnet_id=topo.sub["id"]))
    clash, _ = make_network(call, admin, "clash", "10.0.0.0/16", external=True)
    body = {"router": {"external_gateway_info": {"network_id": clash["id"]}}}
    message = error(call(demo, "PUT", f"/v2.0/routers/{router['id']}", body), 400, "BadRequest")
    assert "overlaps with cidr 10.0.0.0/24" in message


def test_admin_down_router_is_down_and_back_active(call, demo, topo):
    path = f"/v2.0/routers/{topo.router['id']}"
    assert ok(call(demo, "PUT", path, {"router": {"admin_state_up": False}}))["router"]["status"] == "DOWN"
    assert ok(call(demo, "PUT", path, {"router": {"admin_state_up": True}}))["router"]["status"] == "ACTIVE"


def test_other_projects_router_is_404_and_readers_cannot_update(call, alt, reader, topo):
    path = f"/v2.0/routers/{topo.router['id']}"
    error(call(alt, "GET", path), 404, "RouterNotFound")
    error(call(alt, "DELETE", path), 404, "RouterNotFound")
    assert ok(call(reader, "GET", path))["router"]["id"] == topo.router["id"]
    error(call(reader, "PUT", path, {"router": {"name": "x"}}), 403, "PolicyNotAuthorized")
    error(add_interface(call, reader, topo.router["id"], subnet_id=topo.sub["id"]), 403, "PolicyNotAuthorized")


def test_show_router_after_interface_matches_sample_028(call, demo, wired):
    router = ok(call(demo, "GET", f"/v2.0/routers/{wired.router['id']}"))["router"]
    assert set(router) == ROUTER_KEYS
    assert router["revision_number"] == 3  # the interface bumped the router


def test_list_routers_filters_and_sorts(call, demo, alt, topo):
    make_router(call, demo, name="b")
    make_router(call, alt, name="a")
    names = [r["name"] for r in ok(call(demo, "GET", "/v2.0/routers", query=[("sort_key", "name"), ("sort_dir", "asc")]))["routers"]]
    assert names == ["b", "r1"]
    assert [r["name"] for r in ok(call(demo, "GET", "/v2.0/routers", query=[("name", "b")]))["routers"]] == ["b"]
    error(call(demo, "GET", "/v2.0/routers", query=[("gw_port_id", "x")]), 400, "HTTPBadRequest")


def test_deleting_router_with_interfaces_is_409(call, plane, demo, wired):
    [port] = [p for p in plane.store.find("ports", "device_id", wired.router["id"])
              if p["device_owner"] == "network:router_interface"]
    message = error(call(demo, "DELETE", f"/v2.0/routers/{wired.router['id']}"), 409, "RouterInUse")
    assert message == f"Router {wired.router['id']} has ports still attached: {port['id']}"


def test_deleting_router_removes_gateway_port(call, plane, demo, topo):
    assert ok(call(demo, "DELETE", f"/v2.0/routers/{topo.router['id']}"), 204) is None
    assert list(plane.store.find("ports", "device_id", topo.router["id"])) == []
    error(call(demo, "GET", f"/v2.0/routers/{topo.router['id']}"), 404, "RouterNotFound")


def test_router_extensions_are_advertised(call, demo):
    aliases = {e["alias"] for e in ok(call(demo, "GET", "/v2.0/extensions"))["extensions"]}
    assert {"router", "ext-gw-mode", "extraroute", "extraroute-atomic", "fip-port-details", "qos-fip"} <= aliases


def test_failed_gateway_leaves_no_router_behind(call, plane, demo, topo):
    before = len(plane.store.table("routers"))
    body = {"router": {"external_gateway_info": {"network_id": topo.net["id"]}}}
    error(call(demo, "POST", "/v2.0/routers", body), 400, "BadRequest")
    assert len(plane.store.table("routers")) == before
