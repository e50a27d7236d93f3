"""L2/L3 forwarding, routers, admin state and loops, pinned on the reference (see ``base()``)."""

import pytest

from reference import reference_reachability
from topologies import assert_case, base, case, query, set_attr, variant

ACC, EXT = "ACCEPTED", "EXITS_NETWORK"
NR, NU, AD = "NO_ROUTE", "NEIGHBOR_UNREACHABLE", "ADMIN_DOWN"


def vm(id, network, ips, groups=("sg-open",), **kw):
    return lambda t: t.port(id, network, ips, groups=groups, **kw)


def net_c(gateway="10.0.3.1", host_routes=()):
    """n-c 10.0.3.0/24 (not on r1) with vm-c 10.0.3.10."""
    def edit(t):
        t.network("n-c")
        t.subnet("s-c", "n-c", "10.0.3.0/24", gateway=gateway, host_routes=host_routes)
        t.port("vm-c", "n-c", ("10.0.3.10",), groups=("sg-open",))
    return edit


def r2(*subnet_ips, routes=(), gateway=None, gateway_ips=(), enable_snat=True):
    """A second router with interfaces (subnet, ip) and optional gateway/routes."""
    def edit(t):
        t.router("r2", gateway=gateway, gateway_ips=gateway_ips, enable_snat=enable_snat,
                 routes=routes)
        for subnet, ip in subnet_ips:
            t.interface("r2", subnet, ip)
    return edit


def r1_routes(*routes):
    return set_attr("routers", "r1", routes=[{"destination": d, "nexthop": h} for d, h in routes])


def net_z():
    """n-z 10.0.9.0/24 behind r2 (r2 on s-a at .254) with vm-z 10.0.9.10."""
    def edit(t):
        t.network("n-z")
        t.subnet("s-z", "n-z", "10.0.9.0/24")
        t.port("vm-z", "n-z", ("10.0.9.10",), groups=("sg-open",))
    return edit


A_TO_Z = query("vm-a", {"ip_address": "10.0.9.10"})

