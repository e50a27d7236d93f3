"""An independent third reading of the data-plane semantics (docs/semantics.md), pinned on BOTH sides.

Each case states the semantics' answer and is checked on the per-packet reference and on the
engine (``reachability`` with its trace, and ``evaluate_flows`` as a batch). The first group
records a divergence the review found (both implementations shared it); the rest pin easy-to-misread
rules that were checked and found right, so that a later change cannot silently drift from them.
Topology: ``base()`` in ``topologies.py`` (r1 gateway 203.0.113.2 on n-ext, upstream 203.0.113.1,
fip-b 203.0.113.20 → vm-b 10.0.2.10).
"""

import pytest

from reference import reference_reachability
from test_equivalence import engine_answer
from topologies import assert_case, base, case, query, set_attr, variant
from xloudnet.dataplane import compile_tables, evaluate_flows

ACC, EXT, DI = "ACCEPTED", "EXITS_NETWORK", "DENIED_INGRESS"
NR, NU, AD = "NO_ROUTE", "NEIGHBOR_UNREACHABLE", "ADMIN_DOWN"
HOST = {"ip_address": "198.51.100.7"}
R1_IF_A = {"ip_address": "10.0.1.1"}


def vm(id, network, ips, groups=("sg-open",), **kw):
    return lambda t: t.port(id, network, ips, groups=groups, **kw)


def r1_routes(*routes):
    return set_attr("routers", "r1", routes=[{"destination": d, "nexthop": h} for d, h in routes])


def net_z_behind_r2_gateway(t):
    """r2 with a gateway 203.0.113.3 on n-ext and n-z 10.0.9.0/24 (vm-z 10.0.9.10) behind it."""
    t.router("r2", gateway="n-ext", gateway_ips=("203.0.113.3",))
    t.network("n-z")
    t.subnet("s-z", "n-z", "10.0.9.0/24")
    t.interface("r2", "s-z")
    t.port("vm-z", "n-z", ("10.0.9.10",), groups=("sg-open",))


def transit(t):
    """r1 → n-t 10.0.8.0/24 → r2 → n-z 10.0.9.0/24 (vm-z), r2 defaults back to r1."""
    t.network("n-t")
    t.subnet("s-t", "n-t", "10.0.8.0/24")
    t.interface("r1", "s-t", "10.0.8.1")
    t.network("n-z")
    t.subnet("s-z", "n-z", "10.0.9.0/24")
    t.router("r2", routes=(("0.0.0.0/0", "10.0.8.1"),))
    t.interface("r2", "s-t", "10.0.8.2")
    t.interface("r2", "s-z", "10.0.9.1")
    t.port("vm-z", "n-z", ("10.0.9.10",), groups=("sg-open",))
    t.routers["r1"]["routes"] = [{"destination": "10.0.9.0/24", "nexthop": "10.0.8.2"}]


def remote_group_with_pair(pair, ethertype="IPv6"):
    """vm-b (with fd00:b::10) admits tcp/80 only from members of m; member "mem" has ``pair``."""
    def edit(t):
        t.subnet("s-b6", "n-b", "fd00:b::/64")
        t.interface("r1", "s-b6")
        t.ports["vm-b"]["fixed_ips"].append({"subnet_id": "s-b6", "ip_address": "fd00:b::10"})
        t.group("m")
        t.group("g")
        t.rule("g", "ingress", ethertype, protocol="tcp", port_min=80, port_max=80, remote_group="m")
        t.rule("g", "egress")
        t.rule("g", "egress", "IPv6")
        t.port("mem", "n-a", ("10.0.1.30",), groups=("m",), pairs=(pair,))
        t.ports["vm-b"]["security_groups"] = ["g"]
    return edit


