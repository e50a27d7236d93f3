"""QoS policies, rules (as sub-resources and by alias) and rule types (digest §3.8, samples
055–060, 080)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from xloudnet.control import errors as neutron_errors
from xloudnet.control.context import Context
from xloudnet.control.plane import ControlPlane
from xloudnet.control.resources.ports import PortService

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "neutron"
POLICIES = "/v2.0/qos/policies"
PORTS_LANDED = "fixed_ips" in PortService.definition.by_name


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())["response"]


@pytest.fixture
def make_policy(call, admin):
    """Create a policy as admin; ``project`` makes it another project's."""

    def make(name="p", shared=False, project=None, **extra):
        body = {"name": name, "shared": shared, **extra}
        if project is not None:
            body["project_id"] = project
        status, out = call(admin, "POST", POLICIES, {"policy": body})
        assert status == 201, out
        return out["policy"]

    return make


@pytest.fixture
def add_rule(call, admin):
    def add(policy_id, kind, **fields):
        status, out = call(admin, "POST", f"{POLICIES}/{policy_id}/{kind}_rules", {f"{kind}_rule": fields})
        assert status == 201, out
        return out[f"{kind}_rule"]

    return add


def error(body) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


# --- policies ------------------------------------------------------------------------------------
def test_member_cannot_create_policy_403_as_sample_055(call, demo):
    status, body = call(demo, "POST", POLICIES, {"policy": {"name": "x"}})
    expected = sample("055-tenant-create-qos-policy-forbidden.json")
    assert (status, body) == (expected["status"], expected["body"])


def test_admin_created_policy_has_sample_056_shape(call, admin):
    status, body = call(admin, "POST", POLICIES, {"policy": {"name": "bw", "shared": True, "description": "limit"}})
    expected = sample("056-admin-create-qos-policy.json")
    assert status == expected["status"]
    policy = body["policy"]
    assert set(policy) == set(expected["body"]["policy"])
    assert policy["rules"] == [] and policy["shared"] is True and policy["is_default"] is False
    assert policy["project_id"] == policy["tenant_id"] == admin.project_id
    assert policy["revision_number"] == 0  # real Neutron starts QoS policies at 0
    assert policy["created_at"] == policy["updated_at"]


def test_policy_is_visible_to_owner_and_to_all_when_shared(call, make_policy, demo, alt):
    private = make_policy("private", project=demo.project_id)
    shared = make_policy("shared", shared=True)
    assert call(demo, "GET", f"{POLICIES}/{private['id']}")[0] == 200
    status, body = call(alt, "GET", f"{POLICIES}/{private['id']}")
    assert status == 404
    assert error(body) == ("QosPolicyNotFound", f"QoS policy {private['id']} could not be found.")
    assert call(alt, "GET", f"{POLICIES}/{shared['id']}")[0] == 200
    names = {p["name"] for p in call(alt, "GET", POLICIES)[1]["policies"]}
    assert names == {"shared"}


def test_members_cannot_update_or_delete_even_their_own_policy(call, make_policy, demo):
    policy = make_policy("mine", project=demo.project_id)
    status, body = call(demo, "PUT", f"{POLICIES}/{policy['id']}", {"policy": {"name": "new"}})
    assert (status, error(body)) == (403, ("PolicyNotAuthorized", "rule:update_policy is disallowed by policy"))
    status, body = call(demo, "DELETE", f"{POLICIES}/{policy['id']}")
    assert (status, error(body)) == (403, ("PolicyNotAuthorized", "rule:delete_policy is disallowed by policy"))


def test_admin_updates_policy_and_revision_goes_up(call, admin, make_policy):
    policy = make_policy("old")
    status, body = call(admin, "PUT", f"{POLICIES}/{policy['id']}", {"policy": {"name": "new", "shared": "true"}})
    assert status == 200
    assert body["policy"]["name"] == "new" and body["policy"]["shared"] is True
    assert body["policy"]["revision_number"] == policy["revision_number"] + 1


def test_rules_attribute_is_read_only(call, admin, make_policy):
    policy = make_policy()
    status, body = call(admin, "PUT", f"{POLICIES}/{policy['id']}", {"policy": {"rules": []}})
    assert (status, error(body)) == (400, ("HTTPBadRequest", "Cannot update read-only attribute rules"))
    status, body = call(admin, "POST", POLICIES, {"policy": {"rules": []}})
    assert (status, error(body)) == (400, ("HTTPBadRequest", "Attribute 'rules' not allowed in POST"))


