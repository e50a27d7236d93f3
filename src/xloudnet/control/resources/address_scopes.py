"""Address scopes (``address-scope``): named address spaces that subnet pools join.

A scope has one IP version. A subnet pool joins at most one scope of its version
(``address_scope_id``), and the pools of one scope never overlap, so the addresses of a scope are
unique within it. A network reads ``ipv4_address_scope`` / ``ipv6_address_scope``: the scope of
the pool its subnets of that family come from (one pool per family and network). Routers use
scopes to decide what they route without translation (docs/semantics.md, "Address scopes").

Policy as Neutron's defaults: owner or admin manage, everyone sees shared scopes, only admins
share, and a shared scope cannot be unshared. A scope that pools still use cannot be deleted.
"""

from __future__ import annotations

import ipaddress

from .. import errors
from ..attributes import NOT_SET, REQUIRED, Attr, ResourceDef, name_attr, one_of, string, to_bool, to_int
from ..context import Context
from ..service import ResourceService

ADDRESS_SCOPE = ResourceDef(
    collection="address-scopes",
    plural="address_scopes",
    singular="address_scope",
    tags=False,
    not_found=errors.AddressScopeNotFound,
    not_found_arg="address_scope_id",
    # Not a Neutron "standard attribute" resource: no description, timestamps or revision shown.
    attrs=(
        Attr("id", filter=True, sort=True),
        Attr("project_id", post=True, validate=string(255), filter=True, sort=True),
        Attr("tenant_id", post=True, validate=string(255), filter=True, sort=True),
        Attr("created_at", visible=False),
        Attr("updated_at", visible=False),
        Attr("revision_number", visible=False),
        name_attr(),
        Attr("shared", post=True, put=True, default=False, convert=to_bool, admin_set=True, filter=True, sort=True),
        Attr("ip_version", post=True, default=REQUIRED, convert=to_int, validate=one_of(4, 6), filter=True,
             filter_convert=to_int, sort=True),
    ),
)


class AddressScopeService(ResourceService):
    """Address scopes, and the checks a subnet pool's ``address_scope_id`` must pass."""

    definition = ADDRESS_SCOPE
    table = "address_scopes"
    attribute = "address_scopes"
    indexes = ("project_id",)
    extensions = ("address-scope", "rbac-address-scope")

    def visible(self, ctx: Context, record: dict) -> bool:
        return (ctx.is_admin or record["project_id"] == ctx.project_id or record["shared"]
                or self.plane.rbac_policies.granted_to(record["id"], ctx.project_id))

    def usable(self, ctx: Context, record: dict) -> bool:
        """Owner, admin, or shared with the caller (everyone or its project by RBAC)."""
        return (ctx.is_admin or record["project_id"] == ctx.project_id or record["shared"]
                or self.plane.rbac_policies.grants(record["id"], ctx.project_id))

    def present(self, ctx: Context, record: dict, fields: list[str] | None = None) -> dict:
        # ``shared`` reads true for a project an RBAC entry shares the scope with (Neutron's view).
        if not record["shared"] and ctx.project_id and record["project_id"] != ctx.project_id \
                and self.plane.rbac_policies.grants(record["id"], ctx.project_id):
            record = {**record, "shared": True}
        return super().present(ctx, record, fields)

    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        record = self.new_record({k: v for k, v in attrs.items() if v is not NOT_SET})
        self.store.put(self.table, record)
        if record["shared"]:
            self.plane.rbac_policies.set_wildcard("address_scope", record, "access_as_shared", True)
        return record

    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        if record["shared"] and changes.get("shared") is False:
            raise errors.AddressScopeUpdateError(address_scope_id=record["id"],
                                                 reason="Shared address scope can't be unshared")
        new = super()._update(ctx, record, changes, **parents)
        if changes.get("shared") and not record["shared"]:
            self.plane.rbac_policies.set_wildcard("address_scope", new, "access_as_shared", True)
        return new

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        if any(True for _ in self.store.find("subnetpools", "address_scope_id", record["id"])):
            raise errors.AddressScopeInUse(address_scope_id=record["id"])
        self.plane.rbac_policies.forget(record["id"])
        self.store.delete(self.table, record["id"])

    # --- what subnet pools ask ----------------------------------------------------------------
    def owned_by(self, ctx: Context, scope_id: str) -> bool:
        """Admin or the scope's owner (False for a shared scope of another project)."""
        record = self.get(ctx, scope_id)
        return ctx.is_admin or record["project_id"] == ctx.project_id

    def check_pool_joins(self, ctx: Context, scope_id, pool_id: str, prefixes: list[str], ip_version: int) -> None:
        """Neutron's _validate_address_scope_id: may the pool (with these prefixes) join the scope?"""
        if scope_id is None or scope_id is NOT_SET:
            return
        scope = self.get(ctx, scope_id)  # AddressScopeNotFound when the caller cannot see it
        if not self.usable(ctx, scope):
            raise errors.IllegalSubnetPoolAssociationToAddressScope(subnetpool_id=pool_id, address_scope_id=scope_id)
        if scope["ip_version"] != ip_version:
            raise errors.IllegalSubnetPoolIpVersionAssociationToAddressScope(
                subnetpool_id=pool_id, address_scope_id=scope_id, ip_version=scope["ip_version"])
        self._check_network_affinity(pool_id, ip_version)
        mine = [ipaddress.ip_network(p) for p in prefixes]
        for other in self.store.find("subnetpools", "address_scope_id", scope_id):
            if other["id"] != pool_id and any(o.overlaps(ipaddress.ip_network(p))
                                              for p in other["prefixes"] for o in mine):
                raise errors.AddressScopePrefixConflict()

    def _check_network_affinity(self, pool_id: str, ip_version: int) -> None:
        """Re-scoping a pool must not leave a network with subnets of one family in two scopes:
        every subnet of that family on the networks the pool serves must come from the pool."""
        networks = {s["network_id"] for s in self.store.find("subnets", "subnetpool_id", pool_id)}
        for network_id in networks:
            for subnet in self.store.find("subnets", "network_id", network_id):
                if subnet["ip_version"] == ip_version and subnet.get("subnetpool_id") != pool_id:
                    raise errors.NetworkAddressScopeAffinityError()

    def network_scopes(self, network: dict) -> dict[str, str | None]:
        """``ipv4_address_scope`` / ``ipv6_address_scope`` of a network, from its subnets' pools."""
        scopes = {"ipv4_address_scope": None, "ipv6_address_scope": None}
        for subnet_id in network.get("subnets") or ():
            subnet = self.store.get("subnets", subnet_id)
            pool = self.store.get("subnetpools", subnet["subnetpool_id"]) if subnet and subnet.get("subnetpool_id") else None
            if pool is not None and pool.get("address_scope_id"):
                scopes[f"ipv{pool['ip_version']}_address_scope"] = pool["address_scope_id"]
        return scopes


__all__ = ["ADDRESS_SCOPE", "AddressScopeService"]