CASES = [
    # --- on-link delivery and owners
    case("on_link_delivery", variant(vm("vm-a2", "n-a", ("10.0.1.11",))), query("vm-a", "vm-a2"),
         ACC, ACC, delivered_to="port:vm-a2"),
    case("on_link_unowned_neighbor_unreachable", base, query("vm-a", {"ip_address": "10.0.1.99"}), NU),
    case("on_link_owner_by_exact_pair", variant(vm("vm-v", "n-a", ("10.0.1.12",), pairs=("10.0.1.50",))),
         query("vm-a", {"ip_address": "10.0.1.50"}), ACC, ACC, delivered_to="port:vm-v"),
    case("on_link_owner_by_pair_cidr", variant(vm("vm-v", "n-a", ("10.0.1.12",), pairs=("10.0.1.128/25",))),
         query("vm-a", {"ip_address": "10.0.1.200"}), ACC, ACC, delivered_to="port:vm-v"),
    case("on_link_fixed_ip_holder_beats_pair", variant(
        vm("vm-a2", "n-a", ("10.0.1.11",)), vm("vm-0", "n-a", ("10.0.1.12",), pairs=("10.0.1.0/24",))),
        query("vm-a", {"ip_address": "10.0.1.11"}), ACC, ACC, delivered_to="port:vm-a2"),
    case("on_link_lowest_port_id_among_pair_holders", variant(
        vm("vm-y", "n-a", ("10.0.1.12",), pairs=("10.0.1.50",)),
        vm("vm-x", "n-a", ("10.0.1.13",), pairs=("10.0.1.48/28",))),
        query("vm-a", {"ip_address": "10.0.1.50"}), ACC, ACC, delivered_to="port:vm-x"),
    case("on_link_admin_down_owner", variant(vm("vm-a2", "n-a", ("10.0.1.11",), admin=False)),
         query("vm-a", "vm-a2"), AD),
    case("off_link_even_if_a_port_on_the_network_holds_it", variant(
        vm("vm-v", "n-a", ("10.0.1.12",), pairs=("10.0.2.0/24",))),
        query("vm-a", "vm-b"), ACC, ACC, delivered_to="port:vm-b"),
    case("destination_port_id_is_first_fixed_ip_of_family", variant(
        vm("vm-a2", "n-a", ("fd00:a::11", "10.0.1.11", "10.0.1.12"))),
        query("vm-a", "vm-a2"), ACC, ACC, flow={"destination_ip": "10.0.1.11", "ethertype": "IPv4"}),
    case("ethertype_ipv6_when_an_end_lacks_ipv4", variant(vm("vm-6", "n-a", ("fd00:a::30",))),
         query("vm-a", "vm-6"), ACC, ACC,
         flow={"ethertype": "IPv6", "source_ip": "fd00:a::10", "destination_ip": "fd00:a::30"}),
    case("explicit_ethertype_ipv6", variant(vm("vm-a2", "n-a", ("10.0.1.11", "fd00:a::11"))),
         query("vm-a", "vm-a2", ethertype="IPv6"), ACC, ACC, flow={"destination_ip": "fd00:a::11"}),
    # --- subnet routing: gateway, host routes
    case("east_west_through_router_no_nat", base, query("vm-a", "vm-b"), ACC, ACC,
         flow={"source_ip": "10.0.1.10", "destination_ip": "10.0.2.10"}, delivered_to="port:vm-b"),
    case("subnet_without_gateway_no_route", variant(net_c(gateway=None)), query("vm-c", "vm-a"), NR),
    case("gateway_held_by_vm_no_route", variant(net_c(), vm("vm-g", "n-c", ("10.0.3.1",))),
         query("vm-c", "vm-a"), NR),
    case("gateway_unowned_no_route", variant(net_c()), query("vm-c", "vm-a"), NR),
    case("host_route_to_router", variant(
        net_c(gateway=None, host_routes=(("10.0.1.0/24", "10.0.3.254"),)),
        r2(("s-c", "10.0.3.254"), ("s-a", "10.0.1.254")),
        set_attr("subnets", "s-a", host_routes=[{"destination": "10.0.3.0/24", "nexthop": "10.0.1.254"}])),
        query("vm-c", "vm-a"), ACC, ACC),
    case("host_route_longest_prefix", variant(
        net_c(gateway=None, host_routes=(("10.0.0.0/16", "10.0.3.77"), ("10.0.1.0/24", "10.0.3.254"))),
        r2(("s-c", "10.0.3.254"), ("s-a", "10.0.1.254"))),
        query("vm-c", "vm-a", "udp", destination_port=53), ACC, EXT),  # reply: vm-a's gateway r1 → internet
    case("host_route_beats_gateway", variant(
        net_c(host_routes=(("10.0.1.0/24", "10.0.3.77"),)), r2(("s-c", "10.0.3.1"), ("s-a", "10.0.1.254"))),
        query("vm-c", "vm-a"), NR),
    case("host_route_ecmp_lowest_next_hop_unowned", variant(
        net_c(gateway=None, host_routes=(("10.0.1.0/24", "10.0.3.254"), ("10.0.1.0/24", "10.0.3.253"))),
        r2(("s-c", "10.0.3.254"), ("s-a", "10.0.1.254"))),
        query("vm-c", "vm-a"), NR),
    case("host_route_ecmp_lowest_next_hop_router", variant(
        net_c(gateway=None, host_routes=(("10.0.1.0/24", "10.0.3.254"), ("10.0.1.0/24", "10.0.3.253"))),
        r2(("s-c", "10.0.3.253"), ("s-a", "10.0.1.254"))),
        query("vm-c", "vm-a", "udp", destination_port=53), ACC, EXT),
    case("spoofed_source_routes_by_first_subnet_of_family", variant(
        set_attr("ports", "vm-a", port_security_enabled=False, security_groups=[])),
        query({"port_id": "vm-a", "ip_address": "192.168.7.7"}, "vm-b"), ACC, EXT),
    # --- router lookup
    case("router_extra_route_wins_at_equal_prefix", variant(
        r2(("s-a", "10.0.1.254")), r1_routes(("10.0.2.0/24", "10.0.1.254"))),
        query("vm-a", "vm-b"), NR),
    case("router_connected_longer_prefix_beats_extra", variant(
        r2(("s-a", "10.0.1.254")), r1_routes(("10.0.0.0/8", "10.0.1.254"))),
        query("vm-a", "vm-b"), ACC, ACC),
    case("router_extra_route_to_second_router", variant(
        net_z(), r2(("s-a", "10.0.1.254"), ("s-z", "10.0.9.1")), r1_routes(("10.0.9.0/24", "10.0.1.254"))),
        query("vm-b", {"ip_address": "10.0.9.10"}), ACC, NR),  # r2 has no way back
    case("router_ecmp_lowest_next_hop", variant(
        net_z(), r2(("s-a", "10.0.1.254"), ("s-z", "10.0.9.1")),
        lambda t: t.router("r3"), lambda t: t.interface("r3", "s-a", "10.0.1.253"),
        r1_routes(("10.0.9.0/24", "10.0.1.254"), ("10.0.9.0/24", "10.0.1.253"))),
        query("vm-b", {"ip_address": "10.0.9.10"}), NR),
    case("router_next_hop_is_a_vm", variant(r1_routes(("10.0.9.0/24", "10.0.1.10"))),
         query("vm-b", {"ip_address": "10.0.9.10"}), NR),
    case("router_next_hop_nobody", variant(r1_routes(("10.0.9.0/24", "10.0.1.99"))),
         query("vm-b", {"ip_address": "10.0.9.10"}), NR),
    case("router_without_gateway_no_default", variant(set_attr("routers", "r1", external_gateway_info=None),
                                                      lambda t: t.ports.pop("gw-r1")),
         query("vm-a", {"ip_address": "192.0.2.50"}), NR),
    case("routing_loop", variant(
        r2(("s-a", "10.0.1.254"), routes=(("10.0.9.0/24", "10.0.1.1"),)),
        r1_routes(("10.0.9.0/24", "10.0.1.254"))), query("vm-b", {"ip_address": "10.0.9.10"}), "LOOP"),
    # --- router-local addresses
    case("router_interface_answers_ping", base, query("vm-a", {"ip_address": "10.0.1.1"}, "icmp"),
         ACC, ACC, delivered_to="router:r1", return_flow={"icmp_type": 0, "source_ip": "10.0.1.1"}),
    case("router_answers_echo_any_code", base,
         query("vm-a", {"ip_address": "10.0.1.1"}, "icmp", icmp_code=7), ACC, ACC,
         return_flow={"icmp_code": 0}),
    case("router_drops_other_icmp", base,
         query("vm-a", {"ip_address": "10.0.1.1"}, "icmp", icmp_type=13), "DENIED_INGRESS"),
    case("router_runs_no_services", base, query("vm-a", {"ip_address": "10.0.1.1"}, destination_port=22),
         "DENIED_INGRESS"),
    case("router_far_interface_answers_ping", base, query("vm-a", {"ip_address": "10.0.2.1"}, "icmp"),
         ACC, ACC, delivered_to="router:r1"),
    case("router_gateway_ip_answers_ping", base, query("vm-a", {"ip_address": "203.0.113.2"}, "icmp"),
         ACC, ACC, flow={"source_ip": "10.0.1.10"}),
    case("router_port_as_destination", base, query("vm-a", "if-r1-s-b", "icmp"), ACC, ACC),
    case("router_ipv6_interface_answers_ping6", base,
         query("vm-a", {"ip_address": "fd00:a::1"}, "icmp"), ACC, ACC, return_flow={"icmp_type": 129}),
    case("router_admin_down_port_holding_destination", variant(
        set_attr("ports", "if-r1-s-b", admin_state_up=False)),
        query("vm-a", {"ip_address": "10.0.2.1"}, "icmp"), AD),
    case("other_router_interface_answers_ping", variant(r2(("s-a", "10.0.1.254"))),
         query("vm-b", {"ip_address": "10.0.1.254"}, "icmp"), ACC, NR, delivered_to="router:r2"),
    case("other_router_interface_ping_with_way_back", variant(r2(("s-a", "10.0.1.254"))),
         query("vm-a", {"ip_address": "10.0.1.254"}, "icmp"), ACC, ACC, delivered_to="router:r2"),
    # --- admin state anywhere on the path
    case("admin_down_source_port", variant(set_attr("ports", "vm-a", admin_state_up=False)),
         query("vm-a", "vm-b"), AD),
    case("admin_down_source_network", variant(set_attr("networks", "n-a", admin_state_up=False)),
         query("vm-a", "vm-b"), AD),
    case("admin_down_before_spoofing", variant(set_attr("ports", "vm-a", admin_state_up=False)),
         query({"port_id": "vm-a", "ip_address": "10.0.1.99"}, "vm-b"), AD),
    case("admin_down_router", variant(set_attr("routers", "r1", admin_state_up=False)),
         query("vm-a", "vm-b"), AD),
    case("admin_down_incoming_interface", variant(set_attr("ports", "if-r1-s-a", admin_state_up=False)),
         query("vm-a", "vm-b"), AD),
    case("admin_down_outgoing_interface", variant(set_attr("ports", "if-r1-s-b", admin_state_up=False)),
         query("vm-a", "vm-b"), AD),
    case("admin_down_destination_network", variant(set_attr("networks", "n-b", admin_state_up=False)),
         query("vm-a", "vm-b"), AD),
    case("admin_down_destination_port", variant(set_attr("ports", "vm-b", admin_state_up=False)),
         query("vm-a", "vm-b", destination_port=22), AD),
    case("admin_down_gateway_port", variant(set_attr("ports", "gw-r1", admin_state_up=False)),
         query("vm-a", {"ip_address": "192.0.2.50"}), AD),
    case("admin_down_external_network", variant(set_attr("networks", "n-ext", admin_state_up=False)),
         query("vm-a", {"ip_address": "192.0.2.50"}), AD),
    case("status_down_does_not_matter", variant(set_attr("ports", "vm-b", status="DOWN")),
         query("vm-a", "vm-b"), ACC, ACC),
]


@pytest.mark.parametrize("c", CASES, ids=str)
def test_forwarding_semantics(c):
    """Each hand-written forwarding rule of docs/semantics.md holds on the reference."""
    assert_case(reference_reachability(c.build().snapshot(), c.query), c)
