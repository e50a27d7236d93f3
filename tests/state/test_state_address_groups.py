"""``serve --state``: address groups, their address actions, the rules naming them and their
RBAC entries survive ``kill -9``, and the restored server still enforces in-use."""

from __future__ import annotations

import pytest
from state_helpers import client, login

pytestmark = pytest.mark.e2e


def test_address_groups_and_their_actions_survive_kill_9(server):
    base = server.start()
    demo, admin = login(base, "demo"), login(base, "admin")
    with client(base, demo) as c, client(base, admin) as a:
        ag = c.post("/address-groups", json={"address_group": {"name": "ops", "addresses": ["10.0.0.0/24"]}})
        assert ag.status_code == 201, ag.text
        ag = ag.json()["address_group"]
        assert c.put(f"/address-groups/{ag['id']}/add_addresses", json={"addresses": ["10.9.0.1/16"]}).status_code == 200
        assert c.put(f"/address-groups/{ag['id']}/remove_addresses", json={"addresses": ["10.0.0.0/24"]}).status_code == 200
        sg = c.post("/security-groups", json={"security_group": {"name": "db"}}).json()["security_group"]
        rule = c.post("/security-group-rules", json={"security_group_rule": {
            "security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": 5432,
            "port_range_max": 5432, "remote_address_group_id": ag["id"]}})
        assert rule.status_code == 201, rule.text
        shared = a.post("/address-groups", json={"address_group": {"name": "shared"}}).json()["address_group"]
        entry = a.post("/rbac-policies", json={"rbac_policy": {
            "object_type": "address_group", "object_id": shared["id"], "action": "access_as_shared",
            "target_tenant": "*"}})
        assert entry.status_code == 201, entry.text
        before = c.get(f"/address-groups/{ag['id']}").json()["address_group"]
    server.kill()

    base = server.start()
    with client(base, demo) as c:
        assert c.get(f"/address-groups/{ag['id']}").json()["address_group"] == before
        assert before["addresses"] == ["10.9.0.0/16"] and before["revision_number"] == 3
        assert c.get(f"/address-groups/{shared['id']}").status_code == 200  # shared to everybody
        refused = c.delete(f"/address-groups/{ag['id']}")
        assert refused.status_code == 409 and refused.json()["NeutronError"]["type"] == "AddressGroupInUse"
        listed = c.get("/security-group-rules", params={"remote_address_group_id": ag["id"]}).json()
        assert [r["id"] for r in listed["security_group_rules"]] == [rule.json()["security_group_rule"]["id"]]
