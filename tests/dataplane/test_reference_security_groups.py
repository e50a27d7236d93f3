"""Security-group rules, anti-spoofing and port security, pinned on the reference.

Most cases send from vm-a (10.0.1.10, sg-open) to vm-b (10.0.2.10, sg-web: ingress tcp/80 and
icmp, egress all) through r1 (east-west, no NAT); see ``topologies.base``.
"""

import pytest

from reference import reference_reachability
from topologies import assert_case, base, case, query, set_attr, set_groups, variant

ACC, EXT = "ACCEPTED", "EXITS_NETWORK"


def rules(group, *specs, stateful=True, members=()):
    """An edit: a fresh group with rules (dicts of Topology.rule kwargs), set on ``members``."""
    def edit(t):
        t.group(group, stateful=stateful)
        for spec in specs:
            t.rule(group, **spec)
        for port in members:
            t.ports[port]["security_groups"] = [group]
    return edit


def shared_group(group, *specs, members=()):
    """An edit: a group owned by another project (shared by RBAC), with rules, on ``members``
    (ports of the topology's own project)."""
    def edit(t):
        t.group(group, project="p-owner")
        for spec in specs:
            t.rule(group, **spec)
        for port in members:
            t.ports[port]["security_groups"] = [group]
    return edit


def ing(**kw):
    return {"direction": "ingress", **kw}


def egr(**kw):
    return {"direction": "egress", **kw}


def vm(id, network, ips, groups=("sg-open",), **kw):
    return lambda t: t.port(id, network, ips, groups=groups, **kw)


def on_b(*specs, stateful=True):
    return variant(rules("g", *specs, stateful=stateful, members=("vm-b",)))


