"""What-if with address groups: changing a group's addresses, creating or deleting groups and
the rules that name them report exactly the pairs and services whose verdict changes (the
brute-force oracle of ``test_whatif_exact``)."""

from __future__ import annotations

import pytest
from test_whatif_exact import _context, _expected_exact, _reported, _visible_ports

AGS = "/v2.0/address-groups"
RULES = "/v2.0/security-group-rules"


@pytest.fixture
def groups(topo, demo):
    """Two address groups of demo's: ``ops`` (bastion's address) named by web's ingress
    tcp/5432 rule and by bastion's egress udp/53 rule, and ``spare`` named by nothing."""
    ops = demo.create("address-groups", "address_group", {"name": "ops", "addresses": [f"{topo.bastion_ip}/32"]})
    spare = demo.create("address-groups", "address_group", {"name": "spare", "addresses": ["10.0.1.0/24"]})
    pg = demo.create("security-group-rules", "security_group_rule", {
        "security_group_id": topo.sg_web, "direction": "ingress", "protocol": "tcp", "port_range_min": 5432,
        "port_range_max": 5432, "remote_address_group_id": ops["id"]})
    demo.create("security-group-rules", "security_group_rule", {
        "security_group_id": topo.sg_bastion, "direction": "egress", "protocol": "udp", "port_range_min": 53,
        "port_range_max": 53, "remote_address_group_id": ops["id"]})
    return {"ops": ops["id"], "spare": spare["id"], "pg_rule": pg["id"]}


def _scenarios(topo, g) -> dict:
    def action(name, agid, *addresses):
        return {"method": "PUT", "path": f"{AGS}/{agid}/{name}", "body": {"addresses": list(addresses)}}

    return {
        "add_web1_to_ops": [action("add_addresses", g["ops"], f"{topo.web1_ip}/32")],
        "add_subnet_b_to_ops": [action("add_addresses", g["ops"], "10.0.1.0/24")],
        "remove_bastion_from_ops": [action("remove_addresses", g["ops"], f"{topo.bastion_ip}/32")],
        "swap_ops_addresses": [action("add_addresses", g["ops"], "10.0.0.0/24"),
                               action("remove_addresses", g["ops"], f"{topo.bastion_ip}/32")],
        "change_unused_group": [action("add_addresses", g["spare"], "10.0.0.0/24")],
        "create_group": [{"method": "POST", "path": AGS, "body": {"address_group": {"addresses": ["10.0.0.0/8"]}}}],
        "delete_unused_group": [{"method": "DELETE", "path": f"{AGS}/{g['spare']}"}],
        "rename_group": [{"method": "PUT", "path": f"{AGS}/{g['ops']}", "body": {"address_group": {"name": "x"}}}],
        "delete_rule_naming_group": [{"method": "DELETE", "path": f"{RULES}/{g['pg_rule']}"}],
        "add_rule_naming_group": [{"method": "POST", "path": RULES, "body": {"security_group_rule": {
            "security_group_id": topo.sg_web, "direction": "ingress", "protocol": "udp",
            "remote_address_group_id": g["spare"]}}}],
    }


SCENARIOS = ["add_web1_to_ops", "add_subnet_b_to_ops", "remove_bastion_from_ops", "swap_ops_addresses",
             "change_unused_group", "create_group", "delete_unused_group", "rename_group",
             "delete_rule_naming_group", "add_rule_naming_group"]
NOTHING_CHANGES = {"change_unused_group", "create_group", "delete_unused_group", "rename_group"}


@pytest.mark.parametrize("name", SCENARIOS)
def test_whatif_address_group_changes_equal_brute_force(plane, topo, groups, demo, name):
    changes = _scenarios(topo, groups)[name]
    ends = _visible_ports(demo)
    gained, lost = _expected_exact(plane, _context(plane, demo), changes, ends)
    answer = demo.ask("/whatif", {"changes": changes})
    assert _reported(answer["newly_allowed"]) == gained
    assert _reported(answer["newly_blocked"]) == lost
    if name in NOTHING_CHANGES:
        assert answer["evaluated"]["flows"] == 0 and not gained and not lost
    else:
        assert gained or lost  # each of these scenarios does change something


def test_whatif_adding_an_address_names_the_rule_that_now_admits(topo, groups, demo):
    changes = _scenarios(topo, groups)["add_web1_to_ops"]
    answer = demo.ask("/whatif", {"changes": changes, "protocol": "tcp", "destination_port": 5432})
    pairs = {(i["source"]["port_id"], i["destination"]["port_id"]) for i in answer["newly_allowed"]}
    assert (topo.web1, topo.web2) in pairs and not answer["newly_blocked"]


def test_whatif_deleting_a_group_in_use_is_refused_like_the_api(topo, groups, demo):
    response = demo.sim("POST", "/whatif", {"changes": [{"method": "DELETE", "path": f"{AGS}/{groups['ops']}"}]})
    assert response.status_code == 409, response.text
    assert response.json()["NeutronError"]["type"] == "AddressGroupInUse"