CASES = [
    # --- divergence found by the review (engine and reference both said ACCEPTED / ACCEPTED):
    # "A router's own addresses answer ICMP echo": on IPv4 that is ICMP (protocol 1) type 8. An
    # IPv4 packet of protocol 58 (ICMPv6) is "everything else" → DENIED_INGRESS, no reply.
    case("router_ipv4_address_refuses_icmpv6_protocol", base,
         query("vm-a", R1_IF_A, "ipv6-icmp", icmp_type=8), DI),
    case("router_ipv4_address_refuses_protocol_58", base,
         query("vm-a", R1_IF_A, 58, icmp_type=8), DI),
    case("router_ipv4_echo_still_answered", base, query("vm-a", R1_IF_A, "icmp", icmp_code=3),
         ACC, ACC, delivered_to="router:r1", return_flow={"icmp_type": 0, "icmp_code": 0}),
    case("router_ipv6_echo_still_answered", base,
         query("vm-a", {"ip_address": "fd00:a::1"}, "ipv6-icmp"), ACC, ACC, delivered_to="router:r1"),
    case("router_ipv6_refuses_type_8", base,
         query("vm-a", {"ip_address": "fd00:a::1"}, "icmp", icmp_type=8), DI),

    # --- checked and found right
    # §4.4: a host route whose next hop is a DHCP port (network:*, not a router) → NO_ROUTE
    case("host_route_next_hop_dhcp_port", variant(
        lambda t: t.port("dhcp", "n-a", ("10.0.1.2",), owner="network:dhcp", security=False),
        set_attr("subnets", "s-a", host_routes=[{"destination": "10.0.2.0/24", "nexthop": "10.0.1.2"}])),
        query("vm-a", "vm-b"), NR),
    # network:* ports are unfiltered both ways (a spoofed DHCP source is not SPOOFED)
    case("dhcp_port_sends_unfiltered", variant(
        lambda t: t.port("dhcp", "n-a", ("10.0.1.2",), owner="network:dhcp")),
        query({"port_id": "dhcp", "ip_address": "10.0.1.77"}, "vm-a"), ACC, NU),
    # §4.4: a pair on A's network holding an off-link address does not make it on-link
    case("off_link_pair_holder_is_ignored", variant(
        vm("vm-v", "n-a", ("10.0.1.12",), pairs=("10.0.2.10",))),
        query("vm-a", "vm-b"), ACC, ACC, delivered_to="port:vm-b"),
    # §4.5: extra-route next hops: a floating IP is not a router port; another router's gateway is
    case("extra_route_next_hop_floating_ip", variant(r1_routes(("10.0.9.0/24", "203.0.113.20"))),
         query("vm-a", {"ip_address": "10.0.9.5"}), NR),
    case("extra_route_next_hop_upstream_snat", variant(r1_routes(("10.0.9.0/24", "203.0.113.1"))),
         query("vm-a", {"ip_address": "10.0.9.5"}), EXT, ACC, flow={"source_ip": "203.0.113.2"}),
    case("extra_route_via_other_router_gateway", variant(
        net_z_behind_r2_gateway, r1_routes(("10.0.9.0/24", "203.0.113.3"))),
        query("vm-a", {"ip_address": "10.0.9.10"}), ACC, ACC,
        flow={"source_ip": "203.0.113.2"}, delivered_to="port:vm-z"),
    # a network crossed between two routers, admin-down → ADMIN_DOWN
    case("admin_down_transit_network", variant(
        transit, set_attr("networks", "n-t", admin_state_up=False)), query("vm-a", "vm-z"), AD),
    case("transit_path_up", variant(transit), query("vm-a", "vm-z"), ACC, ACC),
    # corner cases: a VM on the external network; tenant space from there leaves by the upstream
    case("external_vm_to_tenant_fixed_ip_exits", variant(vm("vm-x", "n-ext", ("203.0.113.50",))),
         query("vm-x", {"ip_address": "10.0.2.10"}), EXT, ACC),
    case("external_vm_to_floating_ip", variant(vm("vm-x", "n-ext", ("203.0.113.50",))),
         query("vm-x", {"ip_address": "203.0.113.20"}), ACC, ACC,
         flow={"source_ip": "203.0.113.50", "destination_ip": "10.0.2.10"}),
    case("floating_ip_source_to_external_vm", variant(vm("vm-x", "n-ext", ("203.0.113.50",))),
         query("vm-b", "vm-x"), ACC, ACC, flow={"source_ip": "203.0.113.20"}),
    case("external_vm_no_gateway_ip_no_route", variant(
        vm("vm-x", "n-ext", ("203.0.113.50",)), set_attr("subnets", "s-ext", gateway_ip=None)),
        query("vm-x", {"ip_address": "192.0.2.5"}), NR),
    # "first external network" = the lowest id (a-ext < n-ext)
    case("external_host_enters_lowest_id_network", variant(
        lambda t: t.network("a-ext", external=True), lambda t: t.subnet("s-aext", "a-ext", "198.18.0.0/24")),
        query(HOST, {"ip_address": "203.0.113.2"}, "icmp"), NR),
    case("external_host_enters_floating_ip_network", variant(
        lambda t: t.network("a-ext", external=True), lambda t: t.subnet("s-aext", "a-ext", "198.18.0.0/24")),
        query(HOST, {"ip_address": "203.0.113.20"}), ACC, EXT),
    # remote group: a pair's CIDR is of its own family ("/0 matches everything" of that family)
    case("remote_group_ipv4_slash0_pair_not_ipv6", variant(remote_group_with_pair("0.0.0.0/0")),
         query("vm-a", "vm-b", ethertype="IPv6"), DI),
    case("remote_group_ipv6_slash0_pair", variant(remote_group_with_pair("::/0")),
         query("vm-a", "vm-b", ethertype="IPv6"), ACC, ACC),
    case("remote_group_pair_cidr", variant(remote_group_with_pair("10.0.1.0/28", "IPv4")),
         query("vm-a", "vm-b"), ACC, ACC),
    # replies: other ICMP → null; timestamp → 14 with code 0
    case("icmp_timestamp_reply_code_0", base, query("vm-a", "vm-b", "icmp", icmp_type=13, icmp_code=5),
         ACC, ACC, return_flow={"icmp_type": 14, "icmp_code": 0}),
    case("icmpv6_type_8_is_one_way", variant(vm("vm-6", "n-a", ("fd00:a::20",))),
         query("vm-a", "vm-6", "icmp", icmp_type=8), ACC, None),
    # hairpin with enable_snat false: the source stays, and the reply is reversed by r1
    case("hairpin_snat_off_keeps_source", variant(
        lambda t: t.routers["r1"]["external_gateway_info"].update(enable_snat=False)),
        query("vm-a", {"ip_address": "203.0.113.20"}), ACC, ACC, flow={"source_ip": "10.0.1.10"}),
]


