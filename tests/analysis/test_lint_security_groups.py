"""Security-group lint: every finding kind, exact union shadowing, and no false positives."""

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference import Index, Packet, rule_matches
from topologies import Topology
from xloudnet.analysis.lint import KINDS, lint_security_groups


def _cloud(*rules, used=True, extra_groups=()):
    """Group g (used by port vm unless ``used`` is false) with the given rules."""
    t = Topology()
    t.network("n")
    t.subnet("s", "n", "10.0.0.0/24")
    t.group("g")
    for i, spec in enumerate(rules):
        t.rule("g", id=f"r{i}", **spec)
    for gid in extra_groups:
        t.group(gid)
    t.port("vm", "n", ("10.0.0.10",), groups=("g",) if used else ())
    return t


def _lint(t, project_id=None):
    return lint_security_groups(t.snapshot(), project_id)


def _of(result, kind):
    return [(f["rule_id"], f["related"]) for f in result["findings"] if f["kind"] == kind]


def tcp(lo, hi, prefix=None, direction="ingress", **kw):
    return {"direction": direction, "protocol": "tcp", "port_min": lo, "port_max": hi,
            "prefix": prefix, **kw}


CLEAN = (tcp(443, 443, "0.0.0.0/0"), tcp(22, 22, "10.0.0.0/8"), tcp(80, 80, "192.168.0.0/16"),
         {"direction": "egress"}, {"direction": "egress", "ethertype": "IPv6"},
         {"direction": "ingress", "protocol": "icmp", "port_min": 8, "port_max": 0})


def test_clean_policy_has_no_findings():
    result = _lint(_cloud(*CLEAN))
    assert result["findings"] == []
    assert result["summary"] == {kind: 0 for kind in KINDS}


def test_shadowed_by_a_single_rule():
    result = _lint(_cloud(tcp(80, 80, "10.0.0.0/24"), tcp(1, 1024, "10.0.0.0/8")))
    assert _of(result, "shadowed") == [("r0", ["r1"])]


def test_shadowed_only_by_the_union_of_two_port_ranges():
    result = _lint(_cloud(tcp(80, 90, "10.0.0.0/8"), tcp(70, 85, "10.0.0.0/8"), tcp(86, 100, "10.0.0.0/8")))
    assert _of(result, "shadowed") == [("r0", ["r1", "r2"])]
    assert "union" in result["findings"][0]["message"]


def test_shadowed_only_by_the_union_of_two_prefixes():
    result = _lint(_cloud(tcp(22, 22, "10.0.0.0/24"), tcp(20, 22, "10.0.0.0/25"), tcp(22, 30, "10.0.0.128/25")))
    assert _of(result, "shadowed") == [("r0", ["r1", "r2"])]


def test_partial_cover_is_not_shadowed():
    result = _lint(_cloud(tcp(80, 90, "10.0.0.0/8"), tcp(70, 85, "10.0.0.0/8"), tcp(87, 100, "10.0.0.0/8")))
    assert _of(result, "shadowed") == []


def test_no_shadow_across_direction_ethertype_or_group():
    t = _cloud(tcp(80, 80, "10.0.0.0/8"), tcp(1, 1024, "10.0.0.0/8", direction="egress"),
               {"direction": "ingress", "ethertype": "IPv6"})
    t.group("h")
    t.rule("h", "ingress", id="h0")
    t.ports["vm"]["security_groups"].append("h")
    assert _of(_lint(t), "shadowed") == []


def test_icmp_type_code_shadowing():
    result = _lint(_cloud({"direction": "ingress", "protocol": "icmp", "port_min": 8, "port_max": 0,
                           "prefix": "10.0.0.0/8"},
                          {"direction": "ingress", "protocol": "icmp", "port_min": 8, "prefix": "10.0.0.0/8"}))
    assert _of(result, "shadowed") == [("r0", ["r1"])]


