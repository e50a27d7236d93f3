"""Property: whatever sequence of RBAC entries (created, retargeted, deleted, by the owner or an
admin) and uses (ports on a shared group or network, subnets from a pool, networks carrying a
QoS policy) the projects go through, no project is ever left using an object that is not its
own nor shared with it, and a refused call changes nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xloudnet.control import errors
from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane

OWNER, ONE, TWO = ("0" * 31 + str(i) for i in (1, 2, 3))
TARGETS = (ONE, TWO, "*")
KINDS = ("security_group", "subnetpool", "network", "qos_policy")
RBAC = "/v2.0/rbac-policies"


def _ctx(project: str, admin: bool = False) -> Context:
    roles = {"member", "reader"} | ({"admin"} if admin else set())
    return Context(project_id=project, user_id=f"{project}-user", roles=frozenset(roles))


ADMIN = _ctx(OWNER, admin=True)
MEMBERS = {p: _ctx(p) for p in (OWNER, ONE, TWO)}

actions = st.lists(st.one_of(
    st.tuples(st.just("share"), st.sampled_from(KINDS), st.sampled_from(TARGETS)),
    st.tuples(st.just("retarget"), st.integers(0, 5), st.sampled_from(TARGETS)),
    st.tuples(st.just("unshare"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("use"), st.sampled_from(KINDS), st.sampled_from((ONE, TWO))),
    st.tuples(st.just("unuse"), st.integers(0, 5), st.none()),
), min_size=1, max_size=25)


class _World:
    def __init__(self):
        self.plane = ControlPlane(quotas={"rbac_policy": -1})
        self.api = NeutronAPI(self.plane)
        self.group = self.call(MEMBERS[OWNER], "POST", "/v2.0/security-groups",
                               {"security_group": {"name": "g"}})["security_group"]["id"]
        self.pool = self.call(ADMIN, "POST", "/v2.0/subnetpools", {"subnetpool": {
            "name": "p", "prefixes": ["10.0.0.0/8"], "default_prefixlen": 24}})["subnetpool"]["id"]
        self.nets = {p: self.call(MEMBERS[p], "POST", "/v2.0/networks", {"network": {}})["network"]["id"]
                     for p in (ONE, TWO)}
        self.network = self.call(MEMBERS[OWNER], "POST", "/v2.0/networks", {"network": {}})["network"]["id"]
        self.policy = self.call(ADMIN, "POST", "/v2.0/qos/policies", {"policy": {"name": "q"}})["policy"]["id"]
        self.objects = {"security_group": ("security_groups", self.group), "subnetpool": ("subnetpools", self.pool),
                        "network": ("networks", self.network), "qos_policy": ("qos_policies", self.policy)}
        self.uses: list[tuple[str, str, str, str]] = []  # (object type, collection, project, id)

    def call(self, ctx, method, path, body=None):
        return self.api.handle(ctx, Request(method, path, body=body)).body

    def attempt(self, ctx, method, path, body=None):
        """A call that may be refused; a refusal must leave the store as it was."""
        before = self.plane.store.revision
        try:
            return self.call(ctx, method, path, body)
        except errors.NeutronException:
            assert self.plane.store.revision == before, f"{method} {path} was refused but wrote"
            return None

    def entries(self) -> list[dict]:
        return sorted(self.plane.store.table("rbac_policies").values(), key=lambda e: e["id"])

    def step(self, action) -> None:
        verb, a, b = action
        if verb == "share":
            object_id = self.objects[a][1]
            owner = MEMBERS[OWNER] if a in ("security_group", "network") and b != "*" else ADMIN
            self.attempt(owner, "POST", RBAC, {"rbac_policy": {"object_type": a, "object_id": object_id,
                                                               "action": "access_as_shared", "target_tenant": b}})
        elif verb in ("retarget", "unshare") and self.entries():
            entry = self.entries()[a % len(self.entries())]
            if verb == "retarget":
                self.attempt(ADMIN, "PUT", f"{RBAC}/{entry['id']}", {"rbac_policy": {"target_tenant": b}})
            else:
                self.attempt(ADMIN if b else MEMBERS[OWNER], "DELETE", f"{RBAC}/{entry['id']}")
        elif verb == "use":
            body = {"security_group": ("ports", {"port": {"network_id": self.nets[b], "security_groups": [self.group]}}),
                    "subnetpool": ("subnets", {"subnet": {"network_id": self.nets[b], "ip_version": 4,
                                                          "subnetpool_id": self.pool}}),
                    "network": ("ports", {"port": {"network_id": self.network, "security_groups": []}}),
                    "qos_policy": ("networks", {"network": {"qos_policy_id": self.policy}})}[a]
            made = self.attempt(MEMBERS[b], "POST", f"/v2.0/{body[0]}", body[1])
            if made:
                self.uses.append((a, body[0], b, next(iter(made.values()))["id"]))
        elif verb == "unuse" and self.uses:
            _, collection, project, rid = self.uses.pop(a % len(self.uses))
            self.call(MEMBERS[project], "DELETE", f"/v2.0/{collection}/{rid}")

    def check(self) -> None:
        rbac = self.plane.rbac_policies
        for object_type, collection, project, rid in self.uses:
            table, object_id = self.objects[object_type]
            assert self.plane.store.get(collection, rid) is not None
            assert rbac.shared_with(self.plane.store.get(table, object_id), project), \
                f"{project}'s {collection} {rid} lost access to the {object_type}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_no_sequence_of_rbac_changes_strands_a_user_or_half_applies(steps):
    world = _World()
    for action in steps:
        world.step(action)
        world.check()
