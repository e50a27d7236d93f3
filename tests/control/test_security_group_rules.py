"""Security group rules: canonical spellings, every validation of Neutron, duplicates, bulk,
policy and immutability."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xloudnet.control import errors
from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "neutron"
SGS = "/v2.0/security-groups"
RULES = "/v2.0/security-group-rules"


def sample(name: str) -> dict:
    return json.loads(next(SAMPLES.glob(f"{name}*.json")).read_text())["response"]


def error_type(body: dict) -> str:
    return body["NeutronError"]["type"]


@pytest.fixture
def group(call, demo) -> dict:
    status, body = call(demo, "POST", SGS, {"security_group": {"name": "web"}})
    assert status == 201
    return body["security_group"]


@pytest.fixture
def add(call, demo, group):
    """``add(**attrs)`` posts one rule on the demo group (ingress unless told) → (status, body)."""

    def do(ctx=None, **attrs):
        rule = {"security_group_id": group["id"], "direction": "ingress", **attrs}
        return call(ctx or demo, "POST", RULES, {"security_group_rule": rule})

    return do


def created(add, **attrs) -> dict:
    status, body = add(**attrs)
    assert status == 201, body
    return body["security_group_rule"]


# --- shape and canonical spellings -------------------------------------------------------------
def test_create_rule_is_shaped_like_sample_035(add):
    rule = created(add, ethertype="IPv4", protocol="tcp", port_range_min=22, port_range_max=22,
                   remote_ip_prefix="0.0.0.0/0")  # fmt: skip
    expected = sample("035")["body"]["security_group_rule"]
    assert set(rule) == set(expected)
    for key in ("ethertype", "direction", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix",
                "normalized_cidr", "remote_group_id", "remote_address_group_id", "belongs_to_default_sg",
                "description", "revision_number"):  # fmt: skip
        assert rule[key] == expected[key], key
    assert rule["project_id"] == rule["tenant_id"] == "demo-project"
    assert rule["created_at"] == rule["updated_at"] and rule["created_at"].endswith("Z")


def test_duplicate_rule_is_409_with_the_first_rules_id_sample_036(add):
    rule = created(add, protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0")
    status, body = add(protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0")
    assert status == 409
    assert body == {"NeutronError": {
        "type": "SecurityGroupRuleExists",
        "message": f"Security group rule already exists. Rule id is {rule['id']}.",
        "detail": "",
    }}  # fmt: skip


def test_bad_range_is_400_exactly_as_sample_037(add):
    recorded = sample("037")
    status, body = add(ethertype="IPv4", protocol="tcp", port_range_min=30, port_range_max=22)
    assert (status, body) == (recorded["status"], recorded["body"])


@pytest.mark.parametrize("given_, stored", [("ipv4", "IPv4"), ("IPV6", "IPv6"), ("IPv6", "IPv6")])
def test_ethertype_is_case_insensitive_and_canonical(add, given_, stored):
    assert created(add, ethertype=given_)["ethertype"] == stored


@pytest.mark.parametrize("value", ["IPv5", "", 4, None])
def test_unknown_ethertype_is_400(add, value):
    status, body = add(ethertype=value)
    assert status == 400 and error_type(body) == "SecurityGroupRuleInvalidEtherType"


@pytest.mark.parametrize(
    "given_, stored",
    [("TCP", "tcp"), ("Udp", "udp"), ("6", "6"), (6, "6"), (0, "0"), ("255", "255"), ("any", None),
     (None, None), ("vrrp", "vrrp"), ("IPIP", "ipip")],
)  # fmt: skip
def test_protocol_names_are_lower_cased_and_numbers_stay_strings(add, given_, stored):
    assert created(add, protocol=given_)["protocol"] == stored


@pytest.mark.parametrize("value", ["tcpx", "256", -1, 300, True, 6.0, ["tcp"]])
def test_unknown_protocol_is_400(add, value):
    status, body = add(protocol=value)
    assert status == 400 and error_type(body) == "SecurityGroupRuleInvalidProtocol"


@pytest.mark.parametrize("given_, stored", [("icmp", "ipv6-icmp"), ("icmpv6", "ipv6-icmp"), ("1", "58"),
                                            ("ipv6-icmp", "ipv6-icmp"), ("58", "58")])  # fmt: skip
def test_ipv6_icmp_is_rewritten(add, given_, stored):
    assert created(add, ethertype="IPv6", protocol=given_)["protocol"] == stored


@pytest.mark.parametrize("protocol", ["ipv6-icmp", "icmpv6", "ipv6-frag", "ipv6-route", "58", "41", "60"])
def test_ipv6_only_protocols_with_ipv4_are_400(add, protocol):
    status, body = add(ethertype="IPv4", protocol=protocol)
    assert status == 400 and error_type(body) == "SecurityGroupEthertypeConflictWithProtocol"


def test_ipv4_icmp_stays_icmp(add):
    assert created(add, protocol="icmp")["protocol"] == "icmp"


# --- ports -------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["tcp", "udp", "sctp", "dccp", "udplite", "6", "17", "132", "33", "136"])
def test_port_protocols_accept_a_range(add, protocol):
    rule = created(add, protocol=protocol, port_range_min="80", port_range_max=8080)
    assert (rule["port_range_min"], rule["port_range_max"]) == (80, 8080)


def test_ports_without_protocol_are_400(add):
    status, body = add(port_range_min=22, port_range_max=22)
    assert status == 400 and error_type(body) == "SecurityGroupProtocolRequiredWithPorts"


@pytest.mark.parametrize("low, high, kind", [
    (0, 22, "SecurityGroupInvalidPortValue"), (22, 0, "SecurityGroupInvalidPortValue"),
    (22, None, "SecurityGroupInvalidPortRange"), (None, 22, "SecurityGroupInvalidPortRange"),
    (30, 22, "SecurityGroupInvalidPortRange"), (70000, 70000, "SecurityGroupInvalidPortValue"),
    (-1, 5, "SecurityGroupInvalidPortValue"), ("x", 5, "SecurityGroupInvalidPortValue"),
])  # fmt: skip
def test_tcp_port_range_rules(add, low, high, kind):
    status, body = add(protocol="tcp", port_range_min=low, port_range_max=high)
    assert status == 400 and error_type(body) == kind


def test_full_port_range_is_stored_as_no_range(add):
    rule = created(add, protocol="udp", port_range_min=1, port_range_max=65535)
    assert (rule["port_range_min"], rule["port_range_max"]) == (None, None)
    status, body = add(protocol="17")
    assert status == 409 and rule["id"] in body["NeutronError"]["message"]


def test_icmp_type_and_code(add):
    rule = created(add, protocol="icmp", port_range_min=8, port_range_max=0)
    assert (rule["port_range_min"], rule["port_range_max"]) == (8, 0)
    assert created(add, protocol="icmp", port_range_min=3)["port_range_max"] is None
    assert created(add, protocol="icmp", port_range_min=0, port_range_max=255)["port_range_min"] == 0


@pytest.mark.parametrize("low, high, kind", [
    (256, None, "SecurityGroupInvalidIcmpValue"), (8, 256, "SecurityGroupInvalidIcmpValue"),
    (None, 0, "SecurityGroupMissingIcmpType"), (None, 3, "SecurityGroupMissingIcmpType"),
])  # fmt: skip
def test_icmp_value_rules(add, low, high, kind):
    for ethertype, protocol in (("IPv4", "icmp"), ("IPv6", "ipv6-icmp")):
        status, body = add(ethertype=ethertype, protocol=protocol, port_range_min=low, port_range_max=high)
        assert status == 400 and error_type(body) == kind


@pytest.mark.parametrize("protocol", ["gre", "47", "esp", "0", "ip"])
def test_ports_with_other_protocols_are_400(add, protocol):
    status, body = add(protocol=protocol, port_range_min=1, port_range_max=2)
    assert status == 400 and error_type(body) == "SecurityGroupInvalidProtocolForPort"


# --- remotes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("given_, stored, network", [
    ("10.0.0.1", "10.0.0.1/32", "10.0.0.1/32"), ("10.0.0.1/24", "10.0.0.1/24", "10.0.0.0/24"),
    ("0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0"), ("192.168.0.0/16", "192.168.0.0/16", "192.168.0.0/16"),
])  # fmt: skip
def test_remote_prefix_gets_a_mask_and_a_normalized_cidr(add, given_, stored, network):
    rule = created(add, remote_ip_prefix=given_)
    assert (rule["remote_ip_prefix"], rule["normalized_cidr"]) == (stored, network)


def test_ipv6_remote_prefix(add):
    rule = created(add, ethertype="IPv6", remote_ip_prefix="2001:DB8::1/64")
    assert (rule["remote_ip_prefix"], rule["normalized_cidr"]) == ("2001:db8::1/64", "2001:db8::/64")


@pytest.mark.parametrize("ethertype, prefix", [("IPv4", "::/0"), ("IPv6", "10.0.0.0/8"), ("IPv4", "2001:db8::1")])
def test_remote_prefix_version_must_match_ethertype(add, ethertype, prefix):
    status, body = add(ethertype=ethertype, remote_ip_prefix=prefix)
    assert status == 400 and error_type(body) == "SecurityGroupRuleParameterConflict"


@pytest.mark.parametrize("prefix", ["10.0.0.0/33", "not-an-ip", 12])
def test_invalid_remote_prefix_is_400(add, prefix):
    status, body = add(remote_ip_prefix=prefix)
    assert status == 400 and error_type(body) == "InvalidCIDR"


def test_only_one_remote_is_allowed(add, group):
    status, body = add(remote_ip_prefix="10.0.0.0/8", remote_group_id=group["id"])
    assert status == 400 and error_type(body) == "SecurityGroupMultipleRemoteEntites"


def test_remote_group_must_exist_and_be_visible(call, add, alt):
    status, body = add(remote_group_id="missing")
    assert status == 404 and error_type(body) == "SecurityGroupNotFound"
    foreign = call(alt, "POST", SGS, {"security_group": {"name": "a"}})[1]["security_group"]
    status, body = add(remote_group_id=foreign["id"])
    assert status == 404 and error_type(body) == "SecurityGroupNotFound"


def test_remote_group_rule(add, group):
    rule = created(add, remote_group_id=group["id"], protocol="tcp", port_range_min=5432, port_range_max=5432)
    assert rule["remote_group_id"] == group["id"] and rule["remote_ip_prefix"] is None


def test_remote_address_group_is_null_and_unknown_ones_are_404(add):
    assert created(add)["remote_address_group_id"] is None
    status, body = add(remote_address_group_id="5b0bb1a3-1bf6-4c44-b1e8-000000000000")
    assert status == 404 and error_type(body) == "AddressGroupNotFound"
    status, body = add(remote_address_group_id="nope")
    assert status == 400 and error_type(body) == "HTTPBadRequest"


# --- request-shape errors --------------------------------------------------------------------------
def test_direction_is_required_and_checked(call, demo, group, add):
    status, body = call(demo, "POST", RULES, {"security_group_rule": {"security_group_id": group["id"]}})
    assert status == 400 and "Required attribute 'direction'" in body["NeutronError"]["message"]
    status, body = add(direction="inbound")
    assert status == 400
    reason = "'inbound' is not in ['ingress', 'egress']"
    assert body["NeutronError"]["message"] == f"Invalid input for direction. Reason: {reason}."


def test_missing_group_is_404_and_unknown_attributes_400(add, call, demo):
    orphan = {"security_group_id": "nope", "direction": "egress"}
    status, body = call(demo, "POST", RULES, {"security_group_rule": orphan})
    assert status == 404 and error_type(body) == "SecurityGroupNotFound"
    status, body = add(tags=["x"])
    assert status == 400 and "Unrecognized attribute" in body["NeutronError"]["message"]
    status, _ = add(normalized_cidr="10.0.0.0/8")
    assert status == 400


# --- duplicates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("first, again", [
    ({"remote_ip_prefix": "0.0.0.0/0"}, {}),
    ({}, {"remote_ip_prefix": "0.0.0.0/0"}),
    ({"ethertype": "IPv6", "remote_ip_prefix": "::/0"}, {"ethertype": "ipv6"}),
    ({"protocol": "tcp"}, {"protocol": "6"}),
    ({"protocol": "17", "port_range_min": 53, "port_range_max": 53},
     {"protocol": "UDP", "port_range_min": "53", "port_range_max": 53}),
    ({"ethertype": "IPv6", "protocol": "icmp"}, {"ethertype": "IPv6", "protocol": "58"}),
    ({"protocol": "ip"}, {"protocol": "0"}),
    ({"remote_ip_prefix": "10.0.0.1"}, {"remote_ip_prefix": "10.0.0.1/32"}),
])  # fmt: skip
def test_equivalent_spellings_are_duplicates(add, first, again):
    rule = created(add, **first)
    status, body = add(**again)
    assert status == 409 and error_type(body) == "SecurityGroupRuleExists"
    assert body["NeutronError"]["message"].endswith(f"Rule id is {rule['id']}.")


@pytest.mark.parametrize("first, other", [
    ({}, {"direction": "egress", "remote_ip_prefix": "10.0.0.0/8"}),
    ({"protocol": "tcp"}, {"protocol": "udp"}),
    ({"protocol": "hopopt"}, {"protocol": "0"}),
    ({"remote_ip_prefix": "10.0.0.0/24"}, {"remote_ip_prefix": "10.0.0.1/24"}),
    ({"protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
     {"protocol": "tcp", "port_range_min": 22, "port_range_max": 23}),
])  # fmt: skip
def test_different_rules_are_not_duplicates(add, first, other):
    created(add, **first)
    created(add, **other)


def test_same_rule_in_another_group_is_not_a_duplicate(call, demo, add):
    created(add, protocol="tcp")
    other = call(demo, "POST", SGS, {"security_group": {"name": "o"}})[1]["security_group"]
    rule = {"security_group_id": other["id"], "direction": "ingress", "protocol": "tcp"}
    assert call(demo, "POST", RULES, {"security_group_rule": rule})[0] == 201


def test_default_egress_rules_count_as_existing(add):
    status, body = add(direction="egress", remote_ip_prefix="0.0.0.0/0")
    assert status == 409 and error_type(body) == "SecurityGroupRuleExists"


# --- bulk ------------------------------------------------------------------------------------------
def bulk(call, ctx, rules):
    return call(ctx, "POST", RULES, {"security_group_rules": rules})


def test_bulk_create_returns_every_rule(call, demo, group):
    rules = [{"security_group_id": group["id"], "direction": "ingress", "protocol": p} for p in ("tcp", "udp")]
    status, body = bulk(call, demo, rules)
    assert status == 201 and [r["protocol"] for r in body["security_group_rules"]] == ["tcp", "udp"]


def test_duplicate_within_a_bulk_post_is_409_and_creates_nothing(call, demo, group, plane):
    rules = [{"security_group_id": group["id"], "direction": "ingress", "protocol": p} for p in ("udp", "17")]
    status, body = bulk(call, demo, rules)
    assert status == 409 and error_type(body) == "DuplicateSecurityGroupRuleInPost"
    assert plane.store.count_where("security_group_rules", "security_group_id", group["id"]) == 2
    # Neither a failed batch nor the one before it leaks into the next request.
    status, body = bulk(call, demo, rules[:1])
    assert status == 201
    status, body = bulk(call, demo, rules[1:])
    assert status == 409 and error_type(body) == "SecurityGroupRuleExists"


def test_bulk_rules_must_target_one_group(call, demo, group, plane):
    other = call(demo, "POST", SGS, {"security_group": {"name": "o"}})[1]["security_group"]
    rules = [{"security_group_id": g, "direction": "ingress", "protocol": "tcp"} for g in (group["id"], other["id"])]
    status, body = bulk(call, demo, rules)
    assert status == 400 and error_type(body) == "SecurityGroupNotSingleGroupRules"
    assert plane.store.count_where("security_group_rules", "security_group_id", other["id"]) == 2


def test_bulk_rules_must_belong_to_one_project(call, admin, group):
    rules = [{"security_group_id": group["id"], "direction": "ingress", "protocol": proto, "project_id": p}
             for proto, p in (("tcp", "demo-project"), ("udp", "admin-project"))]  # fmt: skip
    status, body = bulk(call, admin, rules)
    assert status == 400 and error_type(body) == "SecurityGroupRulesNotSingleTenant"


# --- revisions, delete, immutability ------------------------------------------------------------------
def test_rule_create_and_delete_bump_the_group_revision(call, demo, group, add):
    rule = created(add, protocol="tcp")
    assert call(demo, "GET", f"{SGS}/{group['id']}")[1]["security_group"]["revision_number"] == 2
    status, body = call(demo, "DELETE", f"{RULES}/{rule['id']}")
    assert (status, body) == (204, None)  # sample 076
    assert call(demo, "GET", f"{SGS}/{group['id']}")[1]["security_group"]["revision_number"] == 3
    assert call(demo, "GET", f"{RULES}/{rule['id']}")[0] == 404


def test_rules_cannot_be_updated(call, demo, add):
    rule = created(add)
    for attr, value in (("direction", "egress"), ("protocol", "tcp"), ("remote_ip_prefix", None)):
        status, body = call(demo, "PUT", f"{RULES}/{rule['id']}", {"security_group_rule": {attr: value}})
        assert status == 400
        assert body["NeutronError"]["message"] == f"Cannot update read-only attribute {attr}"
    # Only description passes Neutron's attribute checks; then there is no update handler.
    for body in ({"description": "x"}, {}):
        status, answer = call(demo, "PUT", f"{RULES}/{rule['id']}", {"security_group_rule": body})
        assert status == 405 and error_type(answer) == "HTTPMethodNotAllowed"
    assert call(demo, "PUT", f"{RULES}/nope", {"security_group_rule": {}})[0] == 404
    assert call(demo, "GET", f"{RULES}/{rule['id']}")[1]["security_group_rule"] == rule


def test_rules_have_no_tags_api(call, demo, add):
    rule = created(add)
    assert call(demo, "GET", f"{RULES}/{rule['id']}/tags")[0] == 404


# --- policy and listing ----------------------------------------------------------------------------
def test_another_projects_group_is_404_for_rule_create(add, alt):
    status, body = add(ctx=alt)
    assert status == 404 and error_type(body) == "SecurityGroupNotFound"


def test_another_projects_rule_is_hidden(call, add, alt):
    rule = created(add)
    for method in ("GET", "DELETE"):
        status, body = call(alt, method, f"{RULES}/{rule['id']}")
        assert status == 404 and error_type(body) == "SecurityGroupRuleNotFound"
    listed = call(alt, "GET", RULES)[1]["security_group_rules"]
    assert rule["id"] not in {r["id"] for r in listed}
    assert {r["project_id"] for r in listed} == {"alt-project"}


def test_reader_sees_but_cannot_change_rules(call, add, reader):
    rule = created(add)
    assert call(reader, "GET", f"{RULES}/{rule['id']}")[0] == 200
    status, body = call(reader, "DELETE", f"{RULES}/{rule['id']}")
    assert status == 403 and error_type(body) == "PolicyNotAuthorized"
    status, body = add(ctx=reader)
    assert status == 403


def test_admin_rule_in_a_members_group_is_the_members_to_see_and_delete(call, admin, demo, group, add):
    rule = created(add, ctx=admin, protocol="tcp")
    assert rule["project_id"] == "admin-project"
    assert rule["id"] in {r["id"] for r in call(demo, "GET", RULES)[1]["security_group_rules"]}
    assert call(demo, "DELETE", f"{RULES}/{rule['id']}")[0] == 204


def test_admin_lists_every_projects_rules(call, admin, alt, add):
    mine = created(add)
    call(alt, "GET", SGS)
    listed = call(admin, "GET", RULES)[1]["security_group_rules"]
    assert mine["id"] in {r["id"] for r in listed}
    assert {"demo-project", "alt-project"} <= {r["project_id"] for r in listed}


def test_rule_filters(call, demo, group, add):
    created(add, protocol="tcp", port_range_min=22, port_range_max=22)
    created(add, protocol="udp", remote_ip_prefix="10.0.0.9/8")

    def ids(query):
        status, body = call(demo, "GET", RULES, query=query)
        assert status == 200, body
        return [(r["direction"], r["protocol"]) for r in body["security_group_rules"]]

    both = [("ingress", "tcp"), ("ingress", "udp")]
    assert sorted(ids([("security_group_id", group["id"]), ("direction", "ingress")])) == both
    assert ids([("security_group_id", group["id"]), ("port_range_min", "22")]) == [("ingress", "tcp")]
    assert ids([("security_group_id", group["id"]), ("normalized_cidr", "10.0.0.0/8")]) == [("ingress", "udp")]
    assert ids([("security_group_id", group["id"]), ("ethertype", "ipv6")]) == [("egress", None)]
    assert len(ids([("belongs_to_default_sg", "true")])) == 4
    assert call(demo, "GET", RULES, query=[("colour", "red")])[0] == 400


def test_rules_of_the_default_group_belong_to_it(call, demo):
    listed = call(demo, "GET", RULES)[1]["security_group_rules"]
    assert len(listed) == 4 and all(r["belongs_to_default_sg"] for r in listed)


def test_rule_list_pages_and_sorts(call, demo, add):
    for port in (10, 20, 30):
        created(add, protocol="tcp", port_range_min=port, port_range_max=port)
    body = call(demo, "GET", RULES, query=[("sort_key", "port_range_min"), ("sort_dir", "desc"), ("limit", "2")])[1]
    assert [r["port_range_min"] for r in body["security_group_rules"]] == [30, 20]
    assert "security_group_rules_links" in body


# --- the duplicate property -------------------------------------------------------------------------
def _equivalent_protocol(protocol: str | None, ethertype: str) -> st.SearchStrategy:
    spellings = {
        None: [None, "any"],
        "tcp": ["tcp", "TCP", "6", 6],
        "udp": ["udp", "Udp", "17", 17],
        "icmp": ["icmp", "1", 1] if ethertype == "IPv4" else ["icmp", "icmpv6", "ipv6-icmp", "58", "1"],
        "gre": ["gre", "47"],
    }
    return st.sampled_from(spellings[protocol])


@st.composite
def rule_and_twin(draw):
    """A valid rule and another spelling of the same rule."""
    ethertype = draw(st.sampled_from(["IPv4", "IPv6"]))
    protocol = draw(st.sampled_from([None, "tcp", "udp", "icmp", "gre"]))
    rule = {"direction": draw(st.sampled_from(["ingress", "egress"])), "ethertype": ethertype, "protocol": protocol}
    twin = {**rule, "ethertype": draw(st.sampled_from([ethertype, ethertype.lower(), ethertype.upper()])),
            "protocol": draw(_equivalent_protocol(protocol, ethertype))}  # fmt: skip
    if protocol in ("tcp", "udp"):
        low = draw(st.integers(1, 65535))
        high = draw(st.integers(low, 65535))
        rule.update(port_range_min=low, port_range_max=high)
        twin.update(port_range_min=str(low), port_range_max=high)
        if (low, high) == (1, 65535) and draw(st.booleans()):
            twin.update(port_range_min=None, port_range_max=None)
    elif protocol == "icmp" and draw(st.booleans()):
        rule.update(port_range_min=draw(st.integers(0, 255)), port_range_max=draw(st.none() | st.integers(0, 255)))
        twin.update(port_range_min=rule["port_range_min"], port_range_max=rule["port_range_max"])
    anything = "0.0.0.0/0" if ethertype == "IPv4" else "::/0"
    remote = draw(st.sampled_from(["any", "host", "net"]))
    if remote == "any":
        rule["remote_ip_prefix"] = draw(st.sampled_from([None, anything]))
        twin["remote_ip_prefix"] = draw(st.sampled_from([None, anything]))
    else:
        host = "10.1.2.3" if ethertype == "IPv4" else "2001:db8::3"
        bits = 32 if ethertype == "IPv4" else 128
        prefix = f"{host}/{draw(st.integers(8, bits))}" if remote == "net" else host
        rule["remote_ip_prefix"] = prefix
        twin["remote_ip_prefix"] = f"{host}/{bits}" if remote == "host" else prefix
    return rule, twin


def _fresh_api():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ticks = itertools.count()
    plane = ControlPlane(clock=lambda: start + timedelta(seconds=next(ticks)))
    return NeutronAPI(plane)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_and_twin())
def test_creating_the_same_rule_again_is_409_with_the_first_rules_id(pair):
    rule, twin = pair
    api = _fresh_api()
    ctx = Context("p", "u", frozenset({"member", "reader"}))
    group = api.handle(ctx, Request("POST", SGS, body={"security_group": {"name": "g"}})).body["security_group"]
    body = {"security_group_rule": {**rule, "security_group_id": group["id"]}}
    try:
        first = api.handle(ctx, Request("POST", RULES, body=body)).body["security_group_rule"]
    except errors.SecurityGroupRuleExists:
        # An egress any-protocol any-remote rule is one of the group's own two egress rules.
        assert rule["direction"] == "egress" and rule["protocol"] is None
        return
    with pytest.raises(errors.SecurityGroupRuleExists) as caught:
        again = {"security_group_rule": {**twin, "security_group_id": group["id"]}}
        api.handle(ctx, Request("POST", RULES, body=again))
    assert caught.value.status == 409
    assert str(caught.value) == f"Security group rule already exists. Rule id is {first['id']}."