def test_any_protocol_shadows_specific_protocols():
    result = _lint(_cloud({"direction": "ingress", "protocol": "gre", "prefix": "10.0.0.0/8"},
                          {"direction": "ingress", "protocol": "icmp", "prefix": "10.0.0.0/8"},
                          {"direction": "ingress", "prefix": "10.0.0.0/8"}))
    assert sorted(_of(result, "shadowed")) == [("r0", ["r2"]), ("r1", ["r2"])]


def test_remote_group_is_shadowed_by_anywhere_but_not_by_a_prefix():
    by_prefix = _cloud(tcp(22, 22, None, remote_group="g"), tcp(22, 22, "10.0.0.0/8"))
    assert _of(_lint(by_prefix), "shadowed") == []
    by_anywhere = _cloud(tcp(22, 22, None, remote_group="g"), tcp(1, 100, "0.0.0.0/0"))
    assert _of(_lint(by_anywhere), "shadowed") == [("r0", ["r1"])]


def test_mutual_cover_reports_a_removable_set():
    """A ⊆ B ∪ C and B ⊆ A ∪ D (C, D themselves uncovered): only one of A, B is reported."""
    result = _lint(_cloud(tcp(10, 12, "10.0.0.0/31"), tcp(11, 13, "10.0.0.0/31"),
                          tcp(10, 10, "10.0.0.0/29"), tcp(13, 13, "10.0.0.0/29")))
    assert _of(result, "shadowed") == [("r0", ["r1", "r2"])]


def test_exact_duplicates_are_redundant():
    result = _lint(_cloud(tcp(80, 80, "10.0.0.0/8"), tcp(80, 80, "10.0.0.0/8")))
    assert _of(result, "redundant") == [("r1", ["r0"])]
    assert _of(result, "shadowed") == []


def test_zero_prefix_equals_null_and_numbers_equal_names():
    result = _lint(_cloud(tcp(80, 80, None), {**tcp(80, 80, "0.0.0.0/0"), "protocol": "6"}))
    assert _of(result, "redundant") == [("r1", ["r0"])]


def test_equal_rules_in_two_groups_on_the_same_ports():
    t = _cloud(tcp(80, 80, "10.0.0.0/8"))
    t.group("h")
    t.rule("h", "ingress", "IPv4", "tcp", 80, 80, "10.0.0.0/8", id="h0")
    t.ports["vm"]["security_groups"].append("h")
    assert _of(_lint(t), "redundant") == [("h0", ["r0"])]


def test_equal_rules_in_groups_on_different_ports_are_not_redundant():
    t = _cloud(tcp(80, 80, "10.0.0.0/8"))
    t.group("h")
    t.rule("h", "ingress", "IPv4", "tcp", 80, 80, "10.0.0.0/8", id="h0")
    t.port("vm2", "n", ("10.0.0.11",), groups=("h",))
    assert _of(_lint(t), "redundant") == []


def test_over_broad_sensitive_ports_from_anywhere():
    result = _lint(_cloud(tcp(22, 22, "0.0.0.0/0"), tcp(3389, 3389, None), tcp(3300, 3310, "::/0", ethertype="IPv6"),
                          tcp(5432, 5432, "10.0.0.0/8"), tcp(22, 22, "0.0.0.0/0", direction="egress")))
    found = {f["rule_id"]: f for f in result["findings"] if f["kind"] == "over_broad"}
    assert sorted(found) == ["r0", "r1", "r2"]
    assert found["r0"]["severity"] == "high" and "ssh" in found["r0"]["message"]
    assert found["r2"]["severity"] == "medium" and "mysql (3306)" in found["r2"]["message"]


def test_over_broad_all_ports_and_all_protocols():
    result = _lint(_cloud({"direction": "ingress", "protocol": "udp"}, {"direction": "ingress"},
                          {"direction": "ingress", "protocol": "icmp"}, {"direction": "ingress", "protocol": "gre"}))
    assert [rid for rid, _ in _of(result, "over_broad")] == ["r0", "r1"]


def test_over_broad_not_for_remote_groups():
    assert _of(_lint(_cloud(tcp(22, 22, None, remote_group="g"))), "over_broad") == []


