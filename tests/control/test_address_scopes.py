"""Address scopes (``address-scope``): the resource, its policy, and what it means to subnet pools
and networks."""

from __future__ import annotations

import ipaddress

from hypothesis import example, given, settings, strategies as st

from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane
from xloudnet.control import errors

SCOPES = "/v2.0/address-scopes"
POOLS = "/v2.0/subnetpools"


def _error(body):
    return body["NeutronError"]["type"]


def _scope(call, ctx, **attrs):
    status, body = call(ctx, "POST", SCOPES, {"address_scope": {"name": "s", "ip_version": 4, **attrs}})
    assert status == 201, body
    return body["address_scope"]


def _pool(call, ctx, **attrs):
    status, body = call(ctx, "POST", POOLS, {"subnetpool": {"name": "p", **attrs}})
    assert status == 201, body
    return body["subnetpool"]


def _subnet(call, ctx, network_id, version=4, **attrs):
    return call(ctx, "POST", "/v2.0/subnets", {"subnet": {"network_id": network_id, "ip_version": version, **attrs}})


def test_a_scope_shows_neutrons_fields_only(call, demo):
    scope = _scope(call, demo, name="blue")
    assert set(scope) == {"id", "name", "shared", "ip_version", "project_id", "tenant_id"}
    assert (scope["name"], scope["shared"], scope["ip_version"], scope["project_id"]) == ("blue", False, 4, "demo-project")


def test_ip_version_is_required_and_must_be_4_or_6(call, demo):
    status, body = call(demo, "POST", SCOPES, {"address_scope": {"name": "x"}})
    assert (status, _error(body)) == (400, "HTTPBadRequest")
    status, body = call(demo, "POST", SCOPES, {"address_scope": {"name": "x", "ip_version": 5}})
    assert (status, _error(body)) == (400, "HTTPBadRequest")
    assert call(demo, "GET", SCOPES)[1]["address_scopes"] == []


def test_only_admins_share_scopes_and_shared_scopes_stay_shared(call, admin, demo):
    status, body = call(demo, "POST", SCOPES, {"address_scope": {"ip_version": 4, "shared": True}})
    assert (status, _error(body)) == (403, "PolicyNotAuthorized")
    mine = _scope(call, demo)
    status, body = call(demo, "PUT", f"{SCOPES}/{mine['id']}", {"address_scope": {"shared": True}})
    assert (status, _error(body)) == (403, "PolicyNotAuthorized")
    shared = _scope(call, admin, shared=True)
    status, body = call(admin, "PUT", f"{SCOPES}/{shared['id']}", {"address_scope": {"shared": False}})
    assert (status, _error(body)) == (400, "AddressScopeUpdateError")


def test_scopes_are_private_unless_shared(call, admin, demo, alt):
    mine = _scope(call, demo)
    shared = _scope(call, admin, shared=True)
    assert {s["id"] for s in call(alt, "GET", SCOPES)[1]["address_scopes"]} == {shared["id"]}
    status, body = call(alt, "GET", f"{SCOPES}/{mine['id']}")
    assert (status, _error(body)) == (404, "AddressScopeNotFound")
    status, body = call(alt, "PUT", f"{SCOPES}/{shared['id']}", {"address_scope": {"name": "x"}})
    assert (status, _error(body)) == (403, "PolicyNotAuthorized")
    status, body = call(alt, "DELETE", f"{SCOPES}/{shared['id']}")
    assert (status, _error(body)) == (403, "PolicyNotAuthorized")


def test_ip_version_cannot_change(call, demo):
    scope = _scope(call, demo)
    status, body = call(demo, "PUT", f"{SCOPES}/{scope['id']}", {"address_scope": {"ip_version": 6}})
    assert (status, _error(body)) == (400, "HTTPBadRequest")


def test_deleting_a_scope_that_pools_use_is_409(call, demo):
    scope = _scope(call, demo)
    pool = _pool(call, demo, prefixes=["10.0.0.0/16"], address_scope_id=scope["id"])
    status, body = call(demo, "DELETE", f"{SCOPES}/{scope['id']}")
    assert (status, _error(body)) == (409, "AddressScopeInUse")
    assert call(demo, "PUT", f"{POOLS}/{pool['id']}", {"subnetpool": {"address_scope_id": None}})[0] == 200
    assert call(demo, "DELETE", f"{SCOPES}/{scope['id']}")[0] == 204


