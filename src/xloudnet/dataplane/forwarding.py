"""Floating-IP port forwarding compiled to one sorted table (docs/semantics.md §4.5, step 4).

Every forwarding of a port protocol becomes one row keyed by ``(floating IP slot, protocol,
first external port)`` packed in one integer, with its last external port, internal address and
internal port range. A packet's ``(slot, protocol, destination port)`` key finds its row with one
``searchsorted`` over the whole batch: the row with the greatest start not above the key, a hit
when the port is within that row's range. That is exact because rows of one floating IP and
protocol never overlap: the API refuses colliding ranges, and for a snapshot built by hand the
compiler keeps, of overlapping forwardings, the one with the lowest id.

Forwardings of protocols without ports (icmp, ipv6-icmp) match nothing; a forwarding of a
floating IP that is associated with a port, not held by a router, or missing is ignored (the
API forbids those states).

The table depends on the forwardings and their floating IPs only; the compiler rebuilds it
whole when one of those changed (clouds hold few forwardings next to their ports and rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model import services
from ..model.protocols import PORT_PROTOCOLS, protocol_number
from .addresses import parse_ip

KEY_SHIFT = 24  # key = slot << 24 | protocol << 16 | port


@dataclass(frozen=True)
class ForwardTable:
    """Rows sorted by ``start`` (see the module docstring)."""

    start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    last: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    internal: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))  # IPv4 address
    int_first: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    int_last: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ids: tuple = ()  # forwarding id of each row
    fips: frozenset = frozenset()  # floating IP ids the table read


def key(slot, proto, port) -> np.ndarray:
    return (np.asarray(slot, dtype=np.int64) << KEY_SHIFT) | (np.asarray(proto, dtype=np.int64) << 16) | np.asarray(
        port, dtype=np.int64)


def _span(text) -> tuple[int, int] | None:
    try:
        first, _, last = str(text).partition(":")
        span = int(first), int(last or first)
    except (TypeError, ValueError):
        return None
    return span if 1 <= span[0] <= span[1] <= 65535 else None


def _row(pf: dict, fips, fip_slot) -> tuple | None:
    """(fip slot, protocol, external span, internal address, internal span), or None when the
    forwarding cannot translate anything."""
    fip = fips.get(pf.get("floatingip_id"))
    if fip is None or not fip.get("router_id") or fip.get("fixed_ip_address"):
        return None
    slot = fip_slot(fip["id"])
    try:
        proto = protocol_number(pf.get("protocol"), 4)
        v6, address = parse_ip(pf.get("internal_ip_address"))
    except (ValueError, TypeError):
        return None
    external, internal = _span(pf.get("external_port_range")), _span(pf.get("internal_port_range"))
    if slot < 0 or v6 or proto not in PORT_PROTOCOLS or external is None or internal is None:
        return None
    if internal[0] != internal[1] and internal[1] - internal[0] != external[1] - external[0]:
        return None  # neither N:N nor N:1
    return slot, proto, external, address, internal


def compile_forwardings(forwardings, fips, fip_slot) -> ForwardTable:
    """The table of every forwarding in ``forwardings`` (id → record) over ``fips``."""
    rows, taken = [], {}
    for pid in sorted(forwardings):
        row = _row(forwardings[pid], fips, fip_slot)
        if row is None:
            continue
        slot, proto, external, address, internal = row
        mine = taken.setdefault((slot, proto), [])
        if any(a <= external[1] and external[0] <= b for a, b in mine):
            continue  # overlaps a forwarding with a lower id
        mine.append(external)
        rows.append((int(key(slot, proto, external[0])), int(key(slot, proto, external[1])), address,
                     internal[0], internal[1], pid))
    rows.sort()
    read = frozenset(pf.get("floatingip_id") for pf in forwardings.values())
    if not rows:
        return ForwardTable(fips=read)
    start, last, address, first, final, ids = zip(*rows)
    return ForwardTable(np.array(start, dtype=np.int64), np.array(last, dtype=np.int64),
                        np.array(address, dtype=np.uint64), np.array(first, dtype=np.int64),
                        np.array(final, dtype=np.int64), ids, read)


def lookup(table: ForwardTable, slot, proto, port) -> np.ndarray:
    """Row of each packet's forwarding, -1 for none (vectorised over the packets)."""
    wanted = key(slot, proto, np.maximum(port, 0))
    if not len(table.start):
        return np.full(len(wanted), -1, dtype=np.int64)
    row = np.searchsorted(table.start, wanted, side="right") - 1
    safe = np.maximum(row, 0)
    hit = (row >= 0) & (wanted <= table.last[safe]) & (np.asarray(port) >= 0)
    return np.where(hit, row, -1)


def translate(table: ForwardTable, row, port) -> tuple[np.ndarray, np.ndarray]:
    """(internal address, internal port) of packets with destination ``port`` matched to ``row``:
    N:N ranges by offset, N:1 onto the one internal port."""
    offset = np.asarray(port, dtype=np.int64) - (table.start[row] & 0xFFFF)
    single = table.int_first[row] == table.int_last[row]
    return table.internal[row], np.where(single, table.int_first[row], table.int_first[row] + offset)


def all_service_cuts(table: ForwardTable, inner_cuts) -> set[int]:
    """``service_cuts`` for flows to any forwarding floating IP (what-if over address ends)."""
    if not len(table.start):
        return set()
    return service_cuts(table, set((table.start >> KEY_SHIFT).tolist()), inner_cuts)


def service_cuts(table: ForwardTable, slots, inner_cuts) -> set[int]:
    """Service-key boundaries port forwarding adds for a flow to floating IPs ``slots``: each
    forwarding's external range, and the ``inner_cuts`` (IPv4 keys at the internal ports, e.g.
    ingress rule boundaries) carried back through N:N ranges. For exact allowed sets."""
    out: set[int] = set()
    if not len(table.start):
        return out
    inner = np.unique(np.asarray(list(inner_cuts), dtype=np.int64))
    for r in np.flatnonzero(np.isin(table.start >> KEY_SHIFT, list(slots))):  # per forwarding, not per packet
        proto, first, last = int(table.start[r] >> 16) & 0xFF, int(table.start[r]) & 0xFFFF, int(table.last[r]) & 0xFFFF
        out.add(services.pack(0, proto, first))
        if last < services.VALUE_MASK:
            out.add(services.pack(0, proto, last + 1))
        low, high = int(table.int_first[r]), int(table.int_last[r])
        if low == high:
            continue
        lo_key, hi_key = services.pack(0, proto, low), services.pack(0, proto, high)
        carried = inner[(inner >= lo_key) & (inner <= hi_key)] - lo_key + services.pack(0, proto, first)
        out.update(carried.tolist())
    return out


__all__ = ["ForwardTable", "compile_forwardings", "lookup", "translate", "service_cuts", "all_service_cuts"]
