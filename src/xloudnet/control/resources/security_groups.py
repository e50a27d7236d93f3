"""Security groups and their rules.

A project's ``default`` group is created lazily, the first time the project lists groups or
rules, creates a group, a network or a port (as Neutron does). Rules are immutable: they are
created and deleted, never updated. Spellings are canonicalised the way Neutron's converters do
(ethertype case, protocol names lower-cased, numbers kept as strings, IPv6 ICMP rewritten,
prefixes given a mask), and duplicates are detected on the canonical form, looking only at the
target group's rules through the ``security_group_id`` index.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .. import errors
from ..attributes import (
    REQUIRED,
    Attr,
    ResourceDef,
    name_string,
    one_of,
    standard_attrs,
    to_bool,
    uuid_or_none,
)
from ..context import Context
from ..query import ListQuery
from ..service import ResourceService
from ...model.protocols import (
    CANONICAL_NAMES,
    ICMP_PROTOCOLS,
    IPV6_ONLY_PROTOCOLS,
    PORT_PROTOCOLS,
    PROTOCOL_NUMBERS,
    ipv6_rule_protocol,
)

DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"
ETHERTYPES = ("IPv4", "IPv6")
MIXED_STATEFUL = (
    "Cannot apply both stateful and stateless security groups on the same port at the same time."
)

# Protocol names and numbers: the one table in ``model.protocols`` (neutron-lib's IP_PROTOCOL_MAP).
PROTOCOLS = PROTOCOL_NUMBERS
SUPPORTED_PROTOCOLS = [None, *PROTOCOLS]
ANY_PREFIXES = ("0.0.0.0/0", "::/0", None)


# --- converters (Neutron raises its own error types from these, not HTTPBadRequest) -------------
def convert_ethertype(value: Any) -> str:
    if isinstance(value, str):
        for ethertype in ETHERTYPES:
            if ethertype.lower() == value.lower():
                return ethertype
    raise errors.SecurityGroupRuleInvalidEtherType(ethertype=value, values=list(ETHERTYPES))


def convert_protocol(value: Any) -> str | None:
    """Names lower-cased, numbers 0-255 kept as strings, ``any``/null meaning every protocol."""
    if value is None or value == "any":
        return None
    invalid = errors.SecurityGroupRuleInvalidProtocol(protocol=value, values=SUPPORTED_PROTOCOLS)
    if isinstance(value, (bool, float)):
        raise invalid
    try:
        number = int(value)
    except (ValueError, TypeError):
        if isinstance(value, str) and value.lower() in PROTOCOLS:
            return value.lower()
        raise invalid from None
    if 0 <= number <= 255:
        return str(value)
    raise invalid


def convert_port(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except (ValueError, TypeError):
        raise errors.SecurityGroupInvalidPortValue(port=value) from None
    if isinstance(value, float) or not 0 <= number <= 65535:
        raise errors.SecurityGroupInvalidPortValue(port=value)
    return number


def convert_prefix(value: Any) -> str | None:
    """An address or CIDR, stored with its mask and host bits (``10.0.0.1`` → ``10.0.0.1/32``)."""
    if not value:
        return None
    if not isinstance(value, str):
        raise errors.InvalidCIDR(input=value)
    try:
        return str(ipaddress.ip_interface(value.strip()))
    except ValueError:
        raise errors.InvalidCIDR(input=value) from None


def validate_group_name(value: Any) -> None:
    """Names are strings without control characters, and never ``default`` in any case."""
    name_string(255)(value)
    if value.lower() == DEFAULT_NAME:
        raise errors.SecurityGroupDefaultAlreadyExists()


def protocol_number(protocol: str | None) -> int | None:
    if protocol is None:
        return None
    return PROTOCOLS[protocol] if protocol in PROTOCOLS else int(protocol)


def _spelled_number(protocol: str | None) -> int | None:
    """The number a stored protocol spells in plain decimal (``"6"``; not ``"06"``), else None:
    Neutron matches names and numbers only in that spelling."""
    if protocol is not None and protocol.isdigit() and str(int(protocol)) == protocol:
        return int(protocol)
    return None


def protocol_key(protocol: str | None) -> tuple | None:
    """(name, number) as Neutron compares protocols: ``tcp`` ≡ ``6``, but ``hopopt`` ≢ ``0``."""
    if protocol is None:
        return None
    if protocol in PROTOCOLS:
        return (protocol, str(PROTOCOLS[protocol]))
    if _spelled_number(protocol) in CANONICAL_NAMES:
        return (CANONICAL_NAMES[int(protocol)], protocol)
    return (protocol, protocol)


def rule_key(rule: dict) -> tuple:
    """What makes two rules duplicates (any-address prefixes and null are the same remote)."""
    prefix = rule.get("remote_ip_prefix")
    return (
        rule["security_group_id"],
        rule["direction"],
        rule["ethertype"],
        rule.get("port_range_min"),
        rule.get("port_range_max"),
        protocol_key(rule.get("protocol")),
        rule.get("remote_group_id"),
        rule.get("remote_address_group_id"),
        None if prefix in ANY_PREFIXES else prefix,
    )


# --- rule canonicalisation and the cross-field checks of Neutron's _validate_security_group_rule --
def canonical_rule(attrs: dict) -> dict:
    """The converted POST attributes after Neutron's cross-field rules; raises its 400s."""
    rule = dict(attrs)
    if rule["ethertype"] == "IPv6":
        rule["protocol"] = ipv6_rule_protocol(rule["protocol"])
    _check_port_range(rule)
    prefix = rule["remote_ip_prefix"]
    if prefix is not None and rule["ethertype"] != f"IPv{ipaddress.ip_interface(prefix).version}":
        raise errors.SecurityGroupRuleParameterConflict(ethertype=rule["ethertype"], cidr=prefix)
    protocol = rule["protocol"]
    number = PROTOCOLS[protocol] if protocol in PROTOCOLS else _spelled_number(protocol)
    if number in IPV6_ONLY_PROTOCOLS and rule["ethertype"] == "IPv4":
        raise errors.SecurityGroupEthertypeConflictWithProtocol(
            ethertype=rule["ethertype"], protocol=rule["protocol"]
        )
    remotes = ("remote_ip_prefix", "remote_group_id", "remote_address_group_id")
    if sum(1 for key in remotes if rule.get(key)) > 1:
        raise errors.SecurityGroupMultipleRemoteEntites()
    return rule