def test_second_default_policy_in_a_project_is_409(call, admin, make_policy, plane):
    first = make_policy("d1", is_default=True)
    status, body = call(admin, "POST", POLICIES, {"policy": {"name": "d2", "is_default": True}})
    assert status == 409
    assert error(body) == ("QoSPolicyDefaultAlreadyExists", f"A default QoS policy exists for project {admin.project_id}.")
    other = make_policy("o")
    status, body = call(admin, "PUT", f"{POLICIES}/{other['id']}", {"policy": {"is_default": True}})
    assert status == 409 and error(body)[0] == "QoSPolicyDefaultAlreadyExists"
    # Re-asserting the default on the default itself is fine, and other projects have their own.
    assert call(admin, "PUT", f"{POLICIES}/{first['id']}", {"policy": {"is_default": True}})[0] == 200
    assert make_policy("elsewhere", project="p2", is_default=True)["is_default"] is True
    assert plane.qos_policies.default_policy_id(admin.project_id) == first["id"]
    assert plane.qos_policies.default_policy_id("nobody") is None


def test_delete_policy_is_204_then_404_as_sample_080(call, admin, make_policy):
    policy = make_policy()
    status, body = call(admin, "DELETE", f"{POLICIES}/{policy['id']}")
    assert (status, body) == (204, None)
    assert call(admin, "GET", f"{POLICIES}/{policy['id']}")[0] == 404


def test_deleting_policy_used_by_network_is_409_until_unbound(call, admin, demo, make_policy):
    policy = make_policy(shared=True)
    _, net = call(demo, "POST", "/v2.0/networks", {"network": {"qos_policy_id": policy["id"]}})
    net_id = net["network"]["id"]
    status, body = call(admin, "DELETE", f"{POLICIES}/{policy['id']}")
    assert status == 409
    assert error(body) == ("QosPolicyInUse", f"QoS Policy {policy['id']} is used by network {net_id}.")
    call(demo, "PUT", f"/v2.0/networks/{net_id}", {"network": {"qos_policy_id": None}})
    assert call(admin, "DELETE", f"{POLICIES}/{policy['id']}")[0] == 204


@pytest.mark.skipif(not PORTS_LANDED, reason="ports service not implemented yet")
def test_deleting_policy_used_by_port_is_409(call, admin, demo, make_policy):
    policy = make_policy(shared=True)
    _, net = call(demo, "POST", "/v2.0/networks", {"network": {}})
    _, port = call(demo, "POST", "/v2.0/ports", {"port": {"network_id": net["network"]["id"]}})
    port_id = port["port"]["id"]
    status, body = call(demo, "PUT", f"/v2.0/ports/{port_id}", {"port": {"qos_policy_id": policy["id"]}})
    assert status == 200, body
    status, body = call(admin, "DELETE", f"{POLICIES}/{policy['id']}")
    assert status == 409
    assert error(body) == ("QosPolicyInUse", f"QoS Policy {policy['id']} is used by port {port_id}.")


def test_attaching_a_policy_the_caller_cannot_see_is_404(call, demo, make_policy):
    hidden = make_policy(project="someone-else")
    status, body = call(demo, "POST", "/v2.0/networks", {"network": {"qos_policy_id": hidden["id"]}})
    assert (status, error(body)[0]) == (404, "QosPolicyNotFound")
    visible = make_policy(shared=True)
    status, body = call(demo, "POST", "/v2.0/networks", {"network": {"qos_policy_id": visible["id"]}})
    assert status == 201 and body["network"]["qos_policy_id"] == visible["id"]


def test_policies_take_tags_and_tag_filters(call, admin, make_policy):
    policy = make_policy("tagged")
    make_policy("plain")
    assert call(admin, "PUT", f"{POLICIES}/{policy['id']}/tags/gold")[0] == 201
    _, body = call(admin, "GET", POLICIES, query=[("tags", "gold")])
    assert [p["name"] for p in body["policies"]] == ["tagged"]


