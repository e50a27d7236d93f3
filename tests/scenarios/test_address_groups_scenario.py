"""Scenario files declare address groups and rules that name them (``remote_address_group``):
provisioned through the API, checked by the intents (exposure finds the sources a group admits),
and bad references reported at their line."""

from __future__ import annotations

import pytest

from xloudnet.scenarios.loader import ScenarioError
from xloudnet.scenarios.runner import build, run_file

CLOUD = """\
name: address groups
networks:
  - {name: public, project: admin, external: true}
  - {name: web-net}
  - {name: db-net}
  - {name: lab-net}
subnets:
  - {name: public-sub, project: admin, network: public, cidr: 203.0.113.0/24, enable_dhcp: false}
  - {name: web-sub, network: web-net, cidr: 10.0.1.0/24}
  - {name: db-sub, network: db-net, cidr: 10.0.2.0/24}
  - {name: lab-sub, network: lab-net, cidr: 10.0.3.0/24}
routers:
  - {name: edge, external_gateway_info: {network: public}, interfaces: [web-sub, db-sub, lab-sub]}
address_groups:
  - {name: app-hosts, addresses: [10.0.1.0/24]}
  - {name: partners, description: partner offices, addresses: [100.100.0.0/16, 2001:db8:77::/48]}
security_groups:
  - name: web
    rules:
      - {direction: ingress, protocol: tcp, port_range_min: 80, port_range_max: 80, remote_ip_prefix: 0.0.0.0/0}
      - {direction: ingress, protocol: tcp, port_range_min: 8443, port_range_max: 8443, remote_address_group: partners}
  - name: db
    rules:
      - {direction: ingress, protocol: tcp, port_range_min: 5432, port_range_max: 5432, remote_address_group: app-hosts}
servers:
  - {name: web-1, network: web-net, security_groups: [web], floating_ip: public}
  - {name: db-1, network: db-net, security_groups: [db]}
  - {name: lab-1, network: lab-net, security_groups: [web]}
"""

EXPECT = """\
expect:
  - name: the web tier reaches postgres through the address group
    reach: {from: web-1, to: db-1, protocol: tcp, port: 5432}
  - name: the lab is outside the group
    isolated: {from: lab-1, to: db-1}
  - name: partners reach 8443 on the web server, everybody 80
    exposure:
      equal:
        - {to: web-1, services: [tcp/80, tcp/8443]}
"""


def test_address_groups_are_provisioned_and_the_intents_hold(tmp_path):
    path = tmp_path / "ag.yaml"
    path.write_text(CLOUD + EXPECT)
    run = run_file(path)
    assert [r.status for r in run.results] == ["pass", "pass", "pass"], [r.summary for r in run.results]


def test_provisioned_groups_keep_their_addresses_and_rules_name_them(tmp_path):
    path = tmp_path / "ag.yaml"
    path.write_text(CLOUD)
    provisioned = build(path)[2]
    store = provisioned.plane.store
    groups = {g["name"]: g for g in store.table("address_groups").values()}
    assert groups["partners"]["addresses"] == ["100.100.0.0/16", "2001:db8:77::/48"]
    named = {r["remote_address_group_id"] for r in store.table("security_group_rules").values()}
    assert {groups["partners"]["id"], groups["app-hosts"]["id"]} <= named


@pytest.mark.parametrize(("rule", "message"), [
    ("{direction: ingress, remote_address_group: nope}", "address group 'nope' is not defined"),
    ("{direction: ingress, remote_address_group: app-hosts, remote_ip_prefix: 10.0.0.0/8}",
     "a rule takes one of remote_ip_prefix, remote_group and remote_address_group"),
])
def test_bad_address_group_references_are_reported_at_their_line(tmp_path, rule, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"""\
address_groups:
  - {{name: app-hosts, addresses: [10.0.1.0/24]}}
security_groups:
  - name: db
    rules:
      - {rule}
""")
    with pytest.raises(ScenarioError) as caught:
        build(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:6: security_groups[0].rules[0].remote_address_group: {message}"]


def test_an_address_without_its_mask_is_reported_at_its_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("address_groups:\n  - name: g\n    addresses: [10.0.0.0/8, 10.1.2.3]\n")
    with pytest.raises(ScenarioError) as caught:
        build(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:3: address_groups[0].addresses[1]: '10.1.2.3' is not a CIDR with its mask"]
