"""Ports: a device's attachment to a network, with its addresses, MAC and security settings.

Status rule (no agents here, so the control plane decides, and re-decides on every port write and
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
import re
from typing import Any

from .. import errors, ipam
from ..attributes import (
    NOT_SET,
    REQUIRED,
    Attr,
    ResourceDef,
    dict_value,
    ip_or_cidr,
    name_attr,
    one_of,
    standard_attrs,
    string,
    to_bool,
    to_int,
    uuid_or_none,
    uuid_value,
)
from ..context import Context
from ..query import ListQuery
from ..service import ResourceService

# Ports that routers and floating IPs own: only their owners may delete them (409 via the API).
SERVICE_OWNERS = ipam.ROUTER_INTERFACE_OWNERS + (
    "network:router_gateway",
    "network:floatingip",
    "network:router_ha_interface",
    "network:router_centralized_snat",
)
ACTIVE_OWNER_PREFIXES = ("compute:", "baremetal:", "network:router_interface")
ACTIVE_OWNERS = ("network:router_gateway", "network:dhcp")
UNBOUND = "unbound"
OVS_VIF_DETAILS = {
    "connectivity": "l2",
    "port_filter": True,
    "ovs_hybrid_plug": False,
    "datapath_type": "system",
    "bridge_name": "br-int",
}
MAC_ATTEMPTS = 16


VNIC_TYPES = (
    "normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder", "smart-nic", "vdpa",
    "accelerator-direct", "accelerator-direct-physical", "remote-managed",
)
MAX_ADDRESS_PAIRS = 10
MAX_TAGS = 50
_MAC = re.compile(r"^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$")
_INVALID_MACS = ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff")


# --- converters and validators (messages as neutron-lib words them) ----------------------------
def convert_mac(value: Any) -> str:
    """A MAC in any usual spelling, stored lower-case with colons (Neutron's unix_expanded)."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if re.fullmatch(r"[0-9a-f]{12}", text):
        text = ":".join(text[i : i + 2] for i in range(0, 12, 2))
    match = _MAC.match(text)
    mac = ":".join(match.groups()) if match else None
    if mac is None or mac in _INVALID_MACS:
        raise ValueError(f"'{value}' is not a valid MAC address")
    return mac


def convert_fixed_ips(value: Any) -> list[dict]:
    """neutron-lib's validate_fixed_ips; addresses stored canonical, other keys dropped."""
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for fixed IP: '{value}'")
    result, seen = [], set()
    for item in value:
        if not isinstance(item, dict):
            raise ValueError(f"Invalid data format for fixed IP: '{item}'")
        entry = {}
        if "subnet_id" in item:
            uuid_value(item["subnet_id"])
            entry["subnet_id"] = item["subnet_id"]
        if "ip_address" in item:
            try:
                ip = ipam.canonical_ip(item["ip_address"])
            except (ValueError, TypeError):
                raise ValueError(f"'{item['ip_address']}' is not a valid IP address") from None
            if ip in seen:
                raise ValueError(f"Duplicate IP address '{item['ip_address']}'")
            seen.add(ip)
            entry["ip_address"] = ip
        result.append(entry)
    return result


def convert_uuid_list(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"'{value}' is not a list")
    for item in value:
        uuid_value(item)
    duplicates = sorted({v for v in value if value.count(v) > 1})
    if duplicates:
        raise ValueError(f"Duplicate items in the list: '{', '.join(duplicates)}'")
    return list(value)


def convert_address_pairs(value: Any) -> list[dict]:
    """neutron-lib's _validate_allowed_address_pairs, error types included."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise errors.HTTPBadRequest("Allowed address pairs must be a list.")
    if len(value) > MAX_ADDRESS_PAIRS:
        raise errors.AllowedAddressPairExhausted(quota=MAX_ADDRESS_PAIRS)
    result, seen = [], set()
    for pair in value:
        if not isinstance(pair, dict):
            raise ValueError(f"'{pair}' is not a dictionary")
        extra = sorted(set(pair) - {"mac_address", "ip_address"})
        mac = convert_mac(pair["mac_address"]) if pair.get("mac_address") is not None else None
        if "ip_address" not in pair:
            raise errors.AllowedAddressPairsMissingIP()
        ip = pair["ip_address"]
        if (mac, ip) in seen:
            raise errors.DuplicateAddressPairInRequest(mac_address=mac, ip_address=ip)
        seen.add((mac, ip))
        if extra:
            raise errors.HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(extra)}'")
        try:
            ip_or_cidr(ip)
        except ValueError as exc:
            raise errors.HTTPBadRequest(str(exc)) from None
        result.append({"ip_address": ip, **({"mac_address": mac} if mac else {})})
    return result


def convert_dhcp_opts(value: Any) -> list[dict]:
    """extra_dhcp_opt entries: opt_name (required), opt_value (null deletes on update),
    ip_version 4 (default) or 6."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"'{value}' is not a list")
    result = []
    for opt in value:
        if not isinstance(opt, dict) or not isinstance(opt.get("opt_name"), str) or not opt["opt_name"]:
            raise ValueError(f"'{opt}' is not a valid extra DHCP option")
        if set(opt) - {"opt_name", "opt_value", "ip_version"} or "opt_value" not in opt:
            raise ValueError(f"'{opt}' is not a valid extra DHCP option")
        if opt["opt_value"] is not None and not isinstance(opt["opt_value"], str):
            raise ValueError(f"'{opt['opt_value']}' is not a valid string")
        version = to_int(opt.get("ip_version", 4))
        if version not in (4, 6):
            raise ValueError(f"{version} is not in [4, 6]")
        result.append({"opt_name": opt["opt_name"], "opt_value": opt["opt_value"], "ip_version": version})
    return result


def merge_dhcp_opts(current: list[dict], changes: list[dict]) -> list[dict]:
    """Neutron updates DHCP options by (name, version): a null value removes one."""
    merged = {(o["opt_name"], o["ip_version"]): o for o in current}
    for opt in changes:
        key = (opt["opt_name"], opt["ip_version"])
        if opt["opt_value"] is None:
            merged.pop(key, None)
        else:
            merged[key] = opt
    return list(merged.values())


def convert_tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError(f"'{value}' is not a list")
    for tag in value:
        if not isinstance(tag, str) or not tag or len(tag) > 255 or "," in tag or "/" in tag:
            raise ValueError(f"'{tag}' is not a valid tag")
    tags = list(dict.fromkeys(value))
    if len(tags) > MAX_TAGS:
        raise ValueError(f"Number of tags exceeds the maximum {MAX_TAGS}")
    return tags


def none_to_empty_string(value: Any) -> Any:
    return "" if value is None else value


def none_to_empty_dict(value: Any) -> Any:
    return {} if value is None else value


def _mac_filter(value: str) -> str:
    return value.lower()


PORT = ResourceDef(
    collection="ports",
    plural="ports",
    singular="port",
    not_found=errors.PortNotFound,
    not_found_arg="port_id",
    attrs=standard_attrs(tags=False)
    + (
        Attr("tags", post=True, default=[], convert=convert_tags),
        name_attr(),
        Attr("network_id", post=True, default=REQUIRED, validate=uuid_value, filter=True, sort=True),
        Attr("admin_state_up", post=True, put=True, default=True, convert=to_bool, filter=True, sort=True),
        Attr("mac_address", post=True, put=True, convert=convert_mac, filter=True, sort=True, filter_convert=_mac_filter),
        Attr("fixed_ips", post=True, put=True, convert=convert_fixed_ips),
        Attr("device_id", post=True, put=True, default="", validate=string(255), filter=True, sort=True),
        Attr("device_owner", post=True, put=True, default="", validate=string(255), filter=True, sort=True),
        Attr("status", filter=True, sort=True),
        Attr("security_groups", post=True, put=True, convert=convert_uuid_list, filter=True, filter_convert=str),
        Attr("port_security_enabled", post=True, put=True, convert=to_bool),
        Attr("allowed_address_pairs", post=True, put=True, convert=convert_address_pairs),
        Attr("extra_dhcp_opts", post=True, put=True, default=[], convert=convert_dhcp_opts),
        Attr("binding:vnic_type", post=True, put=True, default="normal", validate=one_of(*VNIC_TYPES), filter=True),
        Attr("binding:host_id", post=True, put=True, default="", convert=none_to_empty_string,
             validate=string(255), admin_only=True, admin_set=True, filter=True),
        Attr("binding:profile", post=True, put=True, default={}, convert=none_to_empty_dict,
             validate=dict_value, admin_only=True, admin_set=True),
        Attr("binding:vif_type", admin_only=True),
        Attr("binding:vif_details", admin_only=True),
        Attr("qos_policy_id", post=True, put=True, default=None, validate=uuid_or_none),
        Attr("qos_network_policy_id"),
        Attr("ip_allocation", filter=True, sort=True),
        Attr("resource_request", admin_only=True),
    ),
)


def is_trusted(device_owner: str) -> bool:
    """Neutron's is_port_trusted: ports of the network itself."""
    return device_owner.startswith("network:")


def port_status(port: dict, network: dict | None) -> str:
    """The status rule of the module docstring."""
    owner = port["device_owner"]
    if owner == "network:floatingip":
        return "N/A"
    wired = owner.startswith(ACTIVE_OWNER_PREFIXES) or owner in ACTIVE_OWNERS
    if wired and port["admin_state_up"] and network is not None and network["admin_state_up"]:
        return "ACTIVE"
    return "DOWN"


def binding_fields(host: str) -> dict:
    """Setting a host binds the port (as the OVS mechanism driver would); clearing it unbinds."""
    if host:
        return {"binding:vif_type": "ovs", "binding:vif_details": dict(OVS_VIF_DETAILS)}
    return {"binding:vif_type": UNBOUND, "binding:vif_details": {}}


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
        if not self.plane.networks.owned_by(ctx, network) and not network["shared"]:
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
        if changes.get("qos_policy_id"):
            self.plane.qos_policies.get_usable(ctx, changes["qos_policy_id"])
        if "binding:host_id" in changes:
            new.update(binding_fields(changes["binding:host_id"]))
        if "extra_dhcp_opts" in changes:
            new["extra_dhcp_opts"] = merge_dhcp_opts(record["extra_dhcp_opts"], changes["extra_dhcp_opts"])
        updated = self.changed(record, new)
        updated["qos_network_policy_id"] = network["qos_policy_id"] if network else None
        updated["status"] = port_status(updated, network)
        self.store.put(self.table, updated)
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
        self.store.delete(self.table, record["id"])

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
