"""QoS: policies, their rules (four types, as policy sub-resources and by alias) and rule types.

Where rules live: every rule is a record of the ``qos_rules`` table (so the alias URLs find a rule
by id in O(1)) AND an entry of its policy's ``rules`` list, which is what the data plane reads
from the snapshot (it only sees ``qos_policies``). Both are written in the same transaction, so
they never disagree; each rule change also bumps the policy's revision, as Neutron does.

Policy (Neutron's "secure RBAC" defaults): only admins create, change or delete policies and
rules; a policy is readable by its project and, when ``shared``, by everybody.
"""

from __future__ import annotations

from typing import Any

from .. import errors, query
from ..attributes import (
    REQUIRED,
    Attr,
    ResourceDef,
    name_attr,
    one_of,
    standard_attrs,
    to_bool,
    to_int,
)
from ..context import Context
from ..messages import Response
from ..service import ResourceService, envelope

MAX_INT = 2147483647  # neutron-lib DB_INTEGER_MAX_VALUE
VALID_DSCP_MARKS = (0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 44, 46, 48, 56)
DIRECTIONS = ("egress", "ingress")
DRIVER_NAME = "ovn"
RULES_TABLE = "qos_rules"
RULE_INDEXES = ("qos_policy_id",)  # every service sharing RULES_TABLE declares the same indexes

# Rule type -> its fields: (name, "range"|"choices", bounds or values, default). One table drives
# the attribute maps, the validation and the rule-type details document.
RULE_FIELDS: dict[str, tuple[tuple[str, str, Any, Any], ...]] = {
    "bandwidth_limit": (
        ("max_kbps", "range", (0, MAX_INT), REQUIRED),
        ("max_burst_kbps", "range", (0, MAX_INT), 0),
        ("direction", "choices", DIRECTIONS, "egress"),
    ),
    "dscp_marking": (("dscp_mark", "choices", VALID_DSCP_MARKS, REQUIRED),),
    "minimum_bandwidth": (
        ("min_kbps", "range", (0, MAX_INT), REQUIRED),
        ("direction", "choices", DIRECTIONS, "egress"),
    ),
    "packet_rate_limit": (
        ("max_kpps", "range", (0, MAX_INT), REQUIRED),
        ("max_burst_kpps", "range", (0, MAX_INT), 0),
        ("direction", "choices", DIRECTIONS, "egress"),
    ),
}
# Every type Neutron knows (the ``all_rules`` filter); the last one has no backend here.
ALL_RULE_TYPES = (*RULE_FIELDS, "minimum_packet_rate")
# Attachments that keep a policy from being deleted: (table, object type in the error message).
BINDINGS = (("ports", "port"), ("networks", "network"), ("floatingips", "fip"))


def value_range(low: int, high: int):
    """neutron-lib's ``type:range`` check, with its messages."""

    def check(value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"'{value}' is not an integer")
        if value < low:
            raise ValueError(f"'{value}' is too small - must be at least '{low}'")
        if value > high:
            raise ValueError(f"'{value}' is too large - must be no larger than '{high}'")

    return check


def _field_attr(name: str, kind: str, values: Any, default: Any) -> Attr:
    if kind == "range":
        check, convert = value_range(*values), to_int
    else:
        check = one_of(*values)
        convert = to_int if all(isinstance(v, int) for v in values) else None
    return Attr(name, post=True, put=True, default=default, convert=convert, validate=check, filter=True, sort=True)


def _rule_definition(rule_type: str, collection: str) -> ResourceDef:
    fields = tuple(_field_attr(*spec) for spec in RULE_FIELDS[rule_type])
    return ResourceDef(
        collection=collection,
        plural=f"{rule_type}_rules",
        singular=f"{rule_type}_rule",
        tags=False,
        not_found=errors.QosRuleNotFound,
        not_found_arg="rule_id",
        attrs=(Attr("id", filter=True, sort=True),) + fields,
    )


QOS_POLICY = ResourceDef(
    collection="qos/policies",
    plural="policies",
    singular="policy",
    not_found=errors.QosPolicyNotFound,
    not_found_arg="policy_id",
    attrs=standard_attrs()
    + (
        name_attr(),
        Attr("shared", post=True, put=True, default=False, convert=to_bool, filter=True),
        Attr("is_default", post=True, put=True, default=False, convert=to_bool, filter=True),
        Attr("rules"),
    ),
)


