"""A bad scenario gets every problem at once, each as FILE:LINE: PATH: MESSAGE, and nothing runs."""

import pytest

from xloudnet.cli import main
from xloudnet.scenarios.loader import ScenarioError, load
from xloudnet.scenarios.runner import build


def problems_of(path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        build(path)
    return [str(p) for p in caught.value.problems]


def test_undefined_subnet_on_a_router_interface_names_file_line_and_field(scenario_file):
    path = scenario_file(base="""\
networks:
  - {name: web-net}
subnets:
  - {name: web-sub, network: web-net, cidr: 10.0.1.0/24}
routers:
  - name: r
    interfaces:
      - web-sub
      - db-sub
""")
    assert problems_of(path) == [f"{path}:9: routers[0].interfaces[1]: subnet 'db-sub' is not defined"]


def test_every_problem_is_reported_at_once_in_line_order(scenario_file):
    path = scenario_file(base="""\
networks:
  - {name: net, mtu: 10}
  - {name: ok}
subnets:
  - {name: s, network: ok, cidr: 10.0.0.0/24, colour: blue}
  - {name: t, network: missing, cidr: 10.0.1.0/24}
servers:
  - {name: vm, network: ok, security_groups: [nope]}
expect:
  - {name: a, only: {from: vm, to: vm, services: [tcp/abc]}}
  - {name: b}
""")
    problems = problems_of(path)
    assert problems == [
        f"{path}:2: networks[0].mtu: Input should be greater than or equal to 68",
        f"{path}:5: subnets[0].colour: unknown field (not part of the scenario format; see `xloudnet scenario schema`)",
        f"{path}:6: subnets[1].network: network 'missing' is not defined",
        f"{path}:8: servers[0].security_groups[0]: security group 'nope' is not defined",
        f"{path}:10: expect[0].only.services: 'tcp/abc' is not a service (like tcp/5432, udp/53, icmp/8, gre, any)",
        f"{path}:11: expect[1]: an intent has exactly one of reach, isolated, only, exposure, qos",
    ]


def test_references_to_an_invalid_item_are_not_reported_twice(scenario_file):
    path = scenario_file(base="""\
networks:
  - {name: net, mtu: 10}
subnets:
  - {name: s, network: net, cidr: 10.0.0.0/24}
""")
    assert problems_of(path) == [f"{path}:2: networks[0].mtu: Input should be greater than or equal to 68"]


def test_yaml_syntax_error_names_its_line(scenario_file):
    path = scenario_file(base="networks:\n  - {name: a}\n  - {name: b\nsubnets: []\n")
    problems = problems_of(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:4: not valid YAML")


def test_a_scenario_must_be_a_mapping(scenario_file):
    path = scenario_file(base="- just\n- a list\n")
    assert problems_of(path) == [f"{path}:1: a scenario must be a mapping (name, networks, ...)"]


def test_duplicate_names_and_ids_are_refused(scenario_file):
    path = scenario_file(base="""\
networks:
  - {name: a, id: 11111111-1111-1111-1111-111111111111}
  - {name: a}
  - {name: b, id: 11111111-1111-1111-1111-111111111111}
""")
    assert problems_of(path) == [
        f"{path}:3: networks[1].name: network 'a' is defined twice in project 'demo' (first at networks[0])",
        f"{path}:4: networks[2].id: id '11111111-1111-1111-1111-111111111111' is used twice (first at networks[0])",
    ]


def test_floating_ip_on_a_network_that_is_not_external_is_refused_before_provisioning(scenario_file):
    path = scenario_file(base="""\
networks: [{name: net}]
subnets: [{name: s, network: net, cidr: 10.0.0.0/24}]
servers:
  - {name: vm, network: net, floating_ip: net}
""")
    assert problems_of(path) == [f"{path}:4: servers[0].floating_ip: network 'net' is not external "
                                 f"(set external: true on it)"]


def test_an_api_refusal_names_the_resource_line_and_keeps_nothing(scenario_file):
    path = scenario_file(base="""\
networks: [{name: net}]
subnets: [{name: s, network: net, cidr: 10.0.0.0/24}]
servers:
  - {name: ok, network: net}
  - {name: clash, network: net, fixed_ips: [{subnet: s, ip_address: 10.0.0.200}]}
  - {name: clash2, network: net, fixed_ips: [{subnet: s, ip_address: 10.0.0.200}]}
""")
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:6: servers[2]: the API refused it: IpAddressAlreadyAllocated")


def test_ids_given_in_the_file_are_kept(scenario_file):
    net_id, port_id = "0b9f7c43-4a5e-4a6e-9d55-7f1f5a0c0001", "0b9f7c43-4a5e-4a6e-9d55-7f1f5a0c0002"
    _, _, provisioned = build(scenario_file(base=f"""\
networks: [{{name: net, id: {net_id}}}]
subnets: [{{name: s, network: {net_id}, cidr: 10.0.0.0/24}}]
security_groups: [{{name: default, id: 0b9f7c43-4a5e-4a6e-9d55-7f1f5a0c0003}}, {{name: g, id: 0b9f7c43-4a5e-4a6e-9d55-7f1f5a0c0004}}]
servers: [{{name: vm, network: net, id: {port_id}, security_groups: [g]}}]
"""))
    store = provisioned.plane.store
    assert store.get("networks", net_id)["name"] == "net"
    assert store.get("ports", port_id)["security_groups"] == ["0b9f7c43-4a5e-4a6e-9d55-7f1f5a0c0004"]
    assert store.get("security_groups", "0b9f7c43-4a5e-4a6e-9d55-7f1f5a0c0003")["name"] == "default"


def test_run_exits_2_and_prints_one_line_per_problem(scenario_file, capsys):
    path = scenario_file(base="networks: [{name: n, shared: maybe}]\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:1: networks[0].shared: Input should be a valid boolean, unable to interpret input\n" in err
    assert "Traceback" not in err


def test_load_accepts_every_shipped_scenario():
    from scenario_cases import SHIPPED

    for path in SHIPPED:
        load(path)


def test_every_kind_of_resource_keeps_its_given_id(scenario_file):
    ids = {kind: f"0b9f7c43-4a5e-4a6e-9d55-7f1f5a0c01{n:02d}" for n, kind in enumerate(
        ["ext", "net", "sub", "extsub", "router", "group", "rule", "port", "fip", "policy", "qrule"])}
    _, _, provisioned = build(scenario_file(base=f"""\
qos_policies:
  - {{name: q, id: {ids['policy']}, rules: [{{type: bandwidth_limit, id: {ids['qrule']}, max_kbps: 1000}}]}}
networks:
  - {{name: ext, id: {ids['ext']}, external: true}}
  - {{name: net, id: {ids['net']}}}
subnets:
  - {{name: extsub, id: {ids['extsub']}, network: ext, cidr: 203.0.113.0/24}}
  - {{name: sub, id: {ids['sub']}, network: net, cidr: 10.0.0.0/24}}
routers:
  - {{name: r, id: {ids['router']}, external_gateway_info: {{network: ext}}, interfaces: [sub]}}
security_groups:
  - name: g
    id: {ids['group']}
    rules: [{{id: {ids['rule']}, direction: ingress, protocol: tcp}}]
ports:
  - {{name: p, id: {ids['port']}, network: net, security_groups: [g], qos_policy: q}}
floating_ips:
  - {{id: {ids['fip']}, floating_network: ext, port: p}}
"""))
    store = provisioned.plane.store
    for table, kind in (("networks", "ext"), ("networks", "net"), ("subnets", "sub"), ("subnets", "extsub"),
                        ("routers", "router"), ("security_groups", "group"), ("security_group_rules", "rule"),
                        ("ports", "port"), ("floatingips", "fip"), ("qos_policies", "policy")):
        assert store.get(table, ids[kind]) is not None, kind
    assert store.get("ports", ids["port"])["qos_policy_id"] == ids["policy"]
    assert store.get("floatingips", ids["fip"])["port_id"] == ids["port"]
    assert ids["qrule"] in {r["id"] for r in store.table("qos_rules").values()}


def test_traffic_flow_names_are_unique(scenario_file):
    path = scenario_file(base="""\
servers: []
traffic:
  flows:
    - {name: f, from: a, to: b, rate_kbps: 1}
    - {name: f, from: a, to: b, rate_kbps: 1}
""")
    problems = problems_of(path)
    assert f"{path}:5: traffic.flows[1].name: flow 'f' is defined twice (first at traffic.flows[0])" in problems
    assert f"{path}:4: traffic.flows[0].from: port 'a' is not defined" in problems


def test_undefined_address_scope_and_subnet_pool_are_named_with_their_lines(scenario_file):
    path = scenario_file(base="""\
subnet_pools:
  - {name: pool, prefixes: [10.0.0.0/16], address_scope: nowhere}
networks:
  - {name: net}
subnets:
  - {name: sub, network: net, cidr: 10.0.1.0/24, subnet_pool: missing}
""")
    assert problems_of(path) == [
        f"{path}:2: subnet_pools[0].address_scope: address scope 'nowhere' is not defined",
        f"{path}:6: subnets[0].subnet_pool: subnet pool 'missing' is not defined",
    ]


def test_a_pool_the_api_refuses_for_its_scope_is_a_file_problem(scenario_file):
    path = scenario_file(base="""\
address_scopes:
  - {name: v6-only, ip_version: 6}
subnet_pools:
  - {name: pool, prefixes: [10.0.0.0/16], address_scope: v6-only}
""")
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:4: subnet_pools[0]: the API refused it: "
                              "IllegalSubnetPoolIpVersionAssociationToAddressScope")
