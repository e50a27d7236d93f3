"""From reachability queries (docs/dataplane.md JSON) to packet batches, and back to verdicts.

``resolve`` turns one query into a ``Flow`` (addresses, protocol, ports, where it starts);
resolving may loop over queries, evaluation never loops over packets. ``run_flows`` walks the
requests as one batch, then the replies of the reachable ones as a second batch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..model.protocols import ICMP_ECHO_REQUEST, ICMP_PROTOCOLS, PORT_PROTOCOLS, protocol_number
from .addresses import MASK64, format_ip, parse_ip, parse_range
from .topology import UPSTREAM, owner_lookup

DEFAULT_SOURCE_PORT = 49152


class QueryError(ValueError):
    """A query that names no valid flow: ``http_status`` 404 for unknown ids, else 400."""

    def __init__(self, message: str, http_status: int = 400):
        super().__init__(message)
        self.message = message
        self.http_status = http_status


@dataclass(frozen=True)
class Flow:
    """One resolved query: a concrete packet and where it starts."""

    v6: bool
    src: int
    dst: int
    proto: int | None  # None: left out (the allowed set is asked for)
    sport: int = -1
    dport: int = -1  # -1: none, or left out for a port protocol
    itype: int = -1
    icode: int = -1
    port: int = -1  # source port slot, -1 for an external host
    entry: int = -1  # external network slot an external host enters on

    def as_dict(self) -> dict:
        return packet_dict(self.v6, self.src, self.dst, self.proto, self.sport, self.dport,
                           self.itype, self.icode)


def packet_dict(v6, src, dst, proto, sport, dport, itype, icode) -> dict:
    """The answer's "flow" object of a concrete packet."""
    def opt(value):
        return None if value is None or value < 0 else int(value)
    return {"ethertype": "IPv6" if v6 else "IPv4", "source_ip": format_ip(v6, src),
            "destination_ip": format_ip(v6, dst), "protocol": opt(proto), "source_port": opt(sport),
            "destination_port": opt(dport), "icmp_type": opt(itype), "icmp_code": opt(icode)}


# ------------------------------------------------------------------------------------------
# Resolution


def _end(query: dict, key: str) -> dict:
    end = query.get(key)
    if not isinstance(end, dict) or not end:
        raise QueryError(f"'{key}' must be an object naming a port_id or an ip_address")
    return end


def _port(tables, end: dict) -> dict:
    port = tables.snapshot.ports.get(end.get("port_id"))
    if port is None:
        raise QueryError(f"Port {end.get('port_id')} could not be found.", 404)
    return port


def _ip(text) -> tuple[bool, int]:
    try:
        return parse_ip(str(text))
    except ValueError:
        raise QueryError(f"'{text}' is not a valid IP address") from None


def _families(tables, end: dict) -> set:
    if end.get("ip_address") is not None:
        return {_ip(end["ip_address"])[0]}
    if end.get("port_id") is None:
        raise QueryError("an end needs a port_id or an ip_address")
    return {_ip(f["ip_address"])[0] for f in _port(tables, end).get("fixed_ips") or []}


def _address(tables, end: dict, v6: bool) -> int:
    if end.get("ip_address") is not None:
        fam, value = _ip(end["ip_address"])
        if fam != v6:
            raise QueryError("the address family does not match the ethertype")
        return value
    for fixed in _port(tables, end).get("fixed_ips") or []:
        fam, value = _ip(fixed["ip_address"])
        if fam == v6:
            return value
    raise QueryError(f"port {end.get('port_id')} has no IPv{6 if v6 else 4} address")


def flow_family(tables, query: dict, source: dict, destination: dict) -> bool:
    """IPv6? — the query's ethertype, else IPv4 when both ends have IPv4 addresses."""
    ethertype = query.get("ethertype")
    if ethertype is not None:
        if str(ethertype).lower() not in ("ipv4", "ipv6"):
            raise QueryError(f"ethertype {ethertype!r} is not IPv4 or IPv6")
        return str(ethertype).lower() == "ipv6"
    both = _families(tables, source) & _families(tables, destination)
    return False not in both


def _number(query: dict, key: str, top: int) -> int | None:
    value = query.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise QueryError(f"{key} must be an integer from 0 to {top}")
    return value