def test_a_pool_joins_only_a_scope_of_its_ip_version(call, demo):
    scope = _scope(call, demo, ip_version=6)
    status, body = call(demo, "POST", POOLS, {"subnetpool": {"prefixes": ["10.0.0.0/8"], "address_scope_id": scope["id"]}})
    assert (status, _error(body)) == (400, "IllegalSubnetPoolIpVersionAssociationToAddressScope")


def test_a_pool_cannot_join_an_unknown_or_invisible_scope(call, demo, alt):
    theirs = _scope(call, alt)
    for scope_id in (theirs["id"], "0b6e1a7c-5f8e-4b5c-9d2a-000000000000"):
        status, body = call(demo, "POST", POOLS, {"subnetpool": {"prefixes": ["10.0.0.0/8"], "address_scope_id": scope_id}})
        assert (status, _error(body)) == (404, "AddressScopeNotFound")
    assert call(demo, "GET", POOLS)[1]["subnetpools"] == []


def test_pools_of_one_scope_must_not_overlap(call, demo):
    scope = _scope(call, demo)
    first = _pool(call, demo, prefixes=["10.0.0.0/16"], address_scope_id=scope["id"])
    status, body = call(demo, "POST", POOLS, {"subnetpool": {"prefixes": ["10.0.128.0/17"], "address_scope_id": scope["id"]}})
    assert (status, _error(body)) == (409, "AddressScopePrefixConflict")
    other = _pool(call, demo, prefixes=["10.1.0.0/16"], address_scope_id=scope["id"])
    status, body = call(demo, "PUT", f"{POOLS}/{other['id']}/add_prefixes", {"prefixes": ["10.0.5.0/24"]})
    assert (status, _error(body)) == (409, "AddressScopePrefixConflict")
    assert call(demo, "GET", f"{POOLS}/{other['id']}")[1]["subnetpool"]["prefixes"] == ["10.1.0.0/16"]
    # Outside the scope the same prefixes are fine.
    assert _pool(call, demo, prefixes=["10.0.0.0/16"])["address_scope_id"] is None
    assert first["address_scope_id"] == scope["id"]


def test_a_pool_in_another_projects_shared_scope_is_frozen(call, admin, demo):
    shared = _scope(call, admin, shared=True)
    pool = _pool(call, demo, prefixes=["10.0.0.0/16"], address_scope_id=shared["id"])
    status, body = call(demo, "PUT", f"{POOLS}/{pool['id']}", {"subnetpool": {"name": "renamed"}})
    assert (status, _error(body)) == (400, "IllegalSubnetPoolUpdate")


def test_networks_read_the_scope_of_their_subnets_pools(call, demo, net):
    v4, v6 = _scope(call, demo), _scope(call, demo, ip_version=6)
    pool4 = _pool(call, demo, prefixes=["10.0.0.0/16"], default_prefixlen=24, address_scope_id=v4["id"])
    pool6 = _pool(call, demo, prefixes=["2001:db8::/48"], default_prefixlen=64, address_scope_id=v6["id"])
    network = net()
    assert (network["ipv4_address_scope"], network["ipv6_address_scope"]) == (None, None)
    assert _subnet(call, demo, network["id"], subnetpool_id=pool4["id"])[0] == 201
    shown = call(demo, "GET", f"/v2.0/networks/{network['id']}")[1]["network"]
    assert (shown["ipv4_address_scope"], shown["ipv6_address_scope"]) == (v4["id"], None)
    assert _subnet(call, demo, network["id"], 6, subnetpool_id=pool6["id"])[0] == 201
    listed = call(demo, "GET", "/v2.0/networks")[1]["networks"]
    assert [(n["ipv4_address_scope"], n["ipv6_address_scope"]) for n in listed] == [(v4["id"], v6["id"])]


