"""Networks: the L2 segments everything else hangs off."""

from __future__ import annotations

from .. import errors
from ..attributes import (
    NOT_SET,
    Attr,
    ResourceDef,
    boolean,
    dict_or_none,
    int_range,
    list_of,
    name_attr,
    standard_attrs,
    string,
    to_bool,
    to_int,
    to_int_or_none,
    uuid_or_none,
)
from ..context import Context
from ..query import ListQuery
from ..service import ResourceService
from .dhcp import BINDINGS, sync_network

OVERLAY_MTU = 1450  # vxlan on a 1500 underlay, as the recorded Neutron reports for tenant nets
PHYSICAL_MTU = 1500  # flat and vlan networks
# The smallest MTU each IP version can live with (RFC 791, RFC 8200): a network below it may
# exist, but not hold a subnet of that version.
MIN_MTU = {4: 68, 6: 1280}
# Ports of these owners go away with their network instead of blocking its deletion.
AUTO_DELETE_OWNERS = ("network:dhcp", "network:distributed", "network:floatingip_agent_gateway")

NETWORK = ResourceDef(
    collection="networks",
    plural="networks",
    singular="network",
    not_found=errors.NetworkNotFound,
    not_found_arg="net_id",
    attrs=standard_attrs()
    + (
        name_attr(),
        Attr("admin_state_up", post=True, put=True, default=True, convert=to_bool, filter=True, sort=True),
        Attr("status", filter=True, sort=True),
        Attr("subnets", filter=True),
        Attr("shared", post=True, put=True, default=False, convert=to_bool, admin_set=True, filter=True),
        Attr("router:external", post=True, put=True, default=False, convert=to_bool, admin_set=True, filter=True),
        Attr("mtu", post=True, put=True, convert=to_int, validate=int_range(0, 65535), filter=True, sort=True),
        Attr("port_security_enabled", post=True, put=True, default=True, convert=to_bool),
        Attr("provider:network_type", post=True, put=True, validate=string(32), admin_only=True, admin_set=True, filter=True),
        Attr("provider:physical_network", post=True, put=True, validate=string(64, allow_none=True), admin_only=True, admin_set=True, filter=True),
        Attr("provider:segmentation_id", post=True, put=True, convert=to_int_or_none, admin_only=True, admin_set=True, filter=True),
        Attr("qos_policy_id", post=True, put=True, default=None, validate=uuid_or_none),
        Attr("availability_zone_hints", post=True, default=[], validate=list_of(string(255))),
        Attr("availability_zones"),
        Attr("is_default", post=True, put=True, default=False, convert=to_bool, admin_set=True),
        Attr("ipv4_address_scope"),  # computed when shown (address-scope): not filterable, as Neutron
        Attr("ipv6_address_scope"),
    ),
)


