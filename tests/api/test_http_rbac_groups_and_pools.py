"""Over HTTP: a security group and a subnet pool shared with alt_demo by RBAC, with Neutron's
error bodies for what the target may not do."""

from __future__ import annotations

from api_helpers import neutron_error


def _share(owner, object_type, object_id, target):
    return owner.post("/rbac-policies", json={"rbac_policy": {
        "object_type": object_type, "object_id": object_id, "action": "access_as_shared", "target_tenant": target}})


def _project_id(user) -> str:
    response = user.http.get("/identity/v3/auth/tokens",
                             headers={"X-Auth-Token": user.token, "X-Subject-Token": user.token})
    return response.json()["token"]["project"]["id"]


def test_extensions_advertise_group_and_pool_rbac(demo):
    aliases = {e["alias"] for e in demo.get("/extensions").json()["extensions"]}
    assert {"rbac-policies", "rbac-security-groups", "rbac-subnetpool"} <= aliases


def test_a_group_shared_with_alt_demo_is_its_to_use_not_to_change(demo, alt_demo):
    group = demo.create("security-groups", "security_group", {"name": "shared-web"})
    assert _share(demo, "security_group", group["id"], _project_id(alt_demo)).status_code == 201
    shown = alt_demo.get(f"/security-groups/{group['id']}")
    assert shown.status_code == 200 and shown.json()["security_group"]["shared"] is True
    net = alt_demo.create("networks", "network", {"name": "alt-net"})
    alt_demo.create("subnets", "subnet", {"network_id": net["id"], "cidr": "10.5.0.0/24", "ip_version": 4})
    port = alt_demo.create("ports", "port", {"network_id": net["id"], "security_groups": [group["id"]]})
    assert port["security_groups"] == [group["id"]]
    response = alt_demo.put(f"/security-groups/{group['id']}", json={"security_group": {"name": "x"}})
    assert response.status_code == 403 and neutron_error(response)["type"] == "PolicyNotAuthorized"
    entry = demo.get("/rbac-policies").json()["rbac_policies"][0]
    response = demo.delete(f"/rbac-policies/{entry['id']}")
    assert response.status_code == 409 and neutron_error(response)["type"] == "RbacPolicyInUse"
    assert alt_demo.delete(f"/ports/{port['id']}").status_code == 204
    assert demo.delete(f"/rbac-policies/{entry['id']}").status_code == 204
    response = alt_demo.get(f"/security-groups/{group['id']}")
    assert response.status_code == 404 and neutron_error(response)["type"] == "SecurityGroupNotFound"


def test_a_pool_shared_with_alt_demo_hands_it_subnets(admin, demo, alt_demo):
    pool = admin.create("subnetpools", "subnetpool", {"name": "p", "prefixes": ["10.200.0.0/16"],
                                                      "default_prefixlen": 26})
    response = demo.post("/subnets", json={"subnet": {"network_id": demo.create("networks", "network", {})["id"],
                                                      "ip_version": 4, "subnetpool_id": pool["id"]}})
    assert response.status_code == 404 and neutron_error(response)["type"] == "SubnetPoolNotFound"
    assert _share(admin, "subnetpool", pool["id"], _project_id(alt_demo)).status_code == 201
    net = alt_demo.create("networks", "network", {})
    subnet = alt_demo.create("subnets", "subnet", {"network_id": net["id"], "ip_version": 4,
                                                   "subnetpool_id": pool["id"]})
    assert subnet["cidr"] == "10.200.0.0/26"
    entry = admin.get(f"/rbac-policies?object_id={pool['id']}").json()["rbac_policies"][0]
    response = admin.delete(f"/rbac-policies/{entry['id']}")
    assert response.status_code == 409 and neutron_error(response)["type"] == "RbacPolicyInUse"
