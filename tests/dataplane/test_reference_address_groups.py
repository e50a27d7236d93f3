"""Rules whose remote side is an address group (``remote_address_group_id``), pinned on the
reference; ``test_equivalence`` holds the engine to the same cases.

vm-a (10.0.1.10 / fd00:a::10) sends to vm-b (10.0.2.10) through r1, see ``topologies.base``.
"""

import pytest

from reference import reference_reachability
from topologies import assert_case, case, query, variant
from test_reference_security_groups import egr, ing, rules

ACC = "ACCEPTED"
SSH = {"destination_port": 22}


def ag(id, *addresses):
    return lambda t: t.address_group(id, *addresses)


def on_b(*specs, stateful=True):
    return rules("g", *specs, stateful=stateful, members=("vm-b",))


def ssh_from(*addresses, **rule):
    """vm-b admits ssh from the address group holding ``addresses``."""
    return variant(ag("ag", *addresses), on_b(ing(protocol="tcp", port_min=22, port_max=22,
                                                  address_group="ag", **rule)))


CASES = [
    case("address_group_member_cidr_admits", ssh_from("192.0.2.0/24", "10.0.1.0/24"),
         query("vm-a", "vm-b", **SSH), ACC, ACC),
    case("address_group_host_route_admits", ssh_from("10.0.1.10/32"), query("vm-a", "vm-b", **SSH), ACC, ACC),
    case("address_group_host_bits_ignored", ssh_from("10.0.1.77/24"), query("vm-a", "vm-b", **SSH), ACC, ACC),
    case("address_group_without_the_source_denies", ssh_from("10.0.9.0/24", "10.0.1.11/32"),
         query("vm-a", "vm-b", **SSH), "DENIED_INGRESS"),
    case("empty_address_group_matches_nothing", ssh_from(), query("vm-a", "vm-b", **SSH), "DENIED_INGRESS"),
    case("unknown_address_group_matches_nothing", variant(on_b(ing(address_group="ag-gone"))),
         query("vm-a", "vm-b", **SSH), "DENIED_INGRESS"),
    case("address_group_other_family_ignored", ssh_from("fd00:a::/64"), query("vm-a", "vm-b", **SSH),
         "DENIED_INGRESS"),
    case("address_group_ipv6_rule_uses_ipv6_addresses", variant(
        lambda t: t.port("vm-6", "n-a", ("fd00:a::20",), groups=("g",)),
        ag("ag", "10.0.1.0/24", "fd00:a::10/128"),
        rules("g", ing(ethertype="IPv6", address_group="ag"))),
        query("vm-a", "vm-6", "icmp"), ACC, ACC),
    case("address_group_and_prefix_are_both_required", ssh_from("10.0.0.0/8", prefix="10.0.2.0/24"),
         query("vm-a", "vm-b", **SSH), "DENIED_INGRESS"),
    case("address_group_narrowed_by_prefix_admits", ssh_from("10.0.0.0/8", prefix="10.0.1.0/28"),
         query("vm-a", "vm-b", **SSH), ACC, ACC),
    case("address_group_egress_remote_is_destination", variant(
        ag("ag", "10.0.2.10/32"), rules("g", egr(address_group="ag"), ing(), members=("vm-a",))),
        query("vm-a", "vm-b"), ACC, ACC),
    case("address_group_egress_other_destination_denied", variant(
        ag("ag", "10.0.2.11/32"), rules("g", egr(address_group="ag"), ing(), members=("vm-a",))),
        query("vm-a", "vm-b"), "DENIED_EGRESS"),
    case("address_group_ingress_sees_snat_source", variant(
        ag("ag", "203.0.113.2/32"), on_b(ing(address_group="ag"), egr())),
        query("vm-a", {"ip_address": "203.0.113.20"}), ACC, ACC),
    case("address_group_stateless_reply_needs_rule", variant(
        ag("ag", "10.0.1.0/24"), on_b(ing(protocol="tcp", address_group="ag"), stateful=False)),
        query("vm-a", "vm-b"), ACC, "DENIED_EGRESS"),
    case("address_group_stateless_reply_admitted_by_group", variant(
        ag("ag", "10.0.1.0/24"), on_b(ing(protocol="tcp"), egr(address_group="ag"), stateful=False)),
        query("vm-a", "vm-b"), ACC, ACC),
]


@pytest.mark.parametrize("c", CASES, ids=str)
def test_reference_address_group_case(c):
    assert_case(reference_reachability(c.build().snapshot(), c.query), c)
