"""RBAC for security groups (``rbac-security-groups``) and subnet pools (``rbac-subnetpool``).

A group shared with a project is visible to it, usable on its ports and reads ``shared: true``
for it, but stays its owner's to change; a pool shared with a project lets it carve subnets.
An entry cannot go while the projects it admits still use the object.
"""

from __future__ import annotations

import pytest

from xloudnet.control import state
from xloudnet.control.changes import apply_changes
from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane
from xloudnet.control.statelog import StateLog

RBAC = "/v2.0/rbac-policies"
OWNER, ONE, TWO = ("0" * 31 + str(i) for i in (1, 2, 3))


def _ctx(project: str, role: str = "member") -> Context:
    roles = {role, "reader"} | ({"member"} if role == "admin" else set())
    return Context(project_id=project, user_id=f"{project}-user", roles=frozenset(roles))


@pytest.fixture
def owner():
    return _ctx(OWNER)


@pytest.fixture
def one():
    return _ctx(ONE)


@pytest.fixture
def two():
    return _ctx(TWO)


def _error(body):
    return body["NeutronError"]["type"]


def _share(call, ctx, object_type, object_id, target):
    return call(ctx, "POST", RBAC, {"rbac_policy": {"object_type": object_type, "object_id": object_id,
                                                    "action": "access_as_shared", "target_tenant": target}})


def _ok(result, status=201):
    assert result[0] == status, result
    return result[1]


def _group(call, ctx, name="shared-web"):
    group = _ok(call(ctx, "POST", "/v2.0/security-groups", {"security_group": {"name": name}}))["security_group"]
    _ok(call(ctx, "POST", "/v2.0/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp",
        "port_range_min": 443, "port_range_max": 443, "remote_ip_prefix": "0.0.0.0/0"}}))
    return _ok(call(ctx, "GET", f"/v2.0/security-groups/{group['id']}"), 200)["security_group"]


