"""The simulated DHCP agent through openstacksdk over real HTTP: the port a DHCP-enabled subnet
brings, and the SDK's dhcp_agent_scheduler calls."""

from __future__ import annotations

from e2e_helpers import port, tenant_network


def _dhcp_ports(conn, network):
    return list(conn.network.ports(network_id=network.id, device_owner="network:dhcp"))


def test_subnet_brings_the_dhcp_port_and_servers_get_the_next_address(demo_conn, name, cleanup):
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.31.0.0/24")
    [dhcp] = _dhcp_ports(demo_conn, network)
    assert dhcp.fixed_ips == [{"subnet_id": subnet.id, "ip_address": "10.31.0.2"}]
    assert dhcp.status == "ACTIVE" and dhcp.device_id.endswith(network.id)
    vm = port(demo_conn, name, cleanup, network)
    assert vm.fixed_ips[0]["ip_address"] == "10.31.0.3"
    demo_conn.network.update_subnet(subnet, is_dhcp_enabled=False)
    assert _dhcp_ports(demo_conn, network) == []


def test_sdk_scheduler_calls_move_the_network_off_and_back_on_the_agent(admin_conn, demo_conn, name, cleanup):
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.32.0.0/24")
    [agent] = list(admin_conn.network.agents(agent_type="DHCP agent"))
    assert [a.id for a in admin_conn.network.network_hosting_dhcp_agents(network)] == [agent.id]
    admin_conn.network.remove_dhcp_agent_from_network(agent, network)
    assert _dhcp_ports(admin_conn, network) == []
    assert network.id not in {n.id for n in admin_conn.network.dhcp_agent_hosting_networks(agent)}
    admin_conn.network.add_dhcp_agent_to_network(agent, network)  # Neutron's body is JSON null
    assert network.id in {n.id for n in admin_conn.network.dhcp_agent_hosting_networks(agent)}
    assert len(_dhcp_ports(admin_conn, network)) == 1