def _check_port_range(rule: dict) -> None:
    low, high = rule["port_range_min"], rule["port_range_max"]
    if low is None and high is None:
        return
    if rule["protocol"] is None:
        raise errors.SecurityGroupProtocolRequiredWithPorts()
    number = protocol_number(rule["protocol"])
    if number in PORT_PROTOCOLS:
        if low == 0 or high == 0:
            raise errors.SecurityGroupInvalidPortValue(port=0)
        if low is None or high is None or low > high:
            raise errors.SecurityGroupInvalidPortRange()
        if (low, high) == (1, 65535):
            # Neutron stores the whole range as "no range": the two spellings are one rule.
            rule["port_range_min"] = rule["port_range_max"] = None
    elif number in ICMP_PROTOCOLS:
        for attr, field in (("port_range_min", "type"), ("port_range_max", "code")):
            if rule[attr] is not None and not 0 <= rule[attr] <= 255:
                raise errors.SecurityGroupInvalidIcmpValue(field=field, attr=attr, value=rule[attr])
        if low is None:
            raise errors.SecurityGroupMissingIcmpType(value=high)
    else:
        raise errors.SecurityGroupInvalidProtocolForPort(protocol=number)


def normalized_cidr(prefix: str | None) -> str | None:
    return None if prefix is None else str(ipaddress.ip_interface(prefix).network)


SECURITY_GROUP = ResourceDef(
    collection="security-groups",
    plural="security_groups",
    singular="security_group",
    not_found=errors.SecurityGroupNotFound,
    attrs=standard_attrs()
    + (
        Attr("name", post=True, put=True, default="", validate=validate_group_name, filter=True, sort=True),
        Attr("stateful", post=True, put=True, default=True, convert=to_bool, filter=True),
        Attr("shared", filter=True, filter_convert=to_bool),
        Attr("security_group_rules"),
        # The project this group is the default of (None for other groups); internal.
        Attr("default_of", visible=False),
    ),
)

SECURITY_GROUP_RULE = ResourceDef(
    collection="security-group-rules",
    plural="security_group_rules",
    singular="security_group_rule",
    not_found=errors.SecurityGroupRuleNotFound,
    tags=False,
    attrs=standard_attrs(tags=False)
    + (
        Attr("security_group_id", post=True, default=REQUIRED, filter=True, sort=True),
        Attr("direction", post=True, default=REQUIRED, validate=one_of("ingress", "egress"), filter=True, sort=True),
        Attr("ethertype", post=True, default="IPv4", convert=convert_ethertype, filter=True, sort=True),
        Attr("protocol", post=True, default=None, convert=convert_protocol, filter=True, sort=True),
        Attr("port_range_min", post=True, default=None, convert=convert_port, filter=True, sort=True),
        Attr("port_range_max", post=True, default=None, convert=convert_port, filter=True, sort=True),
        Attr("remote_ip_prefix", post=True, default=None, convert=convert_prefix, filter=True, sort=True),
        Attr("remote_group_id", post=True, default=None, filter=True, sort=True),
        Attr("remote_address_group_id", post=True, default=None, validate=uuid_or_none, filter=True, sort=True),
        Attr("normalized_cidr", filter=True, filter_convert=convert_prefix),
        Attr("belongs_to_default_sg", filter=True, filter_convert=to_bool),
        # Neutron's standard-attribute row id: shown only inside a group's rule list.
        Attr("standard_attr_id", visible=False),
    ),
)

