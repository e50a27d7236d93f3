"""``/v2.0/default-security-group-rules`` (``security-groups-default-rules``): the template every
new security group is filled from.

Each template rule says whether it goes into projects' ``default`` groups
(``used_in_default_sg``), into every other new group (``used_in_non_default_sg``), or both;
``remote_group_id: PARENT`` stands for the group being created. The cloud starts with Neutron's
four legacy rules (ingress from the group itself and egress anywhere, IPv4 and IPv6; only the
egress ones for non-default groups). They are not stored until an admin deletes one (a
tombstone then records it), so a fresh plane writes nothing. Admins create and delete template
rules; everybody may read them. Changing the template never touches existing groups.
"""

from __future__ import annotations

import uuid

from .. import errors, query
from ..attributes import Attr, ResourceDef, one_of, string, to_bool, uuid_value
from ..context import Context
from ..service import ResourceService
from .security_groups import (
    ETHERTYPES,
    canonical_rule,
    convert_ethertype,
    convert_port,
    convert_prefix,
    convert_protocol,
    protocol_key,
)

PARENT = "PARENT"
EGRESS_DESCRIPTION = "Legacy default SG rule for egress traffic"
INGRESS_DESCRIPTION = "Legacy default SG rule for ingress traffic"


def _remote_group(value) -> None:
    if value is not None and value != PARENT:
        uuid_value(value)


DEFAULT_SG_RULE = ResourceDef(
    collection="default-security-group-rules",
    plural="default_security_group_rules",
    singular="default_security_group_rule",
    not_found=errors.DefaultSecurityGroupRuleNotFound,
    not_found_arg="id",
    tags=False,
    attrs=(
        Attr("id", filter=True, sort=True),
        Attr("description", post=True, default="", validate=string(1024), filter=True),
        Attr("remote_group_id", post=True, default=None, validate=_remote_group, filter=True, sort=True),
        Attr("remote_address_group_id", post=True, default=None, validate=uuid_value, filter=True, sort=True),
        Attr("direction", post=True, default=None, validate=one_of("ingress", "egress"), filter=True, sort=True),
        Attr("protocol", post=True, default=None, convert=convert_protocol, filter=True, sort=True),
        Attr("port_range_min", post=True, default=None, convert=convert_port, filter=True, sort=True),
        Attr("port_range_max", post=True, default=None, convert=convert_port, filter=True, sort=True),
        Attr("ethertype", post=True, default="IPv4", convert=convert_ethertype, filter=True, sort=True),
        Attr("remote_ip_prefix", post=True, default=None, convert=convert_prefix, filter=True, sort=True),
        Attr("used_in_default_sg", post=True, default=True, convert=to_bool, filter=True, filter_convert=to_bool),
        Attr("used_in_non_default_sg", post=True, default=True, convert=to_bool, filter=True, filter_convert=to_bool),
    ),
)


def _legacy_rules() -> dict[str, dict]:
    """Neutron's four legacy template rules, with ids stable across planes and restarts."""
    rules = {}
    for ethertype in ETHERTYPES:
        for direction, remote, non_default, description in (
            ("ingress", PARENT, False, INGRESS_DESCRIPTION),
            ("egress", None, True, EGRESS_DESCRIPTION),
        ):
            rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"xloudnet/default-sg-rule/{direction}/{ethertype}"))
            rules[rid] = {
                "id": rid, "description": description, "remote_group_id": remote,
                "remote_address_group_id": None, "direction": direction, "protocol": None,
                "port_range_min": None, "port_range_max": None, "ethertype": ethertype,
                "remote_ip_prefix": None, "used_in_default_sg": True, "used_in_non_default_sg": non_default,
            }  # fmt: skip
    return rules


LEGACY = _legacy_rules()


