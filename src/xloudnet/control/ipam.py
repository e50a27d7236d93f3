"""IP address management: subnet pools and gateways, and the addresses ports get.

The truth about which address is taken lives in the store and nowhere else: an address of a
subnet is taken exactly when some port's ``fixed_ips`` holds it, found through the ports
indexes ``fixed_ips.ip_address`` and ``fixed_ips.subnet_id``. So transactions roll IPAM back,
forks copy it, and a network delete that drops ports and subnets straight from the store leaves
nothing behind.

Finding a free address uses next-fit over the subnet's pools: a per-subnet cursor remembers where
the last search stopped, and a search walks the pools from there, wrapping around once before it
declares the subnet full. The cursor is only a hint kept on the allocator: every candidate is
checked against the indexes, so a cursor left stale by a rollback or a fork costs a few extra
probes, never a wrong answer. Creating 100k ports on one /14 probes about one address each.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from . import errors

if TYPE_CHECKING:  # pragma: no cover
    from .plane import ControlPlane

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ROUTER_INTERFACE_OWNERS = (
    "network:router_interface",
    "network:router_interface_distributed",
    "network:ha_router_replicated_interface",
)
# Router ports that take a subnet's address explicitly and never get an automatic one.
ROUTER_INTERFACE_OWNERS_SNAT = ROUTER_INTERFACE_OWNERS + ("network:router_centralized_snat",)
ROUTER_PORT_OWNERS = ROUTER_INTERFACE_OWNERS + ("network:router_gateway",)
AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")
# Service ports that take the lowest free address, as Neutron's DHCP and metadata ports do.
LOWEST_FREE_OWNERS = ("network:dhcp", "network:distributed")


# --- addresses and networks -------------------------------------------------------------------
@lru_cache(maxsize=65536)
def network(cidr: str) -> IPNetwork:
    """The network of a stored (already canonical) CIDR string."""
    return ipaddress.ip_network(cidr)


def canonical_ip(value: str) -> str:
    """The stored spelling of an address (IPv6 compressed, lower case)."""
    return str(ipaddress.ip_address(value))


def to_int(value: str) -> int:
    return int(ipaddress.ip_address(value))


def to_text(version: int, value: int) -> str:
    return str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))


def is_auto_address(subnet: dict) -> bool:
    """SLAAC and DHCPv6-stateless subnets give each port an EUI-64 address of its own."""
    return subnet.get("ipv6_address_mode") in AUTO_ADDRESS_MODES or subnet.get("ipv6_ra_mode") in AUTO_ADDRESS_MODES


def eui64_address(net: IPNetwork, mac: str) -> str:
    """The modified EUI-64 address of a MAC inside a /64 (RFC 4291 appendix A)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    interface_id = int.from_bytes(bytes(octets[:3] + [0xFF, 0xFE] + octets[3:]), "big")
    return str(ipaddress.IPv6Address(int(net.network_address) | interface_id))


def usable_bounds(net: IPNetwork) -> tuple[int, int]:
    """First and last address a pool may use: not the network address, nor the IPv4 broadcast."""
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.num_addresses <= 2:
        return first, last  # /31, /32 (and IPv6 /127, /128): every address is a host
    return first + 1, last - (1 if net.version == 4 else 0)


def default_gateway(net: IPNetwork) -> str:
    """IPv4: the first host. IPv6: the subnet-router anycast address (the network address)."""
    if net.version == 6:
        return str(net.network_address)
    return to_text(4, usable_bounds(net)[0])


def gateway_invalid(net: IPNetwork, gateway: str) -> bool:
    """Neutron refuses an IPv4 gateway on the network or broadcast address (outside is allowed)."""
    ip = ipaddress.ip_address(gateway)
    if ip not in net or net.version == 6 or net.num_addresses <= 2:
        return False
    return ip in (net.network_address, net.broadcast_address)


