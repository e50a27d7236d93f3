"""The simulated DHCP agent over real HTTP: its ports and scheduling survive ``kill -9``, and
``serve --no-dhcp-agent`` serves a cloud without one."""

from __future__ import annotations

import pytest
from state_helpers import StateServer, client, login

pytestmark = pytest.mark.e2e


def _dhcp_ports(c, network_id):
    response = c.get("/ports", params={"network_id": network_id, "device_owner": "network:dhcp"})
    assert response.status_code == 200, response.text
    return response.json()["ports"]


def test_dhcp_ports_and_scheduling_come_back_identical_after_kill_9(tmp_path):
    server = StateServer(tmp_path / "state")
    try:
        base = server.start()
        admin, demo = login(base, "admin"), login(base, "demo")
        with client(base, admin) as a, client(base, demo) as c:
            served = c.post("/networks", json={"network": {"name": "served"}}).json()["network"]
            c.post("/subnets", json={"subnet": {"network_id": served["id"], "ip_version": 4, "cidr": "10.5.0.0/24"}})
            unhosted = c.post("/networks", json={"network": {"name": "unhosted"}}).json()["network"]
            c.post("/subnets", json={"subnet": {"network_id": unhosted["id"], "ip_version": 4, "cidr": "10.6.0.0/24"}})
            [agent] = a.get("/agents", params={"agent_type": "DHCP agent"}).json()["agents"]
            removed = a.delete(f"/agents/{agent['id']}/dhcp-networks/{unhosted['id']}")
            assert removed.status_code == 204, removed.text
            [before] = _dhcp_ports(a, served["id"])
            assert before["fixed_ips"][0]["ip_address"] == "10.5.0.2"
            assert _dhcp_ports(a, unhosted["id"]) == []
        server.kill()

        base = server.start()
        with client(base, admin) as a, client(base, demo) as c:
            assert _dhcp_ports(a, served["id"]) == [before]  # same id, address, revision, fields
            hosted = a.get(f"/agents/{agent['id']}/dhcp-networks").json()["networks"]
            assert [n["id"] for n in hosted] == [served["id"]]  # the removal was kept
            port = c.post("/ports", json={"port": {"network_id": served["id"]}}).json()["port"]
            assert port["fixed_ips"][0]["ip_address"] == "10.5.0.3"
    finally:
        server.stop()


def test_serve_without_a_dhcp_agent_creates_no_dhcp_ports(tmp_path):
    server = StateServer(tmp_path / "state", extra_args=("--no-dhcp-agent",))
    try:
        base = server.start()
        admin, demo = login(base, "admin"), login(base, "demo")
        with client(base, admin) as a, client(base, demo) as c:
            net = c.post("/networks", json={"network": {"name": "n"}}).json()["network"]
            assert c.post("/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                       "cidr": "10.7.0.0/24"}}).status_code == 201
            assert _dhcp_ports(a, net["id"]) == []
            port = c.post("/ports", json={"port": {"network_id": net["id"]}}).json()["port"]
            assert port["fixed_ips"][0]["ip_address"] == "10.7.0.2"
            agents = {x["agent_type"] for x in a.get("/agents").json()["agents"]}
            assert agents == {"Open vSwitch agent", "L3 agent"}
            aliases = {e["alias"] for e in c.get("/extensions").json()["extensions"]}
            assert "dhcp_agent_scheduler" not in aliases
    finally:
        server.stop()
