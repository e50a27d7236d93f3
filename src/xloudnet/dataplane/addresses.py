"""Addresses as plain integers (compile time) and as two uint64 columns (evaluation time).

One representation for both families: an address is an integer plus a family flag. IPv4 uses
the low 32 bits, IPv6 all 128. In numpy batches the integer is split into ``hi`` and ``lo``
uint64 columns (``hi`` is always 0 for IPv4) and the family travels in a separate boolean
column ``v6``, so a prefix of one family never matches an address of the other.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from socket import AF_INET, inet_pton

import numpy as np

MASK64 = (1 << 64) - 1
BITS = {False: 32, True: 128}


def parse_ip(text: str) -> tuple[bool, int]:
    """``"10.0.0.1"`` → ``(False, 167772161)``; raises ``ValueError`` for a bad address.

    Plain dotted quads (nearly every address) go through ``inet_pton``, which is as strict as
    ``ipaddress`` (four decimal octets, no leading zeros) and ten times faster: a big cloud
    has more distinct addresses than a cache holds. Anything else takes the general path."""
    if type(text) is str:
        try:
            return False, int.from_bytes(inet_pton(AF_INET, text), "big")
        except (OSError, ValueError):
            pass
    return _parse_ip(text)


@lru_cache(maxsize=65536)
def _parse_ip(text: str) -> tuple[bool, int]:
    addr = ipaddress.ip_address(str(text).strip())
    return addr.version == 6, int(addr)


@lru_cache(maxsize=65536)
def parse_range(text: str) -> tuple[bool, int, int]:
    """An address or CIDR → ``(v6, first, last)`` (host bits ignored, as Neutron does)."""
    net = ipaddress.ip_network(str(text).strip(), strict=False)
    return net.version == 6, int(net.network_address), int(net.broadcast_address)


def prefix_len(text: str) -> int:
    """The prefix length of an address (full length) or a CIDR."""
    return ipaddress.ip_network(str(text).strip(), strict=False).prefixlen


def format_ip(v6: bool, value: int) -> str:
    """The text form of an address."""
    return str(ipaddress.IPv6Address(value) if v6 else ipaddress.IPv4Address(value))


def split(value: int) -> tuple[int, int]:
    """A Python integer → ``(hi, lo)`` 64-bit halves."""
    return value >> 64, value & MASK64


def join(hi, lo) -> int:
    """``(hi, lo)`` halves (numpy or Python ints) → one Python integer."""
    return (int(hi) << 64) | int(lo)


def columns(values: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Python integers → ``hi``, ``lo`` uint64 arrays."""
    hi = np.array([v >> 64 for v in values], dtype=np.uint64)
    lo = np.array([v & MASK64 for v in values], dtype=np.uint64)
    return hi, lo


def in_range(hi, lo, first_hi, first_lo, last_hi, last_lo) -> np.ndarray:
    """Elementwise ``first <= (hi, lo) <= last`` on 128-bit values held as two columns."""
    above = (hi > first_hi) | ((hi == first_hi) & (lo >= first_lo))
    below = (hi < last_hi) | ((hi == last_hi) & (lo <= last_lo))
    return above & below


def address_family(text) -> bool | None:
    """True for IPv6, False for IPv4, None when unparsable."""
    try:
        return parse_ip(text)[0]
    except (ValueError, TypeError):
        return None


def cidr_family(text) -> bool | None:
    try:
        return parse_range(text)[0]
    except (ValueError, TypeError):
        return None
