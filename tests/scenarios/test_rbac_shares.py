"""Scenarios share networks, QoS policies and security groups by RBAC (``shared_with``)."""

from __future__ import annotations

import pytest

from xloudnet.control.context import Context
from xloudnet.scenarios.loader import ScenarioError
from xloudnet.scenarios.runner import build, run_file

SHARED = """
name: shared-group
default_project: alpha
projects: [{name: alpha}, {name: beta}, {name: gamma}]
networks:
  - {name: beta-net, project: beta}
subnets:
  - {name: beta-sub, project: beta, network: beta-net, cidr: 10.2.0.0/24}
security_groups:
  - name: ssh-from-bastion
    project: alpha
    shared_with: [beta]
    rules:
      - {direction: ingress, protocol: tcp, port_range_min: 22, port_range_max: 22, remote_ip_prefix: 10.2.0.0/24}
servers:
  - {name: bastion, project: beta, network: beta-net, security_groups: [ssh-from-bastion]}
  - {name: app, project: beta, network: beta-net, security_groups: [ssh-from-bastion]}
expect:
  - name: the shared group lets ssh in
    reach: {from: bastion, to: app, protocol: tcp, port: 22}
  - name: and nothing else
    only: {from: bastion, to: app, services: [tcp/22]}
"""


def test_a_group_shared_with_another_project_filters_its_servers(scenario_file):
    path = scenario_file(base=SHARED)
    run = run_file(path)
    assert [r.status for r in run.results] == ["pass", "pass"], [r.as_dict() for r in run.results]
    _, _, provisioned = build(path)
    entries = list(provisioned.plane.store.table("rbac_policies").values())
    assert [(e["object_type"], e["target_tenant"]) for e in entries] == [
        ("security_group", provisioned.projects["beta"])]
    group = provisioned.id_of("security group", "ssh-from-bastion")
    gamma = Context(project_id=provisioned.projects["gamma"], roles=frozenset({"member", "reader"}))
    assert not provisioned.plane.security_groups.visible(gamma, provisioned.plane.store.get("security_groups", group))


def test_without_the_share_the_other_projects_server_cannot_use_the_group(scenario_file):
    path = scenario_file(base=SHARED.replace("    shared_with: [beta]\n", ""))
    with pytest.raises(ScenarioError) as caught:
        build(path)
    assert "SecurityGroupNotFound" in str(caught.value)


def test_a_share_with_everybody_is_made_by_an_admin(scenario_file):
    path = scenario_file(base=SHARED.replace("shared_with: [beta]", "shared_with: ['*']"))
    _, _, provisioned = build(path)
    [entry] = provisioned.plane.store.table("rbac_policies").values()
    assert entry["target_tenant"] == "*" and entry["project_id"] == provisioned.projects["alpha"]


@pytest.mark.parametrize(("share", "message"), [
    ("[delta]", "project 'delta' owns nothing in this scenario"),
    ("[alpha]", "'alpha' owns it"),
])
def test_shares_name_other_projects_of_the_file(scenario_file, share, message):
    path = scenario_file(base=SHARED.replace("shared_with: [beta]", f"shared_with: {share}"))
    with pytest.raises(ScenarioError) as caught:
        build(path)
    assert message in str(caught.value) and "shared_with" in str(caught.value)


NETWORK = """
name: shared-network
default_project: alpha
projects: [{name: alpha}, {name: beta}]
qos_policies:
  - {name: slow, project: alpha, shared_with: [beta], rules: [{type: bandwidth_limit, max_kbps: 1000}]}
networks:
  - {name: alpha-net, project: alpha, shared_with: [beta]}
subnets:
  - {name: alpha-sub, project: alpha, network: alpha-net, cidr: 10.1.0.0/24}
servers:
  - {name: a1, project: alpha, network: alpha-net}
  - {name: b1, project: beta, network: alpha-net, qos_policy: slow}
"""


def test_a_network_and_a_policy_shared_with_one_project_carry_its_servers(scenario_file):
    _, _, provisioned = build(scenario_file(base=NETWORK))
    kinds = sorted(e["object_type"] for e in provisioned.plane.store.table("rbac_policies").values())
    assert kinds == ["network", "qos_policy"]
    port = provisioned.plane.store.get("ports", provisioned.id_of("port", "b1"))
    assert port["project_id"] == provisioned.projects["beta"]
    assert port["qos_policy_id"] == provisioned.id_of("QoS policy", "slow")


ADDRESS_GROUP_SHARED = """
name: shared-address-group
default_project: alpha
projects: [{name: alpha}, {name: beta}]
address_groups:
  - {name: jump-hosts, project: alpha, addresses: [10.2.0.0/28], shared_with: [beta]}
networks:
  - {name: beta-net, project: beta}
subnets:
  - {name: beta-sub, project: beta, network: beta-net, cidr: 10.2.0.0/24}
security_groups:
  - name: app
    project: beta
    rules:
      - {direction: ingress, protocol: tcp, port_range_min: 22, port_range_max: 22, remote_address_group: jump-hosts}
servers:
  - {name: jump, project: beta, network: beta-net, fixed_ips: [{ip_address: 10.2.0.5}]}
  - {name: other, project: beta, network: beta-net, fixed_ips: [{ip_address: 10.2.0.100}]}
  - {name: app, project: beta, network: beta-net, fixed_ips: [{ip_address: 10.2.0.50}], security_groups: [app]}
expect:
  - name: the shared address group lets the jump host in
    reach: {from: jump, to: app, protocol: tcp, port: 22}
  - name: and no one outside it
    isolated: {from: other, to: app}
"""


def test_an_address_group_shared_with_another_project_serves_its_rules(scenario_file):
    path = scenario_file(base=ADDRESS_GROUP_SHARED)
    run = run_file(path)
    assert [r.status for r in run.results] == ["pass", "pass"], [r.as_dict() for r in run.results]
    _, _, provisioned = build(path)
    [entry] = provisioned.plane.store.table("rbac_policies").values()
    assert (entry["object_type"], entry["target_tenant"]) == ("address_group", provisioned.projects["beta"])


def test_without_the_share_another_projects_rule_cannot_name_the_address_group(scenario_file):
    path = scenario_file(base=ADDRESS_GROUP_SHARED.replace(", shared_with: [beta]", ""))
    with pytest.raises(ScenarioError) as caught:
        build(path)
    assert "AddressGroupNotFound" in str(caught.value)