def resolve(tables, query: dict, concrete: bool = True) -> Flow:
    """The flow a query names. ``concrete=False`` lets protocol / destination port be left out."""
    if not isinstance(query, dict):
        raise QueryError("the query must be an object")
    source, destination = _end(query, "source"), _end(query, "destination")
    if destination.get("port_id") is not None:
        _port(tables, destination)
    v6 = flow_family(tables, query, source, destination)
    src, dst = _address(tables, source, v6), _address(tables, destination, v6)
    try:
        proto = protocol_number(query.get("protocol"), 6 if v6 else 4)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    flow = Flow(v6, src, dst, proto)
    flow = _with_ports(flow, query, concrete)
    if source.get("port_id") is not None:
        return replace(flow, port=tables.port_slot(_port(tables, source)["id"]))
    if not in_cloud(tables, v6, dst):
        raise QueryError("both ends of the flow are outside the cloud")
    return replace(flow, entry=entry_network(tables, source, v6, dst))


def _with_ports(flow: Flow, query: dict, concrete: bool) -> Flow:
    dport, sport = _number(query, "destination_port", 65535), _number(query, "source_port", 65535)
    itype, icode = _number(query, "icmp_type", 255), _number(query, "icmp_code", 255)
    if flow.proto is None:
        if concrete:
            raise QueryError("a concrete protocol is required")
        return replace(flow, sport=DEFAULT_SOURCE_PORT if sport is None else sport)
    if flow.proto in PORT_PROTOCOLS:
        if dport is None and concrete:
            raise QueryError("destination_port is required for this protocol")
        return replace(flow, sport=DEFAULT_SOURCE_PORT if sport is None else sport,
                       dport=-1 if dport is None else dport)
    if flow.proto in ICMP_PROTOCOLS:
        echo = ICMP_ECHO_REQUEST[6 if flow.v6 else 4]
        return replace(flow, itype=echo if itype is None else itype, icode=0 if icode is None else icode)
    return flow


def in_cloud(tables, v6: bool, value: int) -> bool:
    """Inside any subnet (but not an external subnet's upstream), or a fixed or floating IP."""
    cloud = tables.__dict__.get("_cloud")
    if cloud is None:
        snap = tables.snapshot
        spans = []
        for subnet in snap.subnets.values():
            try:
                spans.append(parse_range(subnet["cidr"]) + (tables.slots["net"].get(subnet.get("network_id")),))
            except (ValueError, KeyError, TypeError):
                pass
        points = set()
        for port in snap.ports.values():
            for fixed in port.get("fixed_ips") or []:
                try:
                    points.add(parse_ip(fixed["ip_address"]))
                except (ValueError, KeyError, TypeError):
                    pass
        for fip in snap.floatingips.values():
            try:
                points.add(parse_ip(fip["floating_ip_address"]))
            except (ValueError, KeyError, TypeError):
                pass
        cloud = tables._cloud = (spans, points)
    spans, points = cloud
    if (v6, value) in points:
        return True
    return any(f == v6 and a <= value <= b and not _upstream(tables, net, v6, value) for f, a, b, net in spans)


def _upstream(tables, net: int, v6: bool, value: int) -> bool:
    """The address is an external subnet's unowned gateway: the upstream, outside the cloud."""
    owner, _ = owner_lookup(tables, np.array([net]), np.array([v6]), np.array([value >> 64], dtype=np.uint64),
                            np.array([value & MASK64], dtype=np.uint64))
    return bool(owner[0] == UPSTREAM)


def entry_network(tables, source: dict, v6: bool, dst: int) -> int:
    """The external network an external host enters on (docs/semantics.md §2)."""
    snap = tables.snapshot
    if source.get("network_id") is not None:
        net = snap.networks.get(source["network_id"])
        if net is None:
            raise QueryError(f"Network {source['network_id']} could not be found.", 404)
        if not net.get("router:external"):
            raise QueryError("network_id is not an external network")
        return tables.slots["net"].get(net["id"])
    for fid in sorted(snap.floatingips):
        fip = snap.floatingips[fid]
        try:
            if parse_ip(fip["floating_ip_address"]) == (v6, dst):
                return tables.slots["net"].get(fip.get("floating_network_id"))
        except (ValueError, KeyError, TypeError):
            continue
    externals = sorted(n for n, rec in snap.networks.items() if rec.get("router:external"))
    if not externals:
        raise QueryError("there is no external network to enter from")
    return tables.slots["net"].get(externals[0])