# --- rules ---------------------------------------------------------------------------------------
def test_rule_response_has_only_id_and_fields_as_sample_057(call, admin, make_policy):
    policy = make_policy()
    req = {"bandwidth_limit_rule": {"max_kbps": 10000, "max_burst_kbps": 8000, "direction": "egress"}}
    status, body = call(admin, "POST", f"{POLICIES}/{policy['id']}/bandwidth_limit_rules", req)
    expected = sample("057-admin-create-bandwidth-limit-rule.json")
    assert status == expected["status"]
    rule = body["bandwidth_limit_rule"]
    assert set(rule) == set(expected["body"]["bandwidth_limit_rule"])
    assert {k: rule[k] for k in ("max_kbps", "max_burst_kbps", "direction")} == req["bandwidth_limit_rule"]


def test_policy_lists_its_rules_with_type_and_policy_id_as_sample_058(call, admin, make_policy, add_rule):
    policy = make_policy()
    rule = add_rule(policy["id"], "bandwidth_limit", max_kbps=10000, max_burst_kbps=8000)
    _, body = call(admin, "GET", f"{POLICIES}/{policy['id']}")
    expected = sample("058-admin-show-qos-policy.json")["body"]["policy"]
    shown = body["policy"]
    assert set(shown) == set(expected)
    assert shown["rules"] == [{**rule, "qos_policy_id": policy["id"], "type": "bandwidth_limit"}]
    assert set(shown["rules"][0]) == set(expected["rules"][0])
    assert shown["revision_number"] == policy["revision_number"] + 1


@pytest.mark.parametrize(
    ("kind", "fields", "defaults"),
    [
        ("bandwidth_limit", {"max_kbps": 100}, {"max_burst_kbps": 0, "direction": "egress"}),
        ("dscp_marking", {"dscp_mark": 26}, {}),
        ("minimum_bandwidth", {"min_kbps": 100}, {"direction": "egress"}),
        ("packet_rate_limit", {"max_kpps": 10}, {"max_burst_kpps": 0, "direction": "egress"}),
    ],
)
def test_each_rule_type_fills_its_defaults(kind, fields, defaults, make_policy, add_rule, call, admin):
    policy = make_policy()
    rule = add_rule(policy["id"], kind, **fields)
    assert rule == {"id": rule["id"], **fields, **defaults}
    status, body = call(admin, "GET", f"{POLICIES}/{policy['id']}/{kind}_rules/{rule['id']}")
    assert (status, body) == (200, {f"{kind}_rule": rule})


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("bandwidth_limit", {}, "Failed to parse request. Required attribute 'max_kbps' not specified"),
        ("bandwidth_limit", {"max_kbps": -1}, "Invalid input for max_kbps. Reason: '-1' is too small - must be at least '0'."),
        ("bandwidth_limit", {"max_kbps": 2147483648}, "Invalid input for max_kbps. Reason: '2147483648' is too large - must be no larger than '2147483647'."),
        ("bandwidth_limit", {"max_kbps": "fast"}, "Invalid input for max_kbps. Reason: 'fast' is not an integer."),
        ("bandwidth_limit", {"max_kbps": 1, "direction": "up"}, "Invalid input for direction. Reason: 'up' is not in ['egress', 'ingress']."),
        ("dscp_marking", {"dscp_mark": 7}, None),
        ("minimum_bandwidth", {"min_kbps": 1, "foo": 1}, "Unrecognized attribute(s) 'foo'"),
        ("packet_rate_limit", {"max_kpps": 1, "id": "x"}, "Attribute 'id' not allowed in POST"),
    ],
)
def test_invalid_rule_bodies_are_400(kind, fields, message, make_policy, call, admin):
    policy = make_policy()
    status, body = call(admin, "POST", f"{POLICIES}/{policy['id']}/{kind}_rules", {f"{kind}_rule": fields})
    assert status == 400 and error(body)[0] == "HTTPBadRequest"
    if message is not None:
        assert error(body)[1] == message


def test_numeric_strings_are_converted(make_policy, add_rule):
    policy = make_policy()
    assert add_rule(policy["id"], "dscp_marking", dscp_mark="46")["dscp_mark"] == 46


def test_one_rule_per_type_and_direction_else_409(call, admin, make_policy, add_rule):
    policy = make_policy()
    first = add_rule(policy["id"], "bandwidth_limit", max_kbps=100)
    add_rule(policy["id"], "bandwidth_limit", max_kbps=100, direction="ingress")
    status, body = call(admin, "POST", f"{POLICIES}/{policy['id']}/bandwidth_limit_rules", {"bandwidth_limit_rule": {"max_kbps": 5}})
    assert status == 409
    assert error(body) == (
        "QoSRulesConflict",
        f"Rule bandwidth_limit conflicts with rule {first['id']} which already exists in QoS Policy {policy['id']}.",
    )
    add_rule(policy["id"], "dscp_marking", dscp_mark=8)
    status, body = call(admin, "POST", f"{POLICIES}/{policy['id']}/dscp_marking_rules", {"dscp_marking_rule": {"dscp_mark": 10}})
    assert (status, error(body)[0]) == (409, "QoSRulesConflict")


