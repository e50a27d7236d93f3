"""RBAC policies: sharing networks and QoS policies with one project or all, external by grant."""

from __future__ import annotations

import pytest

from xloudnet.control.context import Context

RBAC = "/v2.0/rbac-policies"
OWNER, ONE, TWO = ("0" * 31 + str(i) for i in (1, 2, 3))


@pytest.fixture
def owner():
    return _ctx(OWNER, "member")


@pytest.fixture
def one():
    return _ctx(ONE, "member")


@pytest.fixture
def two():
    return _ctx(TWO, "member")


def _ctx(project: str, role: str) -> Context:
    # RBAC targets must look like project UUIDs, unlike the other tests' readable project names.
    return Context(project_id=project, user_id=f"{project}-user", roles=frozenset({role, "reader"}))


def _error(body):
    return body["NeutronError"]["type"]


def _share(call, ctx, object_id, target, object_type="network", action="access_as_shared"):
    return call(ctx, "POST", RBAC, {"rbac_policy": {"object_type": object_type, "object_id": object_id,
                                                    "action": action, "target_tenant": target}})


def _network(call, ctx, **attrs):
    status, body = call(ctx, "POST", "/v2.0/networks", {"network": attrs})
    assert status == 201, body
    return body["network"]


def test_a_targeted_share_shows_the_network_to_that_project_only(call, owner, one, two):
    net = _network(call, owner)
    status, body = _share(call, owner, net["id"], ONE)
    assert status == 201
    entry = body["rbac_policy"]
    assert set(entry) == {"id", "project_id", "tenant_id", "object_type", "object_id", "action", "target_tenant"}
    shown = call(one, "GET", f"/v2.0/networks/{net['id']}")[1]["network"]
    assert shown["shared"] is True, "shared reads true for the project it is shared with"
    assert call(owner, "GET", f"/v2.0/networks/{net['id']}")[1]["network"]["shared"] is False
    assert call(two, "GET", f"/v2.0/networks/{net['id']}")[0] == 404
    assert call(one, "POST", "/v2.0/ports", {"port": {"network_id": net["id"]}})[0] == 201
    assert call(two, "POST", "/v2.0/ports", {"port": {"network_id": net["id"]}})[0] == 404


def test_entries_are_seen_by_their_owner_and_admins_only(call, admin, owner, one):
    net = _network(call, owner)
    entry = _share(call, owner, net["id"], ONE)[1]["rbac_policy"]
    assert [e["id"] for e in call(owner, "GET", RBAC)[1]["rbac_policies"]] == [entry["id"]]
    assert call(one, "GET", RBAC)[1]["rbac_policies"] == []
    assert call(admin, "GET", f"{RBAC}/{entry['id']}")[0] == 200
    status, body = call(one, "GET", f"{RBAC}/{entry['id']}")
    assert (status, _error(body)) == (404, "RbacPolicyNotFound")


def test_only_admins_share_with_everybody(call, admin, owner, one):
    net = _network(call, owner)
    status, body = _share(call, owner, net["id"], "*")
    assert (status, _error(body)) == (403, "PolicyNotAuthorized")
    entry = _share(call, owner, net["id"], ONE)[1]["rbac_policy"]
    assert call(owner, "PUT", f"{RBAC}/{entry['id']}", {"rbac_policy": {"target_tenant": "*"}})[0] == 403
    assert _share(call, admin, net["id"], "*")[0] == 201
    assert call(owner, "GET", f"/v2.0/networks/{net['id']}")[1]["network"]["shared"] is True


def test_sharing_someone_elses_object_is_400(call, admin, owner, one):
    net = _network(call, admin)
    status, body = _share(call, owner, net["id"], ONE)
    assert (status, _error(body)) == (400, "InvalidInput")


@pytest.mark.parametrize(("target", "object_type", "action"), [
    (None, "network", "access_as_shared"), ("1234" * 100, "network", "access_as_shared"),
    ("not-a-uuid", "network", "access_as_shared"), (ONE, "router", "access_as_shared"),
    (ONE, "qos_policy", "access_as_external"), (ONE, "network", "access_as_everything"),
])
def test_bad_entries_are_400(call, owner, target, object_type, action):
    net = _network(call, owner)
    status, _ = _share(call, owner, net["id"], target, object_type, action)
    assert status == 400
    assert call(owner, "GET", RBAC)[1]["rbac_policies"] == []