class QosPolicyService(ResourceService):
    """QoS policies. Other services call ``get_usable`` when they set ``qos_policy_id``."""

    # Neutron's tag extension serves policy tags at /v2.0/policies/{id}/tags (no qos/ prefix).
    tag_collections = ("policies",)

    definition = QOS_POLICY
    table = "qos_policies"
    attribute = "qos_policies"
    special_filters = frozenset({"shared"})  # per caller: see RbacPolicyService.shared_checks
    extensions = (
        "qos",
        "qos-bw-limit-direction",
        "qos-bw-minimum-ingress",
        "qos-default",
        "qos-rule-type-details",
        "qos-rule-type-filter",
        "qos-rules-alias",
        "qos-pps",
    )

    def extra_checks(self, ctx: Context, q: query.ListQuery) -> list:
        return self.plane.rbac_policies.shared_checks(ctx, q)

    # --- policy -------------------------------------------------------------------------------
    def visible(self, ctx: Context, record: dict) -> bool:
        return (ctx.is_admin or record["project_id"] == ctx.project_id or record["shared"]
                or self.plane.rbac_policies.grants(record["id"], ctx.project_id))

    def present(self, ctx: Context, record: dict, fields: list[str] | None = None) -> dict:
        # ``shared`` reads true for a project an RBAC entry shares the policy with.
        if not record["shared"] and ctx.project_id and self.plane.rbac_policies.grants(record["id"], ctx.project_id):
            record = {**record, "shared": True}
        return super().present(ctx, record, fields)

    def writable(self, ctx: Context, record: dict) -> bool:
        return ctx.is_admin

    def authorize_create(self, ctx: Context, attrs: dict) -> None:
        if not ctx.is_admin:
            raise self.policy_error("create")

    # --- hooks for other services -------------------------------------------------------------
    def get_usable(self, ctx: Context, policy_id: str) -> dict:
        """The policy if ``ctx`` may attach it to a port/network/FIP, else 404 QosPolicyNotFound."""
        return self.get(ctx, policy_id)

    def check_change(self, ctx: Context, record: dict, changes: dict) -> None:
        """Changing a resource's ``qos_policy_id``: the new one must be usable, and the old one
        may be taken off only by a caller who can see it (Neutron's _check_policy_change_permission)."""
        if "qos_policy_id" not in changes or changes["qos_policy_id"] == record.get("qos_policy_id"):
            return
        old = self.store.get(self.table, record["qos_policy_id"]) if record.get("qos_policy_id") else None
        if old is not None and not self.visible(ctx, old):
            raise errors.PolicyRemoveAuthorizationError(policy_id=old["id"])
        if changes["qos_policy_id"]:
            self.get_usable(ctx, changes["qos_policy_id"])

    def default_policy_id(self, project_id: str) -> str | None:
        """The project's ``is_default`` policy (qos-default: new networks without one get it)."""
        for record in self.store.find(self.table, "project_id", project_id):
            if record["is_default"]:
                return record["id"]
        return None

    def set_rules(self, policy_id: str, rules: list[dict]) -> dict:
        """Store a policy's new ``rules`` list, one revision later (used by the rule services)."""
        new = self.changed(self.store.get(self.table, policy_id), {"rules": rules})
        self.store.put(self.table, new)
        return new

    # --- writes -------------------------------------------------------------------------------
    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        if attrs["is_default"]:
            self._check_single_default(attrs["project_id"], None)
        record = self.new_record(attrs, rules=[])
        # Real Neutron reports a fresh policy at revision 0 (sample 056); the first rule makes it 1.
        record["revision_number"] = 0
        self.store.put(self.table, record)
        if record["shared"]:
            self.plane.rbac_policies.set_wildcard("qos_policy", record, "access_as_shared", True)
        return record

    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        if changes.get("is_default"):
            self._check_single_default(record["project_id"], record["id"])
        new = self.changed(record, changes)
        self.store.put(self.table, new)
        if "shared" in changes and changes["shared"] != record["shared"]:
            # Unsharing deletes the wildcard entry: 409 while a project it admits uses the policy.
            self.plane.rbac_policies.set_wildcard("qos_policy", new, "access_as_shared", changes["shared"])
        return new

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        for table, object_type in BINDINGS:
            user = self._first_user(table, record["id"])
            if user is not None:
                raise errors.QosPolicyInUse(policy_id=record["id"], object_type=object_type, object_id=user["id"])
        for rule in record["rules"]:
            self.store.delete(RULES_TABLE, rule["id"])
        self.plane.rbac_policies.forget(record["id"])
        self.store.delete(self.table, record["id"])

    def _check_single_default(self, project_id: str, own_id: str | None) -> None:
        for other in self.store.find(self.table, "project_id", project_id):
            if other["is_default"] and other["id"] != own_id:
                raise errors.QoSPolicyDefaultAlreadyExists(project_id=project_id)

    def _first_user(self, table: str, policy_id: str) -> dict | None:
        try:
            return next(iter(self.store.find(table, "qos_policy_id", policy_id)), None)
        except KeyError:
            # The owning service does not index qos_policy_id: scan (deleting a policy is rare).
            records = self.store.table(table).values()
            return next((r for r in records if r.get("qos_policy_id") == policy_id), None)


