"""``xloudnet apply`` makes a file's ``shared_with`` true in the cloud: one RBAC entry per
project, after the shared resource, unless the cloud holds it already (no server, nothing sent)."""

from __future__ import annotations

from xloudnet.cloud.inventory import Inventory
from xloudnet.cloud.plan import plan
from xloudnet.scenarios.schema import Scenario

DEMO, OPS = "d" * 32, "e" * 32
FILE = Scenario.model_validate({
    "projects": [{"name": "ops"}],
    "networks": [{"name": "net", "project": "ops"}],
    "security_groups": [{"name": "web", "shared_with": ["ops"]}],
})
GROUP = {"id": "g1", "name": "web", "project_id": DEMO, "stateful": True, "description": "", "tags": [],
         "security_group_rules": [
             {"id": f"r{n}", "direction": "egress", "ethertype": e, "protocol": None, "port_range_min": None,
              "port_range_max": None, "remote_ip_prefix": None, "remote_group_id": None}
             for n, e in enumerate(("IPv4", "IPv6"))]}
NET = {"id": "n1", "name": "net", "project_id": OPS, "admin_state_up": True, "shared": False,
       "router:external": False, "port_security_enabled": True, "qos_policy_id": None, "description": "", "tags": []}


def _cloud(**collections) -> Inventory:
    return Inventory(project_id=DEMO, project_names={DEMO: "demo", OPS: "ops"}, all_projects=True,
                     networks=[NET], **collections)


class _Network:
    def __init__(self):
        self.sent = []

    def post(self, path, json=None, raise_exc=True):
        self.sent.append((path, json))
        key = next(iter(json))
        return _Response({key: {**json[key], "id": f"new-{len(self.sent)}"}})


class _Response:
    def __init__(self, body):
        self.body, self.content = body, b"x"

    def json(self):
        return self.body


class _Conn:
    def __init__(self):
        self.network = _Network()


def test_a_new_group_is_created_then_shared_with_the_project_named():
    conn = _Conn()
    steps = plan(FILE, _cloud(security_groups=[{"id": "g0", "name": "default", "project_id": DEMO}]), conn)
    kinds = [(s.verb, s.kind) for s in steps if s.verb != "unchanged"]
    assert kinds == [("create", "security group"), ("create", "RBAC share")]
    for step in steps:
        if step.run is not None:
            step.run()
    path, body = conn.network.sent[-1]
    assert path == "/rbac-policies"
    assert body == {"rbac_policy": {"object_type": "security_group", "object_id": "new-1",
                                    "action": "access_as_shared", "target_tenant": OPS}}


def test_a_share_the_cloud_holds_is_unchanged():
    entry = {"id": "e1", "object_type": "security_group", "object_id": "g1", "action": "access_as_shared",
             "target_tenant": OPS, "project_id": DEMO}
    steps = plan(FILE, _cloud(security_groups=[{"id": "g0", "name": "default", "project_id": DEMO}, GROUP],
                              rbac_policies=[entry]))
    shares = [(s.verb, s.name) for s in steps if s.kind == "RBAC share"]
    assert shares == [("unchanged", "security group web with ops")]


def test_a_new_address_group_is_created_then_shared_before_the_groups_that_name_it():
    file = Scenario.model_validate({
        "projects": [{"name": "ops"}],
        "networks": [{"name": "net", "project": "ops"}],
        "address_groups": [{"name": "jump-hosts", "addresses": ["10.2.0.0/28"], "shared_with": ["ops"]}],
    })
    conn = _Conn()
    steps = plan(file, _cloud(security_groups=[{"id": "g0", "name": "default", "project_id": DEMO}]), conn)
    assert [(s.verb, s.kind) for s in steps if s.verb != "unchanged"] == [
        ("create", "address group"), ("create", "RBAC share")]
    for step in steps:
        if step.run is not None:
            step.run()
    path, body = conn.network.sent[-1]
    assert path == "/rbac-policies"
    assert body == {"rbac_policy": {"object_type": "address_group", "object_id": "new-1",
                                    "action": "access_as_shared", "target_tenant": OPS}}