def test_minimum_above_maximum_in_same_direction_is_409(call, admin, make_policy, add_rule):
    policy = make_policy()
    add_rule(policy["id"], "bandwidth_limit", max_kbps=1000)
    url = f"{POLICIES}/{policy['id']}/minimum_bandwidth_rules"
    status, body = call(admin, "POST", url, {"minimum_bandwidth_rule": {"min_kbps": 2000}})
    assert (status, error(body)[0]) == (409, "QoSRuleParameterConflict")
    assert "2000" in error(body)[1] and "1000" in error(body)[1]
    # The other direction is not limited, and an equal minimum is fine.
    assert call(admin, "POST", url, {"minimum_bandwidth_rule": {"min_kbps": 2000, "direction": "ingress"}})[0] == 201
    assert call(admin, "POST", url, {"minimum_bandwidth_rule": {"min_kbps": 1000}})[0] == 201


def test_maximum_below_existing_minimum_is_409(call, admin, make_policy, add_rule):
    policy = make_policy()
    add_rule(policy["id"], "minimum_bandwidth", min_kbps=500)
    url = f"{POLICIES}/{policy['id']}/bandwidth_limit_rules"
    status, body = call(admin, "POST", url, {"bandwidth_limit_rule": {"max_kbps": 100}})
    assert (status, error(body)[0]) == (409, "QoSRuleParameterConflict")
    rule = call(admin, "POST", url, {"bandwidth_limit_rule": {"max_kbps": 600}})[1]["bandwidth_limit_rule"]
    status, body = call(admin, "PUT", f"{url}/{rule['id']}", {"bandwidth_limit_rule": {"max_kbps": 400}})
    assert (status, error(body)[0]) == (409, "QoSRuleParameterConflict")


def test_rules_of_a_policy_the_caller_cannot_see_are_404(call, alt, make_policy, add_rule):
    policy = make_policy(project="demo-project")
    rule = add_rule(policy["id"], "dscp_marking", dscp_mark=8)
    base = f"{POLICIES}/{policy['id']}/dscp_marking_rules"
    for method, path in (("GET", base), ("GET", f"{base}/{rule['id']}"), ("DELETE", f"{base}/{rule['id']}")):
        status, body = call(alt, method, path)
        assert (status, error(body)[0]) == (404, "QosPolicyNotFound")
    status, body = call(alt, "GET", f"{POLICIES}/nope/bandwidth_limit_rules")
    assert error(body) == ("QosPolicyNotFound", "QoS policy nope could not be found.")


def test_missing_rule_is_404_even_when_it_is_another_type(call, admin, make_policy, add_rule):
    policy = make_policy()
    dscp = add_rule(policy["id"], "dscp_marking", dscp_mark=8)
    status, body = call(admin, "GET", f"{POLICIES}/{policy['id']}/bandwidth_limit_rules/{dscp['id']}")
    assert status == 404
    assert error(body) == ("QosRuleNotFound", f"QoS rule {dscp['id']} for policy {policy['id']} could not be found.")
    other = make_policy("other")
    assert call(admin, "GET", f"{POLICIES}/{other['id']}/dscp_marking_rules/{dscp['id']}")[0] == 404


def test_members_may_read_rules_of_shared_policies_but_not_change_them(call, demo, make_policy, add_rule):
    policy = make_policy(shared=True)
    rule = add_rule(policy["id"], "bandwidth_limit", max_kbps=100)
    base = f"{POLICIES}/{policy['id']}/bandwidth_limit_rules"
    status, body = call(demo, "GET", base)
    assert status == 200 and [r["id"] for r in body["bandwidth_limit_rules"]] == [rule["id"]]
    cases = (
        ("POST", base, {"bandwidth_limit_rule": {"max_kbps": 1, "direction": "ingress"}}, "create"),
        ("PUT", f"{base}/{rule['id']}", {"bandwidth_limit_rule": {"max_kbps": 1}}, "update"),
        ("DELETE", f"{base}/{rule['id']}", None, "delete"),
    )
    for method, path, req, action in cases:
        status, body = call(demo, method, path, req)
        assert status == 403
        assert error(body) == ("PolicyNotAuthorized", f"rule:{action}_policy_bandwidth_limit_rule is disallowed by policy")


