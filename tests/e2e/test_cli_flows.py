"""The ``openstack`` CLI (python-openstackclient) against the real server: the seed flows.

Each CLI call costs 1–2 s (interpreter start + login), so the actions under test go through the
CLI and most set-up and checks go through openstacksdk.
"""

from __future__ import annotations

import uuid

import pytest
from e2e_helpers import PASSWORD, attach_subnet, connect, in_cidr, port, router_with_gateway, tenant_network
from openstack import exceptions

pytestmark = pytest.mark.e2e


def test_token_issue(cli, demo_conn):
    token = cli.json("token", "issue")
    assert token["id"]
    assert token["project_id"] == demo_conn.current_project_id
    assert token["user_id"]
    assert token["expires"]


def test_network_create_list_show_set_delete(cli, demo_conn, name):
    net_name = name("net")
    created = cli.json("network", "create", "--description", "from the cli", net_name)
    try:
        assert created["name"] == net_name
        assert created["status"] == "ACTIVE"
        assert created["description"] == "from the cli"
        listed = {n["ID"]: n for n in cli.json("network", "list")}
        assert listed[created["id"]]["Name"] == net_name
        cli.run("network", "set", "--name", net_name + "-2", "--description", "renamed", net_name)
        shown = cli.json("network", "show", net_name + "-2")
        assert shown["id"] == created["id"]
        assert shown["description"] == "renamed"
        assert shown["revision_number"] == 2
        cli.run("network", "delete", net_name + "-2")
        assert demo_conn.network.find_network(created["id"]) is None
    finally:
        demo_conn.network.delete_network(created["id"], ignore_missing=True)


def test_unknown_network_fails_cleanly(cli):
    result = cli.fails("network", "show", "no-such-network-" + uuid.uuid4().hex[:8])
    assert "Traceback" not in result.stderr
    assert "No Network found" in result.stderr or "could not be found" in result.stderr.lower(), result.stderr


def test_subnet_and_router_flow(cli, demo_conn, external_network, name, cleanup):
    ext_net, _ = external_network
    network = demo_conn.network.create_network(name=name("net"))
    cleanup(lambda: demo_conn.network.delete_network(network, ignore_missing=True))
    subnet_name, router_name = name("subnet"), name("router")
    subnet = cli.json("subnet", "create", "--network", network.id, "--subnet-range", "10.90.0.0/24", subnet_name)
    cleanup(lambda: demo_conn.network.delete_subnet(subnet["id"], ignore_missing=True))
    assert subnet["cidr"] == "10.90.0.0/24"
    assert subnet["gateway_ip"] == "10.90.0.1"
    assert subnet["network_id"] == network.id

    router = cli.json("router", "create", router_name)
    cleanup(lambda: demo_conn.network.delete_router(router["id"], ignore_missing=True))
    assert router["status"] == "ACTIVE"
    cli.run("router", "set", "--external-gateway", ext_net.id, router_name)
    cli.run("router", "add", "subnet", router_name, subnet_name)
    shown = cli.json("router", "show", router_name)
    assert shown["external_gateway_info"]["network_id"] == ext_net.id
    interfaces = shown.get("interfaces_info") or []
    assert [i["ip_address"] for i in interfaces] == ["10.90.0.1"], shown
    assert [i["subnet_id"] for i in interfaces] == [subnet["id"]]

    cli.run("router", "remove", "subnet", router_name, subnet_name)
    assert list(demo_conn.network.ports(device_id=router["id"])) == []
    cli.run("router", "delete", router_name)
    assert demo_conn.network.find_router(router["id"]) is None


