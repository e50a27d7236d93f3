"""Subnets: attribute rules, defaults, pools, policy, visibility and delete rules (§3.2, §4.1, §4.2)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "neutron"


def _sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def _network(call, ctx, **extra) -> str:
    status, body = call(ctx, "POST", "/v2.0/networks", {"network": {"name": "net", **extra}})
    assert status == 201, body
    return body["network"]["id"]


def _subnet(call, ctx, network_id, cidr="10.0.0.0/24", version=4, **extra):
    return call(ctx, "POST", "/v2.0/subnets", {"subnet": {"network_id": network_id, "ip_version": version, "cidr": cidr, **extra}})


def _ok_subnet(call, ctx, network_id, cidr="10.0.0.0/24", version=4, **extra) -> dict:
    status, body = _subnet(call, ctx, network_id, cidr, version, **extra)
    assert status == 201, body
    return body["subnet"]


def _error(body) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


@pytest.fixture
def net(call, demo):
    return _network(call, demo)


# --- shape and defaults ------------------------------------------------------------------------
def test_create_subnet_has_the_keys_of_real_neutron(call, demo, net):
    subnet = _ok_subnet(call, demo, net, dns_nameservers=["8.8.8.8"], name="private-subnet")
    expected = _sample("010-tenant-create-subnet.json")["response"]["body"]["subnet"]
    assert set(subnet) - set(expected) == {"segment_id"}
    assert set(expected) <= set(subnet)
    assert subnet["gateway_ip"] == "10.0.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert subnet["dns_nameservers"] == ["8.8.8.8"]
    assert subnet["revision_number"] == expected["revision_number"] == 0
    assert subnet["project_id"] == subnet["tenant_id"] == demo.project_id


def test_host_bits_of_the_cidr_are_cleared(call, demo, net):
    assert _ok_subnet(call, demo, net, "10.0.0.77/24")["cidr"] == "10.0.0.0/24"


def test_bad_cidr_is_invalid_input_like_sample_011(call, demo, net):
    status, body = _subnet(call, demo, net, "10.0.0.0/33")
    expected = _sample("011-tenant-create-subnet-bad-cidr.json")["response"]
    assert status == expected["status"] == 400
    assert body == expected["body"]


def test_overlapping_subnet_on_same_network_is_400_like_sample_012(call, demo, net):
    _ok_subnet(call, demo, net)
    status, body = _subnet(call, demo, net, "10.0.0.128/25")
    assert status == 400
    assert _error(body) == (
        "InvalidInput",
        f"Invalid input for operation: Requested subnet with cidr: 10.0.0.128/25 for network: {net} "
        "overlaps with another subnet.",
    )


def test_same_cidr_on_another_network_is_allowed(call, demo, net):
    _ok_subnet(call, demo, net)
    _ok_subnet(call, demo, _network(call, demo))


def test_zero_prefix_is_400(call, demo, net):
    status, body = _subnet(call, demo, net, "0.0.0.0/0", enable_dhcp=False)
    assert status == 400 and "0 is not allowed as CIDR prefix length" in _error(body)[1]


def test_cidr_of_the_other_ip_version_is_400(call, demo, net):
    status, body = _subnet(call, demo, net, "2001:db8::/64", version=4)
    assert status == 400 and _error(body)[1].endswith("cidr '2001:db8::/64' does not match the ip_version '4'.")


def test_missing_cidr_and_subnet_pools_fail_like_neutron_without_pools(call, demo, net):
    status, body = call(demo, "POST", "/v2.0/subnets", {"subnet": {"network_id": net, "ip_version": 4}})
    assert status == 400 and _error(body) == (
        "BadRequest", "Bad subnets request: A cidr must be specified in the absence of a subnet pool."
    )
    pool = "7d0f5d2e-6f2a-4a55-9f59-8b7d3c6c2a11"
    status, body = _subnet(call, demo, net, subnetpool_id=pool)
    assert status == 404 and _error(body)[0] == "SubnetPoolNotFound"


def test_ipv6_default_gateway_is_the_network_address(call, demo, net):
    subnet = _ok_subnet(call, demo, net, "2001:db8::/64", version=6)
    assert subnet["gateway_ip"] == "2001:db8::"
    assert subnet["allocation_pools"] == [{"start": "2001:db8::1", "end": "2001:db8::ffff:ffff:ffff:ffff"}]


def test_explicit_null_gateway_means_no_gateway_and_full_pool(call, demo, net):
    subnet = _ok_subnet(call, demo, net, gateway_ip=None)
    assert subnet["gateway_ip"] is None
    assert subnet["allocation_pools"] == [{"start": "10.0.0.1", "end": "10.0.0.254"}]


def test_gateway_in_the_middle_splits_the_default_pool(call, demo, net):
    subnet = _ok_subnet(call, demo, net, gateway_ip="10.0.0.100")
    assert subnet["allocation_pools"] == [
        {"start": "10.0.0.1", "end": "10.0.0.99"},
        {"start": "10.0.0.101", "end": "10.0.0.254"},
    ]


@pytest.mark.parametrize("gateway", ["10.0.0.0", "10.0.0.255"])
def test_gateway_on_network_or_broadcast_address_is_400(call, demo, net, gateway):
    status, body = _subnet(call, demo, net, gateway_ip=gateway)
    assert status == 400
    assert _error(body) == ("InvalidInput", "Invalid input for operation: Gateway is not valid on subnet.")


def test_gateway_outside_the_cidr_is_accepted(call, demo, net):
    assert _ok_subnet(call, demo, net, gateway_ip="10.9.9.1")["gateway_ip"] == "10.9.9.1"


# --- allocation pools ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pools, status, kind",
    [
        ([{"start": "10.0.0.50", "end": "10.0.0.10"}], 400, "InvalidAllocationPool"),
        ([{"start": "2001:db8::1", "end": "2001:db8::5"}], 400, "InvalidAllocationPool"),
        ([{"start": "10.0.0.0", "end": "10.0.0.10"}], 400, "OutOfBoundsAllocationPool"),
        ([{"start": "10.0.0.10", "end": "10.0.1.10"}], 400, "OutOfBoundsAllocationPool"),
        ([{"start": "10.0.0.10", "end": "10.0.0.20"}, {"start": "10.0.0.20", "end": "10.0.0.30"}], 409,
         "OverlappingAllocationPools"),
        ([{"start": "10.0.0.1", "end": "10.0.0.20"}], 409, "GatewayConflictWithAllocationPools"),
        ([{"start": "10.0.0.10"}], 400, "HTTPBadRequest"),
    ],
)
def test_explicit_pools_are_validated(call, demo, net, pools, status, kind):
    got, body = _subnet(call, demo, net, allocation_pools=pools)
    assert (got, _error(body)[0]) == (status, kind)


def test_out_of_bounds_message_names_range_and_cidr(call, demo, net):
    _, body = _subnet(call, demo, net, allocation_pools=[{"start": "10.0.0.10", "end": "10.0.1.10"}])
    assert _error(body)[1] == "The allocation pool 10.0.0.10-10.0.1.10 spans beyond the subnet cidr 10.0.0.0/24."


def test_pools_can_be_replaced_by_put(call, demo, net):
    subnet = _ok_subnet(call, demo, net)
    pools = [{"start": "10.0.0.10", "end": "10.0.0.20"}, {"start": "10.0.0.100", "end": "10.0.0.110"}]
    status, body = call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}", {"subnet": {"allocation_pools": pools}})
    assert status == 200 and body["subnet"]["allocation_pools"] == pools
    assert body["subnet"]["revision_number"] == 1
    status, body = call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}",
                        {"subnet": {"allocation_pools": [{"start": "10.0.0.1", "end": "10.0.0.5"}]}})
    assert (status, _error(body)[0]) == (409, "GatewayConflictWithAllocationPools")


def test_new_gateway_inside_a_pool_is_409(call, demo, net):
    subnet = _ok_subnet(call, demo, net)
    status, body = call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}", {"subnet": {"gateway_ip": "10.0.0.50"}})
    assert (status, _error(body)[0]) == (409, "GatewayConflictWithAllocationPools")


# --- dns, routes, dhcp, ipv6 modes ---------------------------------------------------------------
def test_more_than_five_nameservers_is_400(call, demo, net):
    servers = [f"8.8.8.{i}" for i in range(6)]
    status, body = _subnet(call, demo, net, dns_nameservers=servers)
    assert (status, _error(body)[0]) == (400, "DNSNameServersExhausted")


def test_duplicate_nameserver_is_400(call, demo, net):
    status, body = _subnet(call, demo, net, dns_nameservers=["8.8.8.8", "8.8.8.8"])
    assert status == 400 and "Duplicate nameserver '8.8.8.8'" in _error(body)[1]


def test_nameserver_of_other_version_is_400(call, demo, net):
    status, body = _subnet(call, demo, net, dns_nameservers=["2001:4860::8888"])
    assert (status, _error(body)[0]) == (400, "InvalidInput")


def test_nameserver_order_is_kept_and_updatable(call, demo, net):
    subnet = _ok_subnet(call, demo, net, dns_nameservers=["9.9.9.9", "1.1.1.1"])
    assert subnet["dns_nameservers"] == ["9.9.9.9", "1.1.1.1"]
    _, body = call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}", {"subnet": {"dns_nameservers": ["1.1.1.1"]}})
    assert body["subnet"]["dns_nameservers"] == ["1.1.1.1"]


def test_host_routes_limit_and_versions(call, demo, net):
    routes = [{"destination": f"192.168.{i}.0/24", "nexthop": "10.0.0.9"} for i in range(21)]
    status, body = _subnet(call, demo, net, host_routes=routes)
    assert (status, _error(body)[0]) == (400, "HostRoutesExhausted")
    status, body = _subnet(call, demo, net, host_routes=[{"destination": "2001:db8::/64", "nexthop": "10.0.0.9"}])
    assert (status, _error(body)[0]) == (400, "InvalidInput")
    subnet = _ok_subnet(call, demo, net, host_routes=routes[:2])
    assert subnet["host_routes"] == routes[:2]


def test_dhcp_needs_a_prefix_of_at_most_30(call, demo, net):
    status, body = _subnet(call, demo, net, "10.0.0.0/31")
    assert status == 400 and "incompatible with DHCP" in _error(body)[1]
    subnet = _ok_subnet(call, demo, net, "10.0.0.0/31", enable_dhcp=False, gateway_ip=None)
    assert subnet["allocation_pools"] == [{"start": "10.0.0.0", "end": "10.0.0.1"}]
    status, body = call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}", {"subnet": {"enable_dhcp": True}})
    assert status == 400


def test_ipv6_modes_are_checked(call, demo, net):
    status, body = _subnet(call, demo, net, ipv6_ra_mode="slaac")
    assert status == 400 and "ipv6_ra_mode is not valid when ip_version is 4" in _error(body)[1]
    status, body = _subnet(call, demo, net, "2001:db8::/64", 6, ipv6_ra_mode="slaac", ipv6_address_mode="dhcpv6-stateful")
    assert status == 400 and "must be the same value" in _error(body)[1]
    status, body = _subnet(call, demo, net, "2001:db8::/80", 6, ipv6_address_mode="slaac")
    assert status == 400 and "requires the prefix to be /64" in _error(body)[1]
    status, body = _subnet(call, demo, net, "2001:db8::/64", 6, ipv6_address_mode="slaac", enable_dhcp=False)
    assert status == 400


def test_cidr_and_ip_version_are_read_only(call, demo, net):
    subnet = _ok_subnet(call, demo, net)
    status, body = call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}", {"subnet": {"cidr": "10.1.0.0/24"}})
    assert status == 400 and _error(body)[1] == "Cannot update read-only attribute cidr"


# --- network bookkeeping -----------------------------------------------------------------------
def test_network_lists_its_subnets_and_its_revision_follows(call, demo, net):
    _, before = call(demo, "GET", f"/v2.0/networks/{net}")
    subnet = _ok_subnet(call, demo, net)
    _, after = call(demo, "GET", f"/v2.0/networks/{net}")
    assert after["network"]["subnets"] == [subnet["id"]]
    assert after["network"]["revision_number"] == before["network"]["revision_number"] + 1
    assert call(demo, "DELETE", f"/v2.0/subnets/{subnet['id']}")[0] == 204
    _, gone = call(demo, "GET", f"/v2.0/networks/{net}")
    assert gone["network"]["subnets"] == []
    assert call(demo, "GET", f"/v2.0/subnets/{subnet['id']}")[0] == 404


# --- policy and visibility ---------------------------------------------------------------------
def test_subnet_on_invisible_network_is_404_network_not_found(call, demo, alt, net):
    status, body = _subnet(call, alt, net)
    assert (status, _error(body)[0]) == (404, "NetworkNotFound")


def test_subnet_on_someone_elses_shared_network_is_403(call, admin, alt):
    shared = _network(call, admin, shared=True)
    status, body = _subnet(call, alt, shared)
    assert (status, _error(body)) == (403, ("PolicyNotAuthorized", "rule:create_subnet is disallowed by policy"))


def test_reader_cannot_create_subnet(call, reader, demo, net):
    assert _subnet(call, reader, net)[0] == 403


def test_admin_may_create_on_any_network_and_set_service_types(call, admin, demo, net):
    subnet = _ok_subnet(call, admin, net, service_types=["compute:nova"])
    assert subnet["service_types"] == ["compute:nova"]
    status, body = _subnet(call, demo, net, "10.1.0.0/24", service_types=["compute:nova"])
    assert status == 403


def test_subnets_of_shared_and_external_networks_are_visible_to_all(call, admin, demo, alt):
    shared = _network(call, admin, shared=True)
    external = _network(call, admin, **{"router:external": True})
    private = _network(call, admin)
    ids = {name: _ok_subnet(call, admin, n, "10.5.0.0/24")["id"] for name, n in
           (("shared", shared), ("external", external), ("private", private))}
    _, body = call(alt, "GET", "/v2.0/subnets")
    seen = {s["id"] for s in body["subnets"]}
    assert ids["shared"] in seen and ids["external"] in seen and ids["private"] not in seen
    assert call(alt, "GET", f"/v2.0/subnets/{ids['private']}")[0] == 404
    status, body = call(alt, "PUT", f"/v2.0/subnets/{ids['shared']}", {"subnet": {"name": "x"}})
    assert (status, _error(body)[0]) == (403, "PolicyNotAuthorized")


def test_shared_is_a_filter_only(call, admin):
    shared = _ok_subnet(call, admin, _network(call, admin, shared=True))
    private = _ok_subnet(call, admin, _network(call, admin))
    _, body = call(admin, "GET", "/v2.0/subnets", query=[("shared", "true")])
    assert [s["id"] for s in body["subnets"]] == [shared["id"]]
    _, body = call(admin, "GET", "/v2.0/subnets", query=[("shared", "false")])
    assert [s["id"] for s in body["subnets"]] == [private["id"]]
    assert "shared" not in shared


def test_router_external_mirrors_the_network(call, admin):
    net = _network(call, admin)
    subnet = _ok_subnet(call, admin, net)
    assert subnet["router:external"] is False
    call(admin, "PUT", f"/v2.0/networks/{net}", {"network": {"router:external": True}})
    _, body = call(admin, "GET", f"/v2.0/subnets/{subnet['id']}")
    assert body["subnet"]["router:external"] is True


def test_router_external_filters_on_the_network_as_it_is_now(call, admin):
    net = _network(call, admin)
    subnet = _ok_subnet(call, admin, net)
    internal = _ok_subnet(call, admin, _network(call, admin), "10.9.0.0/24")
    call(admin, "PUT", f"/v2.0/networks/{net}", {"network": {"router:external": True}})
    _, body = call(admin, "GET", "/v2.0/subnets", query=[("router:external", "true")])
    assert [s["id"] for s in body["subnets"]] == [subnet["id"]]
    _, body = call(admin, "GET", "/v2.0/subnets", query=[("router:external", "False")])
    assert [s["id"] for s in body["subnets"]] == [internal["id"]]
    assert call(admin, "GET", "/v2.0/subnets", query=[("router:external", "maybe")])[0] == 400


@pytest.mark.parametrize(("service_type", "valid"), [
    ("compute:nova", True), ("network:dhcp", True), ("neutron:x", True),
    # neutron-lib accepts anything starting with one of the characters of "compute:"
    ("test:type_1", True), ("probe", True), ("baremetal:none", False), ("", False),
])
def test_service_types_follow_neutron_libs_prefix_rule(call, admin, net, service_type, valid):
    status, body = _subnet(call, admin, net, service_types=[service_type])
    assert status == (201 if valid else 400), body


def test_list_filters_by_network_and_ip_version(call, demo, net):
    v4 = _ok_subnet(call, demo, net)
    v6 = _ok_subnet(call, demo, net, "2001:db8::/64", 6)
    other = _ok_subnet(call, demo, _network(call, demo), "10.9.0.0/24")
    _, body = call(demo, "GET", "/v2.0/subnets", query=[("network_id", net)])
    assert {s["id"] for s in body["subnets"]} == {v4["id"], v6["id"]}
    _, body = call(demo, "GET", "/v2.0/subnets", query=[("ip_version", "6")])
    assert [s["id"] for s in body["subnets"]] == [v6["id"]]
    _, body = call(demo, "GET", "/v2.0/subnets", query=[("sort_key", "cidr"), ("sort_dir", "asc")])
    assert [s["id"] for s in body["subnets"]] == [v4["id"], other["id"], v6["id"]]


# --- delete and gateway rules ------------------------------------------------------------------
def _port(call, ctx, net, **extra) -> dict:
    status, body = call(ctx, "POST", "/v2.0/ports", {"port": {"network_id": net, **extra}})
    assert status == 201, body
    return body["port"]


def test_deleting_subnet_with_user_port_is_409(call, demo, net):
    subnet = _ok_subnet(call, demo, net)
    _port(call, demo, net)
    status, body = call(demo, "DELETE", f"/v2.0/subnets/{subnet['id']}")
    assert (status, _error(body)[0]) == (409, "SubnetInUse")
    assert "One or more ports have an IP allocation from this subnet" in _error(body)[1]


def test_deleting_subnet_drops_dhcp_port_addresses(call, demo, net):
    subnet = _ok_subnet(call, demo, net)
    # A second DHCP port (another agent's): the simulated agent's own holds .2 already.
    dhcp = _port(call, demo, net, device_owner="network:dhcp")
    assert dhcp["fixed_ips"][0]["ip_address"] == "10.0.0.3"  # DHCP ports take the lowest free
    assert call(demo, "DELETE", f"/v2.0/subnets/{subnet['id']}")[0] == 204
    _, body = call(demo, "GET", f"/v2.0/ports/{dhcp['id']}")
    assert body["port"]["fixed_ips"] == []
    _, body = call(demo, "GET", "/v2.0/ports", query=[("device_owner", "network:dhcp")])
    assert [p["id"] for p in body["ports"]] == [dhcp["id"]]  # the agent released its own


def test_deleting_slaac_subnet_removes_user_port_addresses(call, demo, net):
    v4 = _ok_subnet(call, demo, net)
    slaac = _ok_subnet(call, demo, net, "2001:db8::/64", 6, ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    port = _port(call, demo, net)
    assert {ip["subnet_id"] for ip in port["fixed_ips"]} == {v4["id"], slaac["id"]}
    assert call(demo, "DELETE", f"/v2.0/subnets/{slaac['id']}")[0] == 204
    _, body = call(demo, "GET", f"/v2.0/ports/{port['id']}")
    assert [ip["subnet_id"] for ip in body["port"]["fixed_ips"]] == [v4["id"]]


def test_router_interface_blocks_subnet_delete_and_gateway_change(call, demo, net):
    subnet = _ok_subnet(call, demo, net)
    _, router = call(demo, "POST", "/v2.0/routers", {"router": {"name": "r"}})
    router_id = router["router"]["id"]
    status, body = call(demo, "PUT", f"/v2.0/routers/{router_id}/add_router_interface", {"subnet_id": subnet["id"]})
    assert status == 200, body
    status, body = call(demo, "DELETE", f"/v2.0/subnets/{subnet['id']}")
    assert (status, _error(body)[0]) == (409, "SubnetInUse")
    status, body = call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}", {"subnet": {"gateway_ip": "10.0.0.254",
                        "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.200"}]}})
    assert (status, _error(body)[0]) == (409, "GatewayIpInUse")
    assert _error(body)[1].startswith("Current gateway ip 10.0.0.1 already in use by port ")
    status, body = call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}", {"subnet": {"gateway_ip": None}})
    assert (status, _error(body)[0]) == (409, "GatewayIpInUse"), "removing the gateway counts as changing it"


def test_gateway_may_move_when_no_router_holds_it(call, demo, net):
    subnet = _ok_subnet(call, demo, net, allocation_pools=[{"start": "10.0.0.2", "end": "10.0.0.200"}])
    status, body = call(demo, "PUT", f"/v2.0/subnets/{subnet['id']}", {"subnet": {"gateway_ip": "10.0.0.254"}})
    assert status == 200 and body["subnet"]["gateway_ip"] == "10.0.0.254"


def test_new_slaac_subnet_gives_existing_ports_an_address(call, demo, net):
    _ok_subnet(call, demo, net)
    port = _port(call, demo, net)
    slaac = _ok_subnet(call, demo, net, "2001:db8:1::/64", 6, ipv6_address_mode="slaac")
    _, body = call(demo, "GET", f"/v2.0/ports/{port['id']}")
    v6 = [ip for ip in body["port"]["fixed_ips"] if ip["subnet_id"] == slaac["id"]]
    mac = port["mac_address"].split(":")
    expected = str(ipaddress.ip_address(f"2001:db8:1:0:f816:3eff:fe{mac[3]}:{mac[4]}{mac[5]}"))
    assert v6 == [{"subnet_id": slaac["id"], "ip_address": expected}]
    assert body["port"]["revision_number"] == port["revision_number"] + 1
