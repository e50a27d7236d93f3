"""IP protocol names and numbers as Neutron understands them (neutron-lib constants).

The one protocol table of the project: the control plane validates and canonicalises rule
protocols with it, the data plane and the analysis turn names into numbers and numbers back
into the names answers show (see docs/semantics.md, "Protocols").
"""

from __future__ import annotations

from enum import IntEnum


class Protocol(IntEnum):
    """The protocol numbers the code treats specially."""

    ICMP = 1
    TCP = 6
    UDP = 17
    DCCP = 33
    ICMPV6 = 58
    SCTP = 132
    UDPLITE = 136

# neutron_lib.constants.IP_PROTOCOL_MAP: the names the API accepts for security-group rules.
PROTOCOL_NUMBERS: dict[str, int] = {
    "ah": 51,
    "dccp": 33,
    "egp": 8,
    "esp": 50,
    "gre": 47,
    "hopopt": 0,
    "icmp": 1,
    "igmp": 2,
    "ip": 0,
    "ipip": 4,
    "ipv6-encap": 41,
    "ipv6-frag": 44,
    "ipv6-icmp": 58,
    "icmpv6": 58,
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ipv6-route": 43,
    "ospf": 89,
    "pgm": 113,
    "rsvp": 46,
    "sctp": 132,
    "tcp": 6,
    "udp": 17,
    "udplite": 136,
    "vrrp": 112,
}

# Legacy spellings neutron-lib accepts but never answers with.
ALIASES: frozenset[str] = frozenset({"icmpv6"})
# Number -> canonical name; later names win as in neutron-lib (0 -> "ip"), never an alias.
CANONICAL_NAMES: dict[int, str] = {n: name for name, n in PROTOCOL_NUMBERS.items() if name not in ALIASES}

# Protocols whose rules carry a destination port range.
PORT_PROTOCOLS: frozenset[int] = frozenset(
    int(p) for p in (Protocol.TCP, Protocol.UDP, Protocol.DCCP, Protocol.SCTP, Protocol.UDPLITE))
# Protocols whose rules carry ICMP type (port_range_min) and code (port_range_max).
ICMP_PROTOCOLS: frozenset[int] = frozenset({int(Protocol.ICMP), int(Protocol.ICMPV6)})
# Protocols only meaningful with IPv6 (neutron_lib IPV6_PROTOCOL_ALLOWED / ethertype conflict check).
IPV6_ONLY_PROTOCOLS: frozenset[int] = frozenset({41, 43, 44, 58, 59, 60})

# The ICMP protocol of each IP version, and the echo request type a router answers.
ICMP_OF_VERSION = {4: int(Protocol.ICMP), 6: int(Protocol.ICMPV6)}
ICMP_ECHO_REQUEST = {4: 8, 6: 128}
# The order answers list protocols in (and pick a representative flow by): these first.
PREFERRED_PROTOCOLS = tuple(int(p) for p in (Protocol.TCP, Protocol.UDP, Protocol.ICMP, Protocol.ICMPV6))
# Request type -> reply type for ICMP messages that get an answer (the rest are one-way).
ICMP_REPLIES = {4: {8: 0, 13: 14, 15: 16, 17: 18}, 6: {128: 129}}


def protocol_number(protocol: str | int | None, ip_version: int = 4) -> int | None:
    """Return the IP protocol number for a rule/flow protocol, ``None`` meaning "any protocol".

    Accepts names (``"tcp"``), numbers as int or string (``"6"``), and the any-values ``None``,
    ``"any"`` and ``0``. ``icmp`` under IPv6 means ICMPv6 (58), as Neutron rewrites it.
    Raises ``ValueError`` for anything else.
    """
    if protocol is None:
        return None
    if isinstance(protocol, bool):
        raise ValueError(f"protocol {protocol!r} is not valid")
    if isinstance(protocol, int):
        number = protocol
    else:
        text = str(protocol).strip().lower()
        if text in ("", "any"):
            return None
        if text.isdigit():
            number = int(text)
        elif text in PROTOCOL_NUMBERS:
            number = PROTOCOL_NUMBERS[text]
        else:
            raise ValueError(f"protocol {protocol!r} is not valid")
    if not 0 <= number <= 255:
        raise ValueError(f"protocol {protocol!r} is not valid")
    if number == 0:
        return None
    if number == Protocol.ICMP and ip_version == 6:
        return int(Protocol.ICMPV6)
    return number


def protocol_name(number: int) -> str:
    """The name answers show for a protocol number: ``6`` → ``tcp``, ``58`` → ``ipv6-icmp``,
    ``0`` → ``any`` (every protocol); numbers without a name stay numbers (``"253"``)."""
    if number == 0:
        return "any"
    return CANONICAL_NAMES.get(number, str(number))


def ipv6_rule_protocol(protocol: str | None) -> str | None:
    """Neutron's rewrite of an IPv6 rule's stored protocol: ``icmp`` and ``icmpv6`` become
    ``ipv6-icmp``, ``"1"`` becomes ``"58"``; anything else is kept."""
    if protocol in ("icmp", "icmpv6"):
        return CANONICAL_NAMES[Protocol.ICMPV6]
    if protocol == str(int(Protocol.ICMP)):
        return str(int(Protocol.ICMPV6))
    return protocol
