"""Subnets: an address range of a network, with its gateway, allocation pools, DNS servers and
host routes.

Validation follows Neutron's ``_validate_subnet`` and ``ipam_backend_mixin`` in order and wording.
Addresses handed to ports come from ``control.ipam``; a subnet keeps no allocation state of its own
(see that module), so deleting one only has to clean the ports that still hold its addresses.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .. import errors, ipam
from ..attributes import (
    NOT_SET,
    REQUIRED,
    Attr,
    ResourceDef,
    name_attr,
    one_of,
    standard_attrs,
    to_bool,
    to_int,
    uuid_or_none,
    uuid_value,
)
from ..context import Context
from ..query import ListQuery
from ..service import ResourceService
from .dhcp import sync_network
from .networks import AUTO_DELETE_OWNERS

IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
MAX_DNS_NAMESERVERS = 5
MAX_HOST_ROUTES = 20
# neutron-lib builds its prefix list as ["network:", "neutron:"] + "compute:", which extends the
# list with the *characters* of "compute:": any type starting with one of them is accepted (so
# tempest's "test:type_1" is valid). Clients depend on it, so it is kept.
SERVICE_TYPE_PREFIXES = ("network:", "neutron:", *"compute:")


# --- converters and validators (messages as neutron-lib's validators word them) ---------------
def canonical_cidr(value: Any) -> str:
    """neutron-lib's convert_cidr_to_canonical_format: host bits kept (cleared later), IPv6
    compressed; a bad value is InvalidInput (sample 011), not a webob 400."""
    try:
        iface = ipaddress.ip_interface(value)
    except (ValueError, TypeError):
        raise errors.InvalidInput(error_message=f"{value} is not in a CIDR format") from None
    return f"{iface.ip}/{iface.network.prefixlen}"


def canonical_ip_or_none(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return ipam.canonical_ip(value)
    except (ValueError, TypeError):
        raise ValueError(f"'{value}' is not a valid IP address") from None


def _ip(value: Any) -> None:
    try:
        ipaddress.ip_address(value)
    except (ValueError, TypeError):
        raise ValueError(f"'{value}' is not a valid IP address") from None


def _dict_with_keys(value: Any, keys: tuple[str, ...], what: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"Invalid data format for {what}: '{value}'")
    if set(value) != set(keys):
        raise ValueError(
            f"Validation of dictionary's keys failed. Expected keys: {set(keys)} Provided keys: {set(value)}"
        )


def ip_pools(value: Any) -> None:
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for IP pool: '{value}'")
    for pool in value:
        _dict_with_keys(pool, ("start", "end"), "IP pool")
        _ip(pool["start"])
        _ip(pool["end"])


def nameservers(value: Any) -> None:
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for nameserver: '{value}'")
    seen = set()
    for host in value:
        try:
            _ip(host)
        except ValueError as exc:
            raise ValueError(f"'{host}' is not a valid nameserver. {exc}") from None
        if host in seen:
            raise ValueError(f"Duplicate nameserver '{host}'")
        seen.add(host)


def host_routes(value: Any) -> None:
    if not isinstance(value, list):
        raise ValueError(f"Invalid data format for hostroute: '{value}'")
    seen = []
    for route in value:
        _dict_with_keys(route, ("destination", "nexthop"), "hostroute")
        try:
            ipaddress.ip_network(route["destination"], strict=False)
        except (ValueError, TypeError):
            raise ValueError(f"'{route['destination']}' is not a valid IP subnet") from None
        _ip(route["nexthop"])
        if route in seen:
            raise ValueError(f"Duplicate hostroute '{route}'")
        seen.append(route)


def service_types(value: Any) -> None:
    if not isinstance(value, list):
        raise ValueError(f"'{value}' is not a list")
    for item in value:
        if not isinstance(item, str) or not item.startswith(SERVICE_TYPE_PREFIXES):
            raise ValueError(f"Subnet service type {item} does not correspond to a valid device owner")


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


SUBNET = ResourceDef(
    collection="subnets",
    plural="subnets",
    singular="subnet",
    not_found=errors.SubnetNotFound,
    not_found_arg="subnet_id",
    attrs=standard_attrs()
    + (
        name_attr(),
        Attr("network_id", post=True, default=REQUIRED, validate=uuid_value, filter=True, sort=True),
        Attr("ip_version", post=True, default=REQUIRED, convert=to_int, validate=one_of(4, 6), filter=True, sort=True),
        Attr("cidr", post=True, convert=canonical_cidr, filter=True, sort=True),
        Attr("prefixlen", post=True, convert=to_int, visible=False),
        Attr("subnetpool_id", post=True, default=None, validate=uuid_or_none, filter=True, sort=True),
        Attr("use_default_subnetpool", post=True, default=False, convert=to_bool, visible=False),
        Attr("gateway_ip", post=True, put=True, convert=canonical_ip_or_none, filter=True, sort=True),
        Attr("allocation_pools", post=True, put=True, validate=ip_pools),
        Attr("dns_nameservers", post=True, put=True, default=[], convert=_none_to_list, validate=nameservers),
        Attr("host_routes", post=True, put=True, default=[], convert=_none_to_list, validate=host_routes),
        Attr("enable_dhcp", post=True, put=True, default=True, convert=to_bool, filter=True, sort=True),
        Attr("ipv6_ra_mode", post=True, default=None, validate=one_of(*IPV6_MODES, allow_none=True), filter=True, sort=True),
        Attr("ipv6_address_mode", post=True, default=None, validate=one_of(*IPV6_MODES, allow_none=True), filter=True, sort=True),
        Attr("service_types", post=True, put=True, default=[], convert=_none_to_list, validate=service_types, admin_set=True),
        Attr("segment_id", post=True, default=None, validate=uuid_or_none, admin_set=True, filter=True),
        Attr("router:external"),
    ),
)


def _bad(msg: str) -> errors.BadRequest:
    return errors.BadRequest(resource="subnets", msg=msg)


def _invalid(msg: str) -> errors.InvalidInput:
    return errors.InvalidInput(error_message=msg)


def _check_version(version: int, value: str, name: str) -> None:
    """Neutron's _validate_ip_version: an address or CIDR of the other family → 400."""
    if ipaddress.ip_network(value, strict=False).version != version:
        raise _invalid(f"{name} '{value}' does not match the ip_version '{version}'")