def test_pools_of_one_scope_may_share_a_network_but_not_mix_with_others(call, demo, net):
    scope = _scope(call, demo)
    a = _pool(call, demo, prefixes=["10.0.0.0/16"], default_prefixlen=24, address_scope_id=scope["id"])
    b = _pool(call, demo, prefixes=["10.1.0.0/16"], default_prefixlen=24, address_scope_id=scope["id"])
    loose = _pool(call, demo, prefixes=["10.2.0.0/16"], default_prefixlen=24)
    network = net()
    assert _subnet(call, demo, network["id"], subnetpool_id=a["id"])[0] == 201
    assert _subnet(call, demo, network["id"], subnetpool_id=b["id"])[0] == 201
    status, body = _subnet(call, demo, network["id"], subnetpool_id=loose["id"])
    assert (status, _error(body)) == (400, "NetworkAddressScopeAffinityError")
    status, body = _subnet(call, demo, network["id"], cidr="192.168.0.0/24")
    assert (status, _error(body)) == (400, "NetworkSubnetPoolAffinityError")


def test_rescoping_a_pool_that_shares_a_network_with_another_pool_is_400(call, demo, net):
    scope, other = _scope(call, demo), _scope(call, demo)
    a = _pool(call, demo, prefixes=["10.0.0.0/16"], default_prefixlen=24, address_scope_id=scope["id"])
    b = _pool(call, demo, prefixes=["10.1.0.0/16"], default_prefixlen=24, address_scope_id=scope["id"])
    network = net()
    _subnet(call, demo, network["id"], subnetpool_id=a["id"])
    _subnet(call, demo, network["id"], subnetpool_id=b["id"])
    status, body = call(demo, "PUT", f"{POOLS}/{a['id']}", {"subnetpool": {"address_scope_id": other["id"]}})
    assert (status, _error(body)) == (400, "NetworkAddressScopeAffinityError")
    assert call(demo, "GET", f"{POOLS}/{a['id']}")[1]["subnetpool"]["address_scope_id"] == scope["id"]


def test_rescoping_a_pool_moves_its_networks(call, demo, net):
    scope = _scope(call, demo)
    pool = _pool(call, demo, prefixes=["10.0.0.0/16"], default_prefixlen=24)
    network = net()
    _subnet(call, demo, network["id"], subnetpool_id=pool["id"])
    assert call(demo, "PUT", f"{POOLS}/{pool['id']}", {"subnetpool": {"address_scope_id": scope["id"]}})[0] == 200
    assert call(demo, "GET", f"/v2.0/networks/{network['id']}")[1]["network"]["ipv4_address_scope"] == scope["id"]


def test_scopes_filter_sort_and_page(call, demo):
    made = [_scope(call, demo, name=f"s{i}", ip_version=4 if i % 2 else 6) for i in range(5)]
    v6 = call(demo, "GET", SCOPES, query=[("ip_version", "6")])[1]["address_scopes"]
    assert {s["id"] for s in v6} == {s["id"] for s in made if s["ip_version"] == 6}
    names = [s["name"] for s in call(demo, "GET", SCOPES, query=[("sort_key", "name"), ("sort_dir", "desc")])[1]["address_scopes"]]
    assert names == ["s4", "s3", "s2", "s1", "s0"]
    page = call(demo, "GET", SCOPES, query=[("limit", "2")])[1]
    assert len(page["address_scopes"]) == 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(8, 24)), min_size=1, max_size=8))
def test_the_pools_a_scope_accepts_never_overlap(prefixes):
    """Whatever pools are offered to a scope, those it accepts are pairwise disjoint."""
    plane = ControlPlane()
    api = NeutronAPI(plane)
    ctx = Context(project_id="p", user_id="u", roles=frozenset({"member", "reader"}))

    def call(method, path, body=None):
        try:
            response = api.handle(ctx, Request(method, path, query=[], body=body, if_match=None, base_url="http://x"))
        except errors.NeutronException as exc:
            return exc.status, {}
        return response.status, response.body

    scope = call("POST", SCOPES, {"address_scope": {"ip_version": 4}})[1]["address_scope"]["id"]
    for octet, length in prefixes:
        cidr = str(ipaddress.ip_network(f"10.{octet}.0.0/{length}", strict=False))
        call("POST", POOLS, {"subnetpool": {"prefixes": [cidr], "address_scope_id": scope}})
    kept = [ipaddress.ip_network(p["prefixes"][0]) for p in call("GET", POOLS)[1]["subnetpools"]]
    assert all(not a.overlaps(b) for i, a in enumerate(kept) for b in kept[i + 1:])
    assert kept, "the first pool always joins"