@pytest.mark.parametrize("kind", ["bandwidth_limit", "dscp_marking", "minimum_bandwidth"])
def test_member_creating_a_rule_on_a_policy_it_cannot_see_is_403_not_404(call, demo, make_policy, kind):
    policy = make_policy()  # the admin's, not shared: invisible to demo
    fields = {"bandwidth_limit": {"max_kbps": 1}, "dscp_marking": {"dscp_mark": 8}, "minimum_bandwidth": {"min_kbps": 1}}
    body = {f"{kind}_rule": fields[kind]}
    status, answer = call(demo, "POST", f"{POLICIES}/{policy['id']}/{kind}_rules", body)
    assert (status, error(answer)[0]) == (403, "PolicyNotAuthorized")


def test_member_updating_a_rule_of_a_policy_it_cannot_see_is_404(call, demo, make_policy, add_rule):
    policy = make_policy()
    rule = add_rule(policy["id"], "bandwidth_limit", max_kbps=100)
    url = f"{POLICIES}/{policy['id']}/bandwidth_limit_rules/{rule['id']}"
    status, answer = call(demo, "PUT", url, {"bandwidth_limit_rule": {"max_kbps": 2}})
    assert (status, error(answer)[0]) == (404, "QosPolicyNotFound")


def test_rule_update_and_delete_keep_the_policy_rules_current(call, admin, make_policy, add_rule, plane):
    policy = make_policy()
    rule = add_rule(policy["id"], "bandwidth_limit", max_kbps=100)
    url = f"{POLICIES}/{policy['id']}/bandwidth_limit_rules/{rule['id']}"
    status, body = call(admin, "PUT", url, {"bandwidth_limit_rule": {"max_kbps": 300, "direction": "ingress"}})
    assert status == 200
    assert body["bandwidth_limit_rule"] == {**rule, "max_kbps": 300, "direction": "ingress"}
    snap = plane.snapshot().qos_policies[policy["id"]]
    assert [(r["max_kbps"], r["direction"]) for r in snap["rules"]] == [(300, "ingress")]
    assert snap["revision_number"] == policy["revision_number"] + 2
    assert call(admin, "DELETE", url) == (204, None)
    snap = plane.snapshot().qos_policies[policy["id"]]
    assert snap["rules"] == [] and snap["revision_number"] == policy["revision_number"] + 3
    assert call(admin, "GET", url)[0] == 404


def test_rule_id_is_read_only_on_update(call, admin, make_policy, add_rule):
    policy = make_policy()
    rule = add_rule(policy["id"], "dscp_marking", dscp_mark=8)
    url = f"{POLICIES}/{policy['id']}/dscp_marking_rules/{rule['id']}"
    status, body = call(admin, "PUT", url, {"dscp_marking_rule": {"id": "x"}})
    assert (status, error(body)) == (400, ("HTTPBadRequest", "Cannot update read-only attribute id"))


def test_update_into_an_existing_direction_is_409(call, admin, make_policy, add_rule):
    policy = make_policy()
    add_rule(policy["id"], "packet_rate_limit", max_kpps=10)
    ingress = add_rule(policy["id"], "packet_rate_limit", max_kpps=10, direction="ingress")
    url = f"{POLICIES}/{policy['id']}/packet_rate_limit_rules/{ingress['id']}"
    status, body = call(admin, "PUT", url, {"packet_rate_limit_rule": {"direction": "egress"}})
    assert (status, error(body)[0]) == (409, "QoSRulesConflict")


def test_bulk_rule_create_is_all_or_nothing(call, admin, make_policy, plane):
    policy = make_policy()
    items = [{"max_kbps": 1}, {"max_kbps": 2}]  # same direction twice: the second conflicts
    status, body = call(admin, "POST", f"{POLICIES}/{policy['id']}/bandwidth_limit_rules", {"bandwidth_limit_rules": items})
    assert (status, error(body)[0]) == (409, "QoSRulesConflict")
    assert plane.store.get("qos_policies", policy["id"]) == policy
    assert len(plane.store.table("qos_rules")) == 0


