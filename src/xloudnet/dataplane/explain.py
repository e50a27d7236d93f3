"""Explained traces and exact allowed sets, built on the same vectorised walk as batches.

A trace runs the one flow through ``run_flows`` with tracers attached, so its verdict is by
construction the batch verdict. The allowed set is computed exactly: the service space of the
flow's family (protocol × destination port / ICMP type-code) is cut at every boundary of the
rules that can decide the flow (the source's egress groups and the ingress groups of the port
the flow reaches, plus the ICMP echo types a router answers), one representative per class is
walked as one batch, and the allowed classes are merged back into ranges. Routing, NAT and
addresses do not depend on the protocol — except port forwarding, whose ranges (and the
ingress boundaries carried through them) are cuts too — so every member of a class shares its
verdict.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..model import services
from ..model.dispositions import EXTERNAL, REACHABLE
from ..model.protocols import (ICMP_ECHO_REQUEST, ICMP_PROTOCOLS, PORT_PROTOCOLS, PREFERRED_PROTOCOLS,
                               protocol_name)
from .addresses import join
from . import forwarding
from .addresses import format_ip
from .batch import AT_EXTERNAL, AT_PORT, AT_ROUTER, DISPOSITIONS, REACHABLE_CODES, reachable_codes
from .flows import Flow, packet_dict
from .run import run_flows

PREFERRED = PREFERRED_PROTOCOLS


class Tracer:
    """Collects hop dicts per packet index."""

    def __init__(self):
        self.hops: dict[int, list] = {}

    def add(self, i: int, hop: dict) -> None:
        self.hops.setdefault(i, []).append(hop)


def _end_name(tables, b, i: int) -> str | None:
    kind, slot = int(b.end_kind[i]), int(b.end_slot[i])
    if b.disp[i] not in REACHABLE_CODES:
        return None
    if kind == AT_EXTERNAL:
        return EXTERNAL
    family, label = {AT_PORT: ("port", "port"), AT_ROUTER: ("rt", "router")}[kind]
    return f"{label}:{tables.ids(family)[slot]}"


def _final(b, i: int) -> dict:
    return packet_dict(bool(b.v6[i]), join(b.src_hi[i], b.src_lo[i]), join(b.dst_hi[i], b.dst_lo[i]),
                       int(b.proto[i]), int(b.sport[i]), int(b.dport[i]), int(b.itype[i]), int(b.icode[i]))


def trace(tables, flow: Flow) -> dict:
    """The reachability answer for one concrete flow (docs/semantics.md §8): verdict, hops, the reply's verdict and hops."""
    tracers = (Tracer(), Tracer())
    req, rep = run_flows(tables, [flow], tracers)
    disposition = DISPOSITIONS[req.disp[0]]
    answer = {"disposition": disposition, "reachable": disposition in REACHABLE,
              "flow": flow.as_dict(), "hops": tracers[0].hops.get(0, []),
              "delivered_to": _end_name(tables, req, 0), "delivered_flow": _final(req, 0), "return": None}
    if rep is not None and rep.n:
        answer["return"] = {"disposition": DISPOSITIONS[rep.disp[0]], "hops": tracers[1].hops.get(0, []),
                            "flow": _final(rep, 0)}
    return answer


# ------------------------------------------------------------------------------------------
# Allowed sets


def _family_cuts(v6: bool, protocol: int | None) -> tuple[int, int, set]:
    lo, hi = services.packet_span(v6) if protocol is None else services.protocol_span(v6, protocol)
    cuts = {lo} | {services.pack(int(v6), p) for p in range(256)}
    for proto in ICMP_PROTOCOLS:
        echo = ICMP_ECHO_REQUEST[6 if v6 else 4]
        cuts |= {services.pack(int(v6), proto, services.icmp_value(echo, 0)),
                 services.pack(int(v6), proto, services.icmp_value(echo + 1, 0))}
    return lo, hi, cuts


def _group_cuts(tables, port: int, direction: int) -> set:
    cuts = set()
    if port < 0:
        return cuts
    for slot in tables.port.groups[port]:
        if slot >= 0:
            gdir = tables.gdirs.get((tables.ids("grp")[slot], direction))
            if gdir is not None:
                cuts.update(gdir.svc_starts)
    return cuts


def _representatives(flow: Flow, starts: list[int]) -> list[Flow]:
    reps = []
    for key in starts:
        _v6, proto, value = services.unpack(key)
        rep = replace(flow, proto=proto, dport=-1, itype=-1, icode=-1)
        if proto in PORT_PROTOCOLS:
            rep = replace(rep, dport=value)
        elif proto in ICMP_PROTOCOLS:
            kind, code = services.icmp_type_code(value)
            rep = replace(rep, itype=kind, icode=code)
        reps.append(rep)
    return reps