def test_duplicate_entry_is_409(call, owner):
    net = _network(call, owner)
    assert _share(call, owner, net["id"], ONE)[0] == 201
    status, body = _share(call, owner, net["id"], ONE)
    assert (status, _error(body)) == (409, "DuplicateRbacPolicy")


def test_a_port_of_the_target_keeps_its_entry(call, admin, owner, one):
    net = _network(call, owner)
    entry = _share(call, owner, net["id"], ONE)[1]["rbac_policy"]
    port = call(one, "POST", "/v2.0/ports", {"port": {"network_id": net["id"]}})[1]["port"]
    status, body = call(owner, "DELETE", f"{RBAC}/{entry['id']}")
    assert (status, _error(body)) == (409, "RbacPolicyInUse")
    assert call(owner, "PUT", f"{RBAC}/{entry['id']}", {"rbac_policy": {"target_tenant": TWO}})[0] == 409
    wildcard = _share(call, admin, net["id"], "*")[1]["rbac_policy"]
    assert call(owner, "DELETE", f"{RBAC}/{entry['id']}")[0] == 204, "the wildcard still admits the port"
    assert call(admin, "DELETE", f"{RBAC}/{wildcard['id']}")[0] == 409, "now the wildcard is the last grant"
    assert call(one, "DELETE", f"/v2.0/ports/{port['id']}")[0] == 204
    assert call(admin, "DELETE", f"{RBAC}/{wildcard['id']}")[0] == 204


def test_retargeting_keeps_everything_else_and_moves_access(call, owner, one, two):
    net = _network(call, owner)
    entry = _share(call, owner, net["id"], ONE)[1]["rbac_policy"]
    moved = call(owner, "PUT", f"{RBAC}/{entry['id']}", {"rbac_policy": {"target_tenant": TWO}})[1]["rbac_policy"]
    assert moved == {**entry, "target_tenant": TWO}
    assert call(one, "GET", f"/v2.0/networks/{net['id']}")[0] == 404
    assert call(two, "GET", f"/v2.0/networks/{net['id']}")[0] == 200


def test_network_shared_flag_and_wildcard_entry_follow_each_other(call, admin):
    net = _network(call, admin, shared=True)
    entries = call(admin, "GET", RBAC, query=[("object_id", net["id"])])[1]["rbac_policies"]
    assert [(e["action"], e["target_tenant"]) for e in entries] == [("access_as_shared", "*")]
    before = call(admin, "GET", f"/v2.0/networks/{net['id']}")[1]["network"]["revision_number"]
    assert call(admin, "DELETE", f"{RBAC}/{entries[0]['id']}")[0] == 204
    after = call(admin, "GET", f"/v2.0/networks/{net['id']}")[1]["network"]
    assert after["shared"] is False and after["revision_number"] > before
    call(admin, "PUT", f"/v2.0/networks/{net['id']}", {"network": {"shared": True}})
    assert len(call(admin, "GET", RBAC, query=[("object_id", net["id"])])[1]["rbac_policies"]) == 1
    listed = call(admin, "GET", "/v2.0/networks", query=[("shared", "true")])[1]["networks"]
    assert net["id"] in [n["id"] for n in listed]


def test_access_as_external_for_one_project(call, admin, one, two):
    net = _network(call, admin)
    _share(call, admin, net["id"], ONE, action="access_as_external")
    assert call(admin, "GET", f"/v2.0/networks/{net['id']}")[1]["network"]["router:external"] is True
    assert call(one, "GET", f"/v2.0/networks/{net['id']}")[0] == 200
    assert call(two, "GET", f"/v2.0/networks/{net['id']}")[0] == 404
    call(admin, "PUT", f"/v2.0/networks/{net['id']}", {"network": {"router:external": False}})
    assert call(admin, "GET", RBAC, query=[("object_id", net["id"])])[1]["rbac_policies"] == []
    assert call(one, "GET", f"/v2.0/networks/{net['id']}")[0] == 404


