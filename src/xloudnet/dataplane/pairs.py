"""All-pairs batches: every (source, destination) endpoint pair as vectorised batches.

Endpoints are resolved once each (a loop over endpoints, not pairs); the pairs are built with
numpy broadcasting and walked in cache-sized batches of whole source rows (``PairSet``). Pairs
that name no valid flow (no common address family, or both ends outside the cloud) are refused
as ``NO_ROUTE`` without being walked.
"""

from __future__ import annotations

import numpy as np

from ..model.protocols import ICMP_ECHO_REQUEST, ICMP_PROTOCOLS, PORT_PROTOCOLS, protocol_number
from .addresses import MASK64, parse_ip
from .batch import NO_ROUTE, Batch
from .flows import DEFAULT_SOURCE_PORT, QueryError, _ip, _port, in_cloud
from .run import start


def endpoint_ports(tables) -> list[str]:
    """Every endpoint port (device_owner not ``network:*``), sorted by id."""
    return sorted(pid for pid, port in tables.snapshot.ports.items()
                  if not (port.get("device_owner") or "").startswith("network:"))


def _endpoint(tables, end) -> dict:
    """Addresses per family, source port slot, and the external network named, of one end."""
    if not isinstance(end, dict) or not end:
        raise QueryError("each endpoint must be an object naming a port_id or an ip_address")
    out = {"port": -1, "net": -1, "addr": {False: None, True: None}}
    if end.get("port_id") is not None:
        port = _port(tables, end)
        out["port"], out["id"] = tables.port_slot(port["id"]), port["id"]
        for fixed in port.get("fixed_ips") or []:
            fam, value = _ip(fixed["ip_address"])
            out["addr"][fam] = value if out["addr"][fam] is None else out["addr"][fam]
    if end.get("ip_address") is not None:
        fam, value = _ip(end["ip_address"])
        out["addr"] = {fam: value, not fam: None}
        out.setdefault("id", str(end["ip_address"]))
    if "id" not in out:
        raise QueryError("each endpoint must name a port_id or an ip_address")
    if end.get("network_id") is not None:
        net = tables.snapshot.networks.get(end["network_id"])
        if net is None:
            raise QueryError(f"Network {end['network_id']} could not be found.", 404)
        if not net.get("router:external"):
            raise QueryError("network_id is not an external network")
        out["net"] = tables.slots["net"].get(net["id"])
    return out


def _fip_networks(tables) -> dict:
    """Floating address → its external network slot; computed once per (immutable) tables."""
    cached = getattr(tables, "_fip_networks", None)
    if cached is None:
        cached = tables._fip_networks = _scan_fip_networks(tables)
    return cached


def _scan_fip_networks(tables) -> dict:
    found = {}
    for fid in sorted(tables.snapshot.floatingips, reverse=True):
        fip = tables.snapshot.floatingips[fid]
        try:
            found[parse_ip(fip["floating_ip_address"])] = tables.slots["net"].get(fip.get("floating_network_id"))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def _columns(tables, ends: list[dict], as_destination: bool) -> dict:
    cols = {"port": np.array([e["port"] for e in ends], dtype=np.int64),
            "net": np.array([e["net"] for e in ends], dtype=np.int64)}
    fips = _fip_networks(tables) if as_destination else {}
    for fam in (False, True):
        values = [e["addr"][fam] for e in ends]
        cols[(fam, "has")] = np.array([v is not None for v in values], dtype=bool)
        cols[(fam, "hi")] = np.array([(v or 0) >> 64 for v in values], dtype=np.uint64)
        cols[(fam, "lo")] = np.array([(v or 0) & MASK64 for v in values], dtype=np.uint64)
        cols[(fam, "cloud")] = np.array([v is not None and in_cloud(tables, fam, v) for v in values], dtype=bool)
        cols[(fam, "fipnet")] = np.array([fips.get((fam, v), -1) for v in values], dtype=np.int64)
    return cols


