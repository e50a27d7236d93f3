"""Floating IPs: allocation, association rules, status, filters and release (digest §3.5,
samples 047-054, 066)."""

from __future__ import annotations

import ipaddress

from test_router_support import (  # noqa: F401  (fixtures)
    FLOATINGIP_KEYS,
    PORT_DETAILS_KEYS,
    add_interface,
    add_subnet,
    error,
    make_network,
    make_port,
    make_router,
    ok,
    remove_interface,
    topo,
    wired,
)

POOL = (ipaddress.ip_address("203.0.113.10"), ipaddress.ip_address("203.0.113.200"))


def _create(call, ctx, ext_net_id, **extra):
    return call(ctx, "POST", "/v2.0/floatingips", {"floatingip": dict({"floating_network_id": ext_net_id}, **extra)})


def _update(call, ctx, fip_id, **changes):
    return call(ctx, "PUT", f"/v2.0/floatingips/{fip_id}", {"floatingip": changes})


def _list(call, ctx, **filters):
    return ok(call(ctx, "GET", "/v2.0/floatingips", query=list(filters.items())))["floatingips"]


# --- allocation ----------------------------------------------------------------------------------
def test_create_matches_sample_047(call, plane, demo, topo):
    fip = ok(_create(call, demo, topo.ext_net["id"], description="fip"), 201)["floatingip"]
    assert set(fip) == FLOATINGIP_KEYS
    assert fip["status"] == "DOWN" and fip["description"] == "fip" and fip["port_details"] is None
    assert fip["router_id"] is None and fip["port_id"] is None and fip["fixed_ip_address"] is None
    assert fip["project_id"] == fip["tenant_id"] == "demo-project"
    assert POOL[0] <= ipaddress.ip_address(fip["floating_ip_address"]) <= POOL[1]
    [port] = [p for p in plane.store.find("ports", "device_id", fip["id"])]
    assert port["device_owner"] == "network:floatingip" and port["project_id"] == ""
    assert port["network_id"] == topo.ext_net["id"]
    assert port["fixed_ips"][0]["ip_address"] == fip["floating_ip_address"]


def test_floating_ip_port_is_invisible_to_the_project(call, demo, topo):
    fip = ok(_create(call, demo, topo.ext_net["id"]), 201)["floatingip"]
    assert ok(call(demo, "GET", "/v2.0/ports", query=[("device_id", fip["id"])]))["ports"] == []


def test_member_choosing_the_address_is_403_admin_may(call, admin, demo, topo):
    error(_create(call, demo, topo.ext_net["id"], floating_ip_address="203.0.113.99"), 403, "PolicyNotAuthorized")
    fip = ok(_create(call, admin, topo.ext_net["id"], floating_ip_address="203.0.113.99", project_id="demo-project"), 201)
    assert fip["floatingip"]["floating_ip_address"] == "203.0.113.99"
    assert fip["floatingip"]["project_id"] == "demo-project"


def test_taken_address_is_409(call, admin, topo):
    ok(_create(call, admin, topo.ext_net["id"], floating_ip_address="203.0.113.99"), 201)
    error(_create(call, admin, topo.ext_net["id"], floating_ip_address="203.0.113.99"), 409, "IpAddressAlreadyAllocated")


def test_subnet_id_picks_the_subnet_and_is_not_returned(call, admin, demo, topo):
    second = add_subnet(call, admin, topo.ext_net["id"], "198.51.100.0/24")
    fip = ok(_create(call, demo, topo.ext_net["id"], subnet_id=second["id"]), 201)["floatingip"]
    assert ipaddress.ip_address(fip["floating_ip_address"]) in ipaddress.ip_network("198.51.100.0/24")
    assert "subnet_id" not in fip


def test_internal_network_is_400(call, demo, topo):
    message = error(_create(call, demo, topo.net["id"]), 400, "BadRequest")
    assert message == f"Bad floatingip request: Network {topo.net['id']} is not a valid external network."


def test_unknown_network_is_404_and_missing_network_is_400(call, demo):
    error(_create(call, demo, "0b5b2b4e-5f6c-4a5e-8d8f-0a0a0a0a0a0a"), 404, "NetworkNotFound")
    message = error(call(demo, "POST", "/v2.0/floatingips", {"floatingip": {}}), 400, "HTTPBadRequest")
    assert message == "Failed to parse request. Required attribute 'floating_network_id' not specified"


