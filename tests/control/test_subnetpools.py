"""Subnet pools and allocating subnets from them (subnet_allocation, default-subnetpools)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings, strategies as st

from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI
from xloudnet.control.plane import ControlPlane

POOLS = "/v2.0/subnetpools"


def _error(body):
    return body["NeutronError"]["type"]


def _pool(call, ctx, **attrs):
    status, body = call(ctx, "POST", POOLS, {"subnetpool": {"name": "p", **attrs}})
    assert status == 201, body
    return body["subnetpool"]


def _subnet(call, ctx, network_id, **attrs):
    return call(ctx, "POST", "/v2.0/subnets", {"subnet": {"network_id": network_id, "ip_version": 4, **attrs}})


def test_create_compacts_prefixes_and_fills_the_bounds(call, demo):
    pool = _pool(call, demo, prefixes=["10.0.0.0/24", "10.0.1.0/24", "10.0.0.128/25"])
    assert pool["prefixes"] == ["10.0.0.0/23"]
    # Neutron shows prefix lengths as strings
    assert (pool["ip_version"], pool["min_prefixlen"], pool["max_prefixlen"], pool["default_prefixlen"]) == (4, "8", "32", "8")
    assert pool["address_scope_id"] is None
    assert pool["shared"] is False and pool["is_default"] is False and pool["default_quota"] is None
    v6 = _pool(call, demo, prefixes=["2001:db8::/48"])
    assert (v6["ip_version"], v6["min_prefixlen"], v6["max_prefixlen"]) == (6, "64", "128")


@pytest.mark.parametrize(("attrs", "kind"), [
    ({"prefixes": []}, "EmptySubnetPoolPrefixList"),
    ({"prefixes": ["10.0.0.0/8", "2001:db8::/32"]}, "PrefixVersionMismatch"),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 16}, "IllegalSubnetPoolPrefixBounds"),
    ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}, "IllegalSubnetPoolPrefixBounds"),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 16, "default_prefixlen": 12}, "IllegalSubnetPoolPrefixBounds"),
    ({"prefixes": ["not-a-cidr"]}, "HTTPBadRequest"),
])
def test_bad_pools_are_400(call, demo, attrs, kind):
    status, body = call(demo, "POST", POOLS, {"subnetpool": attrs})
    assert (status, _error(body)) == (400, kind)
    assert call(demo, "GET", POOLS)[1]["subnetpools"] == []


def test_shared_and_default_pools_are_admin_only(call, admin, demo):
    for attr in ("shared", "is_default"):
        status, body = call(demo, "POST", POOLS, {"subnetpool": {"prefixes": ["10.0.0.0/8"], attr: True}})
        assert (status, _error(body)) == (403, "PolicyNotAuthorized")
    assert _pool(call, admin, prefixes=["10.0.0.0/8"], shared=True)["shared"] is True


def test_one_default_pool_per_ip_version(call, admin):
    _pool(call, admin, prefixes=["10.0.0.0/8"], is_default=True)
    status, body = call(admin, "POST", POOLS, {"subnetpool": {"prefixes": ["172.16.0.0/12"], "is_default": True}})
    assert (status, _error(body)) == (400, "InvalidInput")
    assert _pool(call, admin, prefixes=["2001:db8::/32"], is_default=True)["is_default"] is True


def test_pools_are_private_unless_shared(call, admin, demo, alt):
    mine = _pool(call, demo, prefixes=["10.0.0.0/8"])
    shared = _pool(call, admin, prefixes=["172.16.0.0/12"], shared=True)
    assert {p["id"] for p in call(alt, "GET", POOLS)[1]["subnetpools"]} == {shared["id"]}
    status, body = call(alt, "GET", f"{POOLS}/{mine['id']}")
    assert (status, _error(body)) == (404, "SubnetPoolNotFound")
    assert call(alt, "PUT", f"{POOLS}/{shared['id']}", {"subnetpool": {"name": "x"}})[0] == 403


def test_prefixes_may_grow_but_never_shrink(call, demo):
    pool = _pool(call, demo, prefixes=["10.10.0.0/24"])
    grown = call(demo, "PUT", f"{POOLS}/{pool['id']}", {"subnetpool": {"prefixes": ["10.10.0.0/16"]}})[1]["subnetpool"]
    assert grown["prefixes"] == ["10.10.0.0/16"] and grown["revision_number"] > pool["revision_number"]
    status, body = call(demo, "PUT", f"{POOLS}/{pool['id']}", {"subnetpool": {"prefixes": ["10.10.0.0/24"]}})
    assert (status, _error(body)) == (400, "IllegalSubnetPoolPrefixUpdate")


@pytest.mark.parametrize("attr", ["shared", "project_id"])
def test_shared_and_project_cannot_change(call, admin, attr):
    pool = _pool(call, admin, prefixes=["10.0.0.0/8"])
    value = True if attr == "shared" else "someone-else"
    assert call(admin, "PUT", f"{POOLS}/{pool['id']}", {"subnetpool": {attr: value}})[0] == 400


def test_subnets_take_the_first_free_prefix_of_the_asked_length(call, demo, net):
    pool = _pool(call, demo, prefixes=["10.20.0.0/16"], default_prefixlen=24)
    network = net()
    first = _subnet(call, demo, network["id"], subnetpool_id=pool["id"])[1]["subnet"]
    assert (first["cidr"], first["subnetpool_id"], first["gateway_ip"]) == ("10.20.0.0/24", pool["id"], "10.20.0.1")
    second = _subnet(call, demo, network["id"], subnetpool_id=pool["id"], prefixlen=26)[1]["subnet"]
    assert second["cidr"] == "10.20.1.0/26"
    third = _subnet(call, demo, network["id"], subnetpool_id=pool["id"], prefixlen=26)[1]["subnet"]
    assert third["cidr"] == "10.20.1.64/26", "small holes are filled before big blocks are split"


def test_a_specific_cidr_must_lie_in_the_pool_and_be_free_across_networks(call, demo, net):
    pool = _pool(call, demo, prefixes=["10.30.0.0/16"])
    assert _subnet(call, demo, net()["id"], subnetpool_id=pool["id"], cidr="10.30.5.0/24")[0] == 201
    status, body = _subnet(call, demo, net()["id"], subnetpool_id=pool["id"], cidr="10.30.5.128/25")
    assert (status, _error(body)) == (409, "SubnetAllocationError")
    status, body = _subnet(call, demo, net()["id"], subnetpool_id=pool["id"], cidr="192.168.0.0/24")
    assert (status, _error(body)) == (409, "SubnetAllocationError")


def test_prefix_length_outside_the_bounds_is_400(call, demo, net):
    pool = _pool(call, demo, prefixes=["10.40.0.0/16"], min_prefixlen=20, max_prefixlen=28)
    status, body = _subnet(call, demo, net()["id"], subnetpool_id=pool["id"], prefixlen=29)
    assert (status, _error(body)) == (400, "MaxPrefixSubnetAllocationError")
    status, body = _subnet(call, demo, net()["id"], subnetpool_id=pool["id"], prefixlen=19)
    assert (status, _error(body)) == (400, "MinPrefixSubnetAllocationError")


def test_exhausted_pool_is_409_and_leaves_nothing(call, demo, net):
    pool = _pool(call, demo, prefixes=["10.50.0.0/24"], default_prefixlen=25)
    network = net()
    for _ in range(2):
        assert _subnet(call, demo, network["id"], subnetpool_id=pool["id"])[0] == 201
    status, body = _subnet(call, demo, network["id"], subnetpool_id=pool["id"])
    assert (status, _error(body)) == (409, "SubnetAllocationError")
    assert len(call(demo, "GET", "/v2.0/subnets")[1]["subnets"]) == 2


def test_default_quota_caps_a_projects_addresses(call, demo, alt, admin, net):
    pool = _pool(call, admin, prefixes=["10.60.0.0/16"], shared=True, default_quota=256)
    assert _subnet(call, demo, net()["id"], subnetpool_id=pool["id"], prefixlen=24)[0] == 201
    status, body = _subnet(call, demo, net()["id"], subnetpool_id=pool["id"], prefixlen=30)
    assert (status, _error(body)) == (409, "SubnetPoolQuotaExceeded")
    assert _subnet(call, alt, net(alt)["id"], subnetpool_id=pool["id"], prefixlen=24)[0] == 201


def test_default_pool_serves_use_default_subnetpool(call, admin, demo, net):
    status, body = _subnet(call, demo, net()["id"], use_default_subnetpool=True, prefixlen=24)
    assert (status, body["NeutronError"]["message"]) == (400, "Bad subnets request: No default subnetpool found for IPv4.")
    pool = _pool(call, admin, prefixes=["10.70.0.0/16"], is_default=True, shared=True)
    subnet = _subnet(call, demo, net()["id"], use_default_subnetpool=True, prefixlen=24)[1]["subnet"]
    assert (subnet["subnetpool_id"], subnet["cidr"]) == (pool["id"], "10.70.0.0/24")


def test_subnets_of_one_version_on_a_network_share_their_pool(call, admin, net):
    pool = _pool(call, admin, prefixes=["192.168.0.0/16"])
    network = net(admin)
    assert _subnet(call, admin, network["id"], cidr="10.10.10.0/24")[0] == 201
    status, body = _subnet(call, admin, network["id"], subnetpool_id=pool["id"])
    assert (status, _error(body)) == (400, "NetworkSubnetPoolAffinityError")


def test_wrong_version_and_invisible_pools_are_refused(call, admin, demo, net):
    v6 = _pool(call, demo, prefixes=["2001:db8::/48"])
    assert _subnet(call, demo, net()["id"], subnetpool_id=v6["id"])[0] == 400
    private = _pool(call, admin, prefixes=["10.80.0.0/16"])
    status, body = _subnet(call, demo, net()["id"], subnetpool_id=private["id"])
    assert (status, _error(body)) == (404, "SubnetPoolNotFound")


def test_a_pool_with_subnets_cannot_be_deleted(call, demo, net):
    pool = _pool(call, demo, prefixes=["10.90.0.0/16"], default_prefixlen=24)
    subnet = _subnet(call, demo, net()["id"], subnetpool_id=pool["id"])[1]["subnet"]
    status, body = call(demo, "DELETE", f"{POOLS}/{pool['id']}")
    assert (status, _error(body)) == (400, "SubnetPoolDeleteError")
    assert call(demo, "DELETE", f"/v2.0/subnets/{subnet['id']}")[0] == 204
    assert call(demo, "DELETE", f"{POOLS}/{pool['id']}")[0] == 204


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=20, max_value=28), min_size=1, max_size=40))
def test_allocations_from_a_pool_never_overlap_and_stay_inside_it(lengths):
    api = NeutronAPI(ControlPlane())
    ctx = Context(project_id="p", roles=("member",))
    from xloudnet.control.neutron import Request

    def call(method, path, body=None):
        return api.handle(ctx, Request(method, path, query=[], body=body, if_match=None, base_url="http://x"))

    pool = call("POST", POOLS, {"subnetpool": {"prefixes": ["10.0.0.0/20"], "min_prefixlen": 20}}).body["subnetpool"]
    network = call("POST", "/v2.0/networks", {"network": {}}).body["network"]
    got = []
    for length in lengths:
        try:
            made = call("POST", "/v2.0/subnets", {"subnet": {"network_id": network["id"], "ip_version": 4,
                                                           "subnetpool_id": pool["id"], "prefixlen": length}})
        except Exception as exc:  # noqa: BLE001 - only running out of space is allowed
            assert type(exc).__name__ == "SubnetAllocationError"
            continue
        got.append(ipaddress.ip_network(made.body["subnet"]["cidr"]))
    space = ipaddress.ip_network("10.0.0.0/20")
    assert all(n.subnet_of(space) for n in got)
    assert not any(a.overlaps(b) for i, a in enumerate(got) for b in got[i + 1:])


def test_add_and_remove_prefixes(call, demo, net):
    pool = _pool(call, demo, prefixes=["10.1.0.0/24"], default_prefixlen=26)
    url = f"{POOLS}/{pool['id']}"
    status, body = call(demo, "PUT", f"{url}/add_prefixes", {"prefixes": ["10.1.1.0/24", "10.9.0.0/24"]})
    assert (status, body) == (200, {"prefixes": ["10.1.0.0/23", "10.9.0.0/24"]})
    subnet = _subnet(call, demo, net()["id"], subnetpool_id=pool["id"], cidr="10.1.1.0/26")[1]["subnet"]
    status, body = call(demo, "PUT", f"{url}/remove_prefixes", {"prefixes": ["10.1.1.0/24"]})
    assert (status, _error(body)) == (400, "IllegalSubnetPoolPrefixUpdate"), "in use by a subnet"
    status, body = call(demo, "PUT", f"{url}/remove_prefixes", {"prefixes": ["10.9.0.0/24", "10.1.0.0/25"]})
    assert (status, body) == (200, {"prefixes": ["10.1.0.128/25", "10.1.1.0/24"]})
    assert call(demo, "GET", url)[1]["subnetpool"]["prefixes"] == ["10.1.0.128/25", "10.1.1.0/24"]
    assert call(demo, "PUT", f"{url}/add_prefixes", {"prefixes": "10.0.0.0/8"})[0] == 400
    assert subnet["cidr"] == "10.1.1.0/26"


def test_numeric_filters_match_stored_numbers(call, demo):
    wide = _pool(call, demo, prefixes=["10.0.0.0/8"], min_prefixlen=16)
    _pool(call, demo, prefixes=["2001:db8::/32"])
    listed = call(demo, "GET", POOLS, query=[("min_prefixlen", "16"), ("ip_version", "4")])[1]["subnetpools"]
    assert [p["id"] for p in listed] == [wide["id"]]