class SubnetService(ResourceService):
    """Subnets: visible to their owner, the network's owner, and everyone when the network is
    shared or external; created only by an admin or the network's owner."""

    definition = SUBNET
    table = "subnets"
    attribute = "subnets"
    indexes = ("project_id", "network_id", "subnetpool_id")
    indexed_filters = ("network_id", "project_id")
    special_filters = frozenset({"shared", "router:external"})
    extensions = ("subnet-service-types", "subnet-external-network")

    # --- policy --------------------------------------------------------------------------------
    def _network(self, record: dict) -> dict | None:
        return self.store.get("networks", record["network_id"])

    def visible(self, ctx: Context, record: dict) -> bool:
        if ctx.is_admin or record["project_id"] == ctx.project_id:
            return True
        network = self._network(record)
        return network is not None and self.plane.networks.visible(ctx, network)

    def writable(self, ctx: Context, record: dict) -> bool:
        if ctx.is_admin:
            return True
        network = self._network(record)
        owners = {record["project_id"], network["project_id"] if network else None}
        return ctx.is_member and ctx.project_id in owners

    def authorize_create(self, ctx: Context, attrs: dict) -> None:
        if not ctx.is_member:
            raise self.policy_error("create")
        network = self.plane.networks.get(ctx, attrs["network_id"])  # 404 when invisible
        if not self.plane.networks.owned_by(ctx, network):
            raise self.policy_error("create")
        self.check_admin_set(ctx, attrs, "create")

    # --- reads ---------------------------------------------------------------------------------
    def extra_checks(self, ctx: Context, q: ListQuery) -> list:
        """``shared`` and ``router:external`` filter on the subnet's network as it is now (neither
        is an attribute the subnet owns)."""
        checks = []
        for key in ("shared", "router:external"):
            values = q.special.get(key)
            if values is None:
                continue
            try:
                wanted = {to_bool(v) for v in values}
            except ValueError as exc:
                raise errors.HTTPBadRequest(f"Invalid input for {key}. Reason: {exc}.") from None
            checks.append(self._network_flag_check(key, wanted))
        return checks

    def _network_flag_check(self, key: str, wanted: set[bool]):
        def check(record: dict) -> bool:
            network = self._network(record)
            return bool(network and network[key]) in wanted

        return check

    def present(self, ctx: Context, record: dict, fields: list[str] | None = None) -> dict:
        # router:external mirrors the network now, even if it flipped after the subnet was made.
        network = self._network(record)
        external = bool(network and network["router:external"])
        if record.get("router:external") != external:
            record = {**record, "router:external": external}
        return super().present(ctx, record, fields)

    # --- create --------------------------------------------------------------------------------
    def _create(self, ctx: Context, attrs: dict, **parents) -> dict:
        network = self.store.get("networks", attrs["network_id"])
        pool = self._pool_for(ctx, attrs)
        if pool is not None:
            self._check_pool_affinity(network, attrs["ip_version"], pool["id"])
            given = attrs.get("cidr")
            attrs["cidr"] = self.plane.subnetpools.allocate(
                pool, attrs["project_id"], None if given is NOT_SET else given,
                None if attrs.get("prefixlen") is NOT_SET else attrs.get("prefixlen"))
        else:
            self._check_pool_affinity(network, attrs["ip_version"], None)
        computed = self._new_subnet_fields(network, attrs)
        computed["subnetpool_id"] = pool["id"] if pool else None
        for name in ("prefixlen", "use_default_subnetpool"):
            attrs.pop(name, None)
        record = self.new_record(attrs, **computed)
        record["revision_number"] = 0  # what Neutron 29 reports for a fresh subnet
        self.store.put(self.table, record)
        self.plane.networks.add_subnet(network["id"], record["id"])
        if ipam.is_auto_address(record):
            self.plane.ports.add_auto_addresses(record)
        sync_network(self.plane, network["id"])  # the DHCP agent takes its address now
        return record

    def _new_subnet_fields(self, network: dict, attrs: dict) -> dict:
        """Validate a new subnet against Neutron's rules; return the server-computed fields."""
        version = attrs["ip_version"]
        _check_version(version, attrs["cidr"], "cidr")
        net = ipaddress.ip_network(attrs["cidr"], strict=False)
        cidr = str(net)
        if attrs["enable_dhcp"]:
            self._check_dhcp(net)
        gateway = self._new_gateway(net, attrs)
        self._check_lists(version, attrs, "new subnet")
        self._check_ipv6_modes(version, net, attrs)
        self._check_overlap(network, net, cidr)
        self.plane.networks.check_subnet_mtu(network["id"], network["mtu"], version)
        if attrs.get("allocation_pools", NOT_SET) is NOT_SET:
            pools = ipam.generate_pools(net, gateway)
        else:
            ranges = ipam.check_pools(attrs["allocation_pools"], net, cidr)
            if gateway is not None:
                ipam.check_gateway_outside_pools(gateway, version, ranges)
            pools = [ipam.format_pool(version, r) for r in ranges]
        return {
            "cidr": cidr,
            "gateway_ip": gateway,
            "allocation_pools": pools,
            "router:external": network["router:external"],
        }

    def _pool_for(self, ctx: Context, attrs: dict) -> dict | None:
        """The subnet pool a new subnet is carved from, if any (checked as Neutron orders it)."""
        has_cidr = attrs.get("cidr", NOT_SET) is not NOT_SET
        has_prefixlen = attrs.get("prefixlen", NOT_SET) is not NOT_SET
        if has_cidr and has_prefixlen:
            raise _bad("cidr and prefixlen must not be supplied together")
        if attrs.get("subnetpool_id") and attrs.get("use_default_subnetpool"):
            raise _bad("subnetpool_id and use_default_subnetpool cannot both be specified")
        pool = None
        if attrs.get("subnetpool_id"):
            pool = self.plane.subnetpools.get(ctx, attrs["subnetpool_id"])  # 404 when invisible
        elif attrs.get("use_default_subnetpool"):
            pool = self.plane.subnetpools.default_pool(attrs["ip_version"], ctx)
            if pool is None:
                raise _bad(f"No default subnetpool found for IPv{attrs['ip_version']}")
        if pool is None and not has_cidr:
            if has_prefixlen:
                raise _bad("a subnetpool must be specified in the absence of a cidr")
            raise _bad("A cidr must be specified in the absence of a subnet pool")
        if pool is not None and pool["ip_version"] != attrs["ip_version"]:
            raise _invalid(f"Cannot allocate IPv{attrs['ip_version']} subnet from IPv{pool['ip_version']} subnet pool")
        return pool

    def _check_pool_affinity(self, network: dict, version: int, pool_id: str | None) -> None:
        """Subnets of one IP version on one network come from one pool (or none) — or, when the
        network is in an address scope for that version, from pools of that one scope (Neutron's
        _validate_network_subnetpools)."""
        scope = self.plane.address_scopes.network_scopes(network)[f"ipv{version}_address_scope"]
        if scope is not None and pool_id is not None:
            pool = self.store.get("subnetpools", pool_id)
            if pool.get("address_scope_id") != scope:
                raise errors.NetworkAddressScopeAffinityError()
            return
        for subnet_id in network["subnets"]:
            other = self.store.get(self.table, subnet_id)
            if other is not None and other["ip_version"] == version and other.get("subnetpool_id") != pool_id:
                raise errors.NetworkSubnetPoolAffinityError()

    @staticmethod
    def _check_dhcp(net: ipam.IPNetwork) -> None:
        if (net.version == 4 and net.prefixlen > 30) or (net.version == 6 and net.prefixlen > 126):
            raise _invalid("Subnet has a prefix length that is incompatible with DHCP service enabled")
        if net.is_multicast:
            raise _invalid("Multicast IP subnet is not supported if enable_dhcp is True")
        if net.is_loopback:
            raise _invalid("Loopback IP subnet is not supported if enable_dhcp is True")
        if net.version == 4 and int(net.network_address) == 0:
            raise _invalid("First IP '0.0.0.0' of network is not supported if enable_dhcp is True.")

    @staticmethod
    def _new_gateway(net: ipam.IPNetwork, attrs: dict) -> str | None:
        gateway = attrs.get("gateway_ip", NOT_SET)
        if gateway is NOT_SET:
            return ipam.default_gateway(net)
        if gateway is not None:
            _check_gateway(net, gateway)
        return gateway

    @staticmethod
    def _check_lists(version: int, attrs: dict, subnet_id: str) -> None:
        servers = attrs.get("dns_nameservers") or []
        if len(servers) > MAX_DNS_NAMESERVERS:
            raise errors.DNSNameServersExhausted(subnet_id=subnet_id, quota=MAX_DNS_NAMESERVERS)
        for server in servers:
            _check_version(version, server, "dns_nameserver")
        routes = attrs.get("host_routes") or []
        if len(routes) > MAX_HOST_ROUTES:
            raise errors.HostRoutesExhausted(subnet_id=subnet_id, quota=MAX_HOST_ROUTES)
        for route in routes:
            _check_version(version, route["nexthop"], "nexthop")
            _check_version(version, route["destination"], "destination")

    @staticmethod
    def _check_ipv6_modes(version: int, net: ipam.IPNetwork, attrs: dict) -> None:
        ra_mode, address_mode = attrs.get("ipv6_ra_mode"), attrs.get("ipv6_address_mode")
        if version == 4:
            if ra_mode is not None:
                raise _invalid("ipv6_ra_mode is not valid when ip_version is 4")
            if address_mode is not None:
                raise _invalid("ipv6_address_mode is not valid when ip_version is 4")
            return
        if (ra_mode or address_mode) and not attrs["enable_dhcp"]:
            raise _invalid("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False")
        if ra_mode and address_mode and ra_mode != address_mode:
            raise _invalid(
                f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to '{address_mode}' is not "
                "valid. If both attributes are set, they must be the same value"
            )
        if ipam.is_auto_address(attrs) and net.prefixlen != 64:
            raise _invalid(
                f"Invalid CIDR {net} for IPv6 address mode. OpenStack uses the EUI-64 address format, "
                "which requires the prefix to be /64"
            )

    def _check_overlap(self, network: dict, net: ipam.IPNetwork, cidr: str) -> None:
        if net.prefixlen == 0:
            raise _invalid("0 is not allowed as CIDR prefix length")
        for subnet_id in network["subnets"]:
            other = self.store.get(self.table, subnet_id)
            if other is not None and ipam.network(other["cidr"]).overlaps(net):
                raise _invalid(
                    f"Requested subnet with cidr: {cidr} for network: {network['id']} overlaps with another subnet"
                )

    # --- update --------------------------------------------------------------------------------
    def _update(self, ctx: Context, record: dict, changes: dict, **parents) -> dict:
        net = ipam.network(record["cidr"])
        version = record["ip_version"]
        if changes.get("enable_dhcp") and not record["enable_dhcp"]:
            self._check_dhcp(net)
        if changes.get("enable_dhcp") is False and (record["ipv6_ra_mode"] or record["ipv6_address_mode"]):
            raise _invalid("Cannot disable enable_dhcp with ipv6 attributes set")
        gateway = changes.get("gateway_ip", record["gateway_ip"])
        if "gateway_ip" in changes and gateway is not None:
            _check_gateway(net, gateway)
        if "gateway_ip" in changes and gateway != record["gateway_ip"]:
            self._check_gateway_free(record)  # moving or removing it alike
        self._check_lists(version, changes, record["id"])
        ranges = None
        if "allocation_pools" in changes:
            ranges = ipam.check_pools(changes["allocation_pools"], net, record["cidr"])
            changes["allocation_pools"] = [ipam.format_pool(version, r) for r in ranges]
        if gateway is not None and (gateway != record["gateway_ip"] or ranges is not None):
            current = ranges if ranges is not None else ipam.pool_ranges(record)
            ipam.check_gateway_outside_pools(gateway, version, current)
        new = self.changed(record, changes)
        self.store.put(self.table, new)
        if "enable_dhcp" in changes:
            sync_network(self.plane, record["network_id"])  # the DHCP port gains or drops an address
        return new

    def _check_gateway_free(self, record: dict) -> None:
        """The current gateway may not move while a router interface holds it."""
        old = record["gateway_ip"]
        if old is None:
            return
        holder = self.plane.ports.ipam.holder(record["id"], old)
        port = self.store.get("ports", holder) if holder else None
        if port is not None and port["device_owner"] in ipam.ROUTER_INTERFACE_OWNERS:
            raise errors.GatewayIpInUse(ip_address=old, port_id=holder)

    # --- delete --------------------------------------------------------------------------------
    def _delete(self, ctx: Context, record: dict, **parents) -> None:
        subnet_id = record["id"]
        ports = self.plane.ports.ports_on_subnet(subnet_id)
        if any(p["device_owner"] in ipam.ROUTER_INTERFACE_OWNERS for p in ports):
            raise errors.SubnetInUse(subnet_id=subnet_id, reason=IN_USE_REASON)
        if not ipam.is_auto_address(record):
            # Only DHCP-like ports lose their address silently; any other user blocks the delete.
            if any(p["device_owner"] not in AUTO_DELETE_OWNERS for p in ports):
                raise errors.SubnetInUse(subnet_id=subnet_id, reason=IN_USE_REASON)
        self.plane.ports.remove_subnet_addresses(subnet_id)
        self.plane.networks.remove_subnet(record["network_id"], subnet_id)
        self.store.delete(self.table, subnet_id)
        self.plane.ports.ipam.forget(subnet_id)
        sync_network(self.plane, record["network_id"])  # the last DHCP subnet gone: so is the port


IN_USE_REASON = "One or more ports have an IP allocation from this subnet"


def _check_gateway(net: ipam.IPNetwork, gateway: str) -> None:
    _check_version(net.version, gateway, "gateway_ip")
    if ipam.gateway_invalid(net, gateway):
        raise _invalid("Gateway is not valid on subnet")