def test_rule_lists_filter_sort_and_select_fields(call, admin, make_policy, add_rule):
    policy = make_policy()
    egress = add_rule(policy["id"], "bandwidth_limit", max_kbps=100)
    ingress = add_rule(policy["id"], "bandwidth_limit", max_kbps=50, direction="ingress")
    base = f"{POLICIES}/{policy['id']}/bandwidth_limit_rules"
    _, body = call(admin, "GET", base, query=[("direction", "ingress")])
    assert [r["id"] for r in body["bandwidth_limit_rules"]] == [ingress["id"]]
    _, body = call(admin, "GET", base, query=[("sort_key", "max_kbps"), ("sort_dir", "asc"), ("fields", "max_kbps")])
    assert body["bandwidth_limit_rules"] == [{"max_kbps": 50}, {"max_kbps": 100}]
    _, body = call(admin, "GET", base, query=[("max_kbps", "100")])
    assert [r["id"] for r in body["bandwidth_limit_rules"]] == [egress["id"]]
    status, body = call(admin, "GET", base, query=[("type", "x")])
    assert (status, error(body)) == (400, ("HTTPBadRequest", "['type'] is invalid attribute for filtering"))


def test_rule_lists_page_with_markers(call, admin, make_policy, add_rule):
    policy = make_policy()
    ids = sorted(
        [add_rule(policy["id"], "bandwidth_limit", max_kbps=1, direction=d)["id"] for d in ("egress", "ingress")]
    )
    base = f"{POLICIES}/{policy['id']}/bandwidth_limit_rules"
    _, first = call(admin, "GET", base, query=[("limit", "1")])
    assert [r["id"] for r in first["bandwidth_limit_rules"]] == ids[:1]
    _, second = call(admin, "GET", base, query=[("limit", "1"), ("marker", ids[0])])
    assert [r["id"] for r in second["bandwidth_limit_rules"]] == ids[1:]
    status, body = call(admin, "GET", base, query=[("limit", "1"), ("marker", "gone")])
    assert (status, error(body)[0]) == (404, "QosRuleNotFound")


def test_rules_are_deleted_with_their_policy(call, admin, make_policy, add_rule, plane):
    policy = make_policy()
    rule = add_rule(policy["id"], "dscp_marking", dscp_mark=8)
    assert call(admin, "DELETE", f"{POLICIES}/{policy['id']}")[0] == 204
    assert plane.store.get("qos_rules", rule["id"]) is None
    assert call(admin, "GET", f"/v2.0/qos/alias_dscp_marking_rules/{rule['id']}")[0] == 404


def test_rule_changes_in_a_fork_stay_in_the_fork(plane, admin, make_policy, add_rule):
    policy = make_policy()
    fork = plane.fork()
    fork.qos_bandwidth_limit_rules.create(admin, {"max_kbps": 7}, policy_id=policy["id"])
    assert len(fork.snapshot().qos_policies[policy["id"]]["rules"]) == 1
    assert plane.snapshot().qos_policies[policy["id"]]["rules"] == []


# --- alias URLs ----------------------------------------------------------------------------------
def test_alias_urls_get_update_and_delete_a_rule_by_id(call, admin, make_policy, add_rule, plane):
    policy = make_policy()
    rule = add_rule(policy["id"], "minimum_bandwidth", min_kbps=10)
    url = f"/v2.0/qos/alias_minimum_bandwidth_rules/{rule['id']}"
    assert call(admin, "GET", url) == (200, {"minimum_bandwidth_rule": rule})
    status, body = call(admin, "PUT", url, {"minimum_bandwidth_rule": {"min_kbps": 20}})
    assert (status, body["minimum_bandwidth_rule"]["min_kbps"]) == (200, 20)
    assert plane.snapshot().qos_policies[policy["id"]]["rules"][0]["min_kbps"] == 20
    assert call(admin, "DELETE", url) == (204, None)
    assert plane.snapshot().qos_policies[policy["id"]]["rules"] == []


def test_alias_urls_hide_other_projects_rules_and_other_types(call, alt, admin, make_policy, add_rule):
    policy = make_policy(project="demo-project")
    rule = add_rule(policy["id"], "packet_rate_limit", max_kpps=5)
    status, body = call(alt, "GET", f"/v2.0/qos/alias_packet_rate_limit_rules/{rule['id']}")
    assert (status, error(body)[0]) == (404, "QosRuleNotFound")
    assert call(admin, "GET", f"/v2.0/qos/alias_bandwidth_limit_rules/{rule['id']}")[0] == 404
    assert call(admin, "POST", "/v2.0/qos/alias_packet_rate_limit_rules/x", {})[0] == 405