# --- rules ---------------------------------------------------------------------------------------
class QosRuleService(ResourceService):
    """One rule type under ``qos/policies/{policy_id}/<type>_rules``.

    The interpreter passes ``policy_id`` from the URL to ``list/create/get/update/delete``.
    Rule bodies carry only ``id`` and the type's fields; ``qos_policy_id`` and ``type`` are
    stored for the policy's ``rules`` list but never shown on the rule itself.
    """

    rule_type: str
    table = RULES_TABLE
    indexes = RULE_INDEXES
    indexed_filters = ()
    policy_prefix = "policy"  # policy rule names: rule:create_policy_bandwidth_limit_rule

    def hidden_for(self, ctx: Context, record: dict) -> frozenset[str]:
        return frozenset(("qos_policy_id", "type"))

    def authorize(self, ctx: Context, action: str) -> None:
        if not ctx.is_admin:
            raise errors.PolicyNotAuthorized(
                action=f"rule:{action}_{self.policy_prefix}_{self.definition.singular}"
            )

    def _policy(self, ctx: Context, policy_id: str | None) -> dict:
        return self.plane.qos_policies.get(ctx, policy_id)

    # --- reads --------------------------------------------------------------------------------
    def get(self, ctx: Context, rid: str, policy_id: str | None = None, **parents) -> dict:
        policy = self._policy(ctx, policy_id)
        rule = self.store.get(self.table, rid) if isinstance(rid, str) else None
        if rule is None or rule["qos_policy_id"] != policy["id"] or rule["type"] != self.rule_type:
            raise errors.QosRuleNotFound(rule_id=rid, policy_id=policy["id"])
        return rule

    def list(self, ctx: Context, q: query.ListQuery, policy_id: str | None = None, **parents) -> list[dict]:
        policy = self._policy(ctx, policy_id)
        match = query.matcher(q)
        records = [r for r in policy["rules"] if r["type"] == self.rule_type and match(r)]
        sorts = list(q.sorts)
        if not q.paging:
            return query.sort_records(records, sorts) if sorts else records
        if q.marker is not None and not any(r["id"] == q.marker for r in policy["rules"]):
            raise errors.QosRuleNotFound(rule_id=q.marker, policy_id=policy["id"])
        if not any(k == "id" for k, _ in sorts):
            sorts.append(("id", True))
        return self._slice_page(query.sort_records(records, sorts), q)

    # --- writes -------------------------------------------------------------------------------
    def create(self, ctx: Context, body: Any, policy_id: str | None = None, **parents) -> dict:
        fields = self._rule_fields(body)
        # Neutron enforces the create policy before it looks the parent up: a member is refused
        # (403) whether or not it can see the policy. Updates and deletes find the rule first.
        self.authorize(ctx, "create")
        policy = self._policy(ctx, policy_id)
        rule = {**fields, "id": self.plane.new_id(), "qos_policy_id": policy["id"], "type": self.rule_type}
        with self.store.transaction():
            _check_conflicts(policy, rule, fields)
            self.store.put(self.table, rule)
            self.plane.qos_policies.set_rules(policy["id"], policy["rules"] + [rule])
        return rule

    def update(
        self, ctx: Context, rid: str, body: Any, if_match: int | None = None, policy_id: str | None = None, **parents
    ) -> dict:
        # Rules have no revision_number, so If-Match does not apply to them.
        changes = self.prepare_update(ctx, body)
        rule = self.get(ctx, rid, policy_id=policy_id)
        policy = self.store.get(self.plane.qos_policies.table, rule["qos_policy_id"])
        self.authorize(ctx, "update")
        new = {**rule, **changes}
        data = dict(changes)
        if "direction" in new:
            data["direction"] = new["direction"]  # compare within the rule's (new) direction only
        with self.store.transaction():
            _check_conflicts(policy, new, data)
            self.store.put(self.table, new)
            rules = [new if r["id"] == rid else r for r in policy["rules"]]
            self.plane.qos_policies.set_rules(policy["id"], rules)
        return new

    def delete(
        self, ctx: Context, rid: str, if_match: int | None = None, policy_id: str | None = None, **parents
    ) -> None:
        rule = self.get(ctx, rid, policy_id=policy_id)
        policy = self.store.get(self.plane.qos_policies.table, rule["qos_policy_id"])
        self.authorize(ctx, "delete")
        with self.store.transaction():
            self.store.delete(self.table, rid)
            self.plane.qos_policies.set_rules(policy["id"], [r for r in policy["rules"] if r["id"] != rid])

    def _rule_fields(self, body: Any) -> dict:
        """Rules carry no project of their own: the policy's applies."""
        return self.prepare_fields(body)


