"""Lint of rules naming address groups: empty groups, shadowing and redundancy with the
group's prefixes, over-broad groups; and deleting what it reports changes nothing admitted."""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference import Index, Packet, rule_matches
from test_lint_security_groups import _cloud, _lint, _of, tcp


def _with_groups(*rules, **groups):
    t = _cloud(*rules)
    for agid, addresses in groups.items():
        t.address_group(agid, *addresses)
    return t


def test_rule_naming_an_empty_address_group_matches_nothing():
    t = _with_groups(tcp(22, 22, address_group="empty"), tcp(80, 80, address_group="v6only"),
                     tcp(443, 443, address_group="gone"), empty=(), v6only=("fd00::/64",))
    found = {f["rule_id"]: f["message"] for f in _lint(t)["findings"] if f["kind"] == "empty_address_group"}
    assert set(found) == {"r0", "r1", "r2"}
    assert "has no IPv4 address" in found["r1"] and "does not exist" in found["r2"]
    assert _lint(t)["summary"]["empty_address_group"] == 3


def test_address_group_rule_inside_a_prefix_rule_is_shadowed():
    t = _with_groups(tcp(22, 22, address_group="ops"), tcp(1, 1024, "10.0.0.0/8"),
                     ops=("10.1.0.0/16", "10.2.3.4/32"))
    assert _of(_lint(t), "shadowed") == [("r0", ["r1"])]


def test_address_group_rule_partly_outside_is_not_shadowed():
    t = _with_groups(tcp(22, 22, address_group="ops"), tcp(1, 1024, "10.0.0.0/8"),
                     ops=("10.1.0.0/16", "192.168.0.0/24"))
    assert _of(_lint(t), "shadowed") == []


def test_address_group_covered_by_the_union_of_two_prefix_rules():
    t = _with_groups(tcp(22, 22, address_group="ops"), tcp(22, 22, "10.0.0.0/8"), tcp(22, 22, "192.168.0.0/16"),
                     ops=("10.1.0.0/16", "192.168.7.0/24"))
    assert _of(_lint(t), "shadowed") == [("r0", ["r1", "r2"])]


def test_prefix_rule_shadowed_by_an_address_group_rule():
    t = _with_groups(tcp(80, 80, "10.1.2.0/24"), tcp(1, 1024, address_group="ops"), ops=("10.1.0.0/16", "fd00::/64"))
    assert _of(_lint(t), "shadowed") == [("r0", ["r1"])]


def test_two_rules_naming_groups_with_the_same_addresses_are_redundant():
    t = _with_groups(tcp(22, 22, address_group="a"), tcp(22, 22, address_group="b"),
                     a=("10.0.0.0/24", "10.9.0.0/16"), b=("10.9.0.0/16", "10.0.0.7/24"))
    assert _of(_lint(t), "redundant") == [("r1", ["r0"])]


def test_address_group_holding_everything_is_over_broad():
    t = _with_groups(tcp(22, 22, address_group="all"), tcp(3389, 3389, address_group="some"),
                     all=("10.0.0.0/8", "0.0.0.0/0"), some=("10.0.0.0/8",))
    found = {f["rule_id"]: f for f in _lint(t)["findings"] if f["kind"] == "over_broad"}
    assert set(found) == {"r0"} and found["r0"]["severity"] == "high"
    assert "address group all" in found["r0"]["message"]


# -- property: deleting every reported shadowed / redundant rule changes nothing admitted ----------

_REMOTES = ("10.0.0.1", "10.0.0.200", "10.1.2.3", "192.168.1.1", "8.8.8.8")
_GROUPS = {"ag-a": ("10.0.0.0/25", "192.168.0.0/16"), "ag-b": ("10.0.0.0/24",), "ag-c": (),
           "ag-d": ("0.0.0.0/0",), "ag-e": ("10.0.0.128/25", "10.1.0.0/16", "fd00::/64")}


@st.composite
def _rules(draw):
    protocol = draw(st.sampled_from((None, "tcp", "udp")))
    lo, hi = draw(st.sampled_from(((None, None), (1, 100), (80, 80), (22, 22)))) if protocol else (None, None)
    remote = draw(st.sampled_from((None, "0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/25", "192.168.0.0/16",
                                   *sorted(_GROUPS))))
    rule = {"direction": draw(st.sampled_from(("ingress", "egress"))), "protocol": protocol,
            "port_min": lo, "port_max": hi}
    if remote in _GROUPS:
        rule["address_group"] = remote
    else:
        rule["prefix"] = remote
    return rule


def _verdicts(snapshot) -> list[bool]:
    ix = Index(snapshot)
    out = []
    for remote in _REMOTES:
        addr = ipaddress.ip_address(remote)
        for proto, dport in ((6, 80), (6, 22), (6, 150), (17, 80), (1, None)):
            pkt = Packet(4, addr, addr, proto, 49152, dport, 8 if proto == 1 else None, 0 if proto == 1 else None)
            for direction in ("ingress", "egress"):
                out.append(any(rule_matches(ix, r, direction, pkt, addr) for r in ix.rules["g"]))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_rules(), min_size=1, max_size=8))
def test_removing_reported_rules_keeps_what_the_group_admits(rules):
    t = _with_groups(*rules, **_GROUPS)
    before = _verdicts(t.snapshot())
    for f in _lint(t)["findings"]:
        if f["kind"] in ("shadowed", "redundant", "empty_address_group"):
            del t.security_group_rules[f["rule_id"]]
    assert _verdicts(t.snapshot()) == before


# -- sgtest names the address-group rule that admits a flow -------------------------------------

def test_sgtest_reports_the_address_group_rule_that_matches():
    from topologies import base
    from xloudnet.analysis.sgtest import test_security_groups as sg_test

    t = base()
    t.address_group("ops", "10.0.1.0/28", "fd00:a::/64")
    t.group("g")
    t.rule("g", "ingress", protocol="tcp", port_min=22, port_max=22, address_group="ops", id="ssh-from-ops")
    t.ports["vm-b"]["security_groups"] = ["g"]
    snapshot = t.snapshot()
    query = {"port_id": "vm-b", "direction": "ingress", "protocol": "tcp", "destination_port": 22}
    inside = sg_test(snapshot, {**query, "remote_ip_address": "10.0.1.10"})
    assert inside["verdict"] == "PERMIT"
    assert [(r["rule_id"], r["remote_address_group_id"]) for r in inside["matching_rules"]] == [("ssh-from-ops", "ops")]
    assert sg_test(snapshot, {**query, "remote_ip_address": "10.0.1.20"})["verdict"] == "DENY"