SG_EXTENSIONS = (
    "security-group",
    "stateful-security-group",
    "security-groups-normalized-cidr",
    "security-groups-rules-belongs-to-default-sg",
    "port-security-groups-filtering",
    "security-groups-shared-filtering",
)


def _listing_project(ctx: Context, q: ListQuery) -> str | None:
    """Whose default group a list call creates: the caller's, or (admins) the filtered project."""
    for key in ("project_id", "tenant_id"):
        wanted = q.filters.get(key)
        if wanted and isinstance(wanted[0], str) and (ctx.is_admin or wanted[0] == ctx.project_id):
            return wanted[0]
    return ctx.project_id


class SecurityGroupService(ResourceService):
    """Groups: visible to their project (and to all when shared); the default one is lazy."""

    definition = SECURITY_GROUP
    table = "security_groups"
    attribute = "security_groups"
    indexes = ("project_id", "default_of")
    extensions = SG_EXTENSIONS
    special_filters = frozenset({"shared"})  # per caller: see RbacPolicyService.shared_checks

    def extra_checks(self, ctx: Context, q: ListQuery) -> list:
        return self.plane.rbac_policies.shared_checks(ctx, q)

    def visible(self, ctx: Context, record: dict) -> bool:
        # Neutron's get_security_group: admin, owner, or the group shared with the caller's
        # project (rbac-security-groups: a wildcard or targeted access_as_shared entry).
        return (ctx.is_admin or record["project_id"] == ctx.project_id
                or self.plane.rbac_policies.shared_with(record, ctx.project_id))

    # --- hooks other services call ---------------------------------------------------------------
    def ensure_default(self, project_id: str | None) -> str | None:
        """The project's default group id, creating it (with its 4 rules) on first need."""
        if not project_id:
            return None  # service ports (router gateways, floating IPs) have no project
        for sg_id in self.store.ids_where(self.table, "default_of", project_id):
            return sg_id
        with self.store.transaction():
            record = self.new_record(
                {"name": DEFAULT_NAME, "description": DEFAULT_DESCRIPTION, "stateful": True, "project_id": project_id},
                shared=False,
                default_of=project_id,
            )
            self.store.put(self.table, record)
            self.plane.security_group_rules.add_initial_rules(record)
        return record["id"]

    def check_usable(self, ctx: Context, sg_ids: list[str], project_id: str | None) -> None:
        """Raise unless a port of ``project_id`` may use these groups: each must exist and be
        the project's own, shared, or the caller an admin (404 ``SecurityGroupNotFound`` naming
        the missing ones), and they must not mix stateful and stateless (409)."""
        found, missing = [], []
        for sg_id in dict.fromkeys(sg_ids):
            record = self.store.get(self.table, sg_id) if isinstance(sg_id, str) else None
            if record is not None and (
                ctx.is_admin or not project_id or record["project_id"] == project_id
                or self.plane.rbac_policies.shared_with(record, project_id)
            ):
                found.append(record)
            else:
                missing.append(str(sg_id))
        if missing:
            raise errors.SecurityGroupNotFound(id=", ".join(missing))
        if len({record["stateful"] for record in found}) > 1:
            raise errors.SecurityGroupConflict(reason=MIXED_STATEFUL)

    def members(self, sg_id: str) -> list[dict]:
        """The ports that use this group."""
        if "security_groups" in self.plane.ports.indexes:
            return list(self.store.find("ports", "security_groups", sg_id))
        # Until the ports table declares the index: a scan, correct but slow.
        return [p for p in self.store.table("ports").values() if sg_id in (p.get("security_groups") or ())]

    def is_default(self, sg_id: str) -> bool:
        record = self.store.get(self.table, sg_id)
        return record is not None and record.get("default_of") is not None

    # --- reads ---------------------------------------------------------------------------------
    def list(self, ctx: Context, q: ListQuery) -> list[dict]:
        self.ensure_default(_listing_project(ctx, q))
        return super().list(ctx, q)

    def candidates(self, ctx: Context, q: ListQuery):
        """A member sees its own groups and those shared with it: gather both by index."""
        if ctx.is_admin or any(key in q.filters for key in self.indexed_filters):
            return super().candidates(ctx, q)
        found = {r["id"]: r for r in self.store.find(self.table, "project_id", ctx.project_id)}
        for gid in self.plane.rbac_policies.shared_object_ids("security_group", ctx.project_id):
            record = self.store.get(self.table, gid)
            if record is not None:
                found.setdefault(gid, record)
        return iter(found.values())

    def present(self, ctx: Context, record: dict, fields: list[str] | None = None) -> dict:
        """The group with its rules as full dicts (computed from the rules index, never stored)."""
        # ``shared`` reads true for a project an RBAC entry shares the group with.
        if not record["shared"] and ctx.project_id and self.plane.rbac_policies.grants(record["id"], ctx.project_id):
            record = {**record, "shared": True}
        body = super().present(ctx, record, fields)
        if not fields or "security_group_rules" in fields:
            body = dict(body)
            body["security_group_rules"] = self.plane.security_group_rules.embedded(record["id"])
        return body

    # --- writes --------------------------------------------------------------------------------
    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        self.ensure_default(attrs["project_id"])
        record = self.new_record(attrs, shared=False, default_of=None)
        self.store.put(self.table, record)
        self.plane.security_group_rules.add_initial_rules(record, ctx)
        return record

    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        if record["default_of"] is not None and "name" in changes:
            raise errors.SecurityGroupCannotUpdateDefault()
        if "stateful" in changes and changes["stateful"] != record["stateful"] and self.members(record["id"]):
            raise errors.SecurityGroupInUse(id=record["id"], reason="in use")
        new = self.changed(record, changes)
        self.store.put(self.table, new)
        return new

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        if self.members(record["id"]):
            raise errors.SecurityGroupInUse(id=record["id"], reason="in use")
        if record["default_of"] is not None and not ctx.is_admin:
            raise errors.SecurityGroupCannotRemoveDefault()
        self.plane.security_group_rules.remove_for_group(record["id"])
        self.plane.rbac_policies.forget(record["id"])
        self.store.delete(self.table, record["id"])