def _check_conflicts(policy: dict, rule: dict, data: dict) -> None:
    """Neutron's checks, in its order: min/max bandwidth consistency, then one rule per
    (type, direction)."""
    direction = data.get("direction")
    for other in policy["rules"]:
        if other["type"] == "dscp_marking" or (direction and other.get("direction") != direction):
            continue
        if other["type"] == "minimum_bandwidth" and "max_kbps" in data and other["min_kbps"] > data["max_kbps"]:
            raise errors.QoSRuleParameterConflict(
                rule_value=data["max_kbps"], policy_id=policy["id"],
                existing_rule=other["type"], existing_value=other["min_kbps"],
            )
        if other["type"] == "bandwidth_limit" and "min_kbps" in data and other["max_kbps"] < data["min_kbps"]:
            raise errors.QoSRuleParameterConflict(
                rule_value=data["min_kbps"], policy_id=policy["id"],
                existing_rule=other["type"], existing_value=other["max_kbps"],
            )
    key = (rule["type"], rule.get("direction"))
    for other in policy["rules"]:
        if other["id"] != rule["id"] and (other["type"], other.get("direction")) == key:
            raise errors.QoSRulesConflict(new_rule_type=rule["type"], rule_id=other["id"], policy_id=policy["id"])


class QosRuleAliasService(QosRuleService):
    """``qos/alias_<type>_rules/{rule_id}``: GET/PUT/DELETE a rule without its policy id."""

    custom_routes_only = True
    policy_prefix = "alias"

    def locate(self, ctx: Context, rid: str) -> str:
        """The policy id of a rule the caller may see (else 404 QosRuleNotFound)."""
        rule = self.store.get(self.table, rid)
        policies = self.plane.qos_policies
        if rule is not None and rule["type"] == self.rule_type:
            policy = self.store.get(policies.table, rule["qos_policy_id"])
            if policies.visible(ctx, policy):
                return policy["id"]
        # Hidden and missing look the same, so another project's rule ids do not leak.
        raise errors.QosRuleNotFound(rule_id=rid, policy_id="")

    def routes(self) -> dict:
        singular = self.definition.singular

        def show(ctx, req, rid):
            fields = [v for k, v in req.query if k == "fields" and v]
            rule = self.get(ctx, rid, policy_id=self.locate(ctx, rid))
            return Response(200, {singular: self.present(ctx, rule, fields)})

        def update(ctx, req, rid):
            policy_id = self.locate(ctx, rid)
            rule = self.update(ctx, rid, envelope(req.body, singular), policy_id=policy_id)
            return Response(200, {singular: self.present(ctx, rule)})

        def delete(ctx, req, rid):
            self.delete(ctx, rid, policy_id=self.locate(ctx, rid))
            return Response(204)

        return {r"/(?P<rid>[^/]+)": {"GET": show, "PUT": update, "DELETE": delete}}




