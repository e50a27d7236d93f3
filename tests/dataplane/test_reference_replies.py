"""Replies: conntrack, stateless groups, reverse NAT, asymmetric paths and ICMP reply types."""

import pytest

from reference import reference_reachability
from topologies import assert_case, base, case, query, set_attr, variant

ACC, EXT = "ACCEPTED", "EXITS_NETWORK"
NET = {"ip_address": "192.0.2.50"}
HOST = {"ip_address": "198.51.100.7"}


def vm(id, network, ips, groups=("sg-open",), **kw):
    return lambda t: t.port(id, network, ips, groups=groups, **kw)


def icmp(kind, code=0, dst="vm-b", src="vm-a"):
    return query(src, dst, "icmp", icmp_type=kind, icmp_code=code)


def only_from_b(t):
    """vm-a admits (as a new packet) only traffic from 10.0.2.0/24."""
    t.group("g-a")
    t.rule("g-a", "egress")
    t.rule("g-a", "ingress", prefix="10.0.2.0/24")
    t.ports["vm-a"]["security_groups"] = ["g-a"]


def r4_asymmetric(snat_enabled):
    """n-b's gateway becomes r4 (10.0.2.254, gateway 203.0.113.4), which reaches 10.0.1.0/24 only
    back through r1's gateway IP: replies from vm-b take a path the request did not."""
    def edit(t):
        t.router("r4", gateway="n-ext", gateway_ips=("203.0.113.4",), enable_snat=snat_enabled,
                 routes=(("10.0.1.0/24", "203.0.113.2"),))
        t.interface("r4", "s-b", "10.0.2.254")
        t.subnets["s-b"]["gateway_ip"] = "10.0.2.254"
    return edit


def r3_on_external(t):
    """A second router r3 with gateway 203.0.113.3 on n-ext and nothing behind it."""
    t.router("r3", gateway="n-ext", gateway_ips=("203.0.113.3",))


