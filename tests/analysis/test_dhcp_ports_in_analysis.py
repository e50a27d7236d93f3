"""The analyser with the simulated DHCP agent: DHCP ports are infrastructure — out of the matrix,
never filtered, reachable by id for whoever may see them — and what-if forks make their own."""

from __future__ import annotations

from xloudnet.analysis import Session
from xloudnet.control.context import Context
from xloudnet.control.plane import ControlPlane

DEMO = Context(project_id="demo", user_id="demo-user", roles=frozenset({"member", "reader"}))


def _cloud():
    plane = ControlPlane()
    net = plane.networks.create(DEMO, {"name": "net1"})
    plane.subnets.create(DEMO, {"network_id": net["id"], "cidr": "10.0.0.0/24", "ip_version": 4})
    vms = [plane.ports.create(DEMO, {"network_id": net["id"], "name": n, "device_owner": "compute:nova"})
           for n in ("vm1", "vm2")]
    [dhcp] = [p for p in plane.store.table("ports").values() if p["device_owner"] == "network:dhcp"]
    return plane, net, vms, dhcp


def test_matrix_endpoints_leave_the_dhcp_port_out():
    plane, _net, vms, dhcp = _cloud()
    answer = Session(plane, DEMO).matrix(protocol="tcp", destination_port=22)
    assert sorted(answer.sources) == sorted(v["id"] for v in vms)
    assert dhcp["id"] not in answer.destinations


def test_dhcp_port_is_reached_unfiltered_by_its_id():
    plane, _net, vms, dhcp = _cloud()
    # vm1's default group lets it send anything; the DHCP port has no filter of its own.
    answer = Session(plane, DEMO).reach(source={"port_id": vms[0]["id"]}, destination={"port_id": dhcp["id"]},
                                        protocol="udp", destination_port=67)
    assert answer.disposition == "ACCEPTED"
    assert answer.flow.destination_ip == "10.0.0.2"


def test_whatif_subnet_on_a_fork_makes_a_dhcp_port_there_only():
    plane, net, vms, _dhcp = _cloud()
    before = len(plane.store.table("ports"))
    change = {"method": "POST", "path": "/v2.0/subnets",
              "body": {"subnet": {"network_id": net["id"], "cidr": "10.0.1.0/24", "ip_version": 4}}}
    answer = Session(plane, DEMO).whatif(changes=[change], protocol="tcp", destination_port=22)
    assert answer.changes_applied == 1
    assert len(plane.store.table("ports")) == before  # the live plane is untouched


def test_topology_graph_has_no_node_for_the_dhcp_port():
    plane, _net, vms, dhcp = _cloud()
    graph = Session(plane, DEMO).topology()
    assert f"port:{dhcp['id']}" not in graph
    assert all(f"port:{v['id']}" in graph for v in vms)