class PairSet:
    """Every (source, destination) pair of a matrix query, with the endpoints resolved once;
    ``batch(first, last)`` builds the pairs of sources ``first..last-1`` (source-major).

    Walking the pairs a slice of sources at a time keeps the batch's columns in the CPU cache
    (``CHUNK`` pairs), which is much faster than one batch of a million. Per-source columns are
    repeated and per-destination columns tiled (no per-pair gathers); the family is chosen per
    pair only when the pairs do not all share one.
    """

    CHUNK = 1 << 17

    def __init__(self, tables, sources: list, destinations: list, query: dict):
        self.tables, self.query = tables, query
        src = [_endpoint(tables, e) for e in sources]
        dst = [_endpoint(tables, e) for e in destinations]
        self.src_ids, self.dst_ids = [e["id"] for e in src], [e["id"] for e in dst]
        self.s, self.d = _columns(tables, src, False), _columns(tables, dst, True)
        _pair_family(query, self.s, self.d, 0, 0)  # refuse a bad query before any work
        _service(Batch(0), query, np.zeros(0, dtype=bool))
        self.external = _first_external(tables)

    def rows_per_batch(self) -> int:
        return max(1, self.CHUNK // max(len(self.dst_ids), 1))

    def batch(self, first: int, last: int) -> Batch:
        s = {k: v[first:last] for k, v in self.s.items()}
        d = self.d
        n, m = last - first, len(self.dst_ids)
        b = Batch(n * m)
        v6 = _pair_family(self.query, s, d, n, m)
        b.v6[:] = v6
        one = None if v6.any() and not v6.all() else bool(v6[0]) if len(v6) else False

        def pick(ends, key, expand):  # a per-end column of each pair's family, one row per pair
            if one is not None:
                return expand(ends[(one, key)])
            return np.where(v6, expand(ends[(True, key)]), expand(ends[(False, key)]))

        def rep(col):  # broadcasting into a 2-D view is much faster than np.repeat / np.tile
            out = np.empty(n * m, dtype=col.dtype)
            out.reshape(n, m)[:] = col[:, None]
            return out

        def til(col):
            out = np.empty(n * m, dtype=col.dtype)
            out.reshape(n, m)[:] = col[None, :]
            return out

        b.src_hi[:], b.src_lo[:] = pick(s, "hi", rep), pick(s, "lo", rep)
        b.dst_hi[:], b.dst_lo[:] = pick(d, "hi", til), pick(d, "lo", til)
        _service(b, self.query, v6)
        _service_keys(b, v6)
        src_port, src_net = rep(s["port"]), rep(s["net"])
        entry = np.where(src_net >= 0, src_net, pick(d, "fipnet", til))
        entry = np.where(entry >= 0, entry, self.external)
        start(b, src_port, entry, replies=False)  # the matrix walks no replies
        valid = pick(s, "has", rep) & pick(d, "has", til)
        outside = (src_port < 0) & ~pick(d, "cloud", til)
        b.stop(np.flatnonzero(~valid | outside | ((src_port < 0) & (entry < 0))), NO_ROUTE)
        return b


def pair_batch(tables, sources: list, destinations: list, query: dict) -> tuple[Batch, list, list]:
    """The batch of every (source, destination) pair, source-major; and the endpoint names."""
    pairs = PairSet(tables, sources, destinations, query)
    return pairs.batch(0, len(pairs.src_ids)), pairs.src_ids, pairs.dst_ids


def _service_keys(b: Batch, v6: np.ndarray) -> None:
    """Every pair of a family asks about the same service: key two rows, not every pair."""
    rows = [int(np.argmax(v6 == fam)) for fam in (False, True) if (v6 == fam).any()]
    if rows:
        keys = b.service_keys(np.array(rows))
        b.set_service(np.where(v6, keys[-1], keys[0]).astype(np.uint64) if len(rows) > 1
                      else np.full(b.n, keys[0], dtype=np.uint64))


def _first_external(tables) -> int:
    externals = sorted(n for n, rec in tables.snapshot.networks.items() if rec.get("router:external"))
    return tables.slots["net"].get(externals[0]) if externals else -1


def _pair_family(query, s, d, n: int, m: int) -> np.ndarray:
    ethertype = query.get("ethertype")
    if ethertype is not None:
        if str(ethertype).lower() not in ("ipv4", "ipv6"):
            raise QueryError(f"ethertype {ethertype!r} is not IPv4 or IPv6")
        return np.full(n * m, str(ethertype).lower() == "ipv6")
    if s[(False, "has")].all() and d[(False, "has")].all():
        return np.zeros(n * m, dtype=bool)  # every end has IPv4: every pair is IPv4
    return ~(np.repeat(s[(False, "has")], m) & np.tile(d[(False, "has")], n))


def _service(b: Batch, query: dict, v6: np.ndarray) -> None:
    """Protocol and ports of every pair (``icmp`` becomes 58 on IPv6 pairs)."""
    try:
        proto4 = protocol_number(query.get("protocol"), 4)
        proto6 = protocol_number(query.get("protocol"), 6)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    if proto4 is None:
        raise QueryError("the matrix needs a concrete protocol")
    b.proto[:] = np.where(v6, proto6, proto4)
    if proto4 in PORT_PROTOCOLS:
        dport, sport = query.get("destination_port"), query.get("source_port")
        for key, value in (("destination_port", dport), ("source_port", sport)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535):
                raise QueryError(f"{key} must be an integer from 0 to 65535")
        if dport is None:
            raise QueryError("destination_port is required for this protocol")
        b.dport[:], b.sport[:] = dport, DEFAULT_SOURCE_PORT if sport is None else sport
    elif proto4 in ICMP_PROTOCOLS:
        itype, icode = query.get("icmp_type"), query.get("icmp_code")
        b.itype[:] = np.where(v6, ICMP_ECHO_REQUEST[6], ICMP_ECHO_REQUEST[4]) if itype is None else itype
        b.icode[:] = 0 if icode is None else icode
