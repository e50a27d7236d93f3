"""openstacksdk's cloud layer (``conn.create_network`` …, what Ansible's openstack.cloud modules
call): it probes extensions and combines calls differently from the proxy layer."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_cloud_layer_tenant_flow(demo_conn, external_network, name, cleanup):
    ext_net, _ = external_network
    conn = demo_conn
    network = conn.create_network(name("net"))
    cleanup(lambda: conn.delete_network(network.id))
    assert conn.get_network(network.name).id == network.id
    subnet = conn.create_subnet(network.id, cidr="10.100.0.0/24", ip_version=4, subnet_name=name("subnet"),
                                enable_dhcp=True)
    cleanup(lambda: conn.delete_subnet(subnet.id))
    assert subnet.gateway_ip == "10.100.0.1"

    router = conn.create_router(name=name("router"), ext_gateway_net_id=ext_net.id)
    cleanup(lambda: conn.delete_router(router.id))
    assert router.external_gateway_info["network_id"] == ext_net.id
    conn.add_router_interface(router, subnet_id=subnet.id)
    cleanup(lambda: conn.remove_router_interface(router, subnet_id=subnet.id))
    interfaces = conn.list_router_interfaces(router, interface_type="internal")
    assert [i.fixed_ips[0]["ip_address"] for i in interfaces] == ["10.100.0.1"]

    group = conn.create_security_group(name("sg"), "web servers")
    cleanup(lambda: conn.delete_security_group(group.id))
    rule = conn.create_security_group_rule(group.id, port_range_min=80, port_range_max=80, protocol="tcp",
                                           remote_ip_prefix="0.0.0.0/0", direction="ingress", ethertype="IPv4")
    assert rule.port_range_min == 80
    assert group.id in {g.id for g in conn.list_security_groups()}

    vm = conn.create_port(network.id, name=name("port"), security_groups=[group.id],
                          device_owner="compute:nova", device_id="cloud-layer-vm")
    cleanup(lambda: conn.delete_port(vm.id))
    fip = conn.create_floating_ip(network=ext_net.id, port=vm.id, wait=False)
    cleanup(lambda: conn.delete_floating_ip(fip.id))
    assert fip.port_id == vm.id
    assert fip.floating_network_id == ext_net.id
    listed = {f.id: f for f in conn.list_floating_ips()}
    assert listed[fip.id].fixed_ip_address == vm.fixed_ips[0]["ip_address"]
    assert conn.search_networks(filters={"name": network.name})[0].id == network.id


def test_cloud_layer_qos_as_admin(admin_conn, name, cleanup):
    conn = admin_conn
    policy = conn.create_qos_policy(name=name("qos"), description="bronze", shared=True)
    cleanup(lambda: conn.delete_qos_policy(policy.id))
    rule = conn.create_qos_bandwidth_limit_rule(policy.id, max_kbps=2000, max_burst_kbps=200, direction="ingress")
    assert (rule.max_kbps, rule.direction) == (2000, "ingress")
    dscp = conn.create_qos_dscp_marking_rule(policy.id, dscp_mark=18)
    assert dscp.dscp_mark == 18
    assert {r.id for r in conn.list_qos_bandwidth_limit_rules(policy.id)} == {rule.id}
    assert {"bandwidth_limit", "dscp_marking"} <= {t["type"] for t in conn.list_qos_rule_types()}


def test_cloud_layer_quotas(admin_conn, demo_conn):
    quotas = admin_conn.get_network_quotas(demo_conn.current_project_id)
    assert quotas["network"] == 100 and quotas["router"] == 10
