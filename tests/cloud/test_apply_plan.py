"""``xloudnet apply``'s plan against a cloud given as Neutron JSON (no server, nothing sent)."""

from __future__ import annotations

from xloudnet.cloud.inventory import Inventory
from xloudnet.cloud.plan import plan
from xloudnet.cloud.planner import holds
from xloudnet.scenarios.schema import Scenario

DEMO = "d" * 32
FILE = Scenario.model_validate({
    "networks": [{"name": "web-net"}],
    "subnets": [{"name": "web-sub", "network": "web-net", "cidr": "10.0.1.0/24"}],
    "security_groups": [{"name": "web", "rules": [{"direction": "ingress", "protocol": "tcp",
                                                   "port_range_min": 443, "port_range_max": 443}]}],
    "ports": [{"name": "web-1", "network": "web-net", "security_groups": ["web"],
               "allowed_address_pairs": [{"ip_address": "10.0.1.200"}]}],
})


def cloud(**collections) -> Inventory:
    return Inventory(project_id=DEMO, project_names={DEMO: "demo"}, **collections)


def held(**changes) -> Inventory:
    """The cloud after FILE was applied to it (with ``changes`` to the network)."""
    net = {"id": "n1", "name": "web-net", "project_id": DEMO, "admin_state_up": True, "shared": False,
           "router:external": False, "port_security_enabled": True, "qos_policy_id": None, "description": "",
           "tags": [], **changes}
    sub = {"id": "s1", "name": "web-sub", "project_id": DEMO, "network_id": "n1", "cidr": "10.0.1.0/24",
           "enable_dhcp": True, "dns_nameservers": [], "host_routes": [], "description": "", "tags": []}
    group = {"id": "g1", "name": "web", "project_id": DEMO, "stateful": True, "description": "", "tags": [],
             "security_group_rules": [
                 {"id": "r1", "direction": "ingress", "ethertype": "IPv4", "protocol": "6", "port_range_min": 443,
                  "port_range_max": 443, "remote_ip_prefix": None, "remote_group_id": None}]}
    default = {"id": "g0", "name": "default", "project_id": DEMO, "security_group_rules": []}
    port = {"id": "p1", "name": "web-1", "project_id": DEMO, "network_id": "n1", "admin_state_up": True,
            "security_groups": ["g1"], "description": "", "qos_policy_id": None, "tags": [],
            "allowed_address_pairs": [{"ip_address": "10.0.1.200", "mac_address": "fa:16:3e:00:00:01"}]}
    return cloud(networks=[net], subnets=[sub], security_groups=[default, group], ports=[port])


def verbs(steps) -> list[tuple[str, str, str]]:
    return [(s.verb, s.kind, s.name) for s in steps]


def test_an_empty_cloud_gets_everything_created_in_dependency_order():
    steps = plan(FILE, cloud(security_groups=[{"id": "g0", "name": "default", "project_id": DEMO}]))
    assert [kind for verb, kind, _ in verbs(steps)] == ["network", "subnet", "security group",
                                                        "security group rule", "port"]
    assert {verb for verb, _, _ in verbs(steps)} == {"create"}


def test_a_cloud_that_holds_the_file_needs_nothing():
    assert {verb for verb, _, _ in verbs(plan(FILE, held()))} == {"unchanged"}


def test_a_differing_field_is_an_update_of_that_field_only():
    steps = plan(FILE, held(admin_state_up=False))
    update = [s for s in steps if s.verb == "update"]
    assert [(s.kind, s.name, s.detail) for s in update] == [("network", "web-net", "admin_state_up")]


def test_an_unknown_project_is_created_by_an_admin_but_a_member_uses_its_own():
    scenario = Scenario.model_validate({"default_project": "shop", "networks": [{"name": "n"}]})
    admin_view = Inventory(project_id=DEMO, project_names={DEMO: "admin"}, all_projects=True)
    assert verbs(plan(scenario, admin_view))[:1] == [("create", "project", "shop")]
    member_view = Inventory(project_id=DEMO, project_names={DEMO: "demo"}, all_projects=False)
    assert [kind for _, kind, _ in verbs(plan(scenario, member_view))] == ["network"]


def test_the_file_may_give_fewer_keys_than_the_cloud_and_lists_in_any_order():
    assert holds([{"ip_address": "10.0.0.9", "mac_address": "m"}, {"ip_address": "10.0.0.8"}],
                 [{"ip_address": "10.0.0.8"}, {"ip_address": "10.0.0.9"}])
    assert not holds([{"ip_address": "10.0.0.9"}], [{"ip_address": "10.0.0.9"}, {"ip_address": "10.0.0.8"}])
    assert not holds({"network_id": "a"}, {"network_id": "b"})


SCOPED = Scenario.model_validate({
    "address_scopes": [{"name": "corp", "ip_version": 4}],
    "subnet_pools": [{"name": "corp-pool", "prefixes": ["10.10.0.0/16"], "default_prefixlen": 24,
                      "address_scope": "corp"}],
    "networks": [{"name": "net"}],
    "subnets": [{"name": "sub", "network": "net", "cidr": "10.10.1.0/24", "subnet_pool": "corp-pool"}],
})


def test_scopes_and_pools_are_created_before_the_subnets_that_use_them():
    steps = plan(SCOPED, cloud(security_groups=[{"id": "g0", "name": "default", "project_id": DEMO}]))
    assert [kind for _, kind, _ in verbs(steps)] == ["address scope", "subnet pool", "network", "subnet"]


def test_a_pool_the_cloud_holds_with_string_prefix_lengths_is_unchanged():
    scope = {"id": "a1", "name": "corp", "project_id": DEMO, "ip_version": 4, "shared": False}
    pool = {"id": "sp1", "name": "corp-pool", "project_id": DEMO, "prefixes": ["10.10.0.0/16"],
            "default_prefixlen": "24", "min_prefixlen": "8", "max_prefixlen": "32", "address_scope_id": "a1",
            "shared": False, "is_default": False, "description": "", "tags": []}
    steps = plan(SCOPED, cloud(address_scopes=[scope], subnetpools=[pool]))
    assert [(v, k) for v, k, _ in verbs(steps)][:2] == [("unchanged", "address scope"), ("unchanged", "subnet pool")]
    moved = plan(SCOPED, cloud(address_scopes=[scope], subnetpools=[{**pool, "address_scope_id": None}]))
    update = [s for s in moved if s.kind == "subnet pool"]
    assert (update[0].verb, update[0].detail) == ("update", "address_scope_id")