def ip_in_subnet(net: IPNetwork, ip: str, device_owner: str = "") -> bool:
    """May a port hold this specific address? Inside the CIDR, not the IPv4 network/broadcast
    address; the IPv6 network address only for router ports (it is the default gateway)."""
    address = ipaddress.ip_address(ip)
    if address.version != net.version or address not in net:
        return False
    if net.num_addresses <= 2:
        return True
    if net.version == 6:
        return address != net.network_address or device_owner in ROUTER_PORT_OWNERS + ("",)
    return address not in (net.network_address, net.broadcast_address)


# --- pools ------------------------------------------------------------------------------------
def generate_pools(net: IPNetwork, gateway: str | None) -> list[dict]:
    """The default pools: every usable address except the gateway (which may split the range)."""
    first, last = usable_bounds(net)
    ranges = [(first, last)]
    if gateway is not None:
        gw = to_int(gateway)
        if first <= gw <= last:
            ranges = [r for r in ((first, gw - 1), (gw + 1, last)) if r[0] <= r[1]]
    return [format_pool(net.version, r) for r in ranges]


def format_pool(version: int, bounds: tuple[int, int]) -> dict:
    return {"start": to_text(version, bounds[0]), "end": to_text(version, bounds[1])}


def _range_text(version: int, bounds: tuple[int, int]) -> str:
    # netaddr's IPRange spelling, which Neutron's messages use.
    return f"{to_text(version, bounds[0])}-{to_text(version, bounds[1])}"


def check_pools(pools: list[dict], net: IPNetwork, cidr: str) -> list[tuple[int, int]]:
    """Validate requested pools (as Neutron does, in its order); return them as int ranges."""
    low, high = usable_bounds(net)
    ranges = []
    for pool in pools:
        try:
            start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        except ValueError:
            raise errors.InvalidAllocationPool(pool=pool) from None
        if start.version != net.version or end.version != net.version or int(start) > int(end):
            raise errors.InvalidAllocationPool(pool=pool)
        bounds = (int(start), int(end))
        if bounds[0] < low or bounds[1] > high:
            raise errors.OutOfBoundsAllocationPool(pool=_range_text(net.version, bounds), subnet_cidr=cidr)
        ranges.append(bounds)
    for i, (a_start, a_end) in enumerate(ranges):
        for b_start, b_end in ranges[i + 1 :]:
            if a_start <= b_end and b_start <= a_end:
                raise errors.OverlappingAllocationPools(
                    pool_1=_range_text(net.version, (a_start, a_end)),
                    pool_2=_range_text(net.version, (b_start, b_end)),
                    subnet_cidr=cidr,
                )
    return ranges


def check_gateway_outside_pools(gateway: str, version: int, ranges: Iterable[tuple[int, int]]) -> None:
    gw = to_int(gateway)
    for bounds in ranges:
        if bounds[0] <= gw <= bounds[1]:
            raise errors.GatewayConflictWithAllocationPools(ip_address=gateway, pool=_range_text(version, bounds))


def pool_ranges(subnet: dict) -> tuple[tuple[int, int], ...]:
    """A subnet's pools as sorted int ranges."""
    return tuple(sorted((to_int(p["start"]), to_int(p["end"])) for p in subnet["allocation_pools"]))


# --- the fixed_ips list filter of ports ------------------------------------------------------
FIXED_IP_FILTER_KEYS = ("ip_address", "subnet_id", "ip_address_substr")


def parse_fixed_ips_filter(values: list[str] | None) -> dict[str, list[str]]:
    """``fixed_ips=ip_address=X&fixed_ips=subnet_id=Y`` → {key: [values]} (OR within a key)."""
    wanted: dict[str, list[str]] = {}
    for value in values or ():
        key, sep, item = value.partition("=")
        if not sep or key not in FIXED_IP_FILTER_KEYS:
            raise errors.HTTPBadRequest(f"Invalid input for fixed_ips. Reason: '{value}' is not a valid fixed_ips filter.")
        if key == "ip_address":
            try:
                item = canonical_ip(item)
            except ValueError:
                pass  # matches nothing, as in Neutron
        wanted.setdefault(key, []).append(item)
    return wanted


