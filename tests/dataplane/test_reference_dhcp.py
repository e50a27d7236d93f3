"""DHCP ports (``network:dhcp``) in the data plane, pinned on the reference (see ``base()``):
they hold a pool address, are trusted infrastructure (never filtered, whatever their port
security or groups say) and are never a next hop; the ports they talk to still filter."""

import pytest

from reference import reference_reachability
from topologies import assert_case, case, query, set_attr, variant

ACC = "ACCEPTED"
DHCP_DEVICE = "dhcp1e481696-1aab-5333-a552-c8990e852e76-"


def dhcp(id, network, ip, *, security=False, groups=()):
    """The agent's port on ``network`` at ``ip`` (a real one has port security off)."""
    return lambda t: t.port(id, network, (ip,), owner="network:dhcp", device_id=DHCP_DEVICE + network,
                            security=security, groups=groups)


def dhcp_everywhere():
    """What a cloud with a DHCP agent shows for ``base()``: .2 on each tenant subnet."""
    return variant(dhcp("dhcp-a", "n-a", "10.0.1.2"), dhcp("dhcp-b", "n-b", "10.0.2.2"))


CASES = [
    case("dhcp_port_receives_from_its_network_unfiltered", dhcp_everywhere(),
         query("vm-a", "dhcp-a", "udp", destination_port=67), ACC, ACC, delivered_to="port:dhcp-a"),
    case("dhcp_port_address_is_owned_on_link", dhcp_everywhere(),
         query("vm-a", {"ip_address": "10.0.1.2"}, "udp", destination_port=67), ACC, ACC,
         delivered_to="port:dhcp-a"),
    case("dhcp_port_unfiltered_even_with_port_security_and_a_closed_group",
         variant(dhcp("dhcp-b", "n-b", "10.0.2.2", security=True, groups=("sg-web",))),
         query("vm-a", "dhcp-b", destination_port=22), ACC, ACC, delivered_to="port:dhcp-b"),
    case("dhcp_port_as_sender_meets_the_vms_ingress_rules", dhcp_everywhere(),
         query("dhcp-b", "vm-b", destination_port=22), "DENIED_INGRESS"),
    case("dhcp_port_as_sender_allowed_where_the_vm_allows", dhcp_everywhere(),
         query("dhcp-b", "vm-b", destination_port=80), ACC, ACC, delivered_to="port:vm-b"),
    case("dhcp_port_is_never_a_next_hop", variant(
        dhcp("dhcp-a", "n-a", "10.0.1.2"),
        set_attr("subnets", "s-a", host_routes=[{"destination": "192.0.2.0/24", "nexthop": "10.0.1.2"}])),
        query("vm-a", {"ip_address": "192.0.2.50"}), "NO_ROUTE"),
    case("dhcp_port_admin_down_receives_nothing",
         variant(dhcp("dhcp-a", "n-a", "10.0.1.2"), set_attr("ports", "dhcp-a", admin_state_up=False)),
         query("vm-a", "dhcp-a", "udp", destination_port=67), "ADMIN_DOWN"),
]


@pytest.mark.parametrize("c", CASES, ids=str)
def test_dhcp_port_semantics(c):
    """Each DHCP-port rule of docs/semantics.md holds on the reference."""
    assert_case(reference_reachability(c.build().snapshot(), c.query), c)
