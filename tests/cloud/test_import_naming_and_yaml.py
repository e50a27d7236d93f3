"""Import's choices, on a cloud given as Neutron JSON (no server): names, references, the ports
Neutron makes by itself, the default group's own rules, and YAML that reads back as written."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from xloudnet.cloud import flowyaml
from xloudnet.cloud.importer import scenario_yaml, to_scenario
from xloudnet.cloud.inventory import Inventory
from xloudnet.scenarios.loader import load

DEMO, ADMIN = "d" * 32, "a" * 32


def rule(rid, group, direction, ethertype="IPv4", remote_group=None, **extra):
    return {"id": rid, "security_group_id": group, "direction": direction, "ethertype": ethertype,
            "protocol": None, "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
            "remote_group_id": remote_group, **extra}


def cloud() -> Inventory:
    net = {"id": "net-1111-0000", "name": "app", "project_id": DEMO, "admin_state_up": True, "mtu": 1500,
           "shared": False, "router:external": False, "port_security_enabled": True, "tags": ["b", "a"]}
    twins = [{"id": f"net-{n}222-0000", "name": "dup", "project_id": DEMO} for n in (1, 2)]
    nameless = {"id": "net-3333-0000", "name": "", "project_id": DEMO}
    ext = {"id": "ext-0000-0000", "name": "app", "project_id": ADMIN, "router:external": True}
    subnet = {"id": "sub-1111-0000", "name": "app-sub", "project_id": DEMO, "network_id": net["id"],
              "cidr": "10.0.0.0/24", "ip_version": 4, "gateway_ip": "10.0.0.1",
              "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.254"}]}
    default = {"id": "sg-default-0", "name": "default", "project_id": DEMO, "security_group_rules": [
        rule("r1", "sg-default-0", "egress"), rule("r2", "sg-default-0", "egress", "IPv6"),
        rule("r3", "sg-default-0", "ingress", remote_group="sg-default-0"),
        rule("r4", "sg-default-0", "ingress", "IPv6", remote_group="sg-default-0"),
        rule("r5", "sg-default-0", "ingress", protocol="tcp", port_range_min=22, port_range_max=22)]}
    lone = {"id": "sg-lone-0000", "name": "lone", "project_id": DEMO, "security_group_rules": [
        rule("r6", "sg-lone-0000", "egress")]}
    router = {"id": "rt-1111-0000", "name": "edge", "project_id": DEMO, "routes": [],
              "external_gateway_info": {"network_id": ext["id"], "enable_snat": True, "external_fixed_ips": []}}
    ports = [
        {"id": "port-gw-0000", "network_id": ext["id"], "device_owner": "network:router_gateway",
         "device_id": router["id"], "project_id": "", "fixed_ips": []},
        {"id": "port-if-0000", "name": "", "network_id": net["id"], "device_owner": "network:router_interface",
         "device_id": router["id"], "project_id": DEMO, "security_groups": [],
         "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": "10.0.0.1"}]},
        {"id": "port-vm-0000", "name": "vm", "network_id": net["id"], "device_owner": "compute:nova",
         "device_id": "server-1", "project_id": DEMO, "security_groups": [default["id"], lone["id"]],
         "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": "10.0.0.5"}]},
    ]
    return Inventory(project_id=DEMO, project_names={DEMO: "demo"}, networks=[net, *twins, nameless, ext],
                     subnets=[subnet], security_groups=[default, lone], routers=[router], ports=ports)


def test_repeated_and_empty_names_get_the_id_prefix_and_unique_names_stay():
    names = [n.name for n in to_scenario(cloud()).networks]
    assert names == ["app", "dup-net-1222", "dup-net-2222", "network-net-3333", "app"]


def test_a_name_used_in_two_projects_is_referred_to_by_id():
    scenario = to_scenario(cloud())
    assert scenario.routers[0].external_gateway_info.network == "ext-0000-0000"
    assert scenario.subnets[0].network == "net-1111-0000"


def test_projects_without_a_visible_name_get_one_and_keep_their_id():
    scenario = to_scenario(cloud())
    assert {(p.name, p.id) for p in scenario.projects} == {("demo", DEMO), (f"project-{ADMIN[:8]}", ADMIN)}
    assert scenario.default_project == "demo"


def test_ports_neutron_makes_are_left_to_what_makes_them_and_interfaces_attach_by_port():
    scenario = to_scenario(cloud())
    assert [p.id for p in scenario.ports] == ["port-if-0000", "port-vm-0000"]
    interface = scenario.ports[0]
    assert interface.device_owner == "network:router_interface" and interface.device_id == ""
    assert [i.port for i in scenario.routers[0].interfaces] == [interface.name]


def test_default_group_rules_neutron_made_are_not_repeated_and_a_lone_egress_is_kept():
    default, lone = to_scenario(cloud()).security_groups
    assert [r.id for r in default.rules] == ["r5"] and default.keep_default_egress
    assert [r.id for r in lone.rules] == ["r6"] and not lone.keep_default_egress


def test_imported_file_passes_the_scenario_checks(tmp_path):
    path = tmp_path / "cloud.yaml"
    path.write_text(scenario_yaml(to_scenario(cloud(), "lab")))
    scenario, _source = load(path)
    assert scenario == to_scenario(cloud(), "lab")


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
items = st.dictionaries(st.text(min_size=1), st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1), inner, max_size=3),
    max_leaves=8), max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1), st.lists(items, max_size=3) | json_scalars, max_size=4))
def test_flow_yaml_reads_back_as_the_data_written(data):
    assert yaml.safe_load(flowyaml.dump(data)) == (data or None)


def test_address_scopes_and_subnet_pools_are_imported_and_subnets_name_their_pool(tmp_path):
    inv = cloud()
    inv.address_scopes = [{"id": "as-1111-0000", "name": "corp", "project_id": DEMO, "ip_version": 4,
                           "shared": False}]
    inv.subnetpools = [{"id": "sp-1111-0000", "name": "corp-pool", "project_id": DEMO, "prefixes": ["10.0.0.0/16"],
                        "default_prefixlen": "24", "min_prefixlen": "8", "max_prefixlen": "32",
                        "address_scope_id": "as-1111-0000", "shared": False, "is_default": False}]
    inv.subnets[0]["subnetpool_id"] = "sp-1111-0000"
    scenario = to_scenario(inv)
    [scope], [pool] = scenario.address_scopes, scenario.subnet_pools
    assert (scope.name, scope.id, scope.ip_version) == ("corp", "as-1111-0000", 4)
    assert (pool.name, pool.address_scope, pool.default_prefixlen, pool.prefixes) == ("corp-pool", "corp", 24, ["10.0.0.0/16"])
    assert scenario.subnets[0].subnet_pool == "corp-pool"
    path = tmp_path / "cloud.yaml"
    path.write_text(scenario_yaml(scenario))
    assert load(path)[0] == scenario