def fixed_ips_matcher(wanted: dict[str, list[str]]):
    """A port matches when ONE of its addresses passes every given key (Neutron joins the
    allocations table, so the conditions apply to the same row)."""
    ips = set(wanted.get("ip_address", ()))
    subnets = set(wanted.get("subnet_id", ()))
    substrings = wanted.get("ip_address_substr", ())

    def check(record: dict) -> bool:
        for fixed in record["fixed_ips"]:
            if ips and fixed["ip_address"] not in ips:
                continue
            if subnets and fixed["subnet_id"] not in subnets:
                continue
            if substrings and not any(s in fixed["ip_address"] for s in substrings):
                continue
            return True
        return False

    return check


# --- allocation -------------------------------------------------------------------------------
@dataclass
class Wanted:
    """One address a port asks for: a specific ``ip`` on ``subnet``, or any free one on the first
    of ``choices`` with room (``ip`` None)."""

    choices: list[dict]
    ip: str | None = None
    network_wide: bool = False


def candidate_subnets(subnets: list[dict], device_owner: str, network_id: str) -> list[dict]:
    """The network's subnets a port of this owner may draw from (subnet service types): those
    without service types, those listing the owner, and for DHCP ports any DHCP-enabled one;
    service-typed subnets first."""
    if not subnets:
        return []

    def eligible(subnet: dict) -> bool:
        types = subnet.get("service_types") or ()
        return not types or device_owner in types or (device_owner == "network:dhcp" and subnet["enable_dhcp"])

    chosen = sorted((s for s in subnets if eligible(s)), key=lambda s: not s.get("service_types"))
    if not chosen:
        raise errors.IpAddressGenerationFailureNoMatchingSubnet(network_id=network_id, service_type=device_owner)
    return chosen


def implicit_wanted(subnets: list[dict]) -> list[Wanted]:
    """No ``fixed_ips`` given: one address from the IPv4 subnets and one from the stateful IPv6
    ones, each from the first subnet with room."""
    v4 = [s for s in subnets if s["ip_version"] == 4]
    v6 = [s for s in subnets if s["ip_version"] == 6 and not is_auto_address(s)]
    return [Wanted(group, network_wide=True) for group in (v4, v6) if group]


def auto_wanted(subnets: list[dict], device_owner: str, mac: str) -> list[Wanted]:
    """The EUI-64 address of every SLAAC / DHCPv6-stateless subnet (not for router interfaces)."""
    if device_owner in ROUTER_INTERFACE_OWNERS_SNAT:
        return []
    return [
        Wanted([s], eui64_address(network(s["cidr"]), mac))
        for s in subnets
        if s["ip_version"] == 6 and is_auto_address(s)
    ]


def explicit_wanted(
    requested: list[dict], subnets: list[dict], device_owner: str, lookup: Callable[[str], dict | None]
) -> list[Wanted]:
    """Check ``fixed_ips`` entries against the network's subnets (Neutron's
    ``_test_fixed_ips_for_port``). Entries naming only an auto-address subnet are left to
    ``auto_wanted``."""
    if requested and not subnets:
        raise errors.InvalidInput(error_message="IP allocation requires subnets for network")
    by_id = {s["id"]: s for s in subnets}
    wanted = []
    for fixed in requested:
        ip = fixed.get("ip_address")
        subnet = _subnet_for_fixed_ip(fixed, by_id, subnets, device_owner, lookup)
        auto = is_auto_address(subnet)
        if ip is not None:
            if auto and device_owner not in ROUTER_INTERFACE_OWNERS:
                raise errors.AllocationOnAutoAddressSubnet(ip=ip, subnet_id=subnet["id"])
            wanted.append(Wanted([subnet], ip))
        elif device_owner in ROUTER_INTERFACE_OWNERS_SNAT or not auto:
            wanted.append(Wanted([subnet]))
    return wanted


