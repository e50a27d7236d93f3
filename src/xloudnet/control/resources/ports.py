"""Ports: a device's attachment to a network, with its addresses, MAC and security settings.

Status rule (the control plane decides for the agents, and re-decides on every port write and
on ``refresh_status_on_network`` when the network's admin state changes):

- ``network:floatingip`` ports are ``N/A``;
- a port is ``ACTIVE`` when its ``device_owner`` marks a wired device — ``compute:*``,
  ``baremetal:*``, ``network:router_interface*``, ``network:router_gateway`` or
  ``network:dhcp`` — and both the port and its network are admin-up;
- every other port is ``DOWN``: a fresh port with no device is ``DOWN`` at create.

Ports whose owner starts with ``network:`` are trusted: no port security, no default group.
Addresses come from ``control.ipam``; a port's ``fixed_ips`` are the only record of them.
"""

from __future__ import annotations

import random

from .. import errors, ipam
from ..attributes import NOT_SET
from ..context import Context
from ..query import ListQuery
from ..service import ResourceService
from .dhcp import dhcp_device_id, sync_network
from .port_attributes import (
    MAC_ATTEMPTS,
    PORT,
    SERVICE_OWNERS,
    UNBOUND,
    binding_fields,
    is_trusted,
    merge_dhcp_opts,
    port_status,
)


