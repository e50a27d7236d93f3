"""The service key: what a packet asks for beyond its addresses, as one integer.

``key = v6 << 24 | protocol << 16 | value``, where value is the destination port for the port
protocols, ``type << 8 | code`` for ICMP, and 0 for any other protocol: 25 bits, ordered so that
a rule's services are a few contiguous ranges (see docs/semantics.md, "Services"). Security
groups are compiled over this space, allowed sets are folded from it and what-if cuts it.

The functions use only ``<<``, ``|``, ``&`` and ``>>``, so they work on Python ints and on numpy
integer arrays alike (pass ``v6`` as an integer array, not bool, for arrays).
"""

from __future__ import annotations

FAMILY_SHIFT = 24
PROTOCOL_SHIFT = 16
PROTOCOL_MASK = 0xFF
VALUE_MASK = 0xFFFF  # a destination port, or an ICMP type and code
FAMILY_MASK = 0xFFFFFF  # everything below the family bit
ANY_PROTOCOL = 0  # "every protocol" in a rule; no packet carries it


def pack(v6, protocol, value=0):
    """The key of (family, protocol, value)."""
    return (v6 << FAMILY_SHIFT) | (protocol << PROTOCOL_SHIFT) | value


def icmp_value(kind, code):
    """The value of an ICMP type and code."""
    return (kind << 8) | code


def icmp_type_code(value):
    """``(type, code)`` of an ICMP value."""
    return value >> 8, value & 0xFF


def unpack(key):
    """``(v6, protocol, value)`` of a key."""
    return key >> FAMILY_SHIFT, (key >> PROTOCOL_SHIFT) & PROTOCOL_MASK, key & VALUE_MASK


def family_of(key):
    return key >> FAMILY_SHIFT


def protocol_of(key):
    return (key >> PROTOCOL_SHIFT) & PROTOCOL_MASK


def value_of(key):
    return key & VALUE_MASK


def family_protocol(key):
    """``v6 << 8 | protocol``: which (family, protocol) a key belongs to."""
    return key >> PROTOCOL_SHIFT


def family_base(v6) -> int:
    """The first key of a family."""
    return int(v6) << FAMILY_SHIFT


def family_span(v6) -> tuple[int, int]:
    """Every key of a family, protocol 0 ("any") included: what an any-protocol rule matches."""
    top = family_base(v6)
    return top, top | FAMILY_MASK


def packet_span(v6) -> tuple[int, int]:
    """Every key a packet of the family can carry (protocols 1-255)."""
    top = family_base(v6)
    return top | 1 << PROTOCOL_SHIFT, top | FAMILY_MASK


def protocol_span(v6, protocol: int) -> tuple[int, int]:
    """Every key of one protocol of a family."""
    base = pack(int(v6), protocol)
    return base, base | VALUE_MASK


__all__ = ["pack", "unpack", "icmp_value", "icmp_type_code", "family_of", "protocol_of", "value_of", "family_protocol",
           "family_base", "family_span", "packet_span", "protocol_span", "FAMILY_SHIFT",
           "PROTOCOL_SHIFT", "PROTOCOL_MASK", "VALUE_MASK", "FAMILY_MASK", "ANY_PROTOCOL"]
