"""The router attribute map and the value rules behind it (gateway info, extra routes).

The data half of ``routers``: what a router body may hold and how each value is normalised.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .. import errors
from ..attributes import Attr, ResourceDef, list_of, name_attr, standard_attrs, string, to_bool, uuid_value

GATEWAY_OWNER = "network:router_gateway"
INTERFACE_OWNER = "network:router_interface"
# Every owner that makes a port one of a router's interfaces.
INTERFACE_OWNERS = frozenset(
    {INTERFACE_OWNER, "network:router_interface_distributed", "network:ha_router_replicated_interface"}
)
_GATEWAY_KEYS = ("network_id", "enable_snat", "external_fixed_ips")


# --- input converters (raise ValueError with Neutron's reason text) ---------------------------
def _fixed_ip_list(value: Any) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for fixed IP: '{value}'")
    result = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"subnet_id", "ip_address"}:
            raise ValueError(f"Invalid data format for fixed IP: '{item}'")
        if "subnet_id" in item:
            uuid_value(item["subnet_id"])
        if "ip_address" in item:
            _ip(item["ip_address"])
        result.append(dict(item))
    return result


def gateway_info(value: Any) -> dict | None:
    """``external_gateway_info`` as given: ``None``/``{}`` mean "no gateway"; only the keys the
    caller sent are kept (so policy can tell an explicit ``enable_snat`` from the default)."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"'{value}' is not a dictionary")
    unexpected = [k for k in value if k not in _GATEWAY_KEYS]
    if unexpected:
        raise ValueError(f"Unexpected keys supplied: {', '.join(sorted(unexpected))}")
    if "network_id" not in value:
        raise ValueError(
            f"Validation of dictionary's keys failed. Expected keys: {{'network_id'}} "
            f"Provided keys: {set(value)}"
        )
    uuid_value(value["network_id"])
    info = {"network_id": value["network_id"]}
    if "enable_snat" in value:
        info["enable_snat"] = to_bool(value["enable_snat"])
    if "external_fixed_ips" in value:
        info["external_fixed_ips"] = _fixed_ip_list(value["external_fixed_ips"])
    return info


def _ip(value: Any):
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is not a valid IP address")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP address") from None


def _route_cidr(value: Any):
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid CIDR") from None
    if net.is_loopback:
        raise ValueError(f"'{value}' is not a routable CIDR")
    return net


def routes_list(value: Any) -> list[dict]:
    """neutron-lib's ``type:hostroutes``: a list of unique {destination, nexthop} dicts."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for hostroute: '{value}'")
    routes: list[dict] = []
    for route in value:
        if not isinstance(route, dict):
            raise ValueError(
                f"Invalid input. '{route}' must be a dictionary with keys: ['destination', 'nexthop']"
            )
        if set(route) != {"destination", "nexthop"}:
            raise ValueError(
                "Validation of dictionary's keys failed. Expected keys: "
                f"{{'destination', 'nexthop'}} Provided keys: {set(route)}"
            )
        destination = _route_cidr(route["destination"])
        nexthop = _ip(route["nexthop"])
        normal = {"destination": str(destination), "nexthop": str(nexthop)}
        if normal in routes:
            raise ValueError(f"Duplicate hostroute '{route}'")
        routes.append(normal)
    return routes


ROUTER = ResourceDef(
    collection="routers",
    plural="routers",
    singular="router",
    not_found=errors.RouterNotFound,
    not_found_arg="router_id",
    attrs=standard_attrs()
    + (
        name_attr(),
        Attr("admin_state_up", post=True, put=True, default=True, convert=to_bool, filter=True, sort=True),
        Attr("status", sort=True),
        Attr("external_gateway_info", post=True, put=True, default=None, convert=gateway_info),
        Attr("routes", put=True, convert=routes_list),
        Attr("distributed", post=True, put=True, default=False, convert=to_bool, admin_only=True, admin_set=True),
        Attr("ha", post=True, put=True, default=False, convert=to_bool, admin_only=True, admin_set=True),
        Attr("availability_zone_hints", post=True, default=[], validate=list_of(string(255))),
        Attr("availability_zones"),
        Attr("flavor_id"),
        Attr("gw_port_id", visible=False),
        Attr("gw_network_id", visible=False),
    ),
)


def bad_request(msg: str) -> errors.BadRequest:
    return errors.BadRequest(resource="router", msg=msg)
