"""Address groups (``address-group``): named sets of CIDRs that security-group rules name as
their remote side (``remote_address_group_id``, extension ``security-groups-remote-address-group``).

Addresses are stored the way Neutron stores them: host bits cleared (``192.168.0.10/24`` →
``192.168.0.0/24``), each once. ``addresses`` is set on create and afterwards changed only
through the two actions ``PUT /address-groups/{id}/add_addresses`` and ``remove_addresses``
(body ``{"addresses": [...]}``); adding one already there is 400 ``AddressesAlreadyExist``,
removing one that is not is 404 ``AddressesNotFound``, and nothing is changed in either case.
A group cannot be deleted while a rule names it (409 ``AddressGroupInUse``).

Policy is Neutron's default: the owner (member role) and admins read and write; a project an
RBAC ``access_as_shared`` entry names (``rbac-address-group``) may read the group and use it in
its rules, but any write by it is answered 404, as Neutron's action and update handlers do.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .. import errors
from ..attributes import NOT_SET, Attr, ResourceDef, duplicate_items, name_attr, none_to_empty_list, string, to_int
from ..context import Context
from ..service import ResourceService


def validate_subnet(value: Any) -> None:
    """neutron-lib's validate_subnet: a CIDR with its mask (host bits allowed, IPv4 written in
    its canonical dotted form)."""
    if not isinstance(value, str) or "/" not in value or value != value.strip():
        raise ValueError(f"'{value}' is not a valid IP subnet")
    try:
        interface = ipaddress.ip_interface(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP subnet") from None
    if interface.version == 4 and str(interface) != value:
        raise ValueError(f"'{value}' is not a valid IP subnet")


def validate_subnet_list(value: Any) -> None:
    """neutron-lib's type:subnet_list: a list, no repeated items, each a subnet."""
    if not isinstance(value, list):
        raise ValueError(f"'{value}' is not a list")
    repeated = duplicate_items(value)
    if repeated:
        raise ValueError(f"Duplicate items in the list: '{', '.join(str(r) for r in repeated)}'")
    for item in value:
        validate_subnet(item)


def normalise(address: Any) -> str:
    """``network/prefixlen`` of an address or CIDR (netaddr's parsing: a bare address is a
    host route). Anything else is Neutron's 400 ``AddrFormatError``."""
    if not isinstance(address, str):
        raise errors.AddrFormatError(address=address)
    try:
        return str(ipaddress.ip_interface(address.strip()).network)
    except ValueError:
        raise errors.AddrFormatError(address=address) from None


ADDRESS_GROUP = ResourceDef(
    collection="address-groups",
    plural="address_groups",
    singular="address_group",
    not_found=errors.AddressGroupNotFound,
    not_found_arg="address_group_id",
    tags=False,
    attrs=(
        Attr("id", filter=True, sort=True),
        Attr("project_id", post=True, validate=string(255), filter=True, sort=True),
        Attr("tenant_id", post=True, validate=string(255), filter=True, sort=True),
        Attr("created_at"),
        Attr("updated_at"),
        Attr("revision_number", filter=True, filter_convert=to_int),
        name_attr(),
        Attr("description", post=True, put=True, default="", validate=string(1024), filter=True, sort=True),
        Attr("addresses", post=True, default=NOT_SET, convert=none_to_empty_list, validate=validate_subnet_list),
        # Follows the wildcard RBAC entry (as for networks); Neutron does not show it.
        Attr("shared", visible=False),
    ),
)


