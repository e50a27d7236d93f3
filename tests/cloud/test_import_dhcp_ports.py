"""Importing a cloud whose DHCP agent has ports: the file leaves them out, and the copy's
simulated agent remakes exactly one per DHCP network without taking an address the file pins."""

from __future__ import annotations

import pytest

from xloudnet.cloud.importer import scenario_yaml, to_scenario
from xloudnet.cloud.inventory import Inventory
from xloudnet.scenarios.loader import load
from xloudnet.scenarios.provision import embedded_plane, provision

DEMO = "d" * 32
NET, SUB = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
DHCP, VM = "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"


def _cloud(dhcp_ip: str, vm_ip: str) -> Inventory:
    net = {"id": NET, "name": "app", "project_id": DEMO}
    subnet = {"id": SUB, "name": "app-sub", "project_id": DEMO, "network_id": net["id"],
              "cidr": "10.0.0.0/24", "ip_version": 4, "gateway_ip": "10.0.0.1", "enable_dhcp": True,
              "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.254"}]}
    ports = [
        {"id": DHCP, "name": "", "network_id": net["id"], "device_owner": "network:dhcp",
         "device_id": f"dhcpfeed-{net['id']}", "project_id": DEMO, "security_groups": [],
         "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": dhcp_ip}]},
        {"id": VM, "name": "vm", "network_id": net["id"], "device_owner": "compute:nova",
         "device_id": "server-1", "project_id": DEMO, "security_groups": [],
         "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": vm_ip}]},
    ]
    return Inventory(project_id=DEMO, project_names={DEMO: "demo"}, networks=[net], subnets=[subnet],
                     ports=ports)


@pytest.mark.parametrize("dhcp_ip,vm_ip,copy_dhcp", [
    ("10.0.0.2", "10.0.0.3", "10.0.0.2"),    # a fresh cloud: the agent took the first address
    ("10.0.0.181", "10.0.0.2", "10.0.0.3"),  # random allocation: the VM holds .2 and keeps it
])
def test_imported_cloud_gets_one_dhcp_port_and_keeps_the_vms_address(tmp_path, dhcp_ip, vm_ip, copy_dhcp):
    scenario = to_scenario(_cloud(dhcp_ip, vm_ip))
    assert [p.id for p in scenario.ports] == [VM]  # the agent's port is not in the file
    path = tmp_path / "cloud.yaml"
    path.write_text(scenario_yaml(scenario))
    loaded, source = load(path)
    plane, ids = embedded_plane()
    provision(loaded, source, plane, ids=ids)
    ports = list(plane.store.table("ports").values())
    dhcp = [p for p in ports if p["device_owner"] == "network:dhcp"]
    assert len(dhcp) == 1 and dhcp[0]["id"] != DHCP
    assert dhcp[0]["fixed_ips"][0]["ip_address"] == copy_dhcp
    vm = plane.store.get("ports", VM)
    assert vm["fixed_ips"][0]["ip_address"] == vm_ip


def test_cloud_without_dhcp_ports_imports_as_a_cloud_without_a_dhcp_agent(tmp_path):
    inventory = _cloud("10.0.0.2", "10.0.0.3")
    inventory.ports[:] = [p for p in inventory.ports if p["device_owner"] != "network:dhcp"]  # OVN-like
    scenario = to_scenario(inventory)
    assert scenario.dhcp_agent is False
    path = tmp_path / "cloud.yaml"
    path.write_text(scenario_yaml(scenario))
    assert "dhcp_agent: false" in path.read_text()
    loaded, source = load(path)
    plane, ids = embedded_plane()
    provision(loaded, source, plane, ids=ids)
    assert [p["device_owner"] for p in plane.store.table("ports").values()] == ["compute:nova"]
    assert "dhcp_agent_scheduler" not in {a for s in plane.services.values() for a in s.extensions}


def test_cloud_with_dhcp_ports_writes_no_dhcp_setting():
    assert to_scenario(_cloud("10.0.0.2", "10.0.0.3")).dhcp_agent is True
    assert "dhcp_agent" not in scenario_yaml(to_scenario(_cloud("10.0.0.2", "10.0.0.3")))
