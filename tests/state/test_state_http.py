"""``xloudnet serve --state DIR`` over real HTTP: restarts (clean and ``kill -9``) keep every
acknowledged write, with ids, revisions, users and tokens, and never half a change."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import httpx
import pytest
from state_helpers import StateServer, client, login

pytestmark = pytest.mark.e2e

# How many random kill -9 moments the fault test tries (more: XLOUDNET_FAULT_KILLS=50).
KILLS = int(os.environ.get("XLOUDNET_FAULT_KILLS", "5"))
WRITERS = 3


def _everything(base: str, token: str) -> dict[str, dict]:
    """Every resource the admin sees, by collection then id."""
    out = {}
    with client(base, token) as c:
        for collection in ("networks", "subnets", "ports", "routers", "floatingips",
                           "security-groups", "security-group-rules", "qos/policies"):
            key = collection.split("/")[-1].replace("-", "_")
            response = c.get(f"/{collection}")
            assert response.status_code == 200, response.text
            out[collection] = {r["id"]: r for r in response.json()[key]}
    return out


def test_restart_restores_every_resource_with_its_id_and_revision(server):
    base = server.start()
    admin = login(base, "admin")
    demo = login(base, "demo")
    with client(base, admin) as a, client(base, demo) as c:
        ext = a.post("/networks", json={"network": {"name": "ext", "router:external": True}}).json()["network"]
        a.post("/subnets", json={"subnet": {"network_id": ext["id"], "ip_version": 4, "cidr": "203.0.113.0/24"}})
        net = c.post("/networks", json={"network": {"name": "n"}}).json()["network"]
        sub = c.post("/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                  "cidr": "10.1.0.0/24"}}).json()["subnet"]
        port = c.post("/ports", json={"port": {"network_id": net["id"], "name": "vm"}}).json()["port"]
        c.put(f"/ports/{port['id']}", json={"port": {"name": "vm-renamed"}})
        router = c.post("/routers", json={"router": {"external_gateway_info": {"network_id": ext["id"]}}}).json()["router"]
        assert c.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]}).status_code == 200
        fip = c.post("/floatingips", json={"floatingip": {"floating_network_id": ext["id"],
                                                          "port_id": port["id"]}})
        assert fip.status_code == 201, fip.text
        sg = c.post("/security-groups", json={"security_group": {"name": "web"}}).json()["security_group"]
        c.post("/security-group-rules", json={"security_group_rule": {
            "security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp",
            "port_range_min": 443, "port_range_max": 443}})
        assert a.post("/qos/policies", json={"policy": {"name": "gold", "shared": True}}).status_code == 201
        assert a.put(f"/quotas/{net['project_id']}", json={"quota": {"port": 77}}).status_code == 200
    before = _everything(base, admin)
    server.kill()

    base = server.start()
    assert _everything(base, admin) == before  # same ids, same revision numbers, same fields
    with client(base, demo) as c:  # the demo token still works: no new login
        assert c.get(f"/quotas/{net['project_id']}").json()["quota"]["port"] == 77
        newer = c.post("/ports", json={"port": {"network_id": net["id"]}}).json()["port"]
        # IPAM continues from the restored ports: the new port gets an unused address
        taken = {ip["ip_address"] for p in before["ports"].values() for ip in p["fixed_ips"]}
        assert newer["fixed_ips"][0]["ip_address"] not in taken
        updated = c.put(f"/ports/{port['id']}", json={"port": {"name": "again"}}).json()["port"]
        assert updated["revision_number"] == before["ports"][port["id"]]["revision_number"] + 1


def test_tokens_users_and_projects_survive_a_restart(server):
    base = server.start()
    admin = login(base, "admin")
    headers = {"X-Auth-Token": admin}
    identity = f"{base}/identity/v3"
    project = httpx.post(f"{identity}/projects", headers=headers,
                         json={"project": {"name": "team", "domain_id": "default"}}).json()["project"]
    user = httpx.post(f"{identity}/users", headers=headers, json={"user": {
        "name": "alice", "domain_id": "default", "password": "alice-pw", "default_project_id": project["id"]}}).json()["user"]
    roles = httpx.get(f"{identity}/roles", headers=headers, params={"name": "member"}).json()["roles"]
    grant = httpx.put(f"{identity}/projects/{project['id']}/users/{user['id']}/roles/{roles[0]['id']}", headers=headers)
    assert grant.status_code == 204
    alice = login(base, "alice", "team", password="alice-pw")
    revoked = login(base, "demo")
    assert httpx.delete(f"{identity}/auth/tokens", headers={**headers, "X-Subject-Token": revoked}).status_code == 204
    server.kill()

    base = server.start()
    identity = f"{base}/identity/v3"
    seen = httpx.get(f"{identity}/auth/tokens", headers={"X-Auth-Token": alice, "X-Subject-Token": alice})
    assert seen.status_code == 200
    assert seen.json()["token"]["project"]["id"] == project["id"]
    assert seen.json()["token"]["user"]["id"] == user["id"]
    assert httpx.get(f"{base}/networking/v2.0/networks", headers={"X-Auth-Token": alice}).status_code == 200
    assert httpx.get(f"{base}/networking/v2.0/networks", headers={"X-Auth-Token": revoked}).status_code == 401
    assert login(base, "alice", "team", password="alice-pw")


def test_second_server_on_the_same_state_directory_is_refused(server, tmp_path):
    server.start()
    other = StateServer(server.state_dir)
    with pytest.raises(AssertionError, match="in use by another xloudnet server"):
        other.start()


# --- the fault test -------------------------------------------------------------------------------
class Writer:
    """Creates and deletes ports, rules, groups with rules and floating IPs until the server
    dies under it; remembers what got a 2xx (``events``) and what it cannot know (``unknown``)."""

    def __init__(self, n: int, token: str, world: dict, seed: int):
        self.n, self.token, self.world = n, token, world
        self.rng = random.Random(seed)
        self.events: list[tuple] = []  # (op, collection, id, record-or-None)
        self.unknown: list[tuple] = []
        self.live: dict[str, dict[str, dict]] = {"ports": {}, "security-group-rules": {},
                                                 "security-groups": {}, "floatingips": {}}
        self.freed_ips: list[str] = []
        self.count = 0

    def run(self, base: str) -> None:
        with client(base, self.token) as c:
            while True:
                try:
                    self.step(c)
                except httpx.TransportError:
                    return  # the server was killed: the in-flight request is in ``unknown``

    def step(self, c: httpx.Client) -> None:
        self.count += 1
        w, live, rng = self.world, self.live, self.rng
        choice = rng.random()
        if choice < 0.3 or not live["ports"]:
            body = {"network_id": w["net"], "name": f"w{self.n}-{self.count}"}
            if self.freed_ips and rng.random() < 0.5:
                body["fixed_ips"] = [{"subnet_id": w["subnet"], "ip_address": self.freed_ips.pop()}]
            self.create(c, "ports", "port", body)
        elif choice < 0.45:
            self.delete(c, "ports", rng.choice(list(live["ports"])))
        elif choice < 0.6:
            body = {"security_group_id": w["group"], "direction": "ingress", "protocol": "tcp",
                    "port_range_min": self.n * 10000 + self.count, "port_range_max": self.n * 10000 + self.count}
            self.create(c, "security-group-rules", "security_group_rule", body)
        elif choice < 0.7 and live["security-group-rules"]:
            self.delete(c, "security-group-rules", rng.choice(list(live["security-group-rules"])))
        elif choice < 0.8:
            body = {"floating_network_id": w["ext"], "description": f"w{self.n}"}
            free = [p for p in live["ports"] if p not in {f.get("port_id") for f in live["floatingips"].values()}]
            if free and rng.random() < 0.5:
                body["port_id"] = rng.choice(free)
            self.create(c, "floatingips", "floatingip", body)
        elif choice < 0.87 and live["floatingips"]:
            self.delete(c, "floatingips", rng.choice(list(live["floatingips"])))
        elif choice < 0.95:
            group = self.create(c, "security-groups", "security_group", {"name": f"w{self.n}-sg-{self.count}"})
            if group is not None:
                port = self.n * 10000 + self.count
                self.create(c, "security-group-rules", "security_group_rule", {
                    "security_group_id": group["id"], "direction": "ingress", "protocol": "udp",
                    "port_range_min": port, "port_range_max": port})
        elif live["security-groups"]:
            self.delete(c, "security-groups", rng.choice(list(live["security-groups"])))

    def create(self, c, collection, key, body) -> dict | None:
        self.unknown.append(("create", collection, None))
        response = c.post(f"/{collection}", json={key: body})
        self.unknown.pop()
        if response.status_code != 201:
            assert response.status_code in (400, 404, 409), response.text
            return None
        record = response.json()[key]
        self.live[collection][record["id"]] = record
        self.events.append(("create", collection, record["id"], record))
        return record

    def delete(self, c, collection, rid) -> None:
        self.unknown.append(("delete", collection, rid))
        response = c.delete(f"/{collection}/{rid}")
        self.unknown.pop()
        assert response.status_code == 204, response.text
        record = self.live[collection].pop(rid)
        self.events.append(("delete", collection, rid, record))
        if collection == "ports":
            self.freed_ips.append(record["fixed_ips"][0]["ip_address"])
            for fip in self.live["floatingips"].values():
                if fip.get("port_id") == rid:
                    fip["port_id"] = None
        if collection == "security-groups":
            self.events.append(("cascade", "security-group-rules", rid, None))
            rules = self.live["security-group-rules"]
            for rule_id in [k for k, r in rules.items() if r["security_group_id"] == rid]:
                del rules[rule_id]

    def resync(self, everything: dict[str, dict]) -> None:
        """After a checked restart: settle the requests whose outcome was unknown by what
        really exists (recorded as events, so later rounds check them too)."""
        expected, _ = _expected([self])
        for collection in self.live:
            owned = {rid: r for rid, r in everything[collection].items() if _owner(collection, r) == self.n}
            for rid, record in owned.items():
                if not expected.get((collection, rid)):
                    self.events.append(("create", collection, rid, record))
            for (kind, rid), present in expected.items():
                if kind == collection and present and rid not in owned:
                    self.events.append(("delete", collection, rid, None))
            self.live[collection] = owned
        self.unknown.clear()


def _owner(collection: str, record: dict):
    text = record.get("name") or record.get("description") or ""
    if collection == "security-group-rules":
        return (record.get("port_range_min") or 0) // 10000 or None
    if text.startswith("w") and text[1:2].isdigit():
        return int(text[1:].split("-")[0])
    return None


def _expected(writers: list[Writer]) -> tuple[dict, set]:
    """(collection, id) -> True (must exist) / False (must be gone), from acknowledged events."""
    expected: dict[tuple[str, str], bool] = {}
    group_rules: dict[str, set] = {}
    for writer in writers:
        for op, collection, rid, record in writer.events:
            if op == "create":
                expected[(collection, rid)] = True
            elif op == "delete":
                expected[(collection, rid)] = False
            elif op == "cascade":
                for rule_id in group_rules.get(rid, ()):
                    expected[("security-group-rules", rule_id)] = False
            if op == "create" and collection == "security-group-rules":
                group_rules.setdefault(record["security_group_id"], set()).add(rid)
    uncertain = {(collection, rid) for w in writers for op, collection, rid in w.unknown if rid}
    for collection, rid in list(uncertain):
        if collection == "security-groups":  # its rules went with it, or did not
            uncertain |= {("security-group-rules", rule) for rule in group_rules.get(rid, ())}
    return expected, uncertain


def _check_consistent(everything: dict[str, dict], details: dict, admin_ports: list[dict]) -> None:
    ports, groups = everything["ports"], everything["security-groups"]
    addresses = [(ip["subnet_id"], ip["ip_address"]) for p in admin_ports for ip in p["fixed_ips"]]
    assert len(addresses) == len(set(addresses)), "two ports share an address"
    for rule in everything["security-group-rules"].values():
        assert rule["security_group_id"] in groups, "a rule without its group"
    for group in groups.values():
        assert {r["id"] for r in everything["security-group-rules"].values()
                if r["security_group_id"] == group["id"]} == {r["id"] for r in group["security_group_rules"]}
    fip_ports = {p["device_id"]: p for p in admin_ports if p["device_owner"] == "network:floatingip"}
    fips = everything["floatingips"]
    assert set(fip_ports) == set(fips), "a floating IP without its port, or the reverse"
    for fid, fip in fips.items():
        assert fip_ports[fid]["fixed_ips"][0]["ip_address"] == fip["floating_ip_address"]
        assert fip["port_id"] is None or fip["port_id"] in ports
    counts = {"port": len(ports), "security_group": len(groups), "floatingip": len(fips),
              "security_group_rule": len(everything["security-group-rules"])}
    for resource, count in counts.items():
        assert details[resource]["used"] == count, (resource, details[resource], count)


def _setup(base: str, admin: str, demo: str) -> dict:
    with client(base, admin) as a, client(base, demo) as c:
        ext = a.post("/networks", json={"network": {"name": "ext", "router:external": True}}).json()["network"]
        a.post("/subnets", json={"subnet": {"network_id": ext["id"], "ip_version": 4, "cidr": "172.24.0.0/20"}})
        net = c.post("/networks", json={"network": {"name": "fault"}}).json()["network"]
        sub = c.post("/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                  "cidr": "10.7.0.0/20"}}).json()["subnet"]
        router = c.post("/routers", json={"router": {"external_gateway_info": {"network_id": ext["id"]}}}).json()["router"]
        c.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
        group = c.post("/security-groups", json={"security_group": {"name": "shared-rules"}}).json()["security_group"]
        project = net["project_id"]
        limits = {"port": -1, "security_group": -1, "security_group_rule": -1, "floatingip": -1}
        assert a.put(f"/quotas/{project}", json={"quota": limits}).status_code == 200
    return {"ext": ext["id"], "net": net["id"], "subnet": sub["id"], "group": group["id"], "project": project}


def test_every_acknowledged_write_survives_kill_9_and_nothing_is_half_applied(server):
    seed = int(os.environ.get("XLOUDNET_FAULT_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    base = server.start()
    admin, demo = login(base, "admin"), login(base, "demo")
    world = _setup(base, admin, demo)
    writers = [Writer(n + 1, demo, world, rng.randrange(1 << 30)) for n in range(WRITERS)]
    for round_ in range(KILLS):
        threads = [threading.Thread(target=w.run, args=(base,), daemon=True) for w in writers]
        for thread in threads:
            thread.start()
        threading.Event().wait(rng.uniform(0.2, 1.5))  # a random moment, mid-request for some
        server.kill()
        for thread in threads:
            thread.join(timeout=30)
            assert not thread.is_alive()
        base = server.start()
        everything = _everything(base, demo)  # the demo token survived the kill too
        expected, uncertain = _expected(writers)
        context = f"seed {seed}, round {round_}"
        for (collection, rid), present in expected.items():
            if (collection, rid) not in uncertain:
                assert (rid in everything[collection]) == present, (context, collection, rid, present)
        for writer in writers:
            for op, collection, rid, record in writer.events:
                if op == "create" and rid in everything[collection] and collection != "security-groups":
                    stored = everything[collection][rid]
                    for field in ("fixed_ips", "mac_address", "floating_ip_address", "port_range_min"):
                        assert stored.get(field) == record.get(field), (context, collection, field)
        with client(base, admin) as a:
            details = a.get(f"/quotas/{world['project']}/details").json()["quota"]
            admin_ports = a.get("/ports").json()["ports"]
        _check_consistent(everything, details, admin_ports)
        _recreate_freed_address(base, demo, world, everything, writers)
        for writer in writers:
            writer.resync(_everything(base, demo))
    assert sum(len(w.events) for w in writers) > KILLS, "the writers never got anything done"


def _recreate_freed_address(base, demo, world, everything, writers) -> None:
    """An address whose port's delete was acknowledged is free again after the restart."""
    used = {ip["ip_address"] for p in everything["ports"].values() for ip in p["fixed_ips"]}
    freed = [ip for w in writers for ip in w.freed_ips if ip not in used]
    if not freed:
        return
    with client(base, demo) as c:
        body = {"network_id": world["net"], "fixed_ips": [{"subnet_id": world["subnet"], "ip_address": freed[0]}]}
        response = c.post("/ports", json={"port": body})
        assert response.status_code == 201, response.text
        assert c.delete(f"/ports/{response.json()['port']['id']}").status_code == 204


def test_a_scenario_seeded_state_keeps_its_projects_through_kill_9(tmp_path):
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "two-tenants.yaml"
    server = StateServer(tmp_path / "state", ("--scenario", str(scenario)))
    try:
        server.start()
        server.kill()  # before any request: only what start-up itself made durable survives
        base = server.start()  # the state is not empty: the scenario is not loaded again
        admin = login(base, "admin")
        ports = _everything(base, admin)["ports"]
        assert ports, "the provisioned scenario was lost"
        projects = httpx.get(f"{base}/identity/v3/projects", headers={"X-Auth-Token": admin}).json()["projects"]
        owners = {p["project_id"] for p in ports.values() if p["project_id"]}
        assert owners <= {p["id"] for p in projects}, "resources of a project identity forgot"
    finally:
        server.stop()
