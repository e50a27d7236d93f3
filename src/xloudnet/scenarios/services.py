"""Sets of services ("tcp/5432", "icmp/8", "gre", "any") as exact interval sets, comparable with
the analyser's allowed sets.

A set maps an IP protocol number to sorted, disjoint, inclusive intervals over that protocol's
key space: the destination port for port protocols (tcp, udp, sctp, dccp, udplite), ``type *
256 + code`` for ICMP and ICMPv6, and the single key 0 for any other protocol (wholly allowed or
not). ``any`` is every protocol's whole space.
"""

from __future__ import annotations

import re

from ..model.protocols import ICMP_PROTOCOLS, PORT_PROTOCOLS, PROTOCOL_NUMBERS

ServiceSet = dict[int, list[tuple[int, int]]]
FULL = 65535
_TEXT = re.compile(r"^(?P<proto>[a-z0-9-]+)(/(?P<lo>\d+)(-(?P<hi>\d+))?(:(?P<clo>\d+)(-(?P<chi>\d+))?)?)?$")
NAMES = {number: name for name, number in PROTOCOL_NUMBERS.items()}
NAMES.update({1: "icmp", 58: "ipv6-icmp", 0: "any"})
PREFERRED = (6, 17, 1, 58)  # the order people read services in: tcp, udp, icmp, icmpv6, the rest


def _order(proto: int) -> tuple:
    return (PREFERRED.index(proto) if proto in PREFERRED else len(PREFERRED), proto)


def space(proto: int) -> tuple[int, int]:
    return (0, FULL) if proto in PORT_PROTOCOLS or proto in ICMP_PROTOCOLS else (0, 0)


def normalise(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def protocol_of(text: str | int) -> int:
    if isinstance(text, int) or str(text).isdigit():
        number = int(text)
        if not 0 <= number <= 255:
            raise ValueError(f"protocol {number} is not in 0-255")
        return number
    key = str(text).lower()
    if key not in PROTOCOL_NUMBERS:
        raise ValueError(f"'{text}' is not a known protocol")
    return PROTOCOL_NUMBERS[key]


def parse(texts: list[str], v6: bool = False) -> ServiceSet:
    """``["tcp/5432", "icmp/8"]`` → a ``ServiceSet`` (``ValueError`` names a bad entry)."""
    out: dict[int, list] = {}
    for text in texts:
        match = _TEXT.match(str(text).strip().lower())
        if match is None:
            raise ValueError(f"'{text}' is not a service (like tcp/5432, udp/53, icmp/8, gre, any)")
        if match["proto"] == "any":
            for proto in range(1, 256):
                out.setdefault(proto, []).append(space(proto))
            continue
        proto = protocol_of(match["proto"])
        if proto == 1 and v6:
            proto = 58
        lo, hi = match["lo"], match["hi"]
        if proto in PORT_PROTOCOLS:
            if match["clo"]:
                raise ValueError(f"'{text}': a port protocol has no ICMP code")
            span = (0, FULL) if lo is None else (int(lo), int(hi or lo))
        elif proto in ICMP_PROTOCOLS:
            if lo is None:
                span = (0, FULL)
            elif match["clo"] is None:
                span = (int(lo) * 256, int(hi or lo) * 256 + 255)
            else:
                if hi:
                    raise ValueError(f"'{text}': give one ICMP type with codes (icmp/3:0-4)")
                span = (int(lo) * 256 + int(match["clo"]), int(lo) * 256 + int(match["chi"] or match["clo"]))
        else:
            if lo is not None:
                raise ValueError(f"'{text}': protocol {match['proto']} has no ports")
            span = (0, 0)
        if span[0] > span[1] or span[1] > FULL:
            raise ValueError(f"'{text}': the range is empty or too large")
        out.setdefault(proto, []).append(span)
    return {p: normalise(v) for p, v in out.items()}


def from_allowed(allowed: list[dict]) -> ServiceSet:
    """The analyser's ``allowed`` list (see ``analysis.reachability``) as a ``ServiceSet``."""
    out: dict[int, list] = {}
    for entry in allowed:
        name = entry["protocol"]
        if name == "any":
            return parse(["any"])
        proto = protocol_of(name)
        if "port_ranges" in entry:
            out.setdefault(proto, []).extend((lo, hi) for lo, hi in entry["port_ranges"])
        elif proto in ICMP_PROTOCOLS:
            spans = out.setdefault(proto, [])
            spans.extend((lo * 256, hi * 256 + 255) for lo, hi in entry.get("icmp_types", []))
            for kind, codes in (entry.get("icmp_codes") or {}).items():
                spans.extend((int(kind) * 256 + lo, int(kind) * 256 + hi) for lo, hi in codes)
        else:
            out.setdefault(proto, []).append(space(proto))
    return {p: normalise(v) for p, v in out.items() if v}


def union(a: ServiceSet, b: ServiceSet) -> ServiceSet:
    return {p: normalise(a.get(p, []) + b.get(p, [])) for p in set(a) | set(b)}


def minus(a: ServiceSet, b: ServiceSet) -> ServiceSet:
    """What ``a`` has that ``b`` has not."""
    out = {}
    for proto, spans in a.items():
        rest = []
        for lo, hi in spans:
            pieces = [(lo, hi)]
            for blo, bhi in b.get(proto, []):
                pieces = [q for plo, phi in pieces
                          for q in ((plo, min(phi, blo - 1)), (max(plo, bhi + 1), phi)) if q[0] <= q[1]]
            rest.extend(pieces)
        if rest:
            out[proto] = rest
    return out


def text(services: ServiceSet, limit: int = 12) -> str:
    """Readable form: ``tcp/22, tcp/80-81, icmp/8``."""
    if len(services) >= 255:
        return "any"
    items = []
    for proto in sorted(services, key=_order):
        name = NAMES.get(proto, str(proto))
        for lo, hi in services[proto]:
            if (lo, hi) == space(proto):
                items.append(name)
            elif proto in ICMP_PROTOCOLS:
                if lo % 256 == 0 and hi % 256 == 255:
                    t0, t1 = lo // 256, hi // 256
                    items.append(f"{name}/{t0}" + (f"-{t1}" if t1 != t0 else ""))
                else:
                    c0, c1 = lo % 256, hi % 256
                    items.append(f"{name}/{lo // 256}:{c0}" + (f"-{c1}" if c1 != c0 else ""))
            else:
                items.append(f"{name}/{lo}" + (f"-{hi}" if hi != lo else ""))
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f", … {more} more" if more > 0 else "") if items else "nothing"


def example_query(services: ServiceSet) -> dict:
    """The query fields of one concrete flow inside ``services`` (tcp, udp, icmp first)."""
    proto = min(services, key=_order)
    lo, hi = services[proto][0]
    if proto in PORT_PROTOCOLS:
        lo = 1 if lo == 0 and hi >= 1 else lo  # port 0 is reserved: show a port people use
        return {"protocol": proto, "destination_port": lo}
    if proto in ICMP_PROTOCOLS:
        return {"protocol": proto, "icmp_type": lo // 256, "icmp_code": lo % 256}
    return {"protocol": proto}


__all__ = ["ServiceSet", "parse", "from_allowed", "union", "minus", "text", "example_query", "protocol_of"]
