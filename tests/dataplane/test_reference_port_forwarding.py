"""Floating-IP port forwarding (docs/semantics.md §4.5 step 4), pinned on the reference.

On ``base()`` (r1 gateway 203.0.113.2; vm-a 10.0.1.10 in sg-open; vm-b 10.0.2.10 in sg-web,
which admits tcp 80 and icmp) ``forwards()`` adds fip-p 203.0.113.30, held by r1 through its
forwardings: tcp 2222 → vm-a 22, tcp 8000:8010 → vm-b 75:85 (N:N) and tcp 3000:3100 → vm-b 80
(N:1).
"""

import pytest

from reference import reference_reachability
from topologies import assert_case, case, query, set_attr, variant

ACC, EXT, DI = "ACCEPTED", "EXITS_NETWORK", "DENIED_INGRESS"
HOST = {"ip_address": "198.51.100.7"}
NET = {"ip_address": "192.0.2.50"}
FIP_P = {"ip_address": "203.0.113.30"}


def forwards(t):
    t.fip("fip-p", "n-ext", "203.0.113.30")
    t.forward("pf-1", "fip-p", "vm-a", "r1", "tcp", "2222", "22")
    t.forward("pf-2", "fip-p", "vm-b", "r1", "tcp", "8000:8010", "75:85")
    t.forward("pf-3", "fip-p", "vm-b", "r1", "tcp", "3000:3100", "80")


def overlapping(t):
    """pf-9 (a higher id) overlaps pf-2's 8000:8010: a hand-built snapshot only."""
    t.forward("pf-9", "fip-p", "vm-a", "r1", "tcp", "8005:8020", "22")


def icmp_forward(t):
    t.forward("pf-0", "fip-p", "vm-a", "r1", "icmp", "1", "1")


def on_associated_fip(t):
    """A forwarding on fip-b, which is associated with vm-b (the API refuses this state)."""
    t.port_forwardings["pf-b"] = {
        "id": "pf-b", "floatingip_id": "fip-b", "protocol": "tcp", "internal_port_id": "vm-a",
        "internal_ip_address": "10.0.1.10", "external_port_range": "2222:2222", "internal_port_range": "22:22"}


BUILD = variant(forwards)

CASES = [
    case("forward_single_port_to_internal_address_and_port", BUILD, query(HOST, FIP_P, destination_port=2222),
         ACC, EXT, flow={"destination_ip": "10.0.1.10", "destination_port": 22, "source_ip": "198.51.100.7"},
         return_flow={"source_ip": "203.0.113.30", "source_port": 2222, "destination_ip": "198.51.100.7"},
         delivered_to="port:vm-a"),
    case("forward_range_n_to_n_by_offset", BUILD, query(HOST, FIP_P, destination_port=8005), ACC, EXT,
         flow={"destination_ip": "10.0.2.10", "destination_port": 80},
         return_flow={"source_ip": "203.0.113.30", "source_port": 8005}),
    case("forward_range_offset_meets_receiver_groups", BUILD, query(HOST, FIP_P, destination_port=8006), DI),
    case("forward_range_n_to_one", BUILD, query(HOST, FIP_P, destination_port=3077), ACC, EXT,
         flow={"destination_ip": "10.0.2.10", "destination_port": 80}, return_flow={"source_port": 3077}),
    case("forwarding_fip_other_port_is_router_address", BUILD, query(HOST, FIP_P, destination_port=2223), DI,
         delivered_to=None),
    case("forwarding_fip_other_protocol_is_router_address", BUILD, query(HOST, FIP_P, "udp", destination_port=2222),
         DI),
    case("forwarding_fip_answers_echo", BUILD, query(HOST, FIP_P, "icmp"), ACC, EXT, delivered_to="router:r1"),
    case("forward_hairpin_from_inside_gets_gateway_source", BUILD, query("vm-a", FIP_P, destination_port=3001),
         ACC, ACC, flow={"source_ip": "203.0.113.2", "destination_ip": "10.0.2.10", "destination_port": 80},
         return_flow={"source_ip": "203.0.113.30", "source_port": 3001, "destination_ip": "10.0.1.10"}),
    case("forwarded_port_leaves_by_gateway_ip_not_forwarding_fip", BUILD, query("vm-a", NET, destination_port=443),
         EXT, ACC, flow={"source_ip": "203.0.113.2"}),
    case("overlapping_forwarding_with_higher_id_is_ignored", variant(forwards, overlapping),
         query(HOST, FIP_P, destination_port=8015), DI),
    case("overlapping_forwarding_lower_id_wins", variant(forwards, overlapping),
         query(HOST, FIP_P, destination_port=8005), ACC, EXT, flow={"destination_ip": "10.0.2.10"}),
    case("icmp_forwarding_matches_nothing", variant(forwards, icmp_forward), query(HOST, FIP_P, "icmp"), ACC, EXT,
         delivered_to="router:r1"),
    case("associated_fip_whole_address_dnat_wins", variant(on_associated_fip),
         query(HOST, {"ip_address": "203.0.113.20"}, destination_port=2222), DI),
    case("forwarding_fip_gateway_port_down", variant(forwards, set_attr("ports", "gw-r1", admin_state_up=False)),
         query(HOST, FIP_P, destination_port=2222), "ADMIN_DOWN"),
]


@pytest.mark.parametrize("c", CASES, ids=str)
def test_port_forwarding_semantics(c):
    """Each hand-written port-forwarding rule of docs/semantics.md holds on the reference."""
    assert_case(reference_reachability(c.build().snapshot(), c.query), c)