# RBAC targets must look like project UUIDs.
OWNER, ONE, TWO = ("0" * 31 + str(i) for i in (1, 2, 3))


def _uuid_ctx(project: str) -> Context:
    return Context(project_id=project, user_id=f"{project}-user", roles=frozenset({"member", "reader"}))


def test_an_rbac_entry_shares_a_scope_with_one_project(call):
    owner, one, two = (_uuid_ctx(p) for p in (OWNER, ONE, TWO))
    scope = _scope(call, owner)
    body = {"subnetpool": {"prefixes": ["10.0.0.0/8"], "address_scope_id": scope["id"]}}
    assert call(one, "POST", POOLS, body)[0] == 404
    status, made = call(owner, "POST", "/v2.0/rbac-policies", {"rbac_policy": {
        "object_type": "address_scope", "object_id": scope["id"], "action": "access_as_shared", "target_tenant": ONE}})
    assert status == 201, made
    shown = call(one, "GET", f"{SCOPES}/{scope['id']}")[1]["address_scope"]
    assert shown["shared"] is True, "shared reads true for the project it is shared with"
    assert call(owner, "GET", f"{SCOPES}/{scope['id']}")[1]["address_scope"]["shared"] is False
    assert call(two, "GET", f"{SCOPES}/{scope['id']}")[0] == 404
    pool = call(one, "POST", POOLS, body)[1]["subnetpool"]
    assert pool["address_scope_id"] == scope["id"]
    entry = made["rbac_policy"]["id"]
    status, err = call(owner, "DELETE", f"/v2.0/rbac-policies/{entry}")
    assert (status, _error(err)) == (409, "RbacPolicyInUse"), "one's pool still needs the grant"
    assert call(one, "DELETE", f"{POOLS}/{pool['id']}")[0] == 204
    assert call(owner, "DELETE", f"/v2.0/rbac-policies/{entry}")[0] == 204
    assert call(one, "GET", f"{SCOPES}/{scope['id']}")[0] == 404


def test_sharing_a_scope_writes_a_wildcard_entry(call, admin):
    scope = _scope(call, admin, shared=True)
    entries = call(admin, "GET", "/v2.0/rbac-policies", query=[("object_id", scope["id"])])[1]["rbac_policies"]
    assert [(e["object_type"], e["action"], e["target_tenant"]) for e in entries] == [
        ("address_scope", "access_as_shared", "*")]
    assert call(admin, "DELETE", f"{SCOPES}/{scope['id']}")[0] == 204
    assert call(admin, "GET", "/v2.0/rbac-policies", query=[("object_id", scope["id"])])[1]["rbac_policies"] == []


_OPS = st.lists(st.one_of(
    st.tuples(st.just("subnet"), st.integers(0, 2), st.integers(0, 3)),    # network, pool (3: no pool)
    st.tuples(st.just("rescope"), st.integers(0, 2), st.integers(0, 2)),   # pool, scope (2: none)
    st.tuples(st.just("delete"), st.integers(0, 7), st.just(0)),           # the n-th subnet made
), min_size=1, max_size=14)


