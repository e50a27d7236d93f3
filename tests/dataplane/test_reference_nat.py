"""External networks, floating IPs, SNAT, hairpin and external hosts, pinned on the reference.

In ``base()`` r1's gateway is 203.0.113.2 on n-ext (upstream 203.0.113.1) and fip-b
203.0.113.20 → vm-b 10.0.2.10.
"""

import pytest

from reference import ReferenceQueryError, reference_reachability
from topologies import assert_case, base, case, query, set_attr, variant

ACC, EXT = "ACCEPTED", "EXITS_NETWORK"
NR, NU, AD = "NO_ROUTE", "NEIGHBOR_UNREACHABLE", "ADMIN_DOWN"
NET = {"ip_address": "192.0.2.50"}
HOST = {"ip_address": "198.51.100.7"}
FIP_B = {"ip_address": "203.0.113.20"}


def snat(enabled):
    def edit(t):
        t.routers["r1"]["external_gateway_info"]["enable_snat"] = enabled
    return edit


def fip_a(t):
    t.fip("fip-a", "n-ext", "203.0.113.10", port="vm-a", router="r1")


def vm(id, network, ips, groups=("sg-open",), **kw):
    return lambda t: t.port(id, network, ips, groups=groups, **kw)


def second_external(t):
    """n-extz 198.18.0.0/24 (a higher id than n-ext) with r2 (gateway 198.18.0.2, on s-a at
    10.0.1.254), fip-z 198.18.0.20 → vm-a on r2, and vm-e2 plugged in at 198.18.0.10."""
    t.network("n-extz", external=True)
    t.subnet("s-extz", "n-extz", "198.18.0.0/24")
    t.router("r2", gateway="n-extz", gateway_ips=("198.18.0.2",))
    t.interface("r2", "s-a", "10.0.1.254")
    t.fip("fip-z", "n-extz", "198.18.0.20", port="vm-a", router="r2")
    t.port("vm-e2", "n-extz", ("198.18.0.10",), groups=("sg-open",))


def other_router_fip(t):
    """r3 on n-ext (203.0.113.3) with n-d 10.0.4.0/24, vm-d 10.0.4.10 and fip-d 203.0.113.40."""
    t.network("n-d")
    t.subnet("s-d", "n-d", "10.0.4.0/24")
    t.router("r3", gateway="n-ext", gateway_ips=("203.0.113.3",))
    t.interface("r3", "s-d")
    t.port("vm-d", "n-d", ("10.0.4.10",), groups=("sg-open",))
    t.fip("fip-d", "n-ext", "203.0.113.40", port="vm-d", router="r3")