class DefaultSecurityGroupRuleService(ResourceService):
    """The rule template of new security groups (admin-managed, readable by all)."""

    definition = DEFAULT_SG_RULE
    table = "default_security_group_rules"  # admin-made rules, and tombstones of deleted legacy ones
    attribute = "default_security_group_rules"
    indexes = ()
    indexed_filters = ()
    extensions = ("security-groups-default-rules",)

    def template(self) -> list[dict]:
        """Every template rule in effect: the legacy ones not deleted, then the admins'."""
        stored = self.store.table(self.table)
        legacy = [rule for rid, rule in LEGACY.items() if rid not in stored]
        return legacy + [r for r in stored.values() if not r.get("deleted")]

    def rules_for(self, group: dict) -> list[dict]:
        """The template rules a new group gets, ``PARENT`` replaced by the group's id."""
        key = "used_in_default_sg" if group.get("default_of") is not None else "used_in_non_default_sg"
        return [{**rule, "remote_group_id": group["id"] if rule["remote_group_id"] == PARENT else rule["remote_group_id"]}
                for rule in self.template() if rule[key]]

    # --- policy -------------------------------------------------------------------------------
    def visible(self, ctx: Context, record: dict) -> bool:
        return not record.get("deleted")

    def writable(self, ctx: Context, record: dict) -> bool:
        return ctx.is_admin

    def authorize_create(self, ctx: Context, attrs: dict) -> None:
        if not ctx.is_admin:
            raise self.policy_error("create")

    # --- reads --------------------------------------------------------------------------------
    def get(self, ctx: Context, rid: str) -> dict:
        for rule in self.template():
            if rule["id"] == rid:
                return rule
        raise self.not_found(rid)

    def candidates(self, ctx: Context, q):
        return iter(self.template())

    def list(self, ctx: Context, q) -> list[dict]:
        match = query.matcher(q)
        records = [r for r in self.template() if match(r)]
        sorts = list(q.sorts)
        if q.paging:
            if not any(k == "id" for k, _ in sorts):
                sorts.append(("id", True))
            records = query.sort_records(records, sorts)
            if q.marker is not None and not any(r["id"] == q.marker for r in records):
                raise self.not_found(q.marker)
            return self._slice_page_of(records, q)
        return query.sort_records(records, sorts) if sorts else records

    @staticmethod
    def _slice_page_of(records: list[dict], q) -> list[dict]:
        position = {r["id"]: i for i, r in enumerate(records)}
        if q.page_reverse:
            end = position.get(q.marker, len(records)) if q.marker else len(records)
            return records[max(0, end - q.limit):end]
        start = position[q.marker] + 1 if q.marker in position else 0
        return records[start:start + q.limit]

    # --- writes -------------------------------------------------------------------------------
    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        if attrs.get("direction") is None:
            raise errors.HTTPBadRequest("Failed to parse request. Required attribute 'direction' not specified")
        if attrs.get("remote_address_group_id") is not None:
            self.plane.address_groups.get(ctx, attrs["remote_address_group_id"])  # must exist
        rule = {**canonical_rule(attrs), "id": self.plane.new_id()}
        rule.pop("project_id", None)
        rule.pop("tenant_id", None)
        for other in self.template():
            same_targets = (other["used_in_default_sg"] and rule["used_in_default_sg"]) or (
                other["used_in_non_default_sg"] and rule["used_in_non_default_sg"])
            if same_targets and _key(other) == _key(rule):
                raise errors.DefaultSecurityGroupRuleExists(rule_id=other["id"])
        self.store.put(self.table, rule)
        return rule

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        if record["id"] in LEGACY:
            self.store.put(self.table, {"id": record["id"], "deleted": True})
        else:
            self.store.delete(self.table, record["id"])


def _key(rule: dict) -> tuple:
    prefix = rule.get("remote_ip_prefix")
    return (rule["direction"], rule["ethertype"], protocol_key(rule.get("protocol")), rule.get("port_range_min"),
            rule.get("port_range_max"), rule.get("remote_group_id"), rule.get("remote_address_group_id"),
            None if prefix in ("0.0.0.0/0", "::/0") else prefix)