@settings(max_examples=100, deadline=None)
@given(_OPS)
@example([("subnet", 0, 0), ("subnet", 0, 1), ("rescope", 0, 1)])  # two pools of one scope, one moves
@example([("subnet", 1, 3), ("rescope", 2, 0), ("subnet", 1, 2)])  # an unpooled subnet, then a pool
@example([("subnet", 0, 0), ("subnet", 0, 1), ("rescope", 0, 2)])  # one of two pools leaves the scope
def test_subnets_of_one_ip_version_on_a_network_always_share_one_scope(ops):
    """Whatever the API accepts, a network's subnets of one IP version never span two address
    scopes, and the network shows the scope they are in."""
    plane = ControlPlane()
    api = NeutronAPI(plane)
    ctx = Context(project_id="p", user_id="u", roles=frozenset({"member", "reader"}))

    def call(method, path, body=None):
        try:
            return api.handle(ctx, Request(method, path, query=[], body=body, if_match=None, base_url="http://x")).body
        except errors.NeutronException:
            return None

    scopes = [call("POST", SCOPES, {"address_scope": {"ip_version": 4}})["address_scope"]["id"] for _ in range(2)]
    pools = [call("POST", POOLS, {"subnetpool": {"prefixes": [f"10.{i}.0.0/16"], "default_prefixlen": 24,
                                                 "address_scope_id": scopes[0] if i < 2 else None}})["subnetpool"]["id"]
             for i in range(3)]
    nets = [call("POST", "/v2.0/networks", {"network": {}})["network"]["id"] for _ in range(3)]
    made, spare = [], iter(range(1, 250))
    for op, a, b in ops:
        if op == "subnet":
            body = {"network_id": nets[a], "ip_version": 4}
            body.update({"subnetpool_id": pools[b]} if b < 3 else {"cidr": f"192.168.{next(spare)}.0/24"})
            answer = call("POST", "/v2.0/subnets", {"subnet": body})
            if answer:
                made.append(answer["subnet"]["id"])
        elif op == "rescope":
            call("PUT", f"{POOLS}/{pools[a]}", {"subnetpool": {"address_scope_id": scopes[b] if b < 2 else None}})
        elif made:
            call("DELETE", f"/v2.0/subnets/{made.pop(a % len(made))}")
        for net in call("GET", "/v2.0/networks")["networks"]:
            subnets = [s for s in call("GET", "/v2.0/subnets")["subnets"] if s["network_id"] == net["id"]]
            pool_scope = {p["id"]: p["address_scope_id"] for p in call("GET", POOLS)["subnetpools"]}
            found = {pool_scope.get(s["subnetpool_id"]) for s in subnets}
            # Neutron skips its affinity check when a pool *leaves* its scope, so a network may then
            # mix one real scope with "no scope" (the data plane takes each subnet's own scope);
            # two real scopes never meet on one network.
            assert len(found - {None}) <= 1, (op, net["id"], found)
            if len(found) <= 1:
                assert net["ipv4_address_scope"] == (found.pop() if found else None)
            else:
                assert net["ipv4_address_scope"] in found


def test_onboarding_moves_a_networks_subnets_into_the_pool_and_its_scope(call, demo, alt, net):
    scope = _scope(call, demo)
    pool = _pool(call, demo, prefixes=["10.0.0.0/16"], address_scope_id=scope["id"])
    network = net()
    subnet = _subnet(call, demo, network["id"], cidr="192.168.5.0/24")[1]["subnet"]
    _subnet(call, demo, network["id"], 6, cidr="fd00:5::/64")
    status, moved = call(demo, "PUT", f"{POOLS}/{pool['id']}/onboard_network_subnets", {"network_id": network["id"]})
    assert (status, moved) == (200, [{"id": subnet["id"], "cidr": "192.168.5.0/24"}])
    assert call(demo, "GET", f"/v2.0/subnets/{subnet['id']}")[1]["subnet"]["subnetpool_id"] == pool["id"]
    assert call(demo, "GET", f"{POOLS}/{pool['id']}")[1]["subnetpool"]["prefixes"] == ["10.0.0.0/16", "192.168.5.0/24"]
    shown = call(demo, "GET", f"/v2.0/networks/{network['id']}")[1]["network"]
    assert (shown["ipv4_address_scope"], shown["ipv6_address_scope"]) == (scope["id"], None)
    status, body = call(demo, "PUT", f"{POOLS}/{pool['id']}/onboard_network_subnets", {"network_id": network["id"]})
    assert (status, _error(body)) == (400, "IllegalSubnetPoolUpdate"), "already allocated from the pool"


def test_onboarding_needs_the_network_and_the_pool(call, demo, alt, net):
    pool = _pool(call, demo, prefixes=["10.0.0.0/16"])
    theirs = net(alt)
    path = f"{POOLS}/{pool['id']}/onboard_network_subnets"
    assert _error(call(demo, "PUT", path, {})[1]) == "InvalidInput"
    status, body = call(demo, "PUT", path, {"network_id": theirs["id"]})
    assert (status, _error(body)) == (404, "NetworkNotFound")
    mine = net()
    status, body = call(alt, "PUT", path, {"network_id": mine["id"]})
    assert (status, _error(body)) == (404, "NetworkNotFound")