CASES = [
    # --- leaving the cloud: SNAT to the gateway, to an own floating IP, or none
    case("exit_snat_to_gateway_ip", base, query("vm-a", NET, destination_port=443), EXT, ACC,
         flow={"source_ip": "203.0.113.2", "destination_ip": "192.0.2.50"},
         return_flow={"destination_ip": "10.0.1.10", "source_ip": "192.0.2.50"}, delivered_to="external"),
    case("exit_snat_to_own_floating_ip", base, query("vm-b", NET, destination_port=443), EXT, ACC,
         flow={"source_ip": "203.0.113.20"}),
    case("exit_without_snat_keeps_source", variant(snat(False)), query("vm-a", NET, destination_port=443),
         EXT, ACC, flow={"source_ip": "10.0.1.10"}, return_flow={"destination_ip": "10.0.1.10"}),
    case("exit_floating_ip_snat_whatever_enable_snat", variant(snat(False)),
         query("vm-b", NET, destination_port=443), EXT, ACC, flow={"source_ip": "203.0.113.20"}),
    case("exit_to_upstream_address", base, query("vm-a", {"ip_address": "203.0.113.1"}, "icmp"), EXT, ACC),
    case("external_subnet_without_gateway_no_default", variant(set_attr("subnets", "s-ext", gateway_ip=None)),
         query("vm-a", NET), NR),
    case("exit_ipv6_no_nat", base, query("vm-a", {"ip_address": "2001:db8:1234::5"}, destination_port=443),
         EXT, ACC, flow={"source_ip": "fd00:a::10", "ethertype": "IPv6"}),
    case("ipv6_tenant_address_leaves_cloud_from_router", base,
         query("vm-a", {"ip_address": "fd00:b::5"}, "icmp"), EXT, ACC),
    case("another_tenants_private_space_goes_upstream", base,
         query("vm-a", {"ip_address": "172.16.5.5"}), EXT, ACC),
    # --- external hosts: DNAT through floating IPs, only the entry network is reachable
    case("external_host_to_floating_ip", base, query(HOST, FIP_B), ACC, EXT,
         flow={"source_ip": "198.51.100.7", "destination_ip": "10.0.2.10"},
         return_flow={"source_ip": "203.0.113.20", "destination_ip": "198.51.100.7"},
         delivered_to="port:vm-b"),
    case("external_host_floating_ip_ingress_denied", base, query(HOST, FIP_B, destination_port=22),
         "DENIED_INGRESS"),
    case("external_host_to_tenant_fixed_ip_no_route", base, query(HOST, "vm-b"), NR),
    case("external_host_to_unassociated_floating_ip", variant(lambda t: t.fip("fip-x", "n-ext", "203.0.113.30")),
         query(HOST, {"ip_address": "203.0.113.30"}), NU),
    case("external_host_to_free_external_address", base, query(HOST, {"ip_address": "203.0.113.99"}), NU),
    case("external_host_pings_router_gateway", base, query(HOST, {"ip_address": "203.0.113.2"}, "icmp"),
         ACC, EXT, delivered_to="router:r1"),
    case("external_host_tcp_to_router_gateway", base, query(HOST, {"ip_address": "203.0.113.2"}),
         "DENIED_INGRESS"),
    case("external_host_cannot_reach_router_interface", base,
         query(HOST, {"ip_address": "10.0.1.1"}, "icmp"), NR),
    case("external_host_floating_ip_router_down", variant(set_attr("routers", "r1", admin_state_up=False)),
         query(HOST, FIP_B), AD),
    case("external_host_floating_ip_gateway_port_down", variant(
        set_attr("ports", "gw-r1", admin_state_up=False)), query(HOST, FIP_B), AD),
    case("external_host_floating_ip_destination_network_down", variant(
        set_attr("networks", "n-b", admin_state_up=False)), query(HOST, FIP_B), AD),
    case("external_host_entry_network_down", variant(set_attr("networks", "n-ext", admin_state_up=False)),
         query(HOST, FIP_B), AD),
    # --- which external network an external host enters
    case("entry_by_floating_ip_network", variant(second_external),
         query(HOST, {"ip_address": "198.18.0.20"}), ACC, EXT, flow={"destination_ip": "10.0.1.10"}),
    case("entry_defaults_to_first_external_network", variant(second_external),
         query(HOST, {"ip_address": "198.18.0.10"}), NR),
    case("entry_by_network_id", variant(second_external),
         query({"ip_address": "198.51.100.7", "network_id": "n-extz"}, {"ip_address": "198.18.0.10"}),
         ACC, EXT, delivered_to="port:vm-e2"),
    case("entry_network_id_restricts_reach", variant(second_external),
         query({"ip_address": "198.51.100.7", "network_id": "n-extz"}, FIP_B), NR),
    # --- VMs plugged into an external network
    case("external_vm_to_internet_unchanged", variant(vm("vm-e", "n-ext", ("203.0.113.50",))),
         query("vm-e", NET), EXT, ACC, flow={"source_ip": "203.0.113.50"}),
    case("external_vm_to_floating_ip_on_link", variant(vm("vm-e", "n-ext", ("203.0.113.50",))),
         query("vm-e", FIP_B), ACC, ACC, flow={"source_ip": "203.0.113.50", "destination_ip": "10.0.2.10"}),
    case("external_vm_to_tenant_space_goes_upstream", variant(vm("vm-e", "n-ext", ("203.0.113.50",))),
         query("vm-e", "vm-b"), EXT, ACC),
    case("external_vm_without_upstream_no_route", variant(
        vm("vm-e", "n-ext", ("203.0.113.50",)), set_attr("subnets", "s-ext", gateway_ip=None)),
        query("vm-e", NET), NR),
    case("external_host_to_external_vm", variant(vm("vm-e", "n-ext", ("203.0.113.50",))),
         query(HOST, "vm-e", "icmp"), ACC, EXT),
    case("tenant_vm_to_external_vm_snat", variant(vm("vm-e", "n-ext", ("203.0.113.50",))),
         query("vm-a", "vm-e"), ACC, ACC, flow={"source_ip": "203.0.113.2"},
         return_flow={"destination_ip": "10.0.1.10"}),
    case("other_external_network_is_beyond_the_upstream", variant(second_external),
         query("vm-b", {"ip_address": "198.18.0.20"}), EXT, ACC),
    case("floating_ip_of_other_router_same_external_network", variant(other_router_fip),
         query("vm-b", {"ip_address": "203.0.113.40"}), ACC, ACC,
         flow={"source_ip": "203.0.113.20", "destination_ip": "10.0.4.10"}, delivered_to="port:vm-d",
         return_flow={"source_ip": "203.0.113.40", "destination_ip": "10.0.2.10"}),
    # --- hairpin: an internal source to a floating IP of its own router
    case("hairpin_snat_to_gateway", base, query("vm-a", FIP_B), ACC, ACC,
         flow={"source_ip": "203.0.113.2", "destination_ip": "10.0.2.10"},
         return_flow={"source_ip": "203.0.113.20", "destination_ip": "10.0.1.10"}),
    case("hairpin_snat_to_own_floating_ip", variant(fip_a), query("vm-a", FIP_B), ACC, ACC,
         flow={"source_ip": "203.0.113.10"}),
    case("hairpin_without_snat_keeps_source", variant(snat(False)), query("vm-a", FIP_B), ACC, ACC,
         flow={"source_ip": "10.0.1.10", "destination_ip": "10.0.2.10"}),
    case("hairpin_to_own_floating_ip", base, query("vm-b", FIP_B), ACC, ACC,
         flow={"source_ip": "203.0.113.20", "destination_ip": "10.0.2.10"}),
    case("exit_snat_to_own_floating_ip_on_that_router", variant(other_router_fip),
         query("vm-d", NET), EXT, ACC, flow={"source_ip": "203.0.113.40"}),
    case("exit_by_router_without_the_floating_ip_snats_to_its_gateway", variant(
        other_router_fip,
        lambda t: t.routers["r3"].update(routes=[{"destination": "192.0.2.0/24", "nexthop": "10.0.4.254"}]),
        lambda t: t.router("r5", gateway="n-ext", gateway_ips=("203.0.113.5",)),
        lambda t: t.interface("r5", "s-d", "10.0.4.254")),
        query("vm-d", NET), EXT, ACC, flow={"source_ip": "203.0.113.5"},
        return_flow={"destination_ip": "10.0.4.10"}),
    case("external_host_pings_floating_ip", base,
         query(HOST, FIP_B, "icmp"), ACC, EXT, return_flow={"icmp_type": 0, "source_ip": "203.0.113.20"}),
    case("floating_ip_egress_rule_sees_floating_ip", variant(
        lambda t: t.group("g"), lambda t: t.rule("g", "egress", prefix="10.0.2.0/24"),
        lambda t: t.rule("g", "ingress"), set_attr("ports", "vm-a", security_groups=["g"])),
        query("vm-a", FIP_B), "DENIED_EGRESS"),
]

