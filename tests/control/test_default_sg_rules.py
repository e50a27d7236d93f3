"""The default security group rules template (security-groups-default-rules)."""

from __future__ import annotations

import pytest

TEMPLATE = "/v2.0/default-security-group-rules"
KEYS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix",
        "remote_group_id", "used_in_default_sg", "used_in_non_default_sg")


def _error(body):
    return body["NeutronError"]["type"]


def _shape(rule):
    return tuple(rule[k] for k in KEYS)


def _group_rules(call, ctx, group_id):
    body = call(ctx, "GET", f"/v2.0/security-groups/{group_id}")[1]["security_group"]
    return {(r["direction"], r["ethertype"], r["protocol"], r["port_range_min"], r["remote_group_id"])
            for r in body["security_group_rules"]}


def test_the_template_starts_with_neutrons_four_legacy_rules(call, demo):
    status, body = call(demo, "GET", TEMPLATE)
    assert status == 200
    rules = body["default_security_group_rules"]
    assert {_shape(r) for r in rules} == {
        ("ingress", "IPv4", None, None, None, None, "PARENT", True, False),
        ("ingress", "IPv6", None, None, None, None, "PARENT", True, False),
        ("egress", "IPv4", None, None, None, None, None, True, True),
        ("egress", "IPv6", None, None, None, None, None, True, True),
    }
    assert {r["description"] for r in rules} == {"Legacy default SG rule for ingress traffic",
                                                "Legacy default SG rule for egress traffic"}


def test_new_groups_are_filled_from_the_template(call, admin, demo):
    ssh = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
           "used_in_default_sg": False, "used_in_non_default_sg": True}
    assert call(admin, "POST", TEMPLATE, {"default_security_group_rule": ssh})[0] == 201
    egress_v6 = next(r for r in call(admin, "GET", TEMPLATE)[1]["default_security_group_rules"]
                     if r["direction"] == "egress" and r["ethertype"] == "IPv6")
    assert call(admin, "DELETE", f"{TEMPLATE}/{egress_v6['id']}")[0] == 204
    group = call(demo, "POST", "/v2.0/security-groups", {"security_group": {"name": "web"}})[1]["security_group"]
    assert _group_rules(call, demo, group["id"]) == {("egress", "IPv4", None, None, None), ("ingress", "IPv4", "tcp", 22, None)}
    default = next(g for g in call(demo, "GET", "/v2.0/security-groups")[1]["security_groups"] if g["name"] == "default")
    assert _group_rules(call, demo, default["id"]) == {
        ("ingress", "IPv4", None, None, default["id"]), ("ingress", "IPv6", None, None, default["id"]),
        ("egress", "IPv4", None, None, None)}


def test_only_admins_change_the_template(call, demo):
    rule = {"direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80}
    status, body = call(demo, "POST", TEMPLATE, {"default_security_group_rule": rule})
    assert (status, _error(body)) == (403, "PolicyNotAuthorized")
    legacy = call(demo, "GET", TEMPLATE)[1]["default_security_group_rules"][0]
    assert call(demo, "DELETE", f"{TEMPLATE}/{legacy['id']}")[0] == 403


def test_the_same_rule_for_the_same_kind_of_group_is_409(call, admin):
    rule = {"direction": "ingress", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443,
            "used_in_default_sg": True, "used_in_non_default_sg": True}
    first = call(admin, "POST", TEMPLATE, {"default_security_group_rule": rule})[1]["default_security_group_rule"]
    status, body = call(admin, "POST", TEMPLATE, {"default_security_group_rule": {**rule, "used_in_non_default_sg": False}})
    assert (status, _error(body)) == (409, "DefaultSecurityGroupRuleExists")
    assert first["id"] in body["NeutronError"]["message"]


def test_same_rule_for_different_kinds_of_group_is_allowed(call, admin):
    rule = {"direction": "ingress", "protocol": "udp", "port_range_min": 53, "port_range_max": 53}
    assert call(admin, "POST", TEMPLATE, {"default_security_group_rule": {
        **rule, "used_in_default_sg": True, "used_in_non_default_sg": False}})[0] == 201
    assert call(admin, "POST", TEMPLATE, {"default_security_group_rule": {
        **rule, "used_in_default_sg": False, "used_in_non_default_sg": True}})[0] == 201


@pytest.mark.parametrize("rule", [
    {"direction": "sideways"},
    {"direction": "ingress", "port_range_min": 22},
    {"direction": "ingress", "ethertype": "IPv4", "remote_ip_prefix": "2001:db8::/64"},
    {"direction": "ingress", "remote_group_id": "not-a-uuid"},
])
def test_bad_template_rules_are_400(call, admin, rule):
    assert call(admin, "POST", TEMPLATE, {"default_security_group_rule": rule})[0] == 400


def test_deleted_rules_are_404_and_filters_work(call, admin):
    legacy = call(admin, "GET", TEMPLATE, query=[("used_in_non_default_sg", "false")])[1]["default_security_group_rules"]
    assert len(legacy) == 2 and all(r["direction"] == "ingress" for r in legacy)
    assert call(admin, "DELETE", f"{TEMPLATE}/{legacy[0]['id']}")[0] == 204
    status, body = call(admin, "GET", f"{TEMPLATE}/{legacy[0]['id']}")
    assert (status, _error(body)) == (404, "DefaultSecurityGroupRuleNotFound")
    assert call(admin, "DELETE", f"{TEMPLATE}/{legacy[0]['id']}")[0] == 404
