"""Subnet pools (``subnet_allocation``, ``default-subnetpools``): blocks of address space that
subnets are carved from.

A pool holds a compacted list of prefixes of one IP version and bounds on the prefix length of
the subnets it hands out. A subnet created with ``subnetpool_id`` (or ``use_default_subnetpool``)
either asks for a specific ``cidr`` inside the pool, or for the first free prefix of
``prefixlen`` (the pool's ``default_prefixlen`` when omitted); allocations never overlap within a
pool, whichever network holds them. ``default_quota`` caps the address space one project may
take from the pool, counted in /32s (IPv4) or /64s (IPv6).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from .. import errors
from ..attributes import (
    NOT_SET,
    Attr,
    ResourceDef,
    cidr,
    int_range,
    list_of,
    name_attr,
    standard_attrs,
    to_bool,
    to_int,
    uuid_or_none,
)
from ..context import Context
from ..query import ListQuery
from ..service import ResourceService

# Per IP version: (longest prefix, default min_prefixlen, quota unit)
VERSIONS = {4: (32, 8, 32), 6: (128, 64, 64)}
MAX_PREFIXES = 1000


def _prefix_list(value) -> None:
    if not isinstance(value, list):
        raise ValueError(f"'{value}' is not a list")
    list_of(cidr, MAX_PREFIXES)(value)


SUBNETPOOL = ResourceDef(
    collection="subnetpools",
    plural="subnetpools",
    singular="subnetpool",
    not_found=errors.SubnetPoolNotFound,
    not_found_arg="subnetpool_id",
    attrs=standard_attrs()
    + (
        name_attr(),
        Attr("prefixes", post=True, put=True, validate=_prefix_list),
        Attr("default_quota", post=True, put=True, convert=to_int, validate=int_range(0, 2**31 - 1, allow_none=True),
             filter=True, sort=True),
        Attr("ip_version", filter=True, filter_convert=to_int, sort=True),
        Attr("default_prefixlen", post=True, put=True, convert=to_int, validate=int_range(0, 128), filter=True, filter_convert=to_int,
             sort=True),
        Attr("min_prefixlen", post=True, put=True, convert=to_int, validate=int_range(0, 128), filter=True, filter_convert=to_int,
             sort=True),
        Attr("max_prefixlen", post=True, put=True, convert=to_int, validate=int_range(0, 128), filter=True, filter_convert=to_int,
             sort=True),
        Attr("is_default", post=True, put=True, default=False, convert=to_bool, admin_set=True, filter=True, sort=True),
        Attr("shared", post=True, default=False, convert=to_bool, admin_set=True, filter=True, sort=True),
        Attr("address_scope_id", post=True, put=True, validate=uuid_or_none, filter=True, sort=True),
    ),
)
# Neutron shows the prefix lengths as strings (_make_subnetpool_dict); they are stored as ints.
PREFIXLENS = ("default_prefixlen", "min_prefixlen", "max_prefixlen")


def compact(prefixes: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Merge overlapping and adjacent prefixes (netaddr's IPSet.compact, as Neutron stores them)."""
    return list(ipaddress.collapse_addresses(ipaddress.ip_network(p, strict=False) for p in prefixes))


def free_space(prefixes: Iterable[str], taken: Iterable[str]) -> list:
    """The pool's space minus its allocations, as CIDRs, longest prefix first (Neutron's order:
    small holes are filled before big blocks are split)."""
    space = compact(prefixes)
    for used in compact(taken):
        space = [piece for block in space for piece in _minus(block, used)]
    return sorted(space, key=lambda n: (-n.prefixlen, int(n.network_address)))


def _minus(block, used):
    if not block.overlaps(used):
        return [block]
    if used.supernet_of(block):
        return []
    return list(block.address_exclude(used))


