"""RBAC policies (``rbac-policies``, ``rbac-security-groups``, ``rbac-subnetpool``,
``rbac-address-scope``): share a network, a QoS policy, a security group, a subnet pool or an
address scope with one project, or with all of them
(``*``), and make a network external for one project or all.

An entry says: ``object_id`` (of ``object_type``) is granted ``action`` to ``target_tenant``.
The objects' own flags follow the entries: a network or policy is ``shared`` when a wildcard
``access_as_shared`` entry exists (setting ``shared`` creates or deletes that entry), and a
network is ``router:external`` while any ``access_as_external`` entry exists. A targeted entry
makes the object visible and usable to that project alone, and the object reads ``shared: true``
for it. An entry cannot go while the projects it admits still use the object (their ports on the
network, their networks / ports / floating IPs on the policy, their ports in the security group,
their subnets from the pool, their router gateways on the external network): 409
``RbacPolicyInUse``. Entries are seen by their owner and by admins.

Each object type is one entry of ``OBJECT_TYPES`` (its table and actions) plus, where it has
them, a hook in ``BOUND_PROJECTS`` (who depends on the object) and in ``CREATE_CHECKS`` (what
must hold before the object may be shared with a project).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import errors
from ..attributes import Attr, ResourceDef, string, to_bool, uuid_value
from ..context import Context
from ..query import ListQuery
from ..service import ResourceService

if TYPE_CHECKING:  # pragma: no cover
    from ..plane import ControlPlane

SHARED, EXTERNAL = "access_as_shared", "access_as_external"
WILDCARD = "*"
# object_type -> (store table, actions it supports)
OBJECT_TYPES = {
    "network": ("networks", (SHARED, EXTERNAL)),
    "qos_policy": ("qos_policies", (SHARED,)),
    "security_group": ("security_groups", (SHARED,)),
    "subnetpool": ("subnetpools", (SHARED,)),
    "address_group": ("address_groups", (SHARED,)),
    "address_scope": ("address_scopes", (SHARED,)),
}


# --- per-type hooks: Neutron's get_bound_project_ids (who uses the object) ----------------------
def _qos_users(plane: "ControlPlane", object_id: str) -> set[str]:
    return {r["project_id"] for t in ("networks", "ports", "floatingips")
            for r in plane.store.find(t, "qos_policy_id", object_id) if r.get("project_id")}


def _security_group_users(plane: "ControlPlane", object_id: str) -> set[str]:
    return {p["project_id"] for p in plane.security_groups.members(object_id) if p.get("project_id")}


def _subnetpool_users(plane: "ControlPlane", object_id: str) -> set[str]:
    return {s["project_id"] for s in plane.store.find("subnets", "subnetpool_id", object_id) if s.get("project_id")}


def _address_scope_users(plane: "ControlPlane", object_id: str) -> set[str]:
    return {p["project_id"] for p in plane.store.find("subnetpools", "address_scope_id", object_id)}


# object_type -> projects whose resources depend on the object through an access_as_shared grant
# (networks are answered by the service itself: their grants come in two kinds).
BOUND_PROJECTS: dict[str, Callable[["ControlPlane", str], set[str]]] = {
    "qos_policy": _qos_users,
    "security_group": _security_group_users,
    "subnetpool": _subnetpool_users,
    "address_group": lambda plane, object_id: plane.address_groups.rbac_users(object_id),
    "address_scope": _address_scope_users,
}


# --- per-type hooks: Neutron's validate_rbac_policy_create ---------------------------------------
def _subnetpool_scope_reachable(plane: "ControlPlane", obj: dict, target: str) -> None:
    """A pool in an address scope may be shared only with a project that may use the scope."""
    scope = obj.get("address_scope_id")
    if scope and not any(e["target_tenant"] in (WILDCARD, target)
                         for e in plane.store.find("rbac_policies", "object_id", scope)):
        raise errors.InvalidInput(error_message=(
            f"Failed to create RBAC policy on object {obj['id']} because target project doesn't "
            "have access to associated address scope."))


CREATE_CHECKS: dict[str, Callable[["ControlPlane", dict, str], None]] = {
    "subnetpool": _subnetpool_scope_reachable,
}

_UUID_LIKE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def _object_type(value) -> str:
    normalized = value.strip().lower() if isinstance(value, str) else value
    if normalized not in OBJECT_TYPES:
        raise errors.InvalidInput(error_message=f"'{value}' is not a valid RBAC object type")
    return normalized


def _target(value) -> None:
    """neutron's valid_target_project: '*' or a UUID-like project id."""
    if value == WILDCARD:
        return
    if not isinstance(value, str) or not _UUID_LIKE.match(value):
        raise ValueError(f"'{value}' is not a valid target project ID; expected a UUID or '*'")