CASES = [
    # --- ICMP: only request types that have a reply get one, and it carries code 0
    case("echo_reply_type_0", base, icmp(8), ACC, ACC, return_flow={"icmp_type": 0, "icmp_code": 0}),
    case("echo_any_code_reply_code_0", base, icmp(8, 3), ACC, ACC, return_flow={"icmp_code": 0}),
    *[case(f"icmp_{req}_reply_{rep}", variant(set_attr("ports", "vm-b", security_groups=["sg-open"])),
           icmp(req), ACC, ACC, return_flow={"icmp_type": rep})
      for req, rep in ((13, 14), (15, 16), (17, 18))],
    *[case(f"icmp_{kind}_has_no_reply", base, icmp(kind), ACC, None) for kind in (0, 3, 5, 11, 14)],
    case("icmpv6_echo_reply_129", variant(vm("vm-6", "n-a", ("fd00:a::20",))),
         query("vm-a", "vm-6", "icmp"), ACC, ACC, return_flow={"icmp_type": 129, "protocol": 58}),
    case("icmpv6_other_has_no_reply", variant(vm("vm-6", "n-a", ("fd00:a::20",))),
         query("vm-a", "vm-6", "ipv6-icmp", icmp_type=135), ACC, None),
    case("refused_flow_has_no_reply", base, query("vm-a", "vm-b", destination_port=22),
         "DENIED_INGRESS", None),
    case("udp_reply_swaps_ports", base, query("vm-a", NET, "udp", destination_port=53, source_port=40000),
         EXT, ACC, return_flow={"source_port": 53, "destination_port": 40000}),
    case("default_source_port_49152", base, query("vm-a", "vm-b"), ACC, ACC,
         flow={"source_port": 49152}, return_flow={"destination_port": 49152}),
    # --- conntrack versus new packets at the source
    case("conntrack_admits_reply_without_ingress_rule", variant(only_from_b),
         query("vm-a", NET, destination_port=443), EXT, ACC),
    case("stateless_source_reply_from_internet_needs_rule", variant(
        only_from_b, lambda t: t.security_groups["g-a"].update(stateful=False)),
        query("vm-a", NET, destination_port=443), EXT, "DENIED_INGRESS"),
    case("reply_after_reverse_snat_matches_rule_on_original_address", variant(
        only_from_b, lambda t: t.security_groups["g-a"].update(stateful=False)),
        query("vm-a", "vm-b"), ACC, ACC),
    # --- reverse NAT
    case("reverse_dnat_for_external_host", base, query(HOST, {"ip_address": "203.0.113.20"}), ACC, EXT,
         return_flow={"source_ip": "203.0.113.20", "destination_ip": "198.51.100.7"}),
    case("reverse_hairpin_nat", base, query("vm-a", {"ip_address": "203.0.113.20"}), ACC, ACC,
         return_flow={"source_ip": "203.0.113.20", "destination_ip": "10.0.1.10"}),
    case("un_natted_exit_returns_through_its_gateway", variant(
        lambda t: t.routers["r1"]["external_gateway_info"].update(enable_snat=False)),
        query("vm-a", NET), EXT, ACC, return_flow={"destination_ip": "10.0.1.10"}),
    case("ipv6_exit_returns_through_its_gateway", base,
         query("vm-a", {"ip_address": "2001:db8:1234::5"}), EXT, ACC),
    case("echo_reply_from_other_router_through_snat", variant(r3_on_external),
         query("vm-a", {"ip_address": "203.0.113.3"}, "icmp"), ACC, ACC, delivered_to="router:r3",
         flow={"source_ip": "203.0.113.2"}, return_flow={"source_ip": "203.0.113.3", "destination_ip": "10.0.1.10"}),
    case("ipv6_remote_group_member", variant(
        vm("vm-6", "n-a", ("fd00:a::20",), groups=("g6",)),
        lambda t: t.group("g6"), lambda t: t.rule("g6", "ingress", "IPv6", remote_group="sg-open")),
        query("vm-a", "vm-6", "udp", destination_port=53), ACC, ACC),
    case("ipv6_zero_pair_member_matches_all_ipv6", variant(
        vm("vm-6", "n-a", ("fd00:a::20",), groups=("g6",)), vm("vm-7", "n-a", ("fd00:a::30",), groups=()),
        lambda t: t.ports["vm-a"].update(allowed_address_pairs=[{"ip_address": "::/0"}]),
        lambda t: t.group("g6"), lambda t: t.rule("g6", "ingress", "IPv6", remote_group="sg-open"),
        lambda t: t.ports["vm-7"].update(port_security_enabled=False)),
        query("vm-7", "vm-6", "udp", destination_port=53), ACC, ACC),
    case("router_echo_reply", base, query("vm-a", {"ip_address": "10.0.1.1"}, "icmp"), ACC, ACC),
    # --- asymmetric replies: a router that did not see the request treats the reply as new
    case("asymmetric_reply_snat_breaks_connection", variant(r4_asymmetric(True)),
         query("vm-a", {"ip_address": "203.0.113.20"}), ACC, "DENIED_INGRESS"),
    case("asymmetric_reply_without_snat_matches_connection", variant(r4_asymmetric(False)),
         query("vm-a", {"ip_address": "203.0.113.20"}), ACC, ACC,
         return_flow={"source_ip": "203.0.113.20", "destination_ip": "10.0.1.10"}),
    case("reply_with_changed_addresses_checked_as_new", variant(r4_asymmetric(True)),
         query("vm-a", "vm-b"), ACC, ACC, return_flow={"source_ip": "203.0.113.4"}),
    case("reply_with_changed_addresses_denied_as_new", variant(r4_asymmetric(True), only_from_b),
         query("vm-a", "vm-b"), ACC, "DENIED_INGRESS"),
    case("reply_to_external_via_other_router", variant(r4_asymmetric(True)),
         query(HOST, {"ip_address": "203.0.113.20"}), ACC, EXT,
         return_flow={"source_ip": "203.0.113.4"}),
]


@pytest.mark.parametrize("c", CASES, ids=str)
def test_reply_semantics(c):
    """Each hand-written reply rule of docs/semantics.md holds on the reference."""
    assert_case(reference_reachability(c.build().snapshot(), c.query), c)