def _rule_services(rule_type: str) -> tuple[type, type]:
    """The two URL families of one rule type: under its policy, and the policy-less alias."""
    name = "".join(word.title() for word in rule_type.split("_"))
    nested = type(f"{name}RuleService", (QosRuleService,), {
        "rule_type": rule_type,
        "definition": _rule_definition(rule_type, f"qos/policies/{{policy_id}}/{rule_type}_rules"),
        "attribute": f"qos_{rule_type}_rules",
    })
    alias = type(f"{name}RuleAliasService", (QosRuleAliasService,), {
        "rule_type": rule_type,
        "definition": _rule_definition(rule_type, f"qos/alias_{rule_type}_rules"),
        "attribute": f"qos_alias_{rule_type}_rules",
    })
    return nested, alias


RULE_SERVICES = tuple(
    cls for rule_type in RULE_FIELDS for cls in _rule_services(rule_type)
)


# --- rule types ----------------------------------------------------------------------------------
QOS_RULE_TYPE = ResourceDef(
    collection="qos/rule-types",
    plural="rule_types",
    singular="rule_type",
    tags=False,
    not_found=errors.QosRuleTypeNotFound,
    not_found_arg="rule_type",
    attrs=(Attr("type"), Attr("drivers")),
)


class QosRuleTypeService(ResourceService):
    """``qos/rule-types``: what the (single, OVN-like) backend supports; details are admin-only."""

    definition = QOS_RULE_TYPE
    table = RULES_TABLE
    indexes = RULE_INDEXES
    attribute = "qos_rule_types"
    special_filters = frozenset({"all_supported", "all_rules"})
    custom_routes_only = True

    def rule_types(self, q: query.ListQuery) -> list[dict]:
        """``all_rules=true``: every type Neutron knows; otherwise those the backend supports
        (with one backend, ``all_supported`` names the same set)."""
        flags = {}
        for name, values in q.special.items():
            try:
                flags[name] = to_bool(values[-1])
            except ValueError as exc:
                raise errors.HTTPBadRequest(f"Invalid input for {name}. Reason: {exc}.") from None
        names = ALL_RULE_TYPES if flags.get("all_rules") else tuple(RULE_FIELDS)
        return [{"type": name} for name in names]

    def details(self, ctx: Context, rule_type: str) -> dict:
        if not ctx.is_admin:
            raise errors.NotAuthorized()
        if rule_type not in ALL_RULE_TYPES:
            raise errors.QosRuleTypeNotFound(rule_type=rule_type)
        drivers = []
        if rule_type in RULE_FIELDS:
            drivers.append({"name": DRIVER_NAME, "supported_parameters": _parameters(rule_type)})
        return {"type": rule_type, "drivers": drivers}

    def routes(self) -> dict:
        def list_types(ctx, req):
            q = query.parse(req.query, self.definition, self.special_filters)
            return Response(200, {"rule_types": [self.present(ctx, r, q.fields) for r in self.rule_types(q)]})

        def show(ctx, req, rid):
            fields = [v for k, v in req.query if k == "fields" and v]
            return Response(200, {"rule_type": self.present(ctx, self.details(ctx, rid), fields)})

        return {"": {"GET": list_types}, r"/(?P<rid>[^/]+)": {"GET": show}}


def _parameters(rule_type: str) -> list[dict]:
    parameters = []
    for name, kind, values, _default in RULE_FIELDS[rule_type]:
        shown = {"start": values[0], "end": values[1]} if kind == "range" else list(values)
        parameters.append({"parameter_name": name, "parameter_type": kind, "parameter_values": shown})
    return parameters


QOS_EXTRA_SERVICES = (*RULE_SERVICES, QosRuleTypeService)

__all__ = ["QOS_POLICY", "QosPolicyService", "QOS_EXTRA_SERVICES", "RULE_FIELDS", "ALL_RULE_TYPES"]