class PortService(ResourceService):
    """Ports: visible to their project and to the network's owner; service ports (project "")
    to admins only."""

    definition = PORT
    table = "ports"
    attribute = "ports"
    indexes = (
        "project_id",
        "network_id",
        "device_id",
        "device_owner",
        "mac_address",
        "security_groups",
        "qos_policy_id",
        "fixed_ips.ip_address",
        "fixed_ips.subnet_id",
    )
    # Most selective first: the first one present in a query narrows the candidates.
    indexed_filters = ("device_id", "mac_address", "network_id", "security_groups", "qos_policy_id",
                       "project_id", "device_owner")
    special_filters = frozenset({"fixed_ips"})
    extensions = (
        "allowed-address-pairs",
        "binding",
        "extra_dhcp_opt",
        "ip_allocation",
        "tag-ports-during-bulk-creation",
        "port-security-groups-filtering",
        "ip-substring-filtering",
        "qos-port-network-policy",
    )

    def __init__(self, plane):
        super().__init__(plane)
        self.ipam = ipam.Allocator(plane)
        self._random: random.Random | None = None

    # --- policy --------------------------------------------------------------------------------
    def _network(self, record: dict) -> dict | None:
        return self.store.get("networks", record["network_id"])

    def visible(self, ctx: Context, record: dict) -> bool:
        if ctx.is_admin or record["project_id"] == ctx.project_id:
            return True
        network = self._network(record)
        return network is not None and network["project_id"] == ctx.project_id

    def writable(self, ctx: Context, record: dict) -> bool:
        return ctx.is_member and self.visible(ctx, record)

    def authorize_create(self, ctx: Context, attrs: dict) -> None:
        if not ctx.is_member:
            raise self.policy_error("create")
        network = self.plane.networks.get(ctx, attrs["network_id"])  # 404 when invisible
        if not self.plane.networks.owned_by(ctx, network) and not self.plane.networks.shared_with(ctx, network):
            raise self.policy_error("create")
        self._check_network_owner_attrs(ctx, network, attrs, "create")
        self.check_admin_set(ctx, attrs, "create")

    def authorize_update(self, ctx: Context, record: dict, changes: dict) -> None:
        network = self._network(record)
        if "mac_address" in changes and not ctx.is_admin:
            raise self._attr_denied("update", "mac_address")
        self._check_network_owner_attrs(ctx, network, changes, "update")
        self.check_admin_set(ctx, changes, "update")

    def _check_network_owner_attrs(self, ctx: Context, network: dict | None, attrs: dict, action: str) -> None:
        """What only an admin or the network's owner may set (others: shared-network users)."""
        if ctx.is_admin or (network is not None and network["project_id"] == ctx.project_id):
            return
        for name in ("mac_address", "port_security_enabled", "allowed_address_pairs"):
            if attrs.get(name, NOT_SET) is not NOT_SET:
                raise self._attr_denied(action, name)
        fixed = attrs.get("fixed_ips", NOT_SET)
        if fixed is not NOT_SET and action == "update":
            # update_port:fixed_ips, unlike create_port:fixed_ips, has no rule:shared.
            raise self._attr_denied(action, "fixed_ips")
        if fixed is not NOT_SET and any("ip_address" in f for f in fixed):
            raise self._attr_denied(action, "fixed_ips:ip_address")
        if is_trusted(attrs.get("device_owner") or ""):
            raise self._attr_denied(action, "device_owner")

    def _attr_denied(self, action: str, name: str) -> errors.PolicyNotAuthorized:
        return errors.PolicyNotAuthorized(action=f"(rule:{action}_port and rule:{action}_port:{name})")

    def _check_device_id(self, ctx: Context, owner: str, device_id: str, project_id: str) -> None:
        """A project may not make its port an interface of another project's router."""
        if ctx.is_admin or owner not in ipam.ROUTER_INTERFACE_OWNERS or not device_id:
            return
        router = self.store.get("routers", device_id)
        if router is not None and router["project_id"] != project_id:
            raise errors.DeviceIDNotOwnedByTenant(device_id=device_id)

    # --- reads ---------------------------------------------------------------------------------
    def candidates(self, ctx: Context, q: ListQuery):
        """Narrow by id, an indexed filter or ``fixed_ips`` (deduplicated); a non-admin with no
        narrowing filter only walks its own ports and the ports of its networks."""
        ids = q.filters.get("id")
        if ids is not None:
            return self._by_ids(ids)
        wanted = ipam.parse_fixed_ips_filter(q.special.get("fixed_ips"))
        for field in ("ip_address", "subnet_id"):
            if wanted.get(field):
                return self._by_index(f"fixed_ips.{field}", wanted[field])
        for key in self.indexed_filters:
            if key in q.filters:
                return self._by_index(key, q.filters[key])
        if ctx.is_admin:
            return iter(self.store.table(self.table).values())
        networks = list(self.store.ids_where("networks", "project_id", ctx.project_id))
        return self._by_ids(
            list(self.store.ids_where(self.table, "project_id", ctx.project_id))
            + [pid for net in networks for pid in self.store.ids_where(self.table, "network_id", net)]
        )

    def _by_ids(self, ids) -> list[dict]:
        table = self.store.table(self.table)
        return [table[i] for i in dict.fromkeys(ids) if isinstance(i, str) and i in table]

    def _by_index(self, field: str, values: list) -> list[dict]:
        return self._by_ids([pid for value in values for pid in self.store.ids_where(self.table, field, value)])

    def extra_checks(self, ctx: Context, q: ListQuery) -> list:
        wanted = ipam.parse_fixed_ips_filter(q.special.get("fixed_ips"))
        return [ipam.fixed_ips_matcher(wanted)] if wanted else []

    def present(self, ctx: Context, record: dict, fields: list[str] | None = None) -> dict:
        return self.present_many(ctx, [record], fields)[0]

    def present_many(self, ctx: Context, records: list[dict], fields: list[str] | None = None) -> list[dict]:
        # The network's QoS policy as it is now (it may have changed since the port was
        # written); a page's ports share few networks, so each is looked up once.
        drop = self.hidden_for(ctx, {})
        policies: dict[str, str | None] = {}
        shown = []
        for record in records:
            net_id = record["network_id"]
            if net_id not in policies:
                network = self.store.get("networks", net_id)
                policies[net_id] = network.get("qos_policy_id") if network else None
            policy = policies[net_id]
            if record.get("qos_network_policy_id") != policy:
                record = {**record, "qos_network_policy_id": policy}
            shown.append(self._select(record, drop, fields))
        return shown

    # --- create --------------------------------------------------------------------------------
    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        network = self.store.get("networks", attrs["network_id"])
        owner, project = attrs["device_owner"], attrs["project_id"]
        self._check_device_id(ctx, owner, attrs["device_id"], project)
        mac = self._new_mac(network["id"], attrs.get("mac_address", NOT_SET))
        secure = self._initial_port_security(network, attrs)
        groups = self._initial_groups(ctx, attrs.get("security_groups", NOT_SET), secure, project, owner)
        pairs = self._pairs(attrs.get("allowed_address_pairs", NOT_SET), mac, secure)
        fixed_ips = self._addresses_for_new(network, attrs.get("fixed_ips", NOT_SET), owner, mac)
        if attrs["qos_policy_id"]:
            self.plane.qos_policies.get_usable(ctx, attrs["qos_policy_id"])
        record = self.new_record(
            attrs,
            mac_address=mac,
            fixed_ips=fixed_ips,
            security_groups=groups,
            port_security_enabled=secure,
            allowed_address_pairs=pairs,
            extra_dhcp_opts=merge_dhcp_opts([], attrs["extra_dhcp_opts"]),
            ip_allocation="none" if attrs.get("fixed_ips", NOT_SET) == [] else "immediate",
            qos_network_policy_id=network["qos_policy_id"],
            resource_request=None,
            **{"binding:profile": dict(attrs["binding:profile"])},
            **binding_fields(attrs["binding:host_id"]),
        )
        record["status"] = port_status(record, network)
        self.store.put(self.table, record)
        return record

    def _new_mac(self, network_id: str, wanted) -> str:
        if wanted is not NOT_SET:
            if self._mac_in_use(network_id, wanted):
                raise errors.MacAddressInUse(net_id=network_id, mac=wanted)
            return wanted
        if self._random is None:
            # Seeded planes stay reproducible; seeding with the store revision keeps a fork from
            # replaying its parent's sequence (every MAC would collide on a busy network).
            seed = self.plane.rng_seed
            self._random = random.Random(None if seed is None else f"{seed}:{self.store.revision}")
        for _ in range(MAC_ATTEMPTS):
            mac = "fa:16:3e:%02x:%02x:%02x" % tuple(self._random.randrange(256) for _ in range(3))
            if not self._mac_in_use(network_id, mac):
                return mac
        raise errors.MacAddressGenerationFailure(net_id=network_id)

    def _mac_in_use(self, network_id: str, mac: str, exclude: str | None = None) -> bool:
        return any(
            p["network_id"] == network_id and p["id"] != exclude for p in self.store.find(self.table, "mac_address", mac)
        )

    @staticmethod
    def _initial_port_security(network: dict, attrs: dict) -> bool:
        if attrs["device_owner"] and is_trusted(attrs["device_owner"]):
            return False
        given = attrs.get("port_security_enabled", NOT_SET)
        return network["port_security_enabled"] if given is NOT_SET else given

    def _initial_groups(self, ctx: Context, given, secure: bool, project: str, owner: str) -> list[str]:
        if not secure:
            if given is not NOT_SET and given:
                raise errors.PortSecurityAndIPRequiredForSecurityGroups()
            return []
        if given is NOT_SET:
            if is_trusted(owner):
                return []
            default = self.plane.security_groups.ensure_default(project)
            return [default] if default else []
        self.plane.security_groups.check_usable(ctx, given, project)
        return list(given)

    @staticmethod
    def _pairs(given, mac: str, secure: bool) -> list[dict]:
        if given is NOT_SET or not given:
            return []
        if not secure:
            raise errors.AddressPairAndPortSecurityRequired()
        return [{"ip_address": p["ip_address"], "mac_address": p.get("mac_address") or mac} for p in given]

    def _subnets(self, network: dict) -> list[dict]:
        subnets = (self.store.get("subnets", sid) for sid in network["subnets"])
        return [s for s in subnets if s is not None]

    def _lookup_subnet(self, subnet_id: str) -> dict | None:
        return self.store.get("subnets", subnet_id) if isinstance(subnet_id, str) else None

    def _addresses_for_new(self, network: dict, requested, owner: str, mac: str) -> list[dict]:
        subnets = ipam.candidate_subnets(self._subnets(network), owner, network["id"])
        if requested is NOT_SET:
            wanted = ipam.implicit_wanted(subnets)
        else:
            wanted = ipam.explicit_wanted(requested, subnets, owner, self._lookup_subnet)
        wanted += ipam.auto_wanted(subnets, owner, mac)
        return self.ipam.allocate(wanted, owner, self._free_for(None, frozenset()))

    def _free_for(self, port_id: str | None, released: frozenset):
        """``is_free`` for the allocator: nobody holds the address, or this very port is giving
        it up in the same update (Neutron releases before it allocates)."""

        def free(subnet_id: str, ip: str) -> bool:
            holder = self.ipam.holder(subnet_id, ip)
            return holder is None or (holder == port_id and ip in released)

        return free

    # --- update --------------------------------------------------------------------------------
    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        network = self._network(record)
        owner = changes.get("device_owner", record["device_owner"])
        if "device_owner" in changes or "device_id" in changes:
            self._check_device_id(ctx, owner, changes.get("device_id", record["device_id"]), record["project_id"])
        new = dict(changes)
        if changes.get("mac_address", record["mac_address"]) != record["mac_address"]:
            self._check_mac_change(record, changes["mac_address"])
        new.update(self._security_changes(ctx, record, changes))
        if "fixed_ips" in changes:
            new["fixed_ips"] = self._addresses_for_update(record, changes["fixed_ips"], owner, network)
        self.plane.qos_policies.check_change(ctx, record, changes)
        if "binding:host_id" in changes:
            new.update(binding_fields(changes["binding:host_id"]))
        if "extra_dhcp_opts" in changes:
            new["extra_dhcp_opts"] = merge_dhcp_opts(record["extra_dhcp_opts"], changes["extra_dhcp_opts"])
        updated = self.changed(record, new)
        updated["qos_network_policy_id"] = network["qos_policy_id"] if network else None
        updated["status"] = port_status(updated, network)
        self.store.put(self.table, updated)
        if "fixed_ips" in changes:
            self.plane.port_forwardings.port_addresses_changed(updated)
        return updated

    def _check_mac_change(self, record: dict, mac: str) -> None:
        if record["binding:vif_type"] not in (UNBOUND, "binding_failed"):
            raise errors.PortBound(
                port_id=record["id"], vif_type=record["binding:vif_type"], old_mac=record["mac_address"], new_mac=mac
            )
        if self._mac_in_use(record["network_id"], mac, exclude=record["id"]):
            raise errors.MacAddressInUse(net_id=record["network_id"], mac=mac)

    def _security_changes(self, ctx: Context, record: dict, changes: dict) -> dict:
        """Port security rules of an update (Neutron's _portsec_ext_port_update_processing)."""
        secure = changes.get("port_security_enabled", record["port_security_enabled"])
        groups = changes.get("security_groups", NOT_SET)
        pairs = changes.get("allowed_address_pairs", NOT_SET)
        out = {}
        if not secure:
            if (pairs is not NOT_SET and pairs) or (pairs is NOT_SET and record["allowed_address_pairs"]):
                raise errors.AddressPairAndPortSecurityRequired()
            if groups is not NOT_SET and groups:
                raise errors.PortSecurityAndIPRequiredForSecurityGroups()
            if groups is NOT_SET and record["security_groups"]:
                raise errors.PortSecurityPortHasSecurityGroup()
        elif groups is not NOT_SET:
            self.plane.security_groups.check_usable(ctx, groups, record["project_id"])
        if pairs is not NOT_SET:
            mac = changes.get("mac_address", record["mac_address"])
            out["allowed_address_pairs"] = self._pairs(pairs, mac, secure)
        return out

    def _addresses_for_update(self, record: dict, requested: list[dict], owner: str, network: dict) -> list[dict]:
        kept, adds, released = ipam.split_update(record["fixed_ips"], requested, owner, self._lookup_subnet)
        subnets = ipam.candidate_subnets(self._subnets(network), owner, network["id"]) if adds else []
        wanted = ipam.explicit_wanted(adds, subnets, owner, self._lookup_subnet)
        gone = frozenset(ip["ip_address"] for ip in released)
        return kept + self.ipam.allocate(wanted, owner, self._free_for(record["id"], gone))

    # --- delete --------------------------------------------------------------------------------
    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        self._check_not_service_port(record)
        self._check_no_foreign_floating_ips(ctx, record)
        self.plane.floatingips.disassociate_port(record["id"])
        self.plane.port_forwardings.port_removed(record["id"])
        self.store.delete(self.table, record["id"])
        if record["device_id"] == dhcp_device_id(record["network_id"]):
            sync_network(self.plane, record["network_id"])  # the agent resyncs: a new port

    def _check_not_service_port(self, record: dict) -> None:
        """Router and floating IP ports go through their owner's API, while that owner exists."""
        owner = record["device_owner"]
        if owner not in SERVICE_OWNERS:
            return
        table = "floatingips" if owner == "network:floatingip" else "routers"
        if self.store.get(table, record["device_id"]) is None:
            return  # a leftover of a deleted router / floating IP may go
        raise errors.ServicePortInUse(port_id=record["id"], reason=f"has device owner {owner}")

    def _check_no_foreign_floating_ips(self, ctx: Context, record: dict) -> None:
        """A member may not silently disassociate a floating IP it cannot see (an admin's)."""
        if ctx.is_admin:
            return
        foreign = [f["id"] for f in self.store.find("floatingips", "port_id", record["id"]) if f["project_id"] != ctx.project_id]
        if foreign:
            raise errors.FipAssociated(port_id=record["id"], fip_id=", ".join(foreign))

    # --- hooks other services call -------------------------------------------------------------
    def delete_internal(self, port_id: str) -> None:
        """Remove a port owned by a router or floating IP (their code has checked everything)."""
        if self.store.get(self.table, port_id) is not None:
            with self.store.transaction():
                self.store.delete(self.table, port_id)

    def ports_on_subnet(self, subnet_id: str) -> list[dict]:
        """Every port holding an address of the subnet."""
        return list(self.store.find(self.table, "fixed_ips.subnet_id", subnet_id))

    def refresh_status_on_network(self, network_id: str) -> None:
        """Re-apply the status rule to the network's ports (its admin state changed)."""
        network = self.store.get("networks", network_id)
        for port in list(self.store.find(self.table, "network_id", network_id)):
            status = port_status(port, network)
            if status != port["status"]:
                self.store.put(self.table, self.changed(port, {"status": status}))

    def remove_subnet_addresses(self, subnet_id: str) -> None:
        """The subnet is being deleted: its addresses leave the ports that still hold them."""
        for port in self.ports_on_subnet(subnet_id):
            kept = [ip for ip in port["fixed_ips"] if ip["subnet_id"] != subnet_id]
            self.store.put(self.table, self.changed(port, {"fixed_ips": kept}))

    def add_auto_addresses(self, subnet: dict) -> None:
        """A new SLAAC / DHCPv6-stateless subnet gives the network's existing ports (not router
        interfaces) their EUI-64 address on it, as Neutron does after creating such a subnet."""
        net = ipam.network(subnet["cidr"])
        for port in list(self.store.find(self.table, "network_id", subnet["network_id"])):
            if port["device_owner"] in ipam.ROUTER_INTERFACE_OWNERS_SNAT:
                continue
            ip = ipam.eui64_address(net, port["mac_address"])
            if self.ipam.holder(subnet["id"], ip) is None:
                fixed = port["fixed_ips"] + [{"subnet_id": subnet["id"], "ip_address": ip}]
                self.store.put(self.table, self.changed(port, {"fixed_ips": fixed}))
