"""Property: whatever sequence of RBAC entries (created, retargeted, deleted, by the owner or an
admin) and uses (ports on a group, subnets from a pool) the projects go through, no project is
ever left using a group or a pool that is not its own nor shared with it, and a refused call
changes nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xloudnet.control import errors
from xloudnet.control.context import Context
from xloudnet.control.neutron import NeutronAPI, Request
from xloudnet.control.plane import ControlPlane

OWNER, ONE, TWO = ("0" * 31 + str(i) for i in (1, 2, 3))
TARGETS = (ONE, TWO, "*")
RBAC = "/v2.0/rbac-policies"


def _ctx(project: str, admin: bool = False) -> Context:
    roles = {"member", "reader"} | ({"admin"} if admin else set())
    return Context(project_id=project, user_id=f"{project}-user", roles=frozenset(roles))


ADMIN = _ctx(OWNER, admin=True)
MEMBERS = {p: _ctx(p) for p in (OWNER, ONE, TWO)}

actions = st.lists(st.one_of(
    st.tuples(st.just("share"), st.sampled_from(("security_group", "subnetpool")), st.sampled_from(TARGETS)),
    st.tuples(st.just("retarget"), st.integers(0, 5), st.sampled_from(TARGETS)),
    st.tuples(st.just("unshare"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("use"), st.sampled_from(("security_group", "subnetpool")), st.sampled_from((ONE, TWO))),
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
        self.uses: list[tuple[str, str, str]] = []  # (kind, project, id)

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
            object_id = self.group if a == "security_group" else self.pool
            owner = MEMBERS[OWNER] if a == "security_group" and b != "*" else ADMIN
            self.attempt(owner, "POST", RBAC, {"rbac_policy": {"object_type": a, "object_id": object_id,
                                                               "action": "access_as_shared", "target_tenant": b}})
        elif verb in ("retarget", "unshare") and self.entries():
            entry = self.entries()[a % len(self.entries())]
            if verb == "retarget":
                self.attempt(ADMIN, "PUT", f"{RBAC}/{entry['id']}", {"rbac_policy": {"target_tenant": b}})
            else:
                self.attempt(ADMIN if b else MEMBERS[OWNER], "DELETE", f"{RBAC}/{entry['id']}")
        elif verb == "use":
            if a == "security_group":
                made = self.attempt(MEMBERS[b], "POST", "/v2.0/ports", {"port": {
                    "network_id": self.nets[b], "security_groups": [self.group]}})
                if made:
                    self.uses.append(("ports", b, made["port"]["id"]))
            else:
                made = self.attempt(MEMBERS[b], "POST", "/v2.0/subnets", {"subnet": {
                    "network_id": self.nets[b], "ip_version": 4, "subnetpool_id": self.pool}})
                if made:
                    self.uses.append(("subnets", b, made["subnet"]["id"]))
        elif verb == "unuse" and self.uses:
            kind, project, rid = self.uses.pop(a % len(self.uses))
            self.call(MEMBERS[project], "DELETE", f"/v2.0/{kind}/{rid}")

    def check(self) -> None:
        rbac = self.plane.rbac_policies
        for kind, project, rid in self.uses:
            record = self.plane.store.get(kind, rid)
            used = self.plane.store.get("security_groups" if kind == "ports" else "subnetpools",
                                        self.group if kind == "ports" else self.pool)
            assert rbac.shared_with(used, project), f"{project}'s {kind[:-1]} {rid} lost access"
            assert record is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_no_sequence_of_rbac_changes_strands_a_user_or_half_applies(steps):
    world = _World()
    for action in steps:
        world.step(action)
        world.check()