class SecurityGroupRuleService(ResourceService):
    """Rules: created and deleted by admins or the group's owner; never updated."""

    definition = SECURITY_GROUP_RULE
    table = "security_group_rules"
    attribute = "security_group_rules"
    indexes = ("project_id", "security_group_id", "remote_group_id", "remote_address_group_id")
    indexed_filters = ("security_group_id", "project_id", "remote_group_id")

    # --- policy ----------------------------------------------------------------------------------
    def _owns(self, ctx: Context, record: dict) -> bool:
        if record["project_id"] == ctx.project_id:
            return True
        group = self.store.get("security_groups", record["security_group_id"])
        return group is not None and group["project_id"] == ctx.project_id

    def visible(self, ctx: Context, record: dict) -> bool:
        return ctx.is_admin or self._owns(ctx, record)

    def writable(self, ctx: Context, record: dict) -> bool:
        return ctx.is_admin or (ctx.is_member and self._owns(ctx, record))

    # --- reads ---------------------------------------------------------------------------------
    def list(self, ctx: Context, q: ListQuery) -> list[dict]:
        self.plane.security_groups.ensure_default(_listing_project(ctx, q))
        return super().list(ctx, q)

    def candidates(self, ctx: Context, q: ListQuery):
        """A member sees the rules of its own groups and its own rules: gather those by index."""
        if ctx.is_admin or any(key in q.filters for key in self.indexed_filters):
            return super().candidates(ctx, q)
        found: dict[str, dict] = {}
        for sg_id in self.store.ids_where("security_groups", "project_id", ctx.project_id):
            found.update((r["id"], r) for r in self.store.find(self.table, "security_group_id", sg_id))
        found.update((r["id"], r) for r in self.store.find(self.table, "project_id", ctx.project_id))
        return iter(found.values())

    def embedded(self, sg_id: str) -> list[dict]:
        """A group's rules as its body shows them (with ``standard_attr_id`` and empty tags)."""
        rules = sorted(self.store.find(self.table, "security_group_id", sg_id), key=lambda r: r["standard_attr_id"])
        return [{**rule, "tags": []} for rule in rules]

    # --- writes --------------------------------------------------------------------------------
    def update(self, ctx: Context, rid: str, body: dict, if_match: int | None = None, **parents) -> dict:
        """Neutron has no update handler for rules: any attribute but description is read-only
        (400); what passes that has nowhere to go (405, where Neutron fails with a 500)."""
        self.prepare_update(ctx, body)
        self.get_for_update(ctx, rid)
        raise errors.HTTPMethodNotAllowed()

    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        group = self.plane.security_groups.get(ctx, attrs["security_group_id"])
        if not self.plane.security_groups.writable(ctx, group):
            raise self.policy_error("create")
        rule = canonical_rule(attrs)
        if rule["remote_group_id"] is not None:
            self.plane.security_groups.get(ctx, rule["remote_group_id"])
        if rule["remote_address_group_id"] is not None:
            self.plane.address_groups.usable(ctx, rule["remote_address_group_id"], rule["project_id"])
        self._check_duplicate(ctx, rule)
        record = self._put_rule(rule, belongs_to_default=group["default_of"] is not None)
        self.plane.security_groups.bump(group["id"])
        return record

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        self.store.delete(self.table, record["id"])
        self.plane.security_groups.bump(record["security_group_id"])

    def before_bulk_create(self, ctx: Context, bodies: list) -> None:
        """A bulk POST must target one group of one project and hold no twin rules."""
        rules = [canonical_rule(self.prepare_create(ctx, body)) for body in bodies]
        if len({r["security_group_id"] for r in rules}) > 1:
            raise errors.SecurityGroupNotSingleGroupRules()
        if len({r["project_id"] for r in rules}) > 1:
            raise errors.SecurityGroupRulesNotSingleTenant()
        if len({rule_key(r) for r in rules}) < len(rules):
            raise errors.DuplicateSecurityGroupRuleInPost()

    # --- helpers the group service uses ----------------------------------------------------------
    def add_initial_rules(self, group: dict, ctx: Context | None = None) -> None:
        """The rules the default-rules template gives this kind of group (out of the box: egress
        IPv4/IPv6 for every group; the default group also admits its own members).

        The group keeps its revision (Neutron reports 1 for a fresh group with these rules).
        """
        default = group["default_of"] is not None
        for template in self.plane.default_security_group_rules.rules_for(group):
            if ctx is not None:
                self.plane.quotas.check(ctx, self.table, group["project_id"])
            rule = {
                "project_id": group["project_id"], "security_group_id": group["id"],
                "ethertype": template["ethertype"], "direction": template["direction"],
                "protocol": template["protocol"], "port_range_min": template["port_range_min"],
                "port_range_max": template["port_range_max"], "remote_ip_prefix": template["remote_ip_prefix"],
                "remote_address_group_id": template["remote_address_group_id"],
                "remote_group_id": template["remote_group_id"], "description": None,
            }  # fmt: skip
            self._put_rule(rule, belongs_to_default=default)

    def remove_for_group(self, sg_id: str) -> None:
        """Drop a deleted group's rules, and (as Neutron's cascade does) the rules of other
        groups that name it as their remote group."""
        for rule in list(self.store.find(self.table, "security_group_id", sg_id)):
            self.store.delete(self.table, rule["id"])
        for rule in list(self.store.find(self.table, "remote_group_id", sg_id)):
            self.store.delete(self.table, rule["id"])
            self.plane.security_groups.bump(rule["security_group_id"])

    # --- internals -----------------------------------------------------------------------------
    def _put_rule(self, rule: dict, belongs_to_default: bool) -> dict:
        record = self.new_record(
            {
                "project_id": rule["project_id"],
                "security_group_id": rule["security_group_id"],
                "ethertype": rule["ethertype"],
                "direction": rule["direction"],
                "protocol": rule["protocol"],
                "port_range_min": rule["port_range_min"],
                "port_range_max": rule["port_range_max"],
                "remote_ip_prefix": rule["remote_ip_prefix"],
                "remote_address_group_id": rule["remote_address_group_id"],
                "normalized_cidr": normalized_cidr(rule["remote_ip_prefix"]),
                "remote_group_id": rule["remote_group_id"],
                "belongs_to_default_sg": belongs_to_default,
                "description": rule["description"],
            },
            # Unique and increasing: the store revision only grows with each write.
            standard_attr_id=self.store.revision + 1,
        )
        # Real Neutron reports rules at revision 0 (samples 033-038): rules are never revised.
        record["revision_number"] = 0
        self.store.put(self.table, record)
        return record

    def _check_duplicate(self, ctx: Context, rule: dict) -> None:
        key = rule_key(rule)
        for existing in self.store.find(self.table, "security_group_id", rule["security_group_id"]):
            if rule_key(existing) == key:
                raise errors.SecurityGroupRuleExists(rule_id=existing["id"])