def test_external_network_without_ipv4_is_400(call, admin, demo):
    ext6, _ = make_network(call, admin, "v6", "2001:db8:f::/64", external=True, ip_version=6)
    message = error(_create(call, demo, ext6["id"]), 400, "BadRequest")
    assert message == f"Bad floatingip request: Network {ext6['id']} does not contain any IPv4 subnet."


def test_no_ipv4_address_obtained_is_400_exhausted(call, admin, demo, topo):
    v6 = add_subnet(call, admin, topo.ext_net["id"], "2001:db8:e::/64", ip_version=6)
    message = error(_create(call, demo, topo.ext_net["id"], subnet_id=v6["id"]), 400, "ExternalIpAddressExhausted")
    assert message == f"Unable to find any IP address on external network {topo.ext_net['id']}."


def test_failed_create_leaves_no_port_behind(call, plane, demo, topo):
    ports_before = len(plane.store.table("ports"))
    error(_create(call, demo, topo.ext_net["id"], port_id="0b5b2b4e-5f6c-4a5e-8d8f-0a0a0a0a0a0a"), 404, "PortNotFound")
    assert len(plane.store.table("ports")) == ports_before
    assert len(plane.store.table("floatingips")) == 0


# --- association ---------------------------------------------------------------------------------
def test_associate_matches_sample_048(call, plane, demo, wired):
    vm = make_port(call, demo, wired.net["id"], name="vm-port", fixed_ips=[{"subnet_id": wired.sub["id"], "ip_address": "10.0.0.50"}])
    fip = ok(_create(call, demo, wired.ext_net["id"]), 201)["floatingip"]
    updated = ok(_update(call, demo, fip["id"], port_id=vm["id"]))["floatingip"]
    assert set(updated) == FLOATINGIP_KEYS
    assert updated["router_id"] == wired.router["id"] and updated["fixed_ip_address"] == "10.0.0.50"
    assert updated["status"] == "ACTIVE" and updated["revision_number"] == fip["revision_number"] + 1
    details = updated["port_details"]
    assert set(details) == PORT_DETAILS_KEYS
    assert details["name"] == "vm-port" and details["network_id"] == wired.net["id"]
    assert details["mac_address"] == plane.store.get("ports", vm["id"])["mac_address"]
    shown = ok(call(demo, "GET", f"/v2.0/floatingips/{fip['id']}"))["floatingip"]  # sample 049
    assert shown == updated
    assert _list(call, demo) == [updated]  # sample 050