CASES = [
    # --- default deny, both directions
    case("egress_default_deny", variant(rules("g", ing(), members=("vm-a",))),
         query("vm-a", "vm-b"), "DENIED_EGRESS"),
    case("ingress_default_deny", base, query("vm-a", "vm-b", destination_port=22), "DENIED_INGRESS"),
    case("ingress_tcp_80_permits", base, query("vm-a", "vm-b"), ACC, ACC),
    case("group_without_rules_denies", variant(rules("g", members=("vm-b",))),
         query("vm-a", "vm-b"), "DENIED_INGRESS"),
    case("union_of_groups_permits", variant(
        rules("g22", ing(protocol="tcp", port_min=22, port_max=22)),
        set_groups("vm-b", "sg-web", "g22")), query("vm-a", "vm-b", destination_port=22), ACC, ACC),
    # --- protocols: names, numbers, any
    case("rule_protocol_number_string_matches_tcp",
         on_b(ing(protocol="6", port_min=443, port_max=443)),
         query("vm-a", "vm-b", destination_port=443), ACC, ACC),
    case("query_protocol_number_matches_rule_name", base,
         query("vm-a", "vm-b", protocol=6, destination_port=80), ACC, ACC),
    case("tcp_rule_does_not_admit_udp", base, query("vm-a", "vm-b", "udp"), "DENIED_INGRESS"),
    case("null_protocol_admits_gre", on_b(ing()), query("vm-a", "vm-b", 47), ACC, ACC),
    case("any_protocol_admits_gre", on_b(ing(protocol="any")), query("vm-a", "vm-b", 47), ACC, ACC),
    case("zero_protocol_admits_gre", on_b(ing(protocol="0")), query("vm-a", "vm-b", 47), ACC, ACC),
    case("sctp_port_range", on_b(ing(protocol="sctp", port_min=3868, port_max=3868)),
         query("vm-a", "vm-b", "sctp", destination_port=3868), ACC, ACC),
    case("udplite_number_port_range", on_b(ing(protocol="136", port_min=5000, port_max=5001)),
         query("vm-a", "vm-b", 136, destination_port=5002), "DENIED_INGRESS"),
    case("other_protocol_ignores_ports", on_b(ing(protocol="gre")),
         query("vm-a", "vm-b", "gre"), ACC, ACC),
    # --- port ranges are inclusive
    *[case(f"port_range_8000_8080_port_{p}", on_b(ing(protocol="tcp", port_min=8000, port_max=8080)),
           query("vm-a", "vm-b", destination_port=p), d, r)
      for p, d, r in ((7999, "DENIED_INGRESS", None), (8000, ACC, ACC), (8080, ACC, ACC),
                      (8081, "DENIED_INGRESS", None))],
    # --- ICMP type = port_range_min, code = port_range_max, code 0 is a real code
    case("icmp_type8_code0_admits_echo", on_b(ing(protocol="icmp", port_min=8, port_max=0)),
         query("vm-a", "vm-b", "icmp"), ACC, ACC),
    case("icmp_code0_is_a_real_code", on_b(ing(protocol="icmp", port_min=8, port_max=0)),
         query("vm-a", "vm-b", "icmp", icmp_type=8, icmp_code=1), "DENIED_INGRESS"),
    case("icmp_type_without_code_admits_any_code", on_b(ing(protocol="icmp", port_min=8)),
         query("vm-a", "vm-b", "icmp", icmp_type=8, icmp_code=5), ACC, ACC),
    case("icmp_type_mismatch", on_b(ing(protocol="icmp", port_min=13)),
         query("vm-a", "vm-b", "icmp"), "DENIED_INGRESS"),
    case("icmp_number_1_rule", on_b(ing(protocol="1", port_min=3, port_max=4)),
         query("vm-a", "vm-b", "icmp", icmp_type=3, icmp_code=4), ACC),
    # --- IPv6: ethertype, icmp → 58
    case("ipv6_rule_icmp_means_58", variant(
        vm("vm-6", "n-a", ("fd00:a::20",), groups=()),
        rules("g6", ing(ethertype="IPv6", protocol="icmp"), members=("vm-6",))),
        query("vm-a", "vm-6", "icmp"), ACC, ACC, flow={"protocol": 58, "icmp_type": 128}),
    case("ipv6_rule_58_number", variant(
        vm("vm-6", "n-a", ("fd00:a::20",), groups=()),
        rules("g6", ing(ethertype="IPv6", protocol="58", port_min=128), members=("vm-6",))),
        query("vm-a", "vm-6", "ipv6-icmp"), ACC, ACC),
    case("ipv4_rule_does_not_admit_ipv6", variant(
        vm("vm-6", "n-a", ("10.0.1.20", "fd00:a::20"), groups=()),
        rules("g4", ing(), members=("vm-6",))),
        query("vm-a", "vm-6", "icmp", ethertype="IPv6"), "DENIED_INGRESS"),
    # --- remotes: prefix (host bits kept), groups (fixed IPs, pair CIDRs, /0 pair), empty group
    case("remote_prefix_admits", on_b(ing(protocol="tcp", port_min=22, port_max=22, prefix="10.0.1.0/24")),
         query("vm-a", "vm-b", destination_port=22), ACC, ACC),
    case("remote_prefix_host_bits_kept", on_b(ing(prefix="10.0.1.99/24")),
         query("vm-a", "vm-b", destination_port=22), ACC, ACC),
    case("remote_prefix_excludes", on_b(ing(prefix="10.0.9.0/24")),
         query("vm-a", "vm-b", destination_port=22), "DENIED_INGRESS"),
    case("remote_prefix_zero_matches_all", on_b(ing(prefix="0.0.0.0/0")),
         query("vm-a", "vm-b", destination_port=22), ACC, ACC),
    case("remote_group_member_fixed_ip", on_b(ing(remote_group="sg-open")),
         query("vm-a", "vm-b", destination_port=22), ACC, ACC),
    case("remote_group_non_member", variant(
        rules("g", ing(remote_group="g-other"), members=("vm-b",)), lambda t: t.open_group("g-other")),
        query("vm-a", "vm-b", destination_port=22), "DENIED_INGRESS"),
    case("remote_group_member_pair_cidr", variant(
        lambda t: t.open_group("g-m"), vm("vm-m", "n-b", ("10.0.2.30",), groups=("g-m",),
                                         pairs=("10.0.1.0/28",)),
        rules("g", ing(remote_group="g-m"), members=("vm-b",))),
        query("vm-a", "vm-b", destination_port=22), ACC, ACC),
    case("remote_group_member_pair_cidr_excludes", variant(
        lambda t: t.open_group("g-m"), vm("vm-m", "n-b", ("10.0.2.30",), groups=("g-m",),
                                         pairs=("10.0.1.16/28",)),
        rules("g", ing(remote_group="g-m"), members=("vm-b",))),
        query("vm-a", "vm-b", destination_port=22), "DENIED_INGRESS"),
    case("remote_group_member_zero_pair_matches_all", variant(
        lambda t: t.open_group("g-m"), vm("vm-m", "n-b", ("10.0.2.30",), groups=("g-m",),
                                         pairs=("0.0.0.0/0",)),
        rules("g", ing(remote_group="g-m"), members=("vm-b",))),
        query("vm-a", "vm-b", destination_port=22), ACC, ACC),
    case("empty_remote_group_matches_nothing", variant(
        lambda t: t.group("g-empty"), rules("g", ing(remote_group="g-empty"), members=("vm-b",))),
        query("vm-a", "vm-b", destination_port=22), "DENIED_INGRESS"),
    # --- which address a rule's remote is compared with
    case("egress_remote_is_destination_as_sent", variant(
        rules("g", egr(prefix="203.0.113.0/24"), ing(), members=("vm-a",))),
        query("vm-a", {"ip_address": "203.0.113.20"}), ACC, ACC),
    case("egress_remote_fixed_ip_not_admitted", variant(
        rules("g", egr(prefix="203.0.113.0/24"), ing(), members=("vm-a",))),
        query("vm-a", "vm-b"), "DENIED_EGRESS"),
    case("ingress_remote_is_source_after_snat", on_b(ing(prefix="203.0.113.2/32"), egr()),
         query("vm-a", {"ip_address": "203.0.113.20"}), ACC, ACC,
         flow={"source_ip": "203.0.113.2", "destination_ip": "10.0.2.10"}),
    case("ingress_remote_not_pre_nat_source", on_b(ing(prefix="10.0.1.0/24"), egr()),
         query("vm-a", {"ip_address": "203.0.113.20"}), "DENIED_INGRESS"),
    case("ingress_remote_external_host", on_b(ing(prefix="198.51.100.0/24"), egr()),
         query({"ip_address": "198.51.100.7"}, {"ip_address": "203.0.113.20"}), ACC, EXT),
    # --- anti-spoofing
    case("spoofed_source", base, query({"port_id": "vm-a", "ip_address": "10.0.1.99"}, "vm-b"),
         "SPOOFED"),
    case("pair_exact_address_not_spoofed", variant(set_attr(
        "ports", "vm-a", allowed_address_pairs=[{"ip_address": "10.0.1.99"}])),
        query({"port_id": "vm-a", "ip_address": "10.0.1.99"}, "vm-b"), ACC, ACC,
        flow={"source_ip": "10.0.1.99"}),
    case("pair_cidr_not_spoofed", variant(set_attr(
        "ports", "vm-a", allowed_address_pairs=[{"ip_address": "10.0.1.64/26"}])),
        query({"port_id": "vm-a", "ip_address": "10.0.1.99"}, "vm-b"), ACC, ACC),
    case("pair_cidr_outside_spoofed", variant(set_attr(
        "ports", "vm-a", allowed_address_pairs=[{"ip_address": "10.0.1.128/26"}])),
        query({"port_id": "vm-a", "ip_address": "10.0.1.99"}, "vm-b"), "SPOOFED"),
    case("spoofing_checked_before_egress_rules", variant(rules("g", members=("vm-a",))),
         query({"port_id": "vm-a", "ip_address": "10.0.1.99"}, "vm-b"), "SPOOFED"),
    # --- port security off and trusted network:* ports are unfiltered
    # The reply goes to the spoofed address, which nobody holds.
    case("port_security_off_source_may_spoof", variant(
        set_attr("ports", "vm-a", port_security_enabled=False, security_groups=[])),
        query({"port_id": "vm-a", "ip_address": "10.0.1.99"}, "vm-b"), ACC, "NEIGHBOR_UNREACHABLE"),
    case("port_security_off_destination_unfiltered", variant(
        set_attr("ports", "vm-b", port_security_enabled=False, security_groups=[])),
        query("vm-a", "vm-b", destination_port=5432), ACC, ACC),
    case("port_security_off_source_no_egress_rules", variant(
        set_attr("ports", "vm-a", port_security_enabled=False, security_groups=[]),
        set_groups("vm-b", "sg-open")), query("vm-a", "vm-b", 47), ACC, ACC),
    case("dhcp_port_destination_unfiltered", variant(vm(
        "dhcp-a", "n-a", ("10.0.1.2",), groups=(), owner="network:dhcp")),
        query("vm-a", "dhcp-a", "udp", destination_port=67), ACC, ACC),
    case("dhcp_port_source_unfiltered", variant(vm(
        "dhcp-a", "n-a", ("10.0.1.2",), groups=(), owner="network:dhcp")),
        query({"port_id": "dhcp-a", "ip_address": "10.0.1.77"}, "vm-a", "udp", destination_port=68),
        ACC, "NEIGHBOR_UNREACHABLE"),
    case("dhcp_port_source_fixed_ip", variant(vm(
        "dhcp-a", "n-a", ("10.0.1.2",), groups=(), owner="network:dhcp")),
        query("dhcp-a", "vm-a", "udp", destination_port=68), ACC, ACC),
    # --- stateless groups: replies need their own rules
    case("stateless_destination_reply_needs_egress_rule",
         on_b(ing(protocol="tcp", port_min=80, port_max=80), stateful=False),
         query("vm-a", "vm-b"), ACC, "DENIED_EGRESS"),
    case("stateless_destination_reply_with_egress_rule",
         on_b(ing(protocol="tcp", port_min=80, port_max=80), egr(protocol="tcp"), stateful=False),
         query("vm-a", "vm-b"), ACC, ACC),
    case("stateless_source_reply_needs_ingress_rule",
         variant(rules("g", egr(), stateful=False, members=("vm-a",))),
         query("vm-a", "vm-b"), ACC, "DENIED_INGRESS"),
    case("stateless_source_reply_with_ingress_rule",
         variant(rules("g", egr(), ing(protocol="tcp", prefix="10.0.2.0/24"), stateful=False,
                       members=("vm-a",))),
         query("vm-a", "vm-b"), ACC, ACC),
    case("stateless_reply_icmp_echo_reply_type", variant(
        rules("g", egr(), ing(protocol="icmp", port_min=0, port_max=0), stateful=False,
              members=("vm-a",))),
        query("vm-a", "vm-b", "icmp"), ACC, ACC, return_flow={"icmp_type": 0, "icmp_code": 0}),
    # --- groups shared by RBAC (rbac-security-groups): ownership never changes what a rule does
    case("group_of_another_project_filters_the_port_using_it", variant(
        shared_group("g-shared", ing(protocol="tcp", port_min=22, port_max=22), members=("vm-b",))),
        query("vm-a", "vm-b", destination_port=22), ACC, ACC),
    case("group_of_another_project_denies_what_it_lacks", variant(
        shared_group("g-shared", ing(protocol="tcp", port_min=22, port_max=22), members=("vm-b",))),
        query("vm-a", "vm-b", destination_port=80), "DENIED_INGRESS"),
    case("remote_group_of_another_project_counts_members_of_every_project", variant(
        shared_group("g-shared", members=("vm-a",)),
        rules("g", ing(protocol="tcp", remote_group="g-shared"), members=("vm-b",))),
        query("vm-a", "vm-b", destination_port=22), "DENIED_EGRESS"),
    case("remote_group_of_another_project_admits_its_member", variant(
        shared_group("g-shared", egr(), members=("vm-a",)),
        rules("g", ing(protocol="tcp", remote_group="g-shared"), members=("vm-b",))),
        query("vm-a", "vm-b", destination_port=22), ACC, ACC),
]


@pytest.mark.parametrize("c", CASES, ids=str)
def test_security_group_semantics(c):
    """Each hand-written security-group rule of docs/semantics.md holds on the reference."""
    assert_case(reference_reachability(c.build().snapshot(), c.query), c)
