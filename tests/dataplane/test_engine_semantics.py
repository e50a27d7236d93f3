"""Hand-written topologies: every disposition and every rule of docs/semantics.md,
checked on the vectorised engine (``evaluate_flows``) and on the explained trace."""

from __future__ import annotations

import pytest

from topologies import base, query, set_attr, set_groups, variant

from xloudnet.analysis.reachability import reachability
from xloudnet.dataplane import QueryError, compile_tables, evaluate_flows


def verdict(build, q):
    tables = compile_tables(build().snapshot())
    batch = evaluate_flows(tables, [q])[0]
    explained = reachability(tables, q)
    assert explained["disposition"] == batch["disposition"]
    assert (explained["return"] or {}).get("disposition") == batch["return_disposition"]
    return batch["disposition"], batch["return_disposition"]


def add_group_rules(group, *rules):
    def edit(t):
        t.group(group)
        for direction, kw in rules:
            t.rule(group, direction, **kw)
    return edit


def lone_router(t):
    """r2 on n-c (10.0.3.0/24) with a VM, routes to 10.9.0.0/16 ping-ponging with r1."""
    t.network("n-c")
    t.subnet("s-c", "n-c", "10.0.3.0/24")
    t.interface("r1", "s-c", "10.0.3.1")
    t.router("r2", routes=(("10.9.0.0/16", "10.0.3.1"),))
    t.interface("r2", "s-c", "10.0.3.2", id="if-r2-s-c")
    t.routers["r1"]["routes"] = [{"destination": "10.9.0.0/16", "nexthop": "10.0.3.2"}]