def test_port_details_follow_the_port(call, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    fip = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    ok(call(demo, "PUT", f"/v2.0/ports/{vm['id']}", {"port": {"name": "renamed"}}))
    assert ok(call(demo, "GET", f"/v2.0/floatingips/{fip['id']}"))["floatingip"]["port_details"]["name"] == "renamed"


def test_create_with_port_matches_sample_054(call, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    fip = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    assert set(fip) == FLOATINGIP_KEYS
    assert fip["port_id"] == vm["id"] and fip["router_id"] == wired.router["id"]
    assert fip["fixed_ip_address"] == vm["fixed_ips"][0]["ip_address"] and fip["status"] == "ACTIVE"


def test_disassociate_matches_sample_051(call, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    fip = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    cleared = ok(_update(call, demo, fip["id"], port_id=None))["floatingip"]
    assert set(cleared) == FLOATINGIP_KEYS
    assert (cleared["port_id"], cleared["fixed_ip_address"], cleared["router_id"]) == (None, None, None)
    assert cleared["status"] == "DOWN" and cleared["port_details"] is None
    assert cleared["floating_ip_address"] == fip["floating_ip_address"]


def test_update_without_port_id_keeps_association(call, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    fip = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    updated = ok(_update(call, demo, fip["id"], description="web"))["floatingip"]
    assert updated["port_id"] == vm["id"] and updated["description"] == "web" and updated["status"] == "ACTIVE"


def test_blank_update_clears_the_association(call, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    fip = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    cleared = ok(_update(call, demo, fip["id"]))["floatingip"]
    assert (cleared["port_id"], cleared["fixed_ip_address"], cleared["status"]) == (None, None, "DOWN")
    again = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    assert again["port_id"] == vm["id"]


def test_no_router_between_subnet_and_external_network_is_404(call, demo, topo):
    vm = make_port(call, demo, topo.net["id"])
    message = error(_create(call, demo, topo.ext_net["id"], port_id=vm["id"]), 404, "ExternalGatewayForFloatingIPNotFound")
    assert message == (
        f"External network {topo.ext_net['id']} is not reachable from subnet {topo.sub['id']}.  "
        f"Therefore, cannot associate Port {vm['id']} with a Floating IP."
    )


def test_router_without_gateway_does_not_serve(call, demo, topo):
    router = make_router(call, demo, name="no-gw")
    _, sub = make_network(call, demo, "n2", "10.2.0.0/24")
    ok(add_interface(call, demo, router["id"], subnet_id=sub["id"]))
    vm = make_port(call, demo, sub["network_id"])
    error(_create(call, demo, topo.ext_net["id"], port_id=vm["id"]), 404, "ExternalGatewayForFloatingIPNotFound")


def test_router_holding_the_subnet_gateway_wins(call, plane, demo, wired):
    """Two routers reach the subnet; the one on the gateway IP serves (Neutron's tie-break),
    even when the other one comes first in id order."""
    ids, real = iter(["00000000-0000-4000-8000-000000000000"]), plane.ids
    plane.ids = lambda: next(ids, None) or real()
    other = make_router(call, demo, wired.ext_net["id"], name="r-other")
    assert other["id"] < wired.router["id"]
    side = make_port(call, demo, wired.net["id"], fixed_ips=[{"subnet_id": wired.sub["id"], "ip_address": "10.0.0.254"}])
    ok(add_interface(call, demo, other["id"], port_id=side["id"]))
    vm = make_port(call, demo, wired.net["id"])
    fip = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    assert fip["router_id"] == wired.router["id"]


def test_other_projects_port_is_400(call, admin, demo, wired):
    foreign = make_port(call, admin, wired.net["id"], project_id="alt-project")
    fip = ok(_create(call, demo, wired.ext_net["id"]), 201)["floatingip"]
    message = error(_update(call, demo, fip["id"], port_id=foreign["id"]), 400, "BadRequest")
    assert "since that port is owned by a different tenant" in message


def test_invisible_port_is_404(call, alt, demo, wired):
    _, alt_sub = make_network(call, alt, "alt", "10.7.0.0/24")
    hidden = make_port(call, alt, alt_sub["network_id"])
    error(_create(call, demo, wired.ext_net["id"], port_id=hidden["id"]), 404, "PortNotFound")


def test_dhcp_port_is_400(call, admin, demo, wired):
    dhcp = make_port(call, admin, wired.net["id"], device_owner="network:dhcp", project_id="demo-project")
    message = error(_create(call, demo, wired.ext_net["id"], port_id=dhcp["id"]), 400, "BadRequest")
    assert message == f"Bad floatingip request: Port {dhcp['id']} is unable to be assigned a floating IP."


def test_fixed_ip_rules(call, demo, wired):
    second = add_subnet(call, demo, wired.net["id"], "10.1.0.0/24")
    ok(add_interface(call, demo, wired.router["id"], subnet_id=second["id"]))
    v6 = add_subnet(call, demo, wired.net["id"], "2001:db8:5::/64", ip_version=6)
    vm = make_port(call, demo, wired.net["id"], fixed_ips=[
        {"subnet_id": wired.sub["id"], "ip_address": "10.0.0.50"},
        {"subnet_id": second["id"], "ip_address": "10.1.0.50"},
        {"subnet_id": v6["id"]},
    ])
    v6_ip = [ip["ip_address"] for ip in vm["fixed_ips"] if ":" in ip["ip_address"]][0]
    ext = wired.ext_net["id"]
    assert "multiple fixed IPv4 addresses" in error(_create(call, demo, ext, port_id=vm["id"]), 400, "BadRequest")
    assert "is not an IPv4 address" in error(_create(call, demo, ext, port_id=vm["id"], fixed_ip_address=v6_ip), 400, "BadRequest")
    assert "does not have fixed ip 10.0.0.77" in error(
        _create(call, demo, ext, port_id=vm["id"], fixed_ip_address="10.0.0.77"), 400, "BadRequest")
    assert "cannot be specified without a port_id" in error(_create(call, demo, ext, fixed_ip_address="10.0.0.50"), 400, "BadRequest")
    fip = ok(_create(call, demo, ext, port_id=vm["id"], fixed_ip_address="10.1.0.50"), 201)["floatingip"]
    assert fip["fixed_ip_address"] == "10.1.0.50" and fip["router_id"] == wired.router["id"]


def test_port_without_ipv4_is_400(call, demo, wired):
    v6 = add_subnet(call, demo, wired.net["id"], "2001:db8:6::/64", ip_version=6)
    vm = make_port(call, demo, wired.net["id"], fixed_ips=[{"subnet_id": v6["id"]}])
    message = error(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 400, "BadRequest")
    assert "that has no fixed IPv4 addresses" in message


def test_second_floating_ip_on_same_fixed_ip_is_409_repointing_is_allowed(call, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    other = make_port(call, demo, wired.net["id"])
    first = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    second = ok(_create(call, demo, wired.ext_net["id"]), 201)["floatingip"]
    message = error(_update(call, demo, second["id"], port_id=vm["id"]), 409, "FloatingIPPortAlreadyAssociated")
    assert f"using fixed IP {vm['fixed_ips'][0]['ip_address']}" in message
    moved = ok(_update(call, demo, first["id"], port_id=other["id"]))["floatingip"]
    assert moved["port_id"] == other["id"] and moved["fixed_ip_address"] == other["fixed_ips"][0]["ip_address"]
    assert ok(_update(call, demo, second["id"], port_id=vm["id"]))["floatingip"]["port_id"] == vm["id"]
    again = ok(_update(call, demo, second["id"], port_id=vm["id"]))["floatingip"]  # same port: unchanged
    assert again["fixed_ip_address"] == vm["fixed_ips"][0]["ip_address"]


def test_unknown_qos_policy_is_404(call, demo, topo):
    error(_create(call, demo, topo.ext_net["id"], qos_policy_id="0b5b2b4e-5f6c-4a5e-8d8f-0a0a0a0a0a0a"), 404, "QosPolicyNotFound")


# --- lists, visibility, release ------------------------------------------------------------------
def test_filters_use_association_fields(call, admin, demo, alt, wired):
    vm = make_port(call, demo, wired.net["id"])
    bound = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    free = ok(_create(call, demo, wired.ext_net["id"]), 201)["floatingip"]
    ok(_create(call, alt, wired.ext_net["id"]), 201)
    ids = lambda fips: {f["id"] for f in fips}  # noqa: E731
    assert ids(_list(call, demo)) == {bound["id"], free["id"]}
    assert ids(_list(call, demo, port_id=vm["id"])) == {bound["id"]}
    assert ids(_list(call, demo, router_id=wired.router["id"])) == {bound["id"]}
    assert ids(_list(call, demo, status="DOWN")) == {free["id"]}
    assert ids(_list(call, demo, fixed_ip_address=bound["fixed_ip_address"])) == {bound["id"]}
    assert ids(_list(call, demo, floating_ip_address=free["floating_ip_address"])) == {free["id"]}
    assert ids(_list(call, demo, floating_network_id=wired.ext_net["id"])) == {bound["id"], free["id"]}
    assert len(_list(call, admin, floating_network_id=wired.ext_net["id"])) == 3
    error(call(demo, "GET", "/v2.0/floatingips", query=[("subnet_id", "x")]), 400, "HTTPBadRequest")
    sorted_ = _list(call, demo, sort_key="floating_ip_address", sort_dir="asc")
    addresses = [ipaddress.ip_address(f["floating_ip_address"]) for f in sorted_]
    assert [str(a) for a in addresses] == sorted(str(a) for a in addresses)


def test_other_projects_floating_ip_is_404(call, alt, demo, topo):
    fip = ok(_create(call, demo, topo.ext_net["id"]), 201)["floatingip"]
    error(call(alt, "GET", f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    error(_update(call, alt, fip["id"], description="x"), 404, "FloatingIPNotFound")


def test_delete_releases_the_address_like_samples_052_053(call, plane, demo, topo):
    fip = ok(_create(call, demo, topo.ext_net["id"]), 201)["floatingip"]
    port_ids = [p["id"] for p in plane.store.find("ports", "device_id", fip["id"])]
    assert ok(call(demo, "DELETE", f"/v2.0/floatingips/{fip['id']}"), 204) is None
    message = error(call(demo, "GET", f"/v2.0/floatingips/{fip['id']}"), 404, "FloatingIPNotFound")
    assert message == f"Floating IP {fip['id']} could not be found"
    assert all(plane.store.get("ports", pid) is None for pid in port_ids)


def test_disassociate_port_hook_clears_every_floating_ip_of_the_port(call, plane, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    fip = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    plane.floatingips.disassociate_port(vm["id"])
    stored = plane.store.get("floatingips", fip["id"])
    assert (stored["port_id"], stored["fixed_ip_address"], stored["router_id"], stored["status"]) == (None, None, None, "DOWN")
    assert stored["revision_number"] == fip["revision_number"] + 1


def test_deleting_the_port_disassociates_its_floating_ip(call, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    fip = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    ok(call(demo, "DELETE", f"/v2.0/ports/{vm['id']}"), 204)
    shown = ok(call(demo, "GET", f"/v2.0/floatingips/{fip['id']}"))["floatingip"]
    assert shown["port_id"] is None and shown["status"] == "DOWN" and shown["router_id"] is None


# --- the whole flow ------------------------------------------------------------------------------
def test_full_seed_flow(call, plane, admin, demo):
    ext, ext_sub = make_network(call, admin, "public", "203.0.113.0/24", external=True,
                                allocation_pools=[{"start": "203.0.113.10", "end": "203.0.113.200"}])
    net, sub = make_network(call, demo, "private", "10.0.0.0/24")
    router = make_router(call, demo, ext["id"])
    ok(add_interface(call, demo, router["id"], subnet_id=sub["id"]))
    vm = make_port(call, demo, net["id"])
    fip = ok(_create(call, demo, ext["id"]), 201)["floatingip"]
    fip = ok(_update(call, demo, fip["id"], port_id=vm["id"]))["floatingip"]
    assert fip["status"] == "ACTIVE" and fip["router_id"] == router["id"]
    assert ok(call(demo, "GET", f"/v2.0/floatingips/{fip['id']}"))["floatingip"] == fip
    assert _list(call, demo) == [fip]
    routes = [{"destination": "192.168.100.0/24", "nexthop": "10.0.0.10"}]
    rpath = f"/v2.0/routers/{router['id']}"
    assert ok(call(demo, "PUT", rpath + "/add_extraroutes", {"router": {"routes": routes}}))["router"]["routes"] == routes
    error(remove_interface(call, demo, router["id"], subnet_id=sub["id"]), 409, "RouterInterfaceInUseByFloatingIP")
    ok(_update(call, demo, fip["id"], port_id=None))
    error(remove_interface(call, demo, router["id"], subnet_id=sub["id"]), 409, "RouterInterfaceInUseByRoute")
    assert ok(call(demo, "PUT", rpath + "/remove_extraroutes", {"router": {"routes": routes}}))["router"]["routes"] == []
    error(call(demo, "DELETE", rpath), 409, "RouterInUse")
    ok(remove_interface(call, demo, router["id"], subnet_id=sub["id"]))
    ok(call(demo, "DELETE", f"/v2.0/floatingips/{fip['id']}"), 204)
    ok(call(demo, "PUT", rpath, {"router": {"external_gateway_info": {}}}))
    ok(call(demo, "DELETE", rpath), 204)
    ok(call(demo, "DELETE", f"/v2.0/ports/{vm['id']}"), 204)
    leftovers = [p for p in plane.store.table("ports").values() if p["network_id"] == ext["id"]]
    assert [p for p in leftovers if p["device_owner"] in ("network:router_gateway", "network:floatingip")] == []
    ok(call(admin, "DELETE", f"/v2.0/networks/{ext['id']}"), 204)
    assert ext_sub["id"] not in plane.store.table("subnets")


def test_deleting_an_external_network_releases_its_unassociated_floating_ips(call, plane, admin, demo):
    net = ok(call(admin, "POST", "/v2.0/networks", {"network": {"router:external": True}}), 201)["network"]
    ok(call(admin, "POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                                        "cidr": "198.51.100.0/24"}}), 201)
    spare = ok(_create(call, demo, net["id"]), 201)["floatingip"]
    port_id = plane.store.get("floatingips", spare["id"])["floating_port_id"]
    assert call(admin, "DELETE", f"/v2.0/networks/{net['id']}")[0] == 204
    assert call(admin, "GET", f"/v2.0/floatingips/{spare['id']}")[0] == 404
    assert plane.store.get("ports", port_id) is None


def test_an_associated_floating_ip_keeps_its_external_network_in_use(call, plane, admin, demo, wired):
    vm = make_port(call, demo, wired.net["id"])
    used = ok(_create(call, demo, wired.ext_net["id"], port_id=vm["id"]), 201)["floatingip"]
    spare = ok(_create(call, demo, wired.ext_net["id"]), 201)["floatingip"]
    status, body = call(admin, "DELETE", f"/v2.0/networks/{wired.ext_net['id']}")
    assert status == 409 and body["NeutronError"]["type"] == "NetworkInUse"
    assert call(admin, "GET", f"/v2.0/floatingips/{spare['id']}")[0] == 200, "a refused delete changes nothing"
    assert call(admin, "GET", f"/v2.0/floatingips/{used['id']}")[0] == 200