@pytest.mark.parametrize("c", CASES, ids=str)
def test_reference_follows_design(c):
    """The semantics' answer holds on the per-packet reference."""
    assert_case(reference_reachability(c.build().snapshot(), c.query), c)


@pytest.mark.parametrize("c", CASES, ids=str)
def test_engine_follows_design(c):
    """The semantics' answer holds on the engine, one flow (with trace) and as a batch."""
    tables = compile_tables(c.build().snapshot())
    assert_case(engine_answer(tables, c.query), c)
    [got] = evaluate_flows(tables, [c.query])
    assert (got["disposition"], got["return_disposition"]) == (c.disposition, c.return_disposition)


def test_router_allowed_set_lists_only_its_family_echo():
    """The allowed set to a router address is the echo request of the flow's family only."""
    from xloudnet.analysis.reachability import reachability
    tables = compile_tables(base().snapshot())
    v4 = reachability(tables, {"source": {"port_id": "vm-a"}, "destination": R1_IF_A})
    assert v4["allowed"] == [{"protocol": "icmp", "icmp_types": [[8, 8]]}]
    v6 = reachability(tables, {"source": {"port_id": "vm-a"}, "destination": {"ip_address": "fd00:a::1"}})
    assert v6["allowed"] == [{"protocol": "ipv6-icmp", "icmp_types": [[128, 128]]}]
