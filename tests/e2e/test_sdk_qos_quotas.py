"""openstacksdk: QoS policies and rules (admin), rule types, quotas."""

from __future__ import annotations

import pytest
from e2e_helpers import port, tenant_network
from openstack import exceptions

pytestmark = pytest.mark.e2e


def test_qos_policy_with_rules_attached_to_a_port(admin_conn, demo_conn, name, cleanup):
    policy = admin_conn.network.create_qos_policy(
        name=name("qos"), description="gold", is_shared=True, project_id=demo_conn.current_project_id
    )
    cleanup(lambda: admin_conn.network.delete_qos_policy(policy, ignore_missing=True))
    assert policy.rules == [] and policy.is_shared is True
    bandwidth = admin_conn.network.create_qos_bandwidth_limit_rule(policy, max_kbps=10000, max_burst_kbps=800)
    assert (bandwidth.max_kbps, bandwidth.max_burst_kbps, bandwidth.direction) == (10000, 800, "egress")
    ingress = admin_conn.network.create_qos_bandwidth_limit_rule(policy, max_kbps=5000, direction="ingress")
    assert ingress.direction == "ingress" and ingress.max_burst_kbps == 0
    dscp = admin_conn.network.create_qos_dscp_marking_rule(policy, dscp_mark=26)
    assert dscp.dscp_mark == 26
    # One rule per (type, direction); invalid DSCP marks are refused.
    with pytest.raises(exceptions.ConflictException):
        admin_conn.network.create_qos_bandwidth_limit_rule(policy, max_kbps=1)
    with pytest.raises(exceptions.BadRequestException):
        admin_conn.network.create_qos_dscp_marking_rule(policy, dscp_mark=7)

    shown = admin_conn.network.get_qos_policy(policy.id)
    by_type = {(r["type"], r.get("direction")): r for r in shown.rules}
    assert set(by_type) == {("bandwidth_limit", "egress"), ("bandwidth_limit", "ingress"), ("dscp_marking", None)}
    assert by_type[("bandwidth_limit", "egress")]["max_kbps"] == 10000
    assert by_type[("dscp_marking", None)]["dscp_mark"] == 26
    assert admin_conn.network.find_qos_policy(policy.name).id == policy.id
    assert demo_conn.network.find_qos_policy(policy.name).id == policy.id  # shared: visible

    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.80.0.0/24")
    vm = port(demo_conn, name, cleanup, network)
    attached = demo_conn.network.update_port(vm, qos_policy_id=policy.id)
    assert attached.qos_policy_id == policy.id
    assert demo_conn.network.get_port(vm.id).qos_policy_id == policy.id
    with pytest.raises(exceptions.ConflictException):  # QosPolicyInUse
        admin_conn.network.delete_qos_policy(policy)
    demo_conn.network.update_port(vm, qos_policy_id=None)

    updated = admin_conn.network.update_qos_bandwidth_limit_rule(bandwidth, policy, max_kbps=20000)
    assert updated.max_kbps == 20000
    admin_conn.network.delete_qos_dscp_marking_rule(dscp, policy)
    assert {r["type"] for r in admin_conn.network.get_qos_policy(policy.id).rules} == {"bandwidth_limit"}
    admin_conn.network.delete_qos_policy(policy)
    with pytest.raises(exceptions.NotFoundException):
        admin_conn.network.get_qos_policy(policy.id)


def test_qos_network_policy(admin_conn, demo_conn, name, cleanup):
    policy = admin_conn.network.create_qos_policy(name=name("qos"), is_shared=True)
    cleanup(lambda: admin_conn.network.delete_qos_policy(policy, ignore_missing=True))
    admin_conn.network.create_qos_minimum_bandwidth_rule(policy, min_kbps=1000)
    network = demo_conn.network.create_network(name=name("net"), qos_policy_id=policy.id)
    cleanup(lambda: demo_conn.network.delete_network(network, ignore_missing=True))
    assert network.qos_policy_id == policy.id
    demo_conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.81.0.0/24")
    vm = port(demo_conn, name, cleanup, network)
    assert vm.qos_policy_id is None
    assert vm.qos_network_policy_id == policy.id


def test_rule_types_listed(demo_conn):
    types = {t.type for t in demo_conn.network.qos_rule_types()}
    assert {"bandwidth_limit", "dscp_marking", "minimum_bandwidth"} <= types


def test_member_cannot_create_a_qos_policy(demo_conn, name):
    with pytest.raises(exceptions.ForbiddenException):
        demo_conn.network.create_qos_policy(name=name("qos"))


def test_private_policy_of_another_project_is_invisible(admin_conn, alt_conn, name, cleanup):
    policy = admin_conn.network.create_qos_policy(name=name("qos"))  # admin project, not shared
    cleanup(lambda: admin_conn.network.delete_qos_policy(policy, ignore_missing=True))
    assert alt_conn.network.find_qos_policy(policy.name) is None
    with pytest.raises(exceptions.NotFoundException):
        alt_conn.network.get_qos_policy(policy.id)


def test_quotas(admin_conn, demo_conn, alt_conn):
    project = alt_conn.current_project_id
    own = alt_conn.network.get_quota(project)
    assert own.networks == 100 and own.subnets == 100 and own.ports == 500
    assert own.routers == 10 and own.floating_ips == 50
    assert own.security_groups == 10 and own.security_group_rules == 100
    try:
        updated = admin_conn.network.update_quota(project, networks=3, routers=1)
        assert (updated.networks, updated.routers) == (3, 1)
        assert alt_conn.network.get_quota(project).networks == 3
        # The quota is enforced: 409 OverQuota once the project owns 3 networks.
        room = 3 - len(list(alt_conn.network.networks(project_id=project)))
        made = []
        try:
            for i in range(room):
                made.append(alt_conn.network.create_network(name=f"quota-{i}"))
            with pytest.raises(exceptions.ConflictException):
                made.append(alt_conn.network.create_network(name="quota-over"))
        finally:
            for network in made:
                alt_conn.network.delete_network(network, ignore_missing=True)
        with pytest.raises(exceptions.ForbiddenException):
            demo_conn.network.update_quota(demo_conn.current_project_id, networks=1000)
    finally:
        admin_conn.network.delete_quota(project)
    assert alt_conn.network.get_quota(project).networks == 100


def test_quota_usage_details(demo_conn, name, cleanup):
    network, _ = tenant_network(demo_conn, name, cleanup, cidr="10.82.0.0/24")
    details = demo_conn.network.get_quota(demo_conn.current_project_id, details=True)
    assert details.networks["limit"] == 100
    assert details.networks["used"] >= 1