RBAC_POLICY = ResourceDef(
    collection="rbac-policies",
    plural="rbac_policies",
    singular="rbac_policy",
    tags=False,
    attrs=(
        Attr("id", filter=True, sort=True),
        Attr("project_id", post=True, filter=True, sort=True),
        Attr("tenant_id", post=True, filter=True, sort=True),
        Attr("object_type", post=True, default=None, convert=_object_type, filter=True, sort=True),
        Attr("object_id", post=True, default=None, validate=uuid_value, filter=True, sort=True),
        Attr("target_tenant", post=True, put=True, default=None, validate=_target, filter=True, sort=True),
        Attr("action", post=True, default=None, validate=string(255), filter=True, sort=True),
    ),
)


class RbacPolicyService(ResourceService):
    """The ``rbac_policies`` table and the access it grants."""

    definition = RBAC_POLICY
    table = "rbac_policies"
    attribute = "rbac_policies"
    indexes = ("project_id", "object_id", "target_tenant")
    indexed_filters = ("object_id", "project_id")
    extensions = ("rbac-policies", "rbac-security-groups", "rbac-subnetpool")

    def not_found(self, rid: str) -> errors.NeutronException:
        return errors.RbacPolicyNotFound(id=rid, object_type="rbac_policy")

    # --- questions other services ask ---------------------------------------------------------
    def grants(self, object_id: str, project_id: str | None, action: str = SHARED) -> bool:
        """Does an entry give ``project_id`` (or everybody) ``action`` on the object?"""
        if not self.store.count_where(self.table, "object_id", object_id):
            return False  # most objects have no entries: an O(1) answer for listings' per-record checks
        return any(e["action"] == action and e["target_tenant"] in (WILDCARD, project_id)
                   for e in self.store.find(self.table, "object_id", object_id))

    def shared_with(self, record: dict, project_id: str | None) -> bool:
        """The object reads ``shared: true`` for this project (shared with all, or with it)."""
        return bool(record.get("shared")) or self.grants(record["id"], project_id)

    def shared_object_ids(self, object_type: str, project_id: str | None) -> list[str]:
        """Ids of the objects of ``object_type`` shared with ``project_id`` or with everybody
        (by the ``target_tenant`` index: a listing gathers them without scanning its table)."""
        targets = (WILDCARD, project_id) if project_id else (WILDCARD,)
        return list(dict.fromkeys(e["object_id"] for target in targets
                                  for e in self.store.find(self.table, "target_tenant", target)
                                  if e["object_type"] == object_type and e["action"] == SHARED))

    def shared_checks(self, ctx: Context, q: ListQuery) -> list[Callable[[dict], bool]]:
        """``?shared=`` on an RBAC object (the services' ``extra_checks``), as neutron-lib's
        apply_filters: does an access_as_shared entry name everybody or the caller's project
        (the first value counts)."""
        values = q.special.get("shared")
        if not values:
            return []
        try:
            wanted = to_bool(values[0])
        except ValueError as exc:
            raise errors.HTTPBadRequest(f"Invalid input for shared. Reason: {exc}.") from None
        return [lambda record: self.shared_with(record, ctx.project_id) == wanted]

    def granted_to(self, object_id: str, project_id: str | None) -> bool:
        """Any entry at all naming ``project_id`` or everybody (what makes an object visible)."""
        if not self.store.count_where(self.table, "object_id", object_id):
            return False
        return any(e["target_tenant"] in (WILDCARD, project_id) for e in self.store.find(self.table, "object_id", object_id))

    # --- the flags the objects carry ----------------------------------------------------------
    def set_wildcard(self, object_type: str, record: dict, action: str, wanted: bool) -> None:
        """``shared`` / ``router:external`` written on the object: add or remove its wildcard entry."""
        entries = [e for e in self.store.find(self.table, "object_id", record["id"]) if e["action"] == action]
        if wanted and not any(e["target_tenant"] == WILDCARD for e in entries):
            self.store.put(self.table, self._entry(object_type, record["id"], action, WILDCARD, record["project_id"]))
        elif not wanted:
            # Unsetting router:external drops every external grant, as Neutron's _process_l3_update.
            for entry in entries:
                if entry["target_tenant"] == WILDCARD or action == EXTERNAL:
                    if action == SHARED:  # (the network checks its own gateway ports for external)
                        self._check_not_in_use(entry, entry["target_tenant"])
                    self.store.delete(self.table, entry["id"])

    def forget(self, object_id: str) -> None:
        """The object is gone: so are its entries."""
        for entry in list(self.store.find(self.table, "object_id", object_id)):
            self.store.delete(self.table, entry["id"])

    def _entry(self, object_type: str, object_id: str, action: str, target: str, project_id: str) -> dict:
        return {"id": self.plane.new_id(), "project_id": project_id, "tenant_id": project_id,
                "object_type": object_type, "object_id": object_id, "action": action, "target_tenant": target}

    def _sync(self, entry: dict) -> None:
        """Make the object's flags match its entries, one revision later (Neutron bumps it)."""
        table = OBJECT_TYPES[entry["object_type"]][0]
        record = self.store.get(table, entry["object_id"])
        if record is None:
            return
        flags = {"shared": self.grants(record["id"], WILDCARD)}
        if entry["object_type"] == "network":
            flags["router:external"] = any(e["action"] == EXTERNAL for e in self.store.find(self.table, "object_id", record["id"]))
        service = next(s for s in self.plane.services.values() if s.table == table)
        self.store.put(table, service.changed(record, flags))

    # --- the API ------------------------------------------------------------------------------
    def visible(self, ctx: Context, record: dict) -> bool:
        return ctx.is_admin or record["project_id"] == ctx.project_id

    def authorize_create(self, ctx: Context, attrs: dict) -> None:
        if not ctx.is_member:
            raise self.policy_error("create")
        self._check_wildcard(ctx, attrs["target_tenant"], "create")

    def _check_wildcard(self, ctx: Context, target: str, action: str) -> None:
        # Neutron's restrict_wildcard rule: only admins share with everybody.
        if target == WILDCARD and not ctx.is_admin:
            raise errors.PolicyNotAuthorized(action=f"(rule:{action}_rbac_policy and rule:{action}_rbac_policy:target_tenant)")

    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        for name in ("object_type", "object_id", "target_tenant", "action"):
            if attrs.get(name) is None:
                raise errors.HTTPBadRequest(f"Failed to parse request. Required attribute '{name}' not specified")
        table, actions = OBJECT_TYPES[attrs["object_type"]]
        if attrs["action"] not in actions:
            raise errors.InvalidInput(error_message=f"Action '{attrs['action']}' is not supported for {attrs['object_type']}")
        target = self.store.get(table, attrs["object_id"])
        if target is None or not (ctx.is_admin or target["project_id"] == ctx.project_id):
            # Neutron's callbacks answer both cases alike, without telling whether it exists.
            raise errors.InvalidInput(error_message="Only admins can manipulate policies on objects they do not own")
        check = CREATE_CHECKS.get(attrs["object_type"])
        if check is not None:
            check(self.plane, target, attrs["target_tenant"])
        same = (attrs["object_id"], attrs["action"], attrs["target_tenant"])
        if any((e["object_id"], e["action"], e["target_tenant"]) == same
               for e in self.store.find(self.table, "object_id", attrs["object_id"])):
            raise errors.DuplicateRbacPolicy()
        entry = self._entry(attrs["object_type"], attrs["object_id"], attrs["action"], attrs["target_tenant"],
                            attrs["project_id"])
        self.store.put(self.table, entry)
        self._sync(entry)
        return entry

    def authorize_update(self, ctx: Context, record: dict, changes: dict) -> None:
        if "target_tenant" in changes:
            self._check_wildcard(ctx, changes["target_tenant"], "update")

    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        new_target = changes.get("target_tenant", record["target_tenant"])
        if new_target != record["target_tenant"]:
            # Neutron's three validators differ: external grants count the new target as
            # admitted; network shares check the old target even when widening to '*'; other
            # objects check only when narrowing.
            if record["action"] == EXTERNAL:
                self._check_not_in_use(record, record["target_tenant"], also=new_target)
            elif record["object_type"] == "network" or new_target != WILDCARD:
                self._check_not_in_use(record, record["target_tenant"])
            same = (record["object_id"], record["action"], new_target)
            if any((e["object_id"], e["action"], e["target_tenant"]) == same
                   for e in self.store.find(self.table, "object_id", record["object_id"])):
                raise errors.DuplicateRbacPolicy()
        new = {**record, "target_tenant": new_target}
        self.store.put(self.table, new)
        self._sync(new)
        return new

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        self._check_not_in_use(record, record["target_tenant"])
        self.store.delete(self.table, record["id"])
        self._sync(record)

    # --- who still needs an entry -------------------------------------------------------------
    def _check_not_in_use(self, entry: dict, target: str, also: str | None = None) -> None:
        """Refuse to drop ``entry`` (or retarget it to ``also``) while a project it admits, and
        nothing else does, uses the object."""
        table = OBJECT_TYPES[entry["object_type"]][0]
        obj = self.store.get(table, entry["object_id"]) or {}
        owner = obj.get("project_id")
        if entry["action"] == EXTERNAL and target == WILDCARD and obj.get("is_default"):
            raise errors.RbacPolicyInUse(object_id=entry["object_id"],
                                         details="Default external networks must be shared to everyone.")
        if target == owner and entry["action"] == SHARED:
            return
        others = [e for e in self.store.find(self.table, "object_id", entry["object_id"])
                  if e["action"] == entry["action"] and e["id"] != entry["id"]]
        if target != WILDCARD and any(e["target_tenant"] == WILDCARD for e in others):
            return
        users = self._users(entry)
        if entry["object_type"] in ("network", "address_scope") and entry["action"] == SHARED:
            users.discard(owner)  # the owner needs no grant (Neutron exempts its ports / pools)
        admitted = {also} if also else set()
        if target == WILDCARD:
            stranded = users - {e["target_tenant"] for e in others} - admitted
        else:
            stranded = (users & {target}) - admitted
        if stranded:
            raise errors.RbacPolicyInUse(object_id=entry["object_id"], details=f"project_id={target}")

    def _users(self, entry: dict) -> set[str]:
        """Projects whose resources depend on the object through this kind of grant."""
        oid = entry["object_id"]
        if entry["object_type"] != "network":
            hook = BOUND_PROJECTS.get(entry["object_type"])
            return hook(self.plane, oid) if hook is not None else set()
        if entry["action"] == EXTERNAL:
            # Gateway ports belong to nobody; the routers holding them do.
            return {r["project_id"] for r in self.store.table("routers").values()
                    if (r.get("external_gateway_info") or {}).get("network_id") == oid}
        # The network's own infrastructure ports (DHCP, router interfaces) need no grant.
        return {p["project_id"] for p in self.store.find("ports", "network_id", oid)
                if p.get("project_id") and not p["device_owner"].startswith("network:")}