class SubnetPoolService(ResourceService):
    """Subnet pools: visible to their owner, to everyone when shared; ``shared`` and
    ``is_default`` are admin-only; prefixes only grow."""

    definition = SUBNETPOOL
    table = "subnetpools"
    attribute = "subnetpools"
    indexes = ("project_id", "address_scope_id")
    extensions = ("subnet_allocation", "default-subnetpools", "subnetpool-prefix-ops", "subnet_onboard")
    member_actions = {"add_prefixes": "add_prefixes", "remove_prefixes": "remove_prefixes",
                      "onboard_network_subnets": "onboard_network_subnets"}
    special_filters = frozenset({"shared"})  # per caller: see RbacPolicyService.shared_checks

    def extra_checks(self, ctx: Context, q: ListQuery) -> list:
        return self.plane.rbac_policies.shared_checks(ctx, q)

    def visible(self, ctx: Context, record: dict) -> bool:
        # rbac-subnetpool: a targeted access_as_shared entry shows the pool to that project.
        return (ctx.is_admin or record["project_id"] == ctx.project_id
                or self.plane.rbac_policies.shared_with(record, ctx.project_id))

    def present(self, ctx: Context, record: dict, fields: list[str] | None = None) -> dict:
        shown = {**record, **{k: str(record[k]) for k in PREFIXLENS}}
        if not record["shared"] and ctx.project_id and self.plane.rbac_policies.grants(record["id"], ctx.project_id):
            shown["shared"] = True  # as Neutron shows it to a project the pool is shared with
        return super().present(ctx, shown, fields)

    # --- create / update ----------------------------------------------------------------------
    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        attrs = {k: v for k, v in attrs.items() if v is not NOT_SET}
        if attrs.get("prefixes") is None:
            raise errors.HTTPBadRequest("Failed to parse request. Required attribute 'prefixes' not specified")
        fields = self._read(attrs)
        if attrs.get("is_default"):
            self._check_no_other_default(fields["ip_version"], None)
        scope = attrs.get("address_scope_id")
        pool_id = attrs.get("id") or self.plane.new_id()
        self.plane.address_scopes.check_pool_joins(ctx, scope, pool_id, fields["prefixes"], fields["ip_version"])
        record = self.new_record({**attrs, "id": pool_id}, **fields, address_scope_id=scope)
        self.store.put(self.table, record)
        if record["shared"]:  # ``shared`` on create is a wildcard access_as_shared entry
            self.plane.rbac_policies.set_wildcard("subnetpool", record, "access_as_shared", True)
        return record

    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        if "prefixes" in changes:
            old, new = compact(record["prefixes"]), compact(changes["prefixes"] or [])
            if not all(any(o.subnet_of(n) for n in new if n.version == o.version) for o in old):
                raise errors.IllegalSubnetPoolPrefixUpdate(msg="Existing prefixes must be a subset of the new prefixes")
        merged = {**record, **changes}
        fields = self._read(merged)
        self._check_scope_change(ctx, record, merged, fields)
        if merged["is_default"] and not record["is_default"]:
            self._check_no_other_default(fields["ip_version"], record["id"])
        new = self.changed(record, {**changes, **fields})
        self.store.put(self.table, new)
        return new

    def _check_scope_change(self, ctx: Context, record: dict, merged: dict, fields: dict) -> None:
        """Neutron's update_subnetpool: a pool in another project's shared scope is frozen; the
        scope it ends up in (kept or new) must accept its prefixes."""
        scopes = self.plane.address_scopes
        old = record.get("address_scope_id")
        if old and self.store.get(scopes.table, old) is not None and not scopes.owned_by(ctx, old):
            raise errors.IllegalSubnetPoolUpdate(reason=(
                f"subnetpool {record['id']} cannot be updated when associated with shared address scope {old}"))
        scopes.check_pool_joins(ctx, merged.get("address_scope_id"), record["id"], fields["prefixes"],
                                fields["ip_version"])

    def prepare_update(self, ctx: Context, body) -> dict:
        body = self._body_dict(body)
        for frozen in ("shared", "project_id", "tenant_id"):
            if frozen in body:
                raise errors.HTTPBadRequest(f"Cannot update read-only attribute {frozen}")
        return super().prepare_update(ctx, body)

    def _read(self, attrs: dict) -> dict:
        """Neutron's SubnetPoolReader: version from the prefixes, bounds with their defaults."""
        prefixes = attrs["prefixes"]
        if not prefixes:
            raise errors.EmptySubnetPoolPrefixList()
        versions = {ipaddress.ip_network(p, strict=False).version for p in prefixes}
        if len(versions) > 1:
            raise errors.PrefixVersionMismatch()
        version = versions.pop()
        longest, shortest_default, _ = VERSIONS[version]
        low = _given(attrs.get("min_prefixlen"), shortest_default)
        high = _given(attrs.get("max_prefixlen"), longest)
        default = _given(attrs.get("default_prefixlen"), low)
        if low > high:
            raise errors.IllegalSubnetPoolPrefixBounds(prefix_type="min_prefixlen", prefixlen=low,
                                                       base_prefix_type="max_prefixlen", base_prefixlen=high)
        if high > longest:
            raise errors.IllegalSubnetPoolPrefixBounds(prefix_type="max_prefixlen", prefixlen=high,
                                                       base_prefix_type="ip_version_max", base_prefixlen=longest)
        if not low <= default <= high:
            base, bound = ("min_prefixlen", low) if default < low else ("max_prefixlen", high)
            raise errors.IllegalSubnetPoolPrefixBounds(prefix_type="default_prefixlen", prefixlen=default,
                                                       base_prefix_type=base, base_prefixlen=bound)
        quota = attrs.get("default_quota")
        return {
            "prefixes": [str(p) for p in compact(prefixes)],
            "ip_version": version,
            "min_prefixlen": low,
            "max_prefixlen": high,
            "default_prefixlen": default,
            "default_quota": None if quota is NOT_SET else quota,
        }

    def _check_no_other_default(self, version: int, own_id: str | None) -> None:
        for pool in self.store.table(self.table).values():
            if pool["is_default"] and pool["ip_version"] == version and pool["id"] != own_id:
                raise errors.InvalidInput(error_message=(
                    "A default subnetpool for this IP family has already been set. "
                    "Only one default may exist per IP family"))

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        if any(True for _ in self.store.find("subnets", "subnetpool_id", record["id"])):
            raise errors.SubnetPoolDeleteError(reason="Subnet pool has existing allocations")
        self.plane.rbac_policies.forget(record["id"])
        self.store.delete(self.table, record["id"])

    # --- prefix operations (subnetpool-prefix-ops) -------------------------------------------
    def add_prefixes(self, ctx: Context, rid: str, body: dict) -> dict:
        """``PUT /subnetpools/{id}/add_prefixes {"prefixes": [...]}`` → the pool's new prefixes."""
        prefixes = _prefix_body(body)
        pool = self.get_for_update(ctx, rid)
        if prefixes:
            with self.store.transaction():
                pool = self._update(ctx, pool, {"prefixes": pool["prefixes"] + prefixes})
        return {"prefixes": pool["prefixes"]}

    def remove_prefixes(self, ctx: Context, rid: str, body: dict) -> dict:
        """Remove address space no subnet of the pool uses (else 400, nothing removed)."""
        removed = compact(_prefix_body(body))
        pool = self.get_for_update(ctx, rid)
        if not any(r.overlaps(p) for r in removed for p in compact(pool["prefixes"]) if r.version == p.version):
            return {"prefixes": pool["prefixes"]}
        for subnet in self.store.find("subnets", "subnetpool_id", pool["id"]):
            if any(r.overlaps(ipaddress.ip_network(subnet["cidr"])) for r in removed if r.version == subnet["ip_version"]):
                raise errors.IllegalSubnetPoolPrefixUpdate(msg="One or more the prefixes to be removed is in use by a subnet.")
        left = free_space(pool["prefixes"], [str(r) for r in removed])
        if not left:
            raise errors.EmptySubnetPoolPrefixList()
        new = self.changed(pool, {"prefixes": [str(p) for p in compact(str(n) for n in left)]})
        with self.store.transaction():
            self.store.put(self.table, new)
        return {"prefixes": new["prefixes"]}

    # --- onboarding (subnet_onboard) ------------------------------------------------------------
    def onboard_network_subnets(self, ctx: Context, rid: str, body: dict) -> list[dict]:
        """``PUT /subnetpools/{id}/onboard_network_subnets {"network_id"}``: the network's subnets
        of the pool's IP version join the pool (and so its address scope); their CIDRs become
        pool prefixes. Answers ``[{"id", "cidr"}]`` of the subnets moved, as Neutron does."""
        network_id = body.get("network_id")
        if network_id is None:
            raise errors.InvalidInput(error_message="network_id must be specified.")
        network = self.store.get("networks", network_id) if isinstance(network_id, str) else None
        if network is None or not self.plane.networks.visible(ctx, network):
            raise errors.NetworkNotFound(net_id=network_id)
        if not ctx.is_admin and network["project_id"] != ctx.project_id:
            raise errors.NotAuthorized()  # another project's subnets are not the caller's to move
        pool = self.get_for_update(ctx, rid, "onboard_network_subnets")
        moving = sorted((s for s in self.store.find("subnets", "network_id", network_id)
                         if s["ip_version"] == pool["ip_version"]), key=lambda s: s["id"])
        taken = [ipaddress.ip_network(s["cidr"]) for s in self.store.find("subnets", "subnetpool_id", pool["id"])]
        for subnet in moving:
            if any(ipaddress.ip_network(subnet["cidr"]).overlaps(t) for t in taken):
                raise errors.IllegalSubnetPoolUpdate(reason=(
                    f"Onboarding subnet {subnet['id']}: {subnet['cidr']} conflicts with allocated prefixes "
                    f"in subnet pool {pool['id']}"))
        with self.store.transaction():
            if moving:
                self._update(ctx, pool, {"prefixes": pool["prefixes"] + [s["cidr"] for s in moving]})
            for subnet in moving:
                self.store.put("subnets", self.plane.subnets.changed(subnet, {"subnetpool_id": pool["id"]}))
        return [{"id": s["id"], "cidr": s["cidr"]} for s in moving]

    # --- helpers the subnets service uses ---------------------------------------------------
    def default_pool(self, ip_version: int, ctx: Context | None = None) -> dict | None:
        """The default pool of this IP version, among those ``ctx`` may see (Neutron's
        get_default_subnetpool lists with the caller's context: an unshared default is nobody
        else's default)."""
        for pool in self.store.table(self.table).values():
            if pool["is_default"] and pool["ip_version"] == ip_version and (ctx is None or self.visible(ctx, pool)):
                return pool
        return None

    def allocate(self, pool: dict, project_id: str, cidr: str | None, prefixlen: int | None) -> str:
        """A CIDR for a new subnet of ``project_id`` from ``pool`` (Neutron's SubnetAllocator)."""
        taken = [s["cidr"] for s in self.store.find("subnets", "subnetpool_id", pool["id"])]
        wanted = ipaddress.ip_network(cidr, strict=False) if cidr else None
        length = wanted.prefixlen if wanted else (pool["default_prefixlen"] if prefixlen is None else prefixlen)
        if length > pool["max_prefixlen"]:
            raise errors.MaxPrefixSubnetAllocationError(prefixlen=length, max_prefixlen=pool["max_prefixlen"])
        if length < pool["min_prefixlen"]:
            raise errors.MinPrefixSubnetAllocationError(prefixlen=length, min_prefixlen=pool["min_prefixlen"])
        self._check_quota(pool, project_id, length)
        free = free_space(pool["prefixes"], taken)
        if wanted is not None:
            if any(block.version == wanted.version and wanted.subnet_of(block) for block in free):
                return str(wanted)
            raise errors.SubnetAllocationError(reason="Cannot allocate requested subnet from the available set of prefixes")
        for block in free:
            if block.prefixlen <= length:
                return str(next(block.subnets(new_prefix=length)))
        raise errors.SubnetAllocationError(reason=f"Insufficient prefix space to allocate subnet size /{length}")

    def _check_quota(self, pool: dict, project_id: str, length: int) -> None:
        quota = pool.get("default_quota")
        if not quota:
            return
        unit = VERSIONS[pool["ip_version"]][2]
        used = sum(2 ** (unit - ipaddress.ip_network(s["cidr"]).prefixlen)
                   for s in self.store.find("subnets", "subnetpool_id", pool["id"]) if s["project_id"] == project_id)
        if used + 2 ** (unit - length) > quota:
            raise errors.SubnetPoolQuotaExceeded()


def _prefix_body(body: dict) -> list[str]:
    prefixes = body.get("prefixes") if isinstance(body, dict) else None
    if not isinstance(prefixes, list):
        raise errors.HTTPBadRequest("Invalid input for prefixes. Reason: a 'prefixes' list is required.")
    try:
        _prefix_list(prefixes)
    except ValueError as exc:
        raise errors.HTTPBadRequest(f"Invalid input for prefixes. Reason: {exc}.") from None
    return prefixes


def _given(value, default: int) -> int:
    return default if value is None or value is NOT_SET else value