CASES = [
    ("basic tcp allowed", variant(), query("vm-a", "vm-b"), ("ACCEPTED", "ACCEPTED")),
    ("no ingress rule", variant(), query("vm-a", "vm-b", destination_port=22), ("DENIED_INGRESS", None)),
    ("protocol number equals name", variant(), query("vm-a", "vm-b", protocol="6", destination_port=80), ("ACCEPTED", "ACCEPTED")),
    ("protocol int", variant(), query("vm-a", "vm-b", protocol=6), ("ACCEPTED", "ACCEPTED")),
    ("udp refused", variant(), query("vm-a", "vm-b", protocol="udp", destination_port=80), ("DENIED_INGRESS", None)),
    ("icmp any type", variant(), query("vm-a", "vm-b", protocol="icmp", icmp_type=13), ("ACCEPTED", "ACCEPTED")),
    ("one-way icmp has no reply", variant(), query("vm-a", "vm-b", protocol="icmp", icmp_type=3, icmp_code=1),
     ("ACCEPTED", None)),
    ("icmp code 0 is a real code",
     variant(set_groups("vm-b", "sg-c"), add_group_rules("sg-c", ("ingress", dict(protocol="icmp", port_min=8, port_max=0)))),
     query("vm-a", "vm-b", protocol="icmp", icmp_type=8, icmp_code=1), ("DENIED_INGRESS", None)),
    ("icmp code 0 matches code 0",
     variant(set_groups("vm-b", "sg-c"), add_group_rules("sg-c", ("ingress", dict(protocol="icmp", port_min=8, port_max=0)),
                                                         ("egress", dict()))),
     query("vm-a", "vm-b", protocol="icmp", icmp_type=8, icmp_code=0), ("ACCEPTED", "ACCEPTED")),
    ("icmp code null matches any code",
     variant(set_groups("vm-b", "sg-c"), add_group_rules("sg-c", ("ingress", dict(protocol="icmp", port_min=8)))),
     query("vm-a", "vm-b", protocol="icmp", icmp_type=8, icmp_code=7), ("ACCEPTED", "ACCEPTED")),
    ("protocol number 0 is any",
     variant(set_groups("vm-b", "sg-c"), add_group_rules("sg-c", ("ingress", dict(protocol="0")))),
     query("vm-a", "vm-b", protocol="gre"), ("ACCEPTED", "ACCEPTED")),
    ("/0 remote prefix matches everything",
     variant(set_groups("vm-b", "sg-c"), add_group_rules("sg-c", ("ingress", dict(protocol="tcp", prefix="0.0.0.0/0")))),
     query("vm-a", "vm-b", destination_port=9999), ("ACCEPTED", "ACCEPTED")),
    ("remote prefix not matching",
     variant(set_groups("vm-b", "sg-c"), add_group_rules("sg-c", ("ingress", dict(protocol="tcp", prefix="10.0.9.0/24")))),
     query("vm-a", "vm-b"), ("DENIED_INGRESS", None)),
    ("remote group member via fixed ip",
     variant(set_groups("vm-b", "sg-c"), add_group_rules("sg-c", ("ingress", dict(protocol="tcp", remote_group="sg-open")))),
     query("vm-a", "vm-b"), ("ACCEPTED", "ACCEPTED")),
    ("remote group member via address pair",
     variant(set_groups("vm-b", "sg-c"), add_group_rules("sg-c", ("ingress", dict(protocol="tcp", remote_group="sg-open"))),
             set_attr("ports", "vm-a", allowed_address_pairs=[{"ip_address": "10.0.1.64/26"}])),
     query({"port_id": "vm-a", "ip_address": "10.0.1.70"}, "vm-b"), ("ACCEPTED", "ACCEPTED")),
    ("remote group non member",
     variant(set_groups("vm-b", "sg-c"), add_group_rules("sg-c", ("ingress", dict(protocol="tcp", remote_group="sg-web")))),
     query("vm-a", "vm-b"), ("DENIED_INGRESS", None)),
    ("/0 pair makes the member match everything",
     variant(set_groups("vm-b", "sg-c"), add_group_rules("sg-c", ("ingress", dict(protocol="tcp", remote_group="sg-x"))),
             lambda t: t.group("sg-x"),
             lambda t: t.port("vm-x", "n-a", ("10.0.1.99",), groups=("sg-x",), pairs=("0.0.0.0/0",))),
     query({"ip_address": "198.51.100.7"}, {"ip_address": "203.0.113.20"}), ("ACCEPTED", "EXITS_NETWORK")),
    ("spoofed source", variant(), query({"port_id": "vm-a", "ip_address": "10.0.1.77"}, "vm-b"), ("SPOOFED", None)),
    ("port security off allows spoofing",
     variant(set_attr("ports", "vm-a", port_security_enabled=False, security_groups=[])),
     query({"port_id": "vm-a", "ip_address": "10.0.1.77"}, "vm-b"), ("ACCEPTED", "NEIGHBOR_UNREACHABLE")),
    ("network port unfiltered",
     variant(lambda t: t.port("dhcp-a", "n-a", ("10.0.1.2",), owner="network:dhcp", security=True)),
     query("vm-b", "dhcp-a", destination_port=67, protocol="udp"), ("ACCEPTED", "ACCEPTED")),
    ("no groups denies egress", variant(set_groups("vm-a")), query("vm-a", "vm-b"), ("DENIED_EGRESS", None)),
    ("stateless reply needs its own rule",
     variant(lambda t: t.security_groups["sg-web"].update(stateful=False)),
     query("vm-a", "vm-b"), ("ACCEPTED", "ACCEPTED")),
    ("stateless reply refused without a rule",
     variant(set_groups("vm-a", "sg-out"), add_group_rules("sg-out", ("egress", dict())),
             lambda t: t.security_groups["sg-out"].update(stateful=False)),
     query("vm-a", "vm-b"), ("ACCEPTED", "DENIED_INGRESS")),
    ("ipv6 icmp is 58", variant(set_groups("vm-b", "sg-open")),
     query("vm-a", {"ip_address": "fd00:a::1"}, protocol="icmp"), ("ACCEPTED", "ACCEPTED")),
    ("ipv6 upstream exits", variant(), query("vm-a", {"ip_address": "2001:db8::9"}, protocol="icmp"),
     ("EXITS_NETWORK", "ACCEPTED")),
    ("fip inbound", variant(), query({"ip_address": "198.51.100.7"}, {"ip_address": "203.0.113.20"}),
     ("ACCEPTED", "EXITS_NETWORK")),
    ("outbound via gateway snat", variant(), query("vm-a", {"ip_address": "8.8.8.8"}), ("EXITS_NETWORK", "ACCEPTED")),
    ("enable_snat false leaves un-NATed and returns",
     variant(lambda t: t.routers["r1"]["external_gateway_info"].update(enable_snat=False)),
     query("vm-a", {"ip_address": "8.8.8.8"}), ("EXITS_NETWORK", "ACCEPTED")),
    ("hairpin through own router", variant(), query("vm-a", {"ip_address": "203.0.113.20"}), ("ACCEPTED", "ACCEPTED")),
    ("external host to tenant space", variant(), query({"ip_address": "198.51.100.7"}, "vm-a"), ("NO_ROUTE", None)),
    ("external unassociated address", variant(), query({"ip_address": "198.51.100.7"}, {"ip_address": "203.0.113.99"}),
     ("NEIGHBOR_UNREACHABLE", None)),
    ("on-link unowned address", variant(), query("vm-a", {"ip_address": "10.0.1.99"}), ("NEIGHBOR_UNREACHABLE", None)),
    ("router answers echo", variant(), query("vm-a", {"ip_address": "10.0.2.1"}, protocol="icmp"), ("ACCEPTED", "ACCEPTED")),
    ("router refuses tcp", variant(), query("vm-a", {"ip_address": "10.0.1.1"}), ("DENIED_INGRESS", None)),
    ("no gateway no route", variant(lambda t: t.subnets["s-a"].update(gateway_ip=None)),
     query("vm-a", "vm-b"), ("NO_ROUTE", None)),
    ("next hop is a VM", variant(lambda t: t.subnets["s-a"].update(gateway_ip="10.0.1.10")),
     query("vm-a", "vm-b"), ("NO_ROUTE", None)),
    ("router loop", variant(lone_router), query("vm-a", {"ip_address": "10.9.1.1"}), ("LOOP", None)),
    ("source port down", variant(set_attr("ports", "vm-a", admin_state_up=False)), query("vm-a", "vm-b"), ("ADMIN_DOWN", None)),
    ("source network down", variant(set_attr("networks", "n-a", admin_state_up=False)), query("vm-a", "vm-b"), ("ADMIN_DOWN", None)),
    ("router down", variant(set_attr("routers", "r1", admin_state_up=False)), query("vm-a", "vm-b"), ("ADMIN_DOWN", None)),
    ("ingress interface down", variant(set_attr("ports", "if-r1-s-a", admin_state_up=False)), query("vm-a", "vm-b"),
     ("ADMIN_DOWN", None)),
    ("egress interface down", variant(set_attr("ports", "if-r1-s-b", admin_state_up=False)), query("vm-a", "vm-b"),
     ("ADMIN_DOWN", None)),
    ("gateway port down", variant(set_attr("ports", "gw-r1", admin_state_up=False)), query("vm-a", {"ip_address": "8.8.8.8"}),
     ("ADMIN_DOWN", None)),
    ("destination network down", variant(set_attr("networks", "n-b", admin_state_up=False)), query("vm-a", "vm-b"),
     ("ADMIN_DOWN", None)),
    ("destination port down", variant(set_attr("ports", "vm-b", admin_state_up=False)), query("vm-a", "vm-b"),
     ("ADMIN_DOWN", None)),
    ("external network down", variant(set_attr("networks", "n-ext", admin_state_up=False)),
     query({"ip_address": "198.51.100.7"}, {"ip_address": "203.0.113.20"}), ("ADMIN_DOWN", None)),
    ("extra route wins at equal prefix", variant(lone_router, lambda t: t.routers["r1"].update(
        routes=[{"destination": "10.0.2.0/24", "nexthop": "10.0.3.2"}])), query("vm-a", "vm-b"), ("NO_ROUTE", None)),
]