def test_empty_remote_group():
    t = _cloud(tcp(22, 22, None, remote_group="lonely"), tcp(23, 23, None, remote_group="g"),
               tcp(24, 24, None, remote_group="ghost"), extra_groups=("lonely",))
    found = {f["rule_id"]: f["message"] for f in _lint(t)["findings"] if f["kind"] == "empty_remote_group"}
    assert sorted(found) == ["r0", "r2"]
    assert "no member ports" in found["r0"] and "does not exist" in found["r2"]


def test_unused_group_but_not_default():
    t = _cloud(*CLEAN, extra_groups=("spare",))
    t.group("d", name="default")
    found = [f["security_group_id"] for f in _lint(t)["findings"] if f["kind"] == "unused_group"]
    assert found == ["spare"]
    assert _lint(t)["summary"]["unused_group"] == 1


def test_project_filter():
    t = _cloud(tcp(22, 22, "0.0.0.0/0"))
    t.group("other", project="p2")
    t.rule("other", "ingress", id="o0")
    assert {f["security_group_id"] for f in _lint(t, "p2")["findings"]} == {"other"}
    assert {f["security_group_id"] for f in _lint(t, "p1")["findings"]} == {"g"}
    assert {f["security_group_id"] for f in _lint(t)["findings"]} == {"g", "other"}


# -- property: deleting every reported shadowed / redundant rule changes nothing a port admits

_REMOTES = ("10.0.0.1", "10.0.0.200", "10.1.2.3", "192.168.1.1", "8.8.8.8")
_RANGES = ((None, None), (1, 100), (50, 150), (80, 80), (100, 200), (22, 22))


@st.composite
def _rules(draw):
    protocol = draw(st.sampled_from((None, "tcp", "udp", "6", "icmp")))
    lo, hi = (None, None)
    if protocol in ("tcp", "udp", "6"):
        lo, hi = draw(st.sampled_from(_RANGES))
    elif protocol == "icmp":
        lo, hi = draw(st.sampled_from(((None, None), (8, None), (8, 0), (0, 0))))
    prefix = draw(st.sampled_from((None, "0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/24", "10.0.0.0/25",
                                   "10.0.0.128/25", "192.168.0.0/16")))
    return {"direction": draw(st.sampled_from(("ingress", "egress"))), "protocol": protocol,
            "port_min": lo, "port_max": hi, "prefix": prefix}


def _verdicts(snapshot) -> list[bool]:
    ix = Index(snapshot)
    port = snapshot.ports["vm"]
    out = []
    for remote in _REMOTES:
        addr = ipaddress.ip_address(remote)
        for proto, dport, kind, code in ((6, 80, None, None), (6, 22, None, None), (6, 150, None, None),
                                         (17, 80, None, None), (1, None, 8, 0), (1, None, 8, 1),
                                         (1, None, 0, 0), (47, None, None, None)):
            pkt = Packet(4, addr, addr, proto, 49152, dport, kind, code)
            for direction in ("ingress", "egress"):
                out.append(any(rule_matches(ix, r, direction, pkt, addr) for gid in port["security_groups"]
                               for r in ix.rules[gid]))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_rules(), min_size=1, max_size=8))
def test_removing_reported_rules_keeps_what_the_group_admits(rules):
    t = _cloud(*rules)
    before = _verdicts(t.snapshot())
    result = _lint(t)
    for f in result["findings"]:
        if f["kind"] in ("shadowed", "redundant"):
            del t.security_group_rules[f["rule_id"]]
    assert _verdicts(t.snapshot()) == before


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_rules(), min_size=1, max_size=6), _rules())
def test_a_rule_inside_the_union_is_always_reported(rules, extra):
    """Adding a copy of an existing rule, narrowed, is always flagged (shadowed or redundant)."""
    t = _cloud(*rules)
    base_rule = dict(rules[0])
    if base_rule["protocol"] in ("tcp", "udp", "6") and base_rule["port_min"] is not None:
        base_rule["port_max"] = base_rule["port_min"]
    t.rule("g", id="zz-narrow", **base_rule)
    flagged = {f["rule_id"] for f in _lint(t)["findings"] if f["kind"] in ("shadowed", "redundant")}
    assert "zz-narrow" in flagged or "r0" in flagged