def test_qos_policy_shared_with_one_project(call, admin, one, two):
    policy = call(admin, "POST", "/v2.0/qos/policies", {"policy": {"name": "gold"}})[1]["policy"]
    assert call(one, "GET", f"/v2.0/qos/policies/{policy['id']}")[0] == 404
    entry = _share(call, admin, policy["id"], ONE, object_type="qos_policy")[1]["rbac_policy"]
    assert call(one, "GET", f"/v2.0/qos/policies/{policy['id']}")[1]["policy"]["shared"] is True
    assert call(two, "GET", f"/v2.0/qos/policies/{policy['id']}")[0] == 404
    net = _network(call, one, qos_policy_id=policy["id"])
    status, body = call(admin, "DELETE", f"{RBAC}/{entry['id']}")
    assert (status, _error(body)) == (409, "RbacPolicyInUse")
    call(one, "DELETE", f"/v2.0/networks/{net['id']}")
    assert call(admin, "DELETE", f"{RBAC}/{entry['id']}")[0] == 204


def test_unsharing_a_policy_bound_by_its_owner_is_409(call, admin):
    policy = call(admin, "POST", "/v2.0/qos/policies", {"policy": {"name": "p", "shared": True}})[1]["policy"]
    net = _network(call, admin, qos_policy_id=policy["id"])
    status, body = call(admin, "PUT", f"/v2.0/qos/policies/{policy['id']}", {"policy": {"shared": False}})
    assert (status, _error(body)) == (409, "RbacPolicyInUse")
    call(admin, "DELETE", f"/v2.0/networks/{net['id']}")
    assert call(admin, "PUT", f"/v2.0/qos/policies/{policy['id']}", {"policy": {"shared": False}})[0] == 200


def test_deleting_the_object_deletes_its_entries(call, plane, owner):
    net = _network(call, owner)
    _share(call, owner, net["id"], ONE)
    assert call(owner, "DELETE", f"/v2.0/networks/{net['id']}")[0] == 204
    assert len(plane.store.table("rbac_policies")) == 0


def test_rbac_quota_is_ten_per_project(call, admin, owner):
    net = _network(call, owner)
    for i in range(10):
        assert _share(call, owner, net["id"], f"{i:032x}")[0] == 201
    status, body = _share(call, owner, net["id"], "f" * 32)
    assert (status, _error(body)) == (409, "OverQuota")


def _router_on(call, ctx, network_id):
    status, body = call(ctx, "POST", "/v2.0/routers",
                        {"router": {"external_gateway_info": {"network_id": network_id}}})
    assert status == 201, body
    return body["router"]


def _external(call, admin, **attrs):
    net = _network(call, admin, **{"router:external": True}, **attrs)
    call(admin, "POST", "/v2.0/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
                                                     "cidr": "198.51.100.0/24"}})
    return net


def test_wildcard_external_may_narrow_to_the_only_project_using_it(call, admin, one, two):
    net = _external(call, admin)
    wildcard = call(admin, "GET", RBAC, query=[("object_id", net["id"]), ("action", "access_as_external")])[1]
    wildcard = wildcard["rbac_policies"][0]
    _router_on(call, two, net["id"])
    assert call(admin, "PUT", f"{RBAC}/{wildcard['id']}", {"rbac_policy": {"target_tenant": ONE}})[0] == 409
    assert call(admin, "PUT", f"{RBAC}/{wildcard['id']}", {"rbac_policy": {"target_tenant": TWO}})[0] == 200


def test_the_default_external_network_stays_external_for_everybody(call, admin):
    net = _external(call, admin, is_default=True)
    wildcard = call(admin, "GET", RBAC, query=[("object_id", net["id"])])[1]["rbac_policies"][0]
    status, body = call(admin, "DELETE", f"{RBAC}/{wildcard['id']}")
    assert (status, _error(body)) == (409, "RbacPolicyInUse")
    assert "Default external networks must be shared to everyone." in body["NeutronError"]["message"]


def test_narrowing_a_qos_wildcard_to_its_only_user_is_still_409(call, admin, one):
    """Neutron checks the wildcard's removal without counting the new target (its generic
    RBAC validator), unlike external-network grants."""
    policy = call(admin, "POST", "/v2.0/qos/policies", {"policy": {"name": "gold"}})[1]["policy"]
    wildcard = _share(call, admin, policy["id"], "*", object_type="qos_policy")[1]["rbac_policy"]
    _network(call, one, qos_policy_id=policy["id"])
    status, body = call(admin, "PUT", f"{RBAC}/{wildcard['id']}", {"rbac_policy": {"target_tenant": ONE}})
    assert (status, _error(body)) == (409, "RbacPolicyInUse")