def test_alias_writes_are_admin_only(call, demo, make_policy, add_rule):
    policy = make_policy(shared=True)
    rule = add_rule(policy["id"], "dscp_marking", dscp_mark=8)
    url = f"/v2.0/qos/alias_dscp_marking_rules/{rule['id']}"
    assert call(demo, "GET", url)[0] == 200
    status, body = call(demo, "PUT", url, {"dscp_marking_rule": {"dscp_mark": 10}})
    assert (status, error(body)) == (403, ("PolicyNotAuthorized", "rule:update_alias_dscp_marking_rule is disallowed by policy"))
    status, body = call(demo, "PUT", url, {"wrong": {}})
    assert (status, error(body)[0]) == (400, "HTTPBadRequest")


# --- rule types ----------------------------------------------------------------------------------
def test_members_list_the_supported_rule_types(call, demo):
    status, body = call(demo, "GET", "/v2.0/qos/rule-types")
    assert status == 200
    types = {t["type"] for t in body["rule_types"]}
    assert types == {"bandwidth_limit", "dscp_marking", "minimum_bandwidth", "packet_rate_limit"}
    # Every entry is shaped like sample 059's.
    assert all(set(t) == {"type"} for t in body["rule_types"])


def test_rule_type_filters(call, demo):
    _, everything = call(demo, "GET", "/v2.0/qos/rule-types", query=[("all_rules", "true")])
    assert "minimum_packet_rate" in {t["type"] for t in everything["rule_types"]}
    _, supported = call(demo, "GET", "/v2.0/qos/rule-types", query=[("all_supported", "True")])
    assert "minimum_packet_rate" not in {t["type"] for t in supported["rule_types"]}
    status, body = call(demo, "GET", "/v2.0/qos/rule-types", query=[("all_rules", "maybe")])
    assert (status, error(body)[0]) == (400, "HTTPBadRequest")
    status, body = call(demo, "GET", "/v2.0/qos/rule-types", query=[("type", "dscp_marking")])
    assert (status, error(body)[0]) == (400, "HTTPBadRequest")


def test_rule_type_details_are_admin_only(call, admin, demo):
    status, body = call(demo, "GET", "/v2.0/qos/rule-types/bandwidth_limit")
    assert (status, error(body)) == (403, ("NotAuthorized", "Not authorized."))
    status, body = call(admin, "GET", "/v2.0/qos/rule-types/dscp_marking")
    assert status == 200
    (driver,) = body["rule_type"]["drivers"]
    assert body["rule_type"]["type"] == "dscp_marking" and driver["name"] == "ovn"
    (param,) = driver["supported_parameters"]
    assert param["parameter_name"] == "dscp_mark" and param["parameter_type"] == "choices"
    assert 46 in param["parameter_values"] and 7 not in param["parameter_values"]
    _, body = call(admin, "GET", "/v2.0/qos/rule-types/bandwidth_limit")
    params = {p["parameter_name"]: p for p in body["rule_type"]["drivers"][0]["supported_parameters"]}
    assert params["max_kbps"]["parameter_values"] == {"start": 0, "end": 2147483647}
    assert params["direction"]["parameter_values"] == ["egress", "ingress"]
    assert call(admin, "GET", "/v2.0/qos/rule-types/teleport")[0] == 404
    assert call(admin, "POST", "/v2.0/qos/rule-types", {})[0] == 405


def test_qos_extensions_are_advertised(call, demo):
    _, body = call(demo, "GET", "/v2.0/extensions")
    aliases = {e["alias"] for e in body["extensions"]}
    wanted = {
        "qos", "qos-bw-limit-direction", "qos-bw-minimum-ingress", "qos-default", "qos-rule-type-details",
        "qos-rule-type-filter", "qos-rules-alias", "qos-pps",
    }
    assert wanted <= aliases