class NetworkService(ResourceService):
    """Networks: visible to the owner, and to everybody when shared or external."""

    definition = NETWORK
    table = "networks"
    attribute = "networks"
    indexes = ("project_id", "qos_policy_id")
    extensions = ("network", "external-net", "provider", "net-mtu", "net-mtu-writable", "port-security")
    special_filters = frozenset({"shared"})  # per caller: see RbacPolicyService.shared_checks

    def extra_checks(self, ctx: Context, q: ListQuery) -> list:
        return self.plane.rbac_policies.shared_checks(ctx, q)

    def visible(self, ctx: Context, record: dict) -> bool:
        return (
            ctx.is_admin
            or record["project_id"] == ctx.project_id
            or record["shared"]
            or (record["router:external"] and self.plane.rbac_policies.grants(record["id"], None, "access_as_external"))
            or self.plane.rbac_policies.granted_to(record["id"], ctx.project_id)
        )

    def shared_with(self, ctx: Context, record: dict) -> bool:
        """Shared with everybody, or with the caller's project by an RBAC entry."""
        return record["shared"] or self.plane.rbac_policies.grants(record["id"], ctx.project_id)

    def present(self, ctx: Context, record: dict, fields: list[str] | None = None) -> dict:
        # ``shared`` reads true for a project the network is shared with (Neutron's per-caller view).
        if not record["shared"] and ctx.project_id and self.shared_with(ctx, record):
            record = {**record, "shared": True}
        if record.get("subnets"):
            record = {**record, **self.plane.address_scopes.network_scopes(record)}
        return super().present(ctx, record, fields)

    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        attrs = {k: v for k, v in attrs.items() if v is not NOT_SET}
        if attrs.get("qos_policy_id"):
            self.plane.qos_policies.get_usable(ctx, attrs["qos_policy_id"])
        elif "qos_policy_id" in attrs:
            # qos-default: a project's default policy applies to its new networks.
            attrs["qos_policy_id"] = self.plane.qos_policies.default_policy_id(attrs["project_id"])
        external = attrs["router:external"]
        network_type = attrs.pop("provider:network_type", None) or ("flat" if external else "vxlan")
        physical = attrs.pop("provider:physical_network", None)
        segment = attrs.pop("provider:segmentation_id", None)
        if physical is None and network_type in ("flat", "vlan"):
            physical = "public"
        if segment is None and network_type in ("geneve", "vxlan", "vlan"):
            segment = self._next_segment()
        attrs["mtu"] = self._valid_mtu(attrs.get("mtu"), network_type)
        record = self.new_record(
            attrs,
            status="ACTIVE" if attrs["admin_state_up"] else "DOWN",
            subnets=[],
            availability_zones=[],
            ipv4_address_scope=None,
            ipv6_address_scope=None,
            **{
                "provider:network_type": network_type,
                "provider:physical_network": physical,
                "provider:segmentation_id": segment,
            },
        )
        self.store.put(self.table, record)
        for action, flag in (("access_as_shared", "shared"), ("access_as_external", "router:external")):
            if record[flag]:
                self.plane.rbac_policies.set_wildcard("network", record, action, True)
        self.plane.security_groups.ensure_default(record["project_id"])
        return record

    def _next_segment(self) -> int:
        """A segmentation id for an overlay network (unique while fewer than 65000 exist)."""
        return 1 + len(self.store.table(self.table)) % 65000

    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        self.plane.qos_policies.check_change(ctx, record, changes)
        if record["router:external"] and changes.get("router:external") is False:
            if any(p["device_owner"] == "network:router_gateway" for p in self._ports(record["id"])):
                raise errors.ExternalNetworkInUse(net_id=record["id"])
        if "mtu" in changes:
            changes["mtu"] = self._valid_mtu(changes["mtu"], record["provider:network_type"])
            self._check_mtu(record, changes["mtu"])
        if record["shared"] and changes.get("shared") is False:
            self._check_unshare(record)
        if "admin_state_up" in changes:
            changes["status"] = "ACTIVE" if changes["admin_state_up"] else "DOWN"
        new = self.changed(record, changes)
        self.store.put(self.table, new)
        for action, flag in (("access_as_shared", "shared"), ("access_as_external", "router:external")):
            if flag in changes and changes[flag] != record[flag]:
                self.plane.rbac_policies.set_wildcard("network", new, action, changes[flag])
        if "admin_state_up" in changes:
            self.plane.ports.refresh_status_on_network(new["id"])
            # The DHCP agent releases its port on an admin-down network, sets it up again on up.
            sync_network(self.plane, new["id"])
        return new

    @staticmethod
    def _valid_mtu(mtu: int | None, network_type: str) -> int:
        """The segment's largest MTU when none (or 0) is asked for; more than it is 400 (ML2)."""
        largest = PHYSICAL_MTU if network_type in ("flat", "vlan") else OVERLAY_MTU
        if mtu and mtu > largest:
            raise errors.InvalidInput(error_message=f"Requested MTU is too big, maximum is {largest}")
        return mtu or largest

    def _check_mtu(self, record: dict, mtu: int) -> None:
        """Lowering the MTU below what a subnet's IP version needs is 409 (Neutron's
        _validate_change_network_mtu)."""
        for subnet in self.store.find("subnets", "network_id", record["id"]):
            self.check_subnet_mtu(record["id"], mtu, subnet["ip_version"])

    @staticmethod
    def check_subnet_mtu(network_id: str, mtu: int, ip_version: int) -> None:
        """A subnet of ``ip_version`` fits a network of ``mtu`` (IPv4 is checked first, as Neutron)."""
        for version in (4, ip_version):
            if mtu < MIN_MTU[version]:
                raise errors.NetworkMTUSubnetConflict(net_id=network_id, mtu=MIN_MTU[version])

    def _check_unshare(self, record: dict) -> None:
        """Neutron's _validate_shared_update: a network stays shared while ports (other than the
        network's own ``network:*`` ones) or subnets of other projects are on it (409)."""
        users = {p["project_id"] for p in self._ports(record["id"]) if not p["device_owner"].startswith("network:")}
        users.update(s["project_id"] for s in self.store.find("subnets", "network_id", record["id"]))
        if users - {record["project_id"]}:
            raise errors.InvalidSharedSetting(network=record["name"])

    def _ports(self, network_id: str) -> list[dict]:
        return list(self.store.find("ports", "network_id", network_id))

    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        # Floating IPs nobody uses go with their external network (Neutron's
        # delete_disassociated_floatingips); associated ones keep it in use.
        for fip in list(self.store.find("floatingips", "floating_network_id", record["id"])):
            if fip["port_id"] is None:
                self.plane.floatingips.release(fip)
        ports = self._ports(record["id"])
        blocking = [p["id"] for p in ports if p["device_owner"] not in AUTO_DELETE_OWNERS]
        if blocking:
            raise errors.NetworkInUse(
                net_id=record["id"],
                reason="There are one or more ports still in use on the network, id for these ports is: "
                + ",".join(blocking),
            )
        for port in ports:
            self.store.delete("ports", port["id"])
        for subnet_id in record["subnets"]:
            self.store.delete("subnets", subnet_id)
        self.plane.rbac_policies.forget(record["id"])
        if self.store.get(BINDINGS, record["id"]) is not None:
            self.store.delete(BINDINGS, record["id"])  # the DHCP agent forgets the network
        self.store.delete(self.table, record["id"])

    # --- helpers other services use -------------------------------------------------------------
    def add_subnet(self, network_id: str, subnet_id: str) -> None:
        record = self.store.get(self.table, network_id)
        self.store.put(self.table, self.changed(record, {"subnets": record["subnets"] + [subnet_id]}))

    def remove_subnet(self, network_id: str, subnet_id: str) -> None:
        record = self.store.get(self.table, network_id)
        subnets = [s for s in record["subnets"] if s != subnet_id]
        self.store.put(self.table, self.changed(record, {"subnets": subnets}))

    def owned_by(self, ctx: Context, network: dict) -> bool:
        """Admin, or a member of the network's project (the 'network owner' of policies)."""
        return ctx.is_admin or network["project_id"] == ctx.project_id
