"""``serve --state``: port forwardings and the router they give their floating IP survive a
``kill -9`` restart, and the restored forwardings still forward in the analyser."""

from __future__ import annotations

import httpx
import pytest
from state_helpers import client, login

pytestmark = pytest.mark.e2e


def test_port_forwardings_survive_kill_9(server):
    base = server.start()
    admin, demo = login(base, "admin"), login(base, "demo")
    with client(base, admin) as a, client(base, demo) as c:
        ext = a.post("/networks", json={"network": {"name": "ext", "router:external": True}}).json()["network"]
        a.post("/subnets", json={"subnet": {"network_id": ext["id"], "ip_version": 4, "cidr": "203.0.113.0/24"}})
        net = c.post("/networks", json={"network": {"name": "n"}}).json()["network"]
        sub = c.post("/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                  "cidr": "10.1.0.0/24"}}).json()["subnet"]
        vm = c.post("/ports", json={"port": {"network_id": net["id"], "device_owner": "compute:nova"}}).json()["port"]
        router = c.post("/routers", json={"router": {"external_gateway_info": {"network_id": ext["id"]}}}).json()["router"]
        c.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
        fip = c.post("/floatingips", json={"floatingip": {"floating_network_id": ext["id"]}}).json()["floatingip"]
        created = c.post(f"/floatingips/{fip['id']}/port_forwardings", json={"port_forwarding": {
            "internal_port_id": vm["id"], "internal_ip_address": vm["fixed_ips"][0]["ip_address"],
            "protocol": "tcp", "external_port_range": "9000:9009", "internal_port_range": "8000:8009"}})
        assert created.status_code == 201, created.text
        before = c.get(f"/floatingips/{fip['id']}/port_forwardings").json()
        held = c.get(f"/floatingips/{fip['id']}").json()["floatingip"]
    server.kill()

    base = server.start()
    with client(base, demo) as c:
        assert c.get(f"/floatingips/{fip['id']}/port_forwardings").json() == before
        assert c.get(f"/floatingips/{fip['id']}").json()["floatingip"] == held
        assert c.delete(f"/floatingips/{fip['id']}").status_code == 409  # still in use by its forwardings
    answer = httpx.post(f"{base}/simulation/v1/reachability", headers={"X-Auth-Token": demo}, timeout=30, json={
        "source": {"ip_address": "198.51.100.7"}, "destination": {"ip_address": fip["floating_ip_address"]},
        "protocol": "tcp", "destination_port": 9003})
    assert answer.status_code == 200, answer.text
    [dnat] = [h for h in answer.json()["hops"] if h["stage"] == "dnat"]
    assert (dnat["translation"]["to"], dnat["translation"]["to_port"]) == (vm["fixed_ips"][0]["ip_address"], 8003)
