"""Address scopes (docs/semantics.md §4.8), pinned on the reference.

In ``base()`` r1 joins s-a 10.0.1.0/24 (+ s-a6 fd00:a::/64) and s-b 10.0.2.0/24, its gateway is
203.0.113.2 on n-ext (s-ext, s-ext6), and fip-b 203.0.113.20 → vm-b 10.0.2.10 (sg-web: tcp/80 and
icmp in). ``scoped(...)`` puts subnets in scopes (through subnet pools, as the API does).
"""

import pytest

from reference import reference_reachability
from topologies import assert_case, case, query, set_attr, variant

ACC, EXT, NR = "ACCEPTED", "EXITS_NETWORK", "NO_ROUTE"
NET = {"ip_address": "192.0.2.50"}
NET6 = {"ip_address": "2001:db8:1234::5"}
HOST = {"ip_address": "198.51.100.7"}
FIP_B = {"ip_address": "203.0.113.20"}


def scoped(**subnets):
    """An edit: each named subnet into that scope (None: a pool in no scope)."""
    def edit(t):
        for subnet, scope in subnets.items():
            t.scope(subnet.replace("_", "-"), scope)
    return edit


def no_snat(t):
    t.routers["r1"]["external_gateway_info"]["enable_snat"] = False


def fip_a(t):
    t.fip("fip-a", "n-ext", "203.0.113.10", port="vm-a", router="r1")


CASES = [
    # --- east-west: one scope is routed, two scopes are not
    case("scopes_east_west_across_scopes_is_no_route", variant(scoped(s_a="blue", s_b="red")),
         query("vm-a", "vm-b"), NR),
    case("scopes_east_west_in_one_scope_is_routed", variant(scoped(s_a="blue", s_b="blue")),
         query("vm-a", "vm-b"), ACC, ACC),
    case("scopes_scoped_to_unscoped_is_no_route", variant(scoped(s_a="blue")), query("vm-a", "vm-b"), NR),
    case("scopes_unscoped_pools_share_the_no_scope_scope", variant(scoped(s_a=None)),
         query("vm-a", "vm-b"), ACC, ACC),
    case("scopes_ipv6_across_scopes_is_no_route", variant(
        scoped(s_a6="blue6"), lambda t: t.subnet("s-b6", "n-b", "fd00:b::/64"), scoped(s_b6="red6"),
        lambda t: t.interface("r1", "s-b6"),
        set_attr("ports", "vm-b", fixed_ips=[{"subnet_id": "s-b", "ip_address": "10.0.2.10"},
                                              {"subnet_id": "s-b6", "ip_address": "fd00:b::10"}])),
         query("vm-a", {"ip_address": "fd00:b::10"}, "icmp"), NR),
    # --- the router's own addresses are not forwarded: no scope check
    case("scopes_router_address_in_another_scope_answers_echo", variant(scoped(s_a="blue", s_b="red")),
         query("vm-a", {"ip_address": "10.0.2.1"}, "icmp"), ACC, ACC),
    # --- 1:1 NAT and SNAT at the gateway cross scopes (IPv4)
    case("scopes_floating_ip_hairpin_crosses_scopes", variant(scoped(s_a="blue", s_b="red")),
         query("vm-a", FIP_B), ACC, ACC, flow={"destination_ip": "10.0.2.10", "source_ip": "203.0.113.2"}),
    case("scopes_floating_ip_from_outside_crosses_scopes", variant(scoped(s_b="red", s_ext="blue")),
         query(HOST, FIP_B), ACC, EXT, flow={"destination_ip": "10.0.2.10"}),
    case("scopes_snat_to_the_gateway_crosses_scopes", variant(scoped(s_a="blue")),
         query("vm-a", NET, destination_port=443), EXT, ACC, flow={"source_ip": "203.0.113.2"},
         return_flow={"destination_ip": "10.0.1.10"}),
    case("scopes_leaving_untranslated_into_another_scope_is_no_route", variant(scoped(s_a="blue"), no_snat),
         query("vm-a", NET, destination_port=443), NR),
    case("scopes_ipv6_leaves_only_in_its_own_scope", variant(scoped(s_a6="blue6")),
         query("vm-a", NET6, "icmp"), NR),
    case("scopes_ipv6_in_the_external_scope_leaves", variant(scoped(s_a6="blue6", s_ext6="blue6")),
         query("vm-a", NET6, "icmp"), EXT, ACC),
    # --- the external subnet's own real scope: routed without the default SNAT
    case("scopes_same_scope_as_the_external_subnet_leaves_untranslated", variant(scoped(s_a="blue", s_ext="blue")),
         query("vm-a", NET, destination_port=443), EXT, ACC, flow={"source_ip": "10.0.1.10"},
         return_flow={"destination_ip": "10.0.1.10", "source_ip": "192.0.2.50"}),
    case("scopes_same_scope_with_a_floating_ip_leaves_as_it", variant(scoped(s_a="blue", s_ext="blue"), fip_a),
         query("vm-a", NET, destination_port=443), EXT, ACC, flow={"source_ip": "203.0.113.10"}),
    case("scopes_same_scope_without_snat_leaves_untranslated",
         variant(scoped(s_a="blue", s_ext="blue"), no_snat),
         query("vm-a", NET, destination_port=443), EXT, ACC, flow={"source_ip": "10.0.1.10"}),
    # --- the upstream routes a scope's tenant space to the router that announces it
    case("scopes_external_host_reaches_tenant_space_of_the_external_scope",
         variant(scoped(s_a="blue", s_ext="blue")), query(HOST, "vm-a", "icmp"), ACC, EXT,
         flow={"source_ip": "198.51.100.7", "destination_ip": "10.0.1.10"}, delivered_to="port:vm-a"),
    case("scopes_external_host_cannot_reach_tenant_space_of_another_scope",
         variant(scoped(s_a="blue", s_ext="red")), query(HOST, "vm-a", "icmp"), NR),
    case("scopes_no_scope_is_not_announced", variant(scoped(s_a=None, s_ext=None)),
         query(HOST, "vm-a", "icmp"), NR),
    case("scopes_announced_space_still_meets_security_groups",
         variant(scoped(s_b="blue", s_ext="blue")), query(HOST, "vm-b", destination_port=22), "DENIED_INGRESS"),
    case("scopes_announced_space_behind_a_router_that_is_down",
         variant(scoped(s_a="blue", s_ext="blue"), set_attr("routers", "r1", admin_state_up=False)),
         query(HOST, "vm-a", "icmp"), "ADMIN_DOWN"),
]


@pytest.mark.parametrize("c", CASES, ids=str)
def test_address_scope_semantics(c):
    """Each hand-written address-scope rule of docs/semantics.md holds on the reference."""
    assert_case(reference_reachability(c.build().snapshot(), c.query), c)
