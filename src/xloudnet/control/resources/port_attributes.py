"""The port attribute map and the value rules behind it (converters, owners, status).

The data half of ``ports``: what a port body may hold and how each value is normalised.
"""

from __future__ import annotations

import re
from typing import Any

from .. import errors, ipam
from ..attributes import (
    REQUIRED,
    Attr,
    ResourceDef,
    dict_value,
    duplicate_items,
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
    repeated = duplicate_items(value)
    if repeated:
        raise ValueError(f"Duplicate items in the list: '{', '.join(map(str, repeated))}'")
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
