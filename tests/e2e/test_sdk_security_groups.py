"""openstacksdk: security groups and rules."""

from __future__ import annotations

import pytest
from openstack import exceptions

pytestmark = pytest.mark.e2e


def test_default_security_group_exists(demo_conn):
    """Every project has a ``default`` group (created lazily), with Neutron's four rules."""
    groups = list(demo_conn.network.security_groups(name="default", project_id=demo_conn.current_project_id))
    assert len(groups) == 1
    default = groups[0]
    assert default.description == "Default security group"
    raw = default.security_group_rules
    signature = {(r["direction"], r["ethertype"], r["protocol"], r["remote_group_id"]) for r in raw}
    assert signature == {
        ("egress", "IPv4", None, None),
        ("egress", "IPv6", None, None),
        ("ingress", "IPv4", None, default.id),
        ("ingress", "IPv6", None, default.id),
    }, raw
    with pytest.raises(exceptions.ConflictException):
        demo_conn.network.delete_security_group(default)


def test_security_group_lifecycle_with_ssh_https_icmp_rules(demo_conn, name, cleanup):
    group = demo_conn.network.create_security_group(name=name("sg"), description="web servers")
    cleanup(lambda: demo_conn.network.delete_security_group(group, ignore_missing=True))
    assert group.description == "web servers"
    # New groups come with egress-any rules for both ethertypes.
    assert sorted((r["direction"], r["ethertype"]) for r in group.security_group_rules) == [
        ("egress", "IPv4"),
        ("egress", "IPv6"),
    ]
    ssh = demo_conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", ether_type="IPv4", protocol="tcp",
        port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0",
    )
    https = demo_conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", ether_type="IPv4", protocol="tcp",
        port_range_min=443, port_range_max=443, remote_ip_prefix="203.0.113.0/24",
    )
    icmp = demo_conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", ether_type="IPv4", protocol="icmp",
    )
    assert (ssh.protocol, ssh.port_range_min, ssh.port_range_max) == ("tcp", 22, 22)
    assert ssh.remote_ip_prefix == "0.0.0.0/0"
    assert https.remote_ip_prefix == "203.0.113.0/24"
    assert (icmp.protocol, icmp.port_range_min, icmp.port_range_max) == ("icmp", None, None)
    assert ssh.security_group_id == group.id and ssh.project_id == demo_conn.current_project_id

    fetched = demo_conn.network.get_security_group(group.id)
    rule_ids = {r["id"] for r in fetched.security_group_rules}
    assert {ssh.id, https.id, icmp.id} <= rule_ids and len(rule_ids) == 5
    listed = {r.id for r in demo_conn.network.security_group_rules(security_group_id=group.id)}
    assert listed == rule_ids
    assert demo_conn.network.find_security_group(group.name).id == group.id

    # The same rule again (null remote ≡ 0.0.0.0/0) → 409 SecurityGroupRuleExists.
    with pytest.raises(exceptions.ConflictException) as raised:
        demo_conn.network.create_security_group_rule(
            security_group_id=group.id, direction="ingress", ether_type="IPv4", protocol="tcp",
            port_range_min=22, port_range_max=22,
        )
    assert ssh.id in str(raised.value)

    demo_conn.network.delete_security_group_rule(https)
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.get_security_group_rule(https.id)
    renamed = demo_conn.network.update_security_group(group, name=group.name + "-2", description="ssh only")
    assert renamed.description == "ssh only"
    demo_conn.network.delete_security_group(group)
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.get_security_group(group.id)
    with pytest.raises(exceptions.NotFoundException):
        demo_conn.network.get_security_group_rule(ssh.id)


def test_invalid_rules_are_bad_requests(demo_conn, name, cleanup):
    group = demo_conn.network.create_security_group(name=name("sg"))
    cleanup(lambda: demo_conn.network.delete_security_group(group, ignore_missing=True))
    for bad in (
        {"protocol": "tcp", "port_range_min": 100, "port_range_max": 22},  # min > max
        {"protocol": "no-such-proto"},
        {"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "2001:db8::/64"},
        {"port_range_min": 22, "port_range_max": 22},  # ports without a protocol
    ):
        with pytest.raises(exceptions.BadRequestException):
            demo_conn.network.create_security_group_rule(
                security_group_id=group.id, direction="ingress", ether_type="IPv4", **bad
            )


def test_remote_group_rule_and_ipv6_icmp(demo_conn, name, cleanup):
    group = demo_conn.network.create_security_group(name=name("sg"))
    cleanup(lambda: demo_conn.network.delete_security_group(group, ignore_missing=True))
    peers = demo_conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", ether_type="IPv4", protocol="tcp",
        port_range_min=5432, port_range_max=5432, remote_group_id=group.id,
    )
    assert peers.remote_group_id == group.id and peers.remote_ip_prefix is None
    icmp6 = demo_conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", ether_type="IPv6", protocol="icmp",
    )
    assert icmp6.protocol == "ipv6-icmp"


def test_other_project_cannot_see_or_use_a_group(demo_conn, alt_conn, name, cleanup):
    group = demo_conn.network.create_security_group(name=name("sg"))
    cleanup(lambda: demo_conn.network.delete_security_group(group, ignore_missing=True))
    assert alt_conn.network.find_security_group(group.name) is None
    with pytest.raises(exceptions.NotFoundException):
        alt_conn.network.get_security_group(group.id)
    with pytest.raises(exceptions.NotFoundException):
        alt_conn.network.create_security_group_rule(security_group_id=group.id, direction="ingress")
