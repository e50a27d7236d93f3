"""What-if, second half: compare the data plane's answers before and after a set of changes.

``xloudnet.control.changes.apply_changes`` produces the forked plane and the records it touched;
``whatif_scope`` turns those into boxes (sources × destinations × services that may have changed);
this module evaluates only the boxes, on the tables of both states, and reports the flows whose
reachability flipped.

Within a box the service space (the question's, intersected with the box's) is cut at every
boundary of the rules that can decide the box's pairs, at every protocol, and at the ICMP echo
types a router answers. Every service in one class gets the same verdict for every pair whose
verdict can change (routing, NAT and addresses do not depend on the service, except port
forwarding, whose ranges are cuts too: ``forwarding_cuts``), so one
representative per class — one ``matrix()`` batch before and one after — decides the class, and
the classes fold back into exact port ranges / ICMP types. With a protocol and port given the
class is that one service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..dataplane import FlowTables, QueryError
from ..dataplane.explain import service_entry as entry
from ..dataplane.forwarding import all_service_cuts
from ..model import services
from ..model.dispositions import REACHABLE
from ..model.protocols import (ICMP_ECHO_REQUEST, ICMP_PROTOCOLS, PORT_PROTOCOLS, PREFERRED_PROTOCOLS,
                               protocol_number)
from .matrix import matrix
from .whatif_scope import ALL, Box

MAX_EVALUATIONS = 20_000_000  # pair × service evaluations (before and after) one what-if may run
PREFERRED = PREFERRED_PROTOCOLS


def _fixed_cuts() -> np.ndarray:
    cuts = set()
    for v6 in (0, 1):
        cuts |= {services.pack(v6, p) for p in range(257)}
        echo = ICMP_ECHO_REQUEST[6 if v6 else 4]
        for proto in ICMP_PROTOCOLS:
            cuts |= {services.pack(v6, proto, services.icmp_value(echo, 0)),
                     services.pack(v6, proto, services.icmp_value(echo + 1, 0))}
    return np.array(sorted(cuts), dtype=np.int64)


FIXED_CUTS = _fixed_cuts()


# ------------------------------------------------------------------------------------------
# The question's part of the service space


def question_region(question: dict) -> list[tuple[int, int]]:
    """The service keys the question asks about: one service when protocol (and port) are
    given, a whole protocol when only the protocol is, everything when neither is."""
    protocol = question.get("protocol")
    if protocol is None and question.get("destination_port") is not None:
        protocol = "tcp"
    ethertype = question.get("ethertype")
    if ethertype is not None and str(ethertype).lower() not in ("ipv4", "ipv6"):
        raise QueryError(f"ethertype {ethertype!r} is not IPv4 or IPv6")
    families = [str(ethertype).lower() == "ipv6"] if ethertype is not None else [False, True]
    region = []
    for v6 in families:
        try:
            proto = protocol_number(protocol, 6 if v6 else 4)
        except ValueError as exc:
            raise QueryError(str(exc)) from None
        if proto is None:
            region.append(services.packet_span(v6))
            continue
        base = services.pack(int(v6), proto)
        if proto in PORT_PROTOCOLS:
            port = _number(question, "destination_port", 0xFFFF)
            region.append(services.protocol_span(v6, proto) if port is None else (base | port,) * 2)
        elif proto in ICMP_PROTOCOLS:
            kind = _number(question, "icmp_type", 0xFF)
            code = _number(question, "icmp_code", 0xFF)
            kind = ICMP_ECHO_REQUEST[6 if v6 else 4] if kind is None else kind
            region.append((base | services.icmp_value(kind, code or 0),) * 2)
        else:
            region.append(services.protocol_span(v6, proto))
    return region


def _number(question: dict, key: str, top: int) -> int | None:
    value = question.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise QueryError(f"{key} must be an integer from 0 to {top}")
    return value


def _intersect(a: list | None, b: list) -> list[tuple[int, int]]:
    if a is ALL:
        return list(b)
    out = [(max(x0, y0), min(x1, y1)) for x0, x1 in a for y0, y1 in b if max(x0, y0) <= min(x1, y1)]
    return _normalise(out)


def _normalise(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def classes(region: list[tuple[int, int]], cuts: np.ndarray) -> list[tuple[int, int]]:
    """The region split at every cut: ``[(first, last)]`` service classes."""
    out = []
    for lo, hi in region:
        inner = cuts[(cuts > lo) & (cuts <= hi)].tolist()
        starts = [lo] + inner
        ends = [s - 1 for s in inner] + [hi]
        out += list(zip(starts, ends))
    return out


def service_query(key: int) -> dict | None:
    """The matrix query fields of the representative service ``key`` (None: not expressible)."""
    v6, proto, value = services.unpack(key)
    if v6 and proto == 1:
        return None  # "icmp" means ICMPv6 on IPv6 pairs; protocol 1 there is not a flow one can ask for
    if proto in PORT_PROTOCOLS:
        return {"protocol": proto, "destination_port": value}
    if proto in ICMP_PROTOCOLS:
        kind, code = services.icmp_type_code(value)
        return {"protocol": proto, "icmp_type": kind, "icmp_code": code}
    return {"protocol": proto}


# ------------------------------------------------------------------------------------------
# Evaluation


@dataclass
class Plan:
    """One box made concrete: its ends in order and the services to evaluate."""

    rows: list[str]
    cols: list[str]
    services: dict  # (protocol, value) → [(v6, first key, last key)]

    @property
    def evaluations(self) -> int:
        return 2 * len(self.services) * len(self.rows) * len(self.cols)


def forwarding_cuts(before: FlowTables, after: FlowTables, cuts: np.ndarray) -> np.ndarray:
    """Port forwarding decides by destination port: its external ranges, and ``cuts`` carried
    through its N:N ranges, in both states (for boxes with ends named by address)."""
    found = all_service_cuts(before.forwards, cuts) | all_service_cuts(after.forwards, cuts)
    return np.array(sorted(found), dtype=np.int64)


def plan(box: Box, sources: list, destinations: list, extra: set, region: list, cuts_for: Callable) -> Plan | None:
    """Rows, columns and service classes of one box (``None`` when there is nothing to do).

    ``extra``: ends named by address (external hosts, floating IPs), kept in every box."""
    rows = [i for i in sources if box.rows is ALL or i in box.rows or i in extra]
    cols = [i for i in destinations if box.cols is ALL or i in box.cols or i in extra]
    spans = _intersect(box.region, region)
    if not rows or not cols or not spans:
        return None
    ingress = ALL if any(c in extra for c in cols) else box.cut_ingress  # DNAT: any receiver
    rule_cuts = cuts_for(box.cut_egress, ingress)
    named = set(services.family_protocol(rule_cuts).tolist())  # (v6, protocol) pairs some deciding rule names
    chosen: dict = {}
    others: dict = {}  # family → the service standing for every protocol no rule names
    for first, last in classes(spans, np.union1d(FIXED_CUTS, rule_cuts)):
        if service_query(first) is None:
            continue
        key = (services.protocol_of(first), services.value_of(first))
        if (key[0] not in PORT_PROTOCOLS and key[0] not in ICMP_PROTOCOLS
                and services.family_protocol(first) not in named):
            key = others.setdefault(services.family_of(first), key)  # alike: one batch decides them all
        chosen.setdefault(key, []).append((bool(services.family_of(first)), first, last))
    return Plan(rows, cols, chosen) if chosen else None


def compare(before: FlowTables, after: FlowTables, boxes: list[Box], question: dict, ends: dict,
            sources: list, destinations: list, v4_capable: Callable, cuts_for: Callable,
            limit: int = MAX_EVALUATIONS) -> dict:
    """Flows newly allowed / newly blocked inside ``boxes``.

    ``ends``: id → endpoint dict (ports: their id; others: their address) of every end;
    ``sources`` / ``destinations``: the ids to compare, sorted (ends both states have and the
    caller may see); ``v4_capable(ids)``: bool array, which ends have an IPv4 address (the pair's family is IPv4
    when both have one, unless the question names an ethertype); ``cuts_for(egress_groups,
    ingress_groups)``: sorted rule boundaries of those groups in both states.
    """
    region = question_region(question)
    extra = {i for i, end in ends.items() if "port_id" not in end or "ip_address" in end}
    plans = [p for p in (plan(box, sources, destinations, extra, region, cuts_for) for box in boxes) if p]
    total = sum(p.evaluations for p in plans)
    if total > limit:
        raise QueryError(f"this what-if needs {total:,} flow evaluations (limit {limit:,}): give a protocol "
                         "and destination_port, or narrow it with 'sources' / 'destinations'")
    base = {k: question[k] for k in ("ethertype", "source_port") if question.get(k) is not None}
    found: dict = {}
    for p in plans:
        _evaluate(before, after, p, base, ends, v4_capable, question.get("ethertype"), found)
    answer = fold(found, ends)
    pairs = sum(len(p.rows) * len(p.cols) for p in plans)
    answer["changes_applied"] = 0
    answer["evaluated"] = {"boxes": len(plans), "pairs": pairs, "services": sum(len(p.services) for p in plans),
                           "flows": total}
    return answer


def _evaluate(before, after, p: Plan, base: dict, ends: dict, v4_capable, ethertype, found: dict) -> None:
    sources = [ends[i] for i in p.rows]
    destinations = [ends[i] for i in p.cols]
    if ethertype is not None:
        pair_v6 = np.full((len(p.rows), len(p.cols)), str(ethertype).lower() == "ipv6")
    else:
        pair_v6 = ~(v4_capable(p.rows)[:, None] & v4_capable(p.cols)[None, :])
    for (proto, value), spans in p.services.items():
        query = dict(base, **service_query(services.pack(0, proto, value)), sources=sources,
                     destinations=destinations)
        was, now = matrix(before, query), matrix(after, query)
        flipped = np.asarray(was["reachable"], dtype=bool) != np.asarray(now["reachable"], dtype=bool)
        for v6, first, last in spans:
            for i, j in np.argwhere(flipped & (pair_v6 == v6)).tolist():
                key = (p.rows[i], p.cols[j], v6, services.protocol_of(first), was["dispositions"][i][j],
                       now["dispositions"][i][j])
                found.setdefault(key, []).append((services.value_of(first), services.value_of(last)))


# ------------------------------------------------------------------------------------------
# Answer


def fold(found: dict, ends: dict) -> dict:
    """``{(source, destination, v6, protocol, before, after): [value spans]}`` → the answer's
    ``newly_allowed`` / ``newly_blocked`` items, ranges merged."""
    newly_allowed, newly_blocked = [], []
    for key in sorted(found, key=lambda k: (k[0], k[1], k[2], _preference(k[3]), k[4], k[5])):
        source, destination, v6, proto, was, now = key
        item = {"source": ends[source], "destination": ends[destination],
                "ethertype": "IPv6" if v6 else "IPv4"}
        item.update(entry(proto, _normalise(found[key])))
        item["before"], item["after"] = was, now
        (newly_allowed if now in REACHABLE else newly_blocked).append(item)
    return {"newly_allowed": newly_allowed, "newly_blocked": newly_blocked}


def _preference(proto: int) -> tuple:
    return (proto not in PREFERRED, PREFERRED.index(proto) if proto in PREFERRED else proto)