def allowed_set(tables, flow: Flow) -> tuple[list[dict], Flow]:
    """The exact allowed set of a flow whose protocol (or destination port) was left out, and
    the representative flow to explain (the first allowed one, tcp first; else the first one)."""
    lo, hi, cuts = _family_cuts(flow.v6, flow.proto)
    cuts |= _group_cuts(tables, flow.port, 0)
    slots = _forwarding_slots(tables, flow)
    cuts |= forwarding.service_cuts(tables.forwards, slots, ())
    seen_ports: set = set()
    while True:
        starts = sorted(c for c in cuts if lo <= c <= hi)
        reps = _representatives(flow, starts)
        req, _ = run_flows(tables, reps, replies=False)
        reached = set(req.end_slot[req.end_kind == AT_PORT].tolist())
        fresh = reached - seen_ports
        if not fresh:
            break
        seen_ports |= fresh
        for port in fresh:
            inner = _group_cuts(tables, port, 1)
            cuts |= inner | forwarding.service_cuts(tables.forwards, slots, inner)
    ok = reachable_codes(req.disp)
    ends = starts[1:] + [hi + 1]
    classes = [(s, e - 1) for s, e, good in zip(starts, ends, ok) if good]
    order = sorted(range(len(reps)), key=lambda k: _preference(reps[k].proto))
    chosen = next((reps[k] for k in order if ok[k]), reps[order[0]] if reps else flow)
    return fold(classes, flow.proto is None), chosen


def _forwarding_slots(tables, flow: Flow) -> set[int]:
    """Floating IPs at the flow's destination address: port forwarding makes its verdict depend
    on the destination port (``forwarding.service_cuts``)."""
    if flow.v6 or not len(tables.forwards.start):
        return set()
    address = format_ip(False, flow.dst)
    fips = tables.snapshot.floatingips
    return {tables.slots["fip"].get(fid) for fid in tables.forwards.fips
            if (fips.get(fid) or {}).get("floating_ip_address") == address}


def fold(classes: list[tuple[int, int]], every_protocol: bool) -> list[dict]:
    """Allowed service classes → ``[{"protocol": "tcp", "port_ranges": [[lo, hi], ...]},
    {"protocol": "icmp", "icmp_types": [[lo, hi] type ranges with every code], "icmp_codes":
    {"<type>": [[lo, hi] code ranges]}}, {"protocol": "gre"}, ...]``, or ``[{"protocol": "any"}]`` when every protocol is."""
    per: dict[int, list] = {}
    for first, last in classes:
        top, bottom = services.protocol_of(first), services.protocol_of(last)
        for proto in range(top, bottom + 1):
            a = services.value_of(first) if proto == top else 0
            b = services.value_of(last) if proto == bottom else services.VALUE_MASK
            spans = per.setdefault(proto, [])
            if spans and spans[-1][1] + 1 >= a:
                spans[-1][1] = max(spans[-1][1], b)
            else:
                spans.append([a, b])
    full = [p for p in range(1, 256) if per.get(p) == [[0, services.VALUE_MASK]]]
    if every_protocol and len(full) == 255:
        return [{"protocol": "any"}]
    out = []
    for proto in sorted(per, key=_preference):
        if proto == 0:
            continue
        out.append(service_entry(proto, per[proto]))
    return out


def _preference(proto: int) -> tuple:
    return (proto not in PREFERRED, PREFERRED.index(proto) if proto in PREFERRED else proto)


def service_entry(proto: int, spans: list) -> dict:
    """One protocol's value spans in the allowed-set shape: ``port_ranges``, or ``icmp_types``
    (types with every code) and ``icmp_codes`` (``{"type": [[lo, hi]]}`` for the others)."""
    entry = {"protocol": protocol_name(proto)}
    if proto in PORT_PROTOCOLS:
        entry["port_ranges"] = [list(s) for s in spans]
    elif proto in ICMP_PROTOCOLS:
        types, codes = [], {}
        for a, b in spans:
            (first_type, first_code), (last_type, last_code) = services.icmp_type_code(a), services.icmp_type_code(b)
            for kind in range(first_type, last_type + 1):
                lo = first_code if kind == first_type else 0
                hi = last_code if kind == last_type else 0xFF
                if (lo, hi) != (0, 0xFF):
                    codes.setdefault(str(kind), []).append([lo, hi])
                elif types and types[-1][1] == kind - 1:
                    types[-1][1] = kind
                else:
                    types.append([kind, kind])
        entry["icmp_types"] = types
        if codes:
            entry["icmp_codes"] = codes
    return entry