@pytest.mark.parametrize("name, build, q, expected", CASES, ids=[c[0] for c in CASES])
def test_semantics_case(name, build, q, expected):
    assert verdict(build, q) == expected


def test_every_disposition_is_produced():
    seen = {expected[0] for _n, _b, _q, expected in CASES}
    assert seen == {"ACCEPTED", "EXITS_NETWORK", "DENIED_EGRESS", "DENIED_INGRESS", "SPOOFED", "NO_ROUTE",
                    "NEIGHBOR_UNREACHABLE", "LOOP", "ADMIN_DOWN"}


def test_fip_hairpin_translations_in_trace():
    tables = compile_tables(base().snapshot())
    answer = reachability(tables, query("vm-a", {"ip_address": "203.0.113.20"}))
    kinds = [h["translation"]["type"] for h in answer["hops"] if "translation" in h]
    assert kinds == ["DNAT", "SNAT"]
    assert answer["delivered_flow"]["destination_ip"] == "10.0.2.10"
    assert answer["delivered_flow"]["source_ip"] == "203.0.113.2"


def test_outbound_snat_uses_own_floating_ip():
    tables = compile_tables(base().snapshot())
    answer = reachability(tables, query("vm-b", {"ip_address": "8.8.8.8"}))
    assert answer["disposition"] == "EXITS_NETWORK"
    assert answer["delivered_flow"]["source_ip"] == "203.0.113.20"


@pytest.mark.parametrize("bad, status", [
    ({"source": {"port_id": "nope"}, "destination": {"port_id": "vm-b"}, "protocol": "tcp", "destination_port": 1}, 404),
    ({"source": {"ip_address": "1.2.3.4"}, "destination": {"ip_address": "5.6.7.8"}, "protocol": "tcp",
      "destination_port": 1}, 400),
    ({"source": {"port_id": "vm-a"}, "destination": {"ip_address": "not-an-ip"}, "protocol": "tcp"}, 400),
    ({"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"}, "protocol": "bogus"}, 400),
    ({"source": {"ip_address": "1.2.3.4", "network_id": "zzz"}, "destination": {"ip_address": "203.0.113.20"},
      "protocol": "tcp", "destination_port": 1}, 404),
])
def test_bad_queries_raise_query_error(bad, status):
    tables = compile_tables(base().snapshot())
    with pytest.raises(QueryError) as err:
        reachability(tables, bad)
    assert err.value.http_status == status


def test_traces_speak_only_the_model_vocabulary():
    from xloudnet.model import Action, Disposition, Stage

    tables = compile_tables(base().snapshot())
    for q in (query("vm-a", {"ip_address": "203.0.113.20"}), query("vm-a", "vm-b")):
        answer = reachability(tables, q)
        hops = answer["hops"] + ((answer.get("return") or {}).get("hops") or [])
        assert hops and answer["disposition"] in set(Disposition)
        assert {h["stage"] for h in hops} <= set(Stage)
        assert {h["action"] for h in hops} <= set(Action)