# --- invariant -----------------------------------------------------------------------------------
_KINDS = {
    "bandwidth_limit": st.fixed_dictionaries({"max_kbps": st.integers(0, 2000)}, optional={"direction": st.sampled_from(["egress", "ingress"])}),
    "minimum_bandwidth": st.fixed_dictionaries({"min_kbps": st.integers(0, 2000)}, optional={"direction": st.sampled_from(["egress", "ingress"])}),
    "dscp_marking": st.fixed_dictionaries({"dscp_mark": st.sampled_from([0, 8, 46])}),
    "packet_rate_limit": st.fixed_dictionaries({"max_kpps": st.integers(0, 50)}, optional={"direction": st.sampled_from(["egress", "ingress"])}),
}
_OPS = st.lists(
    st.one_of(
        st.sampled_from(sorted(_KINDS)).flatmap(lambda k: _KINDS[k].map(lambda f, k=k: ("add", k, f))),
        st.integers(0, 10).map(lambda i: ("delete", i, None)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(_OPS)
def test_policy_rules_always_match_the_rule_records_and_stay_consistent(ops):
    """Whatever succeeds or fails: the policy's ``rules`` equal its rule records, there is at most
    one rule per (type, direction), no minimum exceeds a maximum in its direction, and the
    revision counts exactly the successful changes."""
    plane = ControlPlane()
    admin = Context.admin("p")
    policy = plane.qos_policies.create(admin, {"name": "x"})
    changes = 0
    for op, arg, fields in ops:
        rules = plane.store.get("qos_policies", policy["id"])["rules"]
        try:
            if op == "add":
                getattr(plane, f"qos_{arg}_rules").create(admin, fields, policy_id=policy["id"])
            elif rules:
                rule = rules[arg % len(rules)]
                getattr(plane, f"qos_{rule['type']}_rules").delete(admin, rule["id"], policy_id=policy["id"])
            else:
                continue
            changes += 1
        except neutron_errors.NeutronException as exc:
            assert exc.status == 409
    stored = plane.store.get("qos_policies", policy["id"])
    records = sorted(plane.store.find("qos_rules", "qos_policy_id", policy["id"]), key=lambda r: r["id"])
    assert sorted(stored["rules"], key=lambda r: r["id"]) == records
    keys = [(r["type"], r.get("direction")) for r in stored["rules"]]
    assert len(keys) == len(set(keys))
    for low in (r for r in stored["rules"] if r["type"] == "minimum_bandwidth"):
        for high in (r for r in stored["rules"] if r["type"] == "bandwidth_limit"):
            assert low["direction"] != high["direction"] or low["min_kbps"] <= high["max_kbps"]
    assert stored["revision_number"] == changes


def test_policy_tags_are_served_under_policies_as_neutrons_tag_extension_does(call, admin, make_policy):
    policy = make_policy()
    status, body = call(admin, "PUT", f"/v2.0/policies/{policy['id']}/tags", {"tags": ["red", "blue"]})
    assert (status, sorted(body["tags"])) == (200, ["blue", "red"])
    assert call(admin, "PUT", f"/v2.0/policies/{policy['id']}/tags/green")[0] == 201
    assert call(admin, "GET", f"/v2.0/policies/{policy['id']}/tags/green")[0] == 204
    shown = call(admin, "GET", f"{POLICIES}/{policy['id']}")[1]["policy"]
    assert sorted(shown["tags"]) == ["blue", "green", "red"]
    listed = call(admin, "GET", POLICIES, query=[("tags", "green")])[1]["policies"]
    assert [p["id"] for p in listed] == [policy["id"]]
    assert call(admin, "DELETE", f"/v2.0/policies/{policy['id']}/tags")[0] == 204
    assert call(admin, "GET", f"/v2.0/policies/{policy['id']}/tags")[1] == {"tags": []}


def test_a_member_may_not_detach_a_policy_it_cannot_see_but_may_once_shared(call, admin, demo, make_policy, net):
    network = net()
    policy = make_policy()  # the admin's, not shared
    assert call(admin, "PUT", f"/v2.0/networks/{network['id']}", {"network": {"qos_policy_id": policy["id"]}})[0] == 200
    status, body = call(demo, "PUT", f"/v2.0/networks/{network['id']}", {"network": {"qos_policy_id": None}})
    assert (status, error(body)[0]) == (403, "PolicyRemoveAuthorizationError")
    call(admin, "PUT", f"{POLICIES}/{policy['id']}", {"policy": {"shared": True}})
    status, body = call(demo, "PUT", f"/v2.0/networks/{network['id']}", {"network": {"qos_policy_id": None}})
    assert status == 200 and body["network"]["qos_policy_id"] is None