def _subnet_for_fixed_ip(fixed: dict, by_id: dict, subnets: list[dict], device_owner: str, lookup) -> dict:
    ip = fixed.get("ip_address")
    if "subnet_id" in fixed:
        subnet = by_id.get(fixed["subnet_id"])
        if subnet is None:
            other = lookup(fixed["subnet_id"])
            if other is None:
                raise errors.SubnetNotFound(subnet_id=fixed["subnet_id"])
            raise errors.InvalidInput(
                error_message=f"Failed to create port on network {other['network_id']}, because fixed_ips "
                f"included invalid subnet {fixed['subnet_id']}"
            )
        if ip is not None and not ip_in_subnet(network(subnet["cidr"]), ip, device_owner):
            raise errors.InvalidIpForSubnet(ip_address=ip)
        return subnet
    if ip is None:
        raise errors.InvalidInput(error_message="IP allocation requires subnet_id or ip_address")
    for subnet in subnets:
        if ip_in_subnet(network(subnet["cidr"]), ip, device_owner):
            return subnet
    raise errors.InvalidIpForNetwork(ip_address=ip)


def split_update(
    original: list[dict], requested: list[dict], device_owner: str, subnet_of: Callable[[str], dict | None]
) -> tuple[list[dict], list[dict], list[dict]]:
    """A PUT of ``fixed_ips`` replaces the list: (kept entries, entries to add, entries to
    release). Requested addresses the port already has are kept; a bare ``subnet_id`` reuses the
    port's address on that subnet; dropped auto (SLAAC) addresses of non-router ports stay."""
    by_ip = {ip["ip_address"]: ip for ip in original}
    kept, adds = [], []
    for fixed in requested:
        if "ip_address" in fixed:
            held = by_ip.pop(fixed["ip_address"], None)
            (kept if held else adds).append(held or fixed)
    by_subnet: dict[str, list[dict]] = {}
    for ip in by_ip.values():
        by_subnet.setdefault(ip["subnet_id"], []).append(ip)
    for fixed in requested:
        if "ip_address" not in fixed:
            held = by_subnet.get(fixed.get("subnet_id"))
            (kept if held else adds).append(held.pop(0) if held else fixed)
    released = []
    for leftovers in by_subnet.values():
        for ip in leftovers:
            subnet = subnet_of(ip["subnet_id"])
            auto_kept = subnet is not None and is_auto_address(subnet) and device_owner not in ROUTER_INTERFACE_OWNERS_SNAT
            (kept if auto_kept else released).append(ip)
    order = {id(ip): i for i, ip in enumerate(original)}
    kept.sort(key=lambda ip: order.get(id(ip), len(order)))
    return kept, adds, released