class AddressGroupService(ResourceService):
    """The ``address_groups`` table, its two address actions and the hooks rules use."""

    definition = ADDRESS_GROUP
    table = "address_groups"
    attribute = "address_groups"
    extensions = ("address-group", "security-groups-remote-address-group", "rbac-address-group")
    member_actions = {"add_addresses": "add_addresses", "remove_addresses": "remove_addresses"}

    # --- policy -------------------------------------------------------------------------------
    def visible(self, ctx: Context, record: dict) -> bool:
        return (ctx.is_admin or record["project_id"] == ctx.project_id or record.get("shared")
                or self.plane.rbac_policies.grants(record["id"], ctx.project_id))

    def get_for_update(self, ctx: Context, rid: str, action: str = "update") -> dict:
        """Writes by a project the group is only shared with are 404, as in Neutron."""
        record = self.get(ctx, rid)
        if not ctx.is_admin and record["project_id"] != ctx.project_id:
            raise self.not_found(rid)
        if not self.writable(ctx, record):
            raise self.policy_error(action)
        return record

    def usable(self, ctx: Context, ag_id: Any, project_id: str | None) -> dict:
        """The group a rule of ``project_id`` may name (Neutron's check_address_group, which
        looks as that project would), else 404 ``AddressGroupNotFound``."""
        record = self.store.get(self.table, ag_id) if isinstance(ag_id, str) else None
        if record is None or not (
            ctx.is_admin or record["project_id"] == project_id or record.get("shared")
            or self.plane.rbac_policies.grants(record["id"], project_id)
        ):
            raise self.not_found(str(ag_id))
        return record

    def rbac_users(self, ag_id: str) -> set[str]:
        """Projects other than the owner whose rules name the group (what an RBAC entry cannot be
        dropped under; the owner needs no grant)."""
        owner = (self.store.get(self.table, ag_id) or {}).get("project_id")
        return {r["project_id"] for r in self.store.find("security_group_rules", "remote_address_group_id", ag_id)
                if r.get("project_id") and r["project_id"] != owner}

    # --- writes -------------------------------------------------------------------------------
    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        given = attrs.pop("addresses", NOT_SET)
        addresses = [] if given is NOT_SET else list(dict.fromkeys(normalise(a) for a in given))
        record = self.new_record(attrs, addresses=addresses, shared=False)
        self.store.put(self.table, record)
        return record

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        if any(True for _ in self.store.find("security_group_rules", "remote_address_group_id", record["id"])):
            raise errors.AddressGroupInUse(address_group_id=record["id"])
        self.plane.rbac_policies.forget(record["id"])
        self.store.delete(self.table, record["id"])

    def add_addresses(self, ctx: Context, rid: str, body: Any) -> dict:
        """``PUT .../add_addresses {"addresses": [...]}`` → the group; 400 when one is there."""
        wanted = _addresses_body(body)
        record = self.get_for_update(ctx, rid, "add_addresses")
        present = [a for a in wanted if a in record["addresses"]]
        if present:
            raise errors.AddressesAlreadyExist(addresses=present, address_group_id=rid)
        if wanted:
            with self.store.transaction():
                record = self.changed(record, {"addresses": record["addresses"] + wanted})
                self.store.put(self.table, record)
        return {self.definition.singular: self.present(ctx, record)}

    def remove_addresses(self, ctx: Context, rid: str, body: Any) -> dict:
        """``PUT .../remove_addresses {"addresses": [...]}`` → the group; 404 when one is missing."""
        unwanted = _addresses_body(body)
        record = self.get_for_update(ctx, rid, "remove_addresses")
        missing = [a for a in unwanted if a not in record["addresses"]]
        if missing:
            raise errors.AddressesNotFound(addresses=missing, address_group_id=rid)
        if unwanted:
            with self.store.transaction():
                record = self.changed(record, {"addresses": [a for a in record["addresses"] if a not in unwanted]})
                self.store.put(self.table, record)
        return {self.definition.singular: self.present(ctx, record)}


def _addresses_body(body: Any) -> list[str]:
    """The normalised, de-duplicated addresses of an action body."""
    addresses = body.get("addresses") if isinstance(body, dict) else None
    if not isinstance(addresses, list):
        raise errors.HTTPBadRequest("Invalid input for addresses. Reason: an 'addresses' list is required.")
    return list(dict.fromkeys(normalise(a) for a in addresses))


__all__ = ["ADDRESS_GROUP", "AddressGroupService", "normalise", "validate_subnet_list"]
