"""Import brings a cloud's RBAC shares along: ``shared_with`` on the shared resources, and the
scenario provisions the same access (no server: the cloud is given as Neutron JSON)."""

from __future__ import annotations

from xloudnet.cloud.importer import scenario_yaml, to_scenario
from xloudnet.cloud.inventory import COLLECTIONS, Inventory
from xloudnet.control.context import Context
from xloudnet.scenarios.runner import build

OWNER, TARGET, OTHER = "a" * 32, "b" * 32, "c" * 32


def _entry(rid, object_type, object_id, target, action="access_as_shared"):
    return {"id": rid, "project_id": OWNER, "object_type": object_type, "object_id": object_id,
            "action": action, "target_tenant": target}


def _cloud() -> Inventory:
    group = {"id": "5f0c1b7e-0000-4000-8000-000000000001", "name": "ops", "project_id": OWNER,
             "security_group_rules": []}
    net = {"id": "5f0c1b7e-0000-4000-8000-000000000002", "name": "lab", "project_id": OWNER, "shared": True}
    policy = {"id": "5f0c1b7e-0000-4000-8000-000000000003", "name": "slow", "project_id": OWNER, "rules": []}
    target_net = {"id": "5f0c1b7e-0000-4000-8000-000000000004", "name": "t-net", "project_id": TARGET}
    return Inventory(
        project_id=OWNER, project_names={OWNER: "owner", TARGET: "target"}, all_projects=True,
        networks=[net, target_net], security_groups=[group], qos_policies=[policy],
        rbac_policies=[
            _entry("e1", "security_group", group["id"], TARGET),
            _entry("e2", "network", net["id"], "*"),            # the network's shared flag already
            _entry("e3", "qos_policy", policy["id"], OTHER),     # a project that owns nothing visible
            _entry("e4", "network", net["id"], OWNER),           # grants the owner nothing
            _entry("e5", "network", net["id"], TARGET, "access_as_external"),
        ])


def test_rbac_entries_are_read_with_the_rest_of_the_cloud():
    assert ("rbac_policies", "/rbac-policies", "rbac_policies") in COLLECTIONS


def test_shares_become_shared_with_by_project_name():
    scenario = to_scenario(_cloud(), "lab")
    assert [g.shared_with for g in scenario.security_groups] == [["target"]]
    assert [(n.name, n.shared, n.shared_with) for n in scenario.networks] == [("lab", True, []), ("t-net", False, [])]
    assert scenario.qos_policies[0].shared_with == [f"project-{OTHER[:8]}"]
    assert {p.name: p.id for p in scenario.projects}[f"project-{OTHER[:8]}"] == OTHER


def test_the_imported_file_provisions_the_same_access(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(scenario_yaml(to_scenario(_cloud(), "lab")))
    _, _, provisioned = build(path)
    plane = provisioned.plane
    group = plane.store.get("security_groups", "5f0c1b7e-0000-4000-8000-000000000001")
    assert plane.security_groups.visible(Context(project_id=TARGET, roles=frozenset({"member"})), group)
    assert not plane.security_groups.visible(Context(project_id=OTHER, roles=frozenset({"member"})), group)
    policy = plane.store.get("qos_policies", "5f0c1b7e-0000-4000-8000-000000000003")
    assert plane.qos_policies.visible(Context(project_id=OTHER, roles=frozenset({"member"})), policy)


def test_an_address_group_share_is_imported_and_provisioned_again(tmp_path):
    group = {"id": "5f0c1b7e-0000-4000-8000-000000000005", "name": "jump-hosts", "project_id": OWNER,
             "addresses": ["10.2.0.0/28"]}
    cloud = Inventory(project_id=OWNER, project_names={OWNER: "owner", TARGET: "target"}, all_projects=True,
                      networks=[{"id": "5f0c1b7e-0000-4000-8000-000000000006", "name": "t-net", "project_id": TARGET}],
                      address_groups=[group],
                      rbac_policies=[_entry("e6", "address_group", group["id"], TARGET)])
    scenario = to_scenario(cloud, "lab")
    assert [(a.name, a.shared_with) for a in scenario.address_groups] == [("jump-hosts", ["target"])]
    path = tmp_path / "lab.yaml"
    path.write_text(scenario_yaml(scenario))
    _, _, provisioned = build(path)
    [entry] = provisioned.plane.store.table("rbac_policies").values()
    assert (entry["object_type"], entry["object_id"], entry["target_tenant"]) == ("address_group", group["id"], TARGET)