ERRORS = [
    ("both_ends_outside", base, query(HOST, NET)),
    ("external_host_to_upstream_router", base, query(HOST, {"ip_address": "203.0.113.1"}, "icmp")),
    ("unknown_source_port", base, query("nope", "vm-b")),
    ("no_address_of_ethertype", base, query("vm-b", "vm-a", ethertype="IPv6")),
    ("address_family_mismatch", base, query({"port_id": "vm-a", "ip_address": "fd00:a::10"}, "vm-b",
                                            ethertype="IPv4")),
    ("protocol_missing", base, {"source": {"port_id": "vm-a"}, "destination": {"port_id": "vm-b"},
                                "protocol": "bogus"}),
]


@pytest.mark.parametrize("c", CASES, ids=str)
def test_nat_and_external_semantics(c):
    """Each hand-written NAT / external-network rule of docs/semantics.md holds on the reference."""
    assert_case(reference_reachability(c.build().snapshot(), c.query), c)


@pytest.mark.parametrize("name,build,q", ERRORS, ids=[e[0] for e in ERRORS])
def test_invalid_queries_are_refused(name, build, q):
    """Queries naming no valid flow are refused (400), e.g. both ends outside the cloud."""
    with pytest.raises(ReferenceQueryError):
        reference_reachability(build().snapshot(), q)