def _network(call, ctx):
    net = _ok(call(ctx, "POST", "/v2.0/networks", {"network": {}}))["network"]
    _ok(call(ctx, "POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                                       "cidr": "10.9.0.0/24"}}))
    return net


def _port(call, ctx, network_id, groups):
    return call(ctx, "POST", "/v2.0/ports", {"port": {"network_id": network_id, "security_groups": groups}})


# --- security groups ----------------------------------------------------------------------------

def test_a_group_shared_with_one_project_is_visible_and_usable_by_that_project_only(call, owner, one, two):
    group = _group(call, owner)
    _ok(_share(call, owner, "security_group", group["id"], ONE))
    seen = _ok(call(one, "GET", f"/v2.0/security-groups/{group['id']}"), 200)["security_group"]
    assert seen["shared"] is True, "shared reads true for the project it is shared with"
    assert [r["id"] for r in seen["security_group_rules"]] == [r["id"] for r in group["security_group_rules"]]
    assert group["id"] in [g["id"] for g in call(one, "GET", "/v2.0/security-groups")[1]["security_groups"]]
    assert _ok(call(owner, "GET", f"/v2.0/security-groups/{group['id']}"), 200)["security_group"]["shared"] is False
    status, body = call(two, "GET", f"/v2.0/security-groups/{group['id']}")
    assert (status, _error(body)) == (404, "SecurityGroupNotFound")
    assert _port(call, one, _network(call, one)["id"], [group["id"]])[0] == 201
    status, body = _port(call, two, _network(call, two)["id"], [group["id"]])
    assert (status, _error(body)) == (404, "SecurityGroupNotFound")


def test_the_target_may_not_change_a_shared_group_or_its_rules(call, owner, one):
    group = _group(call, owner)
    _ok(_share(call, owner, "security_group", group["id"], ONE))
    path = f"/v2.0/security-groups/{group['id']}"
    status, body = call(one, "PUT", path, {"security_group": {"name": "mine-now"}})
    assert (status, _error(body)) == (403, "PolicyNotAuthorized")
    assert call(one, "DELETE", path)[0] == 403
    status, body = call(one, "POST", "/v2.0/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "udp"}})
    assert (status, _error(body)) == (403, "PolicyNotAuthorized")
    rule = group["security_group_rules"][0]["id"]
    status, body = call(one, "DELETE", f"/v2.0/security-group-rules/{rule}")
    assert (status, _error(body)) == (404, "SecurityGroupRuleNotFound")
    after = _ok(call(owner, "GET", path), 200)["security_group"]
    assert after["name"] == "shared-web" and len(after["security_group_rules"]) == len(group["security_group_rules"])


def test_the_rules_listing_stays_the_owners_while_the_group_body_shows_them(call, owner, one):
    # Neutron's get_security_group_rule: admin or the group's owner; the group's body embeds them.
    group = _group(call, owner)
    _ok(_share(call, owner, "security_group", group["id"], ONE))
    listed = call(one, "GET", "/v2.0/security-group-rules")[1]["security_group_rules"]
    assert not {r["id"] for r in listed} & {r["id"] for r in group["security_group_rules"]}


def test_the_target_may_name_the_shared_group_as_a_remote_group(call, owner, one, two):
    group = _group(call, owner)
    _ok(_share(call, owner, "security_group", group["id"], ONE))
    for ctx, expected in ((one, 201), (two, 404)):
        mine = _ok(call(ctx, "POST", "/v2.0/security-groups", {"security_group": {"name": "mine"}}))["security_group"]
        status, _ = call(ctx, "POST", "/v2.0/security-group-rules", {"security_group_rule": {
            "security_group_id": mine["id"], "direction": "ingress", "remote_group_id": group["id"]}})
        assert status == expected


def test_an_entry_a_targets_port_relies_on_cannot_go_or_move(call, admin, owner, one, two):
    group = _group(call, owner)
    entry = _ok(_share(call, owner, "security_group", group["id"], ONE))["rbac_policy"]
    port = _ok(_port(call, one, _network(call, one)["id"], [group["id"]]))["port"]
    status, body = call(owner, "DELETE", f"{RBAC}/{entry['id']}")
    assert (status, _error(body)) == (409, "RbacPolicyInUse")
    status, body = call(owner, "PUT", f"{RBAC}/{entry['id']}", {"rbac_policy": {"target_tenant": TWO}})
    assert (status, _error(body)) == (409, "RbacPolicyInUse")
    # Widening to everybody strands nobody (Neutron checks only when narrowing).
    assert call(admin, "PUT", f"{RBAC}/{entry['id']}", {"rbac_policy": {"target_tenant": "*"}})[0] == 200
    # Narrowing it back counts only the other entries, not the new target (Neutron's validator).
    assert call(admin, "PUT", f"{RBAC}/{entry['id']}", {"rbac_policy": {"target_tenant": ONE}})[0] == 409
    assert call(one, "DELETE", f"/v2.0/ports/{port['id']}")[0] == 204
    assert call(admin, "DELETE", f"{RBAC}/{entry['id']}")[0] == 204
    assert call(one, "GET", f"/v2.0/security-groups/{group['id']}")[0] == 404


def test_a_wildcard_entry_shares_the_group_with_everybody_and_sets_shared(call, admin, owner, two):
    group = _group(call, owner)
    status, body = _share(call, owner, "security_group", group["id"], "*")
    assert (status, _error(body)) == (403, "PolicyNotAuthorized"), "only admins share with everybody"
    entry = _ok(_share(call, admin, "security_group", group["id"], "*"))["rbac_policy"]
    for ctx in (owner, two):
        assert _ok(call(ctx, "GET", f"/v2.0/security-groups/{group['id']}"), 200)["security_group"]["shared"] is True
        listed = call(ctx, "GET", "/v2.0/security-groups")[1]["security_groups"]
        assert group["id"] in [g["id"] for g in listed], "a member's listing gathers what is shared with all"
    assert call(admin, "DELETE", f"{RBAC}/{entry['id']}")[0] == 204
    assert _ok(call(owner, "GET", f"/v2.0/security-groups/{group['id']}"), 200)["security_group"]["shared"] is False
    assert call(two, "GET", f"/v2.0/security-groups/{group['id']}")[0] == 404
    assert group["id"] not in [g["id"] for g in call(two, "GET", "/v2.0/security-groups")[1]["security_groups"]]


def test_deleting_a_group_deletes_its_entries(call, plane, owner):
    group = _group(call, owner)
    _ok(_share(call, owner, "security_group", group["id"], ONE))
    assert call(owner, "DELETE", f"/v2.0/security-groups/{group['id']}")[0] == 204
    assert list(plane.store.find("rbac_policies", "object_id", group["id"])) == []
    assert call(owner, "GET", RBAC)[1]["rbac_policies"] == []


def test_sharing_another_projects_group_is_400(call, owner, one, two):
    group = _group(call, owner)
    _ok(_share(call, owner, "security_group", group["id"], ONE))
    status, body = _share(call, one, "security_group", group["id"], TWO)
    assert (status, _error(body)) == (400, "InvalidInput")
    assert call(one, "GET", RBAC)[1]["rbac_policies"] == []


# --- subnet pools -------------------------------------------------------------------------------

def _pool(call, admin, **attrs):
    body = {"name": "pool", "prefixes": ["10.128.0.0/16"], "default_prefixlen": 24, **attrs}
    return _ok(call(admin, "POST", "/v2.0/subnetpools", {"subnetpool": body}))["subnetpool"]


def _pooled_subnet(call, ctx, pool_id):
    net = _ok(call(ctx, "POST", "/v2.0/networks", {"network": {}}))["network"]
    return call(ctx, "POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                                          "subnetpool_id": pool_id}})


@pytest.fixture
def boss():
    return _ctx(OWNER, "admin")


def test_a_pool_shared_with_one_project_lets_it_allocate_subnets(call, boss, one, two):
    pool = _pool(call, boss)
    _ok(_share(call, boss, "subnetpool", pool["id"], ONE))
    seen = _ok(call(one, "GET", f"/v2.0/subnetpools/{pool['id']}"), 200)["subnetpool"]
    assert seen["shared"] is True
    assert _ok(call(boss, "GET", f"/v2.0/subnetpools/{pool['id']}"), 200)["subnetpool"]["shared"] is False
    subnet = _ok(_pooled_subnet(call, one, pool["id"]))["subnet"]
    assert subnet["cidr"].startswith("10.128.") and subnet["subnetpool_id"] == pool["id"]
    status, body = _pooled_subnet(call, two, pool["id"])
    assert (status, _error(body)) == (404, "SubnetPoolNotFound")
    assert call(two, "GET", f"/v2.0/subnetpools/{pool['id']}")[0] == 404


def test_a_pool_entry_is_in_use_while_the_targets_subnets_come_from_the_pool(call, boss, one):
    pool = _pool(call, boss)
    entry = _ok(_share(call, boss, "subnetpool", pool["id"], ONE))["rbac_policy"]
    subnet = _ok(_pooled_subnet(call, one, pool["id"]))["subnet"]
    status, body = call(boss, "DELETE", f"{RBAC}/{entry['id']}")
    assert (status, _error(body)) == (409, "RbacPolicyInUse")
    assert call(boss, "PUT", f"{RBAC}/{entry['id']}", {"rbac_policy": {"target_tenant": TWO}})[0] == 409
    assert call(one, "DELETE", f"/v2.0/subnets/{subnet['id']}")[0] == 204
    assert call(boss, "DELETE", f"{RBAC}/{entry['id']}")[0] == 204


def test_a_pool_created_shared_is_a_wildcard_entry_and_goes_private_without_it(call, boss, two):
    pool = _pool(call, boss, shared=True)
    entries = call(boss, "GET", RBAC, query=[("object_id", pool["id"])])[1]["rbac_policies"]
    assert [(e["object_type"], e["target_tenant"], e["action"]) for e in entries] == [
        ("subnetpool", "*", "access_as_shared")]
    assert call(two, "GET", f"/v2.0/subnetpools/{pool['id']}")[0] == 200
    assert call(boss, "DELETE", f"{RBAC}/{entries[0]['id']}")[0] == 204
    assert _ok(call(boss, "GET", f"/v2.0/subnetpools/{pool['id']}"), 200)["subnetpool"]["shared"] is False
    assert call(two, "GET", f"/v2.0/subnetpools/{pool['id']}")[0] == 404


def test_a_pool_in_an_address_scope_the_target_cannot_use_is_not_shared(call, plane, boss, one):
    pool = _pool(call, boss)
    scope = "5c1b8b3e-0d7a-4e59-9a3e-2f1d7c6b5a40"
    # Address scopes are shared through the same entries table; give the pool one only ONE may use.
    plane.store.put("subnetpools", {**plane.store.get("subnetpools", pool["id"]), "address_scope_id": scope})
    plane.store.put("rbac_policies", {"id": "e1", "project_id": OWNER, "tenant_id": OWNER,
                                      "object_type": "address_scope", "object_id": scope,
                                      "action": "access_as_shared", "target_tenant": ONE})
    status, body = _share(call, boss, "subnetpool", pool["id"], TWO)
    assert (status, _error(body)) == (400, "InvalidInput")
    assert "address scope" in body["NeutronError"]["message"]
    assert _share(call, boss, "subnetpool", pool["id"], ONE)[0] == 201


def test_deleting_a_pool_deletes_its_entries(call, plane, boss):
    pool = _pool(call, boss, shared=True)
    _ok(_share(call, boss, "subnetpool", pool["id"], ONE))
    assert call(boss, "DELETE", f"/v2.0/subnetpools/{pool['id']}")[0] == 204
    assert list(plane.store.find("rbac_policies", "object_id", pool["id"])) == []


# --- durable state and what-if ------------------------------------------------------------------

def test_group_and_pool_entries_survive_a_restart(tmp_path):
    boss, one = _ctx(OWNER, "admin"), _ctx(ONE)
    log = StateLog(tmp_path / "state")
    plane = ControlPlane()
    state.attach(plane, log)
    api = NeutronAPI(plane)
    group = api.handle(boss, Request("POST", "/v2.0/security-groups", body={"security_group": {"name": "g"}})).body
    pool = api.handle(boss, Request("POST", "/v2.0/subnetpools", body={"subnetpool": {
        "name": "p", "prefixes": ["10.64.0.0/16"], "default_prefixlen": 24}})).body
    for kind, oid in (("security_group", group["security_group"]["id"]), ("subnetpool", pool["subnetpool"]["id"])):
        api.handle(boss, Request("POST", RBAC, body={"rbac_policy": {
            "object_type": kind, "object_id": oid, "action": "access_as_shared", "target_tenant": ONE}}))
    log.close()
    with StateLog(tmp_path / "state") as again:
        restored = ControlPlane()
        state.attach(restored, again)
        api2 = NeutronAPI(restored)
        assert api2.handle(one, Request("GET", f"/v2.0/security-groups/{group['security_group']['id']}")).status == 200
        assert api2.handle(one, Request("GET", f"/v2.0/subnetpools/{pool['subnetpool']['id']}")).status == 200
        assert len(api2.handle(boss, Request("GET", RBAC)).body["rbac_policies"]) == 2


def test_a_whatif_fork_may_share_a_group_without_touching_the_live_plane(call, plane, owner, one):
    group = _group(call, owner)
    fork = apply_changes(plane, owner, [{"method": "POST", "path": RBAC, "body": {"rbac_policy": {
        "object_type": "security_group", "object_id": group["id"], "action": "access_as_shared",
        "target_tenant": ONE}}}])
    assert fork.results[0]["status"] == 201
    assert fork.plane.security_groups.visible(one, fork.plane.store.get("security_groups", group["id"]))
    assert call(one, "GET", f"/v2.0/security-groups/{group['id']}")[0] == 404


# --- ?shared= is per caller (neutron-lib's apply_filters on RBAC objects) ------------------------

@pytest.mark.parametrize("kind", ["security_group", "subnetpool", "network", "qos_policy"])
def test_the_shared_filter_answers_for_the_caller(call, boss, one, two, kind):
    path, key, body = {
        "security_group": ("/v2.0/security-groups", "security_group", {"name": "g"}),
        "subnetpool": ("/v2.0/subnetpools", "subnetpool", {"name": "p", "prefixes": ["10.1.0.0/16"]}),
        "network": ("/v2.0/networks", "network", {"name": "n"}),
        "qos_policy": ("/v2.0/qos/policies", "policy", {"name": "q"}),
    }[kind]
    plural = path.rsplit("/", 1)[1].replace("-", "_")
    made = _ok(call(boss, "POST", path, {key: body}))[key]
    _ok(_share(call, boss, kind, made["id"], ONE))

    def listed(ctx, value):
        status, answer = call(ctx, "GET", path, query=[("shared", value)])
        assert status == 200, answer
        return made["id"] in [r["id"] for r in answer[plural]]

    assert listed(one, "true") and not listed(one, "false")
    assert listed(boss, "false") and not listed(boss, "true"), "the owner was not shared anything"
    assert not listed(two, "true")
    status, body = call(one, "GET", path, query=[("shared", "maybe")])
    assert status == 400


def test_a_default_pool_serves_the_projects_that_may_see_it(call, boss, one, two):
    pool = _pool(call, boss, is_default=True)
    _ok(_share(call, boss, "subnetpool", pool["id"], ONE))
    for ctx, expected in ((one, 201), (two, 400)):
        net = _ok(call(ctx, "POST", "/v2.0/networks", {"network": {}}))["network"]
        status, body = call(ctx, "POST", "/v2.0/subnets", {"subnet": {
            "network_id": net["id"], "ip_version": 4, "use_default_subnetpool": True}})
        assert status == expected, body
        if status == 201:
            assert body["subnet"]["subnetpool_id"] == pool["id"]
        else:
            assert "No default subnetpool found for IPv4" in body["NeutronError"]["message"]
