"""One Neutron API call and its answer, as plain data.

Below both the interpreter (``neutron.py``, which dispatches ``Request``s) and the resource
services (some of which answer a custom action with a ``Response`` of their own), so neither
has to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """One Neutron API call. ``path`` is relative to the networking root (``/v2.0/...``)."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    if_match: int | None = None
    base_url: str = ""  # networking root URL, for links


class _JsonNull:
    """A body that is JSON ``null`` (``None`` means no body at all)."""

    def __repr__(self) -> str:
        return "JSON_NULL"


# Neutron answers some actions with the literal body ``null`` (an extension controller that
# returns None, e.g. adding a network to a DHCP agent); clients call ``.json()`` on it.
JSON_NULL = _JsonNull()


@dataclass
class Response:
    status: int
    body: Any = None


__all__ = ["JSON_NULL", "Request", "Response"]