class Allocator:
    """Answers "is this address taken?" from the ports indexes and finds free addresses."""

    def __init__(self, plane: "ControlPlane"):
        self.plane = plane
        self._cursor: dict[str, int] = {}  # subnet id -> where the last search stopped (hint)
        self._ranges: dict[str, tuple[list, tuple]] = {}  # subnet id -> (pools list, ranges)

    # --- queries -------------------------------------------------------------------------------
    def holder(self, subnet_id: str, ip: str) -> str | None:
        """The id of the port holding ``ip`` on ``subnet_id``, if any (O(min of both sets))."""
        store = self.plane.store
        by_ip = store.ids_where("ports", "fixed_ips.ip_address", ip)
        if not len(by_ip):
            return None
        by_subnet = store.ids_where("ports", "fixed_ips.subnet_id", subnet_id)
        small, large = (by_ip, by_subnet) if len(by_ip) <= len(by_subnet) else (by_subnet, by_ip)
        ports = store.table("ports")
        for port_id in small:
            if port_id in large:
                for fixed in ports[port_id]["fixed_ips"]:
                    if fixed["ip_address"] == ip and fixed["subnet_id"] == subnet_id:
                        return port_id
        return None

    def ranges(self, subnet: dict) -> tuple[tuple[int, int], ...]:
        """The subnet's pools as int ranges, cached while its pools list stays the same object."""
        pools = subnet["allocation_pools"]
        cached = self._ranges.get(subnet["id"])
        if cached is None or cached[0] is not pools:
            cached = (pools, pool_ranges(subnet))
            self._ranges[subnet["id"]] = cached
        return cached[1]

    # --- allocation ----------------------------------------------------------------------------
    def allocate(self, wanted: list[Wanted], device_owner: str, is_free: Callable[[str, str], bool]) -> list[dict]:
        """Turn requests into ``fixed_ips`` entries, in request order. ``is_free(subnet_id, ip)``
        says whether an address may be used (the caller adds its own exceptions)."""
        taken: set[tuple[str, str]] = set()

        def free(subnet_id: str, ip: str) -> bool:
            return (subnet_id, ip) not in taken and is_free(subnet_id, ip)

        result = []
        for item in wanted:
            if item.ip is not None:
                subnet = item.choices[0]
                if not free(subnet["id"], item.ip):
                    raise errors.IpAddressAlreadyAllocated(ip=item.ip, subnet_id=subnet["id"])
                entry = {"subnet_id": subnet["id"], "ip_address": item.ip}
            else:
                entry = self._any(item, device_owner in LOWEST_FREE_OWNERS, free)
            taken.add((entry["subnet_id"], entry["ip_address"]))
            result.append(entry)
        return result

    def _any(self, item: Wanted, lowest: bool, free: Callable[[str, str], bool]) -> dict:
        for subnet in item.choices:
            ip = self.find_free(subnet, free, lowest)
            if ip is not None:
                return {"subnet_id": subnet["id"], "ip_address": ip}
        if item.network_wide:
            raise errors.IpAddressGenerationFailure(net_id=item.choices[0]["network_id"])
        raise errors.IpAddressGenerationFailure(
            f"No more IP addresses available for subnet {item.choices[0]['id']}."
        )

    def find_free(self, subnet: dict, free: Callable[[str, str], bool], lowest: bool = False) -> str | None:
        """A free pool address of the subnet (next-fit from the cursor, or the lowest), or None."""
        ranges = self.ranges(subnet)
        if not ranges:
            return None
        sid, version = subnet["id"], subnet["ip_version"]
        start = ranges[0][0] if lowest else self._start(subnet, ranges)
        for first, last in _ring(ranges, start):
            for value in range(first, last + 1):
                ip = to_text(version, value)
                if free(sid, ip):
                    if not lowest:
                        self._cursor[sid] = value + 1
                    return ip
        return None

    def _start(self, subnet: dict, ranges: tuple) -> int:
        """Where a search begins: the cursor, or (no hint yet, e.g. in a fork) the position just
        past as many addresses as the subnet has allocations, which is exact for the common
        sequential case and only a starting point otherwise."""
        cursor = self._cursor.get(subnet["id"])
        if cursor is not None:
            return cursor
        self._prune()
        skip = self.plane.store.count_where("ports", "fixed_ips.subnet_id", subnet["id"])
        for first, last in ranges:
            if skip <= last - first:
                return first + skip
            skip -= last - first + 1
        return ranges[0][0]

    def forget(self, subnet_id: str) -> None:
        """Drop the hints of a deleted subnet."""
        self._cursor.pop(subnet_id, None)
        self._ranges.pop(subnet_id, None)

    def _prune(self) -> None:
        # Subnets removed with their network never call ``forget``: drop their hints now and then.
        subnets = self.plane.store.table("subnets")
        if len(self._cursor) > 2 * len(subnets) + 64:
            self._cursor = {k: v for k, v in self._cursor.items() if k in subnets}
            self._ranges = {k: v for k, v in self._ranges.items() if k in subnets}


def _ring(ranges: tuple[tuple[int, int], ...], start: int) -> Iterable[tuple[int, int]]:
    """The pool ranges walked once from ``start``, wrapping around to the beginning."""
    head, tail = [], []
    for first, last in ranges:
        if last < start:
            tail.append((first, last))
        elif first >= start:
            head.append((first, last))
        else:
            head.append((start, last))
            tail.append((first, start - 1))
    return head + tail