def test_security_group_rules_and_port_with_fixed_ip(cli, demo_conn, name, cleanup):
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.91.0.0/24")
    sg_name, port_name = name("sg"), name("port")
    group = cli.json("security", "group", "create", "--description", "web", sg_name)
    cleanup(lambda: demo_conn.network.delete_security_group(group["id"], ignore_missing=True))
    assert group["name"] == sg_name
    ssh = cli.json("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22", "--ingress", sg_name)
    https = cli.json("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "443", sg_name)
    for rule, number in ((ssh, 22), (https, 443)):
        assert (rule["port_range_min"], rule["port_range_max"]) == (number, number)
        assert rule["protocol"] == "tcp" and rule["direction"] == "ingress"
        assert rule["security_group_id"] == group["id"]
    rules = {r.id for r in demo_conn.network.security_group_rules(security_group_id=group["id"])}
    assert {ssh["id"], https["id"]} <= rules

    created = cli.json(
        "port", "create", "--network", network.name,
        "--fixed-ip", f"subnet={subnet.name},ip-address=10.91.0.50",
        "--security-group", sg_name, port_name,
    )
    cleanup(lambda: demo_conn.network.delete_port(created["id"], ignore_missing=True))
    assert created["fixed_ips"] == [{"subnet_id": subnet.id, "ip_address": "10.91.0.50"}]
    assert created["security_group_ids"] == [group["id"]]
    assert created["status"] == "DOWN"
    # The same address again: the CLI reports the 409 and exits non-zero.
    duplicate = cli.fails(
        "port", "create", "--network", network.id, "--fixed-ip", "ip-address=10.91.0.50", name("port")
    )
    assert "10.91.0.50" in duplicate.stderr, duplicate.stderr


def test_floating_ip_create_set_unset_delete(cli, demo_conn, external_network, name, cleanup):
    ext_net, _ = external_network
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.92.0.0/24")
    router = router_with_gateway(demo_conn, name, cleanup, ext_net.id)
    attach_subnet(demo_conn, router, subnet, cleanup)
    vm = port(demo_conn, name, cleanup, network, device_owner="compute:nova", device_id="vm-cli")

    fip = cli.json("floating", "ip", "create", ext_net.id)
    cleanup(lambda: demo_conn.network.delete_ip(fip["id"], ignore_missing=True))
    assert in_cidr(fip["floating_ip_address"], "172.24.4.0/24")
    assert fip["status"] == "DOWN" and fip["port_id"] is None
    cli.run("floating", "ip", "set", "--port", vm.id, fip["floating_ip_address"])
    shown = cli.json("floating", "ip", "show", fip["id"])
    assert shown["port_id"] == vm.id
    assert shown["router_id"] == router.id
    assert shown["fixed_ip_address"] == vm.fixed_ips[0]["ip_address"]
    assert shown["status"] == "ACTIVE"
    cli.run("floating", "ip", "unset", "--port", fip["id"])
    after = demo_conn.network.get_ip(fip["id"])
    assert (after.port_id, after.router_id, after.status) == (None, None, "DOWN")
    cli.run("floating", "ip", "delete", fip["floating_ip_address"])
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.get_ip(fip["id"])


def test_qos_policy_rules_and_port_as_admin(cli, admin_conn, demo_conn, name, cleanup):
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.93.0.0/24")
    vm = port(demo_conn, name, cleanup, network)
    policy_name = name("qos")
    policy = cli.json("network", "qos", "policy", "create", "--description", "gold", policy_name, user="admin")
    cleanup(lambda: admin_conn.network.delete_qos_policy(policy["id"], ignore_missing=True))
    cleanup(lambda: admin_conn.network.update_port(vm.id, qos_policy_id=None))
    assert policy["name"] == policy_name
    bandwidth = cli.json(
        "network", "qos", "rule", "create", "--type", "bandwidth-limit", "--max-kbps", "10000",
        "--max-burst-kbits", "1000", "--egress", policy_name, user="admin",
    )
    assert bandwidth["max_kbps"] == 10000 and bandwidth["max_burst_kbps"] == 1000
    dscp = cli.json("network", "qos", "rule", "create", "--type", "dscp-marking", "--dscp-mark", "26", policy_name,
                    user="admin")
    assert dscp["dscp_mark"] == 26
    rules = {r["type"] for r in admin_conn.network.get_qos_policy(policy["id"]).rules}
    assert rules == {"bandwidth_limit", "dscp_marking"}
    cli.run("port", "set", "--qos-policy", policy_name, vm.id, user="admin")
    assert demo_conn.network.get_port(vm.id).qos_policy_id == policy["id"]
    # A member may not create policies.
    denied = cli.fails("network", "qos", "policy", "create", name("qos"))
    assert "403" in denied.stderr or "disallowed by policy" in denied.stderr, denied.stderr


def _limits(rows) -> dict:
    """``quota show -f json`` prints rows of {"Resource", "Limit"}."""
    return {row["Resource"]: row["Limit"] for row in rows}


def test_quota_show(cli, demo_conn):
    own = _limits(cli.json("quota", "show"))
    assert own["networks"] == 100
    assert own["subnets"] == 100
    assert own["ports"] == 500
    assert own["routers"] == 10
    assert own["floating_ips"] == 50
    assert own["security_groups"] == 10
    assert own["security_group_rules"] == 100
    by_admin = _limits(cli.json("quota", "show", "--network", "demo", user="admin"))
    assert by_admin["networks"] == 100


def test_identity_admin_projects_and_users(cli, server, name):
    project, user = name("proj"), name("user")
    created = cli.json("project", "create", "--domain", "default", "--description", "e2e", project, user="admin")
    try:
        assert created["name"] == project and created["enabled"] is True
        assert project in {p["Name"] for p in cli.json("project", "list", user="admin")}
        new_user = cli.json(
            "user", "create", "--domain", "default", "--password", PASSWORD, "--project", project, user, user="admin"
        )
        try:
            assert new_user["name"] == user
            assert user in {u["Name"] for u in cli.json("user", "list", user="admin")}
            cli.run("role", "add", "--project", project, "--user", user, "member", user="admin")
            # The new user can log in to the new project and use the network API.
            conn = connect(server, user, project)
            try:
                made = conn.network.create_network(name=name("net"))
                assert made.project_id == created["id"]
                conn.network.delete_network(made)
            finally:
                conn.close()
        finally:
            cli.run("user", "delete", user, user="admin")
        assert user not in {u["Name"] for u in cli.json("user", "list", user="admin")}
    finally:
        cli.run("project", "delete", project, user="admin", check=False)
    assert project not in {p["Name"] for p in cli.json("project", "list", user="admin")}


def test_list_commands_with_filters(cli, demo_conn, external_network, name, cleanup):
    """The list commands users type most, each with the filter OSC turns into a query."""
    ext_net, _ = external_network
    network, subnet = tenant_network(demo_conn, name, cleanup, cidr="10.94.0.0/24")
    router = router_with_gateway(demo_conn, name, cleanup, ext_net.id)
    attach_subnet(demo_conn, router, subnet, cleanup)
    group = demo_conn.network.create_security_group(name=name("sg"))
    cleanup(lambda: demo_conn.network.delete_security_group(group, ignore_missing=True))

    external = cli.json("network", "list", "--external")
    assert ext_net.id in {n["ID"] for n in external}
    assert network.id not in {n["ID"] for n in external}
    subnets = cli.json("subnet", "list", "--network", network.id)
    assert [(s["ID"], s["Subnet"]) for s in subnets] == [(subnet.id, "10.94.0.0/24")]
    ports = cli.json("port", "list", "--router", router.name)
    assert len(ports) == 1
    assert ports[0]["Fixed IP Addresses"] == [{"subnet_id": subnet.id, "ip_address": "10.94.0.1"}]
    rules = cli.json("security", "group", "rule", "list", group.id)
    assert sorted(r["Ethertype"] for r in rules) == ["IPv4", "IPv6"]
    assert router.id in {r["ID"] for r in cli.json("router", "list", "--long")}
